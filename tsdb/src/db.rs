//! [`Db`]: the store the agent uses — the head, made durable by the WAL,
//! kept small by retention and checkpoints.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::checkpoint;
use crate::head::{Added, Head, MemSeries, Value, lock};
use crate::histogram::FloatHistogram;
use crate::ids::IdMap;
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::record::{self, Record, SAMPLES_PER_RECORD};
use crate::replay::Replayer;
use crate::retention;
use crate::sample::{Sample, is_stale_nan};
use std::ops::{ControlFlow, Range};

use crate::storage::{AppendError, Appender, MetricMetadata, Querier, QueryError, Series};
use crate::wal::{self, ReadEnd, Wal, WalStats};

/// Most samples one appender buffers before it must commit, so a caller
/// that never commits cannot grow memory without bound.
pub const MAX_BATCH_SAMPLES: usize = 1 << 20;

/// Most encoded bytes of histograms one appender buffers before it must
/// commit: a histogram may be a thousand times the size of a float sample,
/// so their count alone would not bound the batch's memory.
pub const MAX_BATCH_HISTOGRAM_BYTES: usize = 256 << 20;

/// A checkpoint is considered this often (when `maintain` runs) ...
const CHECKPOINT_EVERY_MS: i64 = 60 * 60 * 1000;

/// ... or as soon as the segments exceed this many times the segment size,
/// provided (in both cases) the segments hold at least half as many bytes
/// as the last checkpoint: a checkpoint rewrites the whole head, so this
/// bounds the bytes checkpoints write at about twice the WAL's own.
const CHECKPOINT_SEGMENTS: u64 = 3;

/// When durable a commit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Every commit is fsynced before `commit` returns: nothing committed is
    /// lost even if the machine loses power.
    Always,
    /// A background thread fsyncs at this interval: a power loss may lose
    /// up to one interval of commits (a process crash loses nothing).
    Interval(Duration),
    /// Never fsync during operation (only on close); the OS writes back
    /// when it likes.
    Never,
}

/// How the store is run.
#[derive(Debug, Clone, PartialEq)]
pub struct DbOptions {
    /// How long samples are kept (default 24h).
    pub retention: Duration,
    /// Upper bound on WAL + checkpoint bytes on disk; older chunks go first.
    pub max_bytes: Option<u64>,
    /// When commits are fsynced.
    pub fsync: FsyncPolicy,
    /// Size at which a WAL segment is closed and a new one started.
    pub segment_bytes: u64,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            retention: Duration::from_secs(24 * 60 * 60),
            max_bytes: None,
            fsync: FsyncPolicy::Interval(Duration::from_secs(1)),
            segment_bytes: 32 << 20,
        }
    }
}

/// Why the store could not open, persist or maintain itself.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Another process (or another `Db` in this one) has the directory open.
    #[error("{path} is locked by another store; two writers would corrupt its WAL")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DbError + use<> {
    let path = path.to_path_buf();
    move |source| DbError::Io { op, path, source }
}

/// A snapshot of the store's counters, for warden's own metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbStats {
    /// Series in the head.
    pub head_series: u64,
    /// Chunks in the head (open ones included).
    pub head_chunks: u64,
    /// Float samples stored since start.
    pub samples_appended_total: u64,
    /// Native-histogram samples stored since start (apart from floats, as
    /// Prometheus's appended counter splits them by a `type` label).
    pub histogram_samples_appended_total: u64,
    /// Native-histogram samples in the head (they are not in chunks).
    pub head_histogram_samples: u64,
    /// Samples refused as out of order.
    pub out_of_order_total: u64,
    /// Samples refused as duplicates.
    pub duplicate_total: u64,
    /// Samples refused as older than the retention window.
    pub out_of_bounds_total: u64,
    /// Bytes of WAL segments and checkpoint on disk.
    pub wal_bytes: u64,
    /// Seconds spent in WAL fsyncs.
    pub wal_fsync_seconds_sum: f64,
    /// WAL fsyncs.
    pub wal_fsync_total: u64,
    /// Damaged WAL or checkpoint records found on open.
    pub wal_corruptions_total: u64,
    /// Times WAL segments were deleted after a checkpoint.
    pub wal_truncations_total: u64,
    /// Checkpoints written.
    pub checkpoint_total: u64,
    /// Series dropped by retention.
    pub retention_series_removed_total: u64,
}

