//! `/api/v1/rules` and `/api/v1/alerts`, shaped exactly as Prometheus 3.x
//! shapes them (`web/api/v1/api.go`): Grafana's alerting view, Karma,
//! `promtool`-based scripts and the Prometheus mixin's tooling read these
//! documents, so field names, their order, which fields are omitted when
//! unset, and how times and numbers are written all follow Prometheus:
//!
//! - times are RFC 3339 as Go's `time.Time` writes them (UTC here, trailing
//!   zeros of the fraction dropped; `0001-01-01T00:00:00Z` for never);
//! - `duration`, `keepFiringFor`, `interval` and `evaluationTime` are
//!   seconds as JSON numbers;
//! - an alert's `value` is a string in Go's `%e` shortest form (`1e+00`);
//! - `lastError` and `keepFiringSince` are omitted when unset;
//! - resolved alerts (kept a while for re-sending) are not listed.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use warden_rules::alerting::{Alert, AlertState};
use warden_rules::group::{GroupStatus, RuleStatus, RuleStatusKind};
use warden_rules::promql::Annotations;
use warden_tsdb::Matcher;

use super::ApiState;
use super::encode::{go_float, go_time, write_labels, write_str};
use super::params::{Params, parse_match_params};
use super::response::{ApiError, success};

/// Where the rule endpoints read the groups from: the running rule
/// manager, or nothing while rules are not running yet.
pub trait RuleSource: Send + Sync {
    /// Every group's latest status, ordered by file, then name.
    fn groups(&self) -> Vec<Arc<GroupStatus>>;
}

fn groups_of(st: &ApiState) -> Vec<Arc<GroupStatus>> {
    st.rules.get().map(|r| r.groups()).unwrap_or_default()
}

/// `/api/v1/alerts`
pub async fn alerts(State(st): State<Arc<ApiState>>) -> Response {
    let groups = groups_of(&st);
    let mut out = String::from("{\"alerts\":[");
    let mut first = true;
    for g in &groups {
        for r in &g.rules {
            if let RuleStatusKind::Alerting { alerts, .. } = &r.kind {
                for a in alerts.iter().filter(|a| is_active(a)) {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    write_alert(&mut out, a);
                }
            }
        }
    }
    out.push_str("]}");
    success(&out, &Annotations::default())
}

/// What `/api/v1/rules` was asked for.
struct RuleFilter {
    alerting: bool,
    recording: bool,
    exclude_alerts: bool,
    names: HashSet<String>,
    groups: HashSet<String>,
    files: HashSet<String>,
    matchers: Vec<Vec<Matcher>>,
}

impl RuleFilter {
    fn parse(p: &Params) -> Result<RuleFilter, ApiError> {
        let typ = p.get("type").unwrap_or("").to_lowercase();
        if !matches!(typ.as_str(), "" | "alert" | "record") {
            return Err(ApiError::bad_data(format!(
                "invalid parameter \"type\": not supported value {typ:?}"
            )));
        }
        let exclude = p.get("exclude_alerts").unwrap_or("").to_lowercase();
        let exclude_alerts = match exclude.as_str() {
            "" | "0" | "f" | "false" => false,
            "1" | "t" | "true" => true,
            other => {
                return Err(ApiError::bad_data(format!(
                    "invalid parameter \"exclude_alerts\": error converting exclude_alerts: strconv.ParseBool: parsing {other:?}: invalid syntax"
                )));
            }
        };
        let set = |name: &str| -> HashSet<String> { p.all(name).iter().cloned().collect() };
        let matchers = parse_match_params(p.all("match[]"))
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"match[]\": {}", e.0)))?;
        Ok(RuleFilter {
            alerting: typ != "record",
            recording: typ != "alert",
            exclude_alerts,
            names: set("rule_name[]"),
            groups: set("rule_group[]"),
            files: set("file[]"),
            matchers,
        })
    }

    fn wants_group(&self, g: &GroupStatus) -> bool {
        (self.groups.is_empty() || self.groups.contains(&g.name))
            && (self.files.is_empty() || self.files.contains(&g.file))
    }

    /// Matching is on the rule's own labels, as in Prometheus (not on the
    /// expanded labels of its alerts); one matching `match[]` set is enough.
    fn wants_rule(&self, r: &RuleStatus) -> bool {
        let kind_ok = match r.kind {
            RuleStatusKind::Alerting { .. } => self.alerting,
            RuleStatusKind::Recording => self.recording,
        };
        kind_ok
            && (self.names.is_empty() || self.names.contains(&r.name))
            && (self.matchers.is_empty()
                || self.matchers.iter().any(|set| {
                    set.iter()
                        .all(|m| m.matches(r.labels.get(&m.name).unwrap_or("")))
                }))
    }
}

/// `/api/v1/rules`
pub async fn rules(State(st): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_parts(q.as_deref(), None);
    let filter = match RuleFilter::parse(&p) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let mut out = String::from("{\"groups\":[");
    let mut first = true;
    for g in groups_of(&st).iter().filter(|g| filter.wants_group(g)) {
        let rules: Vec<&RuleStatus> = g.rules.iter().filter(|r| filter.wants_rule(r)).collect();
        // A group whose rules were all filtered out is left out, as in
        // Prometheus.
        if rules.is_empty() {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_group(&mut out, g, &rules, filter.exclude_alerts);
    }
    out.push_str("]}");
    success(&out, &Annotations::default())
}

fn write_group(out: &mut String, g: &GroupStatus, rules: &[&RuleStatus], exclude_alerts: bool) {
    out.push_str("{\"name\":");
    write_str(out, &g.name);
    out.push_str(",\"file\":");
    write_str(out, &g.file);
    out.push_str(",\"rules\":[");
    for (i, r) in rules.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_rule(out, r, exclude_alerts);
    }
    out.push_str("],\"interval\":");
    out.push_str(&go_float(g.interval_ms as f64 / 1000.0));
    out.push_str(",\"limit\":");
    out.push_str(&g.limit.to_string());
    out.push_str(",\"evaluationTime\":");
    out.push_str(&go_float(g.last_duration.as_secs_f64()));
    out.push_str(",\"lastEvaluation\":");
    write_str(out, &go_time(g.last_evaluation_ms));
    out.push('}');
}

