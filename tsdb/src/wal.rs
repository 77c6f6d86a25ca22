//! The write-ahead log: numbered segment files under `<dir>/wal/`.
//!
//! Each commit's records are written with one `write` call to the current
//! segment, so after `commit` returns they survive a crash of the process;
//! surviving a crash of the machine depends on the fsync policy. A segment
//! is closed (fsynced) and a new one started once it would exceed the size
//! limit. Reading stops at the first damaged record of a segment; see
//! [`read_records`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::record::{self, FRAME_HEADER, MAX_PAYLOAD, Record};

/// Counters of WAL activity, for the store's own metrics.
#[derive(Debug, Default)]
pub struct WalStats {
    /// Nanoseconds spent in fsync.
    pub fsync_nanos: AtomicU64,
    /// Number of fsyncs.
    pub fsyncs: AtomicU64,
    /// Damaged records found on replay.
    pub corruptions: AtomicU64,
    /// Times segments were deleted after a checkpoint.
    pub truncations: AtomicU64,
    /// Checkpoints written.
    pub checkpoints: AtomicU64,
}

/// Files found in a WAL directory.
#[derive(Debug, Default)]
pub struct Listing {
    /// Segments, by increasing sequence number.
    pub segments: Vec<(u64, PathBuf)>,
    /// Checkpoints, by increasing sequence number.
    pub checkpoints: Vec<(u64, PathBuf)>,
    /// Leftover temporary files of an interrupted checkpoint.
    pub temporary: Vec<PathBuf>,
}

/// Segment file name for a sequence number.
pub fn segment_name(seq: u64) -> String {
    format!("{seq:08}")
}

/// Checkpoint file name covering segments up to `seq`.
pub fn checkpoint_name(seq: u64) -> String {
    format!("checkpoint.{seq:08}")
}

/// Lists segments and checkpoints in `dir`; other files are left alone.
pub fn list(dir: &Path) -> io::Result<Listing> {
    let mut out = Listing::default();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if name.ends_with(".tmp") {
            out.temporary.push(path);
        } else if let Some(n) = name.strip_prefix("checkpoint.") {
            if let Ok(seq) = n.parse() {
                out.checkpoints.push((seq, path));
            }
        } else if !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_digit())
            && let Ok(seq) = name.parse()
        {
            out.segments.push((seq, path));
        }
    }
    out.segments.sort();
    out.checkpoints.sort();
    Ok(out)
}

/// How reading a file of records ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// Every byte belonged to a complete, valid record.
    Clean {
        /// Bytes read.
        len: u64,
    },
    /// A record at `offset` is torn or corrupt; nothing after it was read.
    Damaged {
        /// Byte offset of the first bad record (= length of the good prefix).
        offset: u64,
        /// What was wrong.
        reason: String,
    },
}

/// Reads the records of one file in order, handing each to `f`.
///
/// Stops at the first record that is incomplete, fails its checksum or does
/// not parse: framing cannot be trusted past it. I/O errors other than an
/// early end of file are returned.
pub fn read_records(path: &Path, mut f: impl FnMut(Record)) -> io::Result<ReadEnd> {
    let mut r = io::BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut offset = 0u64;
    let mut buf = vec![0u8; FRAME_HEADER];
    loop {
        buf.truncate(FRAME_HEADER);
        let n = read_full(&mut r, &mut buf)?;
        if n == 0 {
            return Ok(ReadEnd::Clean { len: offset });
        }
        let damaged = |reason: String| Ok(ReadEnd::Damaged { offset, reason });
        if n < FRAME_HEADER {
            return damaged("truncated record header".into());
        }
        let len = u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if len > MAX_PAYLOAD {
            return damaged(format!("record length {len} exceeds the limit"));
        }
        buf.resize(FRAME_HEADER + len, 0);
        let got = read_full(&mut r, &mut buf[FRAME_HEADER..])?;
        if got < len {
            return damaged(format!("record truncated: {got} of {len} payload bytes"));
        }
        match record::decode(&buf) {
            Ok((rec, size)) => {
                offset += size as u64;
                f(rec);
            }
            Err(e) => return damaged(e.to_string()),
        }
    }
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Fsyncs a directory so that creations, renames and deletions in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The segment being written and the bookkeeping around it.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    file: File,
    seq: u64,
    size: u64,
    segment_bytes: u64,
    dirty: bool,
    /// A failed write may have left a partial record: start a new segment.
    broken: bool,
    /// Bytes of the closed segments still on disk.
    closed_bytes: u64,
    /// Bytes of the current checkpoint.
    checkpoint_bytes: u64,
}

