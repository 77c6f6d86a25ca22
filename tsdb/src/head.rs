//! The in-memory head: every series with its compressed chunks, found by
//! label set (through [`Labels::stable_hash`]) or by id.
//!
//! Locking: series live in striped maps (one stripe for the hash lookup,
//! one for the id lookup), each stripe behind its own `RwLock`; each
//! series' samples sit behind their own `Mutex`; the postings index has one
//! `RwLock` taken for writing only when a series is created or dropped.
//! Lock order is hash stripe → id stripe → index, and no stripe lock is held
//! while a series' mutex is waited for on the append or query path, so a
//! query never holds up appends for more than one series' decode.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::chunk::{Chunk, ChunkAppender};
use crate::hist_samples::HistogramSamples;
use crate::histogram::{FloatHistogram, stored_hint};
use crate::ids::IdMap;
use crate::index::{EmptySelector, Index, Postings};
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::sample::{HistogramSample, Sample};
use crate::storage::{AppendError, MetricMetadata};

const STRIPES: usize = 64;

/// Takes a lock even if a panicking thread poisoned it: the data behind our
/// locks stays consistent between statements, so poison carries no meaning.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

/// One series in the head.
#[derive(Debug)]
pub struct MemSeries {
    /// Id in the index and the WAL.
    pub id: u64,
    /// Identity of the series.
    pub labels: Labels,
    data: Mutex<SeriesData>,
    /// Appenders holding uncommitted samples for this series; retention
    /// must not drop a series while this is non-zero.
    pending: AtomicU32,
    /// Whether the series record is in the WAL (or a checkpoint) already.
    logged: AtomicBool,
}

impl MemSeries {
    /// Locks the samples.
    pub fn data(&self) -> MutexGuard<'_, SeriesData> {
        lock(&self.data)
    }

    /// Marks the series as written to the WAL; true if it was not before.
    pub fn mark_logged(&self) -> bool {
        !self.logged.swap(true, Ordering::AcqRel)
    }

    /// Whether the series record is in the WAL or a checkpoint.
    pub fn is_logged(&self) -> bool {
        self.logged.load(Ordering::Acquire)
    }

    /// Releases one appender's hold on the series.
    pub fn release(&self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The samples of one series: sealed float chunks plus the open one, and
/// native histograms if the series ever had any.
///
/// Floats and histograms are kept apart, as Prometheus's head keeps them in
/// chunks of different encodings: a series may switch between the two over
/// time, and every timestamp belongs to exactly one of them. The append
/// rules (order, duplicates) look at the newest sample of either kind.
#[derive(Debug, Default)]
pub struct SeriesData {
    sealed: Vec<Chunk>,
    open: ChunkAppender,
    /// Histogram samples; `None` until the first one, so a float-only
    /// series (nearly all) pays one pointer and no allocation. Boxed, not an
    /// inline list, because an empty inline list would cost three pointers
    /// in every series.
    hist: Option<Box<HistogramSamples>>,
}

/// A sample's value as the append rules compare it: floats by bits (so the
/// staleness marker is an ordinary value), histograms with
/// [`FloatHistogram::equals`], and never a float with a histogram.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// Float value bits.
    Float(u64),
    /// A native histogram.
    Histogram(&'a FloatHistogram),
}

impl Value<'_> {
    /// Whether two values at one timestamp are the same sample.
    fn same(self, other: Value<'_>) -> bool {
        match (self, other) {
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Histogram(a), Value::Histogram(b)) => a.equals(b),
            _ => false,
        }
    }
}

/// The outcome of adding one sample to a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Stored.
    Stored,
    /// Same timestamp and bits as the newest sample: nothing to do.
    Same,
}

impl SeriesData {
    /// Newest float timestamp and value bits (histograms aside; see
    /// [`SeriesData::newest`]).
    pub fn last(&self) -> Option<(i64, u64)> {
        match self.open.last() {
            Some(l) => Some(l),
            None => self
                .sealed
                .last()
                .and_then(|c| c.iter().last())
                .map(|s| (s.t, s.v.to_bits())),
        }
    }

    /// The newest sample of either kind, which the append rules compare
    /// against.
    pub fn newest(&self) -> Option<(i64, Value<'_>)> {
        let float = self.last().map(|(t, v)| (t, Value::Float(v)));
        let Some(h) = self.hist.as_ref().and_then(|h| h.last()) else {
            return float;
        };
        match float {
            Some((t, v)) if t > h.t => Some((t, v)),
            _ => Some((h.t, Value::Histogram(&h.h))),
        }
    }

    /// Oldest float timestamp held.
    fn first_float_t(&self) -> Option<i64> {
        match self.sealed.first() {
            Some(c) => Some(c.min_t()),
            None => (!self.open.is_empty()).then(|| self.open.min_t()),
        }
    }

