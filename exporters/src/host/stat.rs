//! The stat family group from `/proc/stat` (read directly, one pass shared
//! with the cpu families): `node_boot_time_seconds`, `node_context_switches_total`,
//! `node_forks_total`, `node_intr_total`, `node_procs_running`, `node_procs_blocked`.

use std::path::Path;

use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, parse_f64};
use crate::collector::CollectError;

/// (key in /proc/stat, metric, type, help)
const FIELDS: [(&[u8], &str, MetricType, &str); 6] = [
    (
        b"intr",
        "node_intr_total",
        MetricType::Counter,
        "Total number of interrupts serviced.",
    ),
    (
        b"ctxt",
        "node_context_switches_total",
        MetricType::Counter,
        "Total number of context switches.",
    ),
    (
        b"btime",
        "node_boot_time_seconds",
        MetricType::Gauge,
        "Node boot time, in unixtime.",
    ),
    (
        b"processes",
        "node_forks_total",
        MetricType::Counter,
        "Total number of forks.",
    ),
    (
        b"procs_running",
        "node_procs_running",
        MetricType::Gauge,
        "Number of processes in runnable state.",
    ),
    (
        b"procs_blocked",
        "node_procs_blocked",
        MetricType::Gauge,
        "Number of processes blocked waiting for I/O to complete.",
    ),
];

/// Writes the stat families from the content of `/proc/stat`.
pub(crate) fn collect(
    content: &[u8],
    path: &Path,
    sink: &mut Sink<'_>,
) -> Result<(), CollectError> {
    for line in lines(content) {
        let mut f = fields(line);
        let Some(key) = f.next() else { continue };
        let Some((_, name, kind, help)) = FIELDS.iter().find(|(k, ..)| *k == key) else {
            continue;
        };
        // For intr, the first number is the total; the rest are per-IRQ.
        let v = f
            .next()
            .and_then(parse_f64)
            .ok_or_else(|| parse_error(path, format!("bad value on the {name} line")))?;
        sink.single(name, *kind, help, v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn every_field() {
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        let content = b"cpu  1 2 3 4\nintr 435493 0 0 7\nctxt 1008873\nbtime 1795374724\n\
processes 13378\nprocs_running 2\nprocs_blocked 1\nsoftirq 5 1 1\n";
        collect(content, Path::new("stat"), &mut sink).unwrap();
        assert_eq!(app.value("node_intr_total"), Some(435493.0));
        assert_eq!(app.value("node_context_switches_total"), Some(1008873.0));
        assert_eq!(app.value("node_boot_time_seconds"), Some(1795374724.0));
        assert_eq!(app.value("node_forks_total"), Some(13378.0));
        assert_eq!(app.value("node_procs_running"), Some(2.0));
        assert_eq!(app.value("node_procs_blocked"), Some(1.0));
        assert_eq!(app.samples.len(), 6);
        assert_eq!(
            app.metadata["node_boot_time_seconds"].kind,
            MetricType::Gauge
        );
    }
}
