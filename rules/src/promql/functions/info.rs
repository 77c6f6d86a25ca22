//! `info(v, {selector})` (experimental): enriches series with the data
//! labels of info metrics (`target_info` by default) that share their
//! identifying labels (`instance`, `job`), step by step.

use promql_parser::parser::Expr;
use warden_tsdb::{Labels, MatchOp, Matcher};

use super::{eval_vector, unparen};
use crate::promql::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::hash::FxHashMap;
use crate::promql::parse::INFO_SENTINEL;
use crate::promql::selectors::{self, matcher_sets};
use crate::promql::value::{Steps, VSeries};

const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// Evaluates `info(v)` or `info(v, {selector})`.
pub(crate) fn eval_info(
    ev: &mut Evaluator<'_>,
    args: &[&Expr],
    steps: &Steps,
) -> Result<Vec<VSeries>, PromqlError> {
    let base = eval_vector(ev, args[0], steps)?;
    let (mut name_ms, data_ms): (Vec<Matcher>, Vec<Matcher>) = match args.get(1).map(|a| unparen(a))
    {
        Some(Expr::VectorSelector(vs)) => matcher_sets(vs)?
            .into_iter()
            .next()
            .unwrap_or_default()
            .into_iter()
            .partition(|m| m.name == "__name__"),
        Some(_) => {
            return Err(PromqlError::Execution(
                "info(): the second argument must be a selector".into(),
            ));
        }
        None => (Vec::new(), Vec::new()),
    };
    let data_ms: Vec<Matcher> = data_ms
        .into_iter()
        .filter(|m| m.name != INFO_SENTINEL)
        .collect();
    let positive = |m: &Matcher| matches!(m.op, MatchOp::Equal | MatchOp::Regex);
    // Base series that are info metrics themselves pass through unchanged;
    // that needs a positive name matcher to say which names are info metrics.
    let has_positive = name_ms.iter().any(positive);
    if name_ms.is_empty() {
        name_ms.push(Matcher::equal("__name__", "target_info"));
    } else if !has_positive {
        // Only exclusions: choose among the `*_info` metrics.
        name_ms.push(
            Matcher::new(MatchOp::Regex, "__name__", ".+_info")
                .map_err(|e| PromqlError::Execution(e.to_string()))?,
        );
    }
    let is_info_name = |name: &str| has_positive && name_ms.iter().all(|m| m.matches(name));
    // Info series are read at the times the base series' samples come from.
    let times: Vec<i64> = (0..steps.n)
        .map(|i| reference_time(ev, args[0], steps.t(i)))
        .collect();
    let (Some(&min), Some(&max)) = (times.iter().min(), times.iter().max()) else {
        return Ok(base);
    };
    let lookback = ev.opts.lookback_delta_ms;
    let mut all_ms = name_ms.clone();
    all_ms.extend(data_ms.iter().cloned());
    let info = ev
        .querier
        .select(&all_ms, min - lookback + 1, max)
        .map_err(|e| PromqlError::Storage(e.to_string()))?;
    for s in &info {
        if picks_histogram(&s.samples, &s.histograms, &times, lookback) {
            return Err(PromqlError::Execution(format!(
                "this should be an info metric, with float samples: {}",
                crate::promql::value::labels_to_go_string(&s.labels)
            )));
        }
    }
    // (labels, value-at-step present, sample time at step) of each info series.
    let info: Vec<(Labels, Vec<Option<f64>>)> = info
        .into_iter()
        .map(|s| {
            let ts = selectors::lookback_values(
                &s.samples,
                &[],
                &times,
                lookback,
                selectors::Pick::Time,
            );
            (s.labels, ts)
        })
        .collect();
    let mut by_key: FxHashMap<Vec<String>, Vec<usize>> = FxHashMap::default();
    for (k, (l, _)) in info.iter().enumerate() {
        by_key.entry(identifying(l)).or_default().push(k);
    }
    let empty_ok = data_ms.iter().all(|m| m.matches(""));
    let n = steps.n;
    let mut out: Vec<VSeries> = Vec::new();
    let mut index: FxHashMap<(Labels, bool), usize> = FxHashMap::default();
    for s in base {
        let name = s.labels.metric_name().unwrap_or("");
        if is_info_name(name) || (!has_positive && name == "target_info" && name_ms.len() == 1) {
            push(
                &mut out,
                &mut index,
                s.labels.clone(),
                s.drop_name,
                &s.vals,
                None,
            );
            continue;
        }
        let candidates = by_key
            .get(&identifying(&s.labels))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for i in 0..n {
            let Some(v) = s.vals[i] else { continue };
            // The newest sample of each info metric name enriches.
            let mut best: Vec<(f64, usize)> = Vec::new();
            for &k in candidates {
                let Some(t) = info[k].1[i] else { continue };
                let name = info[k].0.metric_name();
                match best
                    .iter_mut()
                    .find(|(_, b)| info[*b].0.metric_name() == name)
                {
                    Some(slot) if slot.0 < t => *slot = (t, k),
                    Some(_) => {}
                    None => best.push((t, k)),
                }
            }
            let labels = if best.is_empty() {
                if !empty_ok {
                    continue;
                }
                s.labels.clone()
            } else {
                let mut labels = s.labels.clone();
                let mut added: Vec<(String, String)> = Vec::new();
                for &(_, k) in &best {
                    for (n, v) in data_labels(&s.labels, &info[k].0, &data_ms) {
                        if let Some((_, prev)) = added.iter().find(|(an, _)| *an == n) {
                            if *prev != v {
                                return Err(PromqlError::Execution(format!(
                                    "conflicting label: {n} has values {prev:?} and {v:?} in different info metrics"
                                )));
                            }
                            continue;
                        }
                        added.push((n, v));
                    }
                }
                if !added.is_empty() {
                    let mut b = labels.to_builder();
                    for (n, v) in added {
                        b.set(&n, v);
                    }
                    labels = b.build().unwrap_or(labels);
                }
                labels
            };
            push(
                &mut out,
                &mut index,
                labels,
                s.drop_name,
                &s.vals,
                Some((i, v)),
            );
        }
    }
    Ok(out)
}

