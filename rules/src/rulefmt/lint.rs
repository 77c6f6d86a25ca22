//! promtool's rule-file lints: problems that do not make a file invalid
//! but that an SRE wants to hear about before the file goes live.

use std::collections::BTreeMap;

use super::RuleFile;

/// A name and label set that more than one rule of a file produces. Two
/// recording rules like that write over each other's series; two alerting
/// rules like that fire indistinguishable alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateRule {
    /// The recorded metric name or the alert name.
    pub name: String,
    /// The labels the rules add, group labels included (the rule's win),
    /// sorted by name.
    pub labels: Vec<(String, String)>,
}

/// promtool's `--lint=duplicate-rules`: every name-and-labels pair written
/// by two or more rules anywhere in the file (across groups, as promtool
/// compares them), once each, in promtool's order (by name, then labels).
pub fn duplicate_rules(file: &RuleFile) -> Vec<DuplicateRule> {
    let mut counts: BTreeMap<(String, Vec<(String, String)>), usize> = BTreeMap::new();
    for group in &file.groups {
        for rule in &group.rules {
            let mut labels = group.labels.clone();
            labels.extend(rule.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            *counts
                .entry((rule.name().to_string(), labels.into_iter().collect()))
                .or_default() += 1;
        }
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((name, labels), _)| DuplicateRule { name, labels })
        .collect()
}
