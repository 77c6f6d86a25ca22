//! Counter reset detection between consecutive histogram samples.
//!
//! `rate`, `increase` and `resets` treat a histogram as a counter, and a
//! counter resets when anything it counts goes down. For histograms that
//! means any bucket, the zero bucket or the count — after accounting for
//! changes of layout that can happen without a reset (a coarser schema, a
//! wider zero bucket).

use std::iter::Peekable;

use super::combine::{bounds_match, intersect_bounds, view_of, zero_count_for_larger_threshold};
use super::{CounterResetHint, FloatHistogram};

/// The counter reset hint a store gives a histogram sample it appends,
/// as readers of Prometheus's head see it, given the series' previous
/// sample when that was a histogram.
///
/// Gauges stay gauges. A counter histogram that continues the previous one
/// (no reset, same schema, zero threshold and bounds, so Prometheus keeps
/// it in the same chunk) is `NotCounterReset`; any other, the first one
/// and one after a reset included, reads back as `Unknown` (upstream issue
/// 15346 makes a reset read back that way too), leaving detection to the
/// functions that need it. Results of `sum`, `rate` and friends carry
/// these hints, so they are part of what PromQL returns.
pub fn stored_hint(previous: Option<&FloatHistogram>, h: &FloatHistogram) -> CounterResetHint {
    if h.counter_reset_hint == CounterResetHint::Gauge {
        return CounterResetHint::Gauge;
    }
    let Some(prev) = previous.filter(|p| p.counter_reset_hint != CounterResetHint::Gauge) else {
        return CounterResetHint::Unknown;
    };
    let same_layout = prev.schema == h.schema
        && prev.zero_threshold == h.zero_threshold
        && prev.custom_values == h.custom_values;
    if h.counter_reset_hint != CounterResetHint::CounterReset
        && same_layout
        && !h.detect_reset(prev)
    {
        CounterResetHint::NotCounterReset
    } else {
        CounterResetHint::Unknown
    }
}

impl FloatHistogram {
    /// Whether `self` is a counter reset relative to `previous`
    /// (Prometheus's `DetectReset`).
    ///
    /// The hints `CounterReset` and `NotCounterReset` decide immediately.
    /// Otherwise (including for gauges, which PromQL may still feed here) a
    /// reset is reported if the count went down, a populated bucket vanished
    /// or shrank, or the layout changed in a way only a reset allows: a
    /// higher schema, a narrower zero bucket, a wider zero bucket that cuts
    /// through a populated bucket, or a switch to custom buckets. Custom
    /// buckets with different bounds are compared on the bounds they share.
    ///
    /// Like Prometheus, when the current histogram runs out of buckets only
    /// the first remaining bucket of the previous one is inspected.
    pub fn detect_reset(&self, previous: &FloatHistogram) -> bool {
        match self.counter_reset_hint {
            CounterResetHint::CounterReset => return true,
            CounterResetHint::NotCounterReset => return false,
            CounterResetHint::Unknown | CounterResetHint::Gauge => {}
        }
        if self.count < previous.count {
            return true;
        }
        if self.uses_custom_buckets() {
            if !previous.uses_custom_buckets() {
                return true;
            }
            if !bounds_match(&self.custom_values, &previous.custom_values) {
                return self.reset_with_mismatched_bounds(previous);
            }
        }
        if self.schema > previous.schema {
            return true;
        }
        if self.zero_threshold < previous.zero_threshold {
            return true;
        }
        let (previous_zero, threshold) =
            zero_count_for_larger_threshold(&view_of(previous), self.zero_threshold);
        if threshold != self.zero_threshold {
            return true;
        }
        if self.zero_count < previous_zero {
            return true;
        }
        [true, false].into_iter().any(|positive| {
            detect(
                self.merged_buckets(positive, self.zero_threshold, self.schema)
                    .peekable(),
                previous.merged_buckets(positive, self.zero_threshold, self.schema),
            )
        })
    }

    /// Reset detection for custom buckets with different bounds: for every
    /// bound both share, the observations up to it (since the previous
    /// shared bound) must not have decreased.
    fn reset_with_mismatched_bounds(&self, previous: &FloatHistogram) -> bool {
        let mut current = self.positive_bucket_iter().peekable();
        let mut prev = previous.positive_bucket_iter().peekable();
        let shared = intersect_bounds(&self.custom_values, &previous.custom_values);
        for bound in shared.into_iter().chain(std::iter::once(f64::INFINITY)) {
            let current_sum = rollup(&mut current, bound);
            let previous_sum = rollup(&mut prev, bound);
            if current_sum < previous_sum {
                return true;
            }
        }
        false
    }
}

/// Sums and consumes the buckets whose upper bound is at most `bound`.
fn rollup(it: &mut Peekable<impl Iterator<Item = super::Bucket>>, bound: f64) -> f64 {
    let mut sum = 0.0;
    while let Some(b) = it.next_if(|b| b.upper <= bound) {
        sum += b.count;
    }
    sum
}

