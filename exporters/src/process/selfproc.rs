//! warden's own `process_*` metrics, named, typed and computed as the
//! Prometheus client libraries do (client_golang's process collector), so
//! the usual "process" dashboard panels work on warden itself.

use std::path::{Path, PathBuf};

use warden_tsdb::{Appender, MetricType};

use super::pidstat::{MAX_ADDRESS_SPACE, MAX_OPEN_FILES, count_fds, parse_stat, soft_limit};
use crate::collector::{CollectError, Collector};
use crate::host::util::{LabelCache, Sink, fields, lines, parse_error, parse_u64, read_into};

/// Collects `process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_virtual_memory_max_bytes`,
/// `process_open_fds`, `process_max_fds` and `process_start_time_seconds`
/// for the running process.
pub struct SelfProcessCollector {
    stat: PathBuf,
    fd_dir: PathBuf,
    limits: PathBuf,
    proc_stat: PathBuf,
    boot_time: Option<u64>,
    ticks_per_second: f64,
    page_size: f64,
    buf: Vec<u8>,
    cache: LabelCache,
}

impl Default for SelfProcessCollector {
    fn default() -> Self {
        SelfProcessCollector::new(Path::new("/proc"))
    }
}

impl SelfProcessCollector {
    /// A collector reading `<proc_path>/self/…`.
    pub fn new(proc_path: &Path) -> SelfProcessCollector {
        let me = proc_path.join("self");
        SelfProcessCollector {
            stat: me.join("stat"),
            fd_dir: me.join("fd"),
            limits: me.join("limits"),
            proc_stat: proc_path.join("stat"),
            boot_time: None,
            ticks_per_second: rustix::param::clock_ticks_per_second().max(1) as f64,
            page_size: rustix::param::page_size() as f64,
            buf: Vec::with_capacity(4096),
            cache: LabelCache::default(),
        }
    }
}

/// `btime` from the content of `/proc/stat`.
pub(crate) fn boot_time(proc_stat: &[u8]) -> Option<u64> {
    lines(proc_stat).find_map(|l| {
        let mut f = fields(l);
        (f.next()? == b"btime").then(|| f.next().and_then(parse_u64))?
    })
}

impl Collector for SelfProcessCollector {
    fn name(&self) -> &str {
        "self_process"
    }

    fn collect(&mut self, now_ms: i64, app: &mut dyn Appender) -> Vec<CollectError> {
        let mut errors = Vec::new();
        let mut sink = Sink::new(app, now_ms, &mut self.cache);
        use MetricType::{Counter, Gauge};

        if self.boot_time.is_none() {
            match read_into(&self.proc_stat, &mut self.buf) {
                Ok(()) => match boot_time(&self.buf) {
                    Some(b) => self.boot_time = Some(b),
                    None => errors.push(parse_error(&self.proc_stat, "no btime line")),
                },
                Err(e) => errors.push(e),
            }
        }
        match read_into(&self.stat, &mut self.buf) {
            Ok(()) => match parse_stat(&self.buf) {
                Some((_, s)) => {
                    let hz = self.ticks_per_second;
                    sink.single(
                        "process_cpu_seconds_total",
                        Counter,
                        "Total user and system CPU time spent in seconds.",
                        (s.utime + s.stime) as f64 / hz,
                    );
                    sink.single(
                        "process_virtual_memory_bytes",
                        Gauge,
                        "Virtual memory size in bytes.",
                        s.vsize as f64,
                    );
                    sink.single(
                        "process_resident_memory_bytes",
                        Gauge,
                        "Resident memory size in bytes.",
                        s.rss as f64 * self.page_size,
                    );
                    if let Some(boot) = self.boot_time {
                        sink.single(
                            "process_start_time_seconds",
                            Gauge,
                            "Start time of the process since unix epoch in seconds.",
                            s.starttime as f64 / hz + boot as f64,
                        );
                    }
                }
                None => errors.push(parse_error(&self.stat, "unexpected format")),
            },
            Err(e) => errors.push(e),
        }
        match count_fds(&self.fd_dir) {
            Ok(n) => sink.single(
                "process_open_fds",
                Gauge,
                "Number of open file descriptors.",
                n as f64,
            ),
            Err(source) => errors.push(CollectError::Io {
                path: self.fd_dir.display().to_string(),
                source,
            }),
        }
        match read_into(&self.limits, &mut self.buf) {
            Ok(()) => {
                // "unlimited" reads as the largest u64, as in the Go client.
                if let Some(v) = soft_limit(&self.buf, MAX_OPEN_FILES) {
                    sink.single(
                        "process_max_fds",
                        Gauge,
                        "Maximum number of open file descriptors.",
                        v as f64,
                    );
                }
                if let Some(v) = soft_limit(&self.buf, MAX_ADDRESS_SPACE) {
                    sink.single(
                        "process_virtual_memory_max_bytes",
                        Gauge,
                        "Maximum amount of virtual memory available in bytes.",
                        v as f64,
                    );
                }
            }
            Err(e) => errors.push(e),
        }
        self.cache.sweep();
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn own_metrics() {
        let mut c = SelfProcessCollector::default();
        let mut app = MemAppender::default();
        let errors = c.collect(1, &mut app);
        assert!(errors.is_empty(), "{errors:?}");
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_virtual_memory_bytes",
            "process_virtual_memory_max_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            assert!(app.value(name).is_some(), "{name}");
        }
        assert!(app.value("process_resident_memory_bytes").unwrap() > 1e6);
        assert!(app.value("process_start_time_seconds").unwrap() > 1.7e9);
        assert!(app.value("process_open_fds").unwrap() >= 3.0);
        assert_eq!(
            app.metadata["process_cpu_seconds_total"].kind,
            MetricType::Counter
        );
    }
}
