//! Rule evaluation inside `warden run`: loading the rule files and stock
//! packs, one task per group, the alert state file, the console sink, the
//! `warden_rule_*` metrics.
//!
//! The rules library (`warden_rules`) knows how to evaluate a group; this
//! module knows when, over what, and where the results go.

pub mod console;
pub mod load;
pub mod manager;
pub mod metrics;
pub mod packs;
pub mod persist;
pub mod runner;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_rules::promql::{Engine, EngineOptions};
use warden_rules::query::LocalQuery;
use warden_rules::rulefmt::RuleFile;
use warden_tsdb::{Db, Querier};

use crate::config::Config;
use crate::reload::{RuleFlags, group_options};
use crate::selfmetrics::SelfMetrics;
use console::ConsoleSink;
use manager::RuleManager;
use persist::StateBook;
use runner::Shared;

/// How long the console gets at shutdown to log what is queued.
const CONSOLE_DRAIN: Duration = Duration::from_secs(2);

/// Rule evaluation while it runs.
pub struct RuleRuntime {
    /// The groups; the API and reloads use it.
    pub manager: Arc<RuleManager>,
    sink: Arc<ConsoleSink>,
    stop: watch::Sender<bool>,
    book_task: JoinHandle<()>,
    console_task: JoinHandle<()>,
}

/// Starts rule evaluation over `db`: reads the alert state file, restores
/// the saved alerts into `files`' groups, and starts one task per group.
pub async fn start(
    cfg: &Config,
    files: &[RuleFile],
    flags: &RuleFlags,
    db: &Arc<Db>,
    metrics: &Arc<SelfMetrics>,
) -> RuleRuntime {
    let path = persist::state_path(&cfg.storage.path);
    let saved = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || persist::load(&path))
            .await
            .unwrap_or_default()
    };
    let (stop, stop_rx) = watch::channel(false);
    let (book, book_task) = StateBook::start(path, stop_rx);
    let (sink, console_task) = ConsoleSink::start(Arc::clone(metrics));
    let query = LocalQuery::new(
        Engine::new(EngineOptions::default()),
        Arc::clone(db) as Arc<dyn Querier>,
    );
    let shared = Arc::new(Shared {
        query: Arc::new(query),
        store: Arc::clone(db) as _,
        sink: Arc::clone(&sink) as _,
        metrics: Arc::clone(metrics),
        book,
    });
    let manager = Arc::new(RuleManager::new(shared));
    manager
        .apply(files, &group_options(cfg, flags), Some(&saved))
        .await;
    let groups: usize = files.iter().map(|f| f.groups.len()).sum();
    tracing::info!(groups, "rule evaluation started");
    RuleRuntime {
        manager,
        sink,
        stop,
        book_task,
        console_task,
    }
}

impl RuleRuntime {
    /// Stops every group after its in-flight evaluation, writes the state
    /// file a last time, and lets the console log what is queued.
    pub async fn stop(self) {
        self.manager.stop().await;
        let _ = self.stop.send(true);
        if let Err(e) = self.book_task.await {
            tracing::error!(error = %e, "alert state writer failed");
        }
        self.sink.close();
        let _ = tokio::time::timeout(CONSOLE_DRAIN, self.console_task).await;
    }
}
