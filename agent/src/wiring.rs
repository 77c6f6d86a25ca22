//! Turns the configuration into the store's options and the collectors.

use std::sync::Arc;

use warden_exporters::host::{HostCollector, HostConfig};
use warden_tsdb::{Db, DbOptions, FsyncPolicy};

use crate::config::{Config, WalFsync};
use crate::run::RunError;
use crate::scheduler::Scheduled;
use crate::selfcollector::SelfCollector;
use crate::selfmetrics::SelfMetrics;

/// WAL segment size: small enough that checkpoints free disk early on a
/// quiet host, large enough that segment churn is rare.
const SEGMENT_BYTES: u64 = 32 << 20;

/// The store's options from `storage`.
pub fn db_options(cfg: &Config) -> DbOptions {
    DbOptions {
        retention: cfg.storage.retention_time.get(),
        max_bytes: cfg.storage.retention_size.map(|s| s.0).filter(|&b| b > 0),
        fsync: match cfg.storage.wal_fsync {
            WalFsync::Always => FsyncPolicy::Always,
            WalFsync::Never => FsyncPolicy::Never,
            WalFsync::Interval(d) => FsyncPolicy::Interval(d),
        },
        segment_bytes: SEGMENT_BYTES,
    }
}

/// Opens the store (creating the directory, replaying the WAL) off the
/// async workers.
pub async fn open_store(cfg: &Config) -> Result<Arc<Db>, RunError> {
    let path = cfg.storage.path.clone();
    let opts = db_options(cfg);
    let shown = path.display().to_string();
    let opened = tokio::task::spawn_blocking(move || Db::open(&path, opts)).await;
    match opened {
        Ok(Ok(db)) => Ok(Arc::new(db)),
        Ok(Err(e)) => Err(RunError::Store {
            path: shown,
            reason: e.to_string(),
        }),
        Err(e) => Err(RunError::Store {
            path: shown,
            reason: format!("opening panicked: {e}"),
        }),
    }
}

/// The enabled collectors with their intervals.
pub fn collectors(cfg: &Config, metrics: &Arc<SelfMetrics>) -> Result<Vec<Scheduled>, RunError> {
    let mut out = Vec::new();
    let host = &cfg.collectors.host;
    if host.enabled {
        let hc = HostConfig {
            proc_path: host.proc_path.clone(),
            sys_path: host.sys_path.clone(),
            rootfs_path: host.rootfs_path.clone(),
            ..HostConfig::default()
        };
        let collector = HostCollector::new(hc).map_err(|e| RunError::Collector {
            name: "host".into(),
            reason: e.to_string(),
        })?;
        out.push(Scheduled {
            collector: Box::new(collector),
            interval: cfg.host_interval(),
        });
    }
    out.push(Scheduled {
        collector: Box::new(SelfCollector::new(Arc::clone(metrics))),
        interval: cfg.global.scrape_interval.get(),
    });
    Ok(out)
}
