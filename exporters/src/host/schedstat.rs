//! `node_schedstat_{running,waiting}_seconds_total{cpu}` and
//! `node_schedstat_timeslices_total{cpu}` from the `cpuN` lines of
//! `/proc/schedstat` (read directly): its 7th, 8th and 9th numbers, the
//! first two from nanoseconds, as node_exporter 1.5 reads them. No file is
//! no family and no error.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, parse_u64, read_into};
use crate::collector::CollectError;

const RUNNING: &str = "node_schedstat_running_seconds_total";
const WAITING: &str = "node_schedstat_waiting_seconds_total";
const SLICES: &str = "node_schedstat_timeslices_total";

/// The schedstat family group.
pub(crate) struct Schedstat {
    path: PathBuf,
}

impl Schedstat {
    pub(crate) fn new(proc_path: &Path) -> Schedstat {
        Schedstat {
            path: proc_path.join("schedstat"),
        }
    }

    /// Reads `/proc/schedstat` into `buf` and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        match read_into(&self.path, buf) {
            Ok(()) => {}
            Err(CollectError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        use MetricType::Counter;
        sink.family(
            RUNNING,
            Counter,
            "Number of seconds CPU spent running a process.",
        );
        sink.family(
            WAITING,
            Counter,
            "Number of seconds spent by processing waiting for this CPU.",
        );
        sink.family(SLICES, Counter, "Number of timeslices executed by CPU.");
        for line in lines(buf) {
            let mut f = fields(line);
            let Some(cpu) = f.next().and_then(|h| h.strip_prefix(b"cpu")) else {
                continue;
            };
            if cpu.is_empty() || !cpu.iter().all(u8::is_ascii_digit) {
                continue;
            }
            let values: Vec<u64> = f.take(9).map_while(parse_u64).collect();
            let [_, _, _, _, _, _, running, waiting, slices] = values[..] else {
                return Err(parse_error(&self.path, "short cpu line"));
            };
            let cpu = std::str::from_utf8(cpu).unwrap_or("");
            sink.sample(RUNNING, &[("cpu", cpu)], running as f64 / 1e9);
            sink.sample(WAITING, &[("cpu", cpu)], waiting as f64 / 1e9);
            sink.sample(SLICES, &[("cpu", cpu)], slices as f64);
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
    fn per_cpu_times() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("schedstat"),
            "version 15\ntimestamp 1\ncpu0 0 0 0 0 0 0 2498662521024 1143124462151 4893210\ndomain0 3 1 2\n",
        )
        .unwrap();
        let mut s = Schedstat::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        s.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_schedstat_running_seconds_total{cpu="0"}"#),
            Some(2498662521024.0 / 1e9)
        );
        assert_eq!(
            app.value(r#"node_schedstat_timeslices_total{cpu="0"}"#),
            Some(4893210.0)
        );
        std::fs::write(dir.path().join("schedstat"), "cpu0 1 2\n").unwrap();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        assert!(s.collect(&mut Vec::new(), &mut sink).is_err());
    }
}
