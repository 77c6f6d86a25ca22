//! What a group tells the outside about itself: the data behind
//! `/api/v1/rules`, `/api/v1/alerts` and the `warden_rule_*` metrics.

use std::time::Duration;

use warden_tsdb::Labels;

use crate::alerting::{Alert, AlertState};

/// A snapshot of one group after its last evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStatus {
    /// The group's name.
    pub name: String,
    /// The file it was loaded from.
    pub file: String,
    /// Evaluation interval, ms.
    pub interval_ms: i64,
    /// How far in the past the rules query, ms.
    pub query_offset_ms: i64,
    /// Most series (recording) or alerts (alerting) a rule may produce; 0: none.
    pub limit: u64,
    /// The evaluation time of the last evaluation.
    pub last_evaluation_ms: Option<i64>,
    /// How long the last evaluation took.
    pub last_duration: Duration,
    /// Samples the rules produced in the last evaluation.
    pub last_samples: u64,
    /// The rules, in evaluation order.
    pub rules: Vec<RuleStatus>,
}

/// A snapshot of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleStatus {
    /// The recorded metric or the alert name.
    pub name: String,
    /// The expression, printed as Prometheus prints it.
    pub query: String,
    /// The rule's labels (group labels overridden by the rule's), unexpanded.
    pub labels: Labels,
    /// Whether the last evaluation succeeded.
    pub health: RuleHealth,
    /// The last evaluation's error.
    pub last_error: Option<String>,
    /// The evaluation time of the last evaluation.
    pub last_evaluation_ms: Option<i64>,
    /// How long the last evaluation took.
    pub evaluation_duration: Duration,
    /// Failed evaluations since the rule was loaded (kept across reloads).
    pub evaluation_failures_total: u64,
    /// Recording or alerting, with the alerting rule's state.
    pub kind: RuleStatusKind,
}

/// A rule's health, as Prometheus reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleHealth {
    /// Not evaluated yet.
    #[default]
    Unknown,
    /// The last evaluation succeeded.
    Ok,
    /// The last evaluation failed.
    Err,
}

impl RuleHealth {
    /// The API's name for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            RuleHealth::Unknown => "unknown",
            RuleHealth::Ok => "ok",
            RuleHealth::Err => "err",
        }
    }
}

/// What only one kind of rule has.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleStatusKind {
    /// A recording rule.
    Recording,
    /// An alerting rule and its alerts.
    Alerting {
        /// Its `for`, ms.
        for_ms: i64,
        /// Its `keep_firing_for`, ms.
        keep_firing_for_ms: i64,
        /// Annotation templates, unexpanded.
        annotations: Labels,
        /// The highest state of its alerts.
        state: AlertState,
        /// Its active alerts (resolved ones still kept included), by labels.
        alerts: Vec<Alert>,
    },
}
