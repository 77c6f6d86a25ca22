//! Reconciliation of two histograms' layouts, the heart of `+` and `-`.
//!
//! Adding histograms with different schemas, zero thresholds or custom
//! bounds first brings them to a common layout. Prometheus does this in a
//! particular order with particular rounding, and results (including which
//! buckets end up in the zero bucket) depend on it, so the algorithm below
//! follows Prometheus's `FloatHistogram.Add`/`Sub` step by step:
//!
//! 1. custom buckets: identical bounds add bucket by bucket; different
//!    bounds are both re-bucketed onto the bounds they have in common;
//! 2. exponential: the zero buckets are widened until both thresholds agree
//!    and no populated bucket straddles the threshold (`reconcileZeroBuckets`);
//! 3. the histogram with the finer schema is re-bucketed to the coarser one;
//! 4. the other's buckets are inserted, skipping those that now lie inside
//!    the zero bucket.
//!
//! The work happens on [`Work`], generic over the bucket [`Cell`], so that
//! Kahan-compensated addition reuses the same steps.

use super::bounds::exponential_bound;
use super::error::HistogramError;
use super::layout::{Cell, Decode, Runs, Side, check_reducible, compact, from_entries, reduce};
use super::{FloatHistogram, Span, is_custom_buckets_schema, is_exponential_schema};

/// The receiving histogram of an addition, with cells of type `T`.
pub(crate) struct Work<T> {
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    pub(crate) zero: T,
    pub(crate) count: T,
    pub(crate) sum: T,
    pub(crate) pos: Side<T>,
    pub(crate) neg: Side<T>,
    pub(crate) custom_values: Vec<f64>,
}

/// What [`zero_count_for_larger_threshold`] needs to know about a histogram.
pub(crate) struct View<'a, T> {
    schema: i32,
    zero_threshold: f64,
    zero: T,
    pos_spans: &'a [Span],
    pos: &'a [T],
    neg_spans: &'a [Span],
    neg: &'a [T],
}

pub(crate) fn view_of(h: &FloatHistogram) -> View<'_, f64> {
    View {
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero: h.zero_count,
        pos_spans: &h.positive_spans,
        pos: &h.positive_buckets,
        neg_spans: &h.negative_spans,
        neg: &h.negative_buckets,
    }
}

/// The zero count a histogram would have with the (larger) threshold
/// `larger`, and the threshold actually needed: if `larger` falls inside a
/// populated bucket, it is raised to that bucket's outer bound, because an
/// observation cannot be split between the zero bucket and a regular one.
/// (Prometheus's `zeroCountForLargerThreshold`; it panics for a smaller
/// threshold, we leave the histogram as it is.)
pub(crate) fn zero_count_for_larger_threshold<T: Cell>(v: &View<'_, T>, larger: f64) -> (T, f64) {
    let mut larger = larger;
    if larger == v.zero_threshold {
        return (v.zero, larger);
    }
    if larger.partial_cmp(&v.zero_threshold) != Some(std::cmp::Ordering::Greater) {
        return (v.zero, v.zero_threshold);
    }
    'outer: loop {
        let mut count = v.zero;
        for (idx, cell) in Decode::new(v.pos_spans, v.pos) {
            let lower = exponential_bound(idx - 1, v.schema);
            let upper = exponential_bound(idx, v.schema);
            if lower >= larger {
                break;
            }
            count.absorb(cell);
            if upper > larger {
                if cell.value() != 0.0 {
                    larger = upper;
                }
                break;
            }
        }
        for (idx, cell) in Decode::new(v.neg_spans, v.neg) {
            let lower = -exponential_bound(idx, v.schema);
            let upper = -exponential_bound(idx - 1, v.schema);
            if upper <= -larger {
                break;
            }
            count.absorb(cell);
            if lower < -larger {
                if cell.value() != 0.0 {
                    // The positive side has to be redone with the new
                    // threshold.
                    larger = -lower;
                    continue 'outer;
                }
                break;
            }
        }
        return (count, larger);
    }
}

