//! Alerting rules inside a group: the series they write and what they send.

use warden_tsdb::is_stale_nan;

use crate::alerting::AlertState;

use super::*;

const RULES: &str = r#"
groups:
  - name: g
    interval: 1m
    labels: {team: infra}
    rules:
      - alert: High
        expr: m > 10
        for: 2m
        labels: {severity: page}
        annotations: {summary: high}
"#;

fn alerts_at(f: &Fixture, t: i64) -> Vec<(Labels, f64)> {
    let mut v = f.at("ALERTS", t);
    v.extend(f.at("ALERTS_FOR_STATE", t));
    v
}

fn opts() -> GroupOptions {
    GroupOptions {
        external_url: "http://warden:9090".into(),
        resend_delay_ms: MIN,
        ..GroupOptions::default()
    }
}

#[test]
fn alerts_series_pending_then_firing_with_stale_marker() {
    let f = fixture();
    f.series(
        &[("__name__", "m"), ("job", "a")],
        0,
        10 * MIN,
        15_000,
        20.0,
    );
    let mut g = group_with(RULES, &opts());
    let al = |state: &str| {
        labels(&[
            ("__name__", "ALERTS"),
            ("alertname", "High"),
            ("alertstate", state),
            ("job", "a"),
            ("severity", "page"),
            ("team", "infra"),
        ])
    };
    let fs = labels(&[
        ("__name__", "ALERTS_FOR_STATE"),
        ("alertname", "High"),
        ("job", "a"),
        ("severity", "page"),
        ("team", "infra"),
    ]);
    let r = f.eval(&mut g, MIN);
    assert_eq!(r.samples, 2);
    assert!(r.to_send.is_empty(), "pending alerts are not sent");
    assert_eq!(
        alerts_at(&f, MIN),
        vec![(al("pending"), 1.0), (fs.clone(), 60.0)]
    );
    f.eval(&mut g, 2 * MIN);
    let r = f.eval(&mut g, 3 * MIN);
    let at3 = alerts_at(&f, 3 * MIN);
    assert_eq!(at3[0], (al("firing"), 1.0));
    assert_eq!(at3[1].0, al("pending"));
    assert!(is_stale_nan(at3[1].1), "pending series ends with a marker");
    assert_eq!(at3[2], (fs.clone(), 60.0));
    assert_eq!(r.to_send.len(), 1);
    let sent = &r.to_send[0];
    assert_eq!(sent.starts_at_ms, 3 * MIN);
    assert_eq!(sent.ends_at_ms, Some(3 * MIN + 4 * MIN));
    assert_eq!(
        sent.generator_url,
        "http://warden:9090/graph?g0.expr=m+%3E+10&g0.tab=1"
    );
    assert_eq!(sent.annotations, labels(&[("summary", "high")]));
    assert_eq!(sent.labels.get("alertname"), Some("High"));

    // Within the resend delay nothing is sent; after it, again.
    assert!(f.eval(&mut g, 4 * MIN).to_send.is_empty());
    assert_eq!(f.eval(&mut g, 5 * MIN).to_send.len(), 1);

    // The condition ends: the alert resolves, is sent at once, and both
    // series end with a marker.
    f.series(
        &[("__name__", "m"), ("job", "a")],
        10 * MIN + 15_000,
        20 * MIN,
        15_000,
        1.0,
    );
    let r = f.eval(&mut g, 11 * MIN);
    assert_eq!(r.to_send.len(), 1);
    assert_eq!(r.to_send[0].ends_at_ms, Some(11 * MIN));
    assert_eq!(r.to_send[0].starts_at_ms, 3 * MIN);
    let at11 = alerts_at(&f, 11 * MIN);
    assert_eq!(at11.len(), 2);
    assert!(at11.iter().all(|(_, v)| is_stale_nan(*v)));
    let st = g.status();
    let RuleStatusKind::Alerting { state, alerts, .. } = &st.rules[0].kind else {
        panic!("alerting rule expected");
    };
    assert_eq!(*state, AlertState::Inactive);
    assert_eq!(alerts[0].resolved_at_ms, Some(11 * MIN));
    // The resolution is re-sent after the resend delay, while retained.
    assert!(f.eval(&mut g, 12 * MIN).to_send.is_empty());
    assert_eq!(f.eval(&mut g, 13 * MIN).to_send.len(), 1);
}

