//! The in-memory store a test script loads into: a sorted list of series
//! (floats and native histograms), read by the engine through [`Querier`].

use std::sync::Arc;

use warden_tsdb::histogram::stored_hint;
use warden_tsdb::{HistogramSample, Labels, Matcher, Querier, QueryError, Sample, Series};

/// Series loaded by a script, in label order.
#[derive(Debug, Default)]
pub struct MemStore {
    series: Vec<Series>,
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
        let idx = self.index_of(labels);
        let series = &mut self.series[idx];
        // A float replaces a histogram at the same time.
        remove_histograms_at(series, samples);
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

    /// Adds native-histogram samples to a series (creating it); a sample
    /// at a time the series already has, float or histogram, replaces it.
    pub fn add_histograms(&mut self, labels: &Labels, samples: &[HistogramSample]) {
        self.add_histograms_with_start(labels, samples, &[]);
    }

    /// Like [`add_histograms`](Self::add_histograms), with the samples'
    /// start timestamps (`start_times` empty, or one per sample, `0` for
    /// none). The series keeps histogram start times only once some
    /// histogram has had them, so that series without pay nothing.
    pub fn add_histograms_with_start(
        &mut self,
        labels: &Labels,
        samples: &[HistogramSample],
        start_times: &[i64],
    ) {
        if samples.is_empty() {
            return;
        }
        let idx = self.index_of(labels);
        let series = &mut self.series[idx];
        let keeps_start = !start_times.is_empty() || !series.histogram_start_times.is_empty();
        if keeps_start && series.histogram_start_times.is_empty() {
            series.histogram_start_times = vec![0; series.histograms.len()];
        }
        for (j, h) in samples.iter().enumerate() {
            if let Ok(k) = series.samples.binary_search_by_key(&h.t, |x| x.t) {
                series.samples.remove(k);
                if !series.start_times.is_empty() {
                    series.start_times.remove(k);
                }
            }
            let st = start_times.get(j).copied().unwrap_or(0);
            let k = match series.histograms.binary_search_by_key(&h.t, |x| x.t) {
                Ok(k) => {
                    series.histograms[k] = h.clone();
                    if keeps_start {
                        series.histogram_start_times[k] = st;
                    }
                    k
                }
                Err(k) => {
                    series.histograms.insert(k, h.clone());
                    if keeps_start {
                        series.histogram_start_times.insert(k, st);
                    }
                    k
                }
            };
            set_stored_hint(series, k);
        }
    }

    /// The position of the series `labels`, created empty when new.
    fn index_of(&mut self, labels: &Labels) -> usize {
        match self.series.binary_search_by(|s| s.labels.cmp(labels)) {
            Ok(i) => i,
            Err(i) => {
                self.series
                    .insert(i, Series::new(labels.clone(), Vec::new()));
                i
            }
        }
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no series is stored.
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
            let h_from = s.histograms.partition_point(|x| x.t < min_t);
            let h_to = s.histograms.partition_point(|x| x.t <= max_t);
            (from < to || h_from < h_to).then(|| {
                let mut out = Series::new(s.labels.clone(), s.samples[from..to].to_vec());
                if !s.start_times.is_empty() {
                    out.start_times = s.start_times[from..to].to_vec();
                }
                out.histograms = s.histograms[h_from..h_to].to_vec();
                if !s.histogram_start_times.is_empty() {
                    out.histogram_start_times = s.histogram_start_times[h_from..h_to].to_vec();
                }
                out
            })
        })
    }
}

/// Drops the histograms of `series` at the times of `floats` (sorted by
/// time), with their start timestamps.
fn remove_histograms_at(series: &mut Series, floats: &[Sample]) {
    let replaced = |t: i64| floats.binary_search_by_key(&t, |x| x.t).is_ok();
    if series.histogram_start_times.is_empty() {
        series.histograms.retain(|h| !replaced(h.t));
        return;
    }
    let mut keep = series.histograms.iter().map(|h| !replaced(h.t));
    series
        .histogram_start_times
        .retain(|_| keep.next().unwrap_or(true));
    series.histograms.retain(|h| !replaced(h.t));
}

