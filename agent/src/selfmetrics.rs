//! warden's own metrics (`warden_*`), kept in a prometheus-client registry.
//!
//! Collectors and the scheduler update them as things happen; the store's
//! figures ([`StoreStats`]) are read when the registry is encoded, so they
//! are never stale and never copied. The registry's OpenMetrics text is what
//! `/metrics` serves for warden itself and what the self collector writes
//! into the store, so rules can query warden's health like anything else.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use prometheus_client::collector::Collector as PcCollector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

/// The store's counters and gauges, as warden exposes them. A plain copy of
/// the store's own statistics, so this module does not depend on the store.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StoreStats {
    /// Series in the in-memory head.
    pub head_series: u64,
    /// Chunks in the in-memory head.
    pub head_chunks: u64,
    /// Samples accepted since start.
    pub samples_appended_total: u64,
    /// Samples refused as older than their series' newest.
    pub out_of_order_total: u64,
    /// Samples refused as a second value for the same timestamp.
    pub duplicate_total: u64,
    /// Samples refused as older than the retention window.
    pub out_of_bounds_total: u64,
    /// Size of the write-ahead log on disk.
    pub wal_bytes: u64,
    /// Total time spent in WAL fsyncs.
    pub wal_fsync_seconds_sum: f64,
    /// Number of WAL fsyncs.
    pub wal_fsync_total: u64,
    /// Corrupt WAL records met during replay.
    pub wal_corruptions_total: u64,
    /// WAL truncations (after checkpoints).
    pub wal_truncations_total: u64,
    /// Checkpoints written.
    pub checkpoint_total: u64,
    /// Series dropped by retention.
    pub retention_series_removed_total: u64,
}

/// Where the store's statistics come from once the store is open.
pub type StatsSource = Arc<dyn Fn() -> StoreStats + Send + Sync>;

type CollectorLabel = Vec<(String, String)>;

/// The registry and the handles used to update it.
pub struct SelfMetrics {
    registry: Registry,
    collector_errors: Family<CollectorLabel, Counter>,
    collector_duration: Family<CollectorLabel, Gauge<f64, AtomicU64>>,
    collector_skipped: Family<CollectorLabel, Counter>,
    collector_cycles: Family<CollectorLabel, Counter>,
    store: Arc<OnceLock<StatsSource>>,
    /// Rule evaluation (`warden_rule_*`).
    pub rules: crate::rules::metrics::RuleMetrics,
    /// Configuration reloads (`warden_config_last_reload_*`).
    pub reload: crate::reload::ReloadMetrics,
}

impl std::fmt::Debug for SelfMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfMetrics").finish_non_exhaustive()
    }
}

impl Default for SelfMetrics {
    fn default() -> Self {
        SelfMetrics::new()
    }
}

impl SelfMetrics {
    /// A registry with every warden metric registered.
    pub fn new() -> SelfMetrics {
        let mut registry = Registry::default();
        let collector_errors = Family::<CollectorLabel, Counter>::default();
        registry.register(
            "warden_collector_errors",
            "Errors met by a collector (unreadable files, parse failures, failed commits).",
            collector_errors.clone(),
        );
        let collector_duration = Family::<CollectorLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "warden_collector_duration_seconds",
            "Duration of the collector's last completed cycle.",
            collector_duration.clone(),
        );
        let collector_skipped = Family::<CollectorLabel, Counter>::default();
        registry.register(
            "warden_collector_skipped_cycles",
            "Cycles not started because the previous one was still running.",
            collector_skipped.clone(),
        );
        let collector_cycles = Family::<CollectorLabel, Counter>::default();
        registry.register(
            "warden_collector_cycles",
            "Completed collection cycles.",
            collector_cycles.clone(),
        );
        let store = Arc::new(OnceLock::new());
        registry.register_collector(Box::new(StoreCollector {
            source: Arc::clone(&store),
        }));
        registry.register_collector(Box::new(BuildInfo));
        let rules = crate::rules::metrics::RuleMetrics::register(&mut registry);
        let reload = crate::reload::ReloadMetrics::register(&mut registry);
        SelfMetrics {
            registry,
            collector_errors,
            collector_duration,
            collector_skipped,
            collector_cycles,
            store,
            rules,
            reload,
        }
    }

    /// Connects the store's statistics; called once the store is open.
    pub fn set_store(&self, source: StatsSource) {
        let _ = self.store.set(source);
    }

    /// Makes `collector`'s series exist at zero before its first cycle, so
    /// `rate()` and `increase()` see the first error.
    pub fn register_collector(&self, collector: &str) {
        let l = label(collector);
        drop(self.collector_errors.get_or_create(&l));
        drop(self.collector_skipped.get_or_create(&l));
        drop(self.collector_cycles.get_or_create(&l));
    }

    /// Counts `n` errors of one cycle of `collector`.
    pub fn collector_errors(&self, collector: &str, n: u64) {
        self.collector_errors
            .get_or_create(&label(collector))
            .inc_by(n);
    }

    /// Records a completed cycle and its duration.
    pub fn collector_cycle(&self, collector: &str, seconds: f64) {
        let l = label(collector);
        self.collector_duration.get_or_create(&l).set(seconds);
        self.collector_cycles.get_or_create(&l).inc();
    }

    /// Counts a cycle skipped because the previous one was still running.
    pub fn collector_skipped(&self, collector: &str) {
        self.collector_skipped
            .get_or_create(&label(collector))
            .inc();
    }

    /// The registry in OpenMetrics 1.0 text (ends with `# EOF`).
    pub fn encode_openmetrics(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

fn label(collector: &str) -> CollectorLabel {
    vec![("collector".to_string(), collector.to_string())]
}

/// Encodes the store's statistics at scrape time; nothing before the store
/// is open (a missing series is more honest than a zero).
struct StoreCollector {
    source: Arc<OnceLock<StatsSource>>,
}

impl std::fmt::Debug for StoreCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreCollector")
    }
}

