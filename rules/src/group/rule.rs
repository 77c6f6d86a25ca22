//! One rule inside a group: its definition, what it did last time, and its
//! identity across reloads and restarts.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use warden_tsdb::Labels;

use super::status::RuleHealth;
use crate::alerting::generator_url;
use crate::alerting::rule::AlertingRule;
use crate::promql::parse_expr;
use crate::rulefmt::{RuleDef, RuleKind};
use crate::xxhash::xxh64;

/// What a rule does with its result.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Writes the result under `name`.
    Recording,
    /// Keeps alerts.
    Alerting(AlertingRule),
}

/// A rule and its bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// Recorded metric or alert name.
    pub name: String,
    /// The expression as written (what is queried).
    pub expr: String,
    /// The expression as Prometheus prints it (API, generator URL).
    pub query: String,
    /// Group labels overridden by rule labels, in name order.
    pub labels: Vec<(String, String)>,
    /// Hash of everything that defines the rule (see [`definition_hash`]).
    pub definition: u64,
    /// Link sent with this rule's alerts.
    pub generator_url: String,
    /// Recording or alerting.
    pub kind: Kind,
    pub health: RuleHealth,
    pub last_error: Option<String>,
    pub last_evaluation_ms: Option<i64>,
    pub evaluation_duration: Duration,
    pub failures_total: u64,
    /// Series written by the last successful evaluation, for stale markers.
    pub previous: HashSet<Labels>,
}

impl Rule {
    /// Builds a rule of a group whose labels are `group_labels`.
    pub(crate) fn new(
        def: &RuleDef,
        group_labels: &BTreeMap<String, String>,
        external_url: &str,
    ) -> Rule {
        let mut merged = group_labels.clone();
        merged.extend(def.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        let labels: Vec<(String, String)> = merged.into_iter().collect();
        let query = parse_expr(&def.expr)
            .map(|e| e.to_string())
            .unwrap_or_else(|_| def.expr.clone());
        let kind = match &def.kind {
            RuleKind::Recording { .. } => Kind::Recording,
            RuleKind::Alerting {
                alert,
                for_ms,
                keep_firing_for_ms,
                annotations,
            } => Kind::Alerting(AlertingRule {
                name: alert.clone(),
                for_ms: *for_ms,
                keep_firing_for_ms: *keep_firing_for_ms,
                labels: labels.clone(),
                annotations: annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                active: Default::default(),
            }),
        };
        Rule {
            name: def.name().to_string(),
            definition: definition_hash(def, &labels),
            generator_url: generator_url(external_url, &query),
            expr: def.expr.clone(),
            query,
            labels,
            kind,
            health: RuleHealth::Unknown,
            last_error: None,
            last_evaluation_ms: None,
            evaluation_duration: Duration::ZERO,
            failures_total: 0,
            previous: HashSet::new(),
        }
    }

    /// The rule's labels as a label set (empty values dropped).
    pub(crate) fn label_set(&self) -> Labels {
        Labels::from_pairs(self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .unwrap_or_default()
    }
}

/// A stable hash of a rule's definition: kind, name, expression, effective
/// labels, and for alerting rules `for`, `keep_firing_for` and annotations.
/// Saved alert state and reloaded state attach to a rule only when this
/// matches, so an edited rule never inherits alerts it did not produce.
/// XXH64 over a length-prefixed encoding, so it is the same on every build.
pub(crate) fn definition_hash(def: &RuleDef, labels: &[(String, String)]) -> u64 {
    let mut buf = Vec::new();
    let mut put = |s: &str| {
        buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
        buf.extend_from_slice(s.as_bytes());
    };
    match &def.kind {
        RuleKind::Recording { record } => {
            put("record");
            put(record);
            put(&def.expr);
            put(&labels.len().to_string());
            for (k, v) in labels {
                put(k);
                put(v);
            }
        }
        RuleKind::Alerting {
            alert,
            for_ms,
            keep_firing_for_ms,
            annotations,
        } => {
            put("alert");
            put(alert);
            put(&def.expr);
            put(&for_ms.to_string());
            put(&keep_firing_for_ms.to_string());
            for (k, v) in labels {
                put(k);
                put(v);
            }
            put(&annotations.len().to_string());
            for (k, v) in annotations {
                put(k);
                put(v);
            }
        }
    }
    xxh64(&buf)
}
