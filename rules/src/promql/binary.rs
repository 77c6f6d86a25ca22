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
use warden_tsdb::histogram::{Bucket, HistogramError};
use warden_tsdb::{CounterResetHint, FloatHistogram, Labels, LabelsBuilder};

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

/// One element of an instant vector at one step.
#[derive(Debug, Clone)]
enum Pt {
    F(f64),
    H(Arc<FloatHistogram>),
}

impl Pt {
    fn type_name(&self) -> &'static str {
        match self {
            Pt::F(_) => "float",
            Pt::H(_) => "histogram",
        }
    }
}

/// The element of series `s` at step `i`, if it has one.
fn point(s: &VSeries, i: usize) -> Option<Pt> {
    if let Some(f) = s.vals[i] {
        return Some(Pt::F(f));
    }
    s.hist(i).map(|h| Pt::H(h.clone()))
}

/// Removes the element of series `s` at step `i`.
fn clear_point(s: &mut VSeries, i: usize) {
    s.vals[i] = None;
    if let Some(h) = s.hists.get_mut(i) {
        *h = None;
    }
}

/// Sets the element of series `s` at step `i`.
fn set_point(s: &mut VSeries, i: usize, f: f64, h: Option<Arc<FloatHistogram>>) {
    match h {
        Some(h) => s.set_hist(i, Some(h)),
        None => {
            if let Some(slot) = s.hists.get_mut(i) {
                *slot = None;
            }
            s.vals[i] = Some(f);
        }
    }
}

/// An annotation an element operation raises (Prometheus returns these as
/// the `info` and `err` results of `vectorElemBinop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anno {
    /// The operator does not apply to this combination of sample types.
    Types {
        lhs: &'static str,
        rhs: &'static str,
    },
    /// Adding or subtracting histograms whose hints say "reset" and "not reset".
    Collision { sub: bool },
    /// Custom-bucket histograms with different bounds were reconciled.
    Reconciled { sub: bool },
    /// An exponential and a custom-bucket histogram met.
    Layout,
    /// Any other histogram error: the element is dropped without a word.
    Silent,
}

fn operation(sub: bool) -> &'static str {
    if sub { "subtraction" } else { "addition" }
}

impl Anno {
    fn from_error(e: &HistogramError) -> Anno {
        if matches!(e, HistogramError::IncompatibleSchema) {
            Anno::Layout
        } else {
            Anno::Silent
        }
    }

    /// Whether Prometheus raises it as a warning (else an info).
    fn is_warning(self) -> bool {
        matches!(self, Anno::Collision { .. } | Anno::Layout)
    }

    /// Adds the annotation, positioned at the binary expression, as
    /// Prometheus's `handleVectorBinopError` does.
    fn emit(self, ev: &mut Evaluator<'_>, b: &BinaryExpr, op: Op) {
        let sym = op.symbol();
        let msg = match self {
            Anno::Types { lhs, rhs } => format!(
                "incompatible sample types encountered for binary operator {sym:?}: {lhs} {sym} {rhs}"
            ),
            Anno::Collision { sub } => {
                format!(
                    "conflicting counter resets during histogram {}",
                    operation(sub)
                )
            }
            Anno::Reconciled { sub } => format!(
                "mismatched custom buckets were reconciled during {}",
                operation(sub)
            ),
            Anno::Layout => {
                format!("incompatible bucket layout encountered for binary operator {sym}")
            }
            Anno::Silent => return,
        };
        if self.is_warning() {
            ev.warn(&b.lhs, &msg);
        } else {
            ev.info(&b.lhs, &msg);
        }
    }
}

/// The outcome of one element operation (Prometheus's `vectorElemBinop`):
/// a float or a histogram, whether a comparison keeps it, an info to report
/// with a kept element, or an error (itself usually an annotation) that
/// drops the element.
struct Elem {
    f: f64,
    h: Option<Arc<FloatHistogram>>,
    keep: bool,
    info: Option<Anno>,
    err: Option<Anno>,
}

