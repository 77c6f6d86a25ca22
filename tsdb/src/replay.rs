//! Applies WAL and checkpoint records to the head on open.

use std::collections::HashMap;

use crate::chunk::Chunk;
use crate::head::Head;
use crate::record::Record;

/// Replay state: WAL ids that were folded into another series with the
/// same labels, and what could not be applied.
#[derive(Debug, Default)]
pub struct Replayer {
    /// WAL id → head id, only where they differ.
    aliases: HashMap<u64, u64>,
    /// Samples or chunks naming a series id no series record introduced.
    pub unknown_series: u64,
    /// Chunks that did not decode.
    pub bad_chunks: u64,
    /// Histograms that decoded but do not validate (spans and buckets
    /// disagree): only damage the checksum missed can produce them, and
    /// queries must never meet them.
    pub bad_histograms: u64,
    /// Samples and chunks applied.
    pub applied: u64,
}

impl Replayer {
    /// A fresh replay.
    pub fn new() -> Replayer {
        Replayer::default()
    }

    fn resolve(&self, id: u64) -> u64 {
        self.aliases.get(&id).copied().unwrap_or(id)
    }

    /// Applies one WAL segment record. Samples that overlap what the head
    /// already holds (a checkpoint and the segments after it may share
    /// some) are skipped.
    pub fn apply(&mut self, head: &Head, record: Record) {
        self.apply_from(head, record, false);
    }

    /// Applies one checkpoint record. A checkpoint holds each series'
    /// float chunks before its histograms, so a histogram there is ordered
    /// against the series' histograms only, not against later floats.
    pub fn apply_checkpoint(&mut self, head: &Head, record: Record) {
        self.apply_from(head, record, true);
    }

    fn apply_from(&mut self, head: &Head, record: Record, checkpoint: bool) {
        match record {
            Record::Series(series) => {
                for (id, labels) in series {
                    let s = head.restore_series(id, &labels);
                    if s.id != id {
                        self.aliases.insert(id, s.id);
                    }
                }
            }
            Record::Samples(samples) => {
                for (id, t, v) in samples {
                    let Some(s) = head.get(self.resolve(id)) else {
                        self.unknown_series += 1;
                        continue;
                    };
                    if head.apply(&s, t, v, false).is_ok() {
                        self.applied += 1;
                    }
                }
            }
            Record::Metadata(items) => {
                for (name, m) in items {
                    head.set_metadata(&name, m);
                }
            }
            Record::Chunk { id, data } => {
                let Some(s) = head.get(self.resolve(id)) else {
                    self.unknown_series += 1;
                    return;
                };
                match Chunk::from_bytes(data) {
                    Ok(c) => {
                        if head.apply_chunk(&s, c).is_ok() {
                            self.applied += 1;
                        }
                    }
                    Err(_) => self.bad_chunks += 1,
                }
            }
            Record::Histograms(samples) => {
                for (id, t, h) in samples {
                    let Some(s) = head.get(self.resolve(id)) else {
                        self.unknown_series += 1;
                        continue;
                    };
                    if h.validate().is_err() {
                        self.bad_histograms += 1;
                        continue;
                    }
                    let applied = if checkpoint {
                        head.restore_histogram(&s, t, h).is_ok()
                    } else {
                        head.apply_histogram(&s, t, h, false).is_ok()
                    };
                    if applied {
                        self.applied += 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::chunk::ChunkAppender;
    use crate::histogram::{FloatHistogram, Span};
    use crate::labels::Labels;

    fn h(count: f64) -> Arc<FloatHistogram> {
        Arc::new(FloatHistogram {
            count,
            positive_spans: vec![Span {
                offset: 0,
                length: 1,
            }],
            positive_buckets: vec![count],
            ..FloatHistogram::default()
        })
    }

    fn head_with_series() -> (Head, Replayer) {
        let head = Head::new();
        let mut r = Replayer::new();
        let labels = Labels::from_pairs([("__name__", "m")]).unwrap();
        r.apply(&head, Record::Series(vec![(5, labels)]));
        (head, r)
    }

    #[test]
    fn invalid_and_orphan_histograms_are_skipped_and_counted() {
        let (head, mut r) = head_with_series();
        let mut bad = (*h(1.0)).clone();
        bad.positive_buckets.clear();
        r.apply(
            &head,
            Record::Histograms(vec![(5, 1, Arc::new(bad)), (5, 2, h(2.0)), (6, 3, h(3.0))]),
        );
        assert_eq!((r.bad_histograms, r.unknown_series, r.applied), (1, 1, 1));
        let Some(s) = head.get(5) else {
            panic!("series 5 was restored")
        };
        assert_eq!(s.data().histogram_count(), 1);
        assert_eq!(
            head.counters
                .histogram_samples
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }

    #[test]
    fn checkpoint_histograms_may_precede_the_series_floats() {
        // A checkpoint holds a series' float chunks, then its histograms,
        // though in time they interleave.
        let mut c = ChunkAppender::new();
        c.append(10, 0);
        c.append(30, 0);
        let chunk = Record::Chunk {
            id: 5,
            data: c.seal().bytes().to_vec(),
        };
        let hists = Record::Histograms(vec![(5, 20, h(1.0)), (5, 40, h(2.0))]);

        let (head, mut r) = head_with_series();
        r.apply_checkpoint(&head, chunk.clone());
        r.apply_checkpoint(&head, hists.clone());
        assert_eq!(head.get(5).map(|s| s.data().histogram_count()), Some(2));

        // In a WAL segment the same order would be out of order (20 < 30).
        let (head, mut r) = head_with_series();
        r.apply(&head, chunk);
        r.apply(&head, hists);
        assert_eq!(head.get(5).map(|s| s.data().histogram_count()), Some(1));
    }
}
