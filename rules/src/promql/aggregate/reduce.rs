//! The one-series-per-group aggregations: `sum`, `avg`, `count`, `group`,
//! `min`, `max`, `stddev` and `stdvar`.
//!
//! One step follows Prometheus's `aggregation` (promql/engine.go): the first
//! sample of a group at a step (re)initialises the group, later samples are
//! folded in, in input order, and the groups are then turned into this
//! step's points.
//!
//! Histograms: `sum` adds them with Kahan compensation (a compensation
//! histogram carried along and added once at the end); `avg` does the same
//! to a running sum and divides at the end, unless the sum would overflow,
//! from which point on it keeps an incremental mean instead (as it does for
//! floats). A group holding both floats and histograms gives no point and a
//! warning, as does one mixing exponential and custom buckets. `count` and
//! `group` count histograms like floats; `min`, `max`, `stddev` and `stdvar`
//! ignore them with an info.

use std::sync::Arc;

use promql_parser::parser::AggregateExpr;
use promql_parser::parser::token::{
    T_AVG, T_COUNT, T_GROUP, T_MAX, T_MIN, T_STDDEV, T_STDVAR, T_SUM,
};
use warden_tsdb::FloatHistogram;
use warden_tsdb::histogram::{CombineOutcome, HintsSeen, HistogramError};

use super::super::PromqlError;
use super::super::eval::Evaluator;
use super::super::functions::math::kahan_inc;
use super::super::value::VSeries;
use super::{
    COUNTER_RESET_COLLISION_MSG, MIXED_FLOATS_HISTOGRAMS_MSG, NHCB_RECONCILED_MSG, finish, groups,
    ignored_histogram_msg, mixed_schemas_msg, new_outputs, op_name,
};

/// One group's running state at one step (Prometheus's `groupedAggregation`).
#[derive(Clone, Default)]
struct Group {
    /// The group has a sample at this step.
    seen: bool,
    count: f64,
    /// Float sum (`sum`, direct `avg`), extreme (`min`/`max`) or M2
    /// (`stddev`/`stdvar`).
    value: f64,
    /// Kahan compensation of `value` (or of `mean` once incremental).
    c: f64,
    mean: f64,
    /// `avg` over floats switched to the incremental mean.
    incremental: bool,
    has_float: bool,
    has_hist: bool,
    /// Exponential and custom buckets met: the group gives no point.
    incompatible: bool,
    /// Histogram sum (`sum`, direct `avg`); `None` when the group started
    /// with a float.
    hist: Option<FloatHistogram>,
    /// `avg`'s incremental histogram mean.
    hist_mean: Option<FloatHistogram>,
    /// Kahan compensation of `hist` (or of `hist_mean` once incremental).
    hist_c: Option<FloatHistogram>,
    /// `avg` over histograms switched to the incremental mean.
    hist_incremental: bool,
    /// Counter reset hints of the histograms summed.
    hints: HintsSeen,
}

/// The annotations one aggregation raises, gathered over all steps and
/// added once at the end.
#[derive(Default)]
struct Notes {
    ignored_histogram: bool,
    mixed_floats_histograms: bool,
    counter_reset_collision: bool,
    nhcb_reconciled: bool,
    /// Metric names of series whose histograms mixed schemas with the group's.
    mixed_schemas: Vec<String>,
}

impl Notes {
    fn outcome(&mut self, o: &CombineOutcome) {
        if o.nhcb_bounds_reconciled {
            self.nhcb_reconciled = true;
        }
    }

    /// Prometheus's `handleAggregationError`: only a schema mix is reported.
    fn error(&mut self, e: &HistogramError, s: &VSeries) {
        if *e == HistogramError::IncompatibleSchema {
            let name = s.labels.get("__name__").unwrap_or("").to_string();
            if !self.mixed_schemas.contains(&name) {
                self.mixed_schemas.push(name);
            }
        }
    }
}

/// Prometheus's `FloatHistogram.HasOverflow`: some count or the sum is ±Inf.
fn has_overflow(h: &FloatHistogram) -> bool {
    h.count.is_infinite()
        || h.sum.is_infinite()
        || h.zero_count.is_infinite()
        || h.positive_buckets.iter().any(|b| b.is_infinite())
        || h.negative_buckets.iter().any(|b| b.is_infinite())
}

