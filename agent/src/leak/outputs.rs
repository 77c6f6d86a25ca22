//! The series the live detector writes, and the bookkeeping that gives an
//! output a staleness marker when it stops being written, so that a query
//! does not see its last value for another five minutes.

use warden_tsdb::labels::METRIC_NAME;
use warden_tsdb::{Appender, Labels, MetricMetadata, MetricType, STALE_NAN};

/// `warden_memory_leak_suspected`: 1 while a leak is reported (after
/// hysteresis), else 0.
pub const SUSPECTED: &str = "warden_memory_leak_suspected";
/// `warden_memory_growth_bytes_per_second`: growth of the post-GC floor.
pub const GROWTH: &str = "warden_memory_growth_bytes_per_second";
/// `warden_memory_time_to_limit_seconds`: until the highest peaks reach the limit.
pub const TIME_TO_LIMIT: &str = "warden_memory_time_to_limit_seconds";
/// `warden_memory_limit_bytes`: the limit the series was judged against.
pub const LIMIT: &str = "warden_memory_limit_bytes";
/// `warden_filesystem_time_to_full_seconds`.
pub const TIME_TO_FULL: &str = "warden_filesystem_time_to_full_seconds";

/// The memory outputs, in the order of [`Outputs::values`].
pub const MEMORY: [&str; 4] = [SUSPECTED, GROWTH, TIME_TO_LIMIT, LIMIT];
/// The filesystem output.
pub const FILESYSTEM: [&str; 1] = [TIME_TO_FULL];

/// Help text of every output family.
pub fn metadata(app: &mut dyn Appender) {
    let families = [
        (
            SUSPECTED,
            "1 while a memory leak is suspected (growth reaching the limit within the horizon, sustained), else 0.",
        ),
        (
            GROWTH,
            "Growth rate of the memory floor (after garbage collection), bytes per second; absent when the data is insufficient.",
        ),
        (
            TIME_TO_LIMIT,
            "Seconds until the highest memory peaks reach the limit at the current growth; absent when not growing.",
        ),
        (
            LIMIT,
            "The memory limit the series is judged against, bytes; absent when none is known.",
        ),
        (
            TIME_TO_FULL,
            "Seconds until the filesystem is full at its current sustained growth; absent when not growing.",
        ),
    ];
    for (name, help) in families {
        gauge(app, name, help);
    }
}

/// Records `name` as a gauge with `help`.
pub fn gauge(app: &mut dyn Appender, name: &str, help: &str) {
    app.set_metadata(
        name,
        MetricMetadata {
            kind: MetricType::Gauge,
            help: help.to_string(),
            unit: String::new(),
        },
    );
}

/// The output series of one tracked input and which of them hold a value.
#[derive(Debug, Clone)]
pub struct Outputs<const N: usize> {
    labels: [Labels; N],
    written: [bool; N],
}

impl<const N: usize> Outputs<N> {
    /// The outputs `names` labelled `labels`.
    pub fn new(names: [&str; N], labels: &Labels) -> Outputs<N> {
        Outputs {
            labels: names.map(|n| {
                let mut b = labels.to_builder();
                b.set(METRIC_NAME, n);
                b.build().unwrap_or_default()
            }),
            written: [false; N],
        }
    }

    /// Writes the values that are known and a staleness marker for each
    /// output that had a value and now has none.
    pub fn values(&mut self, app: &mut dyn Appender, now_ms: i64, values: [Option<f64>; N]) {
        for ((labels, written), v) in self.labels.iter().zip(&mut self.written).zip(values) {
            match v {
                Some(v) => {
                    // A refused sample (out of order after a clock step) is
                    // counted by the store; the next evaluation writes again.
                    let _ = app.append(labels, now_ms, v);
                    *written = true;
                }
                None if *written => {
                    let _ = app.append(labels, now_ms, STALE_NAN);
                    *written = false;
                }
                None => {}
            }
        }
    }

    /// Marks every output stale (the input is no longer tracked).
    pub fn stale(&mut self, app: &mut dyn Appender, now_ms: i64) {
        self.values(app, now_ms, [None; N]);
    }
}
