//! Checkpoints: the head's series, chunks, histograms and metadata in one
//! file, so the WAL segments they cover can be deleted.
//!
//! The head is the only copy of the data, so a checkpoint holds everything
//! still inside retention: floats as encoded chunks (one to two bytes per
//! sample, against about twelve in the WAL), native histograms as the same
//! histogram records the WAL uses (the head keeps them uncompressed), each
//! series' chunks first, then its histograms. It is written to a temporary file,
//! fsynced, renamed to `checkpoint.NNNNNNNN` (covering segments up to
//! `NNNNNNNN`), and the directory fsynced; only then are segments deleted.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::head::Head;
use crate::record::{self, Record};
use crate::wal::{checkpoint_name, sync_dir};

/// Flush the encode buffer to the file past this size.
const FLUSH_AT: usize = 1 << 20;

/// Writes a checkpoint of `head` covering segments up to `seq`; returns its
/// path and size.
pub fn write(wal_dir: &Path, seq: u64, head: &Head) -> io::Result<(PathBuf, u64)> {
    let final_path = wal_dir.join(checkpoint_name(seq));
    let tmp_path = wal_dir.join(format!("{}.tmp", checkpoint_name(seq)));
    let file = File::create(&tmp_path)?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let mut buf = Vec::with_capacity(FLUSH_AT + (64 << 10));
    let mut size = 0u64;

    let sized = |m: &(String, _)| record::metadata_bytes(&m.0, &m.1);
    for run in record::split_by_size(head.metadata(), sized) {
        record::encode(&mut buf, &Record::Metadata(run));
    }
    // Only series whose record is in the WAL matter: the others belong to an
    // uncommitted batch, whose commit will log them in a later segment.
    let series: Vec<_> = head
        .all_series()
        .into_iter()
        .filter(|s| s.is_logged())
        .collect();
    for group in record::split_by_size(series, |s| record::labels_bytes(&s.labels)) {
        let list = group.iter().map(|s| (s.id, s.labels.clone())).collect();
        record::encode(&mut buf, &Record::Series(list));
        for s in &group {
            let data = s.data();
            for bytes in data.chunk_bytes() {
                let rec = Record::Chunk {
                    id: s.id,
                    data: bytes.to_vec(),
                };
                record::encode(&mut buf, &rec);
            }
            let hists: Vec<_> = data
                .histogram_samples()
                .map(|h| (s.id, h.t, h.h.clone()))
                .collect();
            drop(data);
            for run in record::split_by_size(hists, |h| record::histogram_bytes(&h.2)) {
                record::encode(&mut buf, &Record::Histograms(run));
            }
            if buf.len() >= FLUSH_AT {
                out.write_all(&buf)?;
                size += buf.len() as u64;
                buf.clear();
            }
        }
    }
    out.write_all(&buf)?;
    size += buf.len() as u64;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp_path, &final_path)?;
    sync_dir(wal_dir)?;
    Ok((final_path, size))
}
