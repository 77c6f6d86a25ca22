//! Binary operators: arithmetic, comparisons (with and without `bool`),
//! set operators, and vector matching with `on`/`ignoring` and
//! `group_left`/`group_right`.
//!
//! Matching signatures and result labels are computed once per series (or
//! per matched pair), never per step; steps only touch integer ids.

use promql_parser::label::Labels as PLabels;
use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB,
};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};
use warden_tsdb::{Labels, LabelsBuilder};

use super::PromqlError;
use super::eval::Evaluator;
use super::hash::FxHashMap;
use super::parse::Trim;
use super::value::{Steps, VSeries, Val, labels_to_go_string};

/// The operators, decoded once from the parser's token ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    fn from_token(id: u16) -> Option<Op> {
        Some(match id {
            T_ADD => Op::Add,
            T_SUB => Op::Sub,
            T_MUL => Op::Mul,
            T_DIV => Op::Div,
            T_MOD => Op::Mod,
            T_POW => Op::Pow,
            T_ATAN2 => Op::Atan2,
            T_EQLC => Op::Eq,
            T_NEQ => Op::Ne,
            T_GTR => Op::Gt,
            T_LSS => Op::Lt,
            T_GTE => Op::Ge,
            T_LTE => Op::Le,
            T_LAND => Op::And,
            T_LOR => Op::Or,
            T_LUNLESS => Op::Unless,
            _ => return None,
        })
    }

    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }
}

/// `l op r` for floats: the value and whether a comparison holds.
fn apply(op: Op, l: f64, r: f64) -> (f64, bool) {
    match op {
        Op::Add => (l + r, true),
        Op::Sub => (l - r, true),
        Op::Mul => (l * r, true),
        Op::Div => (l / r, true),
        Op::Mod => (l % r, true),
        Op::Pow => (l.powf(r), true),
        Op::Atan2 => (l.atan2(r), true),
        Op::Eq => (l, l == r),
        Op::Ne => (l, l != r),
        Op::Gt => (l, l > r),
        Op::Lt => (l, l < r),
        Op::Ge => (l, l >= r),
        Op::Le => (l, l <= r),
        Op::And | Op::Or | Op::Unless => (l, true),
    }
}

/// Evaluates a binary expression over the grid.
pub(crate) fn eval_binary(
    ev: &mut Evaluator<'_>,
    b: &BinaryExpr,
    steps: &Steps,
) -> Result<Val, PromqlError> {
    let op = Op::from_token(b.op.id())
        .ok_or_else(|| PromqlError::Execution(format!("unknown binary operator {}", b.op)))?;
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    let lhs = ev.eval(&b.lhs, steps)?;
    let rhs = ev.eval(&b.rhs, steps)?;
    if let Some(trim) = ev.positions.trim(b) {
        return eval_trim(ev, b, trim, lhs, rhs, steps);
    }
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
            l.iter()
                .zip(r.iter())
                .map(|(&a, &c)| {
                    let (v, keep) = apply(op, a, c);
                    if op.is_comparison() {
                        if keep { 1.0 } else { 0.0 }
                    } else {
                        v
                    }
                })
                .collect(),
        )),
        (Val::Vector(v), Val::Scalar(s)) => {
            Ok(Val::Vector(vector_scalar(op, v, &s, false, return_bool)))
        }
        (Val::Scalar(s), Val::Vector(v)) => {
            Ok(Val::Vector(vector_scalar(op, v, &s, true, return_bool)))
        }
        (Val::Vector(l), Val::Vector(r)) => {
            let m = Matching::from_expr(b);
            if op.is_set() {
                Ok(Val::Vector(set_op(op, l, r, &m, steps.n)))
            } else {
                vector_vector(ev, op, l, r, &m, return_bool, steps.n).map(Val::Vector)
            }
        }
        (l, r) => Err(PromqlError::Execution(format!(
            "binary expression must contain only scalar and instant vector types, got {} and {}",
            l.type_name(),
            r.type_name()
        ))),
    }
}