fn counter(enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let m = ConstCounter::new(v);
    m.encode(enc.encode_descriptor(name, help, None, m.metric_type())?)
}

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, v: i64) -> std::fmt::Result {
    let m = ConstGauge::new(v);
    m.encode(enc.encode_descriptor(name, help, None, m.metric_type())?)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl PcCollector for StoreCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(source) = self.source.get() else {
            return Ok(());
        };
        let s = source();
        let e = &mut enc;
        counter(
            e,
            "warden_samples_appended",
            "Samples accepted by the store.",
            s.samples_appended_total,
        )?;
        gauge(
            e,
            "warden_tsdb_head_series",
            "Series in the in-memory head.",
            to_i64(s.head_series),
        )?;
        gauge(
            e,
            "warden_tsdb_head_chunks",
            "Chunks in the in-memory head.",
            to_i64(s.head_chunks),
        )?;
        counter(
            e,
            "warden_tsdb_out_of_order_samples",
            "Samples refused because they were older than their series' newest sample.",
            s.out_of_order_total,
        )?;
        counter(
            e,
            "warden_tsdb_duplicate_samples",
            "Samples refused because their series already had another value at that timestamp.",
            s.duplicate_total,
        )?;
        counter(
            e,
            "warden_tsdb_out_of_bounds_samples",
            "Samples refused because they were older than the retention window.",
            s.out_of_bounds_total,
        )?;
        gauge(
            e,
            "warden_tsdb_wal_storage_size_bytes",
            "Size of the write-ahead log on disk.",
            to_i64(s.wal_bytes),
        )?;
        {
            let mut h = e.encode_descriptor(
                "warden_tsdb_wal_fsync_duration_seconds",
                "Duration of write-ahead log fsyncs.",
                None,
                MetricType::Histogram,
            )?;
            h.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                s.wal_fsync_seconds_sum,
                s.wal_fsync_total,
                &[(f64::INFINITY, s.wal_fsync_total)],
                None,
            )?;
        }
        counter(
            e,
            "warden_tsdb_wal_corruptions",
            "Corrupt WAL records met during replay.",
            s.wal_corruptions_total,
        )?;
        counter(
            e,
            "warden_tsdb_wal_truncations",
            "WAL truncations after checkpoints.",
            s.wal_truncations_total,
        )?;
        counter(
            e,
            "warden_tsdb_checkpoint_creations",
            "Checkpoints written.",
            s.checkpoint_total,
        )?;
        counter(
            e,
            "warden_tsdb_retention_series_removed",
            "Series removed because all their samples fell out of retention.",
            s.retention_series_removed_total,
        )?;
        Ok(())
    }
}

/// `warden_build_info{version}` = 1, as `prometheus_build_info`.
#[derive(Debug)]
struct BuildInfo;

impl PcCollector for BuildInfo {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let m = ConstGauge::new(1i64);
        let labels: Vec<(&str, &str)> = vec![("version", env!("CARGO_PKG_VERSION"))];
        let mut metric = enc.encode_descriptor(
            "warden_build_info",
            "A metric with a constant '1' value labeled by the version warden was built from.",
            None,
            MetricType::Gauge,
        )?;
        m.encode(metric.encode_family(&labels)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_figures_appear_once_the_store_is_connected() {
        let m = SelfMetrics::new();
        m.register_collector("host");
        let before = m.encode_openmetrics();
        assert!(
            before.contains("warden_collector_errors_total{collector=\"host\"} 0"),
            "{before}"
        );
        assert!(!before.contains("warden_tsdb_head_series"), "{before}");
        assert!(before.contains("warden_build_info{version="), "{before}");
        m.set_store(Arc::new(|| StoreStats {
            head_series: 7,
            samples_appended_total: 42,
            wal_fsync_total: 3,
            wal_fsync_seconds_sum: 0.5,
            ..StoreStats::default()
        }));
        m.collector_errors("host", 2);
        m.collector_cycle("host", 0.25);
        m.collector_skipped("host");
        let text = m.encode_openmetrics();
        for want in [
            "warden_tsdb_head_series 7",
            "warden_samples_appended_total 42",
            "warden_collector_errors_total{collector=\"host\"} 2",
            "warden_collector_duration_seconds{collector=\"host\"} 0.25",
            "warden_collector_skipped_cycles_total{collector=\"host\"} 1",
            "warden_collector_cycles_total{collector=\"host\"} 1",
            "warden_tsdb_wal_fsync_duration_seconds_count 3",
            "warden_tsdb_wal_fsync_duration_seconds_sum 0.5",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
