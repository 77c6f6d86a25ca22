//! Kahan-compensated histogram addition.
//!
//! `sum`, `avg`, `sum_over_time` and `avg_over_time` over histograms use
//! compensated summation in Prometheus 3.x, so that e.g. summing sums of
//! `3.1`, `1e100`, `-1e100` and `1.3` gives `4.4` and not `1.3`. The running
//! compensation is itself a histogram with exactly the layout of the running
//! sum; it is carried between calls and added to the sum at the very end
//! (with plain [`FloatHistogram::add`]), as Prometheus's `KahanAdd` callers
//! do.

use super::FloatHistogram;
use super::arith::{CombineOutcome, combined_hint};
use super::combine::Work;
use super::error::HistogramError;
use super::layout::{Cell, Side};

/// One step of Kahan–Babuška–Neumaier summation: adds `inc` to `sum` with
/// running compensation `c`, returning the new sum and compensation.
///
/// The final result is `sum + c`. When the sum overflows to ±Inf, the
/// compensation is reset so that the result stays infinite rather than
/// becoming NaN (Prometheus's `kahansum.Inc`).
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// A bucket value together with its running compensation.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Compensated {
    value: f64,
    comp: f64,
}

impl Cell for Compensated {
    const ZERO: Self = Compensated {
        value: 0.0,
        comp: 0.0,
    };

    fn lift(v: f64) -> Self {
        Compensated {
            value: v,
            comp: 0.0,
        }
    }

    fn negate(self) -> Self {
        Compensated {
            value: -self.value,
            comp: -self.comp,
        }
    }

    fn value(&self) -> f64 {
        self.value
    }

    fn is_empty(&self) -> bool {
        self.value == 0.0 && self.comp == 0.0
    }

    fn absorb(&mut self, other: Self) {
        let (value, comp) = kahan_inc(other.value, self.value, self.comp);
        self.value = value;
        self.comp = comp + other.comp;
    }
}

/// The result of [`FloatHistogram::kahan_add`].
#[derive(Debug, Clone, PartialEq)]
pub struct KahanOutcome {
    /// The running compensation, to be passed to the next `kahan_add` and
    /// finally added to the sum with [`FloatHistogram::add`].
    pub compensation: FloatHistogram,
    /// As for [`FloatHistogram::add`].
    pub outcome: CombineOutcome,
}

/// Whether `c` can serve as the compensation of `h` as it is.
fn same_layout(h: &FloatHistogram, c: &FloatHistogram) -> bool {
    h.schema == c.schema
        && h.zero_threshold.to_bits() == c.zero_threshold.to_bits()
        && h.custom_values == c.custom_values
        && h.positive_spans == c.positive_spans
        && h.negative_spans == c.negative_spans
        && h.positive_buckets.len() == c.positive_buckets.len()
        && h.negative_buckets.len() == c.negative_buckets.len()
}

fn pair(values: &[f64], comps: &[f64]) -> Vec<Compensated> {
    values
        .iter()
        .zip(comps)
        .map(|(&value, &comp)| Compensated { value, comp })
        .collect()
}

fn unpair(cells: &[Compensated]) -> (Vec<f64>, Vec<f64>) {
    cells.iter().map(|c| (c.value, c.comp)).unzip()
}