/// The WAL and what shares its lock.
#[derive(Debug)]
struct Durable {
    wal: Mutex<Wal>,
    stats: WalStats,
}

/// Stops the interval-fsync thread.
#[derive(Debug)]
struct Syncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Syncer {
    fn start(durable: Arc<Durable>, every: Duration) -> io::Result<Syncer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let every = every.max(Duration::from_millis(1));
        let handle = std::thread::Builder::new()
            .name("warden-wal-sync".into())
            .spawn(move || {
                let (m, cv) = &*flag;
                loop {
                    let g = lock(m);
                    let (g, _) = cv
                        .wait_timeout_while(g, every, |stopped| !*stopped)
                        .unwrap_or_else(|e| e.into_inner());
                    if *g {
                        return;
                    }
                    drop(g);
                    // The fsync runs on a second handle outside the WAL lock,
                    // so commits are not held up while the disk catches up.
                    let handle = lock(&durable.wal).take_sync_handle();
                    let synced = handle.and_then(|h| match h {
                        Some(file) => wal::sync_handle(&file, &durable.stats),
                        None => Ok(()),
                    });
                    if let Err(e) = synced {
                        lock(&durable.wal).mark_dirty();
                        tracing::error!(error = %e, "WAL fsync failed");
                    }
                }
            })?;
        Ok(Syncer {
            stop,
            handle: Some(handle),
        })
    }

    fn stop(&mut self) {
        let (m, cv) = &*self.stop;
        *lock(m) = true;
        cv.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[derive(Debug, Default)]
struct Maintenance {
    last_checkpoint_ms: Option<i64>,
}

/// warden's time-series store. `Send + Sync`; share it as `Arc<Db>`.
#[derive(Debug)]
pub struct Db {
    head: Head,
    durable: Option<Arc<Durable>>,
    syncer: Option<Syncer>,
    opts: DbOptions,
    /// Serialises commits when there is no WAL (the WAL lock does otherwise).
    commit_lock: Mutex<()>,
    maintenance: Mutex<Maintenance>,
    replay_corruptions: u64,
    /// Holds an exclusive lock on `<dir>/lock` while the store is open.
    _lock: Option<fs::File>,
}

impl Db {
    /// Opens (creating if needed) the store in `dir` and replays its WAL.
    ///
    /// Damaged WAL data never stops the open: the damaged segment is cut at
    /// its last good record, a warning names the file and offset, and the
    /// store starts with everything before it.
    pub fn open(dir: &Path, opts: DbOptions) -> Result<Db, DbError> {
        let wal_dir = dir.join("wal");
        fs::create_dir_all(&wal_dir).map_err(io_err("creating", &wal_dir))?;
        let lock_path = dir.join("lock");
        let lock_file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("opening", &lock_path))?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(DbError::Locked { path: lock_path }),
            Err(fs::TryLockError::Error(e)) => return Err(io_err("locking", &lock_path)(e)),
        }
        let head = Head::new();
        let listing = wal::list(&wal_dir).map_err(io_err("listing", &wal_dir))?;
        for tmp in &listing.temporary {
            fs::remove_file(tmp).map_err(io_err("removing", tmp))?;
        }
        let mut corruptions = 0u64;
        let mut replayer = Replayer::new();
        let mut checkpoint_seq = None;
        let mut checkpoint_bytes = 0;
        if let Some((seq, path)) = listing.checkpoints.last() {
            let end = wal::read_records(path, |r| replayer.apply_checkpoint(&head, r))
                .map_err(io_err("reading", path))?;
            if let ReadEnd::Damaged { offset, reason } = &end {
                corruptions += 1;
                tracing::warn!(file = %path.display(), offset, %reason,
                    "damaged checkpoint: keeping the records before the damage");
            }
            head.reopen_chunks();
            checkpoint_seq = Some(*seq);
            checkpoint_bytes = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            // Older checkpoints and covered segments are leftovers of a
            // truncation interrupted by a crash.
            for (old, p) in listing.checkpoints.iter().filter(|(s, _)| s < seq) {
                fs::remove_file(p).map_err(io_err("removing", p))?;
                tracing::info!(checkpoint = old, "removed superseded checkpoint");
            }
        }
        let mut last_seq = checkpoint_seq;
        let mut closed_bytes = 0;
        for (seq, path) in &listing.segments {
            if checkpoint_seq.is_some_and(|c| *seq <= c) {
                fs::remove_file(path).map_err(io_err("removing", path))?;
                continue;
            }
            let end = wal::read_records(path, |r| replayer.apply(&head, r))
                .map_err(io_err("reading", path))?;
            let len = match end {
                ReadEnd::Clean { len } => len,
                ReadEnd::Damaged { offset, reason } => {
                    corruptions += 1;
                    tracing::warn!(segment = %path.display(), offset, %reason,
                        "damaged WAL record: cutting the segment there");
                    let f = fs::OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(io_err("opening", path))?;
                    f.set_len(offset).map_err(io_err("truncating", path))?;
                    f.sync_all().map_err(io_err("syncing", path))?;
                    offset
                }
            };
            closed_bytes += len;
            last_seq = Some(last_seq.map_or(*seq, |l: u64| l.max(*seq)));
        }
        if replayer.unknown_series > 0 || replayer.bad_chunks > 0 || replayer.bad_histograms > 0 {
            tracing::warn!(
                unknown_series = replayer.unknown_series,
                bad_chunks = replayer.bad_chunks,
                bad_histograms = replayer.bad_histograms,
                "WAL replay skipped data whose series record was lost or that did not validate"
            );
        }
        // Retention is left to the first `maintain`, which knows the time:
        // the WAL and checkpoint held only retained data when last maintained.
        let next = last_seq.map_or(0, |s| s + 1);
        let wal = Wal::create(
            &wal_dir,
            next,
            opts.segment_bytes,
            closed_bytes,
            checkpoint_bytes,
        )
        .map_err(io_err("creating segment in", &wal_dir))?;
        let durable = Arc::new(Durable {
            wal: Mutex::new(wal),
            stats: WalStats::default(),
        });
        durable
            .stats
            .corruptions
            .store(corruptions, Ordering::Relaxed);
        let syncer = match opts.fsync {
            FsyncPolicy::Interval(every) => Some(
                Syncer::start(durable.clone(), every)
                    .map_err(io_err("starting fsync thread for", &wal_dir))?,
            ),
            _ => None,
        };
        tracing::info!(
            dir = %dir.display(),
            series = head.series_count(),
            applied = replayer.applied,
            "opened store"
        );
        Ok(Db {
            head,
            durable: Some(durable),
            syncer,
            opts,
            commit_lock: Mutex::new(()),
            maintenance: Mutex::default(),
            replay_corruptions: corruptions,
            _lock: Some(lock_file),
        })
    }

    /// A store without WAL, for tests and tools: nothing touches the disk.
    pub fn in_memory(opts: DbOptions) -> Db {
        Db {
            head: Head::new(),
            durable: None,
            syncer: None,
            opts,
            commit_lock: Mutex::new(()),
            maintenance: Mutex::default(),
            replay_corruptions: 0,
            _lock: None,
        }
    }

    /// A batch writer; samples become visible at `commit`.
    pub fn appender(&self) -> DbAppender<'_> {
        DbAppender {
            db: self,
            held: Vec::new(),
            slots: IdMap::default(),
            samples: Vec::new(),
            histograms: Vec::new(),
            histogram_bytes: 0,
            phases: Vec::new(),
            metadata: Vec::new(),
        }
    }

    /// The newest sample of each series matching `matchers` (every series
    /// when empty), leaving out series whose newest sample is the staleness
    /// marker or a native histogram (this answers in floats, for the
    /// exposition formats). Sorted by labels.
    pub fn latest(&self, matchers: &[Matcher]) -> Vec<(Labels, Sample)> {
        let ids = match self.head.select_ids(matchers, false) {
            Ok(ids) => ids,
            Err(_) => return Vec::new(),
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(s) = self.head.get(id) else { continue };
            let last = match s.data().newest() {
                Some((t, Value::Float(v))) => Some((t, v)),
                _ => None,
            };
            if let Some((t, v)) = last {
                let v = f64::from_bits(v);
                if !is_stale_nan(v) {
                    out.push((s.labels.clone(), Sample { t, v }));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Housekeeping the agent runs every minute: time retention, then a
    /// checkpoint and WAL truncation when due, then size retention.
    pub fn maintain(&self, now_ms: i64) -> Result<(), DbError> {
        let mut m = lock(&self.maintenance);
        let cutoff = retention::time_cutoff(now_ms, duration_ms(self.opts.retention));
        let (chunks, series) = self.head.truncate_before(cutoff);
        if chunks > 0 || series > 0 {
            tracing::debug!(chunks, series, "retention freed old data");
        }
        let Some(durable) = &self.durable else {
            return Ok(());
        };
        let last = *m.last_checkpoint_ms.get_or_insert(now_ms);
        let (segments, limit, disk, last_size) = {
            let wal = lock(&durable.wal);
            (
                wal.segment_bytes_on_disk(),
                wal.segment_limit(),
                wal.disk_bytes(),
                wal.checkpoint_bytes(),
            )
        };
        let over_size = self.opts.max_bytes.is_some_and(|max| disk > max);
        let worth_it = segments >= last_size / 2;
        let due = over_size
            || (worth_it
                && (segments >= CHECKPOINT_SEGMENTS.saturating_mul(limit)
                    || now_ms.saturating_sub(last) >= CHECKPOINT_EVERY_MS));
        if !due {
            return Ok(());
        }
        self.checkpoint(durable)?;
        m.last_checkpoint_ms = Some(now_ms);
        if let Some(max) = self.opts.max_bytes {
            let (segments, disk) = {
                let wal = lock(&durable.wal);
                (wal.segment_bytes_on_disk(), wal.disk_bytes())
            };
            if disk > max {
                // Leave a quarter of the room for the WAL to grow until the next run.
                let budget = max.saturating_sub(segments) / 4 * 3;
                if let Some(cut) = retention::size_cutoff(self.head.chunk_sizes(), budget) {
                    let (chunks, series) = self.head.truncate_before(cut);
                    tracing::warn!(
                        max_bytes = max,
                        chunks,
                        series,
                        cutoff_ms = cut,
                        "size retention dropped the oldest data"
                    );
                    self.checkpoint(durable)?;
                }
            }
        }
        Ok(())
    }

    /// Writes a checkpoint of the head and deletes the segments it covers.
    fn checkpoint(&self, durable: &Durable) -> Result<(), DbError> {
        // Commits write the WAL and apply to the head under the WAL lock, so
        // once the segment is rotated the head holds everything in it.
        let (upto, dir) = {
            let mut wal = lock(&durable.wal);
            let dir = wal.dir().to_path_buf();
            let upto = wal
                .rotate(&durable.stats)
                .map_err(io_err("rotating segment in", &dir))?;
            (upto, dir)
        };
        let (path, size) = checkpoint::write(&dir, upto, &self.head)
            .map_err(io_err("writing checkpoint in", &dir))?;
        durable.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
        let mut wal = lock(&durable.wal);
        wal.truncate(upto, size, &durable.stats)
            .map_err(io_err("truncating WAL after", &path))?;
        tracing::debug!(checkpoint = %path.display(), bytes = size, "checkpoint written");
        Ok(())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> DbStats {
        let c = &self.head.counters;
        let mut s = DbStats {
            head_series: self.head.series_count() as u64,
            head_chunks: c.chunks.load(Ordering::Relaxed).max(0) as u64,
            samples_appended_total: c.appended.load(Ordering::Relaxed),
            histogram_samples_appended_total: c.histograms_appended.load(Ordering::Relaxed),
            head_histogram_samples: c.histogram_samples.load(Ordering::Relaxed).max(0) as u64,
            out_of_order_total: c.out_of_order.load(Ordering::Relaxed),
            duplicate_total: c.duplicate.load(Ordering::Relaxed),
            out_of_bounds_total: c.out_of_bounds.load(Ordering::Relaxed),
            retention_series_removed_total: c.series_removed.load(Ordering::Relaxed),
            wal_corruptions_total: self.replay_corruptions,
            ..DbStats::default()
        };
        if let Some(d) = &self.durable {
            s.wal_bytes = lock(&d.wal).disk_bytes();
            s.wal_fsync_seconds_sum = d.stats.fsync_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            s.wal_fsync_total = d.stats.fsyncs.load(Ordering::Relaxed);
            s.wal_truncations_total = d.stats.truncations.load(Ordering::Relaxed);
            s.checkpoint_total = d.stats.checkpoints.load(Ordering::Relaxed);
        }
        s
    }

    /// Flushes and fsyncs the WAL and stops the fsync thread.
    pub fn close(mut self) -> Result<(), DbError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), DbError> {
        if let Some(mut s) = self.syncer.take() {
            s.stop();
        }
        if let Some(d) = &self.durable {
            let mut wal = lock(&d.wal);
            let dir = wal.dir().to_path_buf();
            wal.sync(&d.stats).map_err(io_err("syncing WAL in", &dir))?;
        }
        Ok(())
    }

    /// Series matching `matchers` with their samples (floats and
    /// histograms) in range, unsorted.
    fn series_in(&self, ids: &[u64], min_t: i64, max_t: i64) -> Vec<Series> {
        let mut out = Vec::new();
        for &id in ids {
            let Some(s) = self.head.get(id) else { continue };
            let mut samples = Vec::new();
            let mut histograms = Vec::new();
            {
                let d = s.data();
                d.samples(min_t, max_t, &mut samples);
                d.histograms(min_t, max_t, &mut histograms);
            }
            if !samples.is_empty() || !histograms.is_empty() {
                let mut series = Series::new(s.labels.clone(), samples);
                series.histograms = histograms;
                out.push(series);
            }
        }
        out
    }

    /// Values of label `name` (sorted) that some series with data in
    /// `[min_t, max_t]` carries; with `first_only`, stops at the first.
    fn values_with_data(
        &self,
        name: &str,
        min_t: i64,
        max_t: i64,
        first_only: bool,
    ) -> Vec<String> {
        let lists: Vec<(String, Vec<u64>)> = self.head.with_index(|ix| {
            ix.values(name)
                .map(|(v, ids)| (v.to_string(), ids.clone()))
                .collect()
        });
        let mut out = Vec::new();
        for (value, ids) in lists {
            let live = ids.iter().any(|&id| {
                self.head
                    .get(id)
                    .is_some_and(|s| s.data().overlaps(min_t, max_t))
            });
            if live {
                out.push(value);
                if first_only {
                    break;
                }
            }
        }
        out
    }

    /// Label sets of the selected series that have data in range.
    fn labels_in(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Labels>, QueryError> {
        let ids = self
            .head
            .select_ids(matchers, !matchers.is_empty())
            .map_err(|e| QueryError::Backend(e.to_string()))?;
        Ok(ids
            .into_iter()
            .filter_map(|id| self.head.get(id))
            .filter(|s| s.data().overlaps(min_t, max_t))
            .map(|s| s.labels.clone())
            .collect())
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "closing the store failed");
        }
    }
}

impl Querier for Db {
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Series>, QueryError> {
        let ids = self
            .head
            .select_ids(matchers, true)
            .map_err(|e| QueryError::Backend(e.to_string()))?;
        let mut out = self.series_in(&ids, min_t, max_t);
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    fn select_each(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
        f: &mut dyn FnMut(Series) -> ControlFlow<()>,
    ) -> Result<(), QueryError> {
        let ids = self
            .head
            .select_ids(matchers, true)
            .map_err(|e| QueryError::Backend(e.to_string()))?;
        // Order by labels first (cheap: the labels are shared), then decode
        // one series at a time.
        let mut series: Vec<_> = ids
            .iter()
            .filter_map(|&id| self.head.get(id))
            .filter(|s| s.data().overlaps(min_t, max_t))
            .collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let mut samples = Vec::new();
        let mut histograms = Vec::new();
        for s in series {
            {
                let d = s.data();
                d.samples(min_t, max_t, &mut samples);
                d.histograms(min_t, max_t, &mut histograms);
            }
            if samples.is_empty() && histograms.is_empty() {
                continue;
            }
            // Series of one selection tend to be alike: size the next
            // buffer like this one, so that buffers are rarely grown.
            let hint = samples.len();
            let exact = std::mem::replace(&mut samples, Vec::with_capacity(hint));
            let mut series = Series::new(s.labels.clone(), exact);
            // Free for float-only series: taking an empty Vec allocates nothing.
            series.histograms = std::mem::take(&mut histograms);
            if f(series).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError> {
        if matchers.is_empty() {
            // From the index: a name counts once one of its series has data
            // in range, so most names cost one series check.
            let names: Vec<String> = self
                .head
                .with_index(|ix| ix.names().map(str::to_string).collect());
            return Ok(names
                .into_iter()
                .filter(|n| !self.values_with_data(n, min_t, max_t, true).is_empty())
                .collect());
        }
        let mut names: Vec<String> = Vec::new();
        for labels in self.labels_in(matchers, min_t, max_t)? {
            names.extend(labels.iter().map(|l| l.name.clone()));
            if names.len() > 4096 {
                names.sort_unstable();
                names.dedup();
            }
        }
        names.sort_unstable();
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
        if matchers.is_empty() {
            return Ok(self.values_with_data(name, min_t, max_t, false));
        }
        let mut values: Vec<String> = self
            .labels_in(matchers, min_t, max_t)?
            .iter()
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        values.sort_unstable();
        values.dedup();
        Ok(values)
    }

    fn metadata(&self) -> Vec<(String, MetricMetadata)> {
        self.head.metadata()
    }
}

/// The newest sample an appender holds for a series, which the batch's
/// later samples for it are checked against.
#[derive(Debug, Clone, Copy)]
enum BatchLast {
    /// Timestamp and value bits.
    Float(i64, u64),
    /// Timestamp and index in the batch's histograms (an index, not the
    /// histogram, keeps the per-series slot as small as before).
    Histogram(i64, usize),
}

/// A batch of samples for [`Db`]: checked as they are appended, written to
/// the WAL and made visible together at `commit`. Dropping it without
/// committing discards the batch.
#[derive(Debug)]
pub struct DbAppender<'a> {
    db: &'a Db,
    /// Series this batch touches (each held once against retention).
    held: Vec<Arc<MemSeries>>,
    /// Series id → (index in `held`, newest sample in this batch).
    slots: IdMap<(usize, Option<BatchLast>)>,
    /// (index in `held`, t, value bits).
    samples: Vec<(usize, i64, u64)>,
    /// (index in `held`, t, histogram).
    histograms: Vec<(usize, i64, Arc<FloatHistogram>)>,
    /// Encoded size of `histograms`, bounded by [`MAX_BATCH_HISTOGRAM_BYTES`].
    histogram_bytes: usize,
    /// `(samples.len(), histograms.len())` each time a float followed a
    /// histogram of the same series in this batch. Floats and histograms
    /// are written and applied in separate runs (floats first); these cuts
    /// start a new pair of runs so that each series still sees its samples
    /// in time order. Usually empty: that takes a series turning from
    /// histograms back to floats (or going stale) within one batch.
    phases: Vec<(usize, usize)>,
    metadata: Vec<(String, MetricMetadata)>,
}

impl DbAppender<'_> {
    fn release_all(&mut self) {
        for s in self.held.drain(..) {
            s.release();
        }
        self.slots.clear();
        self.samples.clear();
        self.histograms.clear();
        self.histogram_bytes = 0;
        self.phases.clear();
        self.metadata.clear();
    }

    /// The batch as runs of (float samples, histograms), in the order they
    /// must be written and applied; see `phases`.
    fn phases(&self) -> impl Iterator<Item = (Range<usize>, Range<usize>)> + '_ {
        let end = (self.samples.len(), self.histograms.len());
        let mut start = (0, 0);
        self.phases
            .iter()
            .copied()
            .chain(std::iter::once(end))
            .map(move |cut| {
                let runs = (start.0..cut.0, start.1..cut.1);
                start = cut;
                runs
            })
    }

    /// The batch's newest sample for a series, as the append rules see it.
    fn last_value(&self, last: BatchLast) -> (i64, Value<'_>) {
        match last {
            BatchLast::Float(t, v) => (t, Value::Float(v)),
            BatchLast::Histogram(t, i) => (t, Value::Histogram(&self.histograms[i].2)),
        }
    }

    /// The checks every sample needs before its series is looked up, then
    /// the series' slot in this batch (holding the series against
    /// retention) and the batch's newest sample for it.
    fn slot_for(&mut self, labels: &Labels) -> Result<(usize, Option<BatchLast>), AppendError> {
        if self.samples.len() + self.histograms.len() >= MAX_BATCH_SAMPLES {
            return Err(AppendError::Storage(format!(
                "batch holds {MAX_BATCH_SAMPLES} samples; commit before appending more"
            )));
        }
        if labels.is_empty() {
            // As Prometheus: a series needs at least one label to be found again.
            return Err(AppendError::Storage("empty label set".into()));
        }
        if record::labels_bytes(labels) > record::MAX_ITEM_BYTES {
            return Err(AppendError::Storage(format!(
                "label set of {} bytes exceeds the {} byte limit",
                record::labels_bytes(labels),
                record::MAX_ITEM_BYTES
            )));
        }
        let (series, _) = self.db.head.get_or_create(labels);
        Ok(match self.slots.get(&series.id) {
            Some(&(slot, last)) => {
                series.release();
                (slot, last)
            }
            None => {
                self.held.push(series);
                let slot = self.held.len() - 1;
                self.slots.insert(self.held[slot].id, (slot, None));
                (slot, None)
            }
        })
    }

    /// Encodes this batch's WAL records: new series first, then metadata
    /// that changed, then samples.
    fn encode(
        &self,
        new_series: &[&Arc<MemSeries>],
        metadata: &[(String, MetricMetadata)],
    ) -> Vec<u8> {
        let mut buf = Vec::with_capacity(64 + self.samples.len() * 14 + self.histogram_bytes);
        let series: Vec<(u64, Labels)> = new_series
            .iter()
            .map(|s| (s.id, s.labels.clone()))
            .collect();
        for run in record::split_by_size(series, |s| record::labels_bytes(&s.1)) {
            record::encode(&mut buf, &Record::Series(run));
        }
        let sized = |m: &(String, MetricMetadata)| record::metadata_bytes(&m.0, &m.1);
        for run in record::split_by_size(metadata.to_vec(), sized) {
            record::encode(&mut buf, &Record::Metadata(run));
        }
        for (floats, hists) in self.phases() {
            for part in self.samples[floats].chunks(SAMPLES_PER_RECORD) {
                let list = part
                    .iter()
                    .map(|&(slot, t, v)| (self.held[slot].id, t, v))
                    .collect();
                record::encode(&mut buf, &Record::Samples(list));
            }
            let list: Vec<_> = self.histograms[hists]
                .iter()
                .map(|(slot, t, h)| (self.held[*slot].id, *t, h.clone()))
                .collect();
            for run in record::split_by_size(list, |s| record::histogram_bytes(&s.2)) {
                record::encode(&mut buf, &Record::Histograms(run));
            }
        }
        buf
    }

    fn apply(&self) {
        for (floats, hists) in self.phases() {
            for &(slot, t, v) in &self.samples[floats] {
                let _ = self.db.head.apply(&self.held[slot], t, v, true);
            }
            for (slot, t, h) in &self.histograms[hists] {
                let _ = self
                    .db
                    .head
                    .apply_histogram(&self.held[*slot], *t, h.clone(), true);
            }
        }
        for (name, m) in &self.metadata {
            self.db.head.set_metadata(name, m.clone());
        }
    }
}

impl Appender for DbAppender<'_> {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        let (slot, batch_last) = self.slot_for(labels)?;
        let bits = v.to_bits();
        let last = batch_last.map(|l| self.last_value(l));
        match self
            .db
            .head
            .validate(&self.held[slot], last, t, Value::Float(bits))?
        {
            Added::Same => Ok(()),
            Added::Stored => {
                if matches!(batch_last, Some(BatchLast::Histogram(..))) {
                    self.phases
                        .push((self.samples.len(), self.histograms.len()));
                }
                self.samples.push((slot, t, bits));
                let id = self.held[slot].id;
                self.slots
                    .insert(id, (slot, Some(BatchLast::Float(t, bits))));
                Ok(())
            }
        }
    }

    fn append_histogram(
        &mut self,
        labels: &Labels,
        t: i64,
        h: &FloatHistogram,
    ) -> Result<(), AppendError> {
        // Checked before the series is looked up, so a bad histogram does
        // not create an empty series.
        h.validate()
            .map_err(|e| AppendError::InvalidHistogram(e.to_string()))?;
        let size = record::histogram_bytes(h);
        if size > record::MAX_ITEM_BYTES {
            return Err(AppendError::InvalidHistogram(format!(
                "{size} bytes encoded exceeds the {} byte limit",
                record::MAX_ITEM_BYTES
            )));
        }
        if self.histogram_bytes + size > MAX_BATCH_HISTOGRAM_BYTES {
            return Err(AppendError::Storage(format!(
                "batch holds {MAX_BATCH_HISTOGRAM_BYTES} bytes of histograms; \
                 commit before appending more"
            )));
        }
        let (slot, batch_last) = self.slot_for(labels)?;
        let last = batch_last.map(|l| self.last_value(l));
        match self
            .db
            .head
            .validate(&self.held[slot], last, t, Value::Histogram(h))?
        {
            Added::Same => Ok(()),
            Added::Stored => {
                self.histograms.push((slot, t, Arc::new(h.clone())));
                self.histogram_bytes += size;
                let last = BatchLast::Histogram(t, self.histograms.len() - 1);
                let id = self.held[slot].id;
                self.slots.insert(id, (slot, Some(last)));
                Ok(())
            }
        }
    }

    fn set_metadata(&mut self, metric: &str, metadata: MetricMetadata) {
        let size = record::metadata_bytes(metric, &metadata);
        if size > record::MAX_ITEM_BYTES {
            tracing::warn!(metric, size, "metadata too large; not stored");
            return;
        }
        if let Some(m) = self.metadata.iter_mut().find(|(n, _)| n == metric) {
            m.1 = metadata;
        } else if self.metadata.len() < MAX_BATCH_SAMPLES {
            self.metadata.push((metric.to_string(), metadata));
        }
    }

    fn commit(&mut self) -> Result<(), AppendError> {
        if self.samples.is_empty() && self.histograms.is_empty() && self.metadata.is_empty() {
            self.release_all();
            return Ok(());
        }
        let result = match &self.db.durable {
            None => {
                let _g = lock(&self.db.commit_lock);
                self.apply();
                Ok(())
            }
            Some(d) => {
                let mut wal = lock(&d.wal);
                let with_samples: std::collections::HashSet<usize> = self
                    .samples
                    .iter()
                    .map(|s| s.0)
                    .chain(self.histograms.iter().map(|h| h.0))
                    .collect();
                let new_series: Vec<&Arc<MemSeries>> = self
                    .held
                    .iter()
                    .enumerate()
                    .filter(|(i, s)| with_samples.contains(i) && !s.is_logged())
                    .map(|(_, s)| s)
                    .collect();
                let known = self.db.head.metadata();
                let changed: Vec<(String, MetricMetadata)> = self
                    .metadata
                    .iter()
                    .filter(|(n, m)| !known.iter().any(|(kn, km)| kn == n && km == m))
                    .cloned()
                    .collect();
                let buf = self.encode(&new_series, &changed);
                let written = wal.log(&buf, &d.stats).and_then(|()| {
                    if self.db.opts.fsync == FsyncPolicy::Always {
                        wal.sync(&d.stats)
                    } else {
                        Ok(())
                    }
                });
                match written {
                    Ok(()) => {
                        for s in &new_series {
                            s.mark_logged();
                        }
                        self.apply();
                        Ok(())
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "WAL write failed; batch dropped");
                        Err(AppendError::Storage(format!("WAL write: {e}")))
                    }
                }
            }
        };
        self.release_all();
        result
    }
}

impl Drop for DbAppender<'_> {
    fn drop(&mut self) {
        self.release_all();
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