/// `</` and `>/` trim the buckets of native histograms. warden holds float
/// samples only, and Prometheus drops every float pair these operators
/// meet with an info; so the result is empty, and the info is raised when
/// at least one pair of elements met (after vector matching, whose errors
/// still apply).
fn eval_trim(
    ev: &mut Evaluator<'_>,
    b: &BinaryExpr,
    trim: Trim,
    lhs: Val,
    rhs: Val,
    steps: &Steps,
) -> Result<Val, PromqlError> {
    let has_point = |v: &[VSeries]| v.iter().any(|s| s.vals.iter().any(Option::is_some));
    let met = match (lhs, rhs) {
        (Val::Vector(v), Val::Scalar(_)) | (Val::Scalar(_), Val::Vector(v)) => has_point(&v),
        (Val::Vector(l), Val::Vector(r)) => {
            let m = Matching::from_expr(b);
            has_point(&vector_vector(ev, Op::Lt, l, r, &m, true, steps.n)?)
        }
        (l, r) => {
            return Err(PromqlError::Execution(format!(
                "operator {:?} not allowed for {} and {} operands",
                trim.symbol(),
                l.type_name(),
                r.type_name()
            )));
        }
    };
    if met {
        let op = trim.symbol();
        ev.info(
            &b.lhs,
            &format!(
                "incompatible sample types encountered for binary operator {op:?}: float {op} float"
            ),
        );
    }
    Ok(Val::Vector(Vec::new()))
}

fn vector_scalar(
    op: Op,
    mut v: Vec<VSeries>,
    s: &[f64],
    swap: bool,
    return_bool: bool,
) -> Vec<VSeries> {
    let drop = !op.is_comparison() || return_bool;
    for series in &mut v {
        for (i, slot) in series.vals.iter_mut().enumerate() {
            let Some(x) = *slot else { continue };
            let (l, r) = if swap { (s[i], x) } else { (x, s[i]) };
            let (mut value, keep) = apply(op, l, r);
            if op.is_comparison() {
                if swap {
                    value = x;
                }
                if return_bool {
                    *slot = Some(if keep { 1.0 } else { 0.0 });
                    continue;
                }
                if !keep {
                    *slot = None;
                    continue;
                }
            }
            *slot = Some(value);
        }
        if drop {
            series.drop_name = true;
        }
    }
    v.retain(|s| s.vals.iter().any(Option::is_some));
    v
}

/// The matching clause of a binary expression.
struct Matching {
    /// `fill_right`: value of the "one" side where a "many" series has no match.
    fill_one: Option<f64>,
    /// `fill_left`: value of the "many" side where a "one" series has no match.
    fill_many: Option<f64>,
    on: bool,
    names: Vec<String>,
    card: Card,
    include: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
}

fn plabels(l: &PLabels) -> Vec<String> {
    l.labels.iter().map(|s| s.to_string()).collect()
}

impl Matching {
    fn from_expr(b: &BinaryExpr) -> Matching {
        let Some(m) = &b.modifier else {
            return Matching {
                fill_one: None,
                fill_many: None,
                on: false,
                names: Vec::new(),
                card: Card::OneToOne,
                include: Vec::new(),
            };
        };
        let (on, names) = match &m.matching {
            Some(LabelModifier::Include(l)) => (true, plabels(l)),
            Some(LabelModifier::Exclude(l)) => (false, plabels(l)),
            None => (false, Vec::new()),
        };
        let (card, include) = match &m.card {
            VectorMatchCardinality::ManyToOne(l) => (Card::ManyToOne, plabels(l)),
            VectorMatchCardinality::OneToMany(l) => (Card::OneToMany, plabels(l)),
            _ => (Card::OneToOne, Vec::new()),
        };
        Matching {
            fill_one: m.fill_values.rhs,
            fill_many: m.fill_values.lhs,
            on,
            names,
            card,
            include,
        }
    }

    /// The matching signature of a label set.
    fn signature(&self, l: &Labels) -> String {
        let mut s = String::new();
        for lab in l.iter() {
            let listed = self.names.iter().any(|n| n == &lab.name);
            let used = if self.on {
                listed
            } else {
                !listed && lab.name != "__name__"
            };
            if used {
                s.push_str(&lab.name);
                s.push('\u{ff}');
                s.push_str(&lab.value);
                s.push('\u{ff}');
            }
        }
        s
    }

    /// The labels a signature is made of, for error messages.
    fn match_labels(&self, l: &Labels) -> Labels {
        let mut b = l.to_builder();
        if self.on {
            b.retain(|n| self.names.iter().any(|x| x == n));
        } else {
            b.retain(|n| n != "__name__" && !self.names.iter().any(|x| x == n));
        }
        b.build().unwrap_or_default()
    }
}

/// Signature ids for both sides.
fn sig_ids(m: &Matching, l: &[VSeries], r: &[VSeries]) -> (Vec<usize>, Vec<usize>, usize) {
    let mut ids: FxHashMap<String, usize> = FxHashMap::default();
    let mut get = |s: &VSeries| {
        let sig = m.signature(&s.labels);
        let n = ids.len();
        *ids.entry(sig).or_insert(n)
    };
    let li: Vec<usize> = l.iter().map(&mut get).collect();
    let ri: Vec<usize> = r.iter().map(&mut get).collect();
    let n = ids.len();
    (li, ri, n)
}

