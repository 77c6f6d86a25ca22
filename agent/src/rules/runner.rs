//! One task per rule group: evaluate on the group's aligned schedule, write
//! through the store, persist, publish, notify, count.
//!
//! An evaluation runs on the blocking pool (PromQL is CPU work over the
//! store's locks) and the task awaits it, so a group never overlaps itself.
//! When an evaluation outlasts the interval the ticks it overran are not
//! caught up: the next evaluation is the next tick after it ended, and the
//! overrun ticks are counted in `warden_rule_group_iterations_missed_total`,
//! as Prometheus does.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_rules::alerting::AlertSink;
use warden_rules::group::{EvalReport, Group, GroupOptions, GroupStatus};
use warden_rules::query::QueryFn;
use warden_rules::rulefmt::RuleGroup;
use warden_rules::state::PersistedGroup;

use super::metrics::Iteration;
use super::persist::StateBook;
use crate::scheduler::{AppenderSource, now_ms};
use crate::selfmetrics::SelfMetrics;

/// What every group task uses.
pub struct Shared {
    /// Runs the rules' queries (the engine over the local store).
    pub query: Arc<dyn QueryFn>,
    /// Where rule output, `ALERTS` and staleness markers are written.
    pub store: Arc<dyn AppenderSource>,
    /// Where alerts go.
    pub sink: Arc<dyn AlertSink>,
    /// `warden_rule_*`.
    pub metrics: Arc<SelfMetrics>,
    /// The alert state file.
    pub book: Arc<StateBook>,
}

/// A group's latest status, replaced after every evaluation; readers (the
/// API) clone the `Arc` and never wait for an evaluation.
pub type StatusCell = Arc<RwLock<Arc<GroupStatus>>>;

/// A group with its running task.
pub struct RunningGroup {
    /// `<file>;<name>`, as the `rule_group` label spells it.
    pub key: String,
    /// The definition it was built from, to tell an unchanged group on reload.
    pub def: RuleGroup,
    /// The options it was built with.
    pub opts: GroupOptions,
    /// The group; locked by its evaluation, and by a reload once stopped.
    pub group: Arc<Mutex<Group>>,
    /// Its latest status.
    pub status: StatusCell,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Locks a group; a panic in an earlier evaluation does not make it unusable.
pub fn lock(group: &Mutex<Group>) -> MutexGuard<'_, Group> {
    group.lock().unwrap_or_else(|p| p.into_inner())
}

impl RunningGroup {
    /// Starts `group`'s task.
    pub fn spawn(
        shared: Arc<Shared>,
        key: String,
        def: RuleGroup,
        opts: GroupOptions,
        group: Group,
    ) -> RunningGroup {
        let rules = def.rules.len();
        shared
            .metrics
            .rules
            .group_started(&key, rules, group.interval_ms() as f64 / 1000.0);
        let status: StatusCell = Arc::new(RwLock::new(Arc::new(group.status())));
        let group = Arc::new(Mutex::new(group));
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(
            shared,
            key.clone(),
            rules as u64,
            Arc::clone(&group),
            Arc::clone(&status),
            stop_rx,
        ));
        RunningGroup {
            key,
            def,
            opts,
            group,
            status,
            stop,
            task,
        }
    }

    /// Stops the task once its in-flight evaluation (if any) is done, and
    /// hands back the group.
    pub async fn stop(self) -> (String, Arc<Mutex<Group>>) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(rule_group = %self.key, error = %e, "rule group task failed");
        }
        (self.key, self.group)
    }
}

/// What one evaluation hands back from the blocking pool.
struct Evaluated {
    report: EvalReport,
    status: Arc<GroupStatus>,
    state: PersistedGroup,
}

async fn run(
    shared: Arc<Shared>,
    key: String,
    rules: u64,
    group: Arc<Mutex<Group>>,
    status: StatusCell,
    mut stop: watch::Receiver<bool>,
) {
    let (interval_ms, mut ts) = {
        let g = lock(&group);
        (g.interval_ms().max(1), g.next_evaluation_ms(now_ms()))
    };
    tracing::debug!(rule_group = %key, interval_ms, "rule group started");
    loop {
        let wait = ts.saturating_sub(now_ms());
        if wait > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        } else if *stop.borrow() {
            break;
        }
        let evaluated = {
            let shared = Arc::clone(&shared);
            let group = Arc::clone(&group);
            tokio::task::spawn_blocking(move || evaluate(&shared, &group, ts)).await
        };
        match evaluated {
            Ok(e) => finish(&shared, &key, rules, &status, ts, e).await,
            Err(e) => {
                tracing::error!(rule_group = %key, error = %e, "rule group evaluation panicked");
            }
        }
        let next = ts.saturating_add(interval_ms);
        let now = now_ms();
        ts = if now < next {
            next
        } else {
            let after = lock(&group).next_evaluation_ms(now);
            let missed = (after - next) / interval_ms;
            if missed > 0 {
                shared.metrics.rules.missed(&key, missed as u64);
                tracing::warn!(rule_group = %key, missed, "rule group evaluation took longer than its interval; iterations skipped");
            }
            after
        };
    }
    tracing::debug!(rule_group = %key, "rule group stopped");
}

