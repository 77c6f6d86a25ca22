//! Binary operators: arithmetic, comparisons (with and without `bool`),
//! set operators, the native-histogram trim operators `</` and `>/`, and
//! vector matching with `on`/`ignoring` and `group_left`/`group_right`.
//!
//! Matching signatures and result labels are computed once per series (or
//! per matched pair), never per step; steps only touch integer ids.
//!
//! Elements are floats or native histograms. What an operator does with
//! each combination follows Prometheus's `vectorElemBinop`: `+` and `-`
//! between histograms, `*` between a histogram and a float (either side),
//! `/` of a histogram by a float, `==`/`!=` between histograms, and the
//! trim of a histogram by a float; every other mix drops the element with
//! an info annotation.

use std::sync::Arc;

use promql_parser::label::Labels as PLabels;
use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB,
};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};
use warden_tsdb::{FloatHistogram, Labels, LabelsBuilder};

mod elem;
#[cfg(test)]
mod tests;

use elem::{Anno, Elem, Pt, clear_point, elem_binop, point, set_point};

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
    /// `</`: keep the observations below the bound.
    TrimUpper,
    /// `>/`: keep the observations above the bound.
    TrimLower,
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

    fn from_trim(t: Trim) -> Op {
        match t {
            Trim::Upper => Op::TrimUpper,
            Trim::Lower => Op::TrimLower,
        }
    }

    /// The operator as Prometheus spells it in messages.
    fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Mod => "%",
            Op::Pow => "^",
            Op::Atan2 => "atan2",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::And => "and",
            Op::Or => "or",
            Op::Unless => "unless",
            Op::TrimUpper => "</",
            Op::TrimLower => ">/",
        }
    }

    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }

    /// Prometheus's `changesMetricSchema`: the arithmetic operators, whose
    /// results lose the metric name (comparisons and trims keep it).
    fn changes_schema(self) -> bool {
        matches!(
            self,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod | Op::Pow | Op::Atan2
        )
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
        Op::And | Op::Or | Op::Unless | Op::TrimUpper | Op::TrimLower => (l, true),
    }
}

/// Evaluates a binary expression over the grid.
pub(crate) fn eval_binary(
    ev: &mut Evaluator<'_>,
    b: &BinaryExpr,
    steps: &Steps,
) -> Result<Val, PromqlError> {
    let trim = ev.positions.trim(b);
    let op = match trim {
        Some(t) => Op::from_trim(t),
        None => Op::from_token(b.op.id())
            .ok_or_else(|| PromqlError::Execution(format!("unknown binary operator {}", b.op)))?,
    };
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    let lhs = ev.eval(&b.lhs, steps)?;
    let rhs = ev.eval(&b.rhs, steps)?;
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) if trim.is_none() => Ok(Val::Scalar(
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
        (Val::Vector(v), Val::Scalar(s)) => Ok(Val::Vector(vector_scalar(
            ev,
            b,
            op,
            v,
            &s,
            false,
            return_bool,
        ))),
        (Val::Scalar(s), Val::Vector(v)) => Ok(Val::Vector(vector_scalar(
            ev,
            b,
            op,
            v,
            &s,
            true,
            return_bool,
        ))),
        (Val::Vector(l), Val::Vector(r)) => {
            let m = Matching::from_expr(b);
            if op.is_set() {
                Ok(Val::Vector(set_op(op, l, r, &m, steps.n)))
            } else {
                vector_vector(ev, b, op, l, r, &m, return_bool, steps.n).map(Val::Vector)
            }
        }
        (l, r) => Err(match trim {
            Some(t) => PromqlError::Execution(format!(
                "operator {:?} not allowed for {} and {} operands",
                t.symbol(),
                l.type_name(),
                r.type_name()
            )),
            None => PromqlError::Execution(format!(
                "binary expression must contain only scalar and instant vector types, got {} and {}",
                l.type_name(),
                r.type_name()
            )),
        }),
    }
}

