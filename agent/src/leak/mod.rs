//! Live leak and growth-trend detection: every `evaluation_interval`, each
//! tracked memory series (every process group, warden itself, the
//! configured selectors) and each filesystem is read from the store over
//! the detector's window and judged by `warden_rules::trend`; the verdicts
//! are written back as series that rules and dashboards use:
//!
//! | series | labels | value |
//! | --- | --- | --- |
//! | `warden_memory_leak_suspected` | `groupname` (or the selected series' labels) | 1 / 0 |
//! | `warden_memory_growth_bytes_per_second` | same | floor growth; absent: insufficient data |
//! | `warden_memory_time_to_limit_seconds` | same | absent unless growing toward a known limit |
//! | `warden_memory_limit_bytes` | same | the limit used; absent when none is known |
//! | `warden_filesystem_time_to_full_seconds` | `device`, `fstype`, `mountpoint` | absent unless filling |
//!
//! "Insufficient data" never becomes a verdict: `suspected` stays 0 (no
//! leak is reported) and the estimates are absent. An output that stops
//! being written, or a series that stops being tracked, gets a staleness
//! marker.
//!
//! The task runs as a collector on the scheduler (one timestamp and one
//! commit per evaluation, never overlapping itself), so
//! `warden_collector_duration_seconds{collector="leak_detection"}` and
//! friends apply; it adds `warden_leak_detection_*` about its own work.
//! The detector keeps no samples and is not incremental, so the work per
//! evaluation is bounded by reading one window per tracked series, one
//! series at a time, and by `max_series`.

mod outputs;
mod sources;
mod tuning;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use warden_exporters::{Appender, CollectError, Collector};
use warden_rules::trend::{FilesystemDetector, LeakDetector, Verdict};
use warden_tsdb::labels::METRIC_NAME;
use warden_tsdb::{Labels, LabelsBuilder, Querier, Sample};

use crate::config::LeakDetectionConfig;
use crate::scheduler::Scheduled;
use outputs::Outputs;
use sources::{Found, Sources, drop_absent, read_window};
use tuning::Tuning;

/// The task's name among the collectors.
pub const NAME: &str = "leak_detection";

/// The live task for `cfg`, scheduled on its interval; `None` when disabled.
pub fn scheduled(cfg: &LeakDetectionConfig, querier: Arc<dyn Querier>) -> Option<Scheduled> {
    if !cfg.enabled {
        return None;
    }
    let task = LeakTask::new(cfg, querier);
    Some(Scheduled {
        interval: task.tuning.interval,
        collector: Box::new(task),
    })
}

/// One tracked memory series.
struct TrackedMemory {
    detector: LeakDetector,
    outputs: Outputs<4>,
}

/// One tracked filesystem.
struct TrackedFilesystem {
    detector: FilesystemDetector,
    outputs: Outputs<1>,
}

/// The live detector: its sources, tuning and per-series state.
pub struct LeakTask {
    querier: Arc<dyn Querier>,
    sources: Sources,
    tuning: Tuning,
    memory: HashMap<Labels, TrackedMemory>,
    filesystems: HashMap<Labels, TrackedFilesystem>,
}

/// What one evaluation did, for `warden_leak_detection_*`.
#[derive(Debug, Default)]
struct Work {
    samples_read: usize,
}

impl LeakTask {
    /// A task with no history.
    pub fn new(cfg: &LeakDetectionConfig, querier: Arc<dyn Querier>) -> LeakTask {
        LeakTask {
            querier,
            sources: Sources::new(cfg),
            tuning: Tuning::new(cfg),
            memory: HashMap::new(),
            filesystems: HashMap::new(),
        }
    }

    fn window_ms(d: std::time::Duration) -> i64 {
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    }

    /// One series' window; a failed read is reported and the series
    /// skipped this time (its outputs keep their last values).
    fn read(
        &self,
        input: &Labels,
        from_ms: i64,
        now_ms: i64,
        work: &mut Work,
        errors: &mut Vec<CollectError>,
    ) -> Option<Vec<Sample>> {
        match read_window(&*self.querier, input, from_ms, now_ms) {
            Ok(s) => {
                work.samples_read += s.len();
                Some(s)
            }
            Err(e) => {
                errors.push(CollectError::Other(format!("reading {input}: {e}")));
                None
            }
        }
    }

    fn evaluate_memory(
        &mut self,
        found: &Found,
        app: &mut dyn Appender,
        now_ms: i64,
        work: &mut Work,
        errors: &mut Vec<CollectError>,
    ) {
        let from = now_ms.saturating_sub(Self::window_ms(self.tuning.memory.window));
        let mut seen: HashSet<&Labels> = HashSet::with_capacity(found.memory.len());
        for src in &found.memory {
            seen.insert(&src.output);
            let Some(mut samples) = self.read(&src.input, from, now_ms, work, errors) else {
                continue;
            };
            drop_absent(&mut samples, src.zero_is_absent);
            let config = &self.tuning.memory;
            let t = self
                .memory
                .entry(src.output.clone())
                .or_insert_with(|| TrackedMemory {
                    detector: LeakDetector::new(config.clone()),
                    outputs: Outputs::new(outputs::MEMORY, &src.output),
                });
            let limit = src.limit.filter(|l| l.is_finite() && *l > 0.0);
            let v = t
                .detector
                .evaluate(&samples, limit.unwrap_or(f64::NAN), now_ms);
            t.outputs.values(app, now_ms, memory_values(&v, limit));
        }
        retire(&mut self.memory, &seen, |t| t.outputs.stale(app, now_ms));
    }

