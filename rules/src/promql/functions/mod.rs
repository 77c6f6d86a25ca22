//! PromQL functions: dispatch by name and the per-window plumbing of range
//! functions. The numeric work lives in the submodules, one job each.

pub(crate) mod hist_range;
pub(crate) mod histogram;
pub(crate) mod info;
pub(crate) mod labels;
pub(crate) mod math;
pub(crate) mod over_time;
pub(crate) mod rate;
pub(crate) mod sort;
pub(crate) mod time;

use std::sync::Arc;

use promql_parser::parser::{Call, Expr};
use warden_tsdb::histogram::{CounterResetHint, FloatHistogram};
use warden_tsdb::{HistogramSample, Labels, Sample};

use hist_range::{Note, Point};

use super::PromqlError;
use super::eval::Evaluator;
use super::parse::RangeModifier;
use super::selectors::Pick;
use super::value::{Steps, VSeries, Val, format_g};

/// Unwraps parentheses.
pub(crate) fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unparen(&p.expr),
        other => other,
    }
}

/// Evaluates `e` and requires an instant vector.
pub(crate) fn eval_vector(
    ev: &mut Evaluator<'_>,
    e: &Expr,
    steps: &Steps,
) -> Result<Vec<VSeries>, PromqlError> {
    match ev.eval(e, steps)? {
        Val::Vector(v) => Ok(v),
        other => Err(PromqlError::Execution(format!(
            "expected instant vector, got {}",
            other.type_name()
        ))),
    }
}

/// Evaluates `e` and requires a scalar (one value per step).
pub(crate) fn eval_scalar(
    ev: &mut Evaluator<'_>,
    e: &Expr,
    steps: &Steps,
) -> Result<Vec<f64>, PromqlError> {
    match ev.eval(e, steps)? {
        Val::Scalar(v) => Ok(v),
        other => Err(PromqlError::Execution(format!(
            "expected scalar, got {}",
            other.type_name()
        ))),
    }
}

/// The string value of a string-literal argument.
pub(crate) fn string_arg(e: &Expr) -> Result<String, PromqlError> {
    match unparen(e) {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        _ => Err(PromqlError::Execution(
            "expected a string literal argument".into(),
        )),
    }
}

/// Applies a float function to every float point; histogram points are
/// dropped, as Prometheus's float-only functions do.
fn map_values(mut v: Vec<VSeries>, f: impl Fn(usize, f64) -> Option<f64>) -> Vec<VSeries> {
    for s in &mut v {
        s.drop_name = true;
        s.hists.clear();
        for (i, slot) in s.vals.iter_mut().enumerate() {
            if let Some(x) = *slot {
                *slot = f(i, x);
            }
        }
    }
    v.retain(|s| s.vals.iter().any(Option::is_some));
    v
}