/// sum, avg, count, min, max, group, stddev, stdvar.
pub(super) fn reduce(
    ev: &mut Evaluator<'_>,
    op: u16,
    a: &AggregateExpr,
    input: Vec<VSeries>,
    n: usize,
) -> Result<Vec<VSeries>, PromqlError> {
    let (gid, glabels) = groups(&input, &a.modifier);
    let mut out = new_outputs(&glabels, &input, &gid, n);
    let mut acc = vec![Group::default(); glabels.len()];
    let mut notes = Notes::default();
    for i in 0..n {
        if i % 64 == 0 {
            ev.limits.check_time()?;
        }
        for x in acc.iter_mut() {
            x.seen = false;
        }
        for (s, &g) in input.iter().zip(&gid) {
            let h = s.hist(i).map(Arc::as_ref);
            let f = match (s.vals[i], h) {
                (Some(f), _) => f,
                (None, Some(_)) => 0.0,
                (None, None) => continue,
            };
            let x = &mut acc[g];
            if !x.seen {
                init(x, op, f, h, &mut notes);
                continue;
            }
            if x.incompatible {
                continue;
            }
            fold(x, op, f, h, s, &mut notes);
        }
        for (g, x) in acc.iter_mut().enumerate() {
            if !x.seen {
                continue;
            }
            let point = match op {
                T_SUM | T_AVG => {
                    if x.has_float && x.has_hist {
                        notes.mixed_floats_histograms = true;
                        continue;
                    }
                    if x.incompatible {
                        continue;
                    }
                    if x.has_hist {
                        let Some(h) = finish_histogram(x, op) else {
                            continue;
                        };
                        Err(h)
                    } else if op == T_SUM {
                        Ok(if x.value.is_infinite() {
                            x.value
                        } else {
                            x.value + x.c
                        })
                    } else if x.incremental {
                        Ok(x.mean + x.c)
                    } else {
                        Ok(x.value / x.count + x.c / x.count)
                    }
                }
                T_COUNT => Ok(x.count),
                T_GROUP => Ok(1.0),
                T_STDVAR => Ok(x.value / x.count),
                T_STDDEV => Ok((x.value / x.count).sqrt()),
                _ => Ok(x.value),
            };
            if x.hints.collided() {
                notes.counter_reset_collision = true;
            }
            match point {
                Ok(v) => out[g].vals[i] = Some(v),
                Err(h) => out[g].set_hist(i, Some(Arc::new(h))),
            }
        }
    }
    if notes.ignored_histogram {
        ev.info(&a.expr, &ignored_histogram_msg(&op_name(a)));
    }
    if notes.nhcb_reconciled {
        ev.info(&a.expr, NHCB_RECONCILED_MSG);
    }
    for name in &notes.mixed_schemas {
        ev.warn(&a.expr, &mixed_schemas_msg(name));
    }
    if notes.mixed_floats_histograms {
        ev.warn(&a.expr, MIXED_FLOATS_HISTOGRAMS_MSG);
    }
    if notes.counter_reset_collision {
        ev.warn(&a.expr, COUNTER_RESET_COLLISION_MSG);
    }
    Ok(finish(out))
}

/// The first sample of a group at this step.
fn init(x: &mut Group, op: u16, f: f64, h: Option<&FloatHistogram>, notes: &mut Notes) {
    *x = Group {
        seen: true,
        count: 1.0,
        value: f,
        mean: f,
        ..Group::default()
    };
    match op {
        T_SUM | T_AVG => match h {
            None => x.has_float = true,
            Some(h) => {
                x.hist = Some(h.clone());
                x.has_hist = true;
                x.hints.note(h);
            }
        },
        T_STDDEV | T_STDVAR => {
            if h.is_some() {
                x.seen = false;
                notes.ignored_histogram = true;
            } else if f.is_nan() || f.is_infinite() {
                x.value = f64::NAN;
            } else {
                x.value = 0.0;
            }
        }
        T_GROUP => x.value = 1.0,
        T_MIN | T_MAX if h.is_some() => {
            x.seen = false;
            notes.ignored_histogram = true;
        }
        _ => {}
    }
}

