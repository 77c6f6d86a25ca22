//! The detector's tuning from `leak_detection:`: the memory and filesystem
//! presets with the configured window, horizon and minimum growth, every
//! duration divided by `time_compression`.

use std::time::Duration;

use warden_rules::trend::TrendConfig;

use crate::config::LeakDetectionConfig;

/// Everything the live task needs to know about time.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// The detector's tuning for memory series.
    pub memory: TrendConfig,
    /// The detector's tuning for filesystems.
    pub filesystem: TrendConfig,
    /// Time between two evaluations.
    pub interval: Duration,
    /// How far back a series must have a sample to count as present (the
    /// detector's longest tolerated hole, `reset.max_gap` of the memory
    /// preset): older than that, the detector could only say "insufficient
    /// data", so the series is no longer tracked and its outputs go stale.
    pub lookback: Duration,
}

impl Tuning {
    /// The tuning `cfg` asks for.
    pub fn new(cfg: &LeakDetectionConfig) -> Tuning {
        let k = cfg.time_compression;
        let memory = TrendConfig {
            window: cfg.window.get(),
            horizon: cfg.horizon.get(),
            min_growth_bytes_per_second: cfg.min_growth_bytes_per_second,
            ..TrendConfig::default()
        };
        let filesystem = TrendConfig {
            window: cfg.filesystem_window.get(),
            horizon: cfg.horizon.get(),
            ..TrendConfig::filesystem()
        };
        let memory = compress(memory, k);
        Tuning {
            lookback: memory.reset.max_gap,
            memory,
            filesystem: compress(filesystem, k),
            interval: cfg.evaluation_interval.get().div_f64(k),
        }
    }
}

/// The same detector for a process that lives `k` times faster: every
/// duration divided by `k`, every rate multiplied by it. Ratios, quantiles
/// and thresholds in standard errors do not depend on the time scale.
pub fn compress(c: TrendConfig, k: f64) -> TrendConfig {
    if k == 1.0 {
        return c;
    }
    let d = |x: Duration| x.div_f64(k);
    TrendConfig {
        window: d(c.window),
        horizon: d(c.horizon),
        min_growth_bytes_per_second: c.min_growth_bytes_per_second * k,
        min_fit: d(c.min_fit),
        floor_window_min: d(c.floor_window_min),
        floor_window_max: d(c.floor_window_max),
        tail: d(c.tail),
        reset: warden_rules::trend::ResetRule {
            max_gap: d(c.reset.max_gap),
            floor_lookback: d(c.reset.floor_lookback),
            ..c.reset
        },
        fire_after: d(c.fire_after),
        clear_after: d(c.clear_after),
        ..c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_divides_every_duration_and_multiplies_rates() {
        let c = compress(TrendConfig::default(), 60.0);
        let base = TrendConfig::default();
        assert_eq!(c.window, Duration::from_secs(6 * 60));
        assert_eq!(c.horizon, Duration::from_secs(24 * 60));
        assert_eq!(c.min_fit, Duration::from_secs(30));
        assert_eq!(c.reset.max_gap, Duration::from_secs(10));
        assert_eq!(c.fire_after, Duration::from_secs(5));
        assert_eq!(c.clear_after, Duration::from_secs(15));
        assert!(
            (c.min_growth_bytes_per_second / base.min_growth_bytes_per_second - 60.0).abs() < 1e-9
        );
        assert_eq!(c.significance_z, base.significance_z);
        assert_eq!(c.reset.floor_fraction, base.reset.floor_fraction);
    }

    #[test]
    fn the_configuration_reaches_the_detector() {
        let cfg = LeakDetectionConfig {
            window: crate::config::PromDuration(Duration::from_secs(3 * 3600)),
            horizon: crate::config::PromDuration(Duration::from_secs(48 * 3600)),
            min_growth_bytes_per_second: 1000.0,
            ..LeakDetectionConfig::default()
        };
        let t = Tuning::new(&cfg);
        assert_eq!(t.memory.window, Duration::from_secs(3 * 3600));
        assert_eq!(t.memory.horizon, Duration::from_secs(48 * 3600));
        assert_eq!(t.filesystem.horizon, Duration::from_secs(48 * 3600));
        assert_eq!(t.filesystem.window, Duration::from_secs(12 * 3600));
        assert_eq!(t.memory.min_growth_bytes_per_second, 1000.0);
        assert_eq!(t.interval, Duration::from_secs(60));
        assert_eq!(t.lookback, Duration::from_secs(600));
    }
}
