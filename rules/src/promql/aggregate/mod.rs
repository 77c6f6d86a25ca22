//! Aggregation operators with `by`/`without`.
//!
//! Group membership is computed once per series; each step then folds the
//! present values into per-group accumulators indexed by group id.
//!
//! Native histograms follow Prometheus 3.x's engine (`aggregation`,
//! `aggregationK` and `aggregationCountValues` in `promql/engine.go`):
//! `sum` and `avg` add them up (Kahan-compensated), `count` and `group`
//! count them, `count_values` uses their string form as the label value,
//! `limitk` and `limit_ratio` keep them, and `min`, `max`, `stddev`,
//! `stdvar`, `quantile`, `topk` and `bottomk` ignore them with an info
//! annotation.

mod reduce;
mod select;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use promql_parser::parser::token::{
    T_BOTTOMK, T_COUNT_VALUES, T_LIMIT_RATIO, T_LIMITK, T_QUANTILE, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, LabelModifier};
use warden_tsdb::Labels;

use super::PromqlError;
use super::eval::Evaluator;
use super::functions::math::quantile;
use super::hash::FxHashMap;
use super::parse::lexer::{Kind, tokenize};
use super::value::{Steps, VSeries, Val, format_float, format_g, go_quote};

/// The group labels of a series for this aggregation.
fn group_labels(l: &Labels, m: &Option<LabelModifier>) -> Labels {
    let keep = |name: &str| match m {
        None => false,
        Some(LabelModifier::Include(names)) => names.labels.iter().any(|x| x.as_str() == name),
        Some(LabelModifier::Exclude(names)) => {
            name != "__name__" && !names.labels.iter().any(|x| x.as_str() == name)
        }
    };
    let mut b = warden_tsdb::LabelsBuilder::new();
    for lab in l.iter().filter(|lab| keep(&lab.name)) {
        b.push(lab.name.as_str(), lab.value.as_str());
    }
    b.build().unwrap_or_default()
}

/// Assigns group ids; returns (group of each series, labels of each group).
///
/// The lookup key is the grouping labels' names and values joined into one
/// string, so label sets are only built once per group, not per series.
fn groups(v: &[VSeries], m: &Option<LabelModifier>) -> (Vec<usize>, Vec<Labels>) {
    let mut ids: FxHashMap<String, usize> = FxHashMap::default();
    let mut labels = Vec::new();
    let mut key = String::new();
    let gid = v
        .iter()
        .map(|s| {
            key.clear();
            for l in s.labels.iter() {
                let keep = match m {
                    None => false,
                    Some(LabelModifier::Include(names)) => {
                        names.labels.iter().any(|x| x.as_str() == l.name)
                    }
                    Some(LabelModifier::Exclude(names)) => {
                        l.name != "__name__" && !names.labels.iter().any(|x| x.as_str() == l.name)
                    }
                };
                if keep {
                    key.push_str(&l.name);
                    key.push('\u{ff}');
                    key.push_str(&l.value);
                    key.push('\u{ff}');
                }
            }
            match ids.get(key.as_str()) {
                Some(&g) => g,
                None => {
                    labels.push(group_labels(&s.labels, m));
                    ids.insert(key.clone(), labels.len() - 1);
                    labels.len() - 1
                }
            }
        })
        .collect();
    (gid, labels)
}

/// Prometheus's `NewHistogramIgnoredInAggregationInfo`.
fn ignored_histogram_msg(op_name: &str) -> String {
    format!("ignored histogram in {op_name} aggregation")
}

/// Prometheus's `NewMixedFloatsHistogramsAggWarning`.
const MIXED_FLOATS_HISTOGRAMS_MSG: &str =
    "encountered a mix of histograms and floats for aggregation";

/// Prometheus's `NewHistogramCounterResetCollisionWarning(_, HistogramAgg)`.
const COUNTER_RESET_COLLISION_MSG: &str = "conflicting counter resets during histogram aggregation";

/// Prometheus's `NewMismatchedCustomBucketsHistogramsInfo(_, HistogramAgg)`.
const NHCB_RECONCILED_MSG: &str = "mismatched custom buckets were reconciled during aggregation";

/// Prometheus's `NewMixedExponentialCustomHistogramsWarning`.
fn mixed_schemas_msg(metric_name: &str) -> String {
    format!(
        "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {}",
        go_quote(metric_name)
    )
}

/// The name of an aggregation operator as annotations spell it.
fn op_name(a: &AggregateExpr) -> String {
    a.op.to_string().to_lowercase()
}

/// Byte offset of the aggregation's own keyword (Prometheus's
/// `AggregateExpr.PosRange`, which `topk`/`bottomk` annotations point at).
///
/// Positions only know whole expression nodes, so the keyword is found as
/// the last live identifier spelling the operator before the operand (or
/// parameter): between the keyword and its first argument there is only a
/// `by (…)`/`without (…)` list, whose labels the lexer marks as dead, and
/// the opening parenthesis.
fn aggregation_pos(ev: &Evaluator<'_>, a: &AggregateExpr) -> usize {
    let anchor = match &a.param {
        Some(p) => ev.pos(p),
        None => ev.pos(&a.expr),
    };
    let name = op_name(a);
    tokenize(ev.src)
        .iter()
        .filter(|t| {
            t.start < anchor
                && t.kind == Kind::Ident
                && !t.skip
                && t.text(ev.src).eq_ignore_ascii_case(&name)
        })
        .map(|t| t.start)
        .next_back()
        .unwrap_or(anchor)
}

