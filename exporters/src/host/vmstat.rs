//! `node_vmstat_<field>` from `/proc/vmstat` (read directly) for the fields
//! matching the configured regex (node_exporter 1.5's default:
//! `^(oom_kill|pgpg|pswp|pg.*fault).*`). Untyped, as there.

use std::path::{Path, PathBuf};

use regex::Regex;
use warden_tsdb::MetricType;

use super::util::{FieldFilter, Sink, fields, lines, parse_error, parse_f64, read_into};
use crate::collector::CollectError;

/// The vmstat family group.
pub(crate) struct Vmstat {
    path: PathBuf,
    fields: FieldFilter,
}

impl Vmstat {
    pub(crate) fn new(proc_path: &Path, fields: Regex) -> Vmstat {
        Vmstat {
            path: proc_path.join("vmstat"),
            fields: FieldFilter::new(fields),
        }
    }

    /// Reads `/proc/vmstat` into `buf` and writes the selected fields.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        read_into(&self.path, buf)?;
        // Check the file first: a bad line fails the family, as there.
        for line in lines(buf) {
            let mut f = fields(line);
            let Some(key) = f.next() else { continue };
            if std::str::from_utf8(key).is_err() || f.next().and_then(parse_f64).is_none() {
                return Err(parse_error(
                    &self.path,
                    format!("bad line {:?}", String::from_utf8_lossy(line)),
                ));
            }
        }
        for line in lines(buf) {
            let mut f = fields(line);
            let (Some(key), Some(v)) = (f.next(), f.next().and_then(parse_f64)) else {
                continue;
            };
            let Ok(key) = std::str::from_utf8(key) else {
                continue;
            };
            let Some(name) = self.fields.name(key, || format!("node_vmstat_{key}")) else {
                continue;
            };
            let help = format!("/proc/vmstat information field {key}.");
            sink.single(name, MetricType::Unknown, &help, v);
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
    fn default_fields_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vmstat"),
            "nr_free_pages 100\npgpgin 5\npgpgout 6\npswpin 0\npgfault 77\npgmajfault 3\noom_kill 1\nnr_dirty 9\n",
        )
        .unwrap();
        let mut v = Vmstat::new(
            dir.path(),
            Regex::new(crate::host::DEFAULT_VMSTAT_FIELDS).unwrap(),
        );
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        v.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(app.value("node_vmstat_pgfault"), Some(77.0));
        assert_eq!(app.value("node_vmstat_oom_kill"), Some(1.0));
        assert_eq!(app.value("node_vmstat_nr_dirty"), None);
        assert_eq!(app.samples.len(), 6);
        assert_eq!(
            app.metadata["node_vmstat_pgfault"].kind,
            MetricType::Unknown
        );

        std::fs::write(dir.path().join("vmstat"), "pgfault x\n").unwrap();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        assert!(v.collect(&mut Vec::new(), &mut sink).is_err());
    }
}