    /// Oldest timestamp held, float or histogram.
    pub fn first_t(&self) -> Option<i64> {
        let hist = self.hist.as_ref().and_then(|h| h.first_t());
        match (self.first_float_t(), hist) {
            (Some(f), Some(h)) => Some(f.min(h)),
            (f, h) => f.or(h),
        }
    }

    /// Whether the series holds no sample, float or histogram.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.sealed.is_empty() && self.hist.is_none()
    }

    /// Histogram samples held.
    pub fn histogram_count(&self) -> usize {
        self.hist.as_ref().map_or(0, |h| h.len())
    }

    /// Chunks held, the open one included when it has samples.
    pub fn chunk_count(&self) -> usize {
        self.sealed.len() + usize::from(!self.open.is_empty())
    }

    /// Checks float `t, v` against the newest sample with Prometheus's rules.
    pub fn check(&self, t: i64, v: u64) -> Result<Added, AppendError> {
        if self.hist.is_none() {
            // Float-only series: the same check as before histograms existed.
            return check_after(self.last(), t, v);
        }
        check_value(self.newest(), t, Value::Float(v))
    }

    /// Checks histogram `t, h` against the newest sample.
    pub fn check_histogram(&self, t: i64, h: &FloatHistogram) -> Result<Added, AppendError> {
        check_value(self.newest(), t, Value::Histogram(h))
    }

    /// Adds a histogram sample after checking it against the newest sample
    /// of either kind.
    pub fn append_histogram(
        &mut self,
        t: i64,
        h: Arc<FloatHistogram>,
    ) -> Result<Added, AppendError> {
        if self.check_histogram(t, &h)? == Added::Same {
            return Ok(Added::Same);
        }
        let previous = match self.newest() {
            Some((_, Value::Histogram(p))) => Some(p),
            _ => None,
        };
        let hint = stored_hint(previous, &h);
        let h = if hint == h.counter_reset_hint {
            h
        } else {
            let mut h = Arc::unwrap_or_clone(h);
            h.counter_reset_hint = hint;
            Arc::new(h)
        };
        self.hist.get_or_insert_default().push(t, h);
        Ok(Added::Stored)
    }

    /// Adds a histogram sample loaded from a checkpoint, which holds a
    /// series' float chunks before its histograms: it is ordered against
    /// the histograms only (the checkpoint was consistent when written).
    pub fn push_histogram(&mut self, t: i64, h: Arc<FloatHistogram>) -> Result<(), AppendError> {
        if self.hist.get_or_insert_default().push(t, h) {
            Ok(())
        } else {
            Err(AppendError::OutOfOrder)
        }
    }

    /// Histogram samples in `[min_t, max_t]`, oldest first, appended to `out`.
    pub fn histograms(&self, min_t: i64, max_t: i64, out: &mut Vec<HistogramSample>) {
        if let Some(h) = &self.hist {
            h.range(min_t, max_t, out);
        }
    }

    /// Every histogram sample, oldest first, for checkpoints.
    pub fn histogram_samples(&self) -> impl Iterator<Item = &HistogramSample> {
        self.hist.iter().flat_map(|h| h.iter())
    }

    /// Adds a sample, cutting a new chunk when the open one is full or would
    /// span 2 hours.
    pub fn append(&mut self, t: i64, v: u64) -> Result<Added, AppendError> {
        if self.check(t, v)? == Added::Same {
            return Ok(Added::Same);
        }
        if self.open.must_cut(t) {
            // The next chunk of a series usually needs what the last one did.
            let hint = self.open.bytes().len();
            let full = std::mem::replace(
                &mut self.open,
                ChunkAppender::with_capacity(hint + hint / 8),
            );
            self.sealed.push(full.seal());
        }
        self.open.append(t, v);
        Ok(Added::Stored)
    }

    /// Adds a sealed chunk (from a checkpoint) after the existing ones.
    pub fn push_chunk(&mut self, chunk: Chunk) -> Result<(), AppendError> {
        if let Some((t, _)) = self.last()
            && chunk.min_t() <= t
        {
            return Err(AppendError::OutOfOrder);
        }
        if let Some(c) = self.sealed.last()
            && self.open.is_empty()
            && chunk.min_t() <= c.max_t()
        {
            return Err(AppendError::OutOfOrder);
        }
        if !self.open.is_empty() {
            let prev = std::mem::take(&mut self.open);
            self.sealed.push(prev.seal());
        }
        self.sealed.push(chunk);
        Ok(())
    }

    /// Makes the newest sealed chunk the open one again when it has room,
    /// so appends after a checkpoint load continue in it.
    pub fn reopen_last(&mut self) {
        if !self.open.is_empty() {
            return;
        }
        let Some(last) = self.sealed.last() else {
            return;
        };
        if last.len() >= crate::chunk::MAX_SAMPLES {
            return;
        }
        if let Ok(open) = ChunkAppender::reopen(last) {
            self.sealed.pop();
            self.open = open;
        }
    }

    /// Samples in `[min_t, max_t]`, oldest first, appended to `out`.
    ///
    /// Only chunks overlapping the range are decoded, and decoding stops at
    /// the first sample past `max_t`: a query over the last minutes of a
    /// long series pays for the chunks it reads, not for the series.
    pub fn samples(&self, min_t: i64, max_t: i64, out: &mut Vec<Sample>) {
        fn in_range(
            it: impl Iterator<Item = Sample>,
            min_t: i64,
            max_t: i64,
            out: &mut Vec<Sample>,
        ) {
            for s in it {
                if s.t > max_t {
                    break;
                }
                if s.t >= min_t {
                    out.push(s);
                }
            }
        }
        // Sealed chunks are in time order: skip those that end before the
        // range, stop at the first that starts after it.
        let first = self.sealed.partition_point(|c| c.max_t() < min_t);
        for c in &self.sealed[first..] {
            if c.min_t() > max_t {
                return;
            }
            in_range(c.iter(), min_t, max_t, out);
        }
        if let Some((last, _)) = self.open.last()
            && last >= min_t
            && self.open.min_t() <= max_t
        {
            in_range(self.open.iter(), min_t, max_t, out);
        }
    }

    /// Whether some sample may fall in `[min_t, max_t]` (floats by chunk
    /// bounds, histograms exactly).
    pub fn overlaps(&self, min_t: i64, max_t: i64) -> bool {
        let floats = match (self.first_float_t(), self.last()) {
            (Some(first), Some((last, _))) => first <= max_t && last >= min_t,
            _ => false,
        };
        floats || self.hist.as_ref().is_some_and(|h| h.overlaps(min_t, max_t))
    }

    /// Every chunk's bytes, oldest first (the open chunk last), for checkpoints.
    pub fn chunk_bytes(&self) -> impl Iterator<Item = &[u8]> {
        let open = (!self.open.is_empty()).then(|| self.open.bytes());
        self.sealed.iter().map(Chunk::bytes).chain(open)
    }

    /// (max_t, encoded size) of every chunk, and of every group of
    /// histogram samples, for size-based retention.
    pub fn chunk_sizes(&self, out: &mut Vec<(i64, usize)>) {
        out.extend(self.sealed.iter().map(|c| (c.max_t(), c.bytes().len())));
        if let Some((t, _)) = self.open.last() {
            out.push((t, self.open.bytes().len()));
        }
        if let Some(h) = &self.hist {
            h.sizes(out);
        }
    }

    /// Frees float chunks whose newest sample is older than `cutoff`, and
    /// histogram samples older than it; returns (chunks, histogram samples)
    /// freed.
    pub fn truncate_before(&mut self, cutoff: i64) -> (usize, usize) {
        let hists = match &mut self.hist {
            Some(h) => {
                let n = h.truncate_before(cutoff);
                if h.is_empty() {
                    self.hist = None;
                }
                n
            }
            None => 0,
        };
        if let Some((last, _)) = self.open.last()
            && last < cutoff
        {
            let n = self.chunk_count();
            self.sealed = Vec::new();
            self.open = ChunkAppender::default();
            return (n, hists);
        }
        let before = self.sealed.len();
        self.sealed.retain(|c| c.max_t() >= cutoff);
        (before - self.sealed.len(), hists)
    }
}