    fn evaluate_filesystems(
        &mut self,
        found: &Found,
        app: &mut dyn Appender,
        now_ms: i64,
        work: &mut Work,
        errors: &mut Vec<CollectError>,
    ) {
        let from = now_ms.saturating_sub(Self::window_ms(self.tuning.filesystem.window));
        let mut seen: HashSet<&Labels> = HashSet::with_capacity(found.filesystems.len());
        for src in &found.filesystems {
            seen.insert(&src.output);
            let Some(samples) = self.read(&src.input, from, now_ms, work, errors) else {
                continue;
            };
            let config = &self.tuning.filesystem;
            let t = self
                .filesystems
                .entry(src.output.clone())
                .or_insert_with(|| TrackedFilesystem {
                    detector: FilesystemDetector::with_config(config.clone()),
                    outputs: Outputs::new(outputs::FILESYSTEM, &src.output),
                });
            let v = t
                .detector
                .evaluate(&samples, src.size.unwrap_or(f64::NAN), now_ms);
            t.outputs.values(app, now_ms, [v.time_to_limit_seconds]);
        }
        retire(&mut self.filesystems, &seen, |t| {
            t.outputs.stale(app, now_ms)
        });
    }
}

/// Forgets the tracked series not `seen` this time, after `stale` has
/// marked their outputs.
fn retire<T>(
    tracked: &mut HashMap<Labels, T>,
    seen: &HashSet<&Labels>,
    mut stale: impl FnMut(&mut T),
) {
    tracked.retain(|k, t| {
        let keep = seen.contains(k);
        if !keep {
            stale(t);
        }
        keep
    });
}

/// The four memory outputs of a verdict: `suspected` always (0 unless a
/// leak is reported), the estimates when the detector has them, the limit
/// when known.
fn memory_values(v: &Verdict, limit: Option<f64>) -> [Option<f64>; 4] {
    [
        Some(if v.suspected { 1.0 } else { 0.0 }),
        v.growth_bytes_per_second.filter(|g| g.is_finite()),
        v.time_to_limit_seconds.filter(|t| t.is_finite()),
        limit,
    ]
}

impl Collector for LeakTask {
    fn name(&self) -> &str {
        NAME
    }

    fn collect(&mut self, now_ms: i64, app: &mut dyn Appender) -> Vec<CollectError> {
        let start = Instant::now();
        let mut errors = Vec::new();
        let from = now_ms.saturating_sub(Self::window_ms(self.tuning.lookback));
        let found = match self.sources.discover(&*self.querier, from, now_ms) {
            Ok(f) => f,
            Err(e) => {
                // Nothing is known this time: keep every output as it was
                // rather than marking healthy series stale.
                return vec![CollectError::Other(format!(
                    "finding the tracked series: {e}"
                ))];
            }
        };
        outputs::metadata(app);
        let mut work = Work::default();
        self.evaluate_memory(&found, app, now_ms, &mut work, &mut errors);
        self.evaluate_filesystems(&found, app, now_ms, &mut work, &mut errors);
        let own = [
            (
                "warden_leak_detection_tracked_series",
                "Series the leak detector evaluates, by kind.",
                vec![
                    (Some(("kind", "memory")), self.memory.len() as f64),
                    (Some(("kind", "filesystem")), self.filesystems.len() as f64),
                ],
            ),
            (
                "warden_leak_detection_untracked_series",
                "Series the leak detector leaves out: over max_series, or with the output labels of an earlier one.",
                vec![
                    (Some(("reason", "max_series")), found.over_limit as f64),
                    (Some(("reason", "duplicate")), found.duplicates as f64),
                ],
            ),
            (
                "warden_leak_detection_samples_read",
                "Samples read from the store by the last evaluation.",
                vec![(None, work.samples_read as f64)],
            ),
            (
                "warden_leak_detection_evaluation_seconds",
                "Duration of the last evaluation of every tracked series.",
                vec![(None, start.elapsed().as_secs_f64())],
            ),
        ];
        for (name, help, samples) in own {
            outputs::gauge(app, name, help);
            for (label, v) in samples {
                let mut b = LabelsBuilder::new();
                b.push(METRIC_NAME, name);
                if let Some((label, value)) = label {
                    b.push(label, value);
                }
                if let Ok(l) = b.build() {
                    let _ = app.append(&l, now_ms, v);
                }
            }
        }
        errors
    }
}

#[cfg(test)]
mod bench;
#[cfg(test)]
mod tests;
