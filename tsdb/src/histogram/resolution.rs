//! Reshaping a histogram without changing what it counts: compaction and
//! resolution reduction.
//!
//! Arithmetic leaves empty buckets and adjacent spans behind, and storage
//! wants few spans; PromQL compacts results before returning them. Lowering
//! the resolution is how histograms of different schemas are made
//! comparable (and how storage caps the bucket count).

use super::error::HistogramError;
use super::layout::{self, Side};
use super::{FloatHistogram, is_custom_buckets_schema};

fn take_side(spans: &mut Vec<super::Span>, buckets: &mut Vec<f64>) -> Side<f64> {
    Side {
        spans: std::mem::take(spans),
        cells: std::mem::take(buckets),
    }
}

impl FloatHistogram {
    /// Removes empty buckets at the edges of spans, removes runs of more
    /// than `max_empty_buckets` empty buckets inside spans, and joins spans
    /// that are at most `max_empty_buckets` apart (Prometheus's `Compact`).
    ///
    /// `0` gives the canonical layout PromQL returns; a small positive value
    /// trades a few explicit empty buckets for fewer spans.
    pub fn compact(&mut self, max_empty_buckets: usize) -> &mut Self {
        let pos = take_side(&mut self.positive_spans, &mut self.positive_buckets);
        let pos = layout::compact(&pos, max_empty_buckets);
        self.positive_spans = pos.spans;
        self.positive_buckets = pos.cells;
        let neg = take_side(&mut self.negative_spans, &mut self.negative_buckets);
        let neg = layout::compact(&neg, max_empty_buckets);
        self.negative_spans = neg.spans;
        self.negative_buckets = neg.cells;
        self
    }

    /// Lowers the resolution to `target_schema` in place, merging buckets
    /// (Prometheus's `ReduceResolution`).
    ///
    /// Fails, leaving `self` unchanged, for custom buckets, for a custom
    /// target, if `target_schema` is not lower than the current schema, or if
    /// the layout is inconsistent.
    pub fn reduce_resolution(&mut self, target_schema: i32) -> Result<(), HistogramError> {
        if self.uses_custom_buckets() {
            return Err(HistogramError::ReduceCustomBuckets);
        }
        if is_custom_buckets_schema(target_schema) {
            return Err(HistogramError::ReduceToCustomBuckets);
        }
        if target_schema >= self.schema {
            return Err(HistogramError::ReduceToHigherSchema {
                from: self.schema,
                to: target_schema,
            });
        }
        let (pos, neg) = self.reduced_sides(target_schema)?;
        self.positive_spans = pos.spans;
        self.positive_buckets = pos.cells;
        self.negative_spans = neg.spans;
        self.negative_buckets = neg.cells;
        self.schema = target_schema;
        Ok(())
    }

    /// A copy with the lower resolution `target_schema` (Prometheus's
    /// `CopyToSchema`). The same schema gives a plain copy.
    ///
    /// Like Prometheus, an actual reduction does not carry over the counter
    /// reset hint. Prometheus panics where this returns an error: for custom
    /// buckets, a custom target, a higher target schema, or an inconsistent
    /// layout.
    pub fn copy_to_schema(&self, target_schema: i32) -> Result<FloatHistogram, HistogramError> {
        if target_schema == self.schema {
            return Ok(self.clone());
        }
        if self.uses_custom_buckets() {
            return Err(HistogramError::ReduceCustomBuckets);
        }
        if is_custom_buckets_schema(target_schema) {
            return Err(HistogramError::ReduceToCustomBuckets);
        }
        if target_schema > self.schema {
            return Err(HistogramError::ReduceToHigherSchema {
                from: self.schema,
                to: target_schema,
            });
        }
        let (pos, neg) = self.reduced_sides(target_schema)?;
        Ok(FloatHistogram {
            schema: target_schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count,
            count: self.count,
            sum: self.sum,
            positive_spans: pos.spans,
            positive_buckets: pos.cells,
            negative_spans: neg.spans,
            negative_buckets: neg.cells,
            ..FloatHistogram::default()
        })
    }

