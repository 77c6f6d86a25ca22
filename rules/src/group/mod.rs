//! Rule groups: rules evaluated in order at one interval, as Prometheus 3.x
//! evaluates them.
//!
//! At each evaluation time `ts` every rule queries at `ts − query_offset`
//! and its output is written with that timestamp. Recording rules write
//! their renamed result; alerting rules move their alerts along the state
//! machine ([`crate::alerting`]) and write `ALERTS` / `ALERTS_FOR_STATE`.
//! A series a rule wrote last time and not this time gets a staleness
//! marker. Each rule's output is committed before the next rule runs, so a
//! rule sees what the rules before it in the group just wrote (as in
//! Prometheus). A failing rule is marked unhealthy and the group goes on.

mod carry;
mod recording;
mod rule;
mod schedule;
mod status;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_tsdb::histogram::FloatHistogram;
use warden_tsdb::{AppendError, Appender, Labels, STALE_NAN};

pub use status::{GroupStatus, RuleHealth, RuleStatus, RuleStatusKind};

use crate::alerting::OutgoingAlert;
use crate::alerting::notify::{mark_sent, needs_sending, to_outgoing};
use crate::promql::{InstantSample, QueryOutput, Value};
use crate::query::QueryFn;
use crate::rulefmt;
use crate::template::{self, TemplateData};
use rule::{Kind, Rule};

/// Settings shared by every group, from the global configuration and flags.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupOptions {
    /// `global.evaluation_interval`, for groups without `interval`.
    pub default_interval_ms: i64,
    /// `global.rule_query_offset`, for groups without `query_offset`.
    pub default_query_offset_ms: i64,
    /// `global.external_labels`, for templates (`$externalLabels`).
    pub external_labels: BTreeMap<String, String>,
    /// The URL warden is reached at, for templates and generator URLs.
    pub external_url: String,
    /// A restart after a longer outage makes `for` start again
    /// (`--rules.alert.for-outage-tolerance`).
    pub outage_tolerance_ms: i64,
    /// Least time between two sends of the same firing alert
    /// (`--rules.alert.resend-delay`).
    pub resend_delay_ms: i64,
}

impl Default for GroupOptions {
    /// Prometheus's defaults: 1m interval, no offset, 1h tolerance, 1m resend delay.
    fn default() -> Self {
        GroupOptions {
            default_interval_ms: 60_000,
            default_query_offset_ms: 0,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            outage_tolerance_ms: 3_600_000,
            resend_delay_ms: 60_000,
        }
    }
}

/// What one evaluation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalReport {
    /// Alerts the sink must send now.
    pub to_send: Vec<OutgoingAlert>,
    /// Samples the rules produced (Prometheus's last_evaluation_samples;
    /// staleness markers not counted).
    pub samples: u64,
    /// How long the evaluation took.
    pub duration: Duration,
    /// Rules that failed in this evaluation.
    pub failed_rules: u64,
}

/// One rule group with its rules' state.
#[derive(Debug, Clone)]
pub struct Group {
    name: String,
    file: String,
    interval_ms: i64,
    query_offset_ms: i64,
    limit: u64,
    offset_ms: i64,
    external_labels: BTreeMap<String, String>,
    external_url: String,
    outage_tolerance_ms: i64,
    resend_delay_ms: i64,
    rules: Vec<Rule>,
    /// Series of rules removed by a reload, to be marked stale once.
    stale_series: Vec<Labels>,
    last_evaluation_ms: Option<i64>,
    last_duration: Duration,
    last_samples: u64,
}

