//! Prometheus's string form of histograms and buckets.
//!
//! `count_values` uses the string of a histogram as a label value, and logs
//! and error messages show it, so it has to be Prometheus's
//! `FloatHistogram.String()`: count and sum, then the populated buckets from
//! the lowest to the highest in interval notation.

use std::fmt;

use super::gofmt::format_g;
use super::{Bucket, CounterResetHint, FloatHistogram};

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

impl FloatHistogram {
    /// The histogram in the `{{…}}` notation of promqltest scripts and
    /// promtool unit tests (Prometheus's `TestExpression`): compacted to one
    /// span per side, zero fields left out. promtool compares expected and
    /// actual histograms in this form, so it is a compatibility contract.
    pub fn test_expression(&self) -> String {
        let mut m = self.clone();
        m.compact(usize::MAX);
        let mut parts: Vec<String> = Vec::new();
        if m.schema != 0 {
            parts.push(format!("schema:{}", m.schema));
        }
        for (key, v) in [
            ("count", m.count),
            ("sum", m.sum),
            ("z_bucket", m.zero_count),
            ("z_bucket_w", m.zero_threshold),
        ] {
            if v != 0.0 {
                parts.push(format!("{key}:{}", format_g(v)));
            }
        }
        if m.uses_custom_buckets() {
            parts.push(format!("custom_values:{}", g_list(&m.custom_values)));
        }
        match m.counter_reset_hint {
            CounterResetHint::Unknown => {}
            CounterResetHint::CounterReset => parts.push("counter_reset_hint:reset".into()),
            CounterResetHint::NotCounterReset => parts.push("counter_reset_hint:not_reset".into()),
            CounterResetHint::Gauge => parts.push("counter_reset_hint:gauge".into()),
        }
        for (buckets, spans, key, offset_key) in [
            (&m.positive_buckets, &m.positive_spans, "buckets", "offset"),
            (
                &m.negative_buckets,
                &m.negative_spans,
                "n_buckets",
                "n_offset",
            ),
        ] {
            // Compaction leaves at most one span per side; upstream refuses
            // more, here later spans only lose their offsets.
            if let Some(span) = spans.first().filter(|s| s.offset != 0) {
                parts.push(format!("{offset_key}:{}", span.offset));
            }
            if !buckets.is_empty() {
                parts.push(format!("{key}:{}", g_list(buckets)));
            }
        }
        format!("{{{{{}}}}}", parts.join(" "))
    }
}

/// A float list as Go's `%g` prints a slice: `[1 2.5 3]`.
fn g_list(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|&v| format_g(v)).collect();
    format!("[{}]", items.join(" "))
}

#[cfg(test)]
mod tests {
    use super::super::Span;
    use super::super::testutil::hist;
    use super::*;

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

    #[test]
    fn test_expression_as_promtool_writes_it() {
        let h = FloatHistogram {
            schema: 1,
            sum: -0.3,
            count: 32.1,
            zero_count: 7.1,
            zero_threshold: 0.05,
            positive_spans: vec![Span {
                offset: -3,
                length: 3,
            }],
            positive_buckets: vec![5.1, 10.0, 7.0],
            negative_spans: vec![Span {
                offset: -5,
                length: 2,
            }],
            negative_buckets: vec![4.1, 5.0],
            counter_reset_hint: CounterResetHint::NotCounterReset,
            ..FloatHistogram::default()
        };
        assert_eq!(
            h.test_expression(),
            "{{schema:1 count:32.1 sum:-0.3 z_bucket:7.1 z_bucket_w:0.05 counter_reset_hint:not_reset offset:-3 buckets:[5.1 10 7] n_offset:-5 n_buckets:[4.1 5]}}"
        );
        assert_eq!(FloatHistogram::default().test_expression(), "{{}}");
    }
}