fn set_op(op: Op, mut l: Vec<VSeries>, r: Vec<VSeries>, m: &Matching, n: usize) -> Vec<VSeries> {
    let (lsig, rsig, nsig) = sig_ids(m, &l, &r);
    // present[sig] == step + 1 when some series of the relevant side has a point there.
    let mut present = vec![0usize; nsig];
    match op {
        Op::And | Op::Unless => {
            for i in 0..n {
                for (s, &sig) in r.iter().zip(&rsig) {
                    if s.vals[i].is_some() {
                        present[sig] = i + 1;
                    }
                }
                for (s, &sig) in l.iter_mut().zip(&lsig) {
                    let has = present[sig] == i + 1;
                    if (op == Op::And) != has {
                        s.vals[i] = None;
                    }
                }
            }
            l.retain(|s| s.vals.iter().any(Option::is_some));
            l
        }
        _ => {
            let mut r = r;
            for i in 0..n {
                for (s, &sig) in l.iter().zip(&lsig) {
                    if s.vals[i].is_some() {
                        present[sig] = i + 1;
                    }
                }
                for (s, &sig) in r.iter_mut().zip(&rsig) {
                    if present[sig] == i + 1 {
                        s.vals[i] = None;
                    }
                }
            }
            r.retain(|s| s.vals.iter().any(Option::is_some));
            l.extend(r);
            l
        }
    }
}

fn vector_vector(
    ev: &mut Evaluator<'_>,
    op: Op,
    l: Vec<VSeries>,
    r: Vec<VSeries>,
    m: &Matching,
    return_bool: bool,
    n: usize,
) -> Result<Vec<VSeries>, PromqlError> {
    let swapped = m.card == Card::OneToMany;
    let (many, one) = if swapped { (r, l) } else { (l, r) };
    let (msig, osig, nsig) = sig_ids(m, &many, &one);
    let mut one_by_sig: Vec<Vec<usize>> = vec![Vec::new(); nsig];
    for (idx, &s) in osig.iter().enumerate() {
        one_by_sig[s].push(idx);
    }
    let multi: Vec<usize> = (0..nsig).filter(|&s| one_by_sig[s].len() > 1).collect();
    let mut matched_at = vec![0usize; nsig];
    let mut out: Vec<VSeries> = Vec::new();
    let mut out_by_pair: FxHashMap<(usize, usize), usize> = FxHashMap::default();
    let mut out_by_labels: FxHashMap<Labels, usize> = FxHashMap::default();
    let mut label_seen: Vec<usize> = Vec::new();
    let drop = !op.is_comparison() || return_bool;
    for i in 0..n {
        if i % 64 == 0 {
            ev.limits.check_time()?;
        }
        for &s in &multi {
            let mut present: Vec<&VSeries> = one_by_sig[s]
                .iter()
                .map(|&k| &one[k])
                .filter(|x| x.vals[i].is_some())
                .collect();
            if present.len() > 1 {
                present.sort_by(|a, b| a.labels.cmp(&b.labels));
                return Err(PromqlError::Execution(format!(
                    "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    labels_to_go_string(&m.match_labels(&present[0].labels)),
                    if swapped { "left" } else { "right" },
                    labels_to_go_string(&present[0].labels),
                    labels_to_go_string(&present[1].labels),
                )));
            }
        }
        for (mi, ms) in many.iter().enumerate() {
            let Some(mv) = ms.vals[i] else { continue };
            let sig = msig[mi];
            let partner = one_by_sig[sig]
                .iter()
                .copied()
                .find(|&k| one[k].vals[i].is_some());
            let (oi, ov) = match partner {
                Some(oi) => (oi, one[oi].vals[i].unwrap_or(f64::NAN)),
                None => match m.fill_one {
                    Some(f) => (usize::MAX, f),
                    None => continue,
                },
            };
            if oi != usize::MAX {
                if m.card == Card::OneToOne && matched_at[sig] == i + 1 {
                    return Err(PromqlError::Execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                    ));
                }
                matched_at[sig] = i + 1;
            }
            let (lv, rv) = if swapped { (ov, mv) } else { (mv, ov) };
            let Some(value) = combine(op, lv, rv, return_bool) else {
                continue;
            };
            let idx = output_for(
                &mut out,
                &mut out_by_pair,
                &mut out_by_labels,
                &mut label_seen,
                (mi, oi),
                n,
                || {
                    let one_labels = if oi == usize::MAX {
                        Labels::empty()
                    } else {
                        one[oi].labels.clone()
                    };
                    (
                        result_labels(&ms.labels, &one_labels, m),
                        ms.drop_name || drop,
                    )
                },
            );
            if label_seen[idx] == i + 1 {
                let msg = if m.card == Card::OneToOne {
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                } else {
                    "multiple matches for labels: grouping labels must ensure unique matches"
                };
                return Err(PromqlError::Execution(msg.into()));
            }
            label_seen[idx] = i + 1;
            out[idx].vals[i] = Some(value);
        }
        if let Some(fill) = m.fill_many {
            for (oi, os) in one.iter().enumerate() {
                let Some(ov) = os.vals[i] else { continue };
                if matched_at[osig[oi]] == i + 1 {
                    continue;
                }
                // Several "one" series of a match group would be a duplicate error above.
                matched_at[osig[oi]] = i + 1;
                let (lv, rv) = if swapped { (ov, fill) } else { (fill, ov) };
                let Some(value) = combine(op, lv, rv, return_bool) else {
                    continue;
                };
                let idx = output_for(
                    &mut out,
                    &mut out_by_pair,
                    &mut out_by_labels,
                    &mut label_seen,
                    (usize::MAX, oi),
                    n,
                    || (m.match_labels(&os.labels), drop),
                );
                label_seen[idx] = i + 1;
                out[idx].vals[i] = Some(value);
            }
        }
    }
    ev.limits
        .add(out.iter().map(|s| s.vals.iter().flatten().count()).sum())?;
    Ok(out)
}

