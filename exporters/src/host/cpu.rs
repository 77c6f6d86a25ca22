//! `node_cpu_seconds_total{cpu,mode}` and `node_cpu_guest_seconds_total{cpu,mode}`
//! from the `cpuN` lines of `/proc/stat` (read directly, as node_exporter's
//! cpu collector does through Go's procfs).
//!
//! Like node_exporter 1.5, a counter that goes backwards keeps its previous
//! value, and an idle counter that jumps back by 3 s or more is taken as a
//! CPU hot-plug and resets that CPU's values.

use std::path::Path;

use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, parse_u64};
use crate::collector::CollectError;

/// The modes of `node_cpu_seconds_total`, in `/proc/stat` column order.
const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];
/// Columns: the eight modes, then guest and guest_nice.
const COLUMNS: usize = 10;
const IDLE: usize = 3;
/// An idle counter that goes back by at least this much means a hot-plug.
const JUMP_BACK_SECONDS: f64 = 3.0;

const SECONDS: &str = "node_cpu_seconds_total";
const GUEST: &str = "node_cpu_guest_seconds_total";

/// The cpu family group, with the last values seen per CPU.
pub(crate) struct Cpu {
    ticks_per_second: f64,
    /// Per CPU number (the N of `cpuN`): the values last exposed.
    last: Vec<Option<[f64; COLUMNS]>>,
    /// The CPU number as a label value, built once.
    names: Vec<String>,
}

impl Cpu {
    pub(crate) fn new(ticks_per_second: u64) -> Cpu {
        Cpu {
            ticks_per_second: ticks_per_second.max(1) as f64,
            last: Vec::new(),
            names: Vec::new(),
        }
    }

    /// Writes the cpu families from the content of `/proc/stat`.
    pub(crate) fn collect(
        &mut self,
        content: &[u8],
        path: &Path,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        sink.family(
            SECONDS,
            MetricType::Counter,
            "Seconds the CPUs spent in each mode.",
        );
        sink.family(
            GUEST,
            MetricType::Counter,
            "Seconds the CPUs spent in guests (VMs) for each mode.",
        );
        for line in lines(content) {
            let mut f = fields(line);
            let Some(head) = f.next() else { continue };
            let Some(num) = head.strip_prefix(b"cpu") else {
                continue;
            };
            if num.is_empty() {
                continue; // the aggregate "cpu" line
            }
            let cpu = parse_u64(num)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n < 1 << 16)
                .ok_or_else(|| parse_error(path, "bad cpu number in a cpuN line"))?;
            let mut now = [0.0; COLUMNS];
            for (i, slot) in now.iter_mut().enumerate() {
                match f.next() {
                    Some(v) => {
                        *slot = parse_u64(v)
                            .ok_or_else(|| parse_error(path, "bad value in a cpuN line"))?
                            as f64
                            / self.ticks_per_second;
                    }
                    None if i >= 4 => break, // old kernels have fewer columns
                    None => return Err(parse_error(path, "short cpuN line")),
                }
            }
            let values = self.update(cpu, now);
            let name = self.name(cpu);
            for (mode, v) in MODES.iter().zip(values.iter()) {
                sink.sample(SECONDS, &[("cpu", name), ("mode", mode)], *v);
            }
            sink.sample(GUEST, &[("cpu", name), ("mode", "user")], values[8]);
            sink.sample(GUEST, &[("cpu", name), ("mode", "nice")], values[9]);
        }
        Ok(())
    }

    fn name(&mut self, cpu: usize) -> &str {
        while self.names.len() <= cpu {
            self.names.push(self.names.len().to_string());
        }
        &self.names[cpu]
    }

    /// Applies node_exporter's never-backwards rule and returns the values
    /// to expose.
    fn update(&mut self, cpu: usize, now: [f64; COLUMNS]) -> [f64; COLUMNS] {
        if self.last.len() <= cpu {
            self.last.resize(cpu + 1, None);
        }
        let slot = &mut self.last[cpu];
        let mut kept = match slot {
            Some(prev) if prev[IDLE] - now[IDLE] < JUMP_BACK_SECONDS => *prev,
            _ => [0.0; COLUMNS],
        };
        for (k, n) in kept.iter_mut().zip(now.iter()) {
            if *n >= *k {
                *k = *n;
            }
        }
        *slot = Some(kept);
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    const STAT: &str = "cpu  30 0 20 100 1 0 2 3 0 0\n\
cpu0 10854 0 3256 54244 186 0 30 4994 7 1\n\
cpu1 10808 0 3952 52522 683 0 258 5137 0 0\n\
intr 1 2 3\n";

    fn run(cpu: &mut Cpu, content: &str) -> MemAppender {
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        cpu.collect(content.as_bytes(), Path::new("stat"), &mut sink)
            .unwrap();
        app
    }

    #[test]
    fn per_cpu_modes_in_seconds() {
        let app = run(&mut Cpu::new(100), STAT);
        assert_eq!(
            app.value(r#"node_cpu_seconds_total{cpu="0", mode="user"}"#),
            Some(108.54)
        );
        assert_eq!(
            app.value(r#"node_cpu_seconds_total{cpu="1", mode="steal"}"#),
            Some(51.37)
        );
        assert_eq!(
            app.value(r#"node_cpu_guest_seconds_total{cpu="0", mode="nice"}"#),
            Some(0.01)
        );
        assert_eq!(app.series_of(SECONDS).len(), 16);
        assert_eq!(app.series_of(GUEST).len(), 4);
    }

    #[test]
    fn counters_never_go_back_unless_hotplug() {
        let mut cpu = Cpu::new(100);
        run(&mut cpu, "cpu0 100 0 0 1000 0 0 0 0 0 0\n");
        let app = run(&mut cpu, "cpu0 90 0 0 1001 0 0 0 0 0 0\n");
        assert_eq!(
            app.value(r#"node_cpu_seconds_total{cpu="0", mode="user"}"#),
            Some(1.0)
        );
        // idle back by 5 s: a hot-plug, the new values are taken.
        let app = run(&mut cpu, "cpu0 50 0 0 500 0 0 0 0 0 0\n");
        assert_eq!(
            app.value(r#"node_cpu_seconds_total{cpu="0", mode="user"}"#),
            Some(0.5)
        );
    }

    #[test]
    fn garbage_is_an_error() {
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        let err = Cpu::new(100)
            .collect(b"cpu0 x 1 2 3\n", Path::new("stat"), &mut sink)
            .unwrap_err();
        assert!(err.to_string().contains("bad value"), "{err}");
    }
}