/// Compares the `(index, count)` buckets of one side.
fn detect(
    mut current: Peekable<impl Iterator<Item = (i64, f64)>>,
    mut previous: impl Iterator<Item = (i64, f64)>,
) -> bool {
    let Some(mut prev) = previous.next() else {
        return false;
    };
    let Some(mut curr) = current.next() else {
        // Prometheus only looks at the first remaining previous bucket.
        return prev.1 != 0.0;
    };
    loop {
        while curr.0 < prev.0 {
            match current.next() {
                Some(next) => curr = next,
                None => return prev.1 != 0.0,
            }
        }
        if curr.0 > prev.0 {
            // The previous bucket is missing now.
            if prev.1 != 0.0 {
                return true;
            }
        } else if curr.1 < prev.1 {
            return true;
        }
        match previous.next() {
            Some(next) => prev = next,
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::hist;
    use super::*;

    #[test]
    fn histogram_detect_reset_by_counts() {
        let prev = hist(0).count(4.0).pos(0, &[1.0, 2.0, 1.0]).build();
        let grown = hist(0).count(5.0).pos(0, &[1.0, 3.0, 1.0]).build();
        assert!(!grown.detect_reset(&prev));
        // native_histograms.test reset_in_bucket: count grows, one bucket shrinks.
        let shrunk = hist(0).count(5.0).pos(0, &[1.0, 1.0, 3.0]).build();
        assert!(shrunk.detect_reset(&prev));
        let fewer = hist(0).count(3.0).pos(0, &[1.0, 2.0, 1.0]).build();
        assert!(fewer.detect_reset(&prev));
        // A populated bucket disappearing is a reset, an empty one is not.
        let missing = hist(0).count(4.0).pos(1, &[2.0, 2.0]).build();
        assert!(missing.detect_reset(&prev));
        let prev_empty_first = hist(0).count(4.0).pos(0, &[0.0, 2.0, 2.0]).build();
        assert!(!missing.detect_reset(&prev_empty_first));
    }

    #[test]
    fn histogram_detect_reset_hints() {
        let prev = hist(0).count(4.0).build();
        let lower = hist(0).count(1.0);
        assert!(
            !lower
                .hint(CounterResetHint::NotCounterReset)
                .build()
                .detect_reset(&prev)
        );
        let same = hist(0).count(4.0);
        assert!(
            same.hint(CounterResetHint::CounterReset)
                .build()
                .detect_reset(&prev)
        );
        assert!(
            hist(0)
                .count(1.0)
                .hint(CounterResetHint::Gauge)
                .build()
                .detect_reset(&prev)
        );
    }

    #[test]
    fn histogram_detect_reset_layout_changes() {
        let prev = hist(0)
            .count(4.0)
            .zero(0.5, 1.0)
            .pos(0, &[1.0, 2.0])
            .build();
        // Higher resolution: always a reset.
        assert!(
            hist(1)
                .count(4.0)
                .zero(0.5, 1.0)
                .build()
                .detect_reset(&prev)
        );
        // Lower resolution with merged buckets: no reset.
        let coarse = hist(-1)
            .count(4.0)
            .zero(0.5, 1.0)
            .pos(0, &[1.0, 2.0])
            .build();
        assert!(!coarse.detect_reset(&prev));
        // ... but the (0.25,1] bucket missing there is a reset.
        let coarse_missing = hist(-1).count(4.0).zero(0.5, 1.0).pos(1, &[3.0]).build();
        assert!(coarse_missing.detect_reset(&prev));
        // Narrower zero bucket: reset.
        let narrow = hist(0)
            .count(4.0)
            .zero(0.25, 1.0)
            .pos(0, &[1.0, 2.0])
            .build();
        assert!(narrow.detect_reset(&prev));
        // Wider zero bucket absorbing (0.5,1]: fine if the zero count grew.
        let wide = hist(0).count(4.0).zero(1.0, 2.0).pos(1, &[2.0]).build();
        assert!(!wide.detect_reset(&prev));
        let wide_but_less = hist(0).count(4.0).zero(1.0, 1.5).pos(1, &[2.0]).build();
        assert!(wide_but_less.detect_reset(&prev));
        // A zero threshold inside a populated bucket can only come with a reset.
        let inside = hist(0).count(4.0).zero(0.7, 4.0).pos(1, &[2.0]).build();
        assert!(inside.detect_reset(&prev));
    }

    #[test]
    fn histogram_detect_reset_only_checks_first_remaining_bucket() {
        // Prometheus quirk: with no current buckets, a populated previous
        // bucket behind an empty one goes unnoticed.
        let current = hist(0).count(10.0).build();
        let prev = hist(0).count(5.0).pos(0, &[0.0, 5.0]).build();
        assert!(!current.detect_reset(&prev));
        let prev = hist(0).count(5.0).pos(0, &[5.0, 0.0]).build();
        assert!(current.detect_reset(&prev));
    }

    #[test]
    fn histogram_detect_reset_custom_buckets() {
        let prev = hist(-53)
            .custom(&[5.0, 10.0])
            .count(3.0)
            .pos(0, &[1.0, 1.0, 1.0])
            .build();
        let exp = hist(0).count(3.0).build();
        assert!(exp.detect_reset(&prev));
        assert!(
            hist(-53)
                .custom(&[5.0, 10.0])
                .count(3.0)
                .build()
                .detect_reset(&exp)
        );
        // Different bounds: compared on the shared bound 10 and +Inf.
        let merged = hist(-53)
            .custom(&[10.0])
            .count(3.0)
            .pos(0, &[2.0, 1.0])
            .build();
        assert!(!merged.detect_reset(&prev));
        let dropped = hist(-53)
            .custom(&[10.0])
            .count(3.0)
            .pos(0, &[1.0, 2.0])
            .build();
        assert!(dropped.detect_reset(&prev));
    }
}