/// Prometheus's append rules against the newest sample `last` of either
/// kind: older is out of order; the same timestamp is a silent no-op for
/// the very same sample and a duplicate otherwise (a float and a histogram
/// never share a timestamp).
pub fn check_value(
    last: Option<(i64, Value<'_>)>,
    t: i64,
    v: Value<'_>,
) -> Result<Added, AppendError> {
    match last {
        Some((lt, _)) if t < lt => Err(AppendError::OutOfOrder),
        Some((lt, lv)) if t == lt && lv.same(v) => Ok(Added::Same),
        Some((lt, _)) if t == lt => Err(AppendError::Duplicate),
        _ => Ok(Added::Stored),
    }
}

/// Prometheus's append rules against the newest sample `last`.
pub fn check_after(last: Option<(i64, u64)>, t: i64, v: u64) -> Result<Added, AppendError> {
    match last {
        Some((lt, _)) if t < lt => Err(AppendError::OutOfOrder),
        Some((lt, lv)) if t == lt && v == lv => Ok(Added::Same),
        Some((lt, _)) if t == lt => Err(AppendError::Duplicate),
        _ => Ok(Added::Stored),
    }
}

/// Counters the head keeps for [`crate::DbStats`].
#[derive(Debug, Default)]
pub struct HeadCounters {
    /// Samples stored.
    pub appended: AtomicU64,
    /// Refused as out of order.
    pub out_of_order: AtomicU64,
    /// Refused as duplicates.
    pub duplicate: AtomicU64,
    /// Refused as older than the retention window.
    pub out_of_bounds: AtomicU64,
    /// Series dropped by retention.
    pub series_removed: AtomicU64,
    /// Chunks currently held.
    pub chunks: AtomicI64,
    /// Histogram samples stored (kept apart from `appended`, which counts
    /// floats, like Prometheus's `type` label on its appended counter).
    pub histograms_appended: AtomicU64,
    /// Histogram samples currently held.
    pub histogram_samples: AtomicI64,
}

impl HeadCounters {
    /// Counts a refused sample under its reason.
    pub fn count_reject(&self, e: &AppendError) {
        let c = match e {
            AppendError::OutOfOrder => &self.out_of_order,
            AppendError::Duplicate => &self.duplicate,
            AppendError::OutOfBounds => &self.out_of_bounds,
            AppendError::Storage(_)
            | AppendError::InvalidHistogram(_)
            | AppendError::HistogramsUnsupported => return,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Default)]
struct HashStripe {
    first: IdMap<Arc<MemSeries>>,
    /// Further series whose label sets share a hash with the one in `first`.
    conflicts: IdMap<Vec<Arc<MemSeries>>>,
}

impl HashStripe {
    fn find(&self, hash: u64, labels: &Labels) -> Option<&Arc<MemSeries>> {
        let first = self.first.get(&hash)?;
        if first.labels == *labels {
            return Some(first);
        }
        self.conflicts
            .get(&hash)?
            .iter()
            .find(|s| s.labels == *labels)
    }

    fn insert(&mut self, hash: u64, s: Arc<MemSeries>) {
        use std::collections::hash_map::Entry;
        match self.first.entry(hash) {
            Entry::Vacant(e) => {
                e.insert(s);
            }
            Entry::Occupied(_) => self.conflicts.entry(hash).or_default().push(s),
        }
    }

    fn remove(&mut self, hash: u64, id: u64) {
        if let Some(list) = self.conflicts.get_mut(&hash) {
            list.retain(|s| s.id != id);
            if list.is_empty() {
                self.conflicts.remove(&hash);
            }
        }
        if self.first.get(&hash).is_some_and(|s| s.id == id) {
            self.first.remove(&hash);
            // Promote a conflicting series, if any, into the main map.
            if let Some(mut list) = self.conflicts.remove(&hash) {
                let promoted = list.remove(0);
                self.first.insert(hash, promoted);
                if !list.is_empty() {
                    self.conflicts.insert(hash, list);
                }
            }
        }
    }
}

/// All series in memory, their index and metric metadata.
#[derive(Debug)]
pub struct Head {
    by_hash: Vec<RwLock<HashStripe>>,
    by_id: Vec<RwLock<IdMap<Arc<MemSeries>>>>,
    index: RwLock<Index>,
    metadata: RwLock<BTreeMap<String, MetricMetadata>>,
    next_id: AtomicU64,
    /// Samples older than this are out of bounds (set by retention). Only
    /// the wall-clock cutoff counts: bounding by the newest sample seen would
    /// let one far-future timestamp make every other sample out of bounds.
    min_valid_t: AtomicI64,
    hasher: fn(&Labels) -> u64,
    /// Counters for the store's own metrics.
    pub counters: HeadCounters,
}

impl Default for Head {
    fn default() -> Self {
        Head::new()
    }
}

impl Head {
    /// An empty head.
    pub fn new() -> Head {
        Head::with_hasher(Labels::stable_hash)
    }

    /// An empty head with a custom label hash: a test hook to force
    /// collisions.
    pub(crate) fn with_hasher(hasher: fn(&Labels) -> u64) -> Head {
        Head {
            by_hash: (0..STRIPES).map(|_| RwLock::default()).collect(),
            by_id: (0..STRIPES).map(|_| RwLock::default()).collect(),
            index: RwLock::default(),
            metadata: RwLock::default(),
            next_id: AtomicU64::new(1),
            min_valid_t: AtomicI64::new(i64::MIN),
            hasher,
            counters: HeadCounters::default(),
        }
    }

    fn hash_stripe(&self, hash: u64) -> &RwLock<HashStripe> {
        &self.by_hash[(hash % STRIPES as u64) as usize]
    }

    fn id_stripe(&self, id: u64) -> &RwLock<IdMap<Arc<MemSeries>>> {
        &self.by_id[(id % STRIPES as u64) as usize]
    }

    /// The series with these labels, created if new, held for an appender
    /// (call [`MemSeries::release`] when done). The flag says whether it is new.
    pub fn get_or_create(&self, labels: &Labels) -> (Arc<MemSeries>, bool) {
        let hash = (self.hasher)(labels);
        let stripe = self.hash_stripe(hash);
        {
            let g = read(stripe);
            if let Some(s) = g.find(hash, labels) {
                s.pending.fetch_add(1, Ordering::AcqRel);
                return (s.clone(), false);
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (s, created) = self.insert(hash, id, labels, 1);
        (s, created)
    }

    /// Creates a series with a known id (WAL replay, checkpoint load). If a
    /// series with the same labels exists it is returned instead, so two
    /// ids for one label set collapse into one series.
    pub fn restore_series(&self, id: u64, labels: &Labels) -> Arc<MemSeries> {
        self.next_id
            .fetch_max(id.saturating_add(1), Ordering::Relaxed);
        let hash = (self.hasher)(labels);
        let (s, _) = self.insert(hash, id, labels, 0);
        s.logged.store(true, Ordering::Release);
        s
    }

    fn insert(&self, hash: u64, id: u64, labels: &Labels, pending: u32) -> (Arc<MemSeries>, bool) {
        let mut g = write(self.hash_stripe(hash));
        if let Some(s) = g.find(hash, labels) {
            s.pending.fetch_add(pending, Ordering::AcqRel);
            return (s.clone(), false);
        }
        let s = Arc::new(MemSeries {
            id,
            labels: labels.clone(),
            data: Mutex::default(),
            pending: AtomicU32::new(pending),
            logged: AtomicBool::new(false),
        });
        g.insert(hash, s.clone());
        write(self.id_stripe(id)).insert(id, s.clone());
        write(&self.index).add(id, labels);
        (s, true)
    }

    /// The series with id `id`.
    pub fn get(&self, id: u64) -> Option<Arc<MemSeries>> {
        read(self.id_stripe(id)).get(&id).cloned()
    }

    /// Ids selected by `matchers` (see [`Index::select`]).
    pub fn select_ids(
        &self,
        matchers: &[Matcher],
        require_non_empty: bool,
    ) -> Result<Postings, EmptySelector> {
        read(&self.index).select(matchers, require_non_empty)
    }

    /// Runs `f` with the index under its read lock.
    pub fn with_index<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        f(&read(&self.index))
    }

    /// Number of series.
    pub fn series_count(&self) -> usize {
        self.by_id.iter().map(|s| read(s).len()).sum()
    }

    /// Every series, ordered by id.
    pub fn all_series(&self) -> Vec<Arc<MemSeries>> {
        let mut all: Vec<Arc<MemSeries>> = self
            .by_id
            .iter()
            .flat_map(|s| read(s).values().cloned().collect::<Vec<_>>())
            .collect();
        all.sort_by_key(|s| s.id);
        all
    }

    /// Validates a sample (float or histogram) for an appender: bounds,
    /// then order against the newest committed sample or `batch_last` (the
    /// newest one this appender holds for the series). Refusals are counted.
    pub fn validate(
        &self,
        s: &MemSeries,
        batch_last: Option<(i64, Value<'_>)>,
        t: i64,
        v: Value<'_>,
    ) -> Result<Added, AppendError> {
        let result = if t < self.min_valid_t() {
            Err(AppendError::OutOfBounds)
        } else {
            match (batch_last, v) {
                (Some(last), v) => check_value(Some(last), t, v),
                (None, Value::Float(bits)) => s.data().check(t, bits),
                (None, Value::Histogram(h)) => s.data().check_histogram(t, h),
            }
        };
        if let Err(e) = &result {
            self.counters.count_reject(e);
        }
        result
    }

    /// Oldest timestamp still accepted.
    pub fn min_valid_t(&self) -> i64 {
        self.min_valid_t.load(Ordering::Relaxed)
    }

    /// Stores a committed sample; a refusal (lost race with another
    /// appender, or replay overlap) is counted when `count` is set.
    pub fn apply(&self, s: &MemSeries, t: i64, v: u64, count: bool) -> Result<Added, AppendError> {
        let mut d = s.data();
        let before = d.chunk_count();
        let result = d.append(t, v);
        let after = d.chunk_count();
        drop(d);
        self.counters
            .chunks
            .fetch_add(after as i64 - before as i64, Ordering::Relaxed);
        match &result {
            Ok(Added::Stored) => {
                if count {
                    self.counters.appended.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(Added::Same) => {}
            Err(e) if count => self.counters.count_reject(e),
            Err(_) => {}
        }
        result
    }

    /// Stores a committed histogram sample; refusals are counted as for
    /// [`Head::apply`].
    pub fn apply_histogram(
        &self,
        s: &MemSeries,
        t: i64,
        h: Arc<FloatHistogram>,
        count: bool,
    ) -> Result<Added, AppendError> {
        let result = s.data().append_histogram(t, h);
        match &result {
            Ok(Added::Stored) => {
                self.counters
                    .histogram_samples
                    .fetch_add(1, Ordering::Relaxed);
                if count {
                    self.counters
                        .histograms_appended
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(Added::Same) => {}
            Err(e) if count => self.counters.count_reject(e),
            Err(_) => {}
        }
        result
    }

    /// Adds a histogram sample loaded from a checkpoint (see
    /// [`SeriesData::push_histogram`]).
    pub fn restore_histogram(
        &self,
        s: &MemSeries,
        t: i64,
        h: Arc<FloatHistogram>,
    ) -> Result<(), AppendError> {
        s.data().push_histogram(t, h)?;
        self.counters
            .histogram_samples
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Adds a chunk loaded from a checkpoint.
    pub fn apply_chunk(&self, s: &MemSeries, chunk: Chunk) -> Result<(), AppendError> {
        let mut d = s.data();
        let before = d.chunk_count();
        d.push_chunk(chunk)?;
        let after = d.chunk_count();
        drop(d);
        self.counters
            .chunks
            .fetch_add(after as i64 - before as i64, Ordering::Relaxed);
        Ok(())
    }

    /// Records metadata for a metric; true if it changed.
    pub fn set_metadata(&self, metric: &str, m: MetricMetadata) -> bool {
        let mut g = write(&self.metadata);
        if g.get(metric) == Some(&m) {
            return false;
        }
        g.insert(metric.to_string(), m);
        true
    }

    /// All metadata, by metric name.
    pub fn metadata(&self) -> Vec<(String, MetricMetadata)> {
        read(&self.metadata)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Retention: frees chunks entirely older than `cutoff` and histogram
    /// samples older than it, drops series left without samples (unless an
    /// appender holds them), and refuses older samples from now on.
    /// Returns (chunks freed, series dropped).
    pub fn truncate_before(&self, cutoff: i64) -> (usize, usize) {
        self.min_valid_t.fetch_max(cutoff, Ordering::Relaxed);
        let mut freed = 0;
        let mut freed_hists = 0;
        let mut empty = Vec::new();
        for stripe in &self.by_id {
            let series: Vec<Arc<MemSeries>> = read(stripe).values().cloned().collect();
            for s in series {
                let mut d = s.data();
                let (chunks, hists) = d.truncate_before(cutoff);
                freed += chunks;
                freed_hists += hists;
                if d.is_empty() && s.pending.load(Ordering::Acquire) == 0 {
                    empty.push(s.clone());
                }
            }
        }
        self.counters
            .chunks
            .fetch_sub(freed as i64, Ordering::Relaxed);
        self.counters
            .histogram_samples
            .fetch_sub(freed_hists as i64, Ordering::Relaxed);
        let mut dropped = Vec::new();
        for s in empty {
            let hash = (self.hasher)(&s.labels);
            let mut g = write(self.hash_stripe(hash));
            // Re-check under the lock appenders take to find the series.
            if s.pending.load(Ordering::Acquire) != 0 || !s.data().is_empty() {
                continue;
            }
            g.remove(hash, s.id);
            write(self.id_stripe(s.id)).remove(&s.id);
            dropped.push((s.id, s.labels.clone()));
        }
        write(&self.index).remove(&dropped);
        self.counters
            .series_removed
            .fetch_add(dropped.len() as u64, Ordering::Relaxed);
        (freed, dropped.len())
    }

    /// After a checkpoint load: reopens each series' newest chunk.
    pub fn reopen_chunks(&self) {
        for s in self.all_series() {
            s.data().reopen_last();
        }
    }

    /// (max_t, bytes) of every chunk and histogram sample group, for
    /// size-based retention.
    pub fn chunk_sizes(&self) -> Vec<(i64, usize)> {
        let mut out = Vec::new();
        for s in self.all_series() {
            s.data().chunk_sizes(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::STALE_NAN;

    fn l(v: &str) -> Labels {
        Labels::from_pairs([("__name__", "m"), ("x", v)]).unwrap()
    }

    #[test]
    fn hash_collisions_keep_series_apart() {
        let head = Head::with_hasher(|_| 42);
        let (a, new_a) = head.get_or_create(&l("a"));
        let (b, new_b) = head.get_or_create(&l("b"));
        let (c, new_c) = head.get_or_create(&l("c"));
        assert!(new_a && new_b && new_c);
        assert_ne!(a.id, b.id);
        head.apply(&a, 1, 1.0f64.to_bits(), true).unwrap();
        head.apply(&b, 1, 2.0f64.to_bits(), true).unwrap();
        let (a2, again) = head.get_or_create(&l("a"));
        assert!(!again);
        assert_eq!(a2.id, a.id);
        assert_eq!(head.get_or_create(&l("b")).0.id, b.id);
        assert_eq!(a.data().last(), Some((1, 1.0f64.to_bits())));
        assert_eq!(b.data().last(), Some((1, 2.0f64.to_bits())));
        // Dropping the first of the colliding series promotes the others.
        for s in [&a, &a2, &b, &b, &c] {
            s.release();
        }
        head.apply(&c, 5, 0, true).unwrap();
        head.truncate_before(2);
        assert!(head.get(a.id).is_none());
        assert!(head.get(b.id).is_none());
        assert_eq!(head.get_or_create(&l("c")).0.id, c.id);
        let (a3, new_a3) = head.get_or_create(&l("a"));
        assert!(new_a3);
        assert_ne!(a3.id, a.id);
    }

    #[test]
    fn append_rules() {
        let mut d = SeriesData::default();
        assert_eq!(d.append(10, 1), Ok(Added::Stored));
        assert_eq!(d.append(9, 1), Err(AppendError::OutOfOrder));
        assert_eq!(d.append(10, 2), Err(AppendError::Duplicate));
        assert_eq!(d.append(10, 1), Ok(Added::Same));
        assert_eq!(d.append(11, STALE_NAN.to_bits()), Ok(Added::Stored));
        let mut out = Vec::new();
        d.samples(i64::MIN, i64::MAX, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].v.to_bits(), STALE_NAN.to_bits());
    }

    #[test]
    fn samples_are_read_from_the_overlapping_chunks_only() {
        // Three sealed chunks of 120 samples and an open one; every range,
        // including ones inside a chunk and across chunk edges, gives
        // exactly the samples in it.
        let mut d = SeriesData::default();
        for i in 0..400 {
            d.append(i * 10, (i as f64).to_bits()).unwrap();
        }
        for (lo, hi) in [
            (0, 3990),
            (5, 15),
            (1190, 1210),
            (2400, 3995),
            (-50, -1),
            (4000, 9000),
            (3990, 3990),
        ] {
            let mut out = Vec::new();
            d.samples(lo, hi, &mut out);
            let want: Vec<i64> = (0..400)
                .map(|i| i * 10)
                .filter(|t| (lo..=hi).contains(t))
                .collect();
            let got: Vec<i64> = out.iter().map(|s| s.t).collect();
            assert_eq!(got, want, "[{lo}, {hi}]");
        }
    }

    #[test]
    fn chunks_cut_at_120_samples_and_2h() {
        let mut d = SeriesData::default();
        for i in 0..241 {
            d.append(i, 0).unwrap();
        }
        assert_eq!(d.chunk_count(), 3);
        let mut d = SeriesData::default();
        d.append(0, 0).unwrap();
        d.append(crate::chunk::MAX_SPAN_MS, 0).unwrap();
        assert_eq!(d.chunk_count(), 2);
    }

    #[test]
    fn retention_frees_whole_chunks_only() {
        let mut d = SeriesData::default();
        for i in 0..240 {
            d.append(i, 0).unwrap();
        }
        assert_eq!(d.truncate_before(119), (0, 0));
        assert_eq!(d.truncate_before(120), (1, 0));
        assert_eq!(d.first_t(), Some(120));
        assert_eq!(d.truncate_before(1000), (1, 0));
        assert!(d.is_empty());
    }

    fn hist(count: f64) -> Arc<FloatHistogram> {
        Arc::new(FloatHistogram {
            count,
            sum: count * 2.0,
            ..FloatHistogram::default()
        })
    }

    #[test]
    fn histogram_append_rules_span_both_kinds() {
        let mut d = SeriesData::default();
        assert_eq!(d.append(10, 1), Ok(Added::Stored));
        // A histogram may follow a float, never at its timestamp or before.
        assert_eq!(
            d.append_histogram(10, hist(1.0)),
            Err(AppendError::Duplicate)
        );
        assert_eq!(
            d.append_histogram(9, hist(1.0)),
            Err(AppendError::OutOfOrder)
        );
        assert_eq!(d.append_histogram(20, hist(1.0)), Ok(Added::Stored));
        // The same histogram again is a no-op (compared with `equals`, so a
        // copy that is not the same allocation counts too), another one is
        // a duplicate.
        assert_eq!(d.append_histogram(20, hist(1.0)), Ok(Added::Same));
        assert_eq!(
            d.append_histogram(20, hist(2.0)),
            Err(AppendError::Duplicate)
        );
        assert_eq!(
            d.append_histogram(19, hist(1.0)),
            Err(AppendError::OutOfOrder)
        );
        // Floats now check against the newest histogram.
        assert_eq!(d.append(20, 1), Err(AppendError::Duplicate));
        assert_eq!(d.append(15, 1), Err(AppendError::OutOfOrder));
        assert_eq!(d.append(30, STALE_NAN.to_bits()), Ok(Added::Stored));
        assert_eq!(
            d.append_histogram(30, hist(1.0)),
            Err(AppendError::Duplicate)
        );
        assert_eq!(d.append_histogram(40, hist(3.0)), Ok(Added::Stored));
        let mut floats = Vec::new();
        d.samples(i64::MIN, i64::MAX, &mut floats);
        assert_eq!(floats.iter().map(|s| s.t).collect::<Vec<_>>(), [10, 30]);
        let mut hists = Vec::new();
        d.histograms(i64::MIN, i64::MAX, &mut hists);
        assert_eq!(hists.iter().map(|s| s.t).collect::<Vec<_>>(), [20, 40]);
        assert!(matches!(d.newest(), Some((40, Value::Histogram(_)))));
        assert_eq!(d.first_t(), Some(10));
        // Histograms alone make a range overlap; the gap between does not.
        assert!(d.overlaps(40, 50));
        assert!(d.overlaps(18, 22));
        assert!(!d.overlaps(41, 50));
    }

    #[test]
    fn nan_sum_histograms_are_the_same_sample_by_bits() {
        let mut d = SeriesData::default();
        let nan = || {
            Arc::new(FloatHistogram {
                sum: f64::NAN,
                count: 1.0,
                ..FloatHistogram::default()
            })
        };
        assert_eq!(d.append_histogram(1, nan()), Ok(Added::Stored));
        assert_eq!(d.append_histogram(1, nan()), Ok(Added::Same));
    }

    #[test]
    fn retention_frees_histograms_and_keeps_floats_apart() {
        let mut d = SeriesData::default();
        for i in 0..10 {
            d.append_histogram(i, hist(i as f64)).unwrap();
        }
        d.append(100, 0).unwrap();
        // Floats past the cutoff stay; histograms before it go one by one.
        assert_eq!(d.truncate_before(5), (0, 5));
        assert_eq!(d.histogram_count(), 5);
        assert_eq!(d.first_t(), Some(5));
        // Histograms past the cutoff survive the float chunk going.
        let mut d = SeriesData::default();
        d.append(1, 0).unwrap();
        d.append_histogram(50, hist(1.0)).unwrap();
        assert_eq!(d.truncate_before(10), (1, 0));
        assert_eq!(d.histogram_count(), 1);
        assert!(!d.is_empty());
        assert_eq!(d.truncate_before(51), (0, 1));
        assert!(d.is_empty());
        assert!(d.hist.is_none(), "the box is freed with the last histogram");
    }

    #[test]
    fn checkpoint_histograms_order_among_themselves() {
        let mut d = SeriesData::default();
        d.append(100, 0).unwrap();
        assert_eq!(d.push_histogram(50, hist(1.0)), Ok(()));
        assert_eq!(
            d.push_histogram(50, hist(1.0)),
            Err(AppendError::OutOfOrder)
        );
        assert_eq!(d.push_histogram(150, hist(1.0)), Ok(()));
        assert_eq!(d.histogram_count(), 2);
    }

    /// Sizes before native histograms were stored (64-bit targets).
    const OLD_MEM_SERIES: usize = 136;
    const OLD_SERIES_DATA: usize = 96;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_float_only_series_grows_by_one_pointer_at_most() {
        use std::mem::size_of;
        assert!(
            size_of::<SeriesData>() <= OLD_SERIES_DATA + size_of::<usize>(),
            "SeriesData is {} bytes",
            size_of::<SeriesData>()
        );
        assert!(
            size_of::<MemSeries>() <= OLD_MEM_SERIES + size_of::<usize>(),
            "MemSeries is {} bytes",
            size_of::<MemSeries>()
        );
        assert_eq!(
            size_of::<Option<Box<HistogramSamples>>>(),
            size_of::<usize>()
        );
        // And no allocation: a float-only series has no histogram list.
        let mut d = SeriesData::default();
        d.append(1, 0).unwrap();
        assert!(d.hist.is_none());
    }
}
