//! What the binary needs from the store, in one trait, and its
//! implementation for [`warden_tsdb::Db`].
//!
//! The scheduler and the HTTP handlers talk to `dyn Store`, so they do not
//! care how the store is built; closing is the one thing done on the
//! concrete `Db` (it consumes it), in `run.rs`.

use warden_tsdb::{Appender, Db, Labels, Matcher, MetricMetadata, Querier, Sample};

use crate::scheduler::AppenderSource;
use crate::selfmetrics::StoreStats;

/// The store as the binary uses it.
pub trait Store: AppenderSource {
    /// The newest non-stale sample of every series matching `matchers`.
    fn latest(&self, matchers: &[Matcher]) -> Vec<(Labels, Sample)>;
    /// Type, help and unit of metric families, by metric name.
    fn metadata(&self) -> Vec<(String, MetricMetadata)>;
    /// Retention and checkpointing; called every minute.
    fn maintain(&self, now_ms: i64) -> Result<(), String>;
    /// Counters and gauges for `warden_tsdb_*`.
    fn stats(&self) -> StoreStats;
}

impl AppenderSource for Db {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(Db::appender(self))
    }
}

impl Store for Db {
    fn latest(&self, matchers: &[Matcher]) -> Vec<(Labels, Sample)> {
        Db::latest(self, matchers)
    }

    fn metadata(&self) -> Vec<(String, MetricMetadata)> {
        Querier::metadata(self)
    }

    fn maintain(&self, now_ms: i64) -> Result<(), String> {
        Db::maintain(self, now_ms).map_err(|e| e.to_string())
    }

    fn stats(&self) -> StoreStats {
        let s = Db::stats(self);
        StoreStats {
            head_series: s.head_series,
            head_chunks: s.head_chunks,
            samples_appended_total: s.samples_appended_total,
            out_of_order_total: s.out_of_order_total,
            duplicate_total: s.duplicate_total,
            out_of_bounds_total: s.out_of_bounds_total,
            wal_bytes: s.wal_bytes,
            wal_fsync_seconds_sum: s.wal_fsync_seconds_sum,
            wal_fsync_total: s.wal_fsync_total,
            wal_corruptions_total: s.wal_corruptions_total,
            wal_truncations_total: s.wal_truncations_total,
            checkpoint_total: s.checkpoint_total,
            retention_series_removed_total: s.retention_series_removed_total,
        }
    }
}
