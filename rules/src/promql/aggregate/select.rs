//! `topk`, `bottomk`, `limitk` and `limit_ratio`: the result keeps some of
//! the input series as they are.
//!
//! As Prometheus's `aggregationK`: `topk` and `bottomk` rank floats only and
//! ignore histograms with an info pointing at the aggregation itself;
//! `limitk` and `limit_ratio` pick samples of either kind.

use promql_parser::parser::AggregateExpr;
use promql_parser::parser::token::{T_LIMIT_RATIO, T_LIMITK, T_TOPK};

use super::super::PromqlError;
use super::super::eval::Evaluator;
use super::super::hash::labels_hash;
use super::super::value::{VSeries, format_g};
use super::{aggregation_pos, groups, ignored_histogram_msg, op_name};

/// Clears every step of `s` that is not kept.
fn keep_only(s: &mut VSeries, keep: &[bool]) {
    for (i, &k) in keep.iter().enumerate() {
        if !k {
            s.vals[i] = None;
            s.set_hist(i, None);
        }
    }
}

/// topk, bottomk, limitk, limit_ratio: the result keeps the input series.
pub(super) fn k_aggregate(
    ev: &mut Evaluator<'_>,
    a: &AggregateExpr,
    op: u16,
    mut input: Vec<VSeries>,
    ps: &[f64],
    n: usize,
) -> Result<Vec<VSeries>, PromqlError> {
    let (gid, glabels) = groups(&input, &a.modifier);
    let ngroups = glabels.len();
    let mut keep = vec![vec![false; n]; input.len()];
    // Output order for instant queries: group by group, best first.
    let mut order: Vec<usize> = Vec::new();
    if op == T_LIMIT_RATIO {
        let mut warned = false;
        let hashes: Vec<f64> = input
            .iter()
            .map(|s| labels_hash(&s.labels) as f64 / u64::MAX as f64)
            .collect();
        for i in 0..n {
            let mut r = ps[i];
            if r.is_nan() {
                return Err(PromqlError::Execution("Ratio value is NaN".to_string()));
            }
            if !(-1.0..=1.0).contains(&r) {
                let capped = r.clamp(-1.0, 1.0);
                if !warned && let Some(p) = &a.param {
                    ev.warn(
                        p,
                        &format!(
                            "ratio value should be between -1 and 1, got {}, capping to {}",
                            format_g(r),
                            format_g(capped)
                        ),
                    );
                    warned = true;
                }
                r = capped;
            }
            for (k, s) in input.iter().enumerate() {
                if s.has_point(i) {
                    let off = hashes[k];
                    if (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r) {
                        keep[k][i] = true;
                    }
                }
            }
        }
        for (s, keep) in input.iter_mut().zip(&keep) {
            keep_only(s, keep);
        }
        input.retain(VSeries::has_any_point);
        return Ok(input);
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); ngroups];
    for (k, &g) in gid.iter().enumerate() {
        members[g].push(k);
    }
    let mut ignored_histogram = false;
    for i in 0..n {
        let kf = ps[i];
        if kf.is_nan() {
            return Err(PromqlError::Execution("Parameter value is NaN".to_string()));
        }
        if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&kf) {
            return Err(PromqlError::Execution(format!(
                "Scalar value {} overflows int64",
                format_g(kf)
            )));
        }
        let k = kf as i64;
        if k < 1 {
            continue;
        }
        let k = k as usize;
        for mem in &members {
            let chosen: Vec<usize> = if op == T_LIMITK {
                mem.iter()
                    .copied()
                    .filter(|&m| input[m].has_point(i))
                    .take(k)
                    .collect()
            } else {
                let top = op == T_TOPK;
                let mut sorted: Vec<usize> = Vec::with_capacity(mem.len());
                for &m in mem {
                    if input[m].vals[i].is_some() {
                        sorted.push(m);
                    } else if input[m].hist(i).is_some() {
                        ignored_histogram = true;
                    }
                }
                // Best first; NaN always last. Stable, so ties keep input order.
                sorted.sort_by(|&x, &y| {
                    let (a, b) = (
                        input[x].vals[i].unwrap_or(f64::NAN),
                        input[y].vals[i].unwrap_or(f64::NAN),
                    );
                    match (a.is_nan(), b.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ => {
                            if top {
                                b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal)
                            } else {
                                a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal)
                            }
                        }
                    }
                });
                sorted.truncate(k);
                sorted
            };
            for &c in &chosen {
                keep[c][i] = true;
                if n == 1 {
                    order.push(c);
                }
            }
        }
    }
    if ignored_histogram {
        let pos = aggregation_pos(ev, a);
        let msg = ignored_histogram_msg(&op_name(a));
        ev.annos.info(ev.src, pos, &msg);
    }
    for (s, keep) in input.iter_mut().zip(&keep) {
        keep_only(s, keep);
    }
    if n == 1 {
        let mut slots: Vec<Option<VSeries>> = input.into_iter().map(Some).collect();
        return Ok(order.into_iter().filter_map(|k| slots[k].take()).collect());
    }
    input.retain(VSeries::has_any_point);
    Ok(input)
}