/// Evaluates a function call.
pub(crate) fn eval_call(
    ev: &mut Evaluator<'_>,
    e: &Expr,
    c: &Call,
    steps: &Steps,
) -> Result<Val, PromqlError> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|b| b.as_ref()).collect();
    let n = steps.n;
    if let Some(f) = math::simple_fn(name) {
        let v = eval_vector(ev, args[0], steps)?;
        return Ok(Val::Vector(map_values(v, |_, x| Some(f(x)))));
    }
    match name {
        "time" => Ok(Val::Scalar(
            (0..n).map(|i| steps.t(i) as f64 / 1000.0).collect(),
        )),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
        "start" => Ok(Val::Scalar(vec![ev.query_start as f64 / 1000.0; n])),
        "end" => Ok(Val::Scalar(vec![ev.query_end as f64 / 1000.0; n])),
        "range" => Ok(Val::Scalar(vec![
            (ev.query_end - ev.query_start) as f64
                / 1000.0;
            n
        ])),
        "step" => Ok(Val::Scalar(vec![ev.query_step as f64 / 1000.0; n])),
        "min_of" | "max_of" => {
            let a = eval_scalar(ev, args[0], steps)?;
            let b = eval_scalar(ev, args[1], steps)?;
            let max = name == "max_of";
            Ok(Val::Scalar(
                a.iter()
                    .zip(&b)
                    .map(|(&x, &y)| {
                        if x.is_nan() || y.is_nan() {
                            f64::NAN
                        } else if max {
                            x.max(y)
                        } else {
                            x.min(y)
                        }
                    })
                    .collect(),
            ))
        }
        "vector" => {
            let s = eval_scalar(ev, args[0], steps)?;
            Ok(Val::Vector(vec![VSeries {
                labels: Labels::empty(),
                drop_name: false,
                vals: s.into_iter().map(Some).collect(),
                hists: Vec::new(),
            }]))
        }
        "scalar" => {
            let v = eval_vector(ev, args[0], steps)?;
            let out = (0..n)
                .map(|i| {
                    let mut it = v.iter().filter_map(|s| s.vals[i]);
                    match (it.next(), it.next()) {
                        (Some(x), None) => x,
                        _ => f64::NAN,
                    }
                })
                .collect();
            Ok(Val::Scalar(out))
        }
        "start_timestamp" => {
            // Only a selector's samples carry start timestamps; the value of
            // any other expression has none, so the result is empty.
            let v = match unparen(args[0]) {
                Expr::VectorSelector(vs) => ev.eval_vector_selector(vs, steps, Pick::StartTime)?,
                other => {
                    eval_vector(ev, other, steps)?;
                    Vec::new()
                }
            };
            Ok(Val::Vector(map_values(v, |_, x| Some(x))))
        }
        "timestamp" => {
            let v = match unparen(args[0]) {
                Expr::VectorSelector(vs) => ev.eval_vector_selector(vs, steps, Pick::Time)?,
                other => {
                    let mut v = eval_vector(ev, other, steps)?;
                    // Histogram points have a time too.
                    for s in &mut v {
                        for (i, h) in std::mem::take(&mut s.hists).into_iter().enumerate() {
                            if h.is_some() {
                                s.vals[i] = Some(0.0);
                            }
                        }
                    }
                    return Ok(Val::Vector(map_values(v, |i, _| {
                        Some(steps.t(i) as f64 / 1000.0)
                    })));
                }
            };
            Ok(Val::Vector(map_values(v, |_, x| Some(x))))
        }
        "round" => {
            let v = eval_vector(ev, args[0], steps)?;
            let to = match args.get(1) {
                Some(a) => eval_scalar(ev, a, steps)?,
                None => vec![1.0; n],
            };
            Ok(Val::Vector(map_values(v, |i, x| {
                let inv = 1.0 / to[i];
                Some((x * inv + 0.5).floor() / inv)
            })))
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let v = eval_vector(ev, args[0], steps)?;
            let (lo, hi) = match name {
                "clamp" => (
                    eval_scalar(ev, args[1], steps)?,
                    eval_scalar(ev, args[2], steps)?,
                ),
                "clamp_min" => (eval_scalar(ev, args[1], steps)?, vec![f64::INFINITY; n]),
                _ => (vec![f64::NEG_INFINITY; n], eval_scalar(ev, args[1], steps)?),
            };
            Ok(Val::Vector(map_values(v, |i, x| {
                if hi[i] < lo[i] {
                    None
                } else {
                    Some(math::go_max(lo[i], math::go_min(hi[i], x)))
                }
            })))
        }
        "absent" => {
            let v = eval_vector(ev, args[0], steps)?;
            let labels = absent_labels(args[0]);
            let vals: Vec<Option<f64>> = (0..n)
                .map(|i| (!v.iter().any(|s| s.has_point(i))).then_some(1.0))
                .collect();
            Ok(Val::Vector(present_series(labels, vals)))
        }
        "absent_over_time" => {
            let w = ev.eval_windows(args[0], steps)?;
            let mut any = vec![false; n];
            for s in &w.series {
                w.each(s, |i, win| any[i] |= !win.is_empty());
                w.each_hist_range(s, |i, r| any[i] |= !r.is_empty());
            }
            let vals = any.iter().map(|&a| (!a).then_some(1.0)).collect();
            Ok(Val::Vector(present_series(absent_labels(args[0]), vals)))
        }
        "info" => info::eval_info(ev, &args, steps).map(Val::Vector),
        "label_replace" => labels::label_replace(ev, &args, steps).map(Val::Vector),
        "label_join" => labels::label_join(ev, &args, steps).map(Val::Vector),
        "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => {
            sort::eval_sort(ev, e, name, &args, steps)
        }
        "histogram_quantile" => histogram::histogram_quantile(ev, &args, steps).map(Val::Vector),
        "histogram_fraction" => histogram::histogram_fraction(ev, &args, steps).map(Val::Vector),
        "histogram_quantiles" => histogram::histogram_quantiles(ev, &args, steps).map(Val::Vector),
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => histogram::histogram_stat(ev, name, &args, steps).map(Val::Vector),
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute"
        | "month" | "year" => time::date_function(ev, name, &args, steps),
        _ => range_function(ev, name, &args, steps),
    }
}

