//! One operator applied to one pair of elements (Prometheus's
//! `vectorElemBinop`): floats, native histograms, or a mix, with the
//! annotation an unsupported mix raises.

use std::sync::Arc;

use warden_tsdb::histogram::HistogramError;
use warden_tsdb::{CounterResetHint, FloatHistogram};

use promql_parser::parser::BinaryExpr;

use super::{Op, apply};
use crate::promql::eval::Evaluator;
use crate::promql::value::VSeries;

/// One element of an instant vector at one step.
#[derive(Debug, Clone)]
pub(super) enum Pt {
    F(f64),
    H(Arc<FloatHistogram>),
}

impl Pt {
    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Pt::F(_) => "float",
            Pt::H(_) => "histogram",
        }
    }
}

/// The element of series `s` at step `i`, if it has one.
pub(super) fn point(s: &VSeries, i: usize) -> Option<Pt> {
    if let Some(f) = s.vals[i] {
        return Some(Pt::F(f));
    }
    s.hist(i).map(|h| Pt::H(h.clone()))
}

/// Removes the element of series `s` at step `i`.
pub(super) fn clear_point(s: &mut VSeries, i: usize) {
    s.vals[i] = None;
    if let Some(h) = s.hists.get_mut(i) {
        *h = None;
    }
}

/// Sets the element of series `s` at step `i`.
pub(super) fn set_point(s: &mut VSeries, i: usize, f: f64, h: Option<Arc<FloatHistogram>>) {
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
pub(super) enum Anno {
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

pub(super) fn operation(sub: bool) -> &'static str {
    if sub { "subtraction" } else { "addition" }
}

impl Anno {
    pub(super) fn from_error(e: &HistogramError) -> Anno {
        if matches!(e, HistogramError::IncompatibleSchema) {
            Anno::Layout
        } else {
            Anno::Silent
        }
    }

    /// Whether Prometheus raises it as a warning (else an info).
    pub(super) fn is_warning(self) -> bool {
        matches!(self, Anno::Collision { .. } | Anno::Layout)
    }

    /// Adds the annotation, positioned at the binary expression, as
    /// Prometheus's `handleVectorBinopError` does.
    pub(super) fn emit(self, ev: &mut Evaluator<'_>, b: &BinaryExpr, op: Op) {
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
pub(super) struct Elem {
    pub(super) f: f64,
    pub(super) h: Option<Arc<FloatHistogram>>,
    pub(super) keep: bool,
    pub(super) info: Option<Anno>,
    pub(super) err: Option<Anno>,
}

impl Elem {
    pub(super) fn float(f: f64, keep: bool) -> Elem {
        Elem {
            f,
            h: None,
            keep,
            info: None,
            err: None,
        }
    }

    pub(super) fn hist(h: FloatHistogram) -> Elem {
        Elem {
            f: 0.0,
            h: Some(Arc::new(h)),
            keep: true,
            info: None,
            err: None,
        }
    }

    pub(super) fn failed(err: Anno) -> Elem {
        Elem {
            f: 0.0,
            h: None,
            keep: false,
            info: None,
            err: Some(err),
        }
    }

    pub(super) fn incompatible(l: &Pt, r: &Pt) -> Elem {
        Elem::failed(Anno::Types {
            lhs: l.type_name(),
            rhs: r.type_name(),
        })
    }
}

/// `l op r` for one pair of elements (not for set operators).
pub(super) fn elem_binop(op: Op, l: &Pt, r: &Pt) -> Elem {
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
                out.trim_buckets(*b, op == Op::TrimUpper);
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
