//! `node_memory_*` from `/proc/meminfo` (read directly), named as
//! node_exporter 1.5 names them: every field becomes `node_memory_<field>`,
//! `Active(anon)` becomes `Active_anon`, and a field with a unit (kB) is
//! multiplied by 1024 and gets the suffix `_bytes` (so `HugePages_Total`,
//! which has no unit, keeps its bare name). All are gauges.

use std::path::Path;

use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, parse_f64};
use crate::collector::CollectError;

/// The meminfo family group; keeps a name buffer between collections.
#[derive(Default)]
pub(crate) struct Meminfo {
    name: String,
}

impl Meminfo {
    /// Writes one family per field of `content` (the text of `/proc/meminfo`).
    pub(crate) fn collect(
        &mut self,
        content: &[u8],
        path: &Path,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        // Validate the whole file first, as node_exporter does: a bad line
        // fails the family instead of exposing a partial set.
        for line in lines(content) {
            parse_line(line).map_err(|why| parse_error(path, why))?;
        }
        for line in lines(content) {
            let Ok(Some((key, value, has_unit))) = parse_line(line) else {
                continue;
            };
            self.name.clear();
            self.name.push_str("node_memory_");
            push_field_name(&mut self.name, key);
            let v = if has_unit {
                self.name.push_str("_bytes");
                value * 1024.0
            } else {
                value
            };
            let help = format!("Memory information field {}.", &self.name[12..]);
            sink.single(&self.name, MetricType::Gauge, &help, v);
        }
        Ok(())
    }
}

/// Splits `Key:  value [kB]`; `Ok(None)` for a blank line.
fn parse_line(line: &[u8]) -> Result<Option<(&str, f64, bool)>, String> {
    let mut f = fields(line);
    let Some(key) = f.next() else {
        return Ok(None);
    };
    let shown = || String::from_utf8_lossy(line).into_owned();
    let key = key
        .strip_suffix(b":")
        .and_then(|k| std::str::from_utf8(k).ok())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| format!("invalid line in meminfo: {:?}", shown()))?;
    let value = f
        .next()
        .and_then(parse_f64)
        .ok_or_else(|| format!("invalid value in meminfo: {:?}", shown()))?;
    let has_unit = f.next().is_some();
    if f.next().is_some() {
        return Err(format!("invalid line in meminfo: {:?}", shown()));
    }
    Ok(Some((key, value, has_unit)))
}

/// Appends `key` with its parenthesised part turned into a `_` suffix:
/// `Active(anon)` -> `Active_anon`.
fn push_field_name(out: &mut String, key: &str) {
    match (key.find('('), key.rfind(')')) {
        (Some(open), Some(close)) if close > open => {
            out.push_str(&key[..open]);
            out.push('_');
            out.push_str(&key[open + 1..close]);
            out.push_str(&key[close + 1..]);
        }
        _ => out.push_str(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    const MEMINFO: &str = "MemTotal:       24668184 kB\n\
MemFree:        21013544 kB\n\
Active(anon):     514120 kB\n\
Inactive(file):  1000000 kB\n\
HugePages_Total:       0\n\
HugePages_Free:        3\n\
Hugepagesize:       2048 kB\n\
\n";

    #[test]
    fn names_units_and_values() {
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        Meminfo::default()
            .collect(MEMINFO.as_bytes(), Path::new("meminfo"), &mut sink)
            .unwrap();
        assert_eq!(
            app.value("node_memory_MemTotal_bytes"),
            Some(24668184.0 * 1024.0)
        );
        assert_eq!(
            app.value("node_memory_Active_anon_bytes"),
            Some(514120.0 * 1024.0)
        );
        assert!(app.value("node_memory_Inactive_file_bytes").is_some());
        assert_eq!(app.value("node_memory_HugePages_Total"), Some(0.0));
        assert_eq!(app.value("node_memory_HugePages_Free"), Some(3.0));
        assert_eq!(
            app.value("node_memory_Hugepagesize_bytes"),
            Some(2048.0 * 1024.0)
        );
        assert_eq!(app.samples.len(), 7);
        assert_eq!(
            app.metadata["node_memory_MemTotal_bytes"].help,
            "Memory information field MemTotal_bytes."
        );
    }

    #[test]
    fn a_bad_line_fails_the_family() {
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        let err = Meminfo::default()
            .collect(
                b"MemTotal: 1 kB\nMemFree: x kB\n",
                Path::new("meminfo"),
                &mut sink,
            )
            .unwrap_err();
        assert!(err.to_string().contains("MemFree"), "{err}");
        assert!(app.samples.is_empty());
    }
}
