//! The alert state machine of one alerting rule.

use std::collections::HashMap;

use warden_tsdb::labels::METRIC_NAME;
use warden_tsdb::{Labels, LabelsBuilder};

use super::{Alert, AlertState};
use crate::promql::InstantSample;

/// How long a resolved alert is kept (and its resolution re-sent).
pub(crate) const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// The series that mirrors each active alert (value 1).
pub(crate) const ALERTS_METRIC: &str = "ALERTS";
/// The series that carries each active alert's `activeAt` in seconds.
pub(crate) const ALERTS_FOR_STATE_METRIC: &str = "ALERTS_FOR_STATE";
const ALERT_NAME: &str = "alertname";
const ALERT_STATE: &str = "alertstate";

/// Why an alerting rule's evaluation failed after its query succeeded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AlertingError {
    /// Two elements of the result give the same alert labels.
    #[error("vector contains metrics with the same labelset after applying alert labels")]
    Duplicate,
    /// More pending and firing alerts than the group's `limit`.
    #[error("exceeded limit of {limit} with {count} alerts")]
    Limit {
        /// The group's limit.
        limit: u64,
        /// How many alerts were active.
        count: u64,
    },
}

/// Expands one label or annotation template for one element of the result:
/// `(template, the element's labels, the element's value) -> text`.
pub(crate) type Expand<'a> = dyn FnMut(&str, &Labels, f64) -> String + 'a;

/// One alerting rule's definition and its active alerts, keyed by labels.
#[derive(Debug, Clone)]
pub(crate) struct AlertingRule {
    /// The alert name.
    pub name: String,
    /// How long an element must be present before firing.
    pub for_ms: i64,
    /// How long a firing alert outlives its element.
    pub keep_firing_for_ms: i64,
    /// Label templates: the group's labels overridden by the rule's.
    pub labels: Vec<(String, String)>,
    /// Annotation templates.
    pub annotations: Vec<(String, String)>,
    /// Pending, firing and recently resolved alerts.
    pub active: HashMap<Labels, Alert>,
}

impl AlertingRule {
    /// Takes the result of the rule's query at `ts_ms`, moves every alert
    /// along the state machine, and returns the `ALERTS` and
    /// `ALERTS_FOR_STATE` samples (to be written at `out_ts_ms`, the query
    /// time). On a limit error every active alert is dropped, as Prometheus
    /// does; on a duplicate error nothing changes.
    pub(crate) fn eval(
        &mut self,
        result: &[InstantSample],
        ts_ms: i64,
        limit: u64,
        expand: &mut Expand<'_>,
    ) -> Result<Vec<(Labels, f64)>, AlertingError> {
        let mut fresh: HashMap<Labels, Alert> = HashMap::with_capacity(result.len());
        for s in result {
            let alert = self.new_alert(s, ts_ms, expand);
            if fresh.contains_key(&alert.labels) {
                return Err(AlertingError::Duplicate);
            }
            fresh.insert(alert.labels.clone(), alert);
        }
        let seen: Vec<Labels> = fresh.keys().cloned().collect();
        for (labels, a) in fresh {
            match self.active.get_mut(&labels) {
                Some(old) if old.state != AlertState::Inactive => {
                    old.value = a.value;
                    old.annotations = a.annotations;
                }
                _ => {
                    self.active.insert(labels, a);
                }
            }
        }
        let seen: std::collections::HashSet<Labels> = seen.into_iter().collect();

        let mut out = Vec::with_capacity(self.active.len() * 2);
        let mut count = 0u64;
        let (for_ms, kff_ms) = (self.for_ms, self.keep_firing_for_ms);
        let templates = &self.labels;
        self.active.retain(|labels, a| {
            if seen.contains(labels) {
                a.keep_firing_since_ms = None;
            } else {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && kff_ms > 0 {
                    let since = *a.keep_firing_since_ms.get_or_insert(ts_ms);
                    keep_firing = ts_ms - since < kff_ms;
                }
                let expired = a
                    .resolved_at_ms
                    .is_some_and(|r| ts_ms - r > RESOLVED_RETENTION_MS);
                let drop = a.state == AlertState::Pending || expired;
                if !keep_firing {
                    if a.state != AlertState::Inactive {
                        a.state = AlertState::Inactive;
                        a.resolved_at_ms = Some(ts_ms);
                    }
                    return !drop;
                }
                if drop {
                    return false;
                }
            }
            count += 1;
            if a.state == AlertState::Pending && ts_ms - a.active_at_ms >= for_ms {
                a.state = AlertState::Firing;
                a.fired_at_ms = Some(ts_ms);
            }
            out.push((
                series_labels(templates, a, ALERTS_METRIC, Some(a.state)),
                1.0,
            ));
            out.push((
                series_labels(templates, a, ALERTS_FOR_STATE_METRIC, None),
                a.active_at_ms.div_euclid(1000) as f64,
            ));
            true
        });

        if limit > 0 && count > limit {
            self.active.clear();
            return Err(AlertingError::Limit { limit, count });
        }
        Ok(out)
    }

    /// The alert a result element would start: labels and annotations
    /// expanded, pending since `ts_ms`.
    fn new_alert(&self, s: &InstantSample, ts_ms: i64, expand: &mut Expand<'_>) -> Alert {
        let mut lb = s.labels.to_builder();
        lb.remove(METRIC_NAME);
        for (name, text) in &self.labels {
            lb.set(name, expand(text, &s.labels, s.v));
        }
        lb.set(ALERT_NAME, self.name.as_str());
        let mut ab = LabelsBuilder::new();
        for (name, text) in &self.annotations {
            ab.set(name, expand(text, &s.labels, s.v));
        }
        Alert {
            labels: lb.build().unwrap_or_default(),
            annotations: ab.build().unwrap_or_default(),
            state: AlertState::Pending,
            value: s.v,
            active_at_ms: ts_ms,
            fired_at_ms: None,
            resolved_at_ms: None,
            last_sent_at_ms: None,
            valid_until_ms: None,
            keep_firing_since_ms: None,
        }
    }

    /// The highest state of the rule's alerts (firing > pending > inactive).
    pub(crate) fn state(&self) -> AlertState {
        self.active
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
    }

    /// The active alerts, sorted by labels (for stable API output).
    pub(crate) fn sorted_alerts(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.active.values().cloned().collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }
}

/// The labels of an `ALERTS` (with `alertstate`) or `ALERTS_FOR_STATE`
/// series. As Prometheus, this starts from the rule's label *templates* and
/// overlays the alert's labels, so a label whose template expanded to the
/// empty string shows its unexpanded text here.
fn series_labels(
    templates: &[(String, String)],
    a: &Alert,
    metric: &str,
    state: Option<AlertState>,
) -> Labels {
    let mut b = LabelsBuilder::new();
    for (n, v) in templates {
        b.set(n, v.as_str());
    }
    for l in a.labels.iter() {
        b.set(&l.name, l.value.as_str());
    }
    b.set(METRIC_NAME, metric);
    if let Some(st) = state {
        b.set(ALERT_STATE, st.as_str());
    }
    b.build().unwrap_or_default()
}
