//! Consistency checks of a histogram.
//!
//! Histograms arrive from scrapes, remote write and the WAL; before storage
//! or PromQL rely on spans and buckets agreeing, [`FloatHistogram::validate`]
//! checks them with Prometheus's rules and messages.

use super::error::HistogramError;
use super::{FloatHistogram, Span, is_custom_buckets_schema, is_exponential_schema};

/// Spans must describe exactly `buckets` buckets, with no negative offset
/// after the first span.
pub(crate) fn check_spans(spans: &[Span], buckets: usize) -> Result<(), HistogramError> {
    let mut need = 0usize;
    for (n, span) in spans.iter().enumerate() {
        if n > 0 && span.offset < 0 {
            return Err(HistogramError::SpanNegativeOffset {
                span: n + 1,
                offset: span.offset,
            });
        }
        need = need.saturating_add(usize::try_from(span.length).unwrap_or(usize::MAX));
    }
    if need != buckets {
        return Err(HistogramError::SpansBucketsMismatch {
            need,
            have: buckets,
        });
    }
    Ok(())
}

/// No bucket may have a negative count.
fn check_buckets(buckets: &[f64]) -> Result<(), HistogramError> {
    match buckets.iter().position(|&c| c < 0.0) {
        Some(i) => Err(HistogramError::NegativeBucketCount {
            bucket: i + 1,
            count: buckets[i],
        }),
        None => Ok(()),
    }
}