impl Elem {
    fn float(f: f64, keep: bool) -> Elem {
        Elem {
            f,
            h: None,
            keep,
            info: None,
            err: None,
        }
    }

    fn hist(h: FloatHistogram) -> Elem {
        Elem {
            f: 0.0,
            h: Some(Arc::new(h)),
            keep: true,
            info: None,
            err: None,
        }
    }

    fn failed(err: Anno) -> Elem {
        Elem {
            f: 0.0,
            h: None,
            keep: false,
            info: None,
            err: Some(err),
        }
    }

    fn incompatible(l: &Pt, r: &Pt) -> Elem {
        Elem::failed(Anno::Types {
            lhs: l.type_name(),
            rhs: r.type_name(),
        })
    }
}

/// `l op r` for one pair of elements (not for set operators).
fn elem_binop(op: Op, l: &Pt, r: &Pt) -> Elem {
    match (l, r) {
        (Pt::F(a), Pt::F(b)) => match op {
            Op::TrimUpper | Op::TrimLower => Elem::incompatible(l, r),
            _ => {
                let (v, keep) = apply(op, *a, *b);
                Elem::float(v, keep)
            }
        },
        (Pt::F(a), Pt::H(h)) => match op {
            Op::Mul => {
                let mut out = FloatHistogram::clone(h);
                out.mul(*a).compact(0);
                Elem::hist(out)
            }
            _ => Elem::incompatible(l, r),
        },
        (Pt::H(h), Pt::F(b)) => match op {
            Op::Mul => {
                let mut out = FloatHistogram::clone(h);
                out.mul(*b).compact(0);
                Elem::hist(out)
            }
            Op::Div => {
                let mut out = FloatHistogram::clone(h);
                out.div(*b).compact(0);
                Elem::hist(out)
            }
            Op::TrimUpper | Op::TrimLower => {
                let mut out = FloatHistogram::clone(h);
                trim_histogram(&mut out, *b, op == Op::TrimUpper);
                Elem::hist(out)
            }
            _ => Elem::incompatible(l, r),
        },
        (Pt::H(hl), Pt::H(hr)) => match op {
            Op::Add | Op::Sub => {
                let sub = op == Op::Sub;
                let mut out = FloatHistogram::clone(hl);
                let outcome = if sub { out.sub(hr) } else { out.add(hr) };
                let outcome = match outcome {
                    Ok(o) => o,
                    Err(e) => return Elem::failed(Anno::from_error(&e)),
                };
                if sub {
                    // The difference of two histograms is a gauge.
                    out.counter_reset_hint = CounterResetHint::Gauge;
                }
                out.compact(0);
                let mut e = Elem::hist(out);
                if outcome.counter_reset_collision {
                    e.err = Some(Anno::Collision { sub });
                }
                if outcome.nhcb_bounds_reconciled {
                    e.info = Some(Anno::Reconciled { sub });
                }
                e
            }
            Op::Eq | Op::Ne => {
                let equal = hl.equals(hr);
                Elem {
                    f: 0.0,
                    h: Some(hl.clone()),
                    keep: equal == (op == Op::Eq),
                    info: None,
                    err: None,
                }
            }
            _ => Elem::incompatible(l, r),
        },
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

// ---------------------------------------------------------------------------
// Trimming (`</`, `>/`): Prometheus's `FloatHistogram.TrimBuckets` and its
// helpers. Buckets wholly on the kept side stay, the bucket holding the trim
// point is interpolated (linearly for custom buckets, exponentially
// otherwise), the others are emptied; the sum is re-estimated from the
// midpoints of what remains.

/// The representative value of a surviving interval: the arithmetic mean
/// for custom buckets, the geometric mean for exponential ones, with
/// Prometheus's conventions for infinite bounds.
fn midpoint(lower: f64, upper: f64, positive: bool, linear: bool) -> f64 {
    if lower.is_infinite() {
        if upper.is_infinite() {
            return 0.0;
        }
        if upper > 0.0 {
            return upper / 2.0;
        }
        return upper;
    } else if upper.is_infinite() {
        return lower;
    }
    if linear {
        return (lower + upper) / 2.0;
    }
    let geo_mean = (lower * upper).abs().sqrt();
    if positive { geo_mean } else { -geo_mean }
}

/// `x`, or 0 when infinite.
fn zero_if_inf(x: f64) -> f64 {
    if x.is_infinite() { 0.0 } else { x }
}

/// For a bucket with an infinite bound, whose distribution is unknown: the
/// count kept and the midpoint of what survives.
fn infinity_bucket_trim(upper_trim: bool, b: &Bucket, rhs: f64) -> (f64, f64) {
    if b.lower == f64::NEG_INFINITY {
        if upper_trim {
            if rhs >= b.upper {
                return (b.count, 0.0);
            }
            if rhs > 0.0 && b.upper > 0.0 && b.upper != f64::INFINITY {
                // Only custom buckets get here: treat the lower bound as 0.
                return (b.count * rhs / b.upper, rhs / 2.0);
            }
            if b.upper <= 0.0 {
                return (b.count, rhs);
            }
            return (0.0, zero_if_inf(b.upper));
        }
        if rhs <= b.lower {
            return (b.count, 0.0);
        }
        if rhs >= 0.0 && b.upper > rhs && b.upper != f64::INFINITY {
            return (b.count * (1.0 - rhs / b.upper), (rhs + b.upper) / 2.0);
        }
        return (0.0, zero_if_inf(b.upper));
    }
    // The upper bound is +Inf.
    if upper_trim {
        return (0.0, zero_if_inf(b.lower));
    }
    if rhs >= b.lower {
        return (b.count, rhs);
    }
    (0.0, zero_if_inf(b.lower))
}

/// The part of a bucket's count at or below `rhs`.
fn split(b: &Bucket, rhs: f64, positive: bool, linear: bool) -> f64 {
    if rhs <= b.lower {
        return 0.0;
    }
    if rhs >= b.upper {
        return b.count;
    }
    let fraction = if linear {
        (rhs - b.lower) / (b.upper - b.lower)
    } else {
        let log_lower = b.lower.abs().log2();
        let log_upper = b.upper.abs().log2();
        let log_v = rhs.abs().log2();
        if positive {
            (log_v - log_lower) / (log_upper - log_lower)
        } else {
            1.0 - ((log_v - log_upper) / (log_lower - log_upper))
        }
    };
    b.count * fraction
}

/// For the bucket holding the trim point: the count kept and the midpoint
/// of the surviving interval.
fn bucket_trim(b: &Bucket, rhs: f64, upper_trim: bool, positive: bool, custom: bool) -> (f64, f64) {
    if b.lower == f64::NEG_INFINITY || b.upper == f64::INFINITY {
        return infinity_bucket_trim(upper_trim, b, rhs);
    }
    let under = split(b, rhs, positive, custom);
    if upper_trim {
        return (under, midpoint(b.lower, rhs, positive, custom));
    }
    (b.count - under, midpoint(rhs, b.upper, positive, custom))
}

/// The zero bucket's kept count and midpoint. It straddles zero, so which
/// half counts depends on whether the histogram has observations on the
/// other side at all.
fn zero_bucket_trim(
    zero: &Bucket,
    rhs: f64,
    has_negative: bool,
    has_positive: bool,
    upper_trim: bool,
) -> (f64, f64) {
    let (mut lower, mut upper) = (zero.lower, zero.upper);
    if has_negative && !has_positive {
        upper = 0.0;
    }
    if has_positive && !has_negative {
        lower = 0.0;
    }
    let (fraction, mid) = if upper_trim {
        if rhs <= lower {
            return (0.0, 0.0);
        }
        if rhs >= upper {
            return (zero.count, (lower + upper) / 2.0);
        }
        ((rhs - lower) / (upper - lower), (lower + rhs) / 2.0)
    } else {
        if rhs <= lower {
            return (zero.count, (lower + upper) / 2.0);
        }
        if rhs >= upper {
            return (0.0, 0.0);
        }
        ((upper - rhs) / (upper - lower), (rhs + upper) / 2.0)
    };
    (zero.count * fraction, mid)
}

/// Trims one side's buckets; returns whether a bucket changed.
#[allow(clippy::too_many_arguments)]
fn trim_side(
    buckets: &[Bucket],
    cells: &mut [f64],
    rhs: f64,
    upper_trim: bool,
    positive: bool,
    custom: bool,
    count: &mut f64,
    sum: &mut f64,
) -> bool {
    let mut trimmed = false;
    for (i, bucket) in buckets.iter().enumerate() {
        if bucket.count == 0.0 {
            continue;
        }
        let (all_kept, partly) = if upper_trim {
            (bucket.upper <= rhs, bucket.lower < rhs)
        } else {
            (bucket.lower >= rhs, bucket.upper > rhs)
        };
        if all_kept {
            *count += bucket.count;
            *sum += midpoint(bucket.lower, bucket.upper, positive, custom) * bucket.count;
        } else if partly {
            let (keep, mid) = bucket_trim(bucket, rhs, upper_trim, positive, custom);
            *count += keep;
            *sum += mid * keep;
            if cells[i] != keep {
                cells[i] = keep;
                trimmed = true;
            }
        } else {
            cells[i] = 0.0;
            trimmed = true;
        }
    }
    trimmed
}

/// Trims `h` in place to the observations below (`upper_trim`, `</`) or
/// above (`>/`) `rhs`. Count and sum change only if some bucket did.
fn trim_histogram(h: &mut FloatHistogram, rhs: f64, upper_trim: bool) {
    let custom = h.uses_custom_buckets();
    let mut count = 0.0;
    let mut sum = 0.0;
    let positive: Vec<Bucket> = h.positive_bucket_iter().collect();
    let negative: Vec<Bucket> = h.negative_bucket_iter().collect();
    let has_positive = positive.iter().any(|b| b.count != 0.0);
    let has_negative = negative.iter().any(|b| b.count != 0.0);
    let mut trimmed = trim_side(
        &positive,
        &mut h.positive_buckets,
        rhs,
        upper_trim,
        true,
        custom,
        &mut count,
        &mut sum,
    );
    trimmed |= trim_side(
        &negative,
        &mut h.negative_buckets,
        rhs,
        upper_trim,
        false,
        custom,
        &mut count,
        &mut sum,
    );
    if h.zero_count > 0.0
        && let Some(zero) = h.zero_bucket()
    {
        let (keep, mid) = zero_bucket_trim(&zero, rhs, has_negative, has_positive, upper_trim);
        if h.zero_count != keep {
            h.zero_count = keep;
            trimmed = true;
        }
        sum += mid * keep;
        count += keep;
    }
    if trimmed {
        h.count = count;
        h.sum = sum;
        h.compact(0);
    }
}

#[cfg(test)]
mod tests {
    use warden_tsdb::Span;

    use super::*;

    #[test]
    fn comparison_keeps_left_value() {
        assert_eq!(apply(Op::Gt, 3.0, 1.0), (3.0, true));
        assert_eq!(apply(Op::Lt, 3.0, 1.0), (3.0, false));
        assert!(apply(Op::Mod, 1.0, 0.0).0.is_nan());
    }

    fn hist(buckets: &[f64]) -> FloatHistogram {
        FloatHistogram {
            schema: 0,
            count: buckets.iter().sum(),
            sum: 4.0,
            positive_spans: vec![Span {
                offset: 0,
                length: buckets.len() as u32,
            }],
            positive_buckets: buckets.to_vec(),
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn histogram_element_operations_follow_prometheus() {
        let h = Pt::H(Arc::new(hist(&[1.0, 2.0, 1.0])));
        let f = Pt::F(2.0);
        // h * 2 and 2 * h scale; h / 2 divides.
        for e in [elem_binop(Op::Mul, &h, &f), elem_binop(Op::Mul, &f, &h)] {
            let out = e.h.expect("histogram");
            assert_eq!(out.positive_buckets, [2.0, 4.0, 2.0]);
            assert_eq!(out.count, 8.0);
        }
        let out = elem_binop(Op::Div, &h, &f).h.expect("histogram");
        assert_eq!(out.positive_buckets, [0.5, 1.0, 0.5]);
        // h - h is a gauge; h + h keeps the hint.
        let out = elem_binop(Op::Sub, &h, &h).h.expect("histogram");
        assert_eq!(out.counter_reset_hint, CounterResetHint::Gauge);
        let out = elem_binop(Op::Add, &h, &h).h.expect("histogram");
        assert_eq!(out.counter_reset_hint, CounterResetHint::Unknown);
        assert_eq!(out.positive_buckets, [2.0, 4.0, 2.0]);
        // Mixes drop the element with an info.
        for (op, l, r) in [
            (Op::Add, &h, &f),
            (Op::Div, &f, &h),
            (Op::Gt, &h, &h),
            (Op::Eq, &h, &f),
            (Op::Mod, &h, &f),
            (Op::TrimUpper, &f, &f),
        ] {
            let e = elem_binop(op, l, r);
            assert!(matches!(e.err, Some(Anno::Types { .. })), "{op:?}");
        }
        // == between histograms keeps the left one when equal.
        let e = elem_binop(Op::Eq, &h, &h);
        assert!(e.keep && e.h.is_some());
        let other = Pt::H(Arc::new(hist(&[1.0, 2.0, 2.0])));
        assert!(!elem_binop(Op::Eq, &h, &other).keep);
        assert!(elem_binop(Op::Ne, &h, &other).keep);
    }

    #[test]
    fn mixed_schemas_warn_about_the_layout() {
        let h = Pt::H(Arc::new(hist(&[1.0])));
        let mut c = hist(&[1.0]);
        c.schema = warden_tsdb::histogram::CUSTOM_BUCKETS_SCHEMA;
        c.custom_values = vec![1.0];
        let c = Pt::H(Arc::new(c));
        let e = elem_binop(Op::Add, &h, &c);
        assert_eq!(e.err, Some(Anno::Layout));
        assert!(e.h.is_none());
    }

    /// Runs a promqltest script on the real engine; every case must pass.
    fn all_pass(src: &str) {
        let engine = crate::promql::Engine::new(crate::promql::promqltest::engine_options());
        let report =
            crate::promql::promqltest::run_source(std::path::Path::new("t.test"), src, &engine);
        assert!(report.error.is_none(), "{:?}", report.error);
        assert!(!report.cases.is_empty());
        for c in &report.cases {
            assert!(
                matches!(c.outcome, crate::promql::promqltest::Outcome::Passed),
                "{c:?}"
            );
        }
    }

    #[test]
    fn histograms_through_vector_operators() {
        all_pass(
            "load 1m\n\
            \x20 h{job=\"a\"} {{schema:0 sum:4 count:4 buckets:[1 2 1]}}x2\n\
            \x20 h{job=\"b\"} {{schema:0 sum:2 count:2 buckets:[1 1]}}x2\n\
            \x20 c{job=\"a\"} {{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}x2\n\
            \x20 f{job=\"a\", x=\"1\"} 2x2\n\
            \x20 f{job=\"b\", x=\"2\"} 3x2\n\
            \n\
            eval instant at 1m h + 1\n\
            \x20 expect info msg: PromQL info: incompatible sample types encountered for binary operator \"+\": histogram + float (1:1)\n\
            \n\
            eval instant at 1m 1 / h\n\
            \x20 expect info msg: PromQL info: incompatible sample types encountered for binary operator \"/\": float / histogram (1:1)\n\
            \n\
            eval instant at 1m 2 * h{job=\"a\"}\n\
            \x20 expect no_info\n\
            \x20 {job=\"a\"} {{schema:0 sum:8 count:8 buckets:[2 4 2]}}\n\
            \n\
            eval instant at 1m h{job=\"a\"} / 2\n\
            \x20 {job=\"a\"} {{schema:0 sum:2 count:2 buckets:[0.5 1 0.5]}}\n\
            \n\
            eval instant at 1m -h{job=\"a\"}\n\
            \x20 {job=\"a\"} {{schema:0 sum:-4 count:-4 counter_reset_hint:gauge buckets:[-1 -2 -1]}}\n\
            \n\
            eval instant at 1m h{job=\"a\"} * -1\n\
            \x20 {job=\"a\"} {{schema:0 sum:-4 count:-4 counter_reset_hint:gauge buckets:[-1 -2 -1]}}\n\
            \n\
            eval instant at 1m h * on(job) group_left(x) f\n\
            \x20 {job=\"a\", x=\"1\"} {{schema:0 sum:8 count:8 buckets:[2 4 2]}}\n\
            \x20 {job=\"b\", x=\"2\"} {{schema:0 sum:6 count:6 buckets:[3 3]}}\n\
            \n\
            eval instant at 1m h - on(job) h\n\
            \x20 {job=\"a\"} {{schema:0 counter_reset_hint:gauge}}\n\
            \x20 {job=\"b\"} {{schema:0 counter_reset_hint:gauge}}\n\
            \n\
            eval instant at 1m h{job=\"a\"} + c\n\
            \x20 expect warn msg: PromQL warning: incompatible bucket layout encountered for binary operator + (1:1)\n\
            \n\
            eval instant at 1m h == bool h\n\
            \x20 {job=\"a\"} 1\n\
            \x20 {job=\"b\"} 1\n\
            \n\
            eval instant at 1m h > h\n\
            \x20 expect info msg: PromQL info: incompatible sample types encountered for binary operator \">\": histogram > histogram (1:1)\n\
            \n\
            eval instant at 1m h and on(job) f{x=\"1\"}\n\
            \x20 h{job=\"a\"} {{schema:0 sum:4 count:4 buckets:[1 2 1]}}\n\
            \n\
            eval instant at 1m f unless on(job) h{job=\"b\"}\n\
            \x20 f{job=\"a\", x=\"1\"} 2\n\
            \n\
            eval instant at 1m f{x=\"1\"} or ignoring(x) h\n\
            \x20 f{job=\"a\", x=\"1\"} 2\n\
            \x20 h{job=\"b\"} {{schema:0 sum:2 count:2 buckets:[1 1]}}\n\
            \n\
            eval instant at 1m f * on() h\n\
            \x20 expect fail msg: found duplicate series for the match group {} on the right hand-side of the operation: [{__name__=\"h\", job=\"a\"}, {__name__=\"h\", job=\"b\"}];many-to-many matching not allowed: matching labels must be unique on one side\n\
            \n\
            eval instant at 1m h </ 1\n\
            \x20 h{job=\"a\"} {{schema:0 sum:0.7071067811865476 count:1 buckets:[1]}}\n\
            \x20 h{job=\"b\"} {{schema:0 sum:0.7071067811865476 count:1 buckets:[1]}}\n",
        );
    }

    #[test]
    fn trim_on_a_bucket_boundary() {
        // native_histograms.test: cbh </ 15 and cbh >/ 15.
        let cbh = FloatHistogram {
            schema: warden_tsdb::histogram::CUSTOM_BUCKETS_SCHEMA,
            count: 15.0,
            sum: 172.5,
            positive_spans: vec![Span {
                offset: 0,
                length: 5,
            }],
            positive_buckets: vec![1.0, 6.0, 4.0, 3.0, 1.0],
            custom_values: vec![5.0, 10.0, 15.0, 20.0],
            ..FloatHistogram::default()
        };
        let mut h = cbh.clone();
        trim_histogram(&mut h, 15.0, true);
        assert_eq!(h.count, 11.0);
        assert_eq!(h.sum, 97.5);
        assert_eq!(h.positive_buckets, [1.0, 6.0, 4.0]);
        let mut h = cbh;
        trim_histogram(&mut h, 15.0, false);
        assert_eq!(h.count, 4.0);
        assert_eq!(h.sum, 72.5);
        assert_eq!(h.positive_buckets, [3.0, 1.0]);
    }
}