#[test]
fn alerts_are_written_at_the_query_offset() {
    let f = fixture();
    f.series(&[("__name__", "m")], 0, 10 * MIN, 15_000, 20.0);
    let mut g = group(
        "groups:\n  - name: g\n    query_offset: 1m\n    rules:\n      - alert: A\n        expr: m > 1\n",
    );
    f.eval(&mut g, 5 * MIN);
    let v = f.at("ALERTS", 4 * MIN);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0.get("alertstate"), Some("firing"));
    // activeAt is the evaluation time, not the query time.
    assert_eq!(f.at("ALERTS_FOR_STATE", 4 * MIN)[0].1, 300.0);
}

#[test]
fn alert_limit_fails_the_rule() {
    let f = fixture();
    for j in ["a", "b"] {
        f.series(&[("__name__", "m"), ("job", j)], 0, MIN, 15_000, 20.0);
    }
    let mut g = group(
        "groups:\n  - name: g\n    limit: 1\n    rules:\n      - alert: A\n        expr: m > 1\n",
    );
    let r = f.eval(&mut g, MIN);
    assert_eq!(r.failed_rules, 1);
    assert!(r.to_send.is_empty());
    let st = g.status();
    assert_eq!(
        st.rules[0].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 alerts")
    );
    assert!(f.at("ALERTS", MIN).is_empty());
}

#[test]
fn mark_stale_ends_every_series_of_a_removed_group() {
    let f = fixture();
    f.series(&[("__name__", "m")], 0, 5 * MIN, 15_000, 20.0);
    let mut g = group(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: m > 1\n      - record: r\n        expr: m\n",
    );
    f.eval(&mut g, MIN);
    let mut app = f.db.appender();
    g.mark_stale(2 * MIN, &mut app).unwrap();
    for name in ["ALERTS", "ALERTS_FOR_STATE", "r"] {
        let v = f.at(name, 2 * MIN);
        assert_eq!(v.len(), 1, "{name}");
        assert!(is_stale_nan(v[0].1), "{name}");
    }
}

#[test]
fn templates_are_expanded_per_element() {
    let f = fixture();
    f.series(&[("__name__", "m"), ("job", "a")], 0, MIN, 15_000, 20.0);
    f.series(&[("__name__", "m"), ("job", "b")], 0, MIN, 15_000, 80.0);
    let opts = GroupOptions {
        external_labels: [("cluster".to_string(), "eu1".to_string())].into(),
        external_url: "http://w".into(),
        ..GroupOptions::default()
    };
    let mut g = group_with(
        r#"
groups:
  - name: g
    rules:
      - alert: High
        expr: m > 10
        labels:
          severity: '{{"c"}}ritical'
          tier: '{{ if gt $value 50.0 }}page{{ else }}ticket{{ end }}'
        annotations:
          summary: '{{ $labels.job }} is {{ $value }} in {{ $externalLabels.cluster }} ({{ $externalURL }})'
"#,
        &opts,
    );
    let r = f.eval(&mut g, MIN);
    assert_eq!(r.failed_rules, 0);
    let got: Vec<(String, String, String)> = r
        .to_send
        .iter()
        .map(|a| {
            (
                a.labels.get("severity").unwrap_or("").to_string(),
                a.labels.get("tier").unwrap_or("").to_string(),
                a.annotations.get("summary").unwrap_or("").to_string(),
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "critical".into(),
                "page".into(),
                "b is 80 in eu1 (http://w)".into()
            ),
            (
                "critical".into(),
                "ticket".into(),
                "a is 20 in eu1 (http://w)".into()
            ),
        ]
    );
}

#[test]
fn a_template_error_becomes_text_and_the_group_goes_on() {
    let f = fixture();
    f.series(&[("__name__", "m"), ("job", "a")], 0, MIN, 15_000, 20.0);
    let mut g = group(
        r#"
groups:
  - name: g
    rules:
      - alert: Broken
        expr: m > 10
        annotations:
          summary: '{{ $labels.job | humanize }}'
          desc: '{{ index $labels 3 }}'
      - record: after
        expr: m
"#,
    );
    let r = f.eval(&mut g, MIN);
    assert_eq!(r.failed_rules, 0, "{:?}", g.status().rules[0].last_error);
    let a = &r.to_send[0];
    let desc = a.annotations.get("desc").unwrap();
    assert!(
        desc.starts_with(
            "<error expanding template: error executing template __alert_Broken: template: __alert_Broken:1:"
        ) && desc.ends_with("cannot index map with type int>"),
        "{desc}"
    );
    let summary = a.annotations.get("summary").unwrap();
    assert!(
        summary.starts_with("<error expanding template: error executing template __alert_Broken:")
            && summary.contains("error calling humanize"),
        "{summary}"
    );
    assert_eq!(f.at("after", MIN).len(), 1);
}
