//! Turns the configuration into the store's options and the collectors.

use std::sync::Arc;

use warden_exporters::host::{HostCollector, HostConfig};
use warden_exporters::process::{
    ProcessCollector, ProcessConfig, ProcessGroupConfig, SelfProcessCollector,
};
use warden_tsdb::{Db, DbOptions, FsyncPolicy};

use crate::config::{Config, WalFsync, compile_go_regex};
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
    let process = &cfg.collectors.process;
    if process.enabled && !process.groups.is_empty() {
        let mut groups = Vec::with_capacity(process.groups.len());
        for g in &process.groups {
            let cmdline = match &g.cmdline {
                Some(re) => Some(compile_go_regex(re).map_err(|e| RunError::Collector {
                    name: "process".into(),
                    reason: format!("group {:?}: cmdline: {e}", g.name),
                })?),
                None => None,
            };
            groups.push(ProcessGroupConfig {
                name: g.name.clone(),
                comm: g.comm.clone(),
                cmdline,
                pidfile: g.pidfile.clone(),
                cgroup: g.cgroup.clone(),
            });
        }
        let pc = ProcessConfig {
            groups,
            proc_path: host.proc_path.clone(),
            sys_path: host.sys_path.clone(),
        };
        let collector = ProcessCollector::new(pc).map_err(|e| RunError::Collector {
            name: "process".into(),
            reason: e.to_string(),
        })?;
        out.push(Scheduled {
            collector: Box::new(collector),
            interval: cfg.process_interval(),
        });
    }
    if process.enabled && process.self_metrics {
        // warden's own process is always under this process's /proc.
        out.push(Scheduled {
            collector: Box::new(SelfProcessCollector::default()),
            interval: cfg.process_interval(),
        });
    }
    out.push(Scheduled {
        collector: Box::new(SelfCollector::new(Arc::clone(metrics))),
        interval: cfg.global.scrape_interval.get(),
    });
    Ok(out)
}