/// Evaluates an aggregation over the grid.
pub(crate) fn eval_aggregate(
    ev: &mut Evaluator<'_>,
    a: &AggregateExpr,
    steps: &Steps,
) -> Result<Val, PromqlError> {
    let op = a.op.id();
    let param = match &a.param {
        Some(p) => Some(ev.eval(p, steps)?),
        None => None,
    };
    let input = match ev.eval(&a.expr, steps)? {
        Val::Vector(v) => v,
        other => {
            return Err(PromqlError::Execution(format!(
                "expected instant vector in aggregation, got {}",
                other.type_name()
            )));
        }
    };
    let n = steps.n;
    let scalar_param = |p: &Option<Val>| -> Vec<f64> {
        match p {
            Some(Val::Scalar(s)) => s.clone(),
            _ => vec![f64::NAN; n],
        }
    };
    match op {
        T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => {
            let ps = scalar_param(&param);
            select::k_aggregate(ev, a, op, input, &ps, n).map(Val::Vector)
        }
        T_COUNT_VALUES => {
            let label = match &param {
                Some(Val::Str(s)) => s.clone(),
                _ => {
                    return Err(PromqlError::Execution(
                        "count_values needs a string parameter".into(),
                    ));
                }
            };
            count_values(a, &label, input, n).map(Val::Vector)
        }
        T_QUANTILE => {
            let qs = scalar_param(&param);
            quantile_aggregate(ev, a, &qs, input, n).map(Val::Vector)
        }
        _ => reduce::reduce(ev, op, a, input, n).map(Val::Vector),
    }
}

/// `quantile`: floats only; histograms are ignored with an info.
fn quantile_aggregate(
    ev: &mut Evaluator<'_>,
    a: &AggregateExpr,
    qs: &[f64],
    input: Vec<VSeries>,
    n: usize,
) -> Result<Vec<VSeries>, PromqlError> {
    if let Some(p) = &a.param
        && let Some(q) = qs.iter().find(|q| q.is_nan() || **q < 0.0 || **q > 1.0)
    {
        ev.warn(
            p,
            &format!(
                "quantile value should be between 0 and 1, got {}",
                format_g(*q)
            ),
        );
    }
    let (gid, glabels) = groups(&input, &a.modifier);
    let mut out = new_outputs(&glabels, &input, &gid, n);
    let mut vals: Vec<Vec<f64>> = vec![Vec::new(); glabels.len()];
    let mut ignored = false;
    for i in 0..n {
        if i % 64 == 0 {
            ev.limits.check_time()?;
        }
        for v in vals.iter_mut() {
            v.clear();
        }
        for (s, &g) in input.iter().zip(&gid) {
            if let Some(x) = s.vals[i] {
                vals[g].push(x);
            } else if s.hist(i).is_some() {
                ignored = true;
            }
        }
        for (g, v) in vals.iter_mut().enumerate() {
            if !v.is_empty() {
                out[g].vals[i] = Some(quantile(qs[i], v));
            }
        }
    }
    if ignored {
        ev.info(&a.expr, &ignored_histogram_msg("quantile"));
    }
    Ok(finish(out))
}

fn new_outputs(glabels: &[Labels], input: &[VSeries], gid: &[usize], n: usize) -> Vec<VSeries> {
    let mut out: Vec<VSeries> = glabels
        .iter()
        .map(|l| VSeries {
            labels: l.clone(),
            drop_name: false,
            vals: vec![None; n],
            hists: Vec::new(),
        })
        .collect();
    for (s, &g) in input.iter().zip(gid) {
        if s.drop_name {
            out[g].drop_name = true;
        }
    }
    out
}

fn finish(mut out: Vec<VSeries>) -> Vec<VSeries> {
    out.retain(VSeries::has_any_point);
    out
}

/// `count_values`: a float is counted under its shortest decimal form, a
/// histogram under its string form (Prometheus's `FloatHistogram.String()`).
fn count_values(
    a: &AggregateExpr,
    label: &str,
    input: Vec<VSeries>,
    n: usize,
) -> Result<Vec<VSeries>, PromqlError> {
    if label.is_empty() || label.contains('\u{0}') {
        return Err(PromqlError::Execution(format!(
            "invalid label name {label:?}"
        )));
    }
    let (gid, glabels) = groups(&input, &a.modifier);
    let mut out: Vec<VSeries> = Vec::new();
    let mut index: HashMap<(usize, String), usize> = HashMap::new();
    for i in 0..n {
        for (s, &g) in input.iter().zip(&gid) {
            let value = match (s.vals[i], s.hist(i)) {
                (Some(f), _) => format_float(f),
                (None, Some(h)) => h.to_string(),
                (None, None) => continue,
            };
            let key = (g, value);
            let idx = match index.get(&key) {
                Some(&k) => k,
                None => {
                    let mut b = glabels[g].to_builder();
                    b.set(label, key.1.clone());
                    let labels = b
                        .build()
                        .map_err(|e| PromqlError::Execution(e.to_string()))?;
                    out.push(VSeries {
                        labels,
                        drop_name: false,
                        vals: vec![None; n],
                        hists: Vec::new(),
                    });
                    index.insert(key, out.len() - 1);
                    out.len() - 1
                }
            };
            let slot = &mut out[idx].vals[i];
            *slot = Some(slot.unwrap_or(0.0) + 1.0);
        }
    }
    Ok(out)
}