/// The time the samples behind `e` at evaluation time `t` are read at:
/// `@` pins it, `offset` shifts it, through subqueries and the first
/// vector-valued argument of functions and operators.
/// Whether, at any of `times`, the sample a selector would pick (the newest
/// within the lookback) is a histogram: info metrics must be floats, and
/// Prometheus fails the query otherwise.
fn picks_histogram(
    floats: &[warden_tsdb::Sample],
    hists: &[warden_tsdb::HistogramSample],
    times: &[i64],
    lookback: i64,
) -> bool {
    if hists.is_empty() {
        return false;
    }
    times.iter().any(|&t| {
        let f = floats.partition_point(|x| x.t <= t);
        let h = hists.partition_point(|x| x.t <= t);
        let newest_float = f.checked_sub(1).map_or(i64::MIN, |k| floats[k].t);
        h.checked_sub(1)
            .is_some_and(|k| hists[k].t > t - lookback && hists[k].t > newest_float)
    })
}

fn reference_time(ev: &Evaluator<'_>, e: &Expr, t: i64) -> i64 {
    let off = crate::promql::eval::offset_ms;
    match e {
        Expr::VectorSelector(vs) => ev.at_ms(&vs.at).unwrap_or(t) - off(&vs.offset),
        Expr::MatrixSelector(ms) => ev.at_ms(&ms.vs.at).unwrap_or(t) - off(&ms.vs.offset),
        Expr::Subquery(sq) => reference_time(
            ev,
            &sq.expr,
            ev.at_ms(&sq.at).unwrap_or(t) - off(&sq.offset),
        ),
        Expr::Paren(p) => reference_time(ev, &p.expr, t),
        Expr::Unary(u) => reference_time(ev, &u.expr, t),
        Expr::Aggregate(a) => reference_time(ev, &a.expr, t),
        Expr::Binary(b) => reference_time(ev, &b.lhs, t),
        Expr::Call(c) => c
            .args
            .args
            .iter()
            .find(|a| {
                matches!(
                    a.value_type(),
                    promql_parser::parser::value::ValueType::Vector
                        | promql_parser::parser::value::ValueType::Matrix
                )
            })
            .map_or(t, |a| reference_time(ev, a, t)),
        _ => t,
    }
}

fn identifying(l: &Labels) -> Vec<String> {
    IDENTIFYING
        .iter()
        .map(|n| l.get(n).unwrap_or("").to_string())
        .collect()
}

/// The info series' data labels that the base series does not have yet.
fn data_labels(base: &Labels, info: &Labels, data_ms: &[Matcher]) -> Vec<(String, String)> {
    info.iter()
        .filter(|l| {
            l.name != "__name__"
                && !IDENTIFYING.contains(&l.name.as_str())
                && base.get(&l.name).is_none()
        })
        .filter(|l| data_ms.is_empty() || data_ms.iter().any(|m| m.name == l.name))
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// Adds one point (or, with `point == None`, every point) to the output
/// series with these labels.
fn push(
    out: &mut Vec<VSeries>,
    index: &mut FxHashMap<(Labels, bool), usize>,
    labels: Labels,
    drop_name: bool,
    vals: &[Option<f64>],
    point: Option<(usize, f64)>,
) {
    let n = vals.len();
    let idx = *index.entry((labels.clone(), drop_name)).or_insert_with(|| {
        out.push(VSeries {
            labels,
            drop_name,
            vals: vec![None; n],
            hists: Vec::new(),
        });
        out.len() - 1
    });
    match point {
        Some((i, v)) => out[idx].vals[i] = Some(v),
        None => {
            for (slot, v) in out[idx].vals.iter_mut().zip(vals) {
                if v.is_some() {
                    *slot = *v;
                }
            }
        }
    }
}
