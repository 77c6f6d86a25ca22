//! Shared plumbing of the host families: reading a kernel file into a reused
//! buffer, splitting its fields, and writing samples whose label sets are
//! built once and then reused, so that a collection allocates (almost)
//! nothing once the host's series are known.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use warden_tsdb::{Appender, Labels, LabelsBuilder, MetricMetadata, MetricType};

use crate::collector::CollectError;

/// Reads the whole of `path` into `buf` (cleared first), reusing its capacity.
pub(crate) fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), CollectError> {
    buf.clear();
    let io = |source| CollectError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    file.read_to_end(buf).map_err(io)?;
    Ok(())
}

/// The whitespace-separated fields of one line.
pub(crate) fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

/// The lines of a file's content.
pub(crate) fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    buf.split(|&b| b == b'\n')
}

/// Parses an unsigned decimal integer; `None` for anything else.
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Parses a float the way Go's `strconv.ParseFloat` does for the plain
/// decimal forms the kernel writes; `None` when it is not a number.
pub(crate) fn parse_f64(s: &[u8]) -> Option<f64> {
    if let Some(v) = parse_u64(s) {
        return Some(v as f64);
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// A parse error naming the file and what was wrong with it.
pub(crate) fn parse_error(path: &Path, reason: impl Into<String>) -> CollectError {
    CollectError::Parse {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// A field regex with its verdicts remembered: kernel files list the same
/// few hundred fields every time, so each is matched (and its metric name
/// built) once instead of at every collection.
pub(crate) struct FieldFilter {
    re: regex::Regex,
    /// Field -> metric name, or `None` when the field is left out.
    seen: HashMap<String, Option<Box<str>>>,
}

/// More distinct fields than any kernel file has; past it the memory is
/// dropped and rebuilt, so the map stays bounded whatever a file contains.
const FIELD_FILTER_LIMIT: usize = 8192;

impl FieldFilter {
    pub(crate) fn new(re: regex::Regex) -> FieldFilter {
        FieldFilter {
            re,
            seen: HashMap::new(),
        }
    }

    /// The metric name for `field` (built by `name` the first time), or
    /// `None` when the regex leaves the field out.
    pub(crate) fn name(&mut self, field: &str, name: impl FnOnce() -> String) -> Option<&str> {
        if !self.seen.contains_key(field) {
            if self.seen.len() >= FIELD_FILTER_LIMIT {
                self.seen.clear();
            }
            let verdict = self.re.is_match(field).then(|| name().into_boxed_str());
            self.seen.insert(field.to_string(), verdict);
        }
        self.seen.get(field).and_then(|v| v.as_deref())
    }
}

/// Label sets by metric name and label values, built on first use and kept
/// while the series is still produced.
///
/// Entries not used during a collection are dropped by [`sweep`](Self::sweep),
/// so the cache is bounded by the number of series the host currently has.
#[derive(Default)]
pub(crate) struct LabelCache {
    map: HashMap<String, (Labels, u64)>,
    key: String,
    generation: u64,
}

impl LabelCache {
    /// The label set of `name` with `pairs`; `None` only if the pairs are
    /// not a valid label set (a duplicate or empty name: a programming error
    /// in a family, reported as a skipped sample rather than a panic).
    pub(crate) fn get(&mut self, name: &str, pairs: &[(&str, &str)]) -> Option<&Labels> {
        let LabelCache {
            map,
            key,
            generation,
        } = self;
        key.clear();
        key.push_str(name);
        for (n, v) in pairs {
            key.push('\0');
            key.push_str(n);
            key.push('\u{1}');
            key.push_str(v);
        }
        if !map.contains_key(key.as_str()) {
            let mut b = LabelsBuilder::new();
            b.push(warden_tsdb::labels::METRIC_NAME, name);
            for (n, v) in pairs {
                b.push(*n, *v);
            }
            let labels = b.build().ok()?;
            map.insert(key.clone(), (labels, *generation));
        }
        let entry = map.get_mut(key.as_str())?;
        entry.1 = *generation;
        Some(&entry.0)
    }

    /// Drops the label sets that were not used since the last sweep.
    pub(crate) fn sweep(&mut self) {
        let current = self.generation;
        self.map.retain(|_, (_, used)| *used == current);
        self.generation = self.generation.wrapping_add(1);
    }

    /// Number of cached label sets.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// Where the families write: the appender, the collection's timestamp and
/// the label cache.
pub(crate) struct Sink<'a> {
    app: &'a mut dyn Appender,
    t: i64,
    cache: &'a mut LabelCache,
}

impl<'a> Sink<'a> {
    /// A sink writing samples at `t` (milliseconds) into `app`.
    pub(crate) fn new(app: &'a mut dyn Appender, t: i64, cache: &'a mut LabelCache) -> Self {
        Sink { app, t, cache }
    }

    /// Declares a family's type and help.
    pub(crate) fn family(&mut self, name: &str, kind: MetricType, help: &str) {
        self.app.set_metadata(
            name,
            MetricMetadata {
                kind,
                help: help.to_string(),
                unit: String::new(),
            },
        );
    }

    /// Records a family's metadata as given.
    pub(crate) fn metadata(&mut self, name: &str, metadata: MetricMetadata) {
        self.app.set_metadata(name, metadata);
    }

    /// Writes one sample whose label set was built elsewhere (a parsed file).
    pub(crate) fn append_labels(&mut self, labels: &Labels, v: f64) {
        let _ = self.app.append(labels, self.t, v);
    }

    /// Writes one sample of `name` with the given label pairs.
    pub(crate) fn sample(&mut self, name: &str, pairs: &[(&str, &str)], v: f64) {
        if let Some(labels) = self.cache.get(name, pairs) {
            // A refused sample (out of order, duplicate) is counted by the
            // store; it must not stop the rest of the collection.
            let _ = self.app.append(labels, self.t, v);
        }
    }

    /// Declares a family that has exactly one sample and writes it.
    pub(crate) fn single(&mut self, name: &str, kind: MetricType, help: &str, v: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], v);
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! An in-memory appender for the family tests.

    use std::collections::BTreeMap;
    use warden_tsdb::{AppendError, Appender, Labels, MetricMetadata};

    /// Keeps every appended sample and every metadata record.
    #[derive(Default)]
    pub(crate) struct MemAppender {
        pub(crate) samples: Vec<(Labels, i64, f64)>,
        pub(crate) metadata: BTreeMap<String, MetricMetadata>,
    }

    impl MemAppender {
        /// The value of the series whose labels print as `series`
        /// (`name{a="1"}`), if it was written.
        pub(crate) fn value(&self, series: &str) -> Option<f64> {
            self.samples
                .iter()
                .find(|(l, _, _)| l.to_string() == series)
                .map(|s| s.2)
        }

        /// The printed label sets of every sample of metric `name`.
        pub(crate) fn series_of(&self, name: &str) -> Vec<String> {
            let mut v: Vec<String> = self
                .samples
                .iter()
                .filter(|(l, _, _)| l.metric_name() == Some(name))
                .map(|(l, _, _)| l.to_string())
                .collect();
            v.sort();
            v
        }
    }

    impl Appender for MemAppender {
        fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
            self.samples.push((labels.clone(), t, v));
            Ok(())
        }
        fn set_metadata(&mut self, metric: &str, metadata: MetricMetadata) {
            self.metadata.insert(metric.to_string(), metadata);
        }
        fn commit(&mut self) -> Result<(), AppendError> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::MemAppender;
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"123"), Some(123));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"1a"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_f64(b"0.63"), Some(0.63));
        assert_eq!(parse_f64(b"x"), None);
    }

    #[test]
    fn cache_reuses_and_sweeps() {
        let mut cache = LabelCache::default();
        let mut app = MemAppender::default();
        {
            let mut sink = Sink::new(&mut app, 5, &mut cache);
            sink.sample("m", &[("device", "a")], 1.0);
            sink.sample("m", &[("device", "b")], 2.0);
        }
        cache.sweep();
        assert_eq!(cache.len(), 2);
        {
            let mut sink = Sink::new(&mut app, 6, &mut cache);
            sink.sample("m", &[("device", "a")], 3.0);
        }
        cache.sweep();
        assert_eq!(cache.len(), 1);
        assert_eq!(app.samples.len(), 3);
        assert_eq!(app.samples[2].0.to_string(), r#"m{device="a"}"#);
        assert_eq!(app.samples[2].1, 6);
    }
}