fn present_series(labels: Labels, vals: Vec<Option<f64>>) -> Vec<VSeries> {
    if vals.iter().any(Option::is_some) {
        vec![VSeries {
            labels,
            drop_name: false,
            vals,
            hists: Vec::new(),
        }]
    } else {
        Vec::new()
    }
}

/// The labels `absent()` reports: the selector's single-valued equality matchers.
fn absent_labels(e: &Expr) -> Labels {
    let vs = match unparen(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut b = warden_tsdb::LabelsBuilder::new();
    for m in &vs.matchers.matchers {
        if m.name == "__name__" {
            continue;
        }
        let eq = matches!(m.op, promql_parser::label::MatchOp::Equal);
        if eq && !seen.contains(&m.name.as_str()) {
            b.set(&m.name, m.value.clone());
            seen.push(&m.name);
        } else {
            b.remove(&m.name);
            seen.push(&m.name);
        }
    }
    b.build().unwrap_or_default()
}

const COUNTER_SUFFIXES: [&str; 4] = ["_total", "_sum", "_count", "_bucket"];

/// Functions over a range vector.
fn range_function(
    ev: &mut Evaluator<'_>,
    name: &str,
    args: &[&Expr],
    steps: &Steps,
) -> Result<Val, PromqlError> {
    let n = steps.n;
    let matrix_idx = if name == "quantile_over_time" { 1 } else { 0 };
    let Some(marg) = args.get(matrix_idx).copied() else {
        return Err(PromqlError::Execution(format!(
            "function {name} needs a range vector"
        )));
    };
    let mut scalars: Vec<Vec<f64>> = Vec::new();
    for (k, a) in args.iter().enumerate() {
        if k != matrix_idx {
            scalars.push(eval_scalar(ev, a, steps)?);
        }
    }
    let modifier = ev.positions.modifier(unparen(marg));

    if let Some(m) = modifier {
        let allowed: &[&str] = match m {
            RangeModifier::Smoothed => &["delta", "increase", "rate"],
            RangeModifier::Anchored => &["changes", "delta", "increase", "rate", "resets"],
        };
        if !allowed.contains(&name) {
            return Err(PromqlError::Execution(format!(
                "{} modifier can only be used with: {} - not with {name}",
                m.name(),
                allowed.join(", ")
            )));
        }
    }
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let is_subquery = matches!(unparen(marg), Expr::Subquery(_));
    let mut out = Vec::new();
    let mut non_counter: Vec<String> = Vec::new();
    let mut overlapping: Vec<String> = Vec::new();
    let mut notes: Vec<(Note, String)> = Vec::new();
    let mut any_series = false;
    // One series at a time: a matrix selector's samples are read from the
    // store series by series and dropped once reduced.
    ev.each_window_series(marg, steps, &mut |w, mut s| {
        any_series = true;
        let range_s = w.range as f64 / 1000.0;
        let mut vals = vec![None; n];
        let mut hists: Vec<Option<Arc<FloatHistogram>>> = Vec::new();
        let ends = &w.ends;
        let mut unknown = false;
        let mut overlap = false;
        // What the float functions need of step `i`'s window.
        let ctx_at = |i: usize| FloatCtx {
            name,
            start: ends[i] - w.range,
            end: ends[i],
            range_s,
            t: steps.t(i),
            scalars: &scalars,
            i,
            modifier,
        };
        if s.hists.is_empty() {
            w.each_range(&s, |i, r| {
                let win = &s.samples[r.clone()];
                let st = s.start_times.get(r).unwrap_or(&[]);
                let ctx = ctx_at(i);
                if modifier.is_none() && matches!(name, "rate" | "increase") {
                    overlap |= rate::start_time_overlaps(st, win);
                }
                vals[i] = float_window(&ctx, win, st, &mut unknown);
            });
        } else {
            if is_subquery {
                forget_reset_hints(&mut s.hists);
            }
            let mut hranges = vec![0..0; n];
            w.each_hist_range(&s, |i, r| hranges[i] = r);
            let metric = s.labels.metric_name().unwrap_or("").to_string();
            hists = vec![None; n];
            w.each_range(&s, |i, r| {
                let win = &s.samples[r.clone()];
                let st = s.start_times.get(r).unwrap_or(&[]);
                let ctx = ctx_at(i);
                let mut hwin = &s.hists[hranges[i].clone()];
                let (mut win, mut st) = (win, st);
                if modifier.is_some() {
                    (win, st, hwin) = hist_range::trim_extended(win, st, hwin, ctx.start, ctx.end);
                }
                if hwin.is_empty() {
                    vals[i] = float_window(&ctx, win, st, &mut unknown);
                    return;
                }
                let hw = hist_range::Window {
                    floats: win,
                    hists: hwin,
                    start: ctx.start,
                    end: ctx.end,
                    range_s,
                };
                let mut local = Vec::new();
                let smoothed = modifier == Some(RangeModifier::Smoothed);
                let p = match (modifier, name) {
                    (Some(_), "rate" | "increase" | "delta") => Ok(hist_range::extended_rate(
                        &hw,
                        smoothed,
                        name != "delta",
                        name == "rate",
                        &mut local,
                    )),
                    (Some(_), _) => Ok(hist_range::anchored_transitions(&hw, name == "resets")),
                    _ => {
                        let hst = s.hist_start_times.get(hranges[i].clone());
                        let st = hist_range::StartTimes {
                            floats: st,
                            hists: hst.unwrap_or(&[]),
                        };
                        hist_range::eval_window_with_start(name, &hw, st, &mut local)
                    }
                };
                let p = match p {
                    Ok(p) => p,
                    Err(()) => {
                        let min_floats = match name {
                            "deriv" | "predict_linear" | "double_exponential_smoothing" => 2,
                            _ => 1,
                        };
                        hist_range::floats_only(&hw, min_floats, &mut local, |f| {
                            float_window(&ctx, f, &[], &mut unknown)
                        })
                    }
                };
                for note in local {
                    if !notes.iter().any(|(x, m)| *x == note && *m == metric) {
                        notes.push((note, metric.clone()));
                    }
                }
                match p {
                    Some(Point::F(v)) => vals[i] = Some(v),
                    Some(Point::H(h)) => hists[i] = Some(h),
                    None => {}
                }
            });
            if hists.iter().all(Option::is_none) {
                hists.clear();
            }
        }
        if unknown {
            return Err(PromqlError::Execution(format!(
                "function {name} is not supported"
            )));
        }
        if overlap {
            let m = s.labels.metric_name().unwrap_or("");
            if !overlapping.iter().any(|x| x == m) {
                overlapping.push(m.to_string());
            }
        }
        let has_floats = vals.iter().any(Option::is_some);
        if !has_floats && hists.is_empty() {
            return Ok(());
        }
        if (name == "rate" || name == "increase")
            && has_floats
            && let Some(m) = s.labels.metric_name()
            && !COUNTER_SUFFIXES.iter().any(|suf| m.ends_with(suf))
            && !non_counter.iter().any(|x| x == m)
        {
            non_counter.push(m.to_string());
        }
        out.push(VSeries {
            labels: s.labels,
            drop_name: s.drop_name || !keep_name,
            vals,
            hists,
        });
        Ok(())
    })?;
    for (note, metric) in notes {
        let msg = note.message(&metric);
        if note.is_warning() {
            ev.warn(args[0], &msg);
        } else {
            ev.info(args[0], &msg);
        }
    }
    if name == "quantile_over_time"
        && let Some(q) = scalars[0]
            .iter()
            .find(|q| q.is_nan() || **q < 0.0 || **q > 1.0)
    {
        let q = *q;
        if any_series {
            ev.warn(
                args[0],
                &format!(
                    "quantile value should be between 0 and 1, got {}",
                    format_g(q)
                ),
            );
        }
    }
    if name == "double_exponential_smoothing" {
        for i in 0..n {
            let (sf, tf) = (scalars[0][i], scalars[1][i]);
            if sf <= 0.0 || sf >= 1.0 {
                return Err(PromqlError::Execution(format!(
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                )));
            }
            if tf <= 0.0 || tf >= 1.0 {
                return Err(PromqlError::Execution(format!(
                    "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                )));
            }
        }
    }
    for m in overlapping {
        ev.warn(
            marg,
            &format!(
                "sample has start time that overlaps with previous sample timestamp for metric {}",
                super::value::go_quote(&m)
            ),
        );
    }
    for m in non_counter {
        ev.info(
            marg,
            &format!(
                "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {}",
                super::value::go_quote(&m)
            ),
        );
    }
    let points = out.iter().map(VSeries::point_count).sum();
    ev.limits.add(points)?;
    Ok(Val::Vector(out))
}

/// What reducing one float window needs besides the samples.
struct FloatCtx<'a> {
    name: &'a str,
    /// Window start (exclusive) and end in ms.
    start: i64,
    end: i64,
    range_s: f64,
    /// The step's evaluation time in ms.
    t: i64,
    /// The scalar arguments, one value per step.
    scalars: &'a [Vec<f64>],
    i: usize,
    modifier: Option<RangeModifier>,
}

/// Reduces one window of float samples with the range function `ctx.name`
/// (`st`: the samples' start times, empty or one per sample); sets
/// `unknown` for a function that does not exist.
fn float_window(ctx: &FloatCtx<'_>, win: &[Sample], st: &[i64], unknown: &mut bool) -> Option<f64> {
    let (name, start, end, range_s, i) = (ctx.name, ctx.start, ctx.end, ctx.range_s, ctx.i);
    if let Some(m) = ctx.modifier {
        let smoothed = m == RangeModifier::Smoothed;
        return match name {
            "rate" => rate::extended_rate(win, start, end, range_s, smoothed, true, true),
            "increase" => rate::extended_rate(win, start, end, range_s, smoothed, true, false),
            "delta" => rate::extended_rate(win, start, end, range_s, smoothed, false, false),
            _ if win.last().is_none_or(|x| x.t <= start) => None,
            "changes" => rate::changes(win),
            _ => rate::resets(win, st),
        };
    }
    let scalar = |k: usize| ctx.scalars[k][i];
    match name {
        "rate" => rate::extrapolated_rate(win, st, start, end, range_s, true, true),
        "increase" => rate::extrapolated_rate(win, st, start, end, range_s, true, false),
        "delta" => rate::extrapolated_rate(win, st, start, end, range_s, false, false),
        "irate" => rate::instant_value(win, st, true),
        "idelta" => rate::instant_value(win, &[], false),
        "deriv" => rate::deriv(win),
        "predict_linear" => rate::predict_linear(win, ctx.t, scalar(0)),
        "changes" => rate::changes(win),
        "resets" => rate::resets(win, st),
        "avg_over_time" => over_time::avg(win),
        "sum_over_time" => over_time::sum(win),
        "count_over_time" => (!win.is_empty()).then_some(win.len() as f64),
        "min_over_time" => over_time::extreme(win, false),
        "max_over_time" => over_time::extreme(win, true),
        "last_over_time" => win.last().map(|x| x.v),
        "first_over_time" => win.first().map(|x| x.v),
        "ts_of_last_over_time" => win.last().map(|x| x.t as f64 / 1000.0),
        "ts_of_first_over_time" => win.first().map(|x| x.t as f64 / 1000.0),
        "ts_of_max_over_time" => over_time::ts_of_extreme(win, true),
        "ts_of_min_over_time" => over_time::ts_of_extreme(win, false),
        "present_over_time" => (!win.is_empty()).then_some(1.0),
        "stddev_over_time" => over_time::variance(win, true),
        "stdvar_over_time" => over_time::variance(win, false),
        "quantile_over_time" => over_time::quantile_over(scalar(0), win),
        "mad_over_time" => over_time::mad(win),
        "double_exponential_smoothing" => {
            over_time::double_exponential_smoothing(win, scalar(0), scalar(1))
        }
        _ => {
            *unknown = true;
            None
        }
    }
}

/// Prometheus forgets the "reset" and "no reset" hints of a subquery's
/// histograms: the subquery may skip or repeat the samples that carried
/// them, so resets are detected from the counts instead.
fn forget_reset_hints(hists: &mut [HistogramSample]) {
    for s in hists {
        if matches!(
            s.h.counter_reset_hint,
            CounterResetHint::CounterReset | CounterResetHint::NotCounterReset
        ) {
            let mut h = (*s.h).clone();
            h.counter_reset_hint = CounterResetHint::Unknown;
            s.h = Arc::new(h);
        }
    }
}
