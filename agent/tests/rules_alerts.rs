//! Rules evaluated live by `warden run`, end to end through the binary:
//! an alert goes pending → firing → resolved over warden's own data, the
//! console log says so once each, and recording rules' results are
//! queryable like any series.

mod common;

use common::rules::{alert, api, log_lines, start_with_rules, wait_for};

/// True for six seconds out of twelve, by evaluation time: an alert that
/// fires and resolves on its own, without touching the configuration.
const RULES: &str = r#"
groups:
  - name: cycle
    interval: 1s
    rules:
      - alert: HalfTheTime
        expr: vector(time() % 12) < 6
        for: 2s
        labels:
          severity: page
        annotations:
          summary: the first half of every twelve seconds
  - name: records
    interval: 1s
    rules:
      - record: demo:constant
        expr: vector(42)
        labels:
          source: rule
      - record: demo:rule_groups
        expr: count(warden_rule_group_rules)
"#;

#[test]
fn alert_goes_pending_firing_resolved_and_is_logged_once_each() {
    let (_dir, mut w, port) = start_with_rules(RULES, &[]);

    // A pending alert that turns firing keeps its activeAt. A pending alert
    // may also vanish before `for` has passed (the phase ended); then the
    // next cycle's alert is followed instead.
    let mut pending_since = None;
    let firing = wait_for(&w, "a pending alert to fire", || {
        let a = alert(port, "HalfTheTime")?;
        if a["state"] == "pending" {
            assert_eq!(a["labels"]["severity"], "page");
            pending_since = Some(a["activeAt"].clone());
            return None;
        }
        (a["state"] == "firing" && pending_since.as_ref() == Some(&a["activeAt"])).then_some(a)
    });
    let value: f64 = firing["value"].as_str().unwrap().parse().unwrap();
    assert!((0.0..6.0).contains(&value), "{firing}");

    // ALERTS is written for both states, as Prometheus writes it.
    let series = api(
        port,
        "/api/v1/query?query=max_over_time(ALERTS%7Balertname%3D%22HalfTheTime%22%7D%5B1m%5D)",
    );
    let states: Vec<String> = series["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"]["alertstate"].as_str().unwrap().to_string())
        .collect();
    assert!(states.contains(&"firing".to_string()), "{series}");

    wait_for(&w, "the alert to resolve", || {
        alert(port, "HalfTheTime").is_none().then_some(())
    });
    wait_for(&w, "the resolution to be logged", || {
        (!log_lines(&w, &["alert resolved", "HalfTheTime"]).is_empty()).then_some(())
    });
    // Resends are not logged as new alerts: one "firing" and one
    // "resolved" line per alert (per start time).
    for what in ["alert firing", "alert resolved"] {
        let lines = log_lines(&w, &[what, "HalfTheTime"]);
        let starts: std::collections::BTreeSet<&str> = lines
            .iter()
            .filter_map(|l| l.split(" starts_at=").nth(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .collect();
        assert!(!lines.is_empty(), "no {what:?} line");
        assert_eq!(
            starts.len(),
            lines.len(),
            "{what:?} logged twice: {lines:#?}"
        );
    }

    // The group's rule state in /api/v1/rules follows.
    let rules = api(port, "/api/v1/rules?type=alert");
    let groups = rules["groups"].as_array().unwrap();
    assert_eq!(
        groups.len(),
        1,
        "type=alert keeps only the alerting group: {rules}"
    );
    assert_eq!(groups[0]["rules"][0]["health"], "ok");
    assert_eq!(w.terminate().code(), Some(0));
}

#[test]
fn recording_rules_write_queryable_series_and_rule_metrics() {
    let (dir, mut w, port) = start_with_rules(RULES, &[]);

    let constant = wait_for(&w, "demo:constant", || {
        let r = api(port, "/api/v1/query?query=demo:constant");
        r["result"].as_array().and_then(|v| v.first().cloned())
    });
    assert_eq!(constant["metric"]["source"], "rule");
    assert_eq!(constant["value"][1], "42");
    // A rule over warden's own metrics: the self collector stores
    // warden_rule_group_rules, one series per group.
    let groups = wait_for(&w, "demo:rule_groups", || {
        let r = api(port, "/api/v1/query?query=demo:rule_groups");
        r["result"].as_array().and_then(|v| v.first().cloned())
    });
    assert_eq!(groups["value"][1], "2");

    let metrics = common::get(port, "/metrics", None).unwrap().body;
    for family in [
        "warden_rule_group_iterations_total{rule_group=",
        "warden_rule_group_iterations_missed_total{rule_group=",
        "warden_rule_group_last_duration_seconds{rule_group=",
        "warden_rule_group_last_evaluation_timestamp_seconds{rule_group=",
        "warden_rule_group_last_evaluation_samples{rule_group=",
        "warden_rule_group_rules{rule_group=",
        "warden_rule_group_interval_seconds{rule_group=",
        "warden_rule_evaluations_total{rule_group=",
        "warden_rule_evaluation_failures_total{rule_group=",
    ] {
        assert!(metrics.contains(family), "missing {family} in /metrics");
    }
    let rules_yml = dir.path().join("rules.yml");
    let key = format!("rule_group=\"{};records\"", rules_yml.display());
    assert!(
        metrics.contains(&format!("warden_rule_group_rules{{{key}}} 2")),
        "the rule_group label is <file>;<group>:\n{metrics}"
    );
    assert_eq!(w.terminate().code(), Some(0));
}