/// Prometheus's `VectorscalarBinop`, over the whole grid. `swap` when the
/// scalar is the left operand. A comparison keeps the vector's element
/// whichever side it is on. Per step, the last element that could not be
/// computed is reported.
fn vector_scalar(
    ev: &mut Evaluator<'_>,
    b: &BinaryExpr,
    op: Op,
    mut v: Vec<VSeries>,
    s: &[f64],
    swap: bool,
    return_bool: bool,
) -> Vec<VSeries> {
    let drop = op.changes_schema() || return_bool;
    let n = s.len();
    let mut last: Vec<Option<Anno>> = Vec::new();
    for series in &mut v {
        let has_hists = !series.hists.is_empty();
        for i in 0..n {
            // Fast path: float with float.
            if !has_hists {
                let Some(x) = series.vals[i] else { continue };
                if !matches!(op, Op::TrimUpper | Op::TrimLower) {
                    let (l, r) = if swap { (s[i], x) } else { (x, s[i]) };
                    let (mut value, keep) = apply(op, l, r);
                    if op.is_comparison() {
                        if swap {
                            value = x;
                        }
                        if return_bool {
                            series.vals[i] = Some(if keep { 1.0 } else { 0.0 });
                            continue;
                        }
                        if !keep {
                            series.vals[i] = None;
                            continue;
                        }
                    }
                    series.vals[i] = Some(value);
                    continue;
                }
            }
            let Some(x) = point(series, i) else { continue };
            let scalar = Pt::F(s[i]);
            let e = if swap {
                elem_binop(op, &scalar, &x)
            } else {
                elem_binop(op, &x, &scalar)
            };
            if let Some(err) = e.err
                && !err.is_warning()
            {
                if last.is_empty() {
                    last = vec![None; n];
                }
                last[i] = Some(err);
                clear_point(series, i);
                continue;
            }
            let (mut f, mut h, mut keep) = (e.f, e.h, e.keep);
            if op.is_comparison() && swap {
                match &x {
                    Pt::F(v) => {
                        f = *v;
                        h = None;
                    }
                    Pt::H(_) => {
                        // Prometheus takes the (absent) histogram of the
                        // scalar side here; no histogram comparison with a
                        // float gets this far.
                        h = None;
                    }
                }
            }
            if return_bool {
                f = if keep { 1.0 } else { 0.0 };
                h = None;
                keep = true;
            }
            if keep {
                set_point(series, i, f, h);
            } else {
                clear_point(series, i);
            }
        }
        if drop {
            series.drop_name = true;
        }
    }
    for a in last.into_iter().flatten() {
        a.emit(ev, b, op);
    }
    v.retain(VSeries::has_any_point);
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

/// `and`, `or`, `unless`: elements (floats or histograms) pass unchanged;
/// matching looks only at whether the other side has an element.
fn set_op(op: Op, mut l: Vec<VSeries>, r: Vec<VSeries>, m: &Matching, n: usize) -> Vec<VSeries> {
    let (lsig, rsig, nsig) = sig_ids(m, &l, &r);
    // present[sig] == step + 1 when some series of the relevant side has a point there.
    let mut present = vec![0usize; nsig];
    match op {
        Op::And | Op::Unless => {
            for i in 0..n {
                for (s, &sig) in r.iter().zip(&rsig) {
                    if s.has_point(i) {
                        present[sig] = i + 1;
                    }
                }
                for (s, &sig) in l.iter_mut().zip(&lsig) {
                    let has = present[sig] == i + 1;
                    if (op == Op::And) != has {
                        clear_point(s, i);
                    }
                }
            }
            l.retain(VSeries::has_any_point);
            l
        }
        _ => {
            let mut r = r;
            for i in 0..n {
                for (s, &sig) in l.iter().zip(&lsig) {
                    if s.has_point(i) {
                        present[sig] = i + 1;
                    }
                }
                for (s, &sig) in r.iter_mut().zip(&rsig) {
                    if present[sig] == i + 1 {
                        clear_point(s, i);
                    }
                }
            }
            r.retain(VSeries::has_any_point);
            l.extend(r);
            l
        }
    }
}

/// Result label sets of matched pairs, interned, and the output series
/// made for them once an element is kept.
#[derive(Default)]
struct Outputs {
    out: Vec<VSeries>,
    /// Label set id of a pair (`usize::MAX` stands for a fill value).
    by_pair: FxHashMap<(usize, usize), usize>,
    by_labels: FxHashMap<Labels, usize>,
    /// Per label set: labels, drop_name, output index (`usize::MAX` until made).
    sets: Vec<(Labels, bool, usize)>,
    /// Per label set: step + 1 of the last element with these labels.
    seen: Vec<usize>,
}

impl Outputs {
    /// The label set id of a pair, computed on first use.
    fn label_set(&mut self, pair: (usize, usize), make: impl FnOnce() -> (Labels, bool)) -> usize {
        if let Some(&id) = self.by_pair.get(&pair) {
            return id;
        }
        let (labels, drop_name) = make();
        let id = match self.by_labels.get(&labels) {
            Some(&id) => id,
            None => {
                self.sets.push((labels.clone(), drop_name, usize::MAX));
                self.seen.push(0);
                self.by_labels.insert(labels, self.sets.len() - 1);
                self.sets.len() - 1
            }
        };
        self.by_pair.insert(pair, id);
        id
    }

    /// Stores an element under label set `id` at step `i`.
    fn put(&mut self, id: usize, i: usize, n: usize, f: f64, h: Option<Arc<FloatHistogram>>) {
        let (labels, drop_name, idx) = &mut self.sets[id];
        if *idx == usize::MAX {
            self.out.push(VSeries {
                labels: labels.clone(),
                drop_name: *drop_name,
                vals: vec![None; n],
                hists: Vec::new(),
            });
            *idx = self.out.len() - 1;
        }
        set_point(&mut self.out[*idx], i, f, h);
    }
}

const MULTIPLE_ONE_TO_ONE: &str =
    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)";
