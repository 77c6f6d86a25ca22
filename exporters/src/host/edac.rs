//! `node_edac_{correctable,uncorrectable}_errors_total{controller}` and
//! `node_edac_csrow_{correctable,uncorrectable}_errors_total{controller,csrow}`
//! from `/sys/devices/system/edac/mc/mc<N>/` (read directly), as
//! node_exporter 1.5 reads them: the `*_noinfo_count` files are the
//! `csrow="unknown"` series. No EDAC is no family and no error.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, parse_error, parse_u64};
use crate::collector::CollectError;

const CE: &str = "node_edac_correctable_errors_total";
const UE: &str = "node_edac_uncorrectable_errors_total";
const ROW_CE: &str = "node_edac_csrow_correctable_errors_total";
const ROW_UE: &str = "node_edac_csrow_uncorrectable_errors_total";

/// The edac family group.
pub(crate) struct Edac {
    dir: PathBuf,
}

/// Numbered entries `<prefix><N>` of a directory, sorted, with their number.
fn numbered(dir: &Path, prefix: &str) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_prefix(prefix)?;
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| (n.to_string(), e.path()))
        })
        .collect();
    out.sort();
    out
}

fn count(path: &Path) -> Result<f64, CollectError> {
    let raw = std::fs::read_to_string(path).map_err(|source| CollectError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_u64(raw.trim().as_bytes())
        .map(|v| v as f64)
        .ok_or_else(|| parse_error(path, "expected a count"))
}

impl Edac {
    pub(crate) fn new(sys_path: &Path) -> Edac {
        Edac {
            dir: sys_path.join("devices/system/edac/mc"),
        }
    }

    /// Reads every memory controller and its chip-select rows.
    pub(crate) fn collect(&mut self, sink: &mut Sink<'_>) -> Result<(), CollectError> {
        let controllers = numbered(&self.dir, "mc");
        if controllers.is_empty() {
            return Ok(());
        }
        use MetricType::Counter;
        sink.family(CE, Counter, "Total correctable memory errors.");
        sink.family(UE, Counter, "Total uncorrectable memory errors.");
        sink.family(
            ROW_CE,
            Counter,
            "Total correctable memory errors for this csrow.",
        );
        sink.family(
            ROW_UE,
            Counter,
            "Total uncorrectable memory errors for this csrow.",
        );
        for (mc, dir) in controllers {
            let c = mc.as_str();
            sink.sample(CE, &[("controller", c)], count(&dir.join("ce_count"))?);
            sink.sample(
                ROW_CE,
                &[("controller", c), ("csrow", "unknown")],
                count(&dir.join("ce_noinfo_count"))?,
            );
            sink.sample(UE, &[("controller", c)], count(&dir.join("ue_count"))?);
            sink.sample(
                ROW_UE,
                &[("controller", c), ("csrow", "unknown")],
                count(&dir.join("ue_noinfo_count"))?,
            );
            for (row, rdir) in numbered(&dir, "csrow") {
                let labels = [("controller", c), ("csrow", row.as_str())];
                sink.sample(ROW_CE, &labels, count(&rdir.join("ce_count"))?);
                sink.sample(ROW_UE, &labels, count(&rdir.join("ue_count"))?);
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
    fn controllers_and_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mc = dir.path().join("devices/system/edac/mc/mc0");
        std::fs::create_dir_all(mc.join("csrow0")).unwrap();
        for (f, v) in [
            ("ce_count", "3"),
            ("ce_noinfo_count", "1"),
            ("ue_count", "0"),
            ("ue_noinfo_count", "0"),
            ("csrow0/ce_count", "2"),
            ("csrow0/ue_count", "0"),
        ] {
            std::fs::write(mc.join(f), format!("{v}\n")).unwrap();
        }
        let mut e = Edac::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        e.collect(&mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_edac_correctable_errors_total{controller="0"}"#),
            Some(3.0)
        );
        assert_eq!(
            app.value(
                r#"node_edac_csrow_correctable_errors_total{controller="0", csrow="unknown"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            app.value(r#"node_edac_csrow_correctable_errors_total{controller="0", csrow="0"}"#),
            Some(2.0)
        );
        std::fs::remove_file(mc.join("ue_count")).unwrap();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        assert!(e.collect(&mut sink).is_err());
    }
}