/// The value of one matched pair, or `None` when a comparison filters it out.
fn combine(op: Op, lv: f64, rv: f64, return_bool: bool) -> Option<f64> {
    let (value, keep) = apply(op, lv, rv);
    if !op.is_comparison() {
        return Some(value);
    }
    if return_bool {
        return Some(if keep { 1.0 } else { 0.0 });
    }
    keep.then_some(value)
}

/// The output series of a matched pair, created on first use.
#[allow(clippy::too_many_arguments)]
fn output_for(
    out: &mut Vec<VSeries>,
    by_pair: &mut FxHashMap<(usize, usize), usize>,
    by_labels: &mut FxHashMap<Labels, usize>,
    seen: &mut Vec<usize>,
    pair: (usize, usize),
    n: usize,
    make: impl FnOnce() -> (Labels, bool),
) -> usize {
    if let Some(&idx) = by_pair.get(&pair) {
        return idx;
    }
    let (labels, drop_name) = make();
    let idx = match by_labels.get(&labels) {
        Some(&idx) => idx,
        None => {
            out.push(VSeries {
                labels: labels.clone(),
                drop_name,
                vals: vec![None; n],
                hists: Vec::new(),
            });
            seen.push(0);
            by_labels.insert(labels, out.len() - 1);
            out.len() - 1
        }
    };
    by_pair.insert(pair, idx);
    idx
}

/// Prometheus's `resultMetric`: the many side's labels, reduced to the
/// matching labels for one-to-one `on`, without the ignored ones for
/// `ignoring`, plus the `group_x(...)` labels taken from the one side.
fn result_labels(many: &Labels, one: &Labels, m: &Matching) -> Labels {
    let mut b: LabelsBuilder = many.to_builder();
    if m.card == Card::OneToOne {
        if m.on {
            b.retain(|n| m.names.iter().any(|x| x == n));
        } else {
            b.retain(|n| !m.names.iter().any(|x| x == n));
        }
    }
    for name in &m.include {
        match one.get(name) {
            Some(v) => {
                b.set(name, v);
            }
            None => {
                b.remove(name);
            }
        }
    }
    b.build().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_keeps_left_value() {
        assert_eq!(apply(Op::Gt, 3.0, 1.0), (3.0, true));
        assert_eq!(apply(Op::Lt, 3.0, 1.0), (3.0, false));
        assert!(apply(Op::Mod, 1.0, 0.0).0.is_nan());
    }

    #[test]
    fn vector_scalar_comparison_keeps_vector_value() {
        let v = vec![VSeries {
            labels: Labels::from_pairs([("__name__", "x")]).unwrap(),
            drop_name: false,
            vals: vec![Some(5.0), Some(1.0)],
            hists: Vec::new(),
        }];
        let out = vector_scalar(Op::Lt, v, &[2.0, 2.0], true, false);
        assert_eq!(out[0].vals, [Some(5.0), None]);
        assert!(!out[0].drop_name);
    }
}
