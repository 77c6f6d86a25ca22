//! Label sets: the identity of a series.
//!
//! A [`Labels`] value is sorted by name, has no duplicate names and no empty
//! values (Prometheus treats an empty value as an absent label), and is
//! immutable. It is a reference-counted slice, so cloning it into the index,
//! a query result and an alert costs one atomic increment.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// The label name.
    pub name: String,
    /// The label value; never empty inside a [`Labels`].
    pub value: String,
}

/// Why a label set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelsError {
    /// The same name appeared twice.
    #[error("duplicate label name {0:?}")]
    Duplicate(String),
    /// A name was empty.
    #[error("empty label name")]
    EmptyName,
    /// A name does not follow Prometheus's label-name rules.
    #[error("invalid label name {0:?}")]
    InvalidName(String),
}

/// A sorted, validated, immutable set of labels.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Labels(Arc<[Label]>);

impl Labels {
    /// The empty label set.
    pub fn empty() -> Labels {
        Labels(Arc::from(Vec::new()))
    }

    /// Builds a label set from pairs in any order.
    ///
    /// Empty values are dropped; duplicate or empty names are errors. Names
    /// are checked with [`is_valid_label_name`] (Prometheus 3 accepts any
    /// UTF-8 name, so only emptiness is refused here; callers that need the
    /// legacy character set check it themselves).
    pub fn from_pairs<N, V, I>(pairs: I) -> Result<Labels, LabelsError>
    where
        N: Into<String>,
        V: Into<String>,
        I: IntoIterator<Item = (N, V)>,
    {
        let mut builder = LabelsBuilder::new();
        for (name, value) in pairs {
            builder.push(name, value);
        }
        builder.build()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// The labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// The labels as a slice, in name order.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// A builder seeded with these labels, for deriving a new set.
    pub fn to_builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            pairs: self.0.to_vec(),
        }
    }

    /// A stable 64-bit hash of the label set (FNV-1a over names and values
    /// with separators), used for series identity and fingerprints.
    ///
    /// Identity must not rest on the hash alone: the head compares the full
    /// label sets of series that share a hash.
    pub fn stable_hash(&self) -> u64 {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut h = OFFSET;
        for l in self.0.iter() {
            for b in l
                .name
                .bytes()
                .chain([0xff])
                .chain(l.value.bytes())
                .chain([0xff])
            {
                h ^= u64::from(b);
                h = h.wrapping_mul(PRIME);
            }
        }
        h
    }
}

impl Default for Labels {
    fn default() -> Self {
        Labels::empty()
    }
}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Display for Labels {
    /// Prints the label set the way Prometheus does: `name{a="1", b="2"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name();
        if let Some(n) = name {
            f.write_str(n)?;
        }
        let mut rest = self.0.iter().filter(|l| l.name != METRIC_NAME).peekable();
        if rest.peek().is_none() && name.is_some() {
            return Ok(());
        }
        f.write_str("{")?;
        let mut first = true;
        for l in rest {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Collects label pairs and produces a validated [`Labels`].
#[derive(Debug, Default, Clone)]
pub struct LabelsBuilder {
    pairs: Vec<Label>,
}

impl LabelsBuilder {
    /// An empty builder.
    pub fn new() -> LabelsBuilder {
        LabelsBuilder::default()
    }

    /// Adds a pair; a later [`set`](Self::set) of the same name replaces it,
    /// a second `push` of the same name is reported by [`build`](Self::build).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.pairs.push(Label {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Sets `name` to `value`, replacing any earlier value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        match self.pairs.iter_mut().find(|l| l.name == name) {
            Some(l) => l.value = value,
            None => self.pairs.push(Label {
                name: name.to_string(),
                value,
            }),
        }
        self
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.pairs.retain(|l| l.name != name);
        self
    }

    /// Keeps only the labels whose name satisfies `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) -> &mut Self {
        self.pairs.retain(|l| keep(&l.name));
        self
    }

    /// Sorts, drops empty values, and refuses duplicate or empty names.
    pub fn build(mut self) -> Result<Labels, LabelsError> {
        self.pairs.retain(|l| !l.value.is_empty());
        self.pairs.sort_by(|a, b| a.name.cmp(&b.name));
        for w in self.pairs.windows(2) {
            if w[0].name == w[1].name {
                return Err(LabelsError::Duplicate(w[0].name.clone()));
            }
        }
        if self.pairs.iter().any(|l| l.name.is_empty()) {
            return Err(LabelsError::EmptyName);
        }
        Ok(Labels(Arc::from(self.pairs)))
    }
}

/// Whether `name` is a label name in Prometheus's classic character set
/// (`[a-zA-Z_][a-zA-Z0-9_]*`), which rule files and promtool still require.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `name` is a metric name in Prometheus's classic character set
/// (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_without_empty_values() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", "")]).unwrap();
        let names: Vec<_> = l.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(l.get("a"), Some("1"));
        assert_eq!(l.get("c"), None);
    }

    #[test]
    fn duplicate_names_are_refused() {
        let err = Labels::from_pairs([("a", "1"), ("a", "2")]).unwrap_err();
        assert_eq!(err, LabelsError::Duplicate("a".into()));
    }

    #[test]
    fn display_matches_prometheus() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "node")]).unwrap();
        assert_eq!(l.to_string(), r#"up{job="node"}"#);
        let l = Labels::from_pairs([("job", "node")]).unwrap();
        assert_eq!(l.to_string(), r#"{job="node"}"#);
    }

    #[test]
    fn classic_name_rules() {
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name("a:b"));
        assert!(is_valid_metric_name("a:b"));
        assert!(!is_valid_metric_name(""));
    }
}
