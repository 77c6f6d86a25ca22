//! The state machine on synthetic results: each case is a sequence of
//! (evaluation time, result) with the expected alerts, taken from the
//! behaviour Prometheus's rules tests pin down.

use std::collections::HashMap;

use warden_tsdb::Labels;

use super::notify::{generator_url, mark_sent, needs_sending, to_outgoing};
use super::rule::{AlertingError, AlertingRule, RESOLVED_RETENTION_MS};
use super::*;
use crate::promql::InstantSample;

const MIN: i64 = 60_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn rule(for_ms: i64, keep_firing_for_ms: i64) -> AlertingRule {
    AlertingRule {
        name: "HTTPRequestRateLow".into(),
        for_ms,
        keep_firing_for_ms,
        labels: vec![("severity".into(), "critical".into())],
        annotations: vec![("summary".into(), "low".into())],
        active: HashMap::new(),
    }
}

fn sample(instance: &str, v: f64) -> InstantSample {
    InstantSample {
        labels: labels(&[
            ("__name__", "http_requests"),
            ("group", "canary"),
            ("instance", instance),
            ("job", "app-server"),
            ("severity", "overwrite-me"),
        ]),
        t: 0,
        v,
        h: None,
    }
}

fn identity(text: &str, _: &Labels, _: f64) -> String {
    text.to_string()
}

/// Evaluates and returns (instance, state) of every alert, sorted.
fn step(r: &mut AlertingRule, ts: i64, result: &[InstantSample]) -> Vec<(String, AlertState)> {
    r.eval(result, ts, 0, &mut identity).unwrap();
    let mut v: Vec<(String, AlertState)> = r
        .active
        .values()
        .map(|a| (a.labels.get("instance").unwrap_or("").to_string(), a.state))
        .collect();
    v.sort();
    v
}

fn st(i: &str, s: AlertState) -> (String, AlertState) {
    (i.to_string(), s)
}

#[test]
fn pending_then_firing_then_resolved_as_prometheus_alerting_rule_test() {
    // http_requests{instance="0"} 75 85 95 105 105 95 85, instance="1"
    // 80 90 100 110 120 130 140 every 5m; alert on < 100 with for: 1m.
    use AlertState::*;
    let i0 = [75.0, 85.0, 95.0, 105.0, 105.0, 95.0, 85.0];
    let i1 = [80.0, 90.0, 100.0, 110.0, 120.0, 130.0, 140.0];
    let mut r = rule(MIN, 0);
    let mut got = Vec::new();
    for k in 0..7 {
        let mut res = Vec::new();
        if i0[k] < 100.0 {
            res.push(sample("0", i0[k]));
        }
        if i1[k] < 100.0 {
            res.push(sample("1", i1[k]));
        }
        got.push(step(&mut r, k as i64 * 5 * MIN, &res));
    }
    assert_eq!(got[0], vec![st("0", Pending), st("1", Pending)]);
    assert_eq!(got[1], vec![st("0", Firing), st("1", Firing)]);
    assert_eq!(got[2], vec![st("0", Firing), st("1", Inactive)]);
    assert_eq!(got[3], vec![st("0", Inactive), st("1", Inactive)]);
    assert_eq!(got[4], vec![st("0", Inactive), st("1", Inactive)]);
    // Instance 0 comes back: a new pending alert replaces the resolved one.
    assert_eq!(got[5], vec![st("0", Pending), st("1", Inactive)]);
    // Instance 1 was resolved at 10m: kept up to 15 minutes, gone at 30m.
    assert_eq!(got[6], vec![st("0", Firing)]);
    let a0 = r
        .active
        .values()
        .find(|a| a.labels.get("instance") == Some("0"))
        .unwrap();
    assert_eq!(a0.active_at_ms, 25 * MIN);
    assert_eq!(a0.fired_at_ms, Some(30 * MIN));
    assert_eq!(a0.resolved_at_ms, None);
    // Labels: the series' without __name__, rule labels win, alertname set.
    assert_eq!(
        a0.labels,
        labels(&[
            ("alertname", "HTTPRequestRateLow"),
            ("group", "canary"),
            ("instance", "0"),
            ("job", "app-server"),
            ("severity", "critical"),
        ])
    );
    assert_eq!(a0.value, 85.0);
}

