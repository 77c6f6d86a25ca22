//! Runs each collector on its own interval.
//!
//! Reading `/proc` and `/sys` blocks, so every cycle runs on tokio's blocking
//! pool. A collector never overlaps itself: a tick that arrives while its
//! previous cycle is still running is skipped and counted in
//! `warden_collector_skipped_cycles_total`. Each cycle stamps all its samples
//! with one timestamp and ends in exactly one commit. Errors are counted in
//! `warden_collector_errors_total{collector}` and logged at debug; they never
//! stop the collector or the others.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use warden_exporters::{Appender, Collector};

use crate::selfmetrics::SelfMetrics;

/// Something that hands out appenders: the store, or a test double.
pub trait AppenderSource: Send + Sync + 'static {
    /// A fresh appender for one cycle's batch.
    fn appender(&self) -> Box<dyn Appender + '_>;
}

/// One collector and how often it runs.
pub struct Scheduled {
    /// The collector.
    pub collector: Box<dyn Collector>,
    /// Time between the starts of two cycles.
    pub interval: Duration,
}

/// Milliseconds since the Unix epoch; 0 if the clock is before 1970.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Starts one task per collector. They run until `stop` turns true (or its
/// sender is dropped); each then waits for its in-flight cycle to finish, so
/// awaiting the returned handles means every started cycle was committed.
pub fn spawn(
    store: Arc<dyn AppenderSource>,
    collectors: Vec<Scheduled>,
    metrics: Arc<SelfMetrics>,
    stop: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    collectors
        .into_iter()
        .map(|s| {
            metrics.register_collector(s.collector.name());
            tokio::spawn(run_collector(
                Arc::clone(&store),
                s,
                Arc::clone(&metrics),
                stop.clone(),
            ))
        })
        .collect()
}

async fn run_collector(
    store: Arc<dyn AppenderSource>,
    scheduled: Scheduled,
    metrics: Arc<SelfMetrics>,
    mut stop: watch::Receiver<bool>,
) {
    let name: Arc<str> = Arc::from(scheduled.collector.name());
    let mut idle: Option<Box<dyn Collector>> = Some(scheduled.collector);
    let mut inflight: Option<JoinHandle<Box<dyn Collector>>> = None;
    let mut ticker = tokio::time::interval(scheduled.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tracing::debug!(collector = %name, interval = ?scheduled.interval, "collector started");
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = ticker.tick() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
                continue;
            }
        }
        if inflight.as_ref().is_some_and(|h| !h.is_finished()) {
            metrics.collector_skipped(&name);
            tracing::debug!(collector = %name, "previous cycle still running; cycle skipped");
            continue;
        }
        if let Some(h) = inflight.take() {
            match h.await {
                Ok(c) => idle = Some(c),
                Err(e) => {
                    // A panic inside a collector loses that collector; the
                    // others and the rest of warden go on.
                    metrics.collector_errors(&name, 1);
                    tracing::error!(collector = %name, error = %e, "collector panicked; it is stopped");
                    return;
                }
            }
        }
        let Some(collector) = idle.take() else {
            return;
        };
        let store = Arc::clone(&store);
        let metrics_c = Arc::clone(&metrics);
        let name_c = Arc::clone(&name);
        inflight = Some(tokio::task::spawn_blocking(move || {
            cycle(&*store, collector, &metrics_c, &name_c)
        }));
    }
    if let Some(h) = inflight
        && let Err(e) = h.await
    {
        metrics.collector_errors(&name, 1);
        tracing::error!(collector = %name, error = %e, "collector panicked during shutdown");
    }
    tracing::debug!(collector = %name, "collector stopped");
}

