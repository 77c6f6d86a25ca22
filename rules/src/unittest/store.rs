//! The store one test group runs over: warden's own in-memory store, fed
//! the input series step by step as promtool feeds its test storage.
//!
//! promtool does not load the input series up front: before each rule
//! evaluation at `ts` it appends the samples with timestamps up to `ts`.
//! So a query after the last evaluation sees no sample beyond it, and a
//! test that depends on that behaves here as it does under promtool.
//!
//! warden stores floats only. Native-histogram input samples are kept
//! aside in a [`HistogramWatch`], so that the runner reports a case that
//! reads one as unsupported instead of comparing a wrong answer.

use warden_tsdb::{
    AppendError, Appender, Db, DbOptions, Labels, Matcher, Querier, QueryError, Series,
};

use crate::promql::promqltest::HistogramWatch;

/// Most samples appended in one batch before it is committed.
const BATCH: usize = 100_000;

/// warden's in-memory store plus what it cannot hold.
pub struct TestStore {
    db: Db,
    histograms: HistogramWatch,
}

impl TestStore {
    /// An empty store that remembers the native-histogram samples of
    /// `histograms` (labels and sample times).
    pub fn new(histograms: Vec<(Labels, Vec<i64>)>) -> TestStore {
        TestStore {
            db: Db::in_memory(DbOptions::default()),
            histograms: HistogramWatch::new(histograms),
        }
    }

    /// The store to write rule results into.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Whether a query since the last call selected native-histogram data;
    /// clears the mark.
    pub fn take_touched_histogram(&self) -> bool {
        self.histograms.take()
    }
}

impl Querier for TestStore {
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Series>, QueryError> {
        self.histograms.note(matchers, min_t, max_t);
        self.db.select(matchers, min_t, max_t)
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError> {
        self.histograms.note(matchers, min_t, max_t);
        self.db.label_names(matchers, min_t, max_t)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError> {
        self.histograms.note(matchers, min_t, max_t);
        self.db.label_values(name, matchers, min_t, max_t)
    }
}

/// Input samples not yet appended, per series, oldest first.
#[derive(Debug, Default)]
pub struct PendingInput {
    series: Vec<PendingSeries>,
}

/// One input series and how far it has been appended.
#[derive(Debug)]
struct PendingSeries {
    labels: Labels,
    samples: Vec<(i64, f64)>,
    next: usize,
}

impl PendingInput {
    /// Adds a series; a later definition of the same labels replaces an
    /// earlier one, as in promtool's loader.
    pub fn add(&mut self, labels: Labels, samples: Vec<(i64, f64)>) {
        let fresh = PendingSeries {
            labels,
            samples,
            next: 0,
        };
        match self.series.iter_mut().find(|s| s.labels == fresh.labels) {
            Some(entry) => *entry = fresh,
            None => self.series.push(fresh),
        }
    }

    /// Appends every pending sample with a timestamp up to `ts` to `db`.
    pub fn append_till(&mut self, db: &Db, ts: i64) -> Result<(), AppendError> {
        let mut app = db.appender();
        let mut in_batch = 0;
        for s in &mut self.series {
            while let Some(&(t, v)) = s.samples.get(s.next) {
                if t > ts {
                    break;
                }
                app.append(&s.labels, t, v)?;
                s.next += 1;
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
