//! The alert state file, `<storage.path>/rules/alerts.json`.
//!
//! Every group hands its exported state to the [`StateBook`] after each
//! evaluation. When the alerts changed (a new pending alert, a firing one,
//! a resolution, a send) the book writes the file, and the group waits for
//! that write before it publishes its status or sends its alerts: whatever
//! `/api/v1/alerts` showed or the sink was told survives a `kill -9`.
//! Writes are coalesced (one writer, the newest state of every group per
//! write), so the work is bounded by the disk, not by the number of groups.
//! While alerts are active the file is also refreshed every
//! [`HEARTBEAT`], so the outage measured at the next start is close to the
//! real one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use warden_rules::state::{self, PersistedGroup, PersistedState, StateError};

/// How often the file is rewritten while alerts are active but unchanged.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Longest a group waits for its state to reach the disk before going on
/// (a stalled disk must not stop alerting).
const SAVE_WAIT: Duration = Duration::from_secs(10);

/// Where the state file lives in the data directory.
pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("rules").join("alerts.json")
}

/// Reads the state file. A missing file is an empty state; a damaged one is
/// logged, renamed aside (`alerts.json.corrupt`) for a post-mortem, and
/// warden starts with no saved alerts.
pub fn load(path: &Path) -> PersistedState {
    match state::load(path) {
        Ok(Some(s)) => {
            tracing::info!(path = %path.display(), groups = s.groups.len(), "alert state loaded");
            s
        }
        Ok(None) => PersistedState::default(),
        Err(e @ (StateError::Corrupt { .. } | StateError::Version { .. })) => {
            let aside = path.with_extension("json.corrupt");
            match std::fs::rename(path, &aside) {
                Ok(()) => tracing::error!(
                    error = %e, moved_to = %aside.display(),
                    "alert state file is damaged; it was moved aside and warden starts with no saved alerts"
                ),
                Err(re) => tracing::error!(
                    error = %e, rename_error = %re,
                    "alert state file is damaged and could not be moved aside; warden starts with no saved alerts"
                ),
            }
            PersistedState::default()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the alert state file; warden starts with no saved alerts");
            PersistedState::default()
        }
    }
}

/// The newest state of every group, and the writer that puts it on disk.
pub struct StateBook {
    path: PathBuf,
    inner: Mutex<Book>,
    wake: Notify,
    saved: watch::Sender<u64>,
}

#[derive(Default)]
struct Book {
    groups: BTreeMap<String, PersistedGroup>,
    /// Bumped by every change that must reach the disk.
    wanted: u64,
}

impl StateBook {
    /// A book writing to `path`, and its writer task (ends when `stop` turns
    /// true, after a last write).
    pub fn start(path: PathBuf, stop: watch::Receiver<bool>) -> (Arc<StateBook>, JoinHandle<()>) {
        let (saved, _) = watch::channel(0);
        let book = Arc::new(StateBook {
            path,
            inner: Mutex::new(Book::default()),
            wake: Notify::new(),
            saved,
        });
        let task = tokio::spawn(Arc::clone(&book).write_loop(stop));
        (book, task)
    }

    /// Records a group's state. Returns the generation to wait for when the
    /// alerts changed since the last record (see [`StateBook::wait_saved`]).
    pub fn record(&self, key: &str, state: PersistedGroup) -> Option<u64> {
        let mut book = self.lock();
        let changed = book
            .groups
            .get(key)
            .is_none_or(|old| !same_alerts(old, &state));
        book.groups.insert(key.to_string(), state);
        if !changed {
            return None;
        }
        book.wanted += 1;
        let generation = book.wanted;
        drop(book);
        self.wake.notify_one();
        Some(generation)
    }

    /// Records a group's state without asking for a write (a group just
    /// started: its restored state is on disk already).
    pub fn seed(&self, key: &str, state: PersistedGroup) {
        self.lock().groups.insert(key.to_string(), state);
    }

    /// Forgets a group a reload removed, and writes the file without it.
    pub fn forget(&self, key: &str) {
        let mut book = self.lock();
        if book.groups.remove(key).is_some_and(|g| !g.rules.is_empty()) {
            book.wanted += 1;
            drop(book);
            self.wake.notify_one();
        }
    }