/// Custom bounds must be strictly increasing, finite at the top, and
/// sufficient for the spans; custom spans start at index 0 or later.
fn check_custom_bounds(
    bounds: &[f64],
    spans: &[Span],
    buckets: usize,
) -> Result<(), HistogramError> {
    let mut previous = f64::NEG_INFINITY;
    for (i, &current) in bounds.iter().enumerate() {
        if current.is_nan() {
            return Err(HistogramError::CustomBoundsNaN);
        }
        if i > 0 && current <= previous {
            return Err(HistogramError::CustomBoundsNotIncreasing { previous, current });
        }
        previous = current;
    }
    if previous == f64::INFINITY {
        return Err(HistogramError::CustomBoundsInfinite);
    }
    let mut need = 0usize;
    let mut covered = 0i64;
    for (n, span) in spans.iter().enumerate() {
        if span.offset < 0 {
            return Err(HistogramError::SpanNegativeOffset {
                span: n + 1,
                offset: span.offset,
            });
        }
        need = need.saturating_add(usize::try_from(span.length).unwrap_or(usize::MAX));
        covered += i64::from(span.length) + i64::from(span.offset);
    }
    if need != buckets {
        return Err(HistogramError::SpansBucketsMismatch {
            need,
            have: buckets,
        });
    }
    let defined = i64::try_from(bounds.len()).unwrap_or(i64::MAX);
    if defined.saturating_add(1) < covered {
        return Err(HistogramError::CustomBoundsTooFew {
            defined: bounds.len(),
            needed: usize::try_from(covered).unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

impl FloatHistogram {
    /// Checks that spans and buckets agree, that no count is negative, and
    /// that the fields unused by the schema are empty (Prometheus's
    /// `FloatHistogram.Validate`).
    ///
    /// Like Prometheus it does not check that `count` equals the sum of the
    /// buckets: float rounding makes that unreliable.
    pub fn validate(&self) -> Result<(), HistogramError> {
        if is_custom_buckets_schema(self.schema) {
            check_custom_bounds(
                &self.custom_values,
                &self.positive_spans,
                self.positive_buckets.len(),
            )
            .map_err(|e| e.within("custom buckets"))?;
            if self.zero_count != 0.0 {
                return Err(HistogramError::CustomBucketsZeroCount);
            }
            if self.zero_threshold != 0.0 {
                return Err(HistogramError::CustomBucketsZeroThreshold);
            }
            if !self.negative_spans.is_empty() {
                return Err(HistogramError::CustomBucketsNegativeSpans);
            }
            if !self.negative_buckets.is_empty() {
                return Err(HistogramError::CustomBucketsNegativeBuckets);
            }
        } else if is_exponential_schema(self.schema) {
            check_spans(&self.positive_spans, self.positive_buckets.len())
                .map_err(|e| e.within("positive side"))?;
            check_spans(&self.negative_spans, self.negative_buckets.len())
                .map_err(|e| e.within("negative side"))?;
            check_buckets(&self.negative_buckets).map_err(|e| e.within("negative side"))?;
            if self.zero_count < 0.0 {
                return Err(HistogramError::NegativeZeroCount(self.zero_count));
            }
            if !self.custom_values.is_empty() {
                return Err(HistogramError::ExponentialSchemaCustomBounds);
            }
        } else {
            return Err(HistogramError::InvalidSchema(self.schema));
        }
        if self.count < 0.0 {
            return Err(HistogramError::NegativeCount(self.count));
        }
        check_buckets(&self.positive_buckets).map_err(|e| e.within("positive side"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::hist;
    use super::*;

    fn err(h: &FloatHistogram) -> String {
        h.validate().expect_err("invalid").to_string()
    }

    #[test]
    fn histogram_validate_accepts_valid_histograms() {
        let h = hist(0)
            .count(7.0)
            .zero(0.001, 1.0)
            .pos(-1, &[1.0, 2.0])
            .neg(3, &[3.0])
            .build();
        assert_eq!(h.validate(), Ok(()));
        // The count is not checked against the buckets.
        assert_eq!(hist(3).count(1.0).pos(0, &[5.0]).build().validate(), Ok(()));
        let nhcb = hist(-53)
            .custom(&[-2.0, 3.0])
            .count(4.0)
            .pos(0, &[1.0, 2.0, 1.0])
            .build();
        assert_eq!(nhcb.validate(), Ok(()));
    }

    #[test]
    fn histogram_validate_messages() {
        let mut h = hist(0).count(3.0).pos(0, &[1.0, 2.0]).build();
        h.positive_buckets.push(1.0);
        assert_eq!(
            err(&h),
            "positive side: spans need 2 buckets, have 3 buckets: histogram spans specify different number of buckets than provided"
        );
        let mut h = hist(0).neg(0, &[1.0]).build();
        h.negative_spans.push(Span {
            offset: -2,
            length: 1,
        });
        h.negative_buckets.push(1.0);
        assert_eq!(
            err(&h),
            "negative side: span number 2 with offset -2: histogram has a span whose offset is negative"
        );
        assert_eq!(
            err(&hist(0).pos(0, &[1.0, -2.5]).build()),
            "positive side: bucket number 2 has observation count of -2.5: histogram has a bucket whose observation count is negative"
        );
        assert_eq!(
            err(&hist(0).count(1.0).zero(0.1, -1.0).build()),
            "zero bucket has observation count of -1: histogram has a bucket whose observation count is negative"
        );
        assert_eq!(
            err(&hist(0).count(-1.0).build()),
            "observation count is  -1: histogram's observation count is negative"
        );
        assert_eq!(
            err(&hist(9).build()),
            "histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema 9"
        );
        assert_eq!(
            err(&hist(0).custom(&[1.0]).build()),
            "histogram with exponential schema must not have custom bounds"
        );
    }

    #[test]
    fn histogram_validate_custom_buckets() {
        assert_eq!(
            err(&hist(-53).custom(&[1.0]).zero(0.0, 1.0).build()),
            "custom buckets: must have zero count of 0"
        );
        assert_eq!(
            err(&hist(-53).custom(&[1.0]).zero(0.5, 0.0).build()),
            "custom buckets: must have zero threshold of 0"
        );
        assert_eq!(
            err(&hist(-53).custom(&[1.0]).neg(0, &[1.0]).build()),
            "custom buckets: must not have negative spans"
        );
        assert_eq!(
            err(&hist(-53).custom(&[2.0, 1.0]).build()),
            "custom buckets: previous bound is 2.000000 and current is 1.000000: histogram custom bounds must be in strictly increasing order"
        );
        assert_eq!(
            err(&hist(-53).custom(&[1.0, f64::INFINITY]).build()),
            "custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds must be finite"
        );
        assert_eq!(
            err(&hist(-53).custom(&[1.0]).pos(1, &[1.0, 1.0]).build()),
            "custom buckets: only 1 custom bounds defined which is insufficient to cover total span length of 3: histogram custom bounds are too few"
        );
        assert_eq!(
            err(&hist(-53).custom(&[1.0]).pos(-1, &[1.0]).build()),
            "custom buckets: span number 1 with offset -1: histogram has a span whose offset is negative"
        );
        assert_eq!(
            err(&hist(-53).custom(&[f64::NAN]).build()),
            "custom buckets: histogram custom bounds must not be NaN"
        );
    }
}