/// Gives histogram `k` of `series` the hint Prometheus's head gives a
/// sample appended after the series' previous one (the scripts' expected
/// results carry these hints).
fn set_stored_hint(series: &mut Series, k: usize) {
    let t = series.histograms[k].t;
    // No float shares a histogram's timestamp (each replaces the other), so
    // only a float strictly between the two histograms breaks the run.
    let float_between = |from: i64| {
        let i = series.samples.partition_point(|x| x.t <= from);
        series.samples.get(i).is_some_and(|x| x.t < t)
    };
    let previous = k
        .checked_sub(1)
        .map(|p| &series.histograms[p])
        .filter(|p| !float_between(p.t))
        .map(|p| p.h.as_ref());
    let h = &series.histograms[k].h;
    let hint = stored_hint(previous, h);
    if hint != h.counter_reset_hint {
        let mut h = h.as_ref().clone();
        h.counter_reset_hint = hint;
        series.histograms[k].h = Arc::new(h);
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
        Ok(self.matching(matchers, min_t, max_t).collect())
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError> {
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
    fn histogram_start_times_follow_their_samples() {
        let mut st = MemStore::new();
        let m = l(&[("__name__", "h")]);
        let hist = |t| HistogramSample {
            t,
            h: std::sync::Arc::new(warden_tsdb::histogram::FloatHistogram::default()),
        };
        st.add_histograms(&m, &[hist(0)]);
        st.add_histograms_with_start(&m, &[hist(60), hist(120)], &[10, 50]);
        let sel = |st: &MemStore, lo, hi| {
            st.select(&[Matcher::equal("__name__", "h")], lo, hi)
                .unwrap()
        };
        assert_eq!(sel(&st, 0, 200)[0].histogram_start_times, vec![0, 10, 50]);
        assert_eq!(sel(&st, 100, 200)[0].histogram_start_times, vec![50]);
        // A float at 60 replaces that histogram and its start time.
        st.add_floats(&m, &[s(60, 1.0)]);
        assert_eq!(sel(&st, 0, 200)[0].histogram_start_times, vec![0, 50]);
        // Series whose histograms have no start times keep none.
        let plain = l(&[("__name__", "p")]);
        st.add_histograms(&plain, &[hist(0)]);
        let got = st.select(&[Matcher::equal("__name__", "p")], 0, 0).unwrap();
        assert!(got[0].histogram_start_times.is_empty());
    }

    #[test]
    fn histograms_and_floats_replace_each_other() {
        let mut st = MemStore::new();
        let h = l(&[("__name__", "h")]);
        let hist = |t| HistogramSample {
            t,
            h: std::sync::Arc::new(warden_tsdb::histogram::FloatHistogram::default()),
        };
        st.add_floats(&h, &[s(0, 1.0), s(60, 2.0)]);
        st.add_histograms(&h, &[hist(60), hist(120)]);
        let sel = |st: &MemStore, lo, hi| {
            st.select(&[Matcher::equal("__name__", "h")], lo, hi)
                .unwrap()
        };
        let got = sel(&st, 0, 200);
        assert_eq!(got[0].samples, vec![s(0, 1.0)]);
        let times: Vec<i64> = got[0].histograms.iter().map(|x| x.t).collect();
        assert_eq!(times, [60, 120]);
        // A series with only histograms in range is selected.
        assert_eq!(sel(&st, 100, 200).len(), 1);
        st.add_floats(&h, &[s(120, 3.0)]);
        let got = sel(&st, 0, 200);
        assert_eq!(got[0].samples, vec![s(0, 1.0), s(120, 3.0)]);
        assert_eq!(got[0].histograms.len(), 1);
    }
}
