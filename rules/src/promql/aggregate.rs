//! Aggregation operators with `by`/`without`.
//!
//! Group membership is computed once per series; each step then folds the
//! present values into per-group accumulators indexed by group id.

use std::collections::HashMap;

use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_LIMIT_RATIO, T_LIMITK, T_MAX, T_MIN,
    T_QUANTILE, T_STDDEV, T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, LabelModifier};
use warden_tsdb::Labels;

use super::PromqlError;
use super::eval::Evaluator;
use super::functions::math::{kahan_inc, quantile};
use super::hash::{FxHashMap, labels_hash};
use super::value::{Steps, VSeries, Val, format_float, format_g};

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

#[derive(Clone, Copy, Default)]
struct Acc {
    seen: bool,
    count: f64,
    value: f64,
    c: f64,
    mean: f64,
    incremental: bool,
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
            k_aggregate(ev, a, op, input, &ps, n).map(Val::Vector)
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
            for i in 0..n {
                for v in vals.iter_mut() {
                    v.clear();
                }
                for (s, &g) in input.iter().zip(&gid) {
                    if let Some(x) = s.vals[i] {
                        vals[g].push(x);
                    }
                }
                for (g, v) in vals.iter_mut().enumerate() {
                    if !v.is_empty() {
                        out[g].vals[i] = Some(quantile(qs[i], v));
                    }
                }
            }
            Ok(Val::Vector(finish(out)))
        }
        _ => simple(ev, op, a, input, n).map(Val::Vector),
    }
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
    out.retain(|s| s.vals.iter().any(Option::is_some));
    out
}

/// sum, avg, count, min, max, group, stddev, stdvar.
fn simple(
    ev: &Evaluator<'_>,
    op: u16,
    a: &AggregateExpr,
    input: Vec<VSeries>,
    n: usize,
) -> Result<Vec<VSeries>, PromqlError> {
    let (gid, glabels) = groups(&input, &a.modifier);
    let mut out = new_outputs(&glabels, &input, &gid, n);
    let mut acc = vec![Acc::default(); glabels.len()];
    for i in 0..n {
        if i % 64 == 0 {
            ev.limits.check_time()?;
        }
        acc.iter_mut().for_each(|x| *x = Acc::default());
        for (s, &g) in input.iter().zip(&gid) {
            let Some(f) = s.vals[i] else { continue };
            let x = &mut acc[g];
            if !x.seen {
                *x = Acc {
                    seen: true,
                    count: 1.0,
                    value: f,
                    c: 0.0,
                    mean: f,
                    incremental: false,
                };
                if op == T_STDDEV || op == T_STDVAR {
                    x.value = 0.0;
                }
                continue;
            }
            x.count += 1.0;
            match op {
                T_SUM => {
                    let (v, c) = kahan_inc(f, x.value, x.c);
                    x.value = v;
                    x.c = c;
                }
                T_AVG => {
                    if !x.incremental {
                        let (v, c) = kahan_inc(f, x.value, x.c);
                        if !v.is_infinite() {
                            x.value = v;
                            x.c = c;
                            continue;
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
                T_MIN if x.value > f || x.value.is_nan() => x.value = f,
                T_MAX if x.value < f || x.value.is_nan() => x.value = f,
                T_STDDEV | T_STDVAR => {
                    let delta = f - x.mean;
                    x.mean += delta / x.count;
                    x.value += delta * (f - x.mean);
                }
                _ => {}
            }
        }
        for (g, x) in acc.iter().enumerate() {
            if !x.seen {
                continue;
            }
            let v = match op {
                T_SUM => {
                    if x.value.is_infinite() {
                        x.value
                    } else {
                        x.value + x.c
                    }
                }
                T_AVG => {
                    if x.incremental {
                        x.mean + x.c
                    } else {
                        x.value / x.count + x.c / x.count
                    }
                }
                T_COUNT => x.count,
                T_GROUP => 1.0,
                T_STDVAR => x.value / x.count,
                T_STDDEV => (x.value / x.count).sqrt(),
                _ => x.value,
            };
            out[g].vals[i] = Some(v);
        }
    }
    Ok(finish(out))
}

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
            let Some(f) = s.vals[i] else { continue };
            let key = (g, format_float(f));
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

/// topk, bottomk, limitk, limit_ratio: the result keeps the input series.
fn k_aggregate(
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
                if s.vals[i].is_some() {
                    let off = hashes[k];
                    if (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r) {
                        keep[k][i] = true;
                    }
                }
            }
        }
        for (k, s) in input.iter_mut().enumerate() {
            for i in 0..n {
                if !keep[k][i] {
                    s.vals[i] = None;
                }
            }
        }
        input.retain(|s| s.vals.iter().any(Option::is_some));
        return Ok(input);
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); ngroups];
    for (k, &g) in gid.iter().enumerate() {
        members[g].push(k);
    }
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
            let present: Vec<usize> = mem
                .iter()
                .copied()
                .filter(|&m| input[m].vals[i].is_some())
                .collect();
            let chosen: Vec<usize> = if op == T_LIMITK {
                present.into_iter().take(k).collect()
            } else {
                let top = op == T_TOPK;
                let mut sorted = present;
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
    for (k, s) in input.iter_mut().enumerate() {
        for i in 0..n {
            if !keep[k][i] {
                s.vals[i] = None;
            }
        }
    }
    if n == 1 {
        let mut slots: Vec<Option<VSeries>> = input.into_iter().map(Some).collect();
        return Ok(order.into_iter().filter_map(|k| slots[k].take()).collect());
    }
    input.retain(|s| s.vals.iter().any(Option::is_some));
    Ok(input)
}
