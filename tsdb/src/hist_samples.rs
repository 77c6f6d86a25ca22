//! The native-histogram samples of one head series.
//!
//! They are kept as a plain time-ordered list of shared
//! [`FloatHistogram`]s, *not* compressed with Prometheus's histogram chunk
//! encoding: that encoding (delta-of-delta timestamps, XOR'd bucket deltas,
//! layout changes cutting chunks) is a sizeable piece of work, and few
//! series carry histograms yet. The list costs a float-only series nothing
//! (the head holds it behind an `Option<Box<…>>`), and a query hands out
//! `Arc` clones instead of decoding. Swapping in compressed chunks later
//! changes only this module and the checkpoint record.
//!
//! The list is bounded the way float chunks are: by time and size
//! retention, which drop samples from its front.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::histogram::FloatHistogram;
use crate::record;
use crate::sample::HistogramSample;

/// Samples per `(max_t, bytes)` entry handed to size-based retention, like
/// a float chunk's 120: fine enough to cut near the budget, coarse enough
/// that sorting the entries of a large head stays cheap.
pub const SIZE_GROUP: usize = 120;

/// Native-histogram samples of one series, oldest first, timestamps
/// strictly increasing.
#[derive(Debug, Default)]
pub struct HistogramSamples {
    /// A deque, because retention removes from the front.
    samples: VecDeque<HistogramSample>,
}

impl HistogramSamples {
    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether no sample is held.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The newest sample.
    pub fn last(&self) -> Option<&HistogramSample> {
        self.samples.back()
    }

    /// Oldest timestamp held.
    pub fn first_t(&self) -> Option<i64> {
        self.samples.front().map(|s| s.t)
    }

    /// Appends a sample; the caller has checked that `t` is newer than
    /// every sample held. Returns false (and stores nothing) if it is not,
    /// so that a caller's mistake can never break the ordering.
    pub fn push(&mut self, t: i64, h: Arc<FloatHistogram>) -> bool {
        if self.last().is_some_and(|l| l.t >= t) {
            return false;
        }
        self.samples.push_back(HistogramSample { t, h });
        true
    }

    /// Samples in `[min_t, max_t]`, oldest first, appended to `out` (the
    /// histograms are shared, not copied).
    pub fn range(&self, min_t: i64, max_t: i64, out: &mut Vec<HistogramSample>) {
        let first = self.samples.partition_point(|s| s.t < min_t);
        out.extend(
            self.samples
                .range(first..)
                .take_while(|s| s.t <= max_t)
                .cloned(),
        );
    }

    /// Whether some sample falls in `[min_t, max_t]`.
    pub fn overlaps(&self, min_t: i64, max_t: i64) -> bool {
        let first = self.samples.partition_point(|s| s.t < min_t);
        self.samples.get(first).is_some_and(|s| s.t <= max_t)
    }

    /// Every sample, oldest first, for checkpoints.
    pub fn iter(&self) -> impl Iterator<Item = &HistogramSample> {
        self.samples.iter()
    }

    /// Drops samples older than `cutoff`; returns how many went.
    ///
    /// Unlike float chunks, which go whole, histograms go one by one: there
    /// is no chunk to keep together.
    pub fn truncate_before(&mut self, cutoff: i64) -> usize {
        let n = self.samples.partition_point(|s| s.t < cutoff);
        self.samples.drain(..n);
        if self.samples.capacity() > 2 * self.samples.len() + 16 {
            // Memory follows retention, as freed chunks do for floats.
            self.samples.shrink_to_fit();
        }
        n
    }

    /// `(max_t, bytes)` per group of [`SIZE_GROUP`] samples, weighed by
    /// their encoded size (what they cost in a checkpoint), for size-based
    /// retention.
    pub fn sizes(&self, out: &mut Vec<(i64, usize)>) {
        let mut bytes = 0;
        for (i, s) in self.samples.iter().enumerate() {
            bytes += record::histogram_bytes(&s.h);
            if (i + 1) % SIZE_GROUP == 0 || i + 1 == self.samples.len() {
                out.push((s.t, bytes));
                bytes = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(count: f64) -> Arc<FloatHistogram> {
        Arc::new(FloatHistogram {
            count,
            ..FloatHistogram::default()
        })
    }

    fn list(ts: impl IntoIterator<Item = i64>) -> HistogramSamples {
        let mut l = HistogramSamples::default();
        for t in ts {
            assert!(l.push(t, h(t as f64)));
        }
        l
    }

    #[test]
    fn push_keeps_time_order() {
        let mut l = list([10, 20]);
        assert!(!l.push(20, h(1.0)));
        assert!(!l.push(5, h(1.0)));
        assert_eq!(l.len(), 2);
        assert_eq!(l.last().map(|s| s.t), Some(20));
        assert_eq!(l.first_t(), Some(10));
    }

    #[test]
    fn range_is_inclusive_and_shares_histograms() {
        let l = list((0..10).map(|i| i * 10));
        for (lo, hi) in [(0, 90), (5, 15), (10, 10), (-5, -1), (91, 200), (85, 95)] {
            let mut out = Vec::new();
            l.range(lo, hi, &mut out);
            let want: Vec<i64> = (0..10)
                .map(|i| i * 10)
                .filter(|t| (lo..=hi).contains(t))
                .collect();
            assert_eq!(out.iter().map(|s| s.t).collect::<Vec<_>>(), want);
            assert_eq!(l.overlaps(lo, hi), !want.is_empty(), "[{lo}, {hi}]");
        }
        let mut out = Vec::new();
        l.range(0, 0, &mut out);
        assert!(Arc::ptr_eq(&out[0].h, &l.samples[0].h));
    }

    #[test]
    fn truncation_drops_samples_one_by_one() {
        let mut l = list(0..100);
        assert_eq!(l.truncate_before(0), 0);
        assert_eq!(l.truncate_before(42), 42);
        assert_eq!(l.first_t(), Some(42));
        assert_eq!(l.truncate_before(1000), 58);
        assert!(l.is_empty());
    }

    #[test]
    fn sizes_come_in_groups() {
        let l = list(0..250);
        let mut out = Vec::new();
        l.sizes(&mut out);
        let one = record::histogram_bytes(&FloatHistogram::default());
        assert_eq!(out, [(119, 120 * one), (239, 120 * one), (249, 10 * one)]);
    }
}
