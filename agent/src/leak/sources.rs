//! Which series the live detector follows at one evaluation, what their
//! outputs are labelled and what limit each grows toward.
//!
//! Discovery reads only a short recent range (the lookback); each tracked
//! series' window is then read on its own ([`read_window`]), so at most one
//! window of samples is in memory at a time.

use std::collections::{BTreeMap, HashSet};

use warden_tsdb::labels::METRIC_NAME;
use warden_tsdb::{Labels, Matcher, Querier, QueryError, Sample, is_stale_nan};

use crate::config::{LeakDetectionConfig, SELF_GROUP, Selector};

/// The process collector's resident memory per group.
const GROUP_RSS: &str = "namedprocess_namegroup_memory_bytes";
/// The process collector's limit per group.
const GROUP_LIMIT: &str = "warden_process_memory_limit_bytes";
/// warden's own resident memory.
const SELF_RSS: &str = "process_resident_memory_bytes";
/// The host's memory, the limit of last resort.
const MEM_TOTAL: &str = "node_memory_MemTotal_bytes";
/// Filesystem space free for unprivileged users, and the size.
const FS_AVAIL: &str = "node_filesystem_avail_bytes";
const FS_SIZE: &str = "node_filesystem_size_bytes";

/// One memory series to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct MemorySource {
    /// The stored series it reads.
    pub input: Labels,
    /// Labels of its outputs (without `__name__`).
    pub output: Labels,
    /// The limit it grows toward, when one is known.
    pub limit: Option<f64>,
    /// A value of 0 means "no process" (a process group with no member,
    /// as the process collector writes it), not a measurement.
    pub zero_is_absent: bool,
}

/// One filesystem to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct FilesystemSource {
    /// Its `node_filesystem_avail_bytes` series.
    pub input: Labels,
    /// Labels of its output (`device`, `fstype`, `mountpoint`).
    pub output: Labels,
    /// Its size, when known.
    pub size: Option<f64>,
}

/// What one discovery found.
#[derive(Debug, Default)]
pub struct Found {
    /// Memory series, in order of precedence (groups, warden, selectors).
    pub memory: Vec<MemorySource>,
    /// Filesystems.
    pub filesystems: Vec<FilesystemSource>,
    /// Series left out because `max_series` was reached.
    pub over_limit: usize,
    /// Series left out because an earlier one has the same output labels.
    pub duplicates: usize,
}

/// The configured sources.
#[derive(Debug, Clone)]
pub struct Sources {
    groups: Option<Vec<String>>,
    self_process: bool,
    series: Vec<(Selector, Option<f64>)>,
    limits: BTreeMap<String, f64>,
    filesystems: bool,
    max_series: usize,
}

impl Sources {
    /// The sources `cfg` asks for.
    pub fn new(cfg: &LeakDetectionConfig) -> Sources {
        Sources {
            groups: cfg.process_groups.clone(),
            self_process: cfg.self_process,
            series: cfg
                .series
                .iter()
                .map(|s| (s.selector.clone(), s.limit.map(|b| b.0 as f64)))
                .collect(),
            limits: cfg
                .limits
                .iter()
                .map(|(k, v)| (k.clone(), v.0 as f64))
                .collect(),
            filesystems: cfg.filesystems,
            max_series: cfg.max_series,
        }
    }

