//! Histogram arithmetic: `+`, `-`, and scaling by a float.
//!
//! These are the operations PromQL's binary operators, `sum`, `avg`,
//! `rate` and friends are built from. Besides the counts they also decide
//! the counter reset hint of the result, and they report the two situations
//! PromQL turns into annotations: conflicting counter reset hints and
//! reconciled custom bounds.

use super::combine::Work;
use super::error::HistogramError;
use super::layout::Side;
use super::{CounterResetHint, FloatHistogram};

/// Side information from an addition or subtraction that PromQL reports to
/// the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CombineOutcome {
    /// One operand said "counter reset" and the other "no counter reset";
    /// the result's hint was set to unknown. PromQL warns about this.
    pub counter_reset_collision: bool,
    /// The operands were custom-bucket histograms with different bounds and
    /// were reconciled to the bounds they share. PromQL reports this as an
    /// info annotation.
    pub nhcb_bounds_reconciled: bool,
}

/// The counter reset hint of `mine + other` (or `mine - other`), and whether
/// the two hints collided (Prometheus's `adjustCounterReset`).
pub(crate) fn combined_hint(
    mine: CounterResetHint,
    other: CounterResetHint,
) -> (CounterResetHint, bool) {
    use CounterResetHint::{Gauge, Unknown};
    match (mine, other) {
        _ if mine == other => (mine, false),
        // Adding anything to a gauge, or a gauge to anything, gives a gauge.
        (Gauge, _) | (_, Gauge) => (Gauge, false),
        // An unknown hint on either side stays unknown.
        (Unknown, _) | (_, Unknown) => (Unknown, false),
        // CounterReset meets NotCounterReset.
        _ => (Unknown, true),
    }
}

/// Which of the two decisive counter reset hints the operands of a sum
/// carried: Prometheus warns about conflicting counter resets when a sum of
/// histograms (`sum`, `avg`, `sum_over_time`, …) met both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HintsSeen {
    reset: bool,
    not_reset: bool,
}

impl HintsSeen {
    /// Notes the hint of one operand.
    pub fn note(&mut self, h: &FloatHistogram) {
        match h.counter_reset_hint {
            CounterResetHint::CounterReset => self.reset = true,
            CounterResetHint::NotCounterReset => self.not_reset = true,
            CounterResetHint::Unknown | CounterResetHint::Gauge => {}
        }
    }

    /// Whether both a reset and a non-reset were seen.
    pub fn collided(&self) -> bool {
        self.reset && self.not_reset
    }
}

impl Work<f64> {
    /// Moves the histogram's data into a work area (no copying).
    fn take_from(h: &mut FloatHistogram) -> Work<f64> {
        Work {
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero: h.zero_count,
            count: h.count,
            sum: h.sum,
            pos: Side {
                spans: std::mem::take(&mut h.positive_spans),
                cells: std::mem::take(&mut h.positive_buckets),
            },
            neg: Side {
                spans: std::mem::take(&mut h.negative_spans),
                cells: std::mem::take(&mut h.negative_buckets),
            },
            custom_values: std::mem::take(&mut h.custom_values),
        }
    }

    /// Moves the data back into the histogram.
    fn put_into(self, h: &mut FloatHistogram) {
        h.schema = self.schema;
        h.zero_threshold = self.zero_threshold;
        h.zero_count = self.zero;
        h.count = self.count;
        h.sum = self.sum;
        h.positive_spans = self.pos.spans;
        h.positive_buckets = self.pos.cells;
        h.negative_spans = self.neg.spans;
        h.negative_buckets = self.neg.cells;
        h.custom_values = self.custom_values;
    }
}

impl FloatHistogram {
    /// Adds `other` to `self` (Prometheus's `FloatHistogram.Add`).
    ///
    /// Layouts are reconciled first: the result has the lower of the two
    /// schemas and the larger zero threshold (widened further if it would
    /// cut through a populated bucket). Custom-bucket histograms with
    /// different bounds are reduced to the bounds they share, which the
    /// outcome reports. The result may contain empty buckets and adjacent
    /// spans; call [`compact`](Self::compact) to normalise it.
    ///
    /// Fails, leaving `self` unchanged, when an exponential histogram meets
    /// a custom-bucket one, or when a histogram whose layout must be
    /// re-bucketed is inconsistent.
    pub fn add(&mut self, other: &FloatHistogram) -> Result<CombineOutcome, HistogramError> {
        self.combine_with(other, false)
    }

