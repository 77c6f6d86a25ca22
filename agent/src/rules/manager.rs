//! The set of running rule groups, and how it changes: at start (restoring
//! saved alerts), on reload (keeping the state of what did not change), at
//! shutdown.
//!
//! On reload a group whose definition and options are unchanged keeps
//! running untouched. A changed group is stopped after its in-flight
//! evaluation, and the new one takes over the state of every rule that is
//! still the same (`Group::carry_state_from`). A removed group is stopped,
//! its series get staleness markers at once, and its alerts leave the
//! state file.

use std::sync::{Arc, RwLock};

use warden_rules::group::{Group, GroupOptions, GroupStatus};
use warden_rules::rulefmt::RuleFile;
use warden_rules::state::PersistedState;

use super::runner::{RunningGroup, Shared, StatusCell, lock};
use crate::scheduler::now_ms;

/// The running groups.
pub struct RuleManager {
    shared: Arc<Shared>,
    running: tokio::sync::Mutex<Vec<RunningGroup>>,
    /// Statuses in Prometheus's order (file, then group name), for the API.
    view: RwLock<Vec<StatusCell>>,
}

/// `<file>;<group>`: how Prometheus names a group in its metrics.
pub fn group_key(file: &str, name: &str) -> String {
    format!("{file};{name}")
}

impl RuleManager {
    /// A manager with no groups yet.
    pub fn new(shared: Arc<Shared>) -> RuleManager {
        RuleManager {
            shared,
            running: tokio::sync::Mutex::new(Vec::new()),
            view: RwLock::new(Vec::new()),
        }
    }

    /// Makes the running groups those of `files` with `opts`. `saved` is
    /// the state file's content at start (`None` on reload): new groups
    /// restore their alerts from it.
    pub async fn apply(
        &self,
        files: &[RuleFile],
        opts: &GroupOptions,
        saved: Option<&PersistedState>,
    ) {
        let mut running = self.running.lock().await;
        let mut old: Vec<RunningGroup> = std::mem::take(&mut *running);
        let mut next: Vec<RunningGroup> = Vec::new();
        for file in files {
            for def in &file.groups {
                let key = group_key(&file.path, &def.name);
                if next.iter().any(|g| g.key == key) {
                    tracing::warn!(rule_group = %key, "rule group loaded twice; the second is ignored");
                    continue;
                }
                let previous = old
                    .iter()
                    .position(|g| g.key == key)
                    .map(|i| old.swap_remove(i));
                let previous = match previous {
                    Some(p) if p.def == *def && p.opts == *opts => {
                        next.push(p);
                        continue;
                    }
                    other => other,
                };
                let mut group = Group::new(&file.path, def, opts);
                if let Some(p) = previous {
                    let (_, stopped) = p.stop().await;
                    group.carry_state_from(&lock(&stopped));
                } else if let Some(saved) = saved.and_then(|s| s.group(&file.path, &def.name)) {
                    group.restore_state(saved, now_ms());
                }
                self.shared.book.seed(&key, group.export_state());
                next.push(RunningGroup::spawn(
                    Arc::clone(&self.shared),
                    key,
                    def.clone(),
                    opts.clone(),
                    group,
                ));
            }
        }
        for removed in old {
            self.remove(removed).await;
        }
        let mut view: Vec<(String, String, StatusCell)> = next
            .iter()
            .map(|g| {
                let s = g.status.read().unwrap_or_else(|p| p.into_inner());
                (s.file.clone(), s.name.clone(), Arc::clone(&g.status))
            })
            .collect();
        view.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        *self.view.write().unwrap_or_else(|p| p.into_inner()) =
            view.into_iter().map(|(_, _, c)| c).collect();
        *running = next;
    }

    /// Stops a removed group and ends its series and alerts.
    async fn remove(&self, g: RunningGroup) {
        let (key, group) = g.stop().await;
        let store = Arc::clone(&self.shared.store);
        let k = key.clone();
        let marked = tokio::task::spawn_blocking(move || {
            let mut app = store.appender();
            lock(&group).mark_stale(now_ms(), &mut *app)
        })
        .await;
        match marked {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(rule_group = %k, error = %e, "writing staleness markers for a removed group failed")
            }
            Err(e) => {
                tracing::error!(rule_group = %k, error = %e, "writing staleness markers panicked")
            }
        }
        self.shared.book.forget(&key);
        self.shared.metrics.rules.remove(&key);
        tracing::info!(rule_group = %key, "rule group removed");
    }

    /// Stops every group after its in-flight evaluation.
    pub async fn stop(&self) {
        let mut running = self.running.lock().await;
        for g in std::mem::take(&mut *running) {
            let _ = g.stop().await;
        }
    }

    /// The latest status of every group, in Prometheus's order.
    pub fn statuses(&self) -> Vec<Arc<GroupStatus>> {
        self.view
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|c| Arc::clone(&c.read().unwrap_or_else(|p| p.into_inner())))
            .collect()
    }
}

impl crate::api::RuleSource for RuleManager {
    fn groups(&self) -> Vec<Arc<GroupStatus>> {
        self.statuses()
    }
}