impl Wal {
    /// Starts segment `seq` in `dir`; `closed_bytes` and `checkpoint_bytes`
    /// are the sizes already on disk, for accounting.
    pub fn create(
        dir: &Path,
        seq: u64,
        segment_bytes: u64,
        closed_bytes: u64,
        checkpoint_bytes: u64,
    ) -> io::Result<Wal> {
        let file = new_segment(dir, seq)?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            file,
            seq,
            size: 0,
            segment_bytes: segment_bytes.max(1),
            dirty: false,
            broken: false,
            closed_bytes,
            checkpoint_bytes,
        })
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes framed records (one commit) in one piece, rotating first when
    /// the current segment would exceed its limit.
    pub fn log(&mut self, bytes: &[u8], stats: &WalStats) -> io::Result<()> {
        if self.broken || (self.size > 0 && self.size + bytes.len() as u64 > self.segment_bytes) {
            self.rotate(stats)?;
        }
        if let Err(e) = self.file.write_all(bytes) {
            self.broken = true;
            return Err(e);
        }
        self.size += bytes.len() as u64;
        self.dirty = true;
        Ok(())
    }

    /// Fsyncs the current segment if anything was written since the last sync.
    pub fn sync(&mut self, stats: &WalStats) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let start = Instant::now();
        self.file.sync_data()?;
        stats
            .fsync_nanos
            .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.dirty = false;
        Ok(())
    }

    /// For a background sync: if anything was written since the last sync,
    /// marks it synced and hands back a second handle on the segment, so
    /// the fsync can run without holding up commits. If that fsync fails,
    /// call [`mark_dirty`](Self::mark_dirty).
    pub fn take_sync_handle(&mut self) -> io::Result<Option<File>> {
        if !self.dirty {
            return Ok(None);
        }
        let handle = self.file.try_clone()?;
        self.dirty = false;
        Ok(Some(handle))
    }

    /// Records that the current segment needs an fsync again.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Closes the current segment (fsynced) and starts the next; returns the
    /// sequence number of the closed one.
    pub fn rotate(&mut self, stats: &WalStats) -> io::Result<u64> {
        self.sync(stats)?;
        let closed = self.seq;
        let file = new_segment(&self.dir, closed + 1)?;
        self.file = file;
        self.seq = closed + 1;
        self.closed_bytes += self.size;
        self.size = 0;
        self.broken = false;
        Ok(closed)
    }

    /// Bytes of segments and checkpoint on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.closed_bytes + self.size + self.checkpoint_bytes
    }

    /// Bytes of segments on disk (checkpoint excluded).
    pub fn segment_bytes_on_disk(&self) -> u64 {
        self.closed_bytes + self.size
    }

    /// Bytes of the current checkpoint.
    pub fn checkpoint_bytes(&self) -> u64 {
        self.checkpoint_bytes
    }

    /// The configured segment size limit.
    pub fn segment_limit(&self) -> u64 {
        self.segment_bytes
    }

    /// After a checkpoint covering segments up to `upto` was made durable:
    /// deletes those segments and older checkpoints.
    pub fn truncate(
        &mut self,
        upto: u64,
        checkpoint_bytes: u64,
        stats: &WalStats,
    ) -> io::Result<()> {
        let listing = list(&self.dir)?;
        let mut removed = 0;
        for (seq, path) in &listing.segments {
            if *seq <= upto && *seq != self.seq {
                removed += fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                fs::remove_file(path)?;
            }
        }
        for (seq, path) in &listing.checkpoints {
            if *seq < upto {
                fs::remove_file(path)?;
            }
        }
        sync_dir(&self.dir)?;
        self.closed_bytes = self.closed_bytes.saturating_sub(removed);
        self.checkpoint_bytes = checkpoint_bytes;
        stats.truncations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Fsyncs a handle from [`Wal::take_sync_handle`] and counts it.
pub fn sync_handle(file: &File, stats: &WalStats) -> io::Result<()> {
    let start = Instant::now();
    file.sync_data()?;
    stats
        .fsync_nanos
        .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    stats.fsyncs.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn new_segment(dir: &Path, seq: u64) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(dir.join(segment_name(seq)))?;
    sync_dir(dir)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Labels;

    #[test]
    fn segments_rotate_at_the_size_limit_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let stats = WalStats::default();
        let mut wal = Wal::create(dir.path(), 0, 100, 0, 0).unwrap();
        let mut expected = Vec::new();
        for i in 0..20u64 {
            let rec = Record::Samples(vec![(i, i as i64, i)]);
            let mut buf = Vec::new();
            record::encode(&mut buf, &rec);
            wal.log(&buf, &stats).unwrap();
            expected.push(rec);
        }
        wal.sync(&stats).unwrap();
        let listing = list(dir.path()).unwrap();
        assert!(listing.segments.len() > 2);
        let mut got = Vec::new();
        for (_, path) in &listing.segments {
            let end = read_records(path, |r| got.push(r)).unwrap();
            assert!(matches!(end, ReadEnd::Clean { .. }));
            assert!(fs::metadata(path).unwrap().len() <= 100);
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn garbage_is_reported_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_name(0));
        let mut buf = Vec::new();
        record::encode(
            &mut buf,
            &Record::Series(vec![(1, Labels::from_pairs([("a", "b")]).unwrap())]),
        );
        let good = buf.len() as u64;
        buf.extend_from_slice(b"garbage garbage");
        fs::write(&path, &buf).unwrap();
        let mut n = 0;
        let end = read_records(&path, |_| n += 1).unwrap();
        assert_eq!(n, 1);
        assert!(matches!(end, ReadEnd::Damaged { offset, .. } if offset == good));
    }
}
