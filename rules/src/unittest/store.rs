//! The store one test group runs over: warden's own in-memory store, fed
//! the input series step by step as promtool feeds its test storage.
//!
//! promtool does not load the input series up front: before each rule
//! evaluation at `ts` it appends the samples with timestamps up to `ts`.
//! So a query after the last evaluation sees no sample beyond it, and a
//! test that depends on that behaves here as it does under promtool.
//!
//! Input samples, floats and native histograms, go into warden's own
//! in-memory [`Db`], which the test group's engine and rules then read.

use warden_tsdb::{AppendError, Appender, Db, Labels};

use crate::group::Point;

/// Most samples appended in one batch before it is committed.
const BATCH: usize = 100_000;

/// Input samples not yet appended, per series, oldest first.
#[derive(Debug, Default)]
pub struct PendingInput {
    series: Vec<PendingSeries>,
}

/// One input series and how far it has been appended.
#[derive(Debug)]
struct PendingSeries {
    labels: Labels,
    samples: Vec<(i64, Point)>,
    next: usize,
}

impl PendingInput {
    /// Adds a series; a later definition of the same labels replaces an
    /// earlier one, as in promtool's loader.
    pub fn add(&mut self, labels: Labels, samples: Vec<(i64, Point)>) {
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
            while let Some((t, point)) = s.samples.get(s.next) {
                if *t > ts {
                    break;
                }
                match point {
                    Point::Float(v) => app.append(&s.labels, *t, *v)?,
                    Point::Histogram(h) => app.append_histogram(&s.labels, *t, h)?,
                }
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
    use warden_tsdb::{Matcher, Querier};

    fn l(name: &str) -> Labels {
        Labels::from_pairs([("__name__", name)]).unwrap()
    }

    #[test]
    fn samples_arrive_step_by_step() {
        let db = Db::in_memory(warden_tsdb::DbOptions::default());
        let mut input = PendingInput::default();
        input.add(
            l("m"),
            vec![(0, Point::Float(1.0)), (60_000, Point::Float(2.0))],
        );
        let h = std::sync::Arc::new(warden_tsdb::histogram::FloatHistogram::default());
        input.add(l("h"), vec![(60_000, Point::Histogram(h))]);
        input.append_till(&db, 0).unwrap();
        let select = |name| {
            db.select(&[Matcher::equal("__name__", name)], 0, 120_000)
                .unwrap()
        };
        assert_eq!(select("m")[0].samples.len(), 1);
        assert!(select("h").is_empty());
        input.append_till(&db, 60_000).unwrap();
        assert_eq!(select("m")[0].samples.len(), 2);
        assert_eq!(select("h")[0].histograms.len(), 1);
    }
}
