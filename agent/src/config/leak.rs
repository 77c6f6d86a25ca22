//! The `leak_detection:` section: which memory series the live leak
//! detector follows, how often and over how much history, and the
//! filesystems' time-to-full. See `docs/leak-detection.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use warden_tsdb::Matcher;

use super::{ByteSize, PromDuration, null_as_default, positive_duration};

/// The name under which warden's own resident memory is tracked
/// (`groupname="warden"` on the output series).
pub const SELF_GROUP: &str = "warden";

/// Live leak and growth-trend detection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeakDetectionConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Time between two evaluations of every tracked series (1m).
    #[serde(deserialize_with = "positive_duration")]
    pub evaluation_interval: PromDuration,
    /// History each evaluation looks at (6h).
    #[serde(deserialize_with = "positive_duration")]
    pub window: PromDuration,
    /// A growth is a leak when the highest peaks reach the limit within
    /// this (24h); slower growth is reported as growth only.
    #[serde(deserialize_with = "positive_duration")]
    pub horizon: PromDuration,
    /// Growth slower than this is never reported (277.78 = 1 MB/h).
    #[serde(deserialize_with = "non_negative_rate")]
    pub min_growth_bytes_per_second: f64,
    /// Process groups (of `collectors.process.groups`) to follow; absent
    /// means every group.
    #[serde(deserialize_with = "null_as_default")]
    pub process_groups: Option<Vec<String>>,
    /// Whether warden's own resident memory is followed (as
    /// `groupname="warden"`).
    #[serde(rename = "self")]
    pub self_process: bool,
    /// Further memory series to follow, by selector.
    #[serde(deserialize_with = "null_as_default")]
    pub series: Vec<ExtraSeries>,
    /// Memory limit per process group (or `warden`), overriding the one the
    /// process collector finds.
    #[serde(deserialize_with = "null_as_default")]
    pub limits: BTreeMap<String, ByteSize>,
    /// Whether filesystems get `warden_filesystem_time_to_full_seconds`.
    pub filesystems: bool,
    /// History each filesystem evaluation looks at (12h).
    #[serde(deserialize_with = "positive_duration")]
    pub filesystem_window: PromDuration,
    /// At most this many series (memory and filesystems together) are
    /// tracked; the rest are counted, not evaluated.
    #[serde(deserialize_with = "positive_count")]
    pub max_series: usize,
    /// For tests and demonstrations with processes that play their memory
    /// pattern K times faster than real time: every duration of the
    /// detector is divided by K and rates multiplied by K (default 1).
    #[serde(deserialize_with = "compression")]
    pub time_compression: f64,
}

impl Default for LeakDetectionConfig {
    fn default() -> Self {
        LeakDetectionConfig {
            enabled: true,
            evaluation_interval: PromDuration(Duration::from_secs(60)),
            window: PromDuration(Duration::from_secs(6 * 3600)),
            horizon: PromDuration(Duration::from_secs(24 * 3600)),
            min_growth_bytes_per_second: 1e6 / 3600.0,
            process_groups: None,
            self_process: true,
            series: Vec::new(),
            limits: BTreeMap::new(),
            filesystems: true,
            filesystem_window: PromDuration(Duration::from_secs(12 * 3600)),
            max_series: 2000,
            time_compression: 1.0,
        }
    }
}

/// One more memory series to follow: every series the selector matches is
/// tracked on its own, its outputs labelled with its labels (without
/// `__name__`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraSeries {
    /// A series selector such as `container_memory_working_set_bytes{container="api"}`.
    pub selector: Selector,
    /// The limit the series grows toward (default: the host's memory,
    /// `node_memory_MemTotal_bytes`).
    #[serde(default)]
    pub limit: Option<ByteSize>,
}

/// A series selector, checked when the file is read.
#[derive(Debug, Clone)]
pub struct Selector {
    /// The parsed matchers.
    pub matchers: Vec<Matcher>,
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let matchers = crate::api::parse_selector(&text).map_err(|e| {
            de::Error::custom(format!(
                "selector {text:?} is not a series selector: {}",
                e.0
            ))
        })?;
        Ok(Selector { matchers })
    }
}

fn non_negative_rate<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(de::Error::custom(format!(
            "{v} is not a rate (expected bytes per second, 0 or more)"
        )));
    }
    Ok(v)
}

fn positive_count<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let v = usize::deserialize(d)?;
    if v == 0 {
        return Err(de::Error::custom("must be greater than 0"));
    }
    Ok(v)
}

fn compression<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && v >= 1.0) {
        return Err(de::Error::custom(format!(
            "time_compression {v}: expected a number of 1 or more"
        )));
    }
    Ok(v)
}