    /// Subtracts `other` from `self`; like [`add`](Self::add) otherwise,
    /// including the counter reset hint rules. (PromQL's `-` operator then
    /// marks the result as a gauge itself; incremental averaging relies on
    /// the hint not being forced here.)
    pub fn sub(&mut self, other: &FloatHistogram) -> Result<CombineOutcome, HistogramError> {
        self.combine_with(other, true)
    }

    fn combine_with(
        &mut self,
        other: &FloatHistogram,
        negate: bool,
    ) -> Result<CombineOutcome, HistogramError> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::IncompatibleSchema);
        }
        let (hint, counter_reset_collision) =
            combined_hint(self.counter_reset_hint, other.counter_reset_hint);
        let mut work = Work::take_from(self);
        let result = work.combine(other, negate);
        work.put_into(self);
        let nhcb_bounds_reconciled = result?;
        self.counter_reset_hint = hint;
        Ok(CombineOutcome {
            counter_reset_collision,
            nhcb_bounds_reconciled,
        })
    }

    /// Multiplies all counts and the sum by `factor`, keeping the layout.
    /// A negative factor makes the histogram a gauge.
    pub fn mul(&mut self, factor: f64) -> &mut Self {
        self.zero_count *= factor;
        self.count *= factor;
        self.sum *= factor;
        for b in self
            .positive_buckets
            .iter_mut()
            .chain(self.negative_buckets.iter_mut())
        {
            *b *= factor;
        }
        if factor < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
        self
    }

    /// Divides all counts and the sum by `scalar`. A negative divisor makes
    /// the histogram a gauge.
    ///
    /// Division by zero (of either sign) follows Prometheus: count, sum and
    /// zero count become ±Inf (or NaN for 0/0) and all other buckets are
    /// removed, and the hint is left alone.
    pub fn div(&mut self, scalar: f64) -> &mut Self {
        self.zero_count /= scalar;
        self.count /= scalar;
        self.sum /= scalar;
        if scalar == 0.0 {
            self.positive_buckets.clear();
            self.negative_buckets.clear();
            self.positive_spans.clear();
            self.negative_spans.clear();
            return self;
        }
        for b in self
            .positive_buckets
            .iter_mut()
            .chain(self.negative_buckets.iter_mut())
        {
            *b /= scalar;
        }
        if scalar < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::hist;
    use super::super::{CounterResetHint as Hint, Span};
    use super::*;

    fn spans(list: &[(i32, u32)]) -> Vec<Span> {
        list.iter()
            .map(|&(offset, length)| Span { offset, length })
            .collect()
    }

    #[test]
    fn histogram_add_same_layout() {
        // native_histograms.test: incr_histogram after one step.
        let mut h = hist(0).count(4.0).sum(4.0).pos(0, &[1.0, 2.0, 1.0]).build();
        let inc = hist(0).count(1.0).sum(2.0).pos(1, &[1.0]).build();
        h.add(&inc).expect("compatible");
        assert_eq!(h.count, 5.0);
        assert_eq!(h.sum, 6.0);
        assert_eq!(h.positive_buckets, vec![1.0, 3.0, 1.0]);
        assert_eq!(h.positive_spans, spans(&[(0, 3)]));
    }

    #[test]
    fn histogram_add_reduces_to_lower_schema() {
        // native_histograms.test: low_res_histogram, schema -1 plus schema 0
        // gives {{schema:-1 count:5 sum:8 offset:1 buckets:[5]}}.
        let mut h = hist(-1).count(1.0).sum(4.0).pos(1, &[1.0]).build();
        let fine = hist(0).count(4.0).sum(4.0).pos(1, &[2.0, 2.0]).build();
        h.add(&fine).expect("compatible");
        assert_eq!(h.schema, -1);
        assert_eq!((h.count, h.sum), (5.0, 8.0));
        assert_eq!(h.positive_spans, spans(&[(1, 1)]));
        assert_eq!(h.positive_buckets, vec![5.0]);

        // The receiver is reduced when the other one is coarser.
        let mut h = hist(0).count(4.0).sum(4.0).pos(1, &[2.0, 2.0]).build();
        let coarse = hist(-1).count(1.0).sum(4.0).pos(1, &[1.0]).build();
        h.add(&coarse).expect("compatible");
        assert_eq!(h.schema, -1);
        assert_eq!(h.positive_spans, spans(&[(1, 1)]));
        assert_eq!(h.positive_buckets, vec![5.0]);
    }

    #[test]
    fn histogram_sum_of_mixed_schemas_matches_promql_test() {
        // native_histograms.test: sum(histogram_sum{idx="0"} + histogram_sum{idx="3"}).
        let mut a = hist(0)
            .count(25.0)
            .sum(3.1)
            .zero(0.001, 4.0)
            .pos(0, &[1.0, 2.0, 0.0, 1.0, 1.0])
            .neg(0, &[2.0, 4.0, 0.0, 0.0, 1.0, 9.0])
            .build();
        let b = hist(1)
            .count(0.0)
            .sum(1.3)
            .zero(0.001, 3.0)
            .pos(0, &[2.0, 4.0, 2.0, 3.0, 2.0, 2.0])
            .neg(0, &[1.0, 2.0, 5.0, 3.0, 8.0, 1.0, 1.0, 1.0, 1.0, 6.0, 3.0])
            .build();
        a.add(&b).expect("compatible");
        a.compact(0);
        assert_eq!(a.schema, 0);
        assert_eq!(a.count, 25.0);
        assert!((a.sum - 4.4).abs() < 1e-12);
        assert_eq!(a.zero_count, 7.0);
        assert_eq!(a.positive_buckets, vec![3.0, 8.0, 5.0, 3.0, 1.0]);
        assert_eq!(a.negative_buckets, vec![3.0, 11.0, 11.0, 2.0, 3.0, 18.0]);
        assert_eq!(a.positive_spans, spans(&[(0, 5)]));
    }

    #[test]
    fn histogram_add_reconciles_zero_thresholds() {
        // Other's zero bucket is wider and cuts into our (0.5,1] bucket,
        // which is populated, so the threshold is raised to 1.
        let mut h = hist(0)
            .count(6.0)
            .zero(0.25, 1.0)
            .pos(-1, &[1.0, 2.0, 2.0])
            .build();
        let other = hist(0).count(3.0).zero(0.7, 1.0).pos(1, &[2.0]).build();
        h.add(&other).expect("compatible");
        assert_eq!(h.zero_threshold, 1.0);
        assert_eq!(h.zero_count, 1.0 + 1.0 + 2.0 + 1.0);
        assert_eq!(h.positive_spans, spans(&[(1, 1)]));
        assert_eq!(h.positive_buckets, vec![4.0]);
        assert_eq!(h.count, 9.0);

        // Our zero bucket is wider: other's buckets inside it move into the
        // zero count and are skipped.
        let mut h = hist(0).count(2.0).zero(1.0, 2.0).build();
        let other = hist(0)
            .count(4.0)
            .zero(0.25, 1.0)
            .pos(-1, &[1.0, 1.0, 1.0])
            .build();
        h.add(&other).expect("compatible");
        assert_eq!(h.zero_threshold, 1.0);
        assert_eq!(h.zero_count, 2.0 + 1.0 + 1.0 + 1.0);
        assert_eq!(h.positive_spans, spans(&[(1, 1)]));
        assert_eq!(h.positive_buckets, vec![1.0]);
    }

    #[test]
    fn histogram_sub_negates_and_keeps_hint_rules() {
        let mut h = hist(0)
            .count(4.0)
            .sum(4.0)
            .pos(0, &[1.0, 2.0, 1.0])
            .hint(Hint::NotCounterReset)
            .build();
        let other = hist(0)
            .count(1.0)
            .sum(1.0)
            .pos(2, &[1.0, 5.0])
            .hint(Hint::NotCounterReset)
            .build();
        let outcome = h.sub(&other).expect("compatible");
        assert_eq!(outcome, CombineOutcome::default());
        assert_eq!(h.positive_buckets, vec![1.0, 2.0, 0.0, -5.0]);
        assert_eq!((h.count, h.sum), (3.0, 3.0));
        assert_eq!(h.counter_reset_hint, Hint::NotCounterReset);
    }

    #[test]
    fn histogram_sub_across_schemas_matches_promql_test() {
        // native_histograms.test "Test native histograms with sub operator".
        let big = || {
            hist(0)
                .count(41.0)
                .sum(2345.6)
                .zero(0.001, 5.0)
                .pos(0, &[1.0, 3.0, 1.0, 2.0, 1.0, 1.0, 1.0])
                .neg(
                    0,
                    &[0.0, 1.0, 4.0, 2.0, 7.0, 0.0, 0.0, 0.0, 0.0, 5.0, 5.0, 2.0],
                )
                .build()
        };
        let small = |schema| {
            hist(schema)
                .count(11.0)
                .sum(1234.5)
                .zero(0.001, 3.0)
                .pos(0, &[0.0, 2.0, 1.0])
                .neg(0, &[0.0, 0.0, 3.0, 2.0])
                .build()
        };
        let dense = |h: &FloatHistogram| {
            let mut out = (Vec::new(), Vec::new());
            for (positive, side) in [(true, &mut out.0), (false, &mut out.1)] {
                for (idx, v) in h.merged_buckets(positive, 0.0, h.schema) {
                    let i = usize::try_from(idx).expect("non-negative");
                    side.resize(side.len().max(i + 1), 0.0);
                    side[i] = v;
                }
            }
            out
        };

        let mut h = big();
        h.sub(&small(0)).expect("compatible");
        h.compact(0);
        assert_eq!((h.schema, h.count, h.zero_count), (0, 30.0, 2.0));
        assert!((h.sum - 1111.1).abs() < 1e-9);
        let (pos, neg) = dense(&h);
        assert_eq!(pos, vec![1.0, 1.0, 0.0, 2.0, 1.0, 1.0, 1.0]);
        assert_eq!(
            neg,
            vec![0.0, 1.0, 1.0, 0.0, 7.0, 0.0, 0.0, 0.0, 0.0, 5.0, 5.0, 2.0]
        );

        let mut h = big();
        h.sub(&small(1)).expect("compatible");
        h.compact(0);
        let (pos, neg) = dense(&h);
        assert_eq!(pos, vec![1.0, 0.0, 1.0, 2.0, 1.0, 1.0, 1.0]);
        assert_eq!(
            neg,
            vec![0.0, -2.0, 2.0, 2.0, 7.0, 0.0, 0.0, 0.0, 0.0, 5.0, 5.0, 2.0]
        );

        let mut h = small(1);
        h.sub(&big()).expect("compatible");
        h.compact(0);
        assert_eq!((h.schema, h.count, h.zero_count), (0, -30.0, -2.0));
        let (pos, neg) = dense(&h);
        assert_eq!(pos, vec![-1.0, 0.0, -1.0, -2.0, -1.0, -1.0, -1.0]);
        assert_eq!(
            neg,
            vec![
                0.0, 2.0, -2.0, -2.0, -7.0, 0.0, 0.0, 0.0, 0.0, -5.0, -5.0, -2.0
            ]
        );
    }

    #[test]
    fn histogram_add_keeps_adjacent_spans_until_compacted() {
        let mut h = FloatHistogram {
            positive_spans: spans(&[(0, 2), (3, 2)]),
            positive_buckets: vec![1.0; 4],
            ..FloatHistogram::default()
        };
        let other = hist(0).pos(2, &[1.0, 1.0, 1.0]).build();
        h.add(&other).expect("compatible");
        assert_eq!(h.positive_spans, spans(&[(0, 5), (0, 2)]));
        let mut compacted = h.clone();
        compacted.compact(0);
        assert_eq!(compacted.positive_spans, spans(&[(0, 7)]));
        assert!(!h.equals(&compacted), "Equals tells adjacent spans apart");
    }

    #[test]
    fn histogram_counter_reset_hint_rules() {
        use Hint::*;
        assert_eq!(combined_hint(Gauge, CounterReset), (Gauge, false));
        assert_eq!(combined_hint(NotCounterReset, Gauge), (Gauge, false));
        assert_eq!(combined_hint(Unknown, CounterReset), (Unknown, false));
        assert_eq!(combined_hint(CounterReset, Unknown), (Unknown, false));
        assert_eq!(
            combined_hint(CounterReset, CounterReset),
            (CounterReset, false)
        );
        assert_eq!(
            combined_hint(CounterReset, NotCounterReset),
            (Unknown, true)
        );
        assert_eq!(
            combined_hint(NotCounterReset, CounterReset),
            (Unknown, true)
        );

        let mut h = hist(0).hint(CounterReset).build();
        let outcome = h
            .add(&hist(0).hint(NotCounterReset).build())
            .expect("compatible");
        assert!(outcome.counter_reset_collision);
        assert_eq!(h.counter_reset_hint, Unknown);
    }

    #[test]
    fn histogram_mixing_exponential_and_custom_is_an_error() {
        let mut exp = hist(0).count(1.0).pos(0, &[1.0]).build();
        let before = exp.clone();
        let nhcb = hist(-53)
            .custom(&[5.0, 10.0])
            .count(1.0)
            .pos(0, &[1.0])
            .build();
        let err = exp.add(&nhcb).expect_err("mixed schemas");
        assert_eq!(err, HistogramError::IncompatibleSchema);
        assert_eq!(
            err.to_string(),
            "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas"
        );
        assert_eq!(exp, before);
        let mut nhcb2 = nhcb.clone();
        assert_eq!(nhcb2.sub(&before), Err(HistogramError::IncompatibleSchema));
    }

    #[test]
    fn histogram_custom_buckets_add_and_reconcile_bounds() {
        // Identical bounds add bucket by bucket.
        let mut h = hist(-53)
            .custom(&[5.0, 10.0])
            .count(4.0)
            .sum(5.0)
            .pos(0, &[1.0, 2.0, 1.0])
            .build();
        let same = hist(-53)
            .custom(&[5.0, 10.0])
            .count(1.0)
            .sum(1.0)
            .pos(1, &[1.0])
            .build();
        assert_eq!(h.add(&same).expect("compatible"), CombineOutcome::default());
        assert_eq!(h.positive_buckets, vec![1.0, 3.0, 1.0]);

        // native_histograms.test "mismatched boundaries with arithmetic binary
        // operators": [10] + [5 10] gives {{custom_values:[10] buckets:[2]}}
        // with an info annotation.
        let mut h = hist(-53)
            .custom(&[10.0])
            .count(1.0)
            .sum(1.0)
            .pos(0, &[1.0])
            .build();
        let other = hist(-53)
            .custom(&[5.0, 10.0])
            .count(1.0)
            .sum(1.0)
            .pos(0, &[1.0])
            .build();
        let outcome = h.add(&other).expect("reconcilable");
        assert!(outcome.nhcb_bounds_reconciled);
        assert_eq!(h.custom_values, vec![10.0]);
        assert_eq!(h.positive_spans, spans(&[(0, 1)]));
        assert_eq!(h.positive_buckets, vec![2.0]);
        assert_eq!((h.count, h.sum), (2.0, 2.0));

        // ... and subtraction leaves an empty histogram.
        let mut h = hist(-53)
            .custom(&[10.0])
            .count(1.0)
            .sum(1.0)
            .pos(0, &[1.0])
            .build();
        let outcome = h.sub(&other).expect("reconcilable");
        assert!(outcome.nhcb_bounds_reconciled);
        assert_eq!(h.custom_values, vec![10.0]);
        assert!(h.positive_spans.is_empty() && h.positive_buckets.is_empty());
        assert_eq!((h.count, h.sum), (0.0, 0.0));

        // Buckets above the last common bound go to the +Inf bucket.
        let mut h = hist(-53)
            .custom(&[2.0, 10.0])
            .pos(0, &[1.0, 1.0, 1.0])
            .build();
        let other = hist(-53)
            .custom(&[5.0, 10.0])
            .pos(0, &[4.0, 4.0, 4.0])
            .build();
        h.add(&other).expect("reconcilable");
        assert_eq!(h.custom_values, vec![10.0]);
        assert_eq!(h.positive_buckets, vec![10.0, 5.0]);
    }

    #[test]
    fn histogram_mul_and_div() {
        // native_histograms.test: histogram_mul_div.
        let base = hist(0)
            .count(30.0)
            .sum(33.0)
            .zero(0.001, 3.0)
            .pos(0, &[3.0, 3.0, 3.0])
            .neg(0, &[6.0, 6.0, 6.0])
            .build();
        let mut h = base.clone();
        h.mul(3.0);
        assert_eq!((h.count, h.sum, h.zero_count), (90.0, 99.0, 9.0));
        assert_eq!(h.negative_buckets, vec![18.0; 3]);
        assert_eq!(h.counter_reset_hint, Hint::Unknown);

        let mut h = base.clone();
        h.mul(-1.0);
        assert_eq!(h.positive_buckets, vec![-3.0; 3]);
        assert_eq!(h.counter_reset_hint, Hint::Gauge);

        let mut h = base.clone();
        h.div(3.0);
        assert_eq!((h.count, h.sum, h.zero_count), (10.0, 11.0, 1.0));
        assert_eq!(h.negative_buckets, vec![2.0; 3]);

        let mut h = base.clone();
        h.div(-3.0);
        assert_eq!(h.positive_buckets, vec![-1.0; 3]);
        assert_eq!(h.counter_reset_hint, Hint::Gauge);

        // Division by zero: {{count:Inf sum:Inf z_bucket:Inf}} without buckets.
        let mut h = base.clone();
        h.div(0.0);
        assert_eq!(
            (h.count, h.sum, h.zero_count),
            (f64::INFINITY, f64::INFINITY, f64::INFINITY)
        );
        assert!(h.positive_buckets.is_empty() && h.negative_spans.is_empty());
        assert_eq!(h.zero_threshold, 0.001);

        // 0/0 gives NaN; -0 does not make a gauge.
        let mut h = base.clone();
        h.mul(0.0).div(-0.0);
        assert!(h.count.is_nan() && h.sum.is_nan() && h.zero_count.is_nan());
        assert_eq!(h.counter_reset_hint, Hint::Unknown);
    }
}