#[test]
fn for_zero_fires_at_once_and_pending_alerts_vanish_silently() {
    use AlertState::*;
    let mut r = rule(0, 0);
    assert_eq!(step(&mut r, 0, &[sample("0", 1.0)]), vec![st("0", Firing)]);

    let mut r = rule(10 * MIN, 0);
    assert_eq!(step(&mut r, 0, &[sample("0", 1.0)]), vec![st("0", Pending)]);
    assert_eq!(
        step(&mut r, 5 * MIN, &[sample("0", 1.0)]),
        vec![st("0", Pending)]
    );
    // A pending alert whose element disappears is dropped, not resolved.
    assert_eq!(step(&mut r, 6 * MIN, &[]), vec![]);
    // It starts over: `for` counts from the new activeAt.
    step(&mut r, 7 * MIN, &[sample("0", 1.0)]);
    assert_eq!(
        step(&mut r, 16 * MIN, &[sample("0", 1.0)]),
        vec![st("0", Pending)]
    );
    assert_eq!(
        step(&mut r, 17 * MIN, &[sample("0", 1.0)]),
        vec![st("0", Firing)]
    );
}

#[test]
fn resolved_alerts_are_kept_fifteen_minutes() {
    use AlertState::*;
    let mut r = rule(0, 0);
    step(&mut r, 0, &[sample("0", 1.0)]);
    assert_eq!(step(&mut r, MIN, &[]), vec![st("0", Inactive)]);
    let resolved = MIN;
    assert_eq!(
        step(&mut r, resolved + RESOLVED_RETENTION_MS, &[]),
        vec![st("0", Inactive)]
    );
    assert_eq!(
        step(&mut r, resolved + RESOLVED_RETENTION_MS + 1, &[]),
        vec![]
    );
}

#[test]
fn keep_firing_for_holds_a_firing_alert() {
    use AlertState::*;
    let mut r = rule(0, 10 * MIN);
    assert_eq!(step(&mut r, 0, &[sample("0", 1.0)]), vec![st("0", Firing)]);
    // Gone at 5m: keeps firing since 5m.
    assert_eq!(step(&mut r, 5 * MIN, &[]), vec![st("0", Firing)]);
    let a = r.active.values().next().unwrap();
    assert_eq!(a.keep_firing_since_ms, Some(5 * MIN));
    assert_eq!(step(&mut r, 14 * MIN, &[]), vec![st("0", Firing)]);
    // Back at 15m: keep_firing_since resets.
    assert_eq!(
        step(&mut r, 15 * MIN - 1, &[sample("0", 1.0)]),
        vec![st("0", Firing)]
    );
    assert_eq!(r.active.values().next().unwrap().keep_firing_since_ms, None);
    // Gone again at 16m: resolves once 10m have passed (not before).
    assert_eq!(step(&mut r, 16 * MIN, &[]), vec![st("0", Firing)]);
    assert_eq!(step(&mut r, 26 * MIN - 1, &[]), vec![st("0", Firing)]);
    assert_eq!(step(&mut r, 26 * MIN, &[]), vec![st("0", Inactive)]);
    assert_eq!(
        r.active.values().next().unwrap().resolved_at_ms,
        Some(26 * MIN)
    );
}

#[test]
fn keep_firing_for_does_not_hold_pending_alerts() {
    let mut r = rule(5 * MIN, 10 * MIN);
    step(&mut r, 0, &[sample("0", 1.0)]);
    assert_eq!(step(&mut r, MIN, &[]), vec![]);
}

#[test]
fn alerts_series_mirror_the_state() {
    let mut r = rule(MIN, 0);
    let out = r
        .eval(&[sample("0", 5.0)], 90_500, 0, &mut identity)
        .unwrap();
    let base = [
        ("alertname", "HTTPRequestRateLow"),
        ("group", "canary"),
        ("instance", "0"),
        ("job", "app-server"),
        ("severity", "critical"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        labels(&v)
    };
    assert_eq!(
        out,
        vec![
            (
                with(&[("__name__", "ALERTS"), ("alertstate", "pending")]),
                1.0
            ),
            // activeAt in whole seconds.
            (with(&[("__name__", "ALERTS_FOR_STATE")]), 90.0),
        ]
    );
}

#[test]
fn limit_counts_active_alerts_and_clears_them() {
    let mut r = rule(0, 0);
    let res = [sample("0", 1.0), sample("1", 1.0)];
    assert_eq!(
        r.eval(&res, 0, 1, &mut identity),
        Err(AlertingError::Limit { limit: 1, count: 2 })
    );
    assert_eq!(
        AlertingError::Limit { limit: 1, count: 2 }.to_string(),
        "exceeded limit of 1 with 2 alerts"
    );
    assert!(r.active.is_empty());
    assert!(r.eval(&res, MIN, 2, &mut identity).is_ok());
    assert_eq!(r.active.len(), 2);
}

#[test]
fn duplicate_alert_labels_are_an_error_and_change_nothing() {
    let mut r = rule(0, 0);
    r.labels.push(("instance".into(), "same".into()));
    let err = r
        .eval(&[sample("0", 1.0), sample("1", 1.0)], 0, 0, &mut identity)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector contains metrics with the same labelset after applying alert labels"
    );
    assert!(r.active.is_empty());
}