    /// The series present in `[from_ms, now_ms]` (with at least one sample
    /// that is not a staleness marker), with their limits.
    pub fn discover(
        &self,
        q: &dyn Querier,
        from_ms: i64,
        now_ms: i64,
    ) -> Result<Found, QueryError> {
        let present =
            |ms: Vec<Matcher>, zero_is_absent: bool| -> Result<Vec<(Labels, f64)>, QueryError> {
                Ok(q.select(&ms, from_ms, now_ms)?
                    .into_iter()
                    .filter_map(|s| last_value(&s.samples, zero_is_absent).map(|v| (s.labels, v)))
                    .collect())
            };
        let recent = |ms: Vec<Matcher>| present(ms, false);
        let named = |n: &str| vec![Matcher::equal(METRIC_NAME, n)];
        let mem_total = recent(named(MEM_TOTAL))?.first().map(|(_, v)| *v);
        let mut found = Found::default();
        let mut outputs: HashSet<Labels> = HashSet::new();
        let mut budget = self.max_series;
        let mut admit = |output: &Labels, found: &mut Found| -> bool {
            if outputs.contains(output) {
                found.duplicates += 1;
                return false;
            }
            if budget == 0 {
                found.over_limit += 1;
                return false;
            }
            budget -= 1;
            outputs.insert(output.clone());
            true
        };

        let group_limits: BTreeMap<String, f64> = recent(named(GROUP_LIMIT))?
            .into_iter()
            .filter_map(|(l, v)| Some((l.get("groupname")?.to_string(), v)))
            .collect();
        let mut rss = named(GROUP_RSS);
        rss.push(Matcher::equal("memtype", "resident"));
        for (input, _) in present(rss, true)? {
            let Some(group) = input.get("groupname") else {
                continue;
            };
            if self
                .groups
                .as_ref()
                .is_some_and(|g| !g.iter().any(|n| n == group))
            {
                continue;
            }
            let limit = self
                .limits
                .get(group)
                .or_else(|| group_limits.get(group))
                .copied();
            let output = group_labels(group);
            if admit(&output, &mut found) {
                found.memory.push(MemorySource {
                    input,
                    output,
                    limit,
                    zero_is_absent: true,
                });
            }
        }
        if self.self_process
            && let Some((input, _)) = recent(named(SELF_RSS))?.into_iter().next()
        {
            let output = group_labels(SELF_GROUP);
            let limit = self.limits.get(SELF_GROUP).copied().or(mem_total);
            if admit(&output, &mut found) {
                found.memory.push(MemorySource {
                    input,
                    output,
                    limit,
                    zero_is_absent: false,
                });
            }
        }
        for (selector, limit) in &self.series {
            for (input, _) in recent(selector.matchers.clone())? {
                let output = without_name(&input);
                if admit(&output, &mut found) {
                    found.memory.push(MemorySource {
                        input,
                        output,
                        limit: limit.or(mem_total),
                        zero_is_absent: false,
                    });
                }
            }
        }
        if self.filesystems {
            let sizes: BTreeMap<Labels, f64> = recent(named(FS_SIZE))?
                .into_iter()
                .map(|(l, v)| (without_name(&l), v))
                .collect();
            for (input, _) in recent(named(FS_AVAIL))? {
                let output = without_name(&input);
                if admit(&output, &mut found) {
                    found.filesystems.push(FilesystemSource {
                        size: sizes.get(&output).copied(),
                        input,
                        output,
                    });
                }
            }
        }
        Ok(found)
    }
}

/// The samples of exactly the series `labels` in `[from_ms, now_ms]`.
pub fn read_window(
    q: &dyn Querier,
    labels: &Labels,
    from_ms: i64,
    now_ms: i64,
) -> Result<Vec<Sample>, QueryError> {
    let matchers: Vec<Matcher> = labels
        .iter()
        .map(|l| Matcher::equal(l.name.clone(), l.value.clone()))
        .collect();
    Ok(q.select(&matchers, from_ms, now_ms)?
        .into_iter()
        .find(|s| &s.labels == labels)
        .map(|s| s.samples)
        .unwrap_or_default())
}

/// The newest value of a series that is present: its newest sample is not
/// a staleness marker (a stale series is gone, whatever it held before),
/// and with `zero_is_absent`, the newest non-zero value (a group that has
/// had no process for the whole lookback is gone too).
fn last_value(samples: &[Sample], zero_is_absent: bool) -> Option<f64> {
    let last = samples.last()?;
    if is_stale_nan(last.v) {
        return None;
    }
    if !zero_is_absent {
        return Some(last.v);
    }
    samples.iter().rev().map(|s| s.v).find(|v| *v != 0.0)
}

/// Drops the samples that say "no process" rather than measure one: the
/// detector then sees a hole, which is what it was (a hole longer than its
/// restart rule's gap starts a new life).
pub fn drop_absent(samples: &mut Vec<Sample>, zero_is_absent: bool) {
    if zero_is_absent {
        samples.retain(|s| s.v != 0.0);
    }
}

/// `{groupname="…"}`.
fn group_labels(group: &str) -> Labels {
    let mut b = warden_tsdb::LabelsBuilder::new();
    b.push("groupname", group);
    b.build().unwrap_or_default()
}

/// The labels without the metric name.
fn without_name(l: &Labels) -> Labels {
    let mut b = l.to_builder();
    b.remove(METRIC_NAME);
    b.build().unwrap_or_default()
}
