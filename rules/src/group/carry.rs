//! State that outlives one `Group` value: across reloads
//! ([`Group::carry_state_from`]) and across restarts
//! ([`Group::export_state`], [`Group::restore_state`]).

use std::collections::{BTreeMap, HashMap};

use warden_tsdb::Labels;

use super::Group;
use super::rule::Kind;
use crate::alerting::{Alert, AlertState};
use crate::state::{PersistedAlert, PersistedAlertState, PersistedGroup, PersistedRule};

impl Group {
    /// Reload: rules identical in `old` (same kind, name, expression,
    /// labels, annotations, `for`, `keep_firing_for`) keep their alerts,
    /// health, figures and the series they wrote. Duplicated rules match in
    /// order. The series of old rules with no match are marked stale at the
    /// next evaluation, so renamed or removed rules' output ends at once.
    pub fn carry_state_from(&mut self, old: &Group) {
        let mut by_def: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, r) in old.rules.iter().enumerate().rev() {
            by_def.entry(r.definition).or_default().push(i);
        }
        let mut used = vec![false; old.rules.len()];
        for rule in &mut self.rules {
            let Some(i) = by_def.get_mut(&rule.definition).and_then(Vec::pop) else {
                continue;
            };
            used[i] = true;
            let from = &old.rules[i];
            rule.health = from.health;
            rule.last_error.clone_from(&from.last_error);
            rule.last_evaluation_ms = from.last_evaluation_ms;
            rule.evaluation_duration = from.evaluation_duration;
            rule.failures_total = from.failures_total;
            rule.previous.clone_from(&from.previous);
            if let (Kind::Alerting(to), Kind::Alerting(f)) = (&mut rule.kind, &from.kind) {
                to.active.clone_from(&f.active);
            }
        }
        self.stale_series.extend(old.stale_series.iter().cloned());
        for (i, r) in old.rules.iter().enumerate() {
            if !used[i] {
                self.stale_series.extend(r.previous.iter().cloned());
            }
        }
        self.last_evaluation_ms = old.last_evaluation_ms;
        self.last_duration = old.last_duration;
        self.last_samples = old.last_samples;
    }

    /// The alerts to persist across restarts: every alerting rule with
    /// alerts, identified by name and definition hash.
    pub fn export_state(&self) -> PersistedGroup {
        let rules = self
            .rules
            .iter()
            .filter_map(|r| match &r.kind {
                Kind::Alerting(ar) if !ar.active.is_empty() => Some(PersistedRule {
                    name: r.name.clone(),
                    definition: format!("{:016x}", r.definition),
                    alerts: ar.sorted_alerts().iter().map(persist_alert).collect(),
                }),
                _ => None,
            })
            .collect();
        PersistedGroup {
            file: self.file.clone(),
            name: self.name.clone(),
            last_evaluation_ms: self.last_evaluation_ms,
            rules,
        }
    }

    /// Restores saved alerts into the rules with the same name and
    /// definition (a saved group of another file or name is ignored). The
    /// outage is `now_ms` minus the saved last evaluation time.
    ///
    /// Within `outage_tolerance_ms`:
    /// - a firing alert comes back firing with its `activeAt`, fired time,
    ///   last-sent time and validity, so nothing is re-sent early and no
    ///   resolve/fire pair reaches Alertmanager;
    /// - a pending alert comes back pending with its `activeAt`: like a
    ///   firing alert, it is taken to have held through a short outage, so
    ///   an API client sees the same alert before and after the restart
    ///   and its `for` counts from when it really started; the next
    ///   evaluation re-checks the condition;
    /// - `keep_firing_for` progress is kept: the time since the condition
    ///   cleared moves forward by the outage, so a restart never cuts the
    ///   keep-firing window short;
    /// - a resolved alert keeps its resolution time, so its resolution is
    ///   re-sent until the 15-minute retention ends.
    ///
    /// Beyond the tolerance `for` restarts: pending and firing alerts are
    /// dropped and start over from the next evaluation. By then the last
    /// notification of a firing alert has expired in Alertmanager (it is
    /// valid for four evaluation intervals or resend delays, far below any
    /// sensible tolerance), so Alertmanager already shows it resolved, and
    /// warden cannot claim the condition held through the gap. Resolved
    /// alerts are kept as within the tolerance.
    pub fn restore_state(&mut self, saved: &PersistedGroup, now_ms: i64) {
        if saved.file != self.file || saved.name != self.name {
            return;
        }
        let outage = saved
            .last_evaluation_ms
            .map_or(0, |t| now_ms.saturating_sub(t).max(0));
        let restart_for = outage > self.outage_tolerance_ms;
        let mut used = vec![false; saved.rules.len()];
        for rule in &mut self.rules {
            let Kind::Alerting(ar) = &mut rule.kind else {
                continue;
            };
            let def = format!("{:016x}", rule.definition);
            let Some(i) = saved
                .rules
                .iter()
                .enumerate()
                .position(|(i, s)| !used[i] && s.name == rule.name && s.definition == def)
            else {
                continue;
            };
            used[i] = true;
            for p in &saved.rules[i].alerts {
                let Some(mut a) = restore_alert(p) else {
                    continue;
                };
                match a.state {
                    AlertState::Pending | AlertState::Firing if restart_for => continue,
                    AlertState::Pending => {}
                    AlertState::Firing => {
                        a.keep_firing_since_ms =
                            a.keep_firing_since_ms.map(|t| t.saturating_add(outage));
                    }
                    AlertState::Inactive => {}
                }
                ar.active.insert(a.labels.clone(), a);
            }
        }
    }
}

fn to_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

fn persist_alert(a: &Alert) -> PersistedAlert {
    PersistedAlert {
        labels: to_map(&a.labels),
        annotations: to_map(&a.annotations),
        state: match a.state {
            AlertState::Inactive => PersistedAlertState::Inactive,
            AlertState::Pending => PersistedAlertState::Pending,
            AlertState::Firing => PersistedAlertState::Firing,
        },
        value: a.value,
        active_at_ms: a.active_at_ms,
        fired_at_ms: a.fired_at_ms,
        resolved_at_ms: a.resolved_at_ms,
        last_sent_at_ms: a.last_sent_at_ms,
        valid_until_ms: a.valid_until_ms,
        keep_firing_since_ms: a.keep_firing_since_ms,
    }
}

/// The alert a saved one describes; `None` if its labels are not a valid
/// label set (a hand-edited file).
fn restore_alert(p: &PersistedAlert) -> Option<Alert> {
    Some(Alert {
        labels: Labels::from_pairs(p.labels.iter()).ok()?,
        annotations: Labels::from_pairs(p.annotations.iter()).ok()?,
        state: match p.state {
            PersistedAlertState::Inactive => AlertState::Inactive,
            PersistedAlertState::Pending => AlertState::Pending,
            PersistedAlertState::Firing => AlertState::Firing,
        },
        value: p.value,
        active_at_ms: p.active_at_ms,
        fired_at_ms: p.fired_at_ms,
        resolved_at_ms: p.resolved_at_ms,
        last_sent_at_ms: p.last_sent_at_ms,
        valid_until_ms: p.valid_until_ms,
        keep_firing_since_ms: p.keep_firing_since_ms,
    })
}