impl FloatHistogram {
    /// Adds `other` to `self` with Kahan compensation.
    ///
    /// `compensation` is the value returned by the previous call (`None` for
    /// the first one). After the last addition, finish with
    /// `self.add(&outcome.compensation)`; the compensation always carries
    /// `self`'s layout and counter reset hint, so that final addition changes
    /// neither. Layout reconciliation, counter reset hints and errors are
    /// exactly those of [`add`](Self::add); on error `self` is unchanged.
    pub fn kahan_add(
        &mut self,
        other: &FloatHistogram,
        compensation: Option<FloatHistogram>,
    ) -> Result<KahanOutcome, HistogramError> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::IncompatibleSchema);
        }
        let (hint, counter_reset_collision) =
            combined_hint(self.counter_reset_hint, other.counter_reset_hint);
        let compensation = match compensation {
            Some(c) if same_layout(self, &c) => c,
            Some(c) => {
                // The caller reshaped the sum since the last call (e.g. by
                // compacting it); fold the old compensation in and restart.
                self.add(&c)?;
                self.zeroed_like()
            }
            None => self.zeroed_like(),
        };

        let mut work = Work {
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero: Compensated {
                value: self.zero_count,
                comp: compensation.zero_count,
            },
            count: Compensated {
                value: self.count,
                comp: compensation.count,
            },
            sum: Compensated {
                value: self.sum,
                comp: compensation.sum,
            },
            pos: Side {
                spans: self.positive_spans.clone(),
                cells: pair(&self.positive_buckets, &compensation.positive_buckets),
            },
            neg: Side {
                spans: self.negative_spans.clone(),
                cells: pair(&self.negative_buckets, &compensation.negative_buckets),
            },
            custom_values: self.custom_values.clone(),
        };
        let nhcb_bounds_reconciled = work.combine(other, false)?;

        let (pos_values, pos_comps) = unpair(&work.pos.cells);
        let (neg_values, neg_comps) = unpair(&work.neg.cells);
        let compensation = FloatHistogram {
            counter_reset_hint: hint,
            schema: work.schema,
            zero_threshold: work.zero_threshold,
            zero_count: work.zero.comp,
            count: work.count.comp,
            sum: work.sum.comp,
            positive_spans: work.pos.spans.clone(),
            negative_spans: work.neg.spans.clone(),
            positive_buckets: pos_comps,
            negative_buckets: neg_comps,
            custom_values: work.custom_values.clone(),
        };
        self.counter_reset_hint = hint;
        self.schema = work.schema;
        self.zero_threshold = work.zero_threshold;
        self.zero_count = work.zero.value;
        self.count = work.count.value;
        self.sum = work.sum.value;
        self.positive_spans = work.pos.spans;
        self.negative_spans = work.neg.spans;
        self.positive_buckets = pos_values;
        self.negative_buckets = neg_values;
        self.custom_values = work.custom_values;
        Ok(KahanOutcome {
            compensation,
            outcome: CombineOutcome {
                counter_reset_collision,
                nhcb_bounds_reconciled,
            },
        })
    }

    /// A histogram with `self`'s layout and hint and all counts zero.
    fn zeroed_like(&self) -> FloatHistogram {
        FloatHistogram {
            counter_reset_hint: self.counter_reset_hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: 0.0,
            count: 0.0,
            sum: 0.0,
            positive_spans: self.positive_spans.clone(),
            negative_spans: self.negative_spans.clone(),
            positive_buckets: vec![0.0; self.positive_buckets.len()],
            negative_buckets: vec![0.0; self.negative_buckets.len()],
            custom_values: self.custom_values.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::CounterResetHint;
    use super::super::testutil::{assert_close, hist};
    use super::*;

    /// Sums histograms as PromQL's `sum` does: Kahan steps, then the
    /// compensation added once at the end.
    fn kahan_sum(hs: &[FloatHistogram]) -> FloatHistogram {
        let mut sum = hs[0].clone();
        let mut comp = None;
        for h in &hs[1..] {
            comp = Some(sum.kahan_add(h, comp).expect("compatible").compensation);
        }
        if let Some(c) = comp {
            sum.add(&c).expect("same layout");
        }
        sum.compact(0);
        sum
    }

    #[test]
    fn histogram_kahan_inc() {
        let (s, c) = kahan_inc(1e100, 3.1, 0.0);
        let (s, c) = kahan_inc(-1e100, s, c);
        let (s, c) = kahan_inc(1.3, s, c);
        assert_close(s + c, 4.4);
        // Overflow keeps the infinity.
        let (s, c) = kahan_inc(f64::MAX, f64::MAX, 0.0);
        assert_eq!((s, c), (f64::INFINITY, 0.0));
    }

    #[test]
    fn histogram_kahan_sum_matches_promql_test() {
        // native_histograms.test "Test native histograms with sum, count, avg":
        // sum(histogram_sum) = {{schema:0 count:107 sum:4.4 z_bucket:17
        // z_bucket_w:0.001 buckets:[5 14 7 7 3 2 2]
        // n_buckets:[3 13 19 6 17 18 0 0 0 10 10 4]}}.
        let hs = [
            hist(0)
                .count(25.0)
                .sum(3.1)
                .zero(0.001, 4.0)
                .pos(0, &[1.0, 2.0, 0.0, 1.0, 1.0])
                .neg(0, &[2.0, 4.0, 0.0, 0.0, 1.0, 9.0])
                .build(),
            hist(0)
                .count(41.0)
                .sum(1e100)
                .zero(0.001, 5.0)
                .pos(0, &[1.0, 3.0, 1.0, 2.0, 1.0, 1.0, 1.0])
                .neg(
                    0,
                    &[0.0, 1.0, 4.0, 2.0, 7.0, 0.0, 0.0, 0.0, 0.0, 5.0, 5.0, 2.0],
                )
                .build(),
            hist(0)
                .count(41.0)
                .sum(-1e100)
                .zero(0.001, 5.0)
                .pos(0, &[1.0, 3.0, 1.0, 2.0, 1.0, 1.0, 1.0])
                .neg(
                    0,
                    &[0.0, 1.0, 4.0, 2.0, 7.0, 0.0, 0.0, 0.0, 0.0, 5.0, 5.0, 2.0],
                )
                .build(),
            hist(1)
                .count(0.0)
                .sum(1.3)
                .zero(0.001, 3.0)
                .pos(0, &[2.0, 4.0, 2.0, 3.0, 2.0, 2.0])
                .neg(0, &[1.0, 2.0, 5.0, 3.0, 8.0, 1.0, 1.0, 1.0, 1.0, 6.0, 3.0])
                .build(),
        ];
        let sum = kahan_sum(&hs);
        assert_eq!(sum.schema, 0);
        assert_eq!(sum.count, 107.0);
        assert_close(sum.sum, 4.4);
        assert_eq!(sum.zero_count, 17.0);
        assert_eq!(
            sum.positive_buckets,
            vec![5.0, 14.0, 7.0, 7.0, 3.0, 2.0, 2.0]
        );
        let mut neg: Vec<f64> = Vec::new();
        for (idx, v) in
            super::super::layout::Decode::new(&sum.negative_spans, &sum.negative_buckets)
        {
            let pos = usize::try_from(idx).expect("non-negative index");
            neg.resize(neg.len().max(pos + 1), 0.0);
            neg[pos] = v;
        }
        assert_eq!(
            neg,
            vec![
                3.0, 13.0, 19.0, 6.0, 17.0, 18.0, 0.0, 0.0, 0.0, 10.0, 10.0, 4.0
            ]
        );

        // Plain addition loses the small sums entirely.
        let mut plain = hs[0].clone();
        for h in &hs[1..] {
            plain.add(h).expect("compatible");
        }
        assert_close(plain.sum, 1.3);
    }

    #[test]
    fn histogram_kahan_sum_over_time_cases() {
        // native_histograms.test: sum_over_time(histogram_sum_over_time_3)
        // over sums 1, 1e100, 1, -1e100 gives {{count:10 sum:2}}.
        let hs: Vec<FloatHistogram> = [(1.0, 1.0), (2.0, 1e100), (3.0, 1.0), (4.0, -1e100)]
            .iter()
            .map(|&(count, sum)| hist(0).count(count).sum(sum).build())
            .collect();
        let sum = kahan_sum(&hs);
        assert_eq!(sum.count, 10.0);
        assert_close(sum.sum, 2.0);

        // histogram_sum_over_time_4: 5.3, 1e100, 1, -1e100, 2, 1e50, -1e50 -> 8.3.
        let sums = [5.3, 1e100, 1.0, -1e100, 2.0, 1e50, -1e50];
        let hs: Vec<FloatHistogram> = sums
            .iter()
            .zip(1..)
            .map(|(&sum, count)| hist(0).count(f64::from(count)).sum(sum).build())
            .collect();
        let sum = kahan_sum(&hs);
        assert_eq!(sum.count, 28.0);
        assert_close(sum.sum, 8.3);

        // Counts overflowing to +Inf stay +Inf
        // (histogram_sum_over_time_incremental_6 gives count:Inf sum:2).
        let hs = [
            hist(0).count(f64::MAX).sum(1.0).build(),
            hist(0).count(1e308).sum(1e100).build(),
            hist(0).count(1e-6).sum(1.0).build(),
            hist(0).count(1e-6).sum(-1e100).build(),
        ];
        let sum = kahan_sum(&hs);
        assert_eq!(sum.count, f64::INFINITY);
        assert_close(sum.sum, 2.0);
    }

    #[test]
    fn histogram_kahan_add_reconciles_layouts_like_add() {
        let a = hist(1)
            .count(10.0)
            .zero(0.25, 1.0)
            .pos(-3, &[1.0, 2.0, 3.0, 4.0])
            .neg(0, &[1.0])
            .build();
        let b = hist(0)
            .count(7.0)
            .zero(0.5, 2.0)
            .pos(0, &[1.0, 1.0, 1.0])
            .build();
        let c = hist(-1).count(3.0).zero(0.5, 1.0).neg(2, &[1.0]).build();
        let mut plain = a.clone();
        plain.add(&b).expect("compatible");
        plain.add(&c).expect("compatible");
        plain.compact(0);
        let kahan = kahan_sum(&[a, b, c]);
        assert!(kahan.equals(&plain), "{kahan:?} vs {plain:?}");
    }

    #[test]
    fn histogram_kahan_add_custom_buckets_and_errors() {
        let a = hist(-53)
            .custom(&[5.0, 10.0])
            .count(1.0)
            .sum(1.0)
            .pos(0, &[1.0])
            .build();
        let b = hist(-53)
            .custom(&[10.0])
            .count(1.0)
            .sum(1.0)
            .pos(0, &[1.0])
            .build();
        let mut sum = a.clone();
        let out = sum.kahan_add(&b, None).expect("reconcilable");
        assert!(out.outcome.nhcb_bounds_reconciled);
        assert_eq!(out.compensation.custom_values, vec![10.0]);
        sum.add(&out.compensation).expect("same layout");
        assert_eq!(sum.custom_values, vec![10.0]);
        assert_eq!(sum.positive_buckets, vec![2.0]);

        let mut exp = hist(0).count(1.0).build();
        let before = exp.clone();
        assert_eq!(
            exp.kahan_add(&a, None),
            Err(HistogramError::IncompatibleSchema)
        );
        assert_eq!(exp, before);
    }

    #[test]
    fn histogram_kahan_compensation_follows_hint() {
        let mut sum = hist(0)
            .count(1.0)
            .hint(CounterResetHint::CounterReset)
            .build();
        let other = hist(0)
            .count(1.0)
            .hint(CounterResetHint::NotCounterReset)
            .build();
        let out = sum.kahan_add(&other, None).expect("compatible");
        assert!(out.outcome.counter_reset_collision);
        assert_eq!(sum.counter_reset_hint, CounterResetHint::Unknown);
        assert_eq!(
            out.compensation.counter_reset_hint,
            CounterResetHint::Unknown
        );
        // A compensation that no longer fits the sum is folded in.
        let mut sum = hist(0).count(1.0).pos(0, &[1.0, 0.0, 1.0]).build();
        let comp = sum
            .kahan_add(&hist(0).count(1.0).build(), None)
            .expect("ok")
            .compensation;
        sum.compact(0);
        let out = sum
            .kahan_add(&hist(0).count(1.0).build(), Some(comp))
            .expect("ok");
        assert_eq!(sum.count, 3.0);
        assert!(same_layout(&sum, &out.compensation));
    }
}
