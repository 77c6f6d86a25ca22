//! Where a test put native-histogram samples, and whether a query read one.
//!
//! warden's stores hold floats only, so a test's native-histogram samples
//! are kept aside as times per series. A query that selects one of those
//! series over a range holding such a sample is noticed, so that the case
//! is reported as unsupported (skipped) instead of compared as a wrong
//! answer. Both test runners share this: promqltest scripts and promtool
//! rule unit tests.

use std::sync::atomic::{AtomicBool, Ordering};

use warden_tsdb::{Labels, Matcher};

/// Native-histogram sample times per series, and whether a query touched
/// one since the mark was last taken.
#[derive(Debug, Default)]
pub struct HistogramWatch {
    series: Vec<(Labels, Vec<i64>)>,
    touched: AtomicBool,
}

impl HistogramWatch {
    /// A watch over `series` (labels and sample times, in any order).
    pub fn new(series: Vec<(Labels, Vec<i64>)>) -> HistogramWatch {
        let mut watch = HistogramWatch::default();
        for (labels, times) in series {
            watch.add(&labels, &times);
        }
        watch
    }

    /// Records that `labels` has native-histogram samples at `times`.
    pub fn add(&mut self, labels: &Labels, times: &[i64]) {
        if times.is_empty() {
            return;
        }
        match self.series.iter_mut().find(|(l, _)| l == labels) {
            Some((_, t)) => {
                t.extend_from_slice(times);
                t.sort_unstable();
            }
            None => {
                let mut t = times.to_vec();
                t.sort_unstable();
                self.series.push((labels.clone(), t));
            }
        }
    }

    /// Whether no native-histogram sample is known.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Marks the watch when a selection by `matchers` over
    /// `[min_t, max_t]` reads a native-histogram sample.
    pub fn note(&self, matchers: &[Matcher], min_t: i64, max_t: i64) {
        let hit = self.series.iter().any(|(labels, times)| {
            let from = times.partition_point(|&t| t < min_t);
            times.get(from).is_some_and(|&t| t <= max_t)
                && matchers
                    .iter()
                    .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
        });
        if hit {
            self.touched.store(true, Ordering::Relaxed);
        }
    }

    /// Whether a selection was marked since the last [`take`](Self::take)
    /// or [`reset`](Self::reset).
    pub fn touched(&self) -> bool {
        self.touched.load(Ordering::Relaxed)
    }

    /// Starts a new observation.
    pub fn reset(&self) {
        self.touched.store(false, Ordering::Relaxed);
    }

    /// [`touched`](Self::touched), and starts a new observation.
    pub fn take(&self) -> bool {
        self.touched.swap(false, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(name: &str) -> Labels {
        Labels::from_pairs([("__name__", name)]).unwrap()
    }

    #[test]
    fn only_a_selection_reaching_a_histogram_sample_marks() {
        let watch = HistogramWatch::new(vec![(l("h"), vec![120, 60])]);
        let h = [Matcher::equal("__name__", "h")];
        watch.note(&h, 0, 59);
        watch.note(&[Matcher::equal("__name__", "x")], 0, 200);
        assert!(!watch.touched());
        watch.note(&h, 61, 120);
        assert!(watch.take());
        assert!(!watch.touched());
        watch.note(&h, 0, 60);
        assert!(watch.touched());
        watch.reset();
        assert!(!watch.take());
    }
}