/// A later sample of a group at this step.
fn fold(
    x: &mut Group,
    op: u16,
    f: f64,
    h: Option<&FloatHistogram>,
    s: &VSeries,
    notes: &mut Notes,
) {
    match op {
        T_SUM => match h {
            Some(h) => {
                x.has_hist = true;
                // A group that started with a float gives no point anyway.
                if x.hist.is_some() {
                    x.hints.note(h);
                }
                if let Some(sum) = x.hist.as_mut() {
                    match sum.kahan_add(h, x.hist_c.take()) {
                        Ok(o) => {
                            notes.outcome(&o.outcome);
                            x.hist_c = Some(o.compensation);
                        }
                        Err(e) => {
                            notes.error(&e, s);
                            x.incompatible = true;
                        }
                    }
                }
            }
            None => {
                x.has_float = true;
                let (v, c) = kahan_inc(f, x.value, x.c);
                x.value = v;
                x.c = c;
            }
        },
        T_AVG => {
            x.count += 1.0;
            match h {
                Some(h) => {
                    x.has_hist = true;
                    if x.hist.is_some() {
                        x.hints.note(h);
                        avg_histogram(x, h, s, notes);
                    }
                }
                None => {
                    x.has_float = true;
                    avg_float(x, f);
                }
            }
        }
        T_MAX => {
            if h.is_some() {
                notes.ignored_histogram = true;
            } else if x.value < f || x.value.is_nan() {
                x.value = f;
            }
        }
        T_MIN => {
            if h.is_some() {
                notes.ignored_histogram = true;
            } else if x.value > f || x.value.is_nan() {
                x.value = f;
            }
        }
        T_COUNT => x.count += 1.0,
        T_STDDEV | T_STDVAR => {
            if h.is_some() {
                notes.ignored_histogram = true;
            } else {
                x.count += 1.0;
                let delta = f - x.mean;
                x.mean += delta / x.count;
                x.value += delta * (f - x.mean);
            }
        }
        _ => {}
    }
}

/// `avg`'s float step: a Kahan sum while it stays finite, then an
/// incremental mean.
fn avg_float(x: &mut Group, f: f64) {
    if !x.incremental {
        let (v, c) = kahan_inc(f, x.value, x.c);
        if !v.is_infinite() {
            x.value = v;
            x.c = c;
            return;
        }
        x.incremental = true;
        x.mean = x.value / (x.count - 1.0);
        x.c /= x.count - 1.0;
    }
    let q = (x.count - 1.0) / x.count;
    let (m, c) = kahan_inc(f / x.count, q * x.mean, q * x.c);
    x.mean = m;
    x.c = c;
}

/// `avg`'s histogram step, the same scheme as [`avg_float`] with
/// histograms: the running sum until adding `h` would overflow it, then the
/// incremental mean `mean·(n−1)/n + h/n`, its compensation scaled alike.
fn avg_histogram(x: &mut Group, h: &FloatHistogram, s: &VSeries, notes: &mut Notes) {
    let Some(sum) = x.hist.as_ref() else {
        return;
    };
    if !x.hist_incremental {
        let mut next = sum.clone();
        match next.kahan_add(h, x.hist_c.clone()) {
            Ok(o) => {
                notes.outcome(&o.outcome);
                if !has_overflow(&next) {
                    x.hist = Some(next);
                    x.hist_c = Some(o.compensation);
                    return;
                }
            }
            Err(e) => {
                notes.error(&e, s);
                x.incompatible = true;
                return;
            }
        }
        // The sum would overflow: go on with the mean of what was summed.
        x.hist_incremental = true;
        let mut mean = sum.clone();
        mean.div(x.count - 1.0);
        x.hist_mean = Some(mean);
        if let Some(c) = x.hist_c.as_mut() {
            c.div(x.count - 1.0);
        }
    }
    let q = (x.count - 1.0) / x.count;
    if let Some(c) = x.hist_c.as_mut() {
        c.mul(q);
    }
    let mut inc = h.clone();
    inc.div(x.count);
    let Some(mean) = x.hist_mean.as_mut() else {
        return;
    };
    mean.mul(q);
    match mean.kahan_add(&inc, x.hist_c.take()) {
        Ok(o) => {
            notes.outcome(&o.outcome);
            x.hist_c = Some(o.compensation);
        }
        Err(e) => {
            notes.error(&e, s);
            x.incompatible = true;
        }
    }
}

/// The step's histogram of a `sum` or `avg` group: the running value with
/// its compensation added, divided for a direct `avg`, compacted.
fn finish_histogram(x: &mut Group, op: u16) -> Option<FloatHistogram> {
    let mut v = if op == T_AVG && x.hist_incremental {
        let mut mean = x.hist_mean.take()?;
        if let Some(c) = x.hist_c.take() {
            // Cannot fail: the compensation has the mean's layout.
            let _ = mean.add(&c);
        }
        mean
    } else {
        let mut v = x.hist.take()?;
        if op == T_AVG {
            v.div(x.count);
        }
        if let Some(mut c) = x.hist_c.take() {
            if op == T_AVG {
                c.div(x.count);
            }
            // Cannot fail: the compensation has the sum's layout.
            let _ = v.add(&c);
        }
        v
    };
    v.compact(0);
    Some(v)
}
