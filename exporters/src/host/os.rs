//! `node_os_info{build_id,id,id_like,image_id,image_version,name,pretty_name,
//! variant,variant_id,version,version_codename,version_id}` and
//! `node_os_version{id,id_like,name}` from `<rootfs>/etc/os-release`, else
//! `<rootfs>/usr/lib/os-release` (read directly). As in node_exporter 1.5,
//! neither file is no family and no error, and the version is the leading
//! `major[.minor]` of `VERSION_ID` (0 when there is none).
//!
//! Labels with an empty value are absent, as they are once Prometheus has
//! ingested node_exporter's output.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, read_into};
use crate::collector::CollectError;

/// os-release keys, in the order of [`LABELS`].
const KEYS: [&str; 12] = [
    "BUILD_ID",
    "ID",
    "ID_LIKE",
    "IMAGE_ID",
    "IMAGE_VERSION",
    "NAME",
    "PRETTY_NAME",
    "VARIANT",
    "VARIANT_ID",
    "VERSION",
    "VERSION_CODENAME",
    "VERSION_ID",
];
const LABELS: [&str; 12] = [
    "build_id",
    "id",
    "id_like",
    "image_id",
    "image_version",
    "name",
    "pretty_name",
    "variant",
    "variant_id",
    "version",
    "version_codename",
    "version_id",
];

/// The os family group; parses the file again only when it changed.
pub(crate) struct Os {
    files: [PathBuf; 2],
    last_raw: Vec<u8>,
    values: [String; 12],
    version: f64,
}

impl Os {
    pub(crate) fn new(rootfs: &Path) -> Os {
        Os {
            files: [
                rootfs.join("etc/os-release"),
                rootfs.join("usr/lib/os-release"),
            ],
            last_raw: Vec::new(),
            values: Default::default(),
            version: 0.0,
        }
    }

    /// Reads the os-release file into `buf` and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        let mut found = false;
        for path in &self.files {
            match read_into(path, buf) {
                Ok(()) => {
                    found = true;
                    break;
                }
                Err(CollectError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if !found {
            return Ok(());
        }
        if *buf != self.last_raw || self.last_raw.is_empty() {
            self.parse(buf);
            self.last_raw.clear();
            self.last_raw.extend_from_slice(buf);
        }
        let pairs: [(&str, &str); 12] =
            std::array::from_fn(|i| (LABELS[i], self.values[i].as_str()));
        sink.family(
            "node_os_info",
            MetricType::Gauge,
            "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
        );
        sink.sample("node_os_info", &pairs, 1.0);
        sink.family(
            "node_os_version",
            MetricType::Gauge,
            "Metric containing the major.minor part of the OS version.",
        );
        sink.sample(
            "node_os_version",
            &[
                ("id", &self.values[1]),
                ("id_like", &self.values[2]),
                ("name", &self.values[5]),
            ],
            self.version,
        );
        Ok(())
    }

    fn parse(&mut self, raw: &[u8]) {
        for v in self.values.iter_mut() {
            v.clear();
        }
        let text = String::from_utf8_lossy(raw);
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim().trim_start_matches("export ").trim();
            if let Some(i) = KEYS.iter().position(|k| *k == key) {
                self.values[i] = unquote(value.trim());
            }
        }
        self.version = major_minor(&self.values[11]);
    }
}

/// The value of an os-release assignment: double quotes with `\` escapes,
/// single quotes taken literally, or a bare word.
fn unquote(v: &str) -> String {
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        let inner = &v[1..v.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some(n @ ('"' | '\\' | '$' | '`')) => out.push(n),
                    Some(n) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        out
    } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// The leading `digits[.digits]` of a version as a number; 0 when none.
fn major_minor(v: &str) -> f64 {
    let b = v.as_bytes();
    let mut end = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if end == 0 {
        return 0.0;
    }
    if b.get(end) == Some(&b'.') {
        end += 1;
        end += b[end..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    v[..end].trim_end_matches('.').parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn debian_release() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("usr/lib")).unwrap();
        std::fs::write(
            dir.path().join("usr/lib/os-release"),
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n\
             VERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n# comment\nHOME_URL=\"https://www.debian.org/\"\n",
        )
        .unwrap();
        let mut os = Os::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        os.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(
            app.series_of("node_os_info"),
            vec![
                r#"node_os_info{id="debian", name="Debian GNU/Linux", pretty_name="Debian GNU/Linux 12 (bookworm)", version="12 (bookworm)", version_codename="bookworm", version_id="12"}"#
            ]
        );
        assert_eq!(
            app.value(r#"node_os_version{id="debian", name="Debian GNU/Linux"}"#),
            Some(12.0)
        );
    }

    #[test]
    fn versions_and_quotes() {
        assert_eq!(major_minor("22.04"), 22.04);
        assert_eq!(major_minor("3.17.2"), 3.17);
        assert_eq!(major_minor("rolling"), 0.0);
        assert_eq!(major_minor("7."), 7.0);
        assert_eq!(unquote(r#""a \"b\" \$c""#), r#"a "b" $c"#);
        assert_eq!(unquote("'x y'"), "x y");
    }

    #[test]
    fn no_file_no_family() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        Os::new(dir.path())
            .collect(&mut Vec::new(), &mut sink)
            .unwrap();
        assert!(app.samples.is_empty());
    }
}
