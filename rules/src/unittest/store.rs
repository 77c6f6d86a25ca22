//! The store one test group runs over: warden's own in-memory store, fed
//! the input series step by step as promtool feeds its test storage.
//!
//! promtool does not load the input series up front: before each rule
//! evaluation at `ts` it appends the samples with timestamps up to `ts`.
//! So a query after the last evaluation sees no sample beyond it, and a
//! test that depends on that behaves here as it does under promtool.
//!
//! warden stores floats only. Native-histogram input samples are kept
//! aside; a query that selects one of those series in the range it reads
//! is noticed, so that the runner reports that case as unsupported
//! instead of comparing a wrong answer.

use std::sync::atomic::{AtomicBool, Ordering};

use warden_tsdb::{
    AppendError, Appender, Db, DbOptions, Labels, Matcher, Querier, QueryError, Series,
};

/// Most samples appended in one batch before it is committed.
const BATCH: usize = 100_000;

/// warden's in-memory store plus what it cannot hold.
pub struct TestStore {
    db: Db,
    histograms: Vec<(Labels, Vec<i64>)>,
    touched_histogram: AtomicBool,
}

impl TestStore {
    /// An empty store that remembers the native-histogram samples of
    /// `histograms` (labels and sample times).
    pub fn new(histograms: Vec<(Labels, Vec<i64>)>) -> TestStore {
        TestStore {
            db: Db::in_memory(DbOptions::default()),
            histograms,
            touched_histogram: AtomicBool::new(false),
        }
    }

    /// The store to write rule results into.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Whether a query since the last call selected native-histogram data;
    /// clears the mark.
    pub fn take_touched_histogram(&self) -> bool {
        self.touched_histogram.swap(false, Ordering::Relaxed)
    }

    fn note_histograms(&self, matchers: &[Matcher], min_t: i64, max_t: i64) {
        let hit = self.histograms.iter().any(|(labels, times)| {
            let from = times.partition_point(|&t| t < min_t);
            times.get(from).is_some_and(|&t| t <= max_t)
                && matchers
                    .iter()
                    .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
        });
        if hit {
            self.touched_histogram.store(true, Ordering::Relaxed);
        }
    }
}

impl Querier for TestStore {
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Series>, QueryError> {
        self.note_histograms(matchers, min_t, max_t);
        self.db.select(matchers, min_t, max_t)
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError> {
        self.note_histograms(matchers, min_t, max_t);
        self.db.label_names(matchers, min_t, max_t)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError> {
        self.note_histograms(matchers, min_t, max_t);
        self.db.label_values(name, matchers, min_t, max_t)
    }
}

/// Input samples not yet appended, per series, oldest first.
#[derive(Debug, Default)]
pub struct PendingInput {
    series: Vec<(Labels, Vec<(i64, f64)>, usize)>,
}

impl PendingInput {
    /// Adds a series; a later definition of the same labels replaces an
    /// earlier one, as in promtool's loader.
    pub fn add(&mut self, labels: Labels, samples: Vec<(i64, f64)>) {
        match self.series.iter_mut().find(|(l, _, _)| *l == labels) {
            Some(entry) => *entry = (labels, samples, 0),
            None => self.series.push((labels, samples, 0)),
        }
    }

    /// Appends every pending sample with a timestamp up to `ts` to `db`.
    pub fn append_till(&mut self, db: &Db, ts: i64) -> Result<(), AppendError> {
        let mut app = db.appender();
        let mut in_batch = 0;
        for (labels, samples, next) in &mut self.series {
            while let Some(&(t, v)) = samples.get(*next) {
                if t > ts {
                    break;
                }
                app.append(labels, t, v)?;
                *next += 1;
                in_batch += 1;
                if in_batch == BATCH {
                    app.commit()?;
                    in_batch = 0;
                }
            }
        }
        app.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(name: &str) -> Labels {
        Labels::from_pairs([("__name__", name)]).unwrap()
    }

    #[test]
    fn samples_arrive_step_by_step() {
        let store = TestStore::new(vec![(l("h"), vec![60_000])]);
        let mut input = PendingInput::default();
        input.add(l("m"), vec![(0, 1.0), (60_000, 2.0)]);
        input.append_till(store.db(), 0).unwrap();
        let m = [Matcher::equal("__name__", "m")];
        assert_eq!(store.select(&m, 0, 120_000).unwrap()[0].samples.len(), 1);
        input.append_till(store.db(), 60_000).unwrap();
        assert_eq!(store.select(&m, 0, 120_000).unwrap()[0].samples.len(), 2);
        assert!(!store.take_touched_histogram());
        store
            .select(&[Matcher::equal("__name__", "h")], 0, 59_999)
            .unwrap();
        assert!(!store.take_touched_histogram());
        store
            .select(&[Matcher::equal("__name__", "h")], 0, 60_000)
            .unwrap();
        assert!(store.take_touched_histogram());
        assert!(!store.take_touched_histogram());
    }
}
