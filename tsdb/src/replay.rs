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

    /// Applies one record. Samples that overlap what the head already holds
    /// (a checkpoint and the segments after it may share some) are skipped.
    pub fn apply(&mut self, head: &Head, record: Record) {
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
        }
    }
}