const MULTIPLE_GROUPING: &str =
    "multiple matches for labels: grouping labels must ensure unique matches";

/// Prometheus's `VectorBinop` (not set operators), over the whole grid.
/// Per step: nothing when a side is empty and no fill applies; an error when
/// the "one" side has two elements (float or histogram) of one match group;
/// then each element of the "many" side meets its partner (or the fill),
/// and finally, with a fill for the "many" side, each unmatched "one"
/// element meets the fill. An element operation that fails drops the pair
/// and does not count as a match; the last failure of the step is reported.
#[allow(clippy::too_many_arguments)]
fn vector_vector(
    ev: &mut Evaluator<'_>,
    b: &BinaryExpr,
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
    let mut outs = Outputs::default();
    let drop = op.changes_schema() || return_bool;
    let no_fill = m.fill_one.is_none() && m.fill_many.is_none();
    let mut annos: Vec<Anno> = Vec::new();
    for i in 0..n {
        if i % 64 == 0 {
            ev.limits.check_time()?;
        }
        let many_has = many.iter().any(|s| s.has_point(i));
        let one_has = one.iter().any(|s| s.has_point(i));
        if (!many_has && !one_has) || ((!many_has || !one_has) && no_fill) {
            continue;
        }
        for &s in &multi {
            let mut present: Vec<&VSeries> = one_by_sig[s]
                .iter()
                .map(|&k| &one[k])
                .filter(|x| x.has_point(i))
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
        let mut last: Option<Anno> = None;
        for (mi, ms) in many.iter().enumerate() {
            let Some(mv) = point(ms, i) else { continue };
            let sig = msig[mi];
            let partner = one_by_sig[sig]
                .iter()
                .copied()
                .find(|&k| one[k].has_point(i));
            let (oi, ov) = match partner {
                Some(oi) => match point(&one[oi], i) {
                    Some(p) => (oi, p),
                    None => continue,
                },
                None => match m.fill_one {
                    Some(f) => (usize::MAX, Pt::F(f)),
                    None => continue,
                },
            };
            let e = if swapped {
                elem_binop(op, &ov, &mv)
            } else {
                elem_binop(op, &mv, &ov)
            };
            if let Some(err) = e.err {
                last = Some(err);
                continue;
            }
            if e.info.is_some() {
                last = e.info;
            }
            // A pair with the fill value counts as a match too.
            if m.card == Card::OneToOne && matched_at[sig] == i + 1 {
                return Err(PromqlError::Execution(MULTIPLE_ONE_TO_ONE.into()));
            }
            matched_at[sig] = i + 1;
            let id = outs.label_set((mi, oi), || {
                let one_labels = if oi == usize::MAX {
                    Labels::empty()
                } else {
                    one[oi].labels.clone()
                };
                (
                    result_labels(&ms.labels, &one_labels, m),
                    ms.drop_name || drop,
                )
            });
            if outs.seen[id] == i + 1 {
                let msg = if m.card == Card::OneToOne {
                    MULTIPLE_ONE_TO_ONE
                } else {
                    MULTIPLE_GROUPING
                };
                return Err(PromqlError::Execution(msg.into()));
            }
            outs.seen[id] = i + 1;
            put_result(&mut outs, id, i, n, e, return_bool);
        }
        if let Some(fill) = m.fill_many {
            for (oi, os) in one.iter().enumerate() {
                let Some(ov) = point(os, i) else { continue };
                if matched_at[osig[oi]] == i + 1 {
                    continue;
                }
                let fv = Pt::F(fill);
                let e = if swapped {
                    elem_binop(op, &ov, &fv)
                } else {
                    elem_binop(op, &fv, &ov)
                };
                if let Some(err) = e.err {
                    last = Some(err);
                    continue;
                }
                if e.info.is_some() {
                    last = e.info;
                }
                // Several "one" series of a match group would be a duplicate error above.
                matched_at[osig[oi]] = i + 1;
                let id = outs.label_set((usize::MAX, oi), || (m.match_labels(&os.labels), drop));
                outs.seen[id] = i + 1;
                put_result(&mut outs, id, i, n, e, return_bool);
            }
        }
        if let Some(a) = last
            && !annos.contains(&a)
        {
            annos.push(a);
        }
    }
    for a in annos {
        a.emit(ev, b, op);
    }
    let out = outs.out;
    ev.limits.add(out.iter().map(VSeries::point_count).sum())?;
    Ok(out)
}

/// Stores the result of a matched pair: `bool` turns it into 1 or 0, a
/// comparison that does not hold leaves nothing.
fn put_result(outs: &mut Outputs, id: usize, i: usize, n: usize, e: Elem, return_bool: bool) {
    if return_bool {
        outs.put(id, i, n, if e.keep { 1.0 } else { 0.0 }, None);
    } else if e.keep {
        outs.put(id, i, n, e.f, e.h);
    }
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