impl LeakDetectionConfig {
    /// Checks against the process groups that exist: named groups must be
    /// configured, limits must name a tracked group, and no group may take
    /// the name warden's own series go by.
    pub(super) fn validate(&self, groups: &[super::ProcessGroup]) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        let known = |n: &str| groups.iter().any(|g| g.name == n);
        if self.self_process && known(SELF_GROUP) {
            return Err(format!(
                "leak_detection: process group {SELF_GROUP:?} clashes with warden's own memory series \
                 (tracked as groupname=\"{SELF_GROUP}\"); rename the group or set leak_detection.self: false"
            ));
        }
        for name in self.process_groups.iter().flatten() {
            if !known(name) {
                return Err(format!(
                    "leak_detection.process_groups: {name:?} is not a group of collectors.process.groups"
                ));
            }
        }
        for name in self.limits.keys() {
            let tracked = if name == SELF_GROUP {
                self.self_process
            } else {
                known(name)
                    && self
                        .process_groups
                        .as_ref()
                        .is_none_or(|l| l.iter().any(|n| n == name))
            };
            if !tracked {
                return Err(format!(
                    "leak_detection.limits: {name:?} is not a tracked process group"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ConfigError, load_default, parse};
    use std::time::Duration;

    fn err(text: &str) -> (Option<u64>, String) {
        match parse("test.yml", text).unwrap_err() {
            ConfigError::Invalid { line, message, .. } => (line, message),
            other => panic!("unexpected error {other}"),
        }
    }

    const GROUPS: &str = "collectors:\n  process:\n    groups:\n      - {name: api, comm: [api]}\n";

    #[test]
    fn the_embedded_default_enables_it_with_the_documented_defaults() {
        let c = load_default().unwrap().leak_detection;
        assert!(c.enabled && c.self_process && c.filesystems);
        assert_eq!(c.window.get(), Duration::from_secs(6 * 3600));
        assert_eq!(c.evaluation_interval.get(), Duration::from_secs(60));
        assert_eq!(c.horizon.get(), Duration::from_secs(24 * 3600));
        assert!(c.process_groups.is_none());
        assert_eq!(c.time_compression, 1.0);
    }

    #[test]
    fn every_key_is_read() {
        let text = format!(
            "{GROUPS}leak_detection:\n  enabled: true\n  evaluation_interval: 30s\n  window: 3h\n  horizon: 2d\n  \
             min_growth_bytes_per_second: 1000\n  process_groups: [api]\n  self: false\n  series:\n    \
             - selector: 'container_memory_working_set_bytes{{container=\"db\"}}'\n      limit: 4GB\n  \
             limits:\n    api: 2GB\n  filesystems: false\n  filesystem_window: 1d\n  max_series: 10\n  time_compression: 60\n"
        );
        let c = parse("x", &text).unwrap().leak_detection;
        assert_eq!(c.evaluation_interval.get(), Duration::from_secs(30));
        assert_eq!(c.window.get(), Duration::from_secs(3 * 3600));
        assert_eq!(c.horizon.get(), Duration::from_secs(48 * 3600));
        assert_eq!(c.min_growth_bytes_per_second, 1000.0);
        assert_eq!(c.process_groups, Some(vec!["api".to_string()]));
        assert!(!c.self_process && !c.filesystems);
        assert_eq!(c.series.len(), 1);
        assert_eq!(c.series[0].selector.matchers.len(), 2);
        assert_eq!(c.series[0].limit.map(|b| b.0), Some(4 << 30));
        assert_eq!(c.limits["api"].0, 2 << 30);
        assert_eq!(c.filesystem_window.get(), Duration::from_secs(24 * 3600));
        assert_eq!(c.max_series, 10);
        assert_eq!(c.time_compression, 60.0);
    }

    #[test]
    fn bad_values_name_their_line() {
        for (text, line, want) in [
            ("leak_detection:\n  window: 0\n", 2, "greater than 0"),
            ("leak_detection:\n  windw: 6h\n", 2, "unknown field"),
            (
                "leak_detection:\n  series:\n    - selector: 'sum(x)'\n",
                3,
                "not a series selector",
            ),
            ("leak_detection:\n  time_compression: 0.5\n", 2, "1 or more"),
            (
                "leak_detection:\n  min_growth_bytes_per_second: -1\n",
                2,
                "not a rate",
            ),
            ("leak_detection:\n  max_series: 0\n", 2, "greater than 0"),
        ] {
            let (l, msg) = err(text);
            assert_eq!(l, Some(line), "{text:?}: {msg}");
            assert!(msg.contains(want), "{text:?}: got {msg:?}, want {want:?}");
        }
    }

    #[test]
    fn names_must_be_tracked_groups() {
        for (text, want) in [
            (
                format!("{GROUPS}leak_detection:\n  process_groups: [web]\n"),
                "\"web\" is not a group",
            ),
            (
                format!("{GROUPS}leak_detection:\n  limits:\n    web: 1GB\n"),
                "\"web\" is not a tracked process group",
            ),
            (
                format!("{GROUPS}leak_detection:\n  self: false\n  limits:\n    warden: 1GB\n"),
                "\"warden\" is not a tracked",
            ),
            (
                "collectors:\n  process:\n    groups:\n      - {name: warden, comm: [w]}\n"
                    .to_string(),
                "clashes with warden's own",
            ),
        ] {
            let (_, msg) = err(&text);
            assert!(msg.contains(want), "{text:?}: got {msg:?}, want {want:?}");
        }
        let ok = format!("{GROUPS}leak_detection:\n  limits:\n    api: 1GB\n    warden: 512MB\n");
        assert!(parse("x", &ok).is_ok());
    }
}
