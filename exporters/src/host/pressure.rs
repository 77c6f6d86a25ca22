//! `node_pressure_*` from `/proc/pressure/{cpu,io,memory}` (read directly):
//! the `total=` microseconds of the `some` and `full` lines, in seconds.
//! As in node_exporter 1.5, the cpu `full` line is not exposed, and a kernel
//! without PSI (no `/proc/pressure`) yields no family and no error.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, parse_u64, read_into};
use crate::collector::CollectError;

/// (file, line kind, metric, help)
const SERIES: [(usize, &[u8], &str, &str); 5] = [
    (
        0,
        b"some",
        "node_pressure_cpu_waiting_seconds_total",
        "Total time in seconds that processes have waited for CPU time",
    ),
    (
        1,
        b"some",
        "node_pressure_io_waiting_seconds_total",
        "Total time in seconds that processes have waited due to IO congestion",
    ),
    (
        1,
        b"full",
        "node_pressure_io_stalled_seconds_total",
        "Total time in seconds no process could make progress due to IO congestion",
    ),
    (
        2,
        b"some",
        "node_pressure_memory_waiting_seconds_total",
        "Total time in seconds that processes have waited for memory",
    ),
    (
        2,
        b"full",
        "node_pressure_memory_stalled_seconds_total",
        "Total time in seconds no process could make progress due to memory congestion",
    ),
];

/// The pressure family group.
pub(crate) struct Pressure {
    files: [PathBuf; 3],
}

impl Pressure {
    pub(crate) fn new(proc_path: &Path) -> Pressure {
        let dir = proc_path.join("pressure");
        Pressure {
            files: [dir.join("cpu"), dir.join("io"), dir.join("memory")],
        }
    }

    /// Reads the three files and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        let mut totals = [None; 5];
        for (file, path) in self.files.iter().enumerate() {
            match read_into(path, buf) {
                Ok(()) => {}
                Err(CollectError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            for line in lines(buf) {
                let mut f = fields(line);
                let Some(kind) = f.next() else { continue };
                let total = f
                    .find_map(|kv| kv.strip_prefix(b"total="))
                    .and_then(parse_u64)
                    .ok_or_else(|| parse_error(path, "no total= on a pressure line"))?;
                for (i, (sf, sk, ..)) in SERIES.iter().enumerate() {
                    if *sf == file && *sk == kind {
                        totals[i] = Some(total);
                    }
                }
            }
        }
        for ((_, _, name, help), total) in SERIES.iter().zip(totals) {
            if let Some(us) = total {
                sink.single(name, MetricType::Counter, help, us as f64 / 1000.0 / 1000.0);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn totals_in_seconds_and_absent_psi() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Pressure::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        p.collect(&mut Vec::new(), &mut sink).unwrap();
        assert!(app.samples.is_empty());

        let d = dir.path().join("pressure");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("cpu"), "some avg10=0.92 avg60=4.18 avg300=3.89 total=30843842\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=5\n").unwrap();
        std::fs::write(d.join("io"), "some avg10=0 avg60=0 avg300=0 total=7273649\nfull avg10=0 avg60=0 avg300=0 total=5203542\n").unwrap();
        std::fs::write(
            d.join("memory"),
            "some avg10=0 avg60=0 avg300=0 total=0\nfull avg10=0 avg60=0 avg300=0 total=0\n",
        )
        .unwrap();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        p.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(
            app.value("node_pressure_cpu_waiting_seconds_total"),
            Some(30843842.0 / 1000.0 / 1000.0)
        );
        // Same arithmetic as node_exporter: two divisions by 1000.
        assert_eq!(
            app.value("node_pressure_io_stalled_seconds_total"),
            Some(5.2035420000000006)
        );
        assert_eq!(
            app.value("node_pressure_memory_stalled_seconds_total"),
            Some(0.0)
        );
        assert_eq!(app.samples.len(), 5);
    }
}