impl Group {
    /// Builds the group `def` of rule file `file` (as loaded by
    /// [`rulefmt`], so already valid).
    pub fn new(file: &str, def: &rulefmt::RuleGroup, opts: &GroupOptions) -> Group {
        let interval_ms = def.interval_ms.unwrap_or(opts.default_interval_ms).max(1);
        Group {
            name: def.name.clone(),
            file: file.to_string(),
            interval_ms,
            query_offset_ms: def.query_offset_ms.unwrap_or(opts.default_query_offset_ms),
            limit: def.limit,
            offset_ms: schedule::offset_ms(file, &def.name, interval_ms),
            external_labels: opts.external_labels.clone(),
            external_url: opts.external_url.clone(),
            outage_tolerance_ms: opts.outage_tolerance_ms,
            resend_delay_ms: opts.resend_delay_ms,
            rules: def
                .rules
                .iter()
                .map(|r| Rule::new(r, &def.labels, &opts.external_url))
                .collect(),
            stale_series: Vec::new(),
            last_evaluation_ms: None,
            last_duration: Duration::ZERO,
            last_samples: 0,
        }
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file the group was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The evaluation interval, ms.
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Prometheus's aligned schedule (offset by a hash of file and name):
    /// the first evaluation timestamp strictly after `after_ms`.
    pub fn next_evaluation_ms(&self, after_ms: i64) -> i64 {
        schedule::next_slot(after_ms, self.interval_ms, self.offset_ms)
    }

    /// Evaluates every rule in order at `ts_ms` (queries at
    /// `ts_ms − query_offset`): appends recording results, `ALERTS` /
    /// `ALERTS_FOR_STATE` and staleness markers through `appender`,
    /// committing after each rule; updates alert states; returns what the
    /// sink must send and the figures for metrics.
    pub fn evaluate(
        &mut self,
        ts_ms: i64,
        query: &dyn QueryFn,
        appender: &mut dyn Appender,
    ) -> EvalReport {
        let started = Instant::now();
        let out_ts = ts_ms - self.query_offset_ms;
        let mut report = EvalReport::default();
        let ctx = EvalContext {
            ts_ms,
            out_ts,
            limit: self.limit,
            interval_ms: self.interval_ms,
            resend_delay_ms: self.resend_delay_ms,
            external_labels: &self.external_labels,
            external_url: &self.external_url,
        };
        for rule in &mut self.rules {
            let rule_started = Instant::now();
            match eval_rule(rule, &ctx, query) {
                Ok(samples) => {
                    rule.health = RuleHealth::Ok;
                    rule.last_error = None;
                    report.samples += samples.len() as u64;
                    if let Kind::Alerting(ar) = &mut rule.kind {
                        let first = report.to_send.len();
                        for a in ar.active.values_mut() {
                            if needs_sending(a, ts_ms, ctx.resend_delay_ms) {
                                mark_sent(a, ts_ms, ctx.interval_ms, ctx.resend_delay_ms);
                                report.to_send.push(to_outgoing(a, &rule.generator_url));
                            }
                        }
                        // Stable order for the sink and for tests.
                        report.to_send[first..].sort_by(|a, b| a.labels.cmp(&b.labels));
                    }
                    if let Err(e) = write_output(rule, samples, out_ts, appender) {
                        rule.health = RuleHealth::Err;
                        rule.last_error = Some(e.to_string());
                        rule.failures_total += 1;
                        report.failed_rules += 1;
                    }
                }
                Err(message) => {
                    tracing::warn!(group = %self.name, rule = %rule.name, error = %message, "evaluating rule failed");
                    rule.health = RuleHealth::Err;
                    rule.last_error = Some(message);
                    rule.failures_total += 1;
                    report.failed_rules += 1;
                }
            }
            rule.last_evaluation_ms = Some(ts_ms);
            rule.evaluation_duration = rule_started.elapsed();
        }
        if !self.stale_series.is_empty() {
            for s in std::mem::take(&mut self.stale_series) {
                let _ = appender.append(&s, out_ts, STALE_NAN);
            }
            if let Err(e) = appender.commit() {
                tracing::warn!(group = %self.name, error = %e, "writing staleness markers failed");
            }
        }
        report.duration = started.elapsed();
        self.last_evaluation_ms = Some(ts_ms);
        self.last_duration = report.duration;
        self.last_samples = report.samples;
        report
    }

    /// Writes a staleness marker at `ts_ms − query_offset` for every series
    /// the group's rules wrote in their last evaluation (and any left by
    /// rules removed in a reload), and forgets them. The agent calls this
    /// for a group a reload removes, so its series end at once instead of
    /// lingering for the lookback window, as Prometheus does.
    pub fn mark_stale(
        &mut self,
        ts_ms: i64,
        appender: &mut dyn Appender,
    ) -> Result<(), AppendError> {
        let t = ts_ms - self.query_offset_ms;
        let mut series = std::mem::take(&mut self.stale_series);
        for rule in &mut self.rules {
            series.extend(rule.previous.drain());
        }
        for s in &series {
            match appender.append(s, t, STALE_NAN) {
                Ok(()) | Err(AppendError::OutOfOrder | AppendError::Duplicate) => {}
                Err(e) => return Err(e),
            }
        }
        appender.commit()
    }

    /// Everything `/api/v1/rules`, `/api/v1/alerts` and the `warden_rule_*`
    /// metrics need.
    pub fn status(&self) -> GroupStatus {
        GroupStatus {
            name: self.name.clone(),
            file: self.file.clone(),
            interval_ms: self.interval_ms,
            query_offset_ms: self.query_offset_ms,
            limit: self.limit,
            last_evaluation_ms: self.last_evaluation_ms,
            last_duration: self.last_duration,
            last_samples: self.last_samples,
            rules: self.rules.iter().map(rule_status).collect(),
        }
    }
}

fn rule_status(r: &Rule) -> RuleStatus {
    let kind = match &r.kind {
        Kind::Recording => RuleStatusKind::Recording,
        Kind::Alerting(ar) => RuleStatusKind::Alerting {
            for_ms: ar.for_ms,
            keep_firing_for_ms: ar.keep_firing_for_ms,
            annotations: Labels::from_pairs(
                ar.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .unwrap_or_default(),
            state: ar.state(),
            alerts: ar.sorted_alerts(),
        },
    };
    RuleStatus {
        name: r.name.clone(),
        query: r.query.clone(),
        labels: r.label_set(),
        health: r.health,
        last_error: r.last_error.clone(),
        last_evaluation_ms: r.last_evaluation_ms,
        evaluation_duration: r.evaluation_duration,
        evaluation_failures_total: r.failures_total,
        kind,
    }
}

/// What every rule of one evaluation shares.
struct EvalContext<'a> {
    ts_ms: i64,
    out_ts: i64,
    limit: u64,
    interval_ms: i64,
    resend_delay_ms: i64,
    external_labels: &'a BTreeMap<String, String>,
    external_url: &'a str,
}

/// One sample a rule writes: a float, or a native histogram (a recording
/// rule over histograms records histograms, as in Prometheus).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Point {
    /// A float value.
    Float(f64),
    /// A native histogram.
    Histogram(Arc<FloatHistogram>),
}