/// Whether two custom bound lists are identical.
pub(crate) fn bounds_match(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The bounds two custom-bucket histograms have in common.
pub(crate) fn intersect_bounds(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        if x == y {
            out.push(x);
            i += 1;
            j += 1;
        } else if x < y {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Adds custom buckets laid out by `bounds` into `target`, whose buckets
/// are delimited by `intersected` (plus the implicit `+Inf` bucket at the
/// end): each bucket goes to the first target bucket whose upper bound is
/// at least its own.
fn map_onto<T: Cell>(
    target: &mut [T],
    entries: impl IntoIterator<Item = (i64, T)>,
    bounds: &[f64],
    intersected: &[f64],
) {
    let last = target.len().saturating_sub(1);
    let mut cursor = 0usize;
    for (src, cell) in entries {
        let mut dest = last;
        if src < 0 {
            dest = 0;
        } else if let Some(&bound) = usize::try_from(src).ok().and_then(|s| bounds.get(s)) {
            while let Some(&candidate) = intersected.get(cursor) {
                if candidate >= bound {
                    dest = cursor;
                    break;
                }
                cursor += 1;
            }
        }
        if let Some(slot) = target.get_mut(dest) {
            slot.absorb(cell);
        }
    }
}

/// Inserts `entries` (ascending indices) into `side`, skipping the leading
/// ones that lie inside the zero bucket of an exponential histogram.
fn add_entries<T: Cell>(
    side: &mut Side<T>,
    schema: i32,
    zero_threshold: f64,
    entries: impl IntoIterator<Item = (i64, T)>,
) {
    let mut runs = Runs::new(std::mem::take(side));
    let mut leading = true;
    for (idx, cell) in entries {
        if leading
            && is_exponential_schema(schema)
            && exponential_bound(idx, schema) <= zero_threshold
        {
            continue;
        }
        leading = false;
        runs.add(idx, cell);
    }
    *side = runs.finish();
}

impl<T: Cell> Work<T> {
    fn view(&self) -> View<'_, T> {
        View {
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero: self.zero,
            pos_spans: &self.pos.spans,
            pos: &self.pos.cells,
            neg_spans: &self.neg.spans,
            neg: &self.neg.cells,
        }
    }

    /// Clears the buckets now covered by the zero bucket (their counts are
    /// already in the zero count) and compacts, as Prometheus's
    /// `trimBucketsInZeroBucket` does — compaction of the whole histogram
    /// included.
    fn trim_buckets_in_zero_bucket(&mut self) {
        let (schema, zt) = (self.schema, self.zero_threshold);
        for side in [&mut self.pos, &mut self.neg] {
            let inside = Decode::new(&side.spans, &side.cells)
                .take_while(|&(idx, _)| exponential_bound(idx - 1, schema) < zt)
                .count();
            for cell in side.cells.iter_mut().take(inside) {
                *cell = T::ZERO;
            }
            *side = compact(side, 0);
        }
    }

    /// Widens the zero buckets of `self` and `other` until they agree;
    /// returns the zero count `other` has with the common threshold.
    fn reconcile_zero_buckets(&mut self, other: &FloatHistogram) -> f64 {
        let other_view = view_of(other);
        let mut other_zero = other.zero_count;
        let mut other_threshold = other.zero_threshold;
        // Prometheus loops forever on a NaN threshold; we give up instead.
        while other_threshold != self.zero_threshold
            && !other_threshold.is_nan()
            && !self.zero_threshold.is_nan()
        {
            if self.zero_threshold > other_threshold {
                (other_zero, other_threshold) =
                    zero_count_for_larger_threshold(&other_view, self.zero_threshold);
            }
            if other_threshold > self.zero_threshold {
                let (zero, threshold) =
                    zero_count_for_larger_threshold(&self.view(), other_threshold);
                self.zero = zero;
                self.zero_threshold = threshold;
                self.trim_buckets_in_zero_bucket();
            }
        }
        other_zero
    }

    /// Adds (or with `negate` subtracts) `other` into `self`. Returns
    /// whether mismatched custom bounds had to be reconciled.
    ///
    /// Fails only on an inconsistent layout that has to be re-bucketed; that
    /// is checked before anything is changed.
    pub(crate) fn combine(
        &mut self,
        other: &FloatHistogram,
        negate: bool,
    ) -> Result<bool, HistogramError> {
        let signed = |v: f64| {
            if negate {
                T::lift(v).negate()
            } else {
                T::lift(v)
            }
        };

        if is_custom_buckets_schema(self.schema) {
            self.count.absorb(signed(other.count));
            self.sum.absorb(signed(other.sum));
            let theirs = Decode::new(&other.positive_spans, &other.positive_buckets)
                .map(|(i, v)| (i, signed(v)));
            if bounds_match(&self.custom_values, &other.custom_values) {
                add_entries(&mut self.pos, self.schema, self.zero_threshold, theirs);
                return Ok(false);
            }
            let common = intersect_bounds(&self.custom_values, &other.custom_values);
            let mut target = vec![T::ZERO; common.len() + 1];
            let ours: Vec<(i64, T)> = Decode::new(&self.pos.spans, &self.pos.cells).collect();
            map_onto(&mut target, ours, &self.custom_values, &common);
            map_onto(&mut target, theirs, &other.custom_values, &common);
            self.pos = from_entries(
                target
                    .into_iter()
                    .zip(0i64..)
                    .filter(|(cell, _)| !cell.is_empty())
                    .map(|(cell, idx)| (idx, cell)),
            );
            self.custom_values = common;
            return Ok(true);
        }

        if other.schema < self.schema {
            check_reducible(&self.pos.spans, self.pos.cells.len())
                .map_err(|e| e.within("positive side"))?;
            check_reducible(&self.neg.spans, self.neg.cells.len())
                .map_err(|e| e.within("negative side"))?;
        } else if other.schema > self.schema {
            check_reducible(&other.positive_spans, other.positive_buckets.len())
                .map_err(|e| e.within("positive side"))?;
            check_reducible(&other.negative_spans, other.negative_buckets.len())
                .map_err(|e| e.within("negative side"))?;
        }

        let other_zero = self.reconcile_zero_buckets(other);
        self.zero.absorb(signed(other_zero));
        self.count.absorb(signed(other.count));
        self.sum.absorb(signed(other.sum));

        let target = self.schema.min(other.schema);
        if other.schema < self.schema {
            self.pos = reduce(&self.pos, self.schema, target)?;
            self.neg = reduce(&self.neg, self.schema, target)?;
            self.schema = target;
        }
        let zt = self.zero_threshold;
        for (spans, buckets, side) in [
            (
                &other.positive_spans,
                &other.positive_buckets,
                &mut self.pos,
            ),
            (
                &other.negative_spans,
                &other.negative_buckets,
                &mut self.neg,
            ),
        ] {
            let entries: Vec<(i64, T)> = if other.schema > target {
                let lifted = Side {
                    spans: spans.clone(),
                    cells: buckets.iter().map(|&v| T::lift(v)).collect(),
                };
                let reduced = reduce(&lifted, other.schema, target)?;
                Decode::new(&reduced.spans, &reduced.cells).collect()
            } else {
                Decode::new(spans, buckets)
                    .map(|(i, v)| (i, T::lift(v)))
                    .collect()
            };
            let entries = entries
                .into_iter()
                .map(|(i, cell)| (i, if negate { cell.negate() } else { cell }));
            add_entries(side, target, zt, entries);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bounds_intersection() {
        assert_eq!(intersect_bounds(&[5.0, 10.0], &[10.0]), vec![10.0]);
        assert_eq!(intersect_bounds(&[2.0, 10.0], &[5.0, 10.0]), vec![10.0]);
        assert_eq!(
            intersect_bounds(&[1.0, 2.0, 3.0], &[2.0, 3.0, 4.0]),
            vec![2.0, 3.0]
        );
        assert!(intersect_bounds(&[], &[1.0]).is_empty());
        assert!(bounds_match(&[1.0, 2.0], &[1.0, 2.0]));
        assert!(!bounds_match(&[1.0], &[1.0, 2.0]));
        assert!(!bounds_match(&[f64::NAN], &[f64::NAN]));
    }

    #[test]
    fn histogram_zero_count_for_larger_threshold() {
        // Schema 0 buckets (0.25,0.5]:1 (0.5,1]:2 (1,2]:4 and negative
        // [-0.5,-0.25):8 [-1,-0.5):16 (index -1, 0 and 1).
        let h = FloatHistogram {
            zero_threshold: 0.25,
            zero_count: 100.0,
            positive_spans: vec![Span {
                offset: -1,
                length: 3,
            }],
            positive_buckets: vec![1.0, 2.0, 4.0],
            negative_spans: vec![Span {
                offset: -1,
                length: 2,
            }],
            negative_buckets: vec![8.0, 16.0],
            ..FloatHistogram::default()
        };
        let v = view_of(&h);
        assert_eq!(zero_count_for_larger_threshold(&v, 0.25), (100.0, 0.25));
        assert_eq!(zero_count_for_larger_threshold(&v, 0.5), (109.0, 0.5));
        // 0.7 falls inside the populated (0.5,1] buckets on both sides.
        assert_eq!(zero_count_for_larger_threshold(&v, 0.7), (127.0, 1.0));
        // Smaller thresholds leave the histogram alone.
        assert_eq!(zero_count_for_larger_threshold(&v, 0.1), (100.0, 0.25));
    }
}