#[test]
fn value_and_annotations_follow_the_latest_evaluation() {
    let mut r = rule(10 * MIN, 0);
    let mut n = 0;
    let mut expand = |t: &str, _: &Labels, v: f64| {
        n += 1;
        if t == "critical" {
            t.to_string()
        } else {
            format!("{t} {v}")
        }
    };
    r.eval(&[sample("0", 1.0)], 0, 0, &mut expand).unwrap();
    r.eval(&[sample("0", 2.0)], MIN, 0, &mut expand).unwrap();
    let a = r.active.values().next().unwrap();
    assert_eq!(a.value, 2.0);
    assert_eq!(a.annotations.get("summary"), Some("low 2"));
    assert_eq!(a.active_at_ms, 0);
    // Both labels and annotations are expanded for every element, each time.
    assert_eq!(n, 4);
}

fn firing(ts: i64) -> Alert {
    Alert {
        labels: labels(&[("alertname", "A")]),
        annotations: Labels::empty(),
        state: AlertState::Firing,
        value: 1.0,
        active_at_ms: ts - MIN,
        fired_at_ms: Some(ts),
        resolved_at_ms: None,
        last_sent_at_ms: None,
        valid_until_ms: None,
        keep_firing_since_ms: None,
    }
}

#[test]
fn sending_follows_the_resend_delay() {
    let resend = MIN;
    let interval = 15_000;
    let mut a = firing(0);
    assert!(needs_sending(&a, 0, resend));
    mark_sent(&mut a, 0, interval, resend);
    // Valid for 4 × max(interval, resend delay).
    assert_eq!(a.valid_until_ms, Some(4 * MIN));
    let out = to_outgoing(&a, "http://x/graph");
    assert_eq!(out.starts_at_ms, 0);
    assert_eq!(out.ends_at_ms, Some(4 * MIN));
    assert!(!needs_sending(&a, MIN, resend));
    assert!(needs_sending(&a, MIN + 1, resend));
    // A resolution is sent at once, with endsAt = the resolution time.
    a.state = AlertState::Inactive;
    a.resolved_at_ms = Some(15_000);
    assert!(needs_sending(&a, 15_000, resend));
    mark_sent(&mut a, 15_000, interval, resend);
    assert_eq!(to_outgoing(&a, "").ends_at_ms, Some(15_000));
    assert!(!needs_sending(&a, 30_000, resend));
    // Pending alerts are never sent.
    a.state = AlertState::Pending;
    a.resolved_at_ms = None;
    a.last_sent_at_ms = None;
    assert!(!needs_sending(&a, 0, resend));
    // A longer interval stretches validity.
    let mut b = firing(0);
    mark_sent(&mut b, 0, 5 * MIN, resend);
    assert_eq!(b.valid_until_ms, Some(20 * MIN));
}

#[test]
fn generator_url_is_prometheus_table_link() {
    assert_eq!(
        generator_url("http://prom:9090", r#"rate(x{job="a/b"}[5m]) > 0.5 * ~2"#),
        "http://prom:9090/graph?g0.expr=rate%28x%7Bjob%3D%22a%2Fb%22%7D%5B5m%5D%29+%3E+0.5+%2A+~2&g0.tab=1"
    );
    assert_eq!(generator_url("", "up"), "/graph?g0.expr=up&g0.tab=1");
}

#[test]
fn state_names() {
    assert_eq!(AlertState::Inactive.as_str(), "inactive");
    assert_eq!(AlertState::Pending.as_str(), "pending");
    assert_eq!(AlertState::Firing.as_str(), "firing");
    assert!(AlertState::Firing > AlertState::Pending && AlertState::Pending > AlertState::Inactive);
}