/// Runs one rule's query and turns the result into the samples to write.
fn eval_rule(
    rule: &mut Rule,
    ctx: &EvalContext<'_>,
    query: &dyn QueryFn,
) -> Result<Vec<(Labels, Point)>, String> {
    let output = query
        .instant(&rule.expr, ctx.out_ts)
        .map_err(|e| e.to_string())?;
    let result = as_vector(output)?;
    match &mut rule.kind {
        Kind::Recording => {
            let out =
                recording::record(&rule.name, &rule.labels, result).map_err(|e| e.to_string())?;
            recording::check_limit(out.len(), ctx.limit).map_err(|e| e.to_string())?;
            Ok(out)
        }
        Kind::Alerting(ar) => {
            let mut expander = Expander::new(&ar.name, ctx, query);
            let mut expand = |text: &str, series: &Labels, v: f64| expander.expand(text, series, v);
            let alerts = ar
                .eval(&result, ctx.ts_ms, ctx.limit, &mut expand)
                .map_err(|e| e.to_string())?;
            Ok(alerts
                .into_iter()
                .map(|(l, v)| (l, Point::Float(v)))
                .collect())
        }
    }
}

/// Expands an alerting rule's label and annotation templates for the
/// elements of one result, as Prometheus does: `$labels` are the element's
/// labels as the query returned them, `$value` its value, the template is
/// named `__alert_<name>`, `query` runs at the evaluation time, and a
/// failing template becomes `<error expanding template: …>` in its place.
struct Expander<'a> {
    name: String,
    ctx: &'a EvalContext<'a>,
    query: &'a dyn QueryFn,
    /// The last element's labels as a map (each element expands several
    /// templates in a row).
    last: Option<(Labels, BTreeMap<String, String>)>,
}

impl<'a> Expander<'a> {
    fn new(alert: &str, ctx: &'a EvalContext<'a>, query: &'a dyn QueryFn) -> Expander<'a> {
        Expander {
            name: format!("__alert_{alert}"),
            ctx,
            query,
            last: None,
        }
    }

    fn expand(&mut self, text: &str, series: &Labels, value: f64) -> String {
        // Text without an action expands to itself; skip the parser.
        if !text.contains("{{") {
            return text.to_string();
        }
        if self.last.as_ref().is_none_or(|(l, _)| l != series) {
            let map = series
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            self.last = Some((series.clone(), map));
        }
        let Some((_, labels)) = &self.last else {
            return text.to_string();
        };
        let data = TemplateData {
            labels,
            external_labels: self.ctx.external_labels,
            external_url: self.ctx.external_url,
            value,
        };
        match template::expand(&self.name, text, &data, self.ctx.ts_ms, self.query) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(alert = %self.name, error = %e, "expanding alert template failed");
                format!("<error expanding template: {e}>")
            }
        }
    }
}

/// A rule's result as a vector: a scalar becomes one sample without labels;
/// strings and range vectors are errors (Prometheus's `EngineQueryFunc`).
fn as_vector(output: QueryOutput) -> Result<Vec<InstantSample>, String> {
    match output.value {
        Value::Vector(v) => Ok(v),
        Value::Scalar { t, v } => Ok(vec![InstantSample {
            labels: Labels::empty(),
            t,
            v,
            h: None,
        }]),
        _ => Err("rule result is not a vector or scalar".to_string()),
    }
}

/// Appends a rule's samples at `t` and staleness markers for the series it
/// wrote last time but not now, then commits. Series the store refused as
/// out of order or duplicate are skipped (counted by the store), as
/// Prometheus does; any other store error fails the rule.
fn write_output(
    rule: &mut Rule,
    samples: Vec<(Labels, Point)>,
    t: i64,
    appender: &mut dyn Appender,
) -> Result<(), AppendError> {
    let mut written = HashSet::with_capacity(samples.len());
    let mut failure = None;
    for (labels, point) in samples {
        let appended = match point {
            Point::Float(v) => appender.append(&labels, t, v),
            Point::Histogram(h) => appender.append_histogram(&labels, t, &h),
        };
        match appended {
            Ok(()) => {
                written.insert(labels);
            }
            Err(AppendError::OutOfOrder | AppendError::Duplicate | AppendError::OutOfBounds) => {}
            Err(e) => failure = Some(e),
        }
    }
    for gone in rule.previous.difference(&written) {
        match appender.append(gone, t, STALE_NAN) {
            Ok(()) | Err(AppendError::OutOfOrder | AppendError::Duplicate) => {}
            Err(e) => failure = Some(e),
        }
    }
    rule.previous = written;
    appender.commit()?;
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests;