fn write_rule(out: &mut String, r: &RuleStatus, exclude_alerts: bool) {
    match &r.kind {
        RuleStatusKind::Alerting {
            for_ms,
            keep_firing_for_ms,
            annotations,
            state,
            alerts,
        } => {
            out.push_str("{\"state\":");
            let state = if r.last_evaluation_ms.is_none() {
                "unknown"
            } else {
                state.as_str()
            };
            write_str(out, state);
            out.push_str(",\"name\":");
            write_str(out, &r.name);
            out.push_str(",\"query\":");
            write_str(out, &r.query);
            out.push_str(",\"duration\":");
            out.push_str(&go_float(*for_ms as f64 / 1000.0));
            out.push_str(",\"keepFiringFor\":");
            out.push_str(&go_float(*keep_firing_for_ms as f64 / 1000.0));
            out.push_str(",\"labels\":");
            write_labels(out, &r.labels);
            out.push_str(",\"annotations\":");
            write_labels(out, annotations);
            out.push_str(",\"alerts\":");
            if exclude_alerts {
                out.push_str("null");
            } else {
                out.push('[');
                for (i, a) in alerts.iter().filter(|a| is_active(a)).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_alert(out, a);
                }
                out.push(']');
            }
            write_health(out, r);
            out.push_str(",\"type\":\"alerting\"}");
        }
        RuleStatusKind::Recording => {
            out.push_str("{\"name\":");
            write_str(out, &r.name);
            out.push_str(",\"query\":");
            write_str(out, &r.query);
            out.push_str(",\"labels\":");
            write_labels(out, &r.labels);
            write_health(out, r);
            out.push_str(",\"type\":\"recording\"}");
        }
    }
}

/// `health`, `lastError` (when set), `evaluationTime`, `lastEvaluation`.
fn write_health(out: &mut String, r: &RuleStatus) {
    out.push_str(",\"health\":");
    write_str(out, r.health.as_str());
    if let Some(e) = &r.last_error {
        out.push_str(",\"lastError\":");
        write_str(out, e);
    }
    out.push_str(",\"evaluationTime\":");
    out.push_str(&go_float(r.evaluation_duration.as_secs_f64()));
    out.push_str(",\"lastEvaluation\":");
    write_str(out, &go_time(r.last_evaluation_ms));
}

/// Prometheus lists an alert until it is resolved.
fn is_active(a: &Alert) -> bool {
    a.resolved_at_ms.is_none() && a.state != AlertState::Inactive
}

fn write_alert(out: &mut String, a: &Alert) {
    out.push_str("{\"labels\":");
    write_labels(out, &a.labels);
    out.push_str(",\"annotations\":");
    write_labels(out, &a.annotations);
    out.push_str(",\"state\":");
    write_str(out, a.state.as_str());
    out.push_str(",\"activeAt\":");
    write_str(out, &go_time(Some(a.active_at_ms)));
    if let Some(t) = a.keep_firing_since_ms {
        out.push_str(",\"keepFiringSince\":");
        write_str(out, &go_time(Some(t)));
    }
    out.push_str(",\"value\":");
    write_str(out, &go_exp_float(a.value));
    out.push('}');
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: `1e+00`, `1.5e-07`, `NaN`,
/// `+Inf`.
pub fn go_exp_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:e}");
    let Some((mantissa, exp)) = s.split_once('e') else {
        return s;
    };
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    if digits.len() < 2 {
        format!("{mantissa}e{sign}0{digits}")
    } else {
        format!("{mantissa}e{sign}{digits}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_tsdb::Labels;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn values_as_go_formats_them_with_e() {
        assert_eq!(go_exp_float(1.0), "1e+00");
        assert_eq!(go_exp_float(0.5), "5e-01");
        assert_eq!(go_exp_float(1234.5), "1.2345e+03");
        assert_eq!(go_exp_float(-2.0), "-2e+00");
        assert_eq!(go_exp_float(0.0), "0e+00");
        assert_eq!(go_exp_float(1e-300), "1e-300");
        assert_eq!(go_exp_float(f64::NAN), "NaN");
        assert_eq!(go_exp_float(f64::INFINITY), "+Inf");
        assert_eq!(go_exp_float(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn match_sets_match_the_rules_own_labels() {
        let p = Params::from_parts(
            Some("match[]={severity=\"page\"}&match[]={team=\"db\"}"),
            None,
        );
        let f = RuleFilter::parse(&p).unwrap();
        let rule = |l: Labels| RuleStatus {
            name: "A".into(),
            query: "up".into(),
            labels: l,
            health: Default::default(),
            last_error: None,
            last_evaluation_ms: None,
            evaluation_duration: Default::default(),
            evaluation_failures_total: 0,
            kind: RuleStatusKind::Recording,
        };
        assert!(f.wants_rule(&rule(labels(&[("severity", "page")]))));
        assert!(f.wants_rule(&rule(labels(&[("team", "db")]))));
        assert!(!f.wants_rule(&rule(labels(&[("severity", "ticket")]))));
        let bad = Params::from_parts(Some("type=alerts"), None);
        assert!(RuleFilter::parse(&bad).is_err());
        let bad = Params::from_parts(Some("exclude_alerts=maybe"), None);
        assert!(RuleFilter::parse(&bad).is_err());
    }
}