/// One collection: collect at one timestamp, commit once, count and log.
fn cycle(
    store: &dyn AppenderSource,
    mut collector: Box<dyn Collector>,
    metrics: &SelfMetrics,
    name: &str,
) -> Box<dyn Collector> {
    let start = Instant::now();
    let t = now_ms();
    let mut app = store.appender();
    let errors = collector.collect(t, &mut *app);
    let mut failed = errors.len() as u64;
    for e in &errors {
        tracing::debug!(collector = name, error = %e, "collection error");
    }
    if let Err(e) = app.commit() {
        failed += 1;
        tracing::warn!(collector = name, error = %e, "commit failed; this cycle's samples are lost");
    }
    drop(app);
    if failed > 0 {
        metrics.collector_errors(name, failed);
    }
    metrics.collector_cycle(name, start.elapsed().as_secs_f64());
    collector
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use warden_exporters::CollectError;
    use warden_tsdb::{AppendError, Labels};

    /// Records committed batches: (labels, t, v) per sample.
    #[derive(Default)]
    struct Recorder {
        commits: Mutex<Vec<Vec<(Labels, i64, f64)>>>,
    }

    struct RecAppender<'a> {
        rec: &'a Recorder,
        batch: Vec<(Labels, i64, f64)>,
    }

    impl Appender for RecAppender<'_> {
        fn append(&mut self, l: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
            self.batch.push((l.clone(), t, v));
            Ok(())
        }
        fn commit(&mut self) -> Result<(), AppendError> {
            let b = std::mem::take(&mut self.batch);
            self.rec.commits.lock().unwrap().push(b);
            Ok(())
        }
    }

    impl AppenderSource for Recorder {
        fn appender(&self) -> Box<dyn Appender + '_> {
            Box::new(RecAppender {
                rec: self,
                batch: Vec::new(),
            })
        }
    }

    /// Writes two samples and one error per cycle; sleeps `delay` first.
    struct Fake {
        delay: Duration,
    }

    impl Collector for Fake {
        fn name(&self) -> &str {
            "fake"
        }
        fn collect(&mut self, now: i64, app: &mut dyn Appender) -> Vec<CollectError> {
            std::thread::sleep(self.delay);
            let a = Labels::from_pairs([("__name__", "a")]).unwrap();
            let b = Labels::from_pairs([("__name__", "b")]).unwrap();
            let _ = app.append(&a, now, 1.0);
            let _ = app.append(&b, now, 2.0);
            vec![CollectError::Other("boom".into())]
        }
    }

    async fn run_for(
        delay: Duration,
        interval: Duration,
        run: Duration,
    ) -> (Arc<Recorder>, Arc<SelfMetrics>) {
        let rec = Arc::new(Recorder::default());
        let metrics = Arc::new(SelfMetrics::new());
        let (tx, rx) = watch::channel(false);
        let handles = spawn(
            Arc::clone(&rec) as Arc<dyn AppenderSource>,
            vec![Scheduled {
                collector: Box::new(Fake { delay }),
                interval,
            }],
            Arc::clone(&metrics),
            rx,
        );
        tokio::time::sleep(run).await;
        tx.send(true).unwrap();
        for h in handles {
            h.await.unwrap();
        }
        (rec, metrics)
    }

    fn value(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} not in\n{text}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_commit_per_cycle_one_timestamp_errors_counted() {
        let (rec, metrics) = run_for(
            Duration::ZERO,
            Duration::from_millis(20),
            Duration::from_millis(200),
        )
        .await;
        let commits = rec.commits.lock().unwrap();
        assert!(commits.len() >= 2, "{} commits", commits.len());
        for batch in commits.iter() {
            assert_eq!(batch.len(), 2);
            assert_eq!(batch[0].1, batch[1].1, "one timestamp per cycle");
        }
        let text = metrics.encode_openmetrics();
        let cycles = value(&text, "warden_collector_cycles_total{collector=\"fake\"}");
        assert_eq!(cycles as usize, commits.len());
        let errors = value(&text, "warden_collector_errors_total{collector=\"fake\"}");
        assert_eq!(errors as usize, commits.len(), "one error per cycle");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_cycles_skip_and_never_overlap_and_finish_on_stop() {
        // Each cycle takes 5 intervals: ticks in between are skipped.
        let (rec, metrics) = run_for(
            Duration::from_millis(100),
            Duration::from_millis(20),
            Duration::from_millis(330),
        )
        .await;
        let commits = rec.commits.lock().unwrap().len();
        let text = metrics.encode_openmetrics();
        let cycles = value(&text, "warden_collector_cycles_total{collector=\"fake\"}");
        let skipped = value(
            &text,
            "warden_collector_skipped_cycles_total{collector=\"fake\"}",
        );
        assert!(skipped >= 1.0, "{text}");
        // The in-flight cycle at stop time was finished and committed.
        assert_eq!(cycles as usize, commits);
        // Never overlapping: at most one cycle per 100 ms of run time.
        assert!(commits <= 4, "{commits} cycles in 330 ms of 100 ms cycles");
    }
}
