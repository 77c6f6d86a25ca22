//! Time until a filesystem is full (`warden_filesystem_time_to_full_seconds`):
//! the leak detector applied to used space (size − available) growing toward
//! the size, with the filesystem preset ([`TrendConfig::filesystem`]).
//!
//! A log rotation or clean-up frees space at once: that starts a new life,
//! so the fall is neither fitted as "shrinking" nor makes the next fit
//! steeper. A freshly mounted filesystem has too little history and is
//! `Insufficient` until it has `min_fit` of data.

use warden_tsdb::Sample;

use super::config::TrendConfig;
use super::detector::{LeakDetector, Verdict};

/// Tracks one filesystem's available bytes and says when it will be full.
#[derive(Debug, Clone)]
pub struct FilesystemDetector {
    inner: LeakDetector,
    used: Vec<Sample>,
}

impl FilesystemDetector {
    /// A detector with the filesystem preset.
    pub fn new() -> FilesystemDetector {
        FilesystemDetector::with_config(TrendConfig::filesystem())
    }

    /// A detector with custom tuning (start from [`TrendConfig::filesystem`]).
    pub fn with_config(config: TrendConfig) -> FilesystemDetector {
        FilesystemDetector {
            inner: LeakDetector::new(config),
            used: Vec::new(),
        }
    }

    /// Evaluates from `available` (bytes free for unprivileged users, as
    /// `node_filesystem_avail_bytes`) and the filesystem's `size_bytes`.
    /// `time_to_limit_seconds` of the verdict is the time to full; a
    /// non-positive or non-finite size gives `Insufficient`.
    pub fn evaluate(&mut self, available: &[Sample], size_bytes: f64, now_ms: i64) -> Verdict {
        self.used.clear();
        if size_bytes.is_finite() && size_bytes > 0.0 {
            // NaNs and staleness markers stay NaN-like: `size - NaN` is NaN,
            // which the detector drops like the original.
            self.used.extend(available.iter().map(|s| Sample {
                t: s.t,
                v: size_bytes - s.v,
            }));
        }
        self.inner.evaluate(&self.used, size_bytes, now_ms)
    }
}

impl Default for FilesystemDetector {
    fn default() -> Self {
        FilesystemDetector::new()
    }
}
