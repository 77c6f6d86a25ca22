//! Test helpers: concise construction of histograms, in the spirit of
//! Prometheus's test notation (`{{schema:0 count:4 buckets:[1 2 1]}}`).

use super::{CounterResetHint, FloatHistogram, Span};

/// Builder for a [`FloatHistogram`] with at most one span per side.
pub(crate) struct Builder(FloatHistogram);

/// Starts a histogram with the given schema.
pub(crate) fn hist(schema: i32) -> Builder {
    Builder(FloatHistogram {
        schema,
        ..FloatHistogram::default()
    })
}

impl Builder {
    pub(crate) fn count(mut self, count: f64) -> Self {
        self.0.count = count;
        self
    }

    pub(crate) fn sum(mut self, sum: f64) -> Self {
        self.0.sum = sum;
        self
    }

    /// Zero threshold (`z_bucket_w`) and zero count (`z_bucket`).
    pub(crate) fn zero(mut self, threshold: f64, count: f64) -> Self {
        self.0.zero_threshold = threshold;
        self.0.zero_count = count;
        self
    }

    /// Positive buckets starting at index `offset` (`offset`, `buckets`).
    pub(crate) fn pos(mut self, offset: i32, buckets: &[f64]) -> Self {
        self.0.positive_spans = span(offset, buckets);
        self.0.positive_buckets = buckets.to_vec();
        self
    }

    /// Negative buckets starting at index `offset` (`n_offset`, `n_buckets`).
    pub(crate) fn neg(mut self, offset: i32, buckets: &[f64]) -> Self {
        self.0.negative_spans = span(offset, buckets);
        self.0.negative_buckets = buckets.to_vec();
        self
    }

    pub(crate) fn custom(mut self, bounds: &[f64]) -> Self {
        self.0.custom_values = bounds.to_vec();
        self
    }

    pub(crate) fn hint(mut self, hint: CounterResetHint) -> Self {
        self.0.counter_reset_hint = hint;
        self
    }

    pub(crate) fn build(self) -> FloatHistogram {
        self.0
    }
}

fn span(offset: i32, buckets: &[f64]) -> Vec<Span> {
    if buckets.is_empty() {
        return Vec::new();
    }
    vec![Span {
        offset,
        length: u32::try_from(buckets.len()).unwrap_or(u32::MAX),
    }]
}

/// Asserts that `got` is within a relative tolerance of `want` (as
/// promqltest compares floats), treating NaNs as equal.
pub(crate) fn assert_close(got: f64, want: f64) {
    if want.is_nan() {
        assert!(got.is_nan(), "got {got}, want NaN");
        return;
    }
    if got == want {
        return;
    }
    let tolerance = 1e-12 * want.abs().max(got.abs());
    assert!(
        (got - want).abs() <= tolerance,
        "got {got:e}, want {want:e}"
    );
}
