//! The console sink: alerts that fire or resolve are logged through
//! `tracing`, so `warden run` with no notification setup still tells its
//! operator (and `journalctl`) what is wrong.
//!
//! Rule groups hand alerts over without waiting ([`AlertSink::send`] must
//! not block): they go into a bounded queue, and a full queue drops them
//! and counts them in `warden_console_alerts_dropped_total`. One task logs
//! them. The same firing alert is handed over again at every resend (see
//! `--rules.alert.resend-delay`); the task remembers which alerts it has
//! logged as firing, so a resend is logged at debug level only and an
//! operator reading the log sees one "firing" and one "resolved" line per
//! alert.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use warden_rules::alerting::{AlertSink, OutgoingAlert};
use warden_tsdb::Labels;

use crate::selfmetrics::SelfMetrics;

/// Batches (one per group evaluation) waiting to be logged.
const QUEUE: usize = 1024;

/// Firing alerts remembered for telling a resend from a new alert; beyond
/// this every send of an unremembered alert is logged as new.
const REMEMBERED: usize = 10_000;

/// The sink rule groups send to.
pub struct ConsoleSink {
    tx: std::sync::Mutex<Option<mpsc::Sender<Batch>>>,
    metrics: Arc<SelfMetrics>,
}

struct Batch {
    group: String,
    alerts: Vec<OutgoingAlert>,
    now_ms: i64,
}

impl ConsoleSink {
    /// The sink and the task that logs; the task ends once every sender is
    /// dropped and the queue is drained.
    pub fn start(metrics: Arc<SelfMetrics>) -> (Arc<ConsoleSink>, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(log_loop(rx));
        let sink = ConsoleSink {
            tx: std::sync::Mutex::new(Some(tx)),
            metrics,
        };
        (Arc::new(sink), task)
    }

    /// Stops taking alerts; the task logs what is queued and ends.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl AlertSink for ConsoleSink {
    fn send(&self, group: &str, alerts: Vec<OutgoingAlert>) {
        if alerts.is_empty() {
            return;
        }
        let n = alerts.len() as u64;
        let batch = Batch {
            group: group.to_string(),
            alerts,
            now_ms: crate::scheduler::now_ms(),
        };
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let sent = tx.as_ref().is_some_and(|tx| tx.try_send(batch).is_ok());
        if !sent {
            self.metrics.rules.console_dropped(n);
        }
    }
}

async fn log_loop(mut rx: mpsc::Receiver<Batch>) {
    let mut firing: HashMap<Labels, i64> = HashMap::new();
    while let Some(batch) = rx.recv().await {
        for alert in &batch.alerts {
            log_alert(&mut firing, &batch.group, alert, batch.now_ms);
        }
    }
}

fn log_alert(firing: &mut HashMap<Labels, i64>, group: &str, a: &OutgoingAlert, now_ms: i64) {
    let name = a.labels.get("alertname").unwrap_or("");
    let labels = a.labels.to_string();
    let annotations = a.annotations.to_string();
    let starts_at = rfc3339(a.starts_at_ms);
    match a.ends_at_ms {
        Some(end) if end <= now_ms => {
            firing.remove(&a.labels);
            tracing::info!(
                rule_group = group,
                alertname = name,
                labels = %labels,
                starts_at = %starts_at,
                ends_at = %rfc3339(end),
                "alert resolved"
            );
        }
        _ => {
            if firing.get(&a.labels) == Some(&a.starts_at_ms) {
                tracing::debug!(rule_group = group, alertname = name, labels = %labels, starts_at = %starts_at, "alert still firing");
                return;
            }
            if firing.len() < REMEMBERED || firing.contains_key(&a.labels) {
                firing.insert(a.labels.clone(), a.starts_at_ms);
            }
            tracing::warn!(
                rule_group = group,
                alertname = name,
                labels = %labels,
                annotations = %annotations,
                starts_at = %starts_at,
                generator_url = %a.generator_url,
                "alert firing"
            );
        }
    }
}

fn rfc3339(ms: i64) -> String {
    crate::api::go_time(Some(ms))
}
