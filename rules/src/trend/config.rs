//! Tuning of the trend detector, with presets for process memory and for
//! filesystem free space.

use std::time::Duration;

/// When a sudden fall of the series means "a new life began" (a restart, an
/// OOM kill, a log rotation) rather than ordinary variation. Growth is only
/// ever fitted within one life, so a restart can neither hide a leak from
/// the fit nor look like one.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetRule {
    /// A value below `(1 - floor_fraction) × recent floor` starts a new life
    /// (0.5 for memory: a GC never frees half of the post-GC floor, a
    /// restart does).
    pub floor_fraction: f64,
    /// A fall below the recent floor by more than this fraction of the limit
    /// also starts a new life (used for filesystems, where a rotation frees
    /// a small part of the disk). 0 disables it.
    pub limit_fraction: f64,
    /// After a hole in the samples longer than twice the usual interval, a
    /// value below `(1 - gap_floor_fraction) × recent floor` is a restart
    /// (the process was missing while it restarted).
    pub gap_floor_fraction: f64,
    /// A hole longer than this always starts a new life: nothing is known
    /// about what happened inside it.
    pub max_gap: Duration,
    /// How far back the "recent floor" looks.
    pub floor_lookback: Duration,
}

/// Everything the detector can be tuned with. `Default` is the preset for
/// process memory (RSS toward a container limit); [`TrendConfig::filesystem`]
/// is the preset for used space toward a filesystem's size.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendConfig {
    /// How much history one evaluation looks at (6 h).
    pub window: Duration,
    /// A growth is a leak when, at the estimated rate, the highest peaks
    /// reach the limit within this horizon (24 h).
    pub horizon: Duration,
    /// Growth slower than this (bytes per second) is never reported, however
    /// significant (1 MB/h).
    pub min_growth_bytes_per_second: f64,
    /// The shortest stretch a growth is fitted on (30 min). Shorter growth is
    /// indistinguishable from a warm-up or a burst.
    pub min_fit: Duration,
    /// Floor windows (the span each post-GC minimum is taken over) are
    /// sized from the observed GC period and clamped to this range.
    pub floor_window_min: Duration,
    /// See `floor_window_min`.
    pub floor_window_max: Duration,
    /// How many standard errors above zero the floor slope must be (3).
    pub significance_z: f64,
    /// Each half of a fit, and its tail, must grow at least this fraction of
    /// the whole fit's rate (0.4): rejects steps and growth that stopped.
    pub consistency_ratio: f64,
    /// The stretch just before a fit may not have grown faster than this
    /// many times the fit's rate (1.5): rejects the end of a warm-up.
    pub deceleration_ratio: f64,
    /// Length of the tail that must still be growing (30 min).
    pub tail: Duration,
    /// Quantile of the values above the floor line taken as "the highest
    /// peaks" when computing the time to the limit (0.99).
    pub peak_quantile: f64,
    /// What counts as a restart.
    pub reset: ResetRule,
    /// A leak must be seen this long before it is reported (5 min).
    pub fire_after: Duration,
    /// A reported leak clears after this long without one (15 min).
    pub clear_after: Duration,
}

impl Default for TrendConfig {
    fn default() -> Self {
        TrendConfig {
            window: Duration::from_secs(6 * 3600),
            horizon: Duration::from_secs(24 * 3600),
            min_growth_bytes_per_second: 1e6 / 3600.0,
            min_fit: Duration::from_secs(30 * 60),
            floor_window_min: Duration::from_secs(4 * 60),
            floor_window_max: Duration::from_secs(15 * 60),
            significance_z: 3.0,
            consistency_ratio: 0.4,
            deceleration_ratio: 1.5,
            tail: Duration::from_secs(30 * 60),
            peak_quantile: 0.99,
            reset: ResetRule {
                floor_fraction: 0.5,
                limit_fraction: 0.0,
                gap_floor_fraction: 0.1,
                max_gap: Duration::from_secs(10 * 60),
                floor_lookback: Duration::from_secs(5 * 60),
            },
            fire_after: Duration::from_secs(5 * 60),
            clear_after: Duration::from_secs(15 * 60),
        }
    }
}

impl TrendConfig {
    /// The preset for filesystem usage (used bytes toward the filesystem's
    /// size): no GC, so short floor windows and peaks equal to the level; a
    /// fall of 0.1 % of the size (a log rotation, a clean-up) starts a new
    /// life; a longer window since disks fill over days.
    pub fn filesystem() -> TrendConfig {
        TrendConfig {
            window: Duration::from_secs(12 * 3600),
            min_growth_bytes_per_second: 1.0,
            floor_window_min: Duration::from_secs(2 * 60),
            floor_window_max: Duration::from_secs(10 * 60),
            reset: ResetRule {
                floor_fraction: 0.0,
                limit_fraction: 0.001,
                gap_floor_fraction: 0.0,
                max_gap: Duration::from_secs(30 * 60),
                floor_lookback: Duration::from_secs(5 * 60),
            },
            ..TrendConfig::default()
        }
    }
}
