//! Prometheus's string form of histograms and buckets.
//!
//! `count_values` uses the string of a histogram as a label value, and logs
//! and error messages show it, so it has to be Prometheus's
//! `FloatHistogram.String()`: count and sum, then the populated buckets from
//! the lowest to the highest in interval notation.

use std::fmt;

use super::gofmt::format_g;
use super::{Bucket, FloatHistogram};

impl fmt::Display for Bucket {
    /// `[lower,upper]:count`, with `(`/`)` for exclusive bounds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{},{}{}:{}",
            if self.lower_inclusive { '[' } else { '(' },
            format_g(self.lower),
            format_g(self.upper),
            if self.upper_inclusive { ']' } else { ')' },
            format_g(self.count)
        )
    }
}

impl fmt::Display for FloatHistogram {
    /// E.g. `{count:8, sum:4, [-2,-1):2, [-0.001,0.001]:1, (1,2]:5}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{count:{}, sum:{}",
            format_g(self.count),
            format_g(self.sum)
        )?;
        let negative: Vec<Bucket> = self
            .negative_bucket_iter()
            .filter(|b| b.count != 0.0)
            .collect();
        for b in negative.iter().rev() {
            write!(f, ", {b}")?;
        }
        if self.zero_count != 0.0
            && let Some(zero) = self.zero_bucket()
        {
            write!(f, ", {zero}")?;
        }
        for b in self.positive_bucket_iter().filter(|b| b.count != 0.0) {
            write!(f, ", {b}")?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::hist;

    #[test]
    fn histogram_display_matches_prometheus_string() {
        let h = hist(0)
            .count(19.0)
            .sum(2.7)
            .zero(0.1, 14.0)
            .pos(0, &[1.0, 0.0, 3.0])
            .neg(0, &[1.0])
            .build();
        assert_eq!(
            h.to_string(),
            "{count:19, sum:2.7, [-1,-0.5):1, [-0.1,0.1]:14, (0.5,1]:1, (2,4]:3}"
        );
        let h = hist(1)
            .count(3.0)
            .sum(-1e6)
            .pos(-2, &[1.0, 2.0])
            .neg(-1, &[3.5, 0.5])
            .build();
        assert_eq!(
            h.to_string(),
            "{count:3, sum:-1e+06, [-1,-0.7071067811865475):0.5, [-0.7071067811865475,-0.5):3.5, (0.35355339059327373,0.5]:1, (0.5,0.7071067811865475]:2}"
        );
        let nhcb = hist(-53)
            .custom(&[5.0, 10.0])
            .count(4.0)
            .sum(5.0)
            .pos(0, &[1.0, 2.0, 1.0])
            .build();
        assert_eq!(
            nhcb.to_string(),
            "{count:4, sum:5, [-Inf,5]:1, (5,10]:2, (10,+Inf]:1}"
        );
        assert_eq!(
            hist(0)
                .count(f64::NAN)
                .sum(f64::INFINITY)
                .build()
                .to_string(),
            "{count:NaN, sum:+Inf}"
        );
    }
}