fn evaluate(shared: &Shared, group: &Mutex<Group>, ts: i64) -> Evaluated {
    let mut g = lock(group);
    let mut app = shared.store.appender();
    let report = g.evaluate(ts, &*shared.query, &mut *app);
    drop(app);
    Evaluated {
        report,
        status: Arc::new(g.status()),
        state: g.export_state(),
    }
}

/// After an evaluation: persist (and wait for it when the alerts changed),
/// then publish the status, send the alerts, count.
async fn finish(shared: &Shared, key: &str, rules: u64, cell: &StatusCell, ts: i64, e: Evaluated) {
    if let Some(generation) = shared.book.record(key, e.state) {
        shared.book.wait_saved(generation).await;
    }
    *cell.write().unwrap_or_else(|p| p.into_inner()) = e.status;
    let report = e.report;
    if !report.to_send.is_empty() {
        shared.sink.send(key, report.to_send);
    }
    shared.metrics.rules.iteration(
        key,
        Iteration {
            timestamp_ms: ts,
            duration_seconds: report.duration.as_secs_f64(),
            samples: report.samples,
            rules,
            failed_rules: report.failed_rules,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use warden_rules::promql::{PromqlError, QueryOutput, Value};
    use warden_rules::rulefmt::{LoadOptions, parse};
    use warden_tsdb::{Db, DbOptions};

    use crate::rules::console::ConsoleSink;

    /// A query that takes `delay` and records how many run at once.
    struct Slow {
        delay: Duration,
        running: AtomicUsize,
        most: AtomicUsize,
        calls: AtomicUsize,
    }

    impl QueryFn for Slow {
        fn instant(&self, _: &str, _: i64) -> Result<QueryOutput, PromqlError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            self.calls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(self.delay);
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(QueryOutput {
                value: Value::Vector(Vec::new()),
                annotations: Default::default(),
            })
        }
    }

    fn metric(text: &str, name: &str) -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{name} not in\n{text}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_group_never_overlaps_and_counts_missed_iterations() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), DbOptions::default()).unwrap());
        let metrics = Arc::new(SelfMetrics::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        let (book, book_task) = StateBook::start(dir.path().join("alerts.json"), stop_rx);
        let (sink, _console) = ConsoleSink::start(Arc::clone(&metrics));
        let slow = Arc::new(Slow {
            delay: Duration::from_millis(250),
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
        });
        let shared = Arc::new(Shared {
            query: Arc::clone(&slow) as _,
            store: Arc::clone(&db) as _,
            sink: sink as _,
            metrics: Arc::clone(&metrics),
            book,
        });
        let file = parse(
            "slow.yml",
            "groups:\n  - name: slow\n    interval: 100ms\n    rules:\n      - record: r\n        expr: vector(1)\n",
            LoadOptions::default(),
        )
        .unwrap();
        let def = file.groups[0].clone();
        let opts = GroupOptions::default();
        let group = Group::new("slow.yml", &def, &opts);
        let running = RunningGroup::spawn(shared, "slow.yml;slow".into(), def, opts, group);
        // Until at least three evaluations have run.
        while slow.calls.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        running.stop().await;
        stop_tx.send(true).unwrap();
        book_task.await.unwrap();

        assert_eq!(
            slow.most.load(Ordering::SeqCst),
            1,
            "evaluations overlapped"
        );
        let text = metrics.encode_openmetrics();
        let label = "{rule_group=\"slow.yml;slow\"}";
        let evaluations = metric(&text, &format!("warden_rule_evaluations_total{label}"));
        let missed = metric(
            &text,
            &format!("warden_rule_group_iterations_missed_total{label}"),
        );
        let iterations = metric(&text, &format!("warden_rule_group_iterations_total{label}"));
        assert_eq!(evaluations as usize, slow.calls.load(Ordering::SeqCst));
        assert!(missed >= 1.0, "{text}");
        assert_eq!(
            iterations,
            evaluations + missed,
            "missed ticks are scheduled iterations"
        );
    }
}