    fn reduced_sides(&self, target_schema: i32) -> Result<(Side<f64>, Side<f64>), HistogramError> {
        let pos = Side {
            spans: self.positive_spans.clone(),
            cells: self.positive_buckets.clone(),
        };
        let neg = Side {
            spans: self.negative_spans.clone(),
            cells: self.negative_buckets.clone(),
        };
        let pos = layout::reduce(&pos, self.schema, target_schema)
            .map_err(|e| e.within("positive side"))?;
        let neg = layout::reduce(&neg, self.schema, target_schema)
            .map_err(|e| e.within("negative side"))?;
        Ok((pos, neg))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::hist;
    use super::super::{CounterResetHint, Span};
    use super::*;

    fn spans(list: &[(i32, u32)]) -> Vec<Span> {
        list.iter()
            .map(|&(offset, length)| Span { offset, length })
            .collect()
    }

    #[test]
    fn histogram_reduce_resolution_schema_steps() {
        // Schema 2 buckets 1..=8 cover (1,4]; in schema 0 that is (1,2] and
        // (2,4], in schema -1 the single bucket (1,4].
        let h = hist(2)
            .count(36.0)
            .zero(0.001, 0.0)
            .pos(1, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
            .neg(-1, &[1.0, 1.0])
            .build();
        let mut r = h.clone();
        r.reduce_resolution(0).expect("valid");
        assert_eq!(r.schema, 0);
        assert_eq!(r.positive_spans, spans(&[(1, 2)]));
        assert_eq!(r.positive_buckets, vec![10.0, 26.0]);
        assert_eq!(r.negative_spans, spans(&[(0, 1)]));
        assert_eq!(r.negative_buckets, vec![2.0]);

        let mut r2 = h.clone();
        r2.reduce_resolution(-1).expect("valid");
        assert_eq!(r2.positive_spans, spans(&[(1, 1)]));
        assert_eq!(r2.positive_buckets, vec![36.0]);

        // copy_to_schema gives the same buckets, drops the hint, and keeps the
        // original untouched.
        let mut hinted = h.clone();
        hinted.counter_reset_hint = CounterResetHint::NotCounterReset;
        let c = hinted.copy_to_schema(0).expect("valid");
        assert_eq!(c.positive_buckets, r.positive_buckets);
        assert_eq!(c.counter_reset_hint, CounterResetHint::Unknown);
        assert_eq!(hinted.schema, 2);
        assert_eq!(hinted.copy_to_schema(2).expect("same schema"), hinted);
    }

    #[test]
    fn histogram_reduce_resolution_errors() {
        let mut h = hist(0).pos(0, &[1.0]).build();
        assert_eq!(
            h.reduce_resolution(0),
            Err(HistogramError::ReduceToHigherSchema { from: 0, to: 0 })
        );
        assert_eq!(
            h.reduce_resolution(-53),
            Err(HistogramError::ReduceToCustomBuckets)
        );
        assert_eq!(
            h.copy_to_schema(1),
            Err(HistogramError::ReduceToHigherSchema { from: 0, to: 1 })
        );
        let mut nhcb = hist(-53).custom(&[1.0]).pos(0, &[1.0]).build();
        assert_eq!(
            nhcb.reduce_resolution(-54),
            Err(HistogramError::ReduceCustomBuckets)
        );
        let mut broken = hist(1).pos(0, &[1.0]).build();
        broken.positive_buckets.push(2.0);
        let before = broken.clone();
        let err = broken.reduce_resolution(0).expect_err("inconsistent");
        assert_eq!(
            err.to_string(),
            "positive side: spans need 1 buckets, have 2 buckets: histogram spans specify different number of buckets than provided"
        );
        assert_eq!(broken, before);
    }

    #[test]
    fn histogram_compact_both_sides() {
        let mut h = hist(0)
            .pos(-2, &[0.0, 1.0, 0.0, 0.0, 2.0, 0.0])
            .neg(0, &[0.0, 0.0])
            .build();
        h.compact(0);
        assert_eq!(h.positive_spans, spans(&[(-1, 1), (2, 1)]));
        assert_eq!(h.positive_buckets, vec![1.0, 2.0]);
        assert!(h.negative_spans.is_empty() && h.negative_buckets.is_empty());
        h.compact(2);
        assert_eq!(h.positive_spans, spans(&[(-1, 4)]));
        assert_eq!(h.positive_buckets, vec![1.0, 0.0, 0.0, 2.0]);
    }
}
