//! Histogram functions: histogram_quantile(s) and histogram_fraction over
//! classic `le` buckets (with Prometheus's monotonicity fix) and over native
//! histograms, and the native-only histogram_count/sum/avg/stddev/stdvar.
//!
//! A vector may hold both kinds for the same series (a classic histogram
//! with the labels of a native one): at such a step Prometheus evaluates
//! neither and warns, which [`Families::conflicts`] reproduces.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::Expr;
use warden_tsdb::Labels;
use warden_tsdb::histogram::FloatHistogram;
use warden_tsdb::histogram::stats::{self, Estimate};

use super::{eval_scalar, eval_vector};
use crate::promql::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Steps, VSeries, format_g, go_quote};

#[derive(Clone, Copy, Debug)]
pub(crate) struct Bucket {
    pub upper: f64,
    pub count: f64,
}

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < eps * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

fn sort_and_coalesce(b: &mut Vec<Bucket>) {
    b.sort_by(|x, y| {
        x.upper
            .partial_cmp(&y.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out: Vec<Bucket> = Vec::with_capacity(b.len());
    for x in b.iter() {
        match out.last_mut() {
            Some(l) if l.upper == x.upper => l.count += x.count,
            _ => out.push(*x),
        }
    }
    *b = out;
}

/// Raises decreasing counts to keep them monotonic; returns whether that
/// was needed (tiny float noise is smoothed silently).
fn ensure_monotonic(b: &mut [Bucket]) -> bool {
    let mut forced = false;
    let Some(first) = b.first() else { return false };
    let mut prev = first.count;
    for x in b.iter_mut().skip(1) {
        let curr = x.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) {
            x.count = prev;
            continue;
        }
        if curr < prev {
            x.count = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    forced
}

/// Prometheus's `BucketQuantile`: the quantile and whether monotonicity was forced.
pub(crate) fn bucket_quantile(q: f64, mut b: Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    sort_and_coalesce(&mut b);
    if !b.last().is_some_and(|l| l.upper == f64::INFINITY) {
        return (f64::NAN, false);
    }
    let forced = ensure_monotonic(&mut b);
    if b.len() < 2 {
        return (f64::NAN, false);
    }
    let obs = b[b.len() - 1].count;
    if obs == 0.0 {
        return (f64::NAN, false);
    }
    let mut rank = q * obs;
    let idx = b[..b.len() - 1].partition_point(|x| x.count < rank);
    if idx == b.len() - 1 {
        return (b[b.len() - 2].upper, forced);
    }
    if idx == 0 && b[0].upper <= 0.0 {
        return (b[0].upper, forced);
    }
    let (mut start, end, mut count) = (0.0, b[idx].upper, b[idx].count);
    if idx > 0 {
        start = b[idx - 1].upper;
        count -= b[idx - 1].count;
        rank -= b[idx - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// Fraction of observations in `(lower, upper]` by linear interpolation.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, mut b: Vec<Bucket>) -> f64 {
    sort_and_coalesce(&mut b);
    if !b.last().is_some_and(|l| l.upper == f64::INFINITY) {
        return f64::NAN;
    }
    ensure_monotonic(&mut b);
    let total = b[b.len() - 1].count;
    if total == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let rank_at = |v: f64| -> f64 {
        let mut prev_upper = f64::NEG_INFINITY;
        let mut prev_count = 0.0;
        for (i, x) in b.iter().enumerate() {
            let lo = if i == 0 && x.upper > 0.0 {
                0.0
            } else {
                prev_upper
            };
            if v <= lo {
                return prev_count;
            }
            if v < x.upper {
                if lo.is_infinite() || x.upper.is_infinite() {
                    return prev_count;
                }
                return prev_count + (x.count - prev_count) * (v - lo) / (x.upper - lo);
            }
            prev_upper = x.upper;
            prev_count = x.count;
        }
        total
    };
    (rank_at(upper) - rank_at(lower)) / total
}

/// Groups bucket series by their labels without `le`.
struct Families {
    labels: Vec<Labels>,
    /// (family, upper bound) of every input series with a valid `le`.
    member: Vec<Option<(usize, f64)>>,
    /// Family of each label set, for finding a native histogram's twin.
    ids: HashMap<Labels, usize>,
    /// (step, family) pairs where a native histogram has the labels of a
    /// classic family that has buckets: neither is evaluated there.
    conflicts: HashSet<(usize, usize)>,
}

fn families(ev: &mut Evaluator<'_>, arg: &Expr, v: &[VSeries]) -> Families {
    let mut ids: HashMap<Labels, usize> = HashMap::new();
    let mut labels = Vec::new();
    let mut member = Vec::with_capacity(v.len());
    for s in v {
        if !s.hists.is_empty() && !s.vals.iter().any(Option::is_some) {
            // Only native histograms: not a classic bucket.
            member.push(None);
            continue;
        }
        let le = s.labels.get("le").unwrap_or("");
        let upper = parse_le(le);
        let Some(upper) = upper else {
            let name = s.labels.metric_name().unwrap_or("");
            let mut msg = format!(
                "bucket label \"le\" is missing or has a malformed value of {}",
                go_quote(le)
            );
            if !name.is_empty() {
                msg.push_str(&format!(" for metric name {}", go_quote(name)));
            }
            ev.warn(arg, &msg);
            member.push(None);
            continue;
        };
        let mut b = s.labels.to_builder();
        b.remove("le");
        let fam = b.build().unwrap_or_default();
        let id = *ids.entry(fam.clone()).or_insert_with(|| {
            labels.push(fam);
            labels.len() - 1
        });
        member.push(Some((id, upper)));
    }
    Families {
        labels,
        member,
        ids,
        conflicts: HashSet::new(),
    }
}

/// Finds the steps where a native histogram and classic buckets share a
/// series, records them in `fam.conflicts` and warns about each metric.
fn find_conflicts(ev: &mut Evaluator<'_>, arg: &Expr, fam: &mut Families, v: &[VSeries], n: usize) {
    for s in v.iter().filter(|s| !s.hists.is_empty()) {
        let Some(&id) = fam.ids.get(&s.labels) else {
            continue;
        };
        for i in 0..n {
            if s.hist(i).is_none() {
                continue;
            }
            let classic = v
                .iter()
                .zip(&fam.member)
                .any(|(b, m)| matches!(m, Some((f, _)) if *f == id) && b.vals[i].is_some());
            if classic {
                fam.conflicts.insert((i, id));
                let name = s.labels.metric_name().unwrap_or("");
                let mut msg = "vector contains a mix of classic and native histograms".to_string();
                if !name.is_empty() {
                    msg.push_str(&format!(" for metric name {}", go_quote(name)));
                }
                ev.warn(arg, &msg);
            }
        }
    }
}

/// The per-step results of `f` over the native histograms of `v` (steps in
/// conflict with classic buckets left out), one series per input series,
/// name to be dropped; `f` also gets the series' metric name.
fn per_native(
    fam: &Families,
    v: &[VSeries],
    n: usize,
    mut f: impl FnMut(usize, &str, &FloatHistogram) -> f64,
) -> Vec<VSeries> {
    let mut out = Vec::new();
    for s in v.iter().filter(|s| !s.hists.is_empty()) {
        let id = fam.ids.get(&s.labels).copied();
        let name = s.labels.metric_name().unwrap_or("");
        let vals: Vec<Option<f64>> = (0..n)
            .map(|i| {
                let h = s.hist(i)?;
                if id.is_some_and(|id| fam.conflicts.contains(&(i, id))) {
                    return None;
                }
                Some(f(i, name, h))
            })
            .collect();
        if vals.iter().any(Option::is_some) {
            out.push(VSeries {
                labels: s.labels.clone(),
                drop_name: true,
                vals,
                hists: Vec::new(),
            });
        }
    }
    out
}

/// Reports an estimate's annotation as an info about the series named
/// `name`, at the histogram argument.
fn note_estimate(ev: &mut Evaluator<'_>, arg: &Expr, name: &str, e: &Estimate) {
    if let Some(a) = e.annotation {
        let mut msg = a.message().to_string();
        if !name.is_empty() {
            msg.push_str(&format!(" for metric name {}", go_quote(name)));
        }
        ev.info(arg, &msg);
    }
}

/// histogram_count, histogram_sum, histogram_avg, histogram_stddev and
/// histogram_stdvar: a statistic of each native histogram; float samples
/// are ignored.
pub(crate) fn histogram_stat(
    ev: &mut Evaluator<'_>,
    name: &str,
    args: &[&Expr],
    steps: &Steps,
) -> Result<Vec<VSeries>, PromqlError> {
    let v = eval_vector(ev, args[0], steps)?;
    let f: fn(&FloatHistogram) -> f64 = match name {
        "histogram_count" => |h| h.count,
        "histogram_sum" => |h| h.sum,
        "histogram_avg" => stats::avg,
        "histogram_stddev" => stats::stddev,
        _ => stats::stdvar,
    };
    let mut out = Vec::new();
    for s in v {
        if s.hists.is_empty() {
            continue;
        }
        let vals: Vec<Option<f64>> = s.hists.iter().map(|h| h.as_deref().map(f)).collect();
        if vals.iter().any(Option::is_some) {
            out.push(VSeries {
                labels: s.labels,
                drop_name: true,
                vals,
                hists: Vec::new(),
            });
        }
    }
    Ok(out)
}

fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.trim().parse::<f64>().ok(),
    }
}

fn per_family(
    fam: &Families,
    v: &[VSeries],
    n: usize,
    mut f: impl FnMut(usize, usize, Vec<Bucket>) -> Option<f64>,
) -> Vec<VSeries> {
    let mut out: Vec<VSeries> = fam
        .labels
        .iter()
        .map(|l| VSeries {
            labels: l.clone(),
            drop_name: true,
            vals: vec![None; n],
            hists: Vec::new(),
        })
        .collect();
    let mut buckets: Vec<Vec<Bucket>> = vec![Vec::new(); fam.labels.len()];
    for i in 0..n {
        for b in buckets.iter_mut() {
            b.clear();
        }
        for (s, m) in v.iter().zip(&fam.member) {
            if let (Some((id, upper)), Some(c)) = (m, s.vals[i]) {
                buckets[*id].push(Bucket {
                    upper: *upper,
                    count: c,
                });
            }
        }
        for (id, b) in buckets.iter_mut().enumerate() {
            if fam.conflicts.contains(&(i, id)) {
                b.clear();
                continue;
            }
            if !b.is_empty() {
                out[id].vals[i] = f(i, id, std::mem::take(b));
            }
        }
    }
    out.retain(|s| s.vals.iter().any(Option::is_some));
    out
}

/// `histogram_quantile(q, buckets)`.
pub(crate) fn histogram_quantile(
    ev: &mut Evaluator<'_>,
    args: &[&Expr],
    steps: &Steps,
) -> Result<Vec<VSeries>, PromqlError> {
    let q = eval_scalar(ev, args[0], steps)?;
    let v = eval_vector(ev, args[1], steps)?;
    if let Some(bad) = q.iter().find(|q| q.is_nan() || **q < 0.0 || **q > 1.0) {
        ev.warn(
            args[0],
            &format!(
                "quantile value should be between 0 and 1, got {}",
                format_g(*bad)
            ),
        );
    }
    let mut fam = families(ev, args[1], &v);
    find_conflicts(ev, args[1], &mut fam, &v, steps.n);
    let mut estimates = Vec::new();
    let mut out = per_native(&fam, &v, steps.n, |i, name, h| {
        let e = stats::quantile(q[i], h);
        estimates.push((name.to_string(), e));
        e.value
    });
    for (name, e) in &estimates {
        note_estimate(ev, args[1], name, e);
    }
    let mut forced_names: Vec<String> = Vec::new();
    let classic = per_family(&fam, &v, steps.n, |i, id, b| {
        let (r, forced) = bucket_quantile(q[i], b);
        if forced {
            let name = fam.labels[id].metric_name().unwrap_or("").to_string();
            if !forced_names.contains(&name) {
                forced_names.push(name);
            }
        }
        Some(r)
    });
    for name in forced_names {
        let mut msg = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)".to_string();
        if !name.is_empty() {
            msg.push_str(&format!(" for metric name {}", go_quote(&name)));
        }
        ev.info(args[1], &msg);
    }
    out.extend(classic);
    super::labels::merge_same_labels(out)
}

/// `histogram_quantiles(buckets, "label", q1, q2, …)`: one series per
/// quantile, labelled with the quantile in OpenMetrics float format.
pub(crate) fn histogram_quantiles(
    ev: &mut Evaluator<'_>,
    args: &[&Expr],
    steps: &Steps,
) -> Result<Vec<VSeries>, PromqlError> {
    let v = eval_vector(ev, args[0], steps)?;
    let label = super::string_arg(args[1])?;
    let mut qs = Vec::new();
    for a in &args[2..] {
        let q = eval_scalar(ev, a, steps)?;
        if let Some(bad) = q.iter().find(|q| q.is_nan() || **q < 0.0 || **q > 1.0) {
            ev.warn(
                a,
                &format!(
                    "quantile value should be between 0 and 1, got {}",
                    format_g(*bad)
                ),
            );
        }
        qs.push(q);
    }
    let mut fam = families(ev, args[0], &v);
    find_conflicts(ev, args[0], &mut fam, &v, steps.n);
    let mut out = Vec::new();
    for q in &qs {
        let mut estimates = Vec::new();
        let mut part = per_native(&fam, &v, steps.n, |i, name, h| {
            let e = stats::quantile(q[i], h);
            estimates.push((name.to_string(), e));
            e.value
        });
        for (name, e) in &estimates {
            note_estimate(ev, args[0], name, e);
        }
        part.extend(per_family(&fam, &v, steps.n, |i, _, b| {
            Some(bucket_quantile(q[i], b).0)
        }));
        for s in &mut part {
            let mut b = s.labels.to_builder();
            b.set(&label, openmetrics_float(q[0]));
            s.labels = b
                .build()
                .map_err(|e| PromqlError::Execution(e.to_string()))?;
        }
        out.extend(part);
    }
    super::labels::merge_same_labels(out)
}

/// OpenMetrics float text: integers keep a `.0`.
fn openmetrics_float(f: f64) -> String {
    let s = crate::promql::value::format_float(f);
    if s.contains(['.', 'e', 'I', 'N']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// `histogram_fraction(lower, upper, buckets)`.
pub(crate) fn histogram_fraction(
    ev: &mut Evaluator<'_>,
    args: &[&Expr],
    steps: &Steps,
) -> Result<Vec<VSeries>, PromqlError> {
    let lo = eval_scalar(ev, args[0], steps)?;
    let hi = eval_scalar(ev, args[1], steps)?;
    let v = eval_vector(ev, args[2], steps)?;
    let mut fam = families(ev, args[2], &v);
    find_conflicts(ev, args[2], &mut fam, &v, steps.n);
    let mut estimates = Vec::new();
    let mut out = per_native(&fam, &v, steps.n, |i, name, h| {
        let e = stats::fraction(lo[i], hi[i], h);
        estimates.push((name.to_string(), e));
        e.value
    });
    for (name, e) in &estimates {
        note_estimate(ev, args[2], name, e);
    }
    out.extend(per_family(&fam, &v, steps.n, |i, _, b| {
        Some(bucket_fraction(lo[i], hi[i], b))
    }));
    super::labels::merge_same_labels(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[(f64, f64)]) -> Vec<Bucket> {
        v.iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    #[test]
    fn quantile_interpolates_within_bucket() {
        let bs = b(&[(0.1, 50.0), (0.5, 100.0), (f64::INFINITY, 100.0)]);
        let (q, forced) = bucket_quantile(0.75, bs);
        assert!((q - 0.3).abs() < 1e-12);
        assert!(!forced);
    }

    #[test]
    fn monotonicity_is_forced_and_reported() {
        let bs = b(&[(1.0, 10.0), (2.0, 5.0), (f64::INFINITY, 10.0)]);
        let (_, forced) = bucket_quantile(0.5, bs);
        assert!(forced);
    }

    #[test]
    fn fraction_below_bound() {
        let bs = b(&[(1.0, 50.0), (2.0, 100.0), (f64::INFINITY, 100.0)]);
        assert!((bucket_fraction(f64::NEG_INFINITY, 1.0, bs) - 0.5).abs() < 1e-12);
    }
}
