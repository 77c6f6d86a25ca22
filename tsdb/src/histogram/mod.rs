//! Native histograms: the value type and the arithmetic PromQL performs on it.
//!
//! A native histogram carries its own bucket layout: a *schema* (exponential
//! buckets whose boundaries are powers of `2^(2^-schema)`, or custom upper
//! bounds for schema −53) plus *spans* that say which bucket indices are
//! present. Two histograms with different layouts can still be added, which
//! is what makes them aggregatable without the `le` label of classic
//! histograms — but only if every implementation reconciles layouts the same
//! way. warden answers queries side by side with Prometheus, so everything in
//! this module follows Prometheus 3.x bit for bit where that is observable:
//! bucket boundaries, how schemas and zero buckets are reconciled, the order
//! of floating-point operations, and the error messages PromQL surfaces.
//!
//! The type here is the *float* histogram (absolute `f64` counts), which is
//! what PromQL computes with. The integer, delta-encoded form used in chunks
//! belongs to the storage layer.
//!
//! Layout of the module, one job per file:
//! - `bounds` — bucket boundaries per schema;
//! - `layout` — spans and buckets as data: decoding, insertion, compaction,
//!   resolution reduction;
//! - `combine` — the reconciliation behind addition and subtraction;
//! - `arith`, `kahan` — the public arithmetic;
//! - `iter` — bucket iterators with boundaries;
//! - `reset`, `equality`, `validate`, `resolution`, `display`;
//! - [`stats`] — quantile, fraction and variance estimates.

mod arith;
mod bounds;
mod combine;
mod display;
mod equality;
mod error;
mod gofmt;
mod iter;
mod kahan;
mod layout;
mod reset;
mod resolution;
pub mod stats;
mod trim;
mod validate;

#[cfg(test)]
mod testutil;

pub use arith::{CombineOutcome, HintsSeen};
pub use error::HistogramError;
pub use iter::{AllBucketIter, Bucket, BucketIter, ReverseBucketIter};
pub use kahan::{KahanOutcome, kahan_inc};
pub use reset::stored_hint;

/// Lowest valid exponential schema: each bucket spans a factor of 2^16.
pub const EXPONENTIAL_SCHEMA_MIN: i32 = -4;

/// Highest valid exponential schema: 256 buckets per power of two.
pub const EXPONENTIAL_SCHEMA_MAX: i32 = 8;

/// The schema of histograms with custom bucket bounds ("NHCB"), which is how
/// classic histograms are represented natively.
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// Whether `schema` is the custom-buckets schema.
///
/// Custom and exponential histograms never mix in arithmetic, so most
/// operations branch on this first.
pub fn is_custom_buckets_schema(schema: i32) -> bool {
    schema == CUSTOM_BUCKETS_SCHEMA
}

/// Whether `schema` is one of the exponential schemas −4..=8.
pub fn is_exponential_schema(schema: i32) -> bool {
    (EXPONENTIAL_SCHEMA_MIN..=EXPONENTIAL_SCHEMA_MAX).contains(&schema)
}

/// What is known about counter resets at this sample, as recorded by the
/// producer or by chunk encoding.
///
/// It is a hint, not a fact: functions such as `rate` still compare buckets,
/// but the hint lets a histogram say "I am a gauge" or "a reset happened
/// here" when that cannot be inferred from the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CounterResetHint {
    /// Nothing is known; resets have to be detected from the counts.
    #[default]
    Unknown,
    /// A counter reset definitely happened at this sample.
    CounterReset,
    /// A counter reset definitely did not happen at this sample.
    NotCounterReset,
    /// The histogram is a gauge; counter resets do not apply.
    Gauge,
}

/// A run of consecutive buckets in a histogram's sparse layout.
///
/// As in Prometheus: the first span's `offset` is the absolute index of its
/// first bucket (it may be negative); every later `offset` is the number of
/// absent buckets since the end of the previous span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Gap to the previous span, or the starting index for the first span.
    pub offset: i32,
    /// Number of consecutive buckets in the span.
    pub length: u32,
}

/// A native histogram with float counts, the form PromQL computes with.
///
/// Counts are absolute (not the deltas used in chunk encoding) and may be
/// fractional, because `rate`, `avg` and division produce fractional counts.
///
/// Two equality notions exist on purpose: the derived `PartialEq` compares
/// fields structurally (so NaN sums never compare equal), while
/// [`FloatHistogram::equals`] is Prometheus's `Equals`, which compares floats
/// by bit pattern and treats span layouts that only differ in empty spans as
/// the same. Use the latter wherever Prometheus would (`changes()`, dedup).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FloatHistogram {
    /// Counter reset information carried with the sample.
    pub counter_reset_hint: CounterResetHint,
    /// −4..=8 for exponential buckets, [`CUSTOM_BUCKETS_SCHEMA`] for custom.
    pub schema: i32,
    /// Half-width of the zero bucket; observations with an absolute value up
    /// to this land in it. Unused (zero) for custom buckets.
    pub zero_threshold: f64,
    /// Observations in the zero bucket. Unused (zero) for custom buckets.
    pub zero_count: f64,
    /// Total number of observations, including NaN observations that are in
    /// no bucket.
    pub count: f64,
    /// Sum of observations; NaN if a NaN was observed.
    pub sum: f64,
    /// Layout of the positive buckets.
    pub positive_spans: Vec<Span>,
    /// Layout of the negative buckets. Unused for custom buckets.
    pub negative_spans: Vec<Span>,
    /// Absolute counts of the positive buckets, in index order.
    pub positive_buckets: Vec<f64>,
    /// Absolute counts of the negative buckets, in index order (i.e. from
    /// the bucket nearest to zero outwards).
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of the custom buckets, strictly increasing, without the
    /// implicit `+Inf` bound. Only used with [`CUSTOM_BUCKETS_SCHEMA`].
    pub custom_values: Vec<f64>,
}

impl FloatHistogram {
    /// Whether this histogram uses custom bucket bounds rather than an
    /// exponential schema.
    pub fn uses_custom_buckets(&self) -> bool {
        is_custom_buckets_schema(self.schema)
    }

    /// The zero bucket as a [`Bucket`] spanning `[-zero_threshold,
    /// zero_threshold]`, or `None` for custom buckets, which have none.
    ///
    /// Prometheus panics when asked for the zero bucket of a custom-bucket
    /// histogram; returning `None` keeps that a caller decision.
    pub fn zero_bucket(&self) -> Option<Bucket> {
        if self.uses_custom_buckets() {
            return None;
        }
        Some(Bucket {
            lower: -self.zero_threshold,
            upper: self.zero_threshold,
            lower_inclusive: true,
            upper_inclusive: true,
            count: self.zero_count,
            index: 0,
        })
    }
}
