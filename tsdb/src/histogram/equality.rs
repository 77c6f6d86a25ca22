//! Prometheus's notion of two histograms being the same sample.
//!
//! `changes()` counts a change whenever consecutive histograms are not
//! `Equals`, and deduplication relies on it too, so the comparison has to
//! match Prometheus's: floats by bit pattern (a NaN sum equals itself, `0`
//! and `-0` differ), layouts equal up to empty spans, custom bounds by value.

use super::FloatHistogram;
use super::combine::bounds_match;
use super::layout::spans_match;

fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

fn same_buckets(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| same_bits(x, y))
}

impl FloatHistogram {
    /// Whether `other` is exactly the same histogram (Prometheus's
    /// `Equals`): same schema, bit-identical count, sum, zero count and
    /// bucket values, the same zero threshold (compared as a number), the
    /// same custom bounds for custom buckets, and span lists that describe
    /// the same buckets once zero-length spans are ignored. The counter
    /// reset hint is not compared.
    pub fn equals(&self, other: &FloatHistogram) -> bool {
        if self.schema != other.schema
            || !same_bits(self.count, other.count)
            || !same_bits(self.sum, other.sum)
        {
            return false;
        }
        if self.uses_custom_buckets() && !bounds_match(&self.custom_values, &other.custom_values) {
            return false;
        }
        #[allow(clippy::float_cmp)]
        let same_threshold = self.zero_threshold == other.zero_threshold;
        same_threshold
            && same_bits(self.zero_count, other.zero_count)
            && spans_match(&self.negative_spans, &other.negative_spans)
            && same_buckets(&self.negative_buckets, &other.negative_buckets)
            && spans_match(&self.positive_spans, &other.positive_spans)
            && same_buckets(&self.positive_buckets, &other.positive_buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::hist;
    use super::super::{CounterResetHint, Span};

    #[test]
    fn histogram_equals_compares_bits_and_layouts() {
        let a = hist(0).count(4.0).sum(f64::NAN).pos(0, &[1.0, 2.0]).build();
        let mut b = a.clone();
        assert!(a.equals(&b));
        assert_ne!(a, b, "structural equality sees NaN != NaN");
        b.counter_reset_hint = CounterResetHint::Gauge;
        assert!(a.equals(&b), "the hint is not compared");
        // An empty span in between does not matter ...
        b.positive_spans = vec![
            Span {
                offset: 0,
                length: 1,
            },
            Span {
                offset: 0,
                length: 0,
            },
            Span {
                offset: 0,
                length: 1,
            },
        ];
        assert!(!a.equals(&b), "adjacent spans are a different layout");
        b.positive_spans = vec![
            Span {
                offset: -1,
                length: 0,
            },
            Span {
                offset: 1,
                length: 2,
            },
        ];
        assert!(a.equals(&b));
        // ... but a sign of zero does.
        let z = hist(0).count(0.0).build();
        let nz = hist(0).count(-0.0).build();
        assert!(!z.equals(&nz));
        // Zero thresholds compare as numbers.
        let t = hist(0).zero(-0.0, 0.0).build();
        assert!(t.equals(&hist(0).build()));
        // Custom bounds must match.
        let c1 = hist(-53).custom(&[1.0, 2.0]).build();
        let c2 = hist(-53).custom(&[1.0, 3.0]).build();
        assert!(!c1.equals(&c2));
        assert!(c1.equals(&c1.clone()));
    }
}
