//! Samples and Prometheus's staleness marker.

use std::sync::Arc;

use crate::histogram::FloatHistogram;

/// One float sample: a millisecond timestamp and a value.
///
/// Timestamps are milliseconds since the Unix epoch, as in Prometheus, so
/// that values cross the HTTP API and remote write without conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value; may be [`STALE_NAN`].
    pub v: f64,
}

/// One native-histogram sample: a millisecond timestamp and a histogram.
///
/// The histogram is shared: a range query's lookback picks the same sample
/// for many steps, and a window hands the same samples to many steps, so
/// they are cloned far more often than they are built.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The histogram. A histogram series goes stale with a float
    /// staleness marker in its float samples, as in Prometheus's engine.
    pub h: Arc<FloatHistogram>,
}

/// Bit pattern of Prometheus's staleness marker (`value.StaleNaN`).
///
/// A series that disappears gets one sample with exactly these bits so that
/// queries stop looking back past it. Any other NaN is an ordinary value.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Prometheus's staleness marker as a float.
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// Whether `v` is the staleness marker (compared by bits, since NaN != NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_a_distinct_nan() {
        assert!(STALE_NAN.is_nan());
        assert!(is_stale_nan(STALE_NAN));
        assert!(!is_stale_nan(f64::NAN));
    }
}
