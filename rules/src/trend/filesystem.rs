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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::Status;

    const SIZE: f64 = 100e9;

    /// Available bytes every minute for `hours`, from `used(t_seconds)`.
    fn avail(hours: f64, used: impl Fn(f64) -> f64) -> Vec<Sample> {
        (0..=(hours * 60.0) as i64)
            .map(|i| {
                let t = i as f64 * 60.0;
                let wobble = ((t * 3.1).sin() * 9137.7).fract() * 20e6;
                Sample {
                    t: i * 60_000,
                    v: SIZE - used(t) - wobble,
                }
            })
            .collect()
    }

    fn run(s: &[Sample]) -> Vec<(i64, Verdict)> {
        let mut d = FilesystemDetector::new();
        let end = s.last().map_or(0, |x| x.t);
        (0..=end / 300_000)
            .map(|k| {
                let now = k * 300_000;
                let hi = s.partition_point(|x| x.t <= now);
                (now, d.evaluate(&s[..hi], SIZE, now))
            })
            .collect()
    }

    #[test]
    fn a_filling_disk_gets_its_time_to_full() {
        // 2 GB/h from 70 GB used: full in 15 h.
        let rate = 2e9 / 3600.0;
        let vs = run(&avail(8.0, |t| 70e9 + rate * t));
        let (t, v) = vs.last().unwrap();
        assert!(v.suspected);
        let truth = (SIZE - 70e9 - rate * (*t as f64 / 1000.0)) / rate;
        let est = v.time_to_limit_seconds.unwrap();
        assert!((est / truth - 1.0).abs() < 0.1, "{est} vs {truth}");
    }

    #[test]
    fn log_rotation_is_not_a_fill_and_not_a_free_fall() {
        // Logs grow 1 GB/h and are rotated every 3 h, at 50 GB used.
        let vs = run(&avail(12.0, |t| 50e9 + 1e9 / 3600.0 * (t % (3.0 * 3600.0))));
        assert!(vs.iter().all(|(_, v)| !v.suspected));
        // Right after a rotation the new life is too young to judge.
        let after = vs
            .iter()
            .find(|(t, _)| *t == 3 * 3_600_000 + 600_000)
            .unwrap();
        assert_eq!(after.1.status, Status::Insufficient);
    }

    #[test]
    fn a_fill_continues_to_be_seen_across_a_rotation() {
        // Near full and filling 3 GB/h; a rotation frees 1 GB at 4 h.
        let vs = run(&avail(8.0, |t| {
            75e9 + 3e9 / 3600.0 * t - if t >= 4.0 * 3600.0 { 1e9 } else { 0.0 }
        }));
        assert!(vs.iter().any(|(t, v)| v.suspected && *t < 4 * 3_600_000));
        assert!(vs.last().unwrap().1.suspected);
    }

    #[test]
    fn a_fresh_mount_is_insufficient_then_stable() {
        // Mounted at 0, filled with 30 GB in 20 minutes, then quiet.
        let s = avail(6.0, |t| 30e9 * (t / 1200.0).min(1.0));
        let vs = run(&s);
        assert_eq!(vs[2].1.status, Status::Insufficient);
        assert!(vs.iter().all(|(_, v)| !v.suspected));
        assert_eq!(vs.last().unwrap().1.status, Status::Stable);
    }

    #[test]
    fn unknown_size_is_insufficient() {
        let s = avail(4.0, |t| 50e9 + 1e6 * t);
        let mut d = FilesystemDetector::new();
        let v = d.evaluate(&s, f64::NAN, 4 * 3_600_000);
        assert_eq!(v.status, Status::Insufficient);
    }
}
