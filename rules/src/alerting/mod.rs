//! Alerts: the state of one alerting rule's alerts, and what leaves the
//! rules stage for notification.
//!
//! The state machine follows Prometheus 3.x exactly: an element of the
//! rule's result becomes a *pending* alert, turns *firing* once it has been
//! present for the rule's `for`, keeps firing for `keep_firing_for` after it
//! disappears, and is then *inactive* (resolved) and kept for 15 minutes so
//! that the resolution is re-sent to Alertmanager. [`rule::AlertingRule`]
//! holds that machine; [`notify`] decides which alerts need sending and
//! turns them into [`OutgoingAlert`]s.

pub(crate) mod notify;
pub(crate) mod rule;

use warden_tsdb::Labels;

pub use notify::generator_url;

/// Where one alert is in its life, as Prometheus names the states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum AlertState {
    /// Resolved: was firing, no longer is; kept a while for resending.
    #[default]
    Inactive,
    /// Present in the result, waiting for `for` to pass.
    Pending,
    /// Present for at least `for` (or kept by `keep_firing_for`).
    Firing,
}

impl AlertState {
    /// The name Prometheus uses in `ALERTS{alertstate}` and its API.
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One active alert of one alerting rule: the unit the state machine,
/// `/api/v1/alerts` and state persistence work on.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `alertname`, the series' labels (without `__name__`), group and rule
    /// labels (templates expanded).
    pub labels: Labels,
    /// Annotations, templates expanded.
    pub annotations: Labels,
    /// Where the alert is in its life.
    pub state: AlertState,
    /// The result's value at the last evaluation that saw the element.
    pub value: f64,
    /// When the element first appeared (the evaluation time), ms.
    pub active_at_ms: i64,
    /// When the alert turned firing.
    pub fired_at_ms: Option<i64>,
    /// When the alert was resolved.
    pub resolved_at_ms: Option<i64>,
    /// When it was last handed to the sink.
    pub last_sent_at_ms: Option<i64>,
    /// Until when the last notification holds (its `endsAt` while firing).
    pub valid_until_ms: Option<i64>,
    /// Since when a firing alert has been kept by `keep_firing_for`.
    pub keep_firing_since_ms: Option<i64>,
}

/// What leaves the rules stage for notification: Alertmanager's alert model.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingAlert {
    /// The alert's labels (external labels are added by the notifier, as in
    /// Prometheus).
    pub labels: Labels,
    /// Its annotations.
    pub annotations: Labels,
    /// `startsAt`, ms: when the alert fired (Prometheus sends `FiredAt`).
    pub starts_at_ms: i64,
    /// `endsAt`, ms: the resolution time for a resolved alert, otherwise
    /// how long this notification holds without a resend.
    pub ends_at_ms: Option<i64>,
    /// Link back to the expression in the query UI.
    pub generator_url: String,
}

/// Where alerts go (Prometheus's `NotifyFunc`). Called after an evaluation
/// with the alerts that need sending (Prometheus's resend-delay rules). Must
/// not block; implementations bound their queue.
pub trait AlertSink: Send + Sync {
    /// Hands over the alerts of group `group` that need sending now.
    fn send(&self, group: &str, alerts: Vec<OutgoingAlert>);
}

#[cfg(test)]
mod tests;
