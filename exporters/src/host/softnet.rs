//! `node_softnet_{processed,dropped,times_squeezed}_total{cpu}` from
//! `/proc/net/softnet_stat` (read directly): the first three hexadecimal
//! columns of each line; as in node_exporter 1.5, `cpu` is the line's index.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, read_into};
use crate::collector::CollectError;

const SERIES: [(&str, &str); 3] = [
    (
        "node_softnet_processed_total",
        "Number of processed packets",
    ),
    ("node_softnet_dropped_total", "Number of dropped packets"),
    (
        "node_softnet_times_squeezed_total",
        "Number of times processing packets ran out of quota",
    ),
];

/// The softnet family group.
pub(crate) struct Softnet {
    path: PathBuf,
    cpu_names: Vec<String>,
}

impl Softnet {
    pub(crate) fn new(proc_path: &Path) -> Softnet {
        Softnet {
            path: proc_path.join("net/softnet_stat"),
            cpu_names: Vec::new(),
        }
    }

    /// Reads `/proc/net/softnet_stat` into `buf` and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        read_into(&self.path, buf)?;
        for (name, help) in SERIES {
            sink.family(name, MetricType::Counter, help);
        }
        for (cpu, line) in lines(buf).filter(|l| !l.is_empty()).enumerate() {
            let mut values = [0.0; 3];
            let mut f = fields(line);
            for v in values.iter_mut() {
                *v = f
                    .next()
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .ok_or_else(|| parse_error(&self.path, format!("bad line {}", cpu + 1)))?
                    as f64;
            }
            while self.cpu_names.len() <= cpu {
                self.cpu_names.push(self.cpu_names.len().to_string());
            }
            for ((name, _), v) in SERIES.iter().zip(values) {
                sink.sample(name, &[("cpu", &self.cpu_names[cpu])], v);
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
    fn per_cpu_hex_columns() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("net")).unwrap();
        std::fs::write(
            dir.path().join("net/softnet_stat"),
            "00015322 00000000 00000003 00000000\n0000f5cb 0000000a 00000001 00000000\n",
        )
        .unwrap();
        let mut s = Softnet::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        s.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_softnet_processed_total{cpu="0"}"#),
            Some(86818.0)
        );
        assert_eq!(
            app.value(r#"node_softnet_dropped_total{cpu="1"}"#),
            Some(10.0)
        );
        assert_eq!(
            app.value(r#"node_softnet_times_squeezed_total{cpu="0"}"#),
            Some(3.0)
        );
    }
}
