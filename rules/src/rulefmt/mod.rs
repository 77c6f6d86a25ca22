//! Prometheus rule files: loading and validation.
//!
//! Users bring rule files written for Prometheus, so warden reads exactly
//! that format (`groups:` with recording and alerting rules) and checks it
//! as promtool does, with the same messages, but always with the file,
//! line and column of the problem. Unknown fields are errors, as in
//! promtool; [`LoadOptions::lenient`] additionally accepts the group fields
//! vmalert adds, so rule files shared with vmalert load too.

mod duration;
mod lint;
mod raw;
mod unknown;
mod validate;
pub(crate) mod yaml;

pub use lint::{DuplicateRule, duplicate_rules};

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use duration::parse_duration_ms;

/// A place in a rule file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A loaded, valid rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    /// The path the file was read from, as given.
    pub path: String,
    /// Its groups, in file order.
    pub groups: Vec<RuleGroup>,
}

impl RuleFile {
    /// Number of rules in all groups.
    pub fn rule_count(&self) -> usize {
        self.groups.iter().map(|g| g.rules.len()).sum()
    }
}

/// One `groups:` entry: rules evaluated in order at one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    /// Unique within its file.
    pub name: String,
    /// Evaluation interval; `None` means the global `evaluation_interval`.
    pub interval_ms: Option<i64>,
    /// How far in the past queries are evaluated; `None` means the global default.
    pub query_offset_ms: Option<i64>,
    /// Most series a rule may produce (0: no limit).
    pub limit: u64,
    /// Labels added to every rule's output (the rule's own labels win).
    pub labels: BTreeMap<String, String>,
    /// The rules, in evaluation order.
    pub rules: Vec<RuleDef>,
    /// Where the group starts.
    pub position: Position,
}

/// One rule as written.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    /// Recording or alerting, with the fields only that kind has.
    pub kind: RuleKind,
    /// The PromQL expression.
    pub expr: String,
    /// Labels to add or override (templates, for alerting rules).
    pub labels: BTreeMap<String, String>,
    /// Where the rule starts.
    pub position: Position,
}

impl RuleDef {
    /// The recorded metric name or the alert name.
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Recording { record } => record,
            RuleKind::Alerting { alert, .. } => alert,
        }
    }
}

/// The two kinds of rule.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// Writes the expression's result as a new series.
    Recording {
        /// The metric name to record under.
        record: String,
    },
    /// Fires an alert for each element of the expression's result.
    Alerting {
        /// The alert name.
        alert: String,
        /// How long an element must be present before the alert fires.
        for_ms: i64,
        /// How long the alert keeps firing after the element disappears.
        keep_firing_for_ms: i64,
        /// Annotation templates.
        annotations: BTreeMap<String, String>,
    },
}

/// How strictly to read rule files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Accept vmalert's extra group fields (`eval_offset`, `eval_delay`,
    /// `concurrency`, `params`, `headers`, `notifier_headers`, `type`,
    /// `eval_alignment`, `debug`, `update_entries_limit`) and ignore them.
    pub lenient: bool,
    /// Ignore every field the format does not know, at any level, as
    /// promtool's `--ignore-unknown-fields` does (rule files that carry
    /// their own bookkeeping fields, such as `namespace` or `ownership`).
    pub ignore_unknown_fields: bool,
}

/// One problem in a rule file, worded as promtool words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// The file.
    pub file: String,
    /// Where, when known.
    pub position: Option<Position>,
    /// `group "g", rule 2, "name"` when the problem is in a rule.
    pub context: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file)?;
        if let Some(p) = self.position {
            write!(f, " {p}:")?;
        }
        if let Some(c) = &self.context {
            write!(f, " {c}:")?;
        }
        write!(f, " {}", self.message)
    }
}

/// Why a rule file could not be loaded: every problem found, so one run
/// of `warden check rules` reports them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct RuleFileErrors {
    /// The problems, in file order.
    pub errors: Vec<RuleError>,
}

/// Parses and validates rule-file text; `path` is used in messages only.
pub fn parse(path: &str, text: &str, options: LoadOptions) -> Result<RuleFile, RuleFileErrors> {
    let raw = if options.ignore_unknown_fields {
        unknown::from_str_ignoring_unknown(path, text)
    } else {
        yaml::from_str::<raw::RawFile>(path, text)
    }
    .map_err(|e| RuleFileErrors { errors: vec![e] })?;
    validate::validate(path, raw, options)
}

/// Reads, parses and validates one rule file.
pub fn load(path: &Path, options: LoadOptions) -> Result<RuleFile, RuleFileErrors> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| RuleFileErrors {
        errors: vec![RuleError {
            file: name.clone(),
            position: None,
            context: None,
            message: format!("cannot read the file: {e}"),
        }],
    })?;
    parse(&name, &text, options)
}

#[cfg(test)]
mod tests;
