//! node_exporter's textfile collector: every `*.prom` file of a directory
//! (written by cron jobs and scripts) is read in the text exposition format
//! and its samples are passed through, with
//! `node_textfile_mtime_seconds{file}` for each file read and
//! `node_textfile_scrape_error` (1 when a file could not be read or
//! parsed). As in node_exporter 1.5: files are taken in name order, a file
//! that fails to parse or carries timestamps is skipped whole, a family
//! without help gets "Metric read from" and the file paths, and `file` is the full path.
//! A failing file is also returned as an error naming it.

use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use warden_tsdb::{MetricMetadata, MetricType};

use super::util::{Sink, read_into};
use crate::collector::CollectError;
use crate::exposition::{Format, ParsedSample, parse};

/// The textfile family group.
pub(crate) struct Textfile {
    dir: Option<PathBuf>,
    body: Vec<u8>,
}

impl Textfile {
    pub(crate) fn new(dir: Option<PathBuf>) -> Textfile {
        Textfile {
            dir,
            body: Vec::new(),
        }
    }

    /// Reads the directory's `*.prom` files and writes their samples.
    pub(crate) fn collect(&mut self, sink: &mut Sink<'_>) -> Result<(), CollectError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let mut first_error = None;
        let mut names: Vec<String> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".prom"))
                .collect(),
            Err(source) => {
                first_error = Some(CollectError::Io {
                    path: dir.display().to_string(),
                    source,
                });
                Vec::new()
            }
        };
        names.sort();
        let mut errored = first_error.is_some();
        // (family name, metadata, files it came from), in first-seen order.
        let mut families: Vec<(String, MetricMetadata, Vec<String>)> = Vec::new();
        let mut samples: Vec<ParsedSample> = Vec::new();
        let mut mtimes: Vec<(String, f64)> = Vec::new();
        for name in &names {
            let path = dir.join(name);
            let shown = path.display().to_string();
            let parsed = read_into(&path, &mut self.body).and_then(|()| {
                let s = parse(Format::Text, &self.body).map_err(|e| CollectError::Parse {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?;
                if s.iter().any(|x| x.timestamp_ms.is_some()) {
                    return Err(CollectError::Parse {
                        path: shown.clone(),
                        reason: "contains unsupported client-side timestamps, skipping entire file"
                            .into(),
                    });
                }
                let mtime = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .map_err(|source| CollectError::Io {
                        path: shown.clone(),
                        source,
                    })?;
                Ok((s, mtime))
            });
            let (file_samples, mtime) = match parsed {
                Ok(ok) => ok,
                Err(e) => {
                    errored = true;
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let secs = mtime
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as f64)
                .unwrap_or(0.0);
            mtimes.push((shown.clone(), secs));
            for s in file_samples {
                match families.iter_mut().find(|f| f.0 == s.family.name) {
                    Some(f) => {
                        if !f.2.contains(&shown) {
                            f.2.push(shown.clone());
                        }
                    }
                    None => families.push((
                        s.family.name.clone(),
                        s.family.metadata.clone(),
                        vec![shown.clone()],
                    )),
                }
                samples.push(s);
            }
        }
        for (name, mut meta, files) in families {
            if meta.help.is_empty() {
                meta.help = format!("Metric read from {}", files.join(", "));
            }
            sink.metadata(&name, meta);
        }
        for s in &samples {
            sink.append_labels(&s.labels, s.value);
        }
        sink.family(
            "node_textfile_mtime_seconds",
            MetricType::Gauge,
            "Unixtime mtime of textfiles successfully read.",
        );
        for (file, secs) in &mtimes {
            sink.sample("node_textfile_mtime_seconds", &[("file", file)], *secs);
        }
        sink.single(
            "node_textfile_scrape_error",
            MetricType::Gauge,
            "1 if there was an error opening or reading a file, 0 otherwise",
            if errored { 1.0 } else { 0.0 },
        );
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn files_errors_and_help() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("a.prom"),
            "# HELP my_metric Some help\n# TYPE my_metric gauge\nmy_metric{a=\"1\"} 3\nother_untyped 5\n",
        )
        .unwrap();
        std::fs::write(d.join("b.prom"), "other_untyped{x=\"2\"} 6\n").unwrap();
        std::fs::write(d.join("ignored.txt"), "x 1\n").unwrap();
        let mut t = Textfile::new(Some(d.to_path_buf()));
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        t.collect(&mut sink).unwrap();
        assert_eq!(app.value(r#"my_metric{a="1"}"#), Some(3.0));
        assert_eq!(app.value(r#"other_untyped{x="2"}"#), Some(6.0));
        assert_eq!(app.value("node_textfile_scrape_error"), Some(0.0));
        assert_eq!(app.series_of("node_textfile_mtime_seconds").len(), 2);
        assert_eq!(app.metadata["my_metric"].help, "Some help");
        let a = d.join("a.prom").display().to_string();
        let b = d.join("b.prom").display().to_string();
        assert_eq!(
            app.metadata["other_untyped"].help,
            format!("Metric read from {a}, {b}")
        );
        assert!(app.value("x").is_none());

        std::fs::write(d.join("bad.prom"), "bad line here {\n").unwrap();
        std::fs::write(d.join("ts.prom"), "ts_metric 1 1700000000000\n").unwrap();
        let mut app = MemAppender::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        let err = t.collect(&mut sink).unwrap_err();
        assert!(err.to_string().contains("bad.prom"), "{err}");
        assert_eq!(app.value("node_textfile_scrape_error"), Some(1.0));
        assert!(app.value("ts_metric").is_none());
        assert_eq!(app.value(r#"my_metric{a="1"}"#), Some(3.0));
    }

    #[test]
    fn no_directory_configured_writes_nothing() {
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        Textfile::new(None).collect(&mut sink).unwrap();
        assert!(app.samples.is_empty());
    }
}
