//! The in-memory store a test script loads into: a sorted list of series,
//! read by the engine through [`Querier`].
//!
//! It also watches where the script put native-histogram samples (see
//! [`HistogramWatch`]), so that the runner can report an evaluation that
//! reads one as skipped rather than as a wrong answer.

use warden_tsdb::{Labels, Matcher, Querier, QueryError, Sample, Series};

use super::HistogramWatch;

/// Series loaded by a script, in label order.
#[derive(Debug, Default)]
pub struct MemStore {
    series: Vec<Series>,
    histograms: HistogramWatch,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// Adds float samples to a series (creating it); a sample at a time the
    /// series already has replaces the old one.
    pub fn add_floats(&mut self, labels: &Labels, samples: &[Sample]) {
        self.add_floats_with_start(labels, samples, &[]);
    }

    /// Like [`add_floats`](Self::add_floats), with the samples' start
    /// timestamps (`start_times` empty, or one per sample, `0` for none).
    pub fn add_floats_with_start(
        &mut self,
        labels: &Labels,
        samples: &[Sample],
        start_times: &[i64],
    ) {
        if samples.is_empty() {
            return;
        }
        let idx = match self.series.binary_search_by(|s| s.labels.cmp(labels)) {
            Ok(i) => i,
            Err(i) => {
                self.series
                    .insert(i, Series::new(labels.clone(), Vec::new()));
                i
            }
        };
        let series = &mut self.series[idx];
        let keeps_start = !start_times.is_empty() || !series.start_times.is_empty();
        let old_start = std::mem::take(&mut series.start_times);
        let old = std::mem::take(&mut series.samples);
        let start_of = |st: &[i64], k: usize| st.get(k).copied().unwrap_or(0);
        let mut all: Vec<(Sample, i64)> = old
            .iter()
            .enumerate()
            .map(|(k, x)| (*x, start_of(&old_start, k)))
            .chain(
                samples
                    .iter()
                    .enumerate()
                    .map(|(k, x)| (*x, start_of(start_times, k))),
            )
            .collect();
        // Stable sort keeps insertion order among equal times; keep the last.
        all.sort_by_key(|(x, _)| x.t);
        for (x, st) in all {
            match series.samples.last_mut() {
                Some(last) if last.t == x.t => {
                    *last = x;
                    if let Some(l) = series.start_times.last_mut() {
                        *l = st;
                    }
                }
                _ => {
                    series.samples.push(x);
                    if keeps_start {
                        series.start_times.push(st);
                    }
                }
            }
        }
    }

    /// Records that `labels` has native-histogram samples at `times`.
    pub fn add_histogram_times(&mut self, labels: &Labels, times: &[i64]) {
        self.histograms.add(labels, times);
    }

    /// Whether any native-histogram sample was loaded.
    pub fn has_histograms(&self) -> bool {
        !self.histograms.is_empty()
    }

    /// Whether a query since the last [`reset_touched`](Self::reset_touched)
    /// selected a series in a range holding native-histogram samples.
    pub fn touched_histogram(&self) -> bool {
        self.histograms.touched()
    }

    /// Starts a new observation for [`touched_histogram`](Self::touched_histogram).
    pub fn reset_touched(&self) {
        self.histograms.reset();
    }

    /// Number of series with float samples.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no float series is stored.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    fn matching(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> impl Iterator<Item = Series> {
        self.series.iter().filter_map(move |s| {
            if !matches(&s.labels, matchers) {
                return None;
            }
            let from = s.samples.partition_point(|x| x.t < min_t);
            let to = s.samples.partition_point(|x| x.t <= max_t);
            (from < to).then(|| {
                let mut out = Series::new(s.labels.clone(), s.samples[from..to].to_vec());
                if !s.start_times.is_empty() {
                    out.start_times = s.start_times[from..to].to_vec();
                }
                out
            })
        })
    }
}

fn matches(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

impl Querier for MemStore {
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Series>, QueryError> {
        self.histograms.note(matchers, min_t, max_t);
        Ok(self.matching(matchers, min_t, max_t).collect())
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError> {
        self.histograms.note(matchers, min_t, max_t);
        let mut names: Vec<String> = self
            .matching(matchers, min_t, max_t)
            .flat_map(|s| s.labels.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError> {
        self.histograms.note(matchers, min_t, max_t);
        let mut values: Vec<String> = self
            .matching(matchers, min_t, max_t)
            .filter_map(|s| s.labels.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_tsdb::MatchOp;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    fn s(t: i64, v: f64) -> Sample {
        Sample { t, v }
    }

    #[test]
    fn select_by_matchers_and_time() {
        let mut st = MemStore::new();
        st.add_floats(
            &l(&[("__name__", "m"), ("job", "b")]),
            &[s(0, 1.0), s(60, 2.0)],
        );
        st.add_floats(&l(&[("__name__", "m"), ("job", "a")]), &[s(0, 3.0)]);
        st.add_floats(
            &l(&[("__name__", "m"), ("job", "a")]),
            &[s(0, 4.0), s(30, 5.0)],
        );
        let all = st
            .select(&[Matcher::equal("__name__", "m")], 0, 100)
            .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].labels.get("job"), Some("a"));
        assert_eq!(all[0].samples, vec![s(0, 4.0), s(30, 5.0)]);
        let late = st
            .select(&[Matcher::equal("__name__", "m")], 40, 100)
            .unwrap();
        assert_eq!(late.len(), 1);
        let re = Matcher::new(MatchOp::Regex, "job", "b|c").unwrap();
        assert_eq!(st.select(&[re], 0, 0).unwrap()[0].samples, vec![s(0, 1.0)]);
        assert_eq!(st.label_values("job", &[], 0, 100).unwrap(), ["a", "b"]);
        assert_eq!(st.label_names(&[], 0, 100).unwrap(), ["__name__", "job"]);
    }

    #[test]
    fn start_times_follow_their_samples() {
        let mut st = MemStore::new();
        let m = l(&[("__name__", "m")]);
        st.add_floats(&m, &[s(0, 1.0), s(60, 2.0)]);
        st.add_floats_with_start(&m, &[s(30, 5.0), s(60, 3.0)], &[10, 50]);
        let got = st
            .select(&[Matcher::equal("__name__", "m")], 1, 100)
            .unwrap();
        assert_eq!(got[0].samples, vec![s(30, 5.0), s(60, 3.0)]);
        assert_eq!(got[0].start_times, vec![10, 50]);
        let plain = l(&[("__name__", "p")]);
        st.add_floats(&plain, &[s(0, 1.0)]);
        let got = st.select(&[Matcher::equal("__name__", "p")], 0, 0).unwrap();
        assert!(got[0].start_times.is_empty());
    }

    #[test]
    fn histogram_selection_is_noticed() {
        let mut st = MemStore::new();
        st.add_histogram_times(&l(&[("__name__", "h")]), &[120]);
        assert!(!st.touched_histogram());
        st.select(&[Matcher::equal("__name__", "h")], 0, 60)
            .unwrap();
        assert!(!st.touched_histogram());
        st.select(&[Matcher::equal("__name__", "x")], 0, 200)
            .unwrap();
        assert!(!st.touched_histogram());
        st.select(&[Matcher::equal("__name__", "h")], 0, 200)
            .unwrap();
        assert!(st.touched_histogram());
        st.reset_touched();
        assert!(!st.touched_histogram());
    }
}