    /// Waits until generation `generation` is on disk (or the write failed,
    /// or [`SAVE_WAIT`] passed).
    pub async fn wait_saved(&self, generation: u64) {
        let mut rx = self.saved.subscribe();
        let _ = tokio::time::timeout(SAVE_WAIT, rx.wait_for(|&g| g >= generation)).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        // A panic while holding the lock leaves plain data behind; go on.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn write_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopping = tokio::select! {
                _ = self.wake.notified() => false,
                _ = heartbeat.tick() => {
                    let book = self.lock();
                    if book.groups.values().all(|g| g.rules.is_empty()) {
                        continue;
                    }
                    false
                }
                _ = stop.wait_for(|s| *s) => true,
            };
            let (generation, snapshot) = {
                let book = self.lock();
                (
                    book.wanted,
                    PersistedState {
                        groups: book.groups.values().cloned().collect(),
                    },
                )
            };
            self.write(snapshot).await;
            self.saved.send_replace(generation);
            if stopping {
                return;
            }
        }
    }

    async fn write(&self, snapshot: PersistedState) {
        let path = self.path.clone();
        let result = tokio::task::spawn_blocking(move || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            state::save(&path, &snapshot).map_err(|e| e.to_string())
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "writing the alert state file failed"),
            Err(e) => tracing::error!(error = %e, "writing the alert state file panicked"),
        }
    }
}

/// Whether two exports hold the same alerts in the same states (values and
/// evaluation times aside, which change at every evaluation).
fn same_alerts(a: &PersistedGroup, b: &PersistedGroup) -> bool {
    a.rules.len() == b.rules.len()
        && a.rules.iter().zip(&b.rules).all(|(x, y)| {
            x.name == y.name
                && x.definition == y.definition
                && x.alerts.len() == y.alerts.len()
                && x.alerts.iter().zip(&y.alerts).all(|(p, q)| {
                    p.labels == q.labels
                        && p.state == q.state
                        && p.active_at_ms == q.active_at_ms
                        && p.fired_at_ms == q.fired_at_ms
                        && p.resolved_at_ms == q.resolved_at_ms
                        && p.last_sent_at_ms == q.last_sent_at_ms
                        && p.keep_firing_since_ms == q.keep_firing_since_ms
                        && p.annotations == q.annotations
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_rules::state::{PersistedAlert, PersistedAlertState, PersistedRule};

    fn group(state: PersistedAlertState, value: f64, eval: i64) -> PersistedGroup {
        PersistedGroup {
            file: "f.yml".into(),
            name: "g".into(),
            last_evaluation_ms: Some(eval),
            rules: vec![PersistedRule {
                name: "A".into(),
                definition: "00".into(),
                alerts: vec![PersistedAlert {
                    labels: [("alertname".to_string(), "A".to_string())].into(),
                    annotations: BTreeMap::new(),
                    state,
                    value,
                    active_at_ms: 1000,
                    fired_at_ms: None,
                    resolved_at_ms: None,
                    last_sent_at_ms: None,
                    valid_until_ms: None,
                    keep_firing_since_ms: None,
                }],
            }],
        }
    }

    #[tokio::test]
    async fn changes_are_written_and_awaited_values_alone_are_not_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(dir.path());
        let (stop_tx, stop_rx) = watch::channel(false);
        let (book, task) = StateBook::start(path.clone(), stop_rx);
        let generation = book
            .record("f.yml;g", group(PersistedAlertState::Pending, 1.0, 10))
            .expect("a new alert is a change");
        book.wait_saved(generation).await;
        let on_disk = load(&path);
        assert_eq!(on_disk.groups.len(), 1);
        assert_eq!(
            on_disk.groups[0].rules[0].alerts[0].state,
            PersistedAlertState::Pending
        );
        assert!(
            book.record("f.yml;g", group(PersistedAlertState::Pending, 2.0, 20))
                .is_none()
        );
        let generation = book
            .record("f.yml;g", group(PersistedAlertState::Firing, 2.0, 30))
            .expect("a state change is a change");
        book.wait_saved(generation).await;
        assert_eq!(
            load(&path).groups[0].rules[0].alerts[0].state,
            PersistedAlertState::Firing
        );
        book.forget("f.yml;g");
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        assert!(load(&path).groups.is_empty());
    }

    #[test]
    fn a_damaged_file_is_moved_aside_and_warden_starts_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{\"version\":1,\"groups\":[{").unwrap();
        assert!(load(&path).groups.is_empty());
        assert!(!path.exists());
        assert!(path.with_extension("json.corrupt").exists());
    }
}
