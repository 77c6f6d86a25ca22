//! Errors of histogram operations.
//!
//! The messages are Prometheus's, word for word, because PromQL shows them to
//! users (as errors or annotations) and tests compare them with Prometheus's
//! output.

use super::gofmt::{format_f, format_g};

/// Why a histogram operation or validation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistogramError {
    /// An exponential and a custom-bucket histogram were combined.
    #[error(
        "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas"
    )]
    IncompatibleSchema,
    /// Two custom-bucket histograms with different bounds were combined by an
    /// operation that cannot reconcile them. Addition and subtraction do
    /// reconcile (to the common bounds), as Prometheus 3.x does; this is for
    /// callers, such as appenders, that require identical layouts.
    #[error(
        "cannot apply this operation on custom buckets histograms with different custom bounds"
    )]
    IncompatibleBounds,
    /// The schema is neither exponential nor custom.
    #[error(
        "histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema {0}"
    )]
    InvalidSchema(i32),
    /// A span other than the first has a negative offset.
    #[error(
        "span number {span} with offset {offset}: histogram has a span whose offset is negative"
    )]
    SpanNegativeOffset {
        /// 1-based position of the span.
        span: usize,
        /// Its offset.
        offset: i32,
    },
    /// The spans describe a different number of buckets than are present.
    #[error(
        "spans need {need} buckets, have {have} buckets: histogram spans specify different number of buckets than provided"
    )]
    SpansBucketsMismatch {
        /// Buckets the spans describe.
        need: usize,
        /// Buckets present.
        have: usize,
    },
    /// The buckets ran out before the spans did (found while re-bucketing).
    #[error(
        "have {have} buckets but spans need more: histogram spans specify different number of buckets than provided"
    )]
    SpansNeedMoreBuckets {
        /// Buckets present.
        have: usize,
    },
    /// A bucket has a negative count.
    #[error(
        "bucket number {bucket} has observation count of {}: histogram has a bucket whose observation count is negative",
        format_g(*.count)
    )]
    NegativeBucketCount {
        /// 1-based position of the bucket.
        bucket: usize,
        /// Its count.
        count: f64,
    },
    /// The zero bucket has a negative count.
    #[error(
        "zero bucket has observation count of {}: histogram has a bucket whose observation count is negative",
        format_g(*.0)
    )]
    NegativeZeroCount(f64),
    /// The total count is negative. (The double space is Prometheus's.)
    #[error("observation count is  {}: histogram's observation count is negative", format_g(*.0))]
    NegativeCount(f64),
    /// A custom bound is NaN.
    #[error("histogram custom bounds must not be NaN")]
    CustomBoundsNaN,
    /// Custom bounds are not strictly increasing.
    #[error(
        "previous bound is {} and current is {}: histogram custom bounds must be in strictly increasing order",
        format_f(*.previous),
        format_f(*.current)
    )]
    CustomBoundsNotIncreasing {
        /// The earlier bound.
        previous: f64,
        /// The bound that is not larger.
        current: f64,
    },
    /// The implicit `+Inf` bound was given explicitly.
    #[error(
        "last +Inf bound must not be explicitly defined: histogram custom bounds must be finite"
    )]
    CustomBoundsInfinite,
    /// The spans reach beyond the custom bounds.
    #[error(
        "only {defined} custom bounds defined which is insufficient to cover total span length of {needed}: histogram custom bounds are too few"
    )]
    CustomBoundsTooFew {
        /// Number of custom bounds.
        defined: usize,
        /// Number of buckets the spans cover (gaps included).
        needed: usize,
    },
    /// A custom-bucket histogram has a zero count.
    #[error("custom buckets: must have zero count of 0")]
    CustomBucketsZeroCount,
    /// A custom-bucket histogram has a zero threshold.
    #[error("custom buckets: must have zero threshold of 0")]
    CustomBucketsZeroThreshold,
    /// A custom-bucket histogram has negative spans.
    #[error("custom buckets: must not have negative spans")]
    CustomBucketsNegativeSpans,
    /// A custom-bucket histogram has negative buckets.
    #[error("custom buckets: must not have negative buckets")]
    CustomBucketsNegativeBuckets,
    /// An exponential histogram carries custom bounds.
    #[error("histogram with exponential schema must not have custom bounds")]
    ExponentialSchemaCustomBounds,
    /// Resolution reduction was asked of a custom-bucket histogram.
    #[error("cannot reduce resolution when there are custom buckets")]
    ReduceCustomBuckets,
    /// Resolution reduction was asked to produce custom buckets.
    #[error("cannot reduce resolution to custom buckets schema")]
    ReduceToCustomBuckets,
    /// Resolution reduction was asked to keep or raise the resolution.
    #[error("cannot reduce resolution from schema {from} to {to}")]
    ReduceToHigherSchema {
        /// The histogram's schema.
        from: i32,
        /// The requested schema.
        to: i32,
    },
    /// An error found on one side of the histogram ("positive side",
    /// "negative side", "custom buckets"), prefixed as Prometheus wraps it.
    #[error("{context}: {source}")]
    In {
        /// Which part of the histogram the error is about.
        context: &'static str,
        /// The error itself.
        source: Box<HistogramError>,
    },
}

impl HistogramError {
    /// Wraps `self` with the part of the histogram it concerns.
    pub(super) fn within(self, context: &'static str) -> HistogramError {
        HistogramError::In {
            context,
            source: Box::new(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_error_messages_match_prometheus() {
        assert_eq!(
            HistogramError::IncompatibleSchema.to_string(),
            "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas"
        );
        assert_eq!(
            HistogramError::IncompatibleBounds.to_string(),
            "cannot apply this operation on custom buckets histograms with different custom bounds"
        );
        assert_eq!(
            HistogramError::NegativeCount(-1.0).to_string(),
            "observation count is  -1: histogram's observation count is negative"
        );
        assert_eq!(
            HistogramError::NegativeZeroCount(-2.5).to_string(),
            "zero bucket has observation count of -2.5: histogram has a bucket whose observation count is negative"
        );
        assert_eq!(
            HistogramError::SpanNegativeOffset {
                span: 1,
                offset: -1
            }
            .within("custom buckets")
            .to_string(),
            "custom buckets: span number 1 with offset -1: histogram has a span whose offset is negative"
        );
        assert_eq!(
            HistogramError::CustomBoundsNotIncreasing {
                previous: 2.0,
                current: 1.0
            }
            .to_string(),
            "previous bound is 2.000000 and current is 1.000000: histogram custom bounds must be in strictly increasing order"
        );
        assert_eq!(
            HistogramError::InvalidSchema(9).to_string(),
            "histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema 9"
        );
    }
}
