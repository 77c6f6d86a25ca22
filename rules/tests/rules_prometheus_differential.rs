//! Side by side with Prometheus 2.42's own rule engine: for each scenario
//! (a rule file with recording rules and alerting rules using `for`,
//! `keep_firing_for`, and annotation templates with `humanize` and
//! `$labels`, plus input series), warden's groups are evaluated step by
//! step; then a promtool unit-test file is generated that asserts, at EVERY
//! evaluation time, warden's firing alerts with their rendered annotations
//! (`alert_rule_test`) and warden's `ALERTS` (pending and firing),
//! `ALERTS_FOR_STATE` and recording-rule series (`promql_expr_test`).
//! `/usr/bin/promtool test rules` (Prometheus 2.42) must pass it. A copy
//! with deliberately altered expectations must fail, so the comparison can
//! fail.
//!
//! Known differences between Prometheus 2.x and 3.x are kept out of the
//! data: 2.x range selectors include a sample exactly at the left boundary
//! (3.x excludes it), so every input sample lies off the one-minute
//! evaluation grid (input interval 30s, samples only at odd positions:
//! 30s, 1m30s, ...), and no range ever starts on a sample. 2.x clamps
//! `rate`'s extrapolation at a counter's zero point before limiting it to
//! half a sample interval, 3.x after: the counters start far from zero,
//! where the clamp never applies.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value as Json, json};
use warden_rules::alerting::AlertState;
use warden_rules::group::{Group, GroupOptions, RuleStatusKind};
use warden_rules::promql::promqltest::{SeqValue, engine_options, parse_series_desc};
use warden_rules::promql::{Engine, Value};
use warden_rules::query::{LocalQuery, QueryFn};
use warden_rules::rulefmt::{self, LoadOptions, RuleKind};
use warden_tsdb::{Appender, Db, DbOptions, Labels, Querier};

const PROMTOOL: &str = "/usr/bin/promtool";
const EVAL_MS: i64 = 60_000;
const INPUT_MS: i64 = 30_000;

struct Scenario {
    name: &'static str,
    rules: &'static str,
    /// (series, one value per minute); each value lands at the odd
    /// 30s position of its minute.
    series: Vec<(&'static str, Vec<Option<f64>>)>,
    minutes: i64,
}

/// promtool's value notation with a missing sample at every even 30s slot.
fn off_grid_values(per_minute: &[Option<f64>]) -> String {
    per_minute
        .iter()
        .map(|v| match v {
            Some(x) => format!("_ {x}"),
            None => "_ _".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A counter that starts high, so that neither version's rate clamps its
/// extrapolation at the counter's zero point (2.x and 3.x order that
/// clamp differently).
fn counter(minutes: i64, mut rate_per_min: impl FnMut(i64) -> f64) -> Vec<Option<f64>> {
    let mut total = 10_000.0;
    (0..minutes)
        .map(|m| {
            total += rate_per_min(m);
            Some(total)
        })
        .collect()
}

fn gauge(minutes: i64, f: impl Fn(i64) -> Option<f64>) -> Vec<Option<f64>> {
    (0..minutes).map(f).collect()
}

fn scenarios() -> Vec<Scenario> {
    let minutes = 40;
    vec![
        Scenario {
            name: "http",
            rules: r#"
groups:
- name: http
  rules:
  - record: job:http_errors:rate5m
    expr: sum by (job) (rate(http_errors_total[5m]))
  - alert: HighErrorRate
    expr: job:http_errors:rate5m > 0.5
    for: 3m
    keep_firing_for: 2m
    labels:
      severity: page
      team: '{{ $labels.job }}-oncall'
    annotations:
      summary: 'Error rate of {{ $labels.job }} is {{ $value | humanize }}/s'
      description: '{{ $labels.job }} fails {{ humanize $value }} requests per second'
  - alert: InstanceDown
    expr: up == 0
    for: 2m
    annotations:
      summary: 'Instance {{ $labels.instance }} of {{ $labels.job }} down'
      value: '{{ $value }}'
"#,
            series: vec![
                (
                    r#"http_errors_total{job="api", instance="a"}"#,
                    counter(minutes, |m| if (8..20).contains(&m) { 60.0 } else { 3.0 }),
                ),
                (
                    r#"http_errors_total{job="web", instance="b"}"#,
                    counter(minutes, |m| if (25..28).contains(&m) { 90.0 } else { 1.0 }),
                ),
                (
                    r#"up{job="api", instance="a"}"#,
                    gauge(minutes, |m| {
                        Some(if (5..12).contains(&m) { 0.0 } else { 1.0 })
                    }),
                ),
                (
                    r#"up{job="web", instance="b"}"#,
                    gauge(minutes, |m| {
                        (m != 30).then_some(if (14..16).contains(&m) { 0.0 } else { 1.0 })
                    }),
                ),
            ],
            minutes,
        },
        Scenario {
            name: "disk",
            rules: r#"
groups:
- name: disk
  rules:
  - record: instance:disk_free:ratio
    expr: node_filesystem_avail_bytes / node_filesystem_size_bytes
    labels:
      kind: ratio
  - record: instance:disk_avail:max10m
    expr: max_over_time(node_filesystem_avail_bytes[10m])
  - alert: DiskAlmostFull
    expr: instance:disk_free:ratio < 0.1
    keep_firing_for: 3m
    labels:
      severity: warning
    annotations:
      summary: '{{ $labels.instance }} has {{ $value | humanize }} of {{ $labels.mountpoint }} free'
  - alert: DiskShrinking
    expr: instance:disk_avail:max10m - node_filesystem_avail_bytes > 2e9
    for: 4m
    annotations:
      summary: '{{ $labels.mountpoint }} on {{ $labels.instance }} lost {{ humanize $value }}B in 10m'
"#,
            series: vec![
                (
                    r#"node_filesystem_size_bytes{instance="db1", mountpoint="/data"}"#,
                    gauge(minutes, |_| Some(100e9)),
                ),
                (
                    r#"node_filesystem_avail_bytes{instance="db1", mountpoint="/data"}"#,
                    gauge(minutes, |m| {
                        Some(if m < 10 {
                            30e9
                        } else if m < 22 {
                            30e9 - (m - 9) as f64 * 2.5e9
                        } else {
                            20e9
                        })
                    }),
                ),
                (
                    r#"node_filesystem_size_bytes{instance="web1", mountpoint="/"}"#,
                    gauge(minutes, |_| Some(8e9)),
                ),
                (
                    r#"node_filesystem_avail_bytes{instance="web1", mountpoint="/"}"#,
                    gauge(minutes, |m| {
                        Some(if (12..18).contains(&m) { 0.5e9 } else { 2e9 })
                    }),
                ),
            ],
            minutes,
        },
    ]
}

/// A label or annotation set.
type LabelMap = BTreeMap<String, String>;

/// What warden's rules produced at one evaluation time.
struct Step {
    t_ms: i64,
    /// Firing alerts per alert name: labels without `alertname`, annotations.
    firing: BTreeMap<String, Vec<(LabelMap, LabelMap)>>,
    /// Query results per expression: (series notation, value).
    series: BTreeMap<String, Vec<(String, f64)>>,
}

fn series_notation(l: &Labels) -> String {
    let quote = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let rest: Vec<String> = l
        .iter()
        .filter(|x| x.name != "__name__")
        .map(|x| format!("{}={}", x.name, quote(&x.value)))
        .collect();
    format!("{}{{{}}}", l.metric_name().unwrap_or(""), rest.join(", "))
}

fn warden_timeline(sc: &Scenario, alert_names: &[String], exprs: &[String]) -> Vec<Step> {
    let file = rulefmt::parse("rules.yml", sc.rules, LoadOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", sc.name));
    // promtool hands its groups the test's input interval as their default.
    let opts = GroupOptions {
        default_interval_ms: INPUT_MS,
        ..GroupOptions::default()
    };
    let mut groups: Vec<Group> = file
        .groups
        .iter()
        .map(|g| Group::new("rules.yml", g, &opts))
        .collect();
    let db = Arc::new(Db::in_memory(DbOptions::default()));
    let mut engine_opts = engine_options();
    engine_opts.default_subquery_step_ms = EVAL_MS;
    let querier: Arc<dyn Querier> = db.clone();
    let query = LocalQuery::new(Engine::new(engine_opts), querier);

    let mut input: Vec<(Labels, Vec<(i64, f64)>)> = Vec::new();
    for (s, values) in &sc.series {
        let desc = parse_series_desc(&format!("{s} {}", off_grid_values(values)))
            .unwrap_or_else(|e| panic!("{s}: {e}"));
        let samples = desc
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match v {
                SeqValue::Float(f) => Some((i as i64 * INPUT_MS, *f)),
                _ => None,
            })
            .collect();
        input.push((desc.labels, samples));
    }

    let mut steps = Vec::new();
    let mut next = vec![0usize; input.len()];
    for t in (0..=sc.minutes * EVAL_MS).step_by(EVAL_MS as usize) {
        // As promtool: the input samples up to t, then every group at t.
        let mut app = db.appender();
        for ((labels, samples), next) in input.iter().zip(&mut next) {
            while let Some(&(st, v)) = samples.get(*next).filter(|(st, _)| *st <= t) {
                app.append(labels, st, v).expect("append input");
                *next += 1;
            }
        }
        app.commit().expect("commit input");
        for g in &mut groups {
            let report = g.evaluate(t, &query, &mut db.appender());
            assert_eq!(report.failed_rules, 0, "{}: a rule failed at {t}", sc.name);
        }
        let mut firing: BTreeMap<String, Vec<_>> = alert_names
            .iter()
            .map(|n| (n.clone(), Vec::new()))
            .collect();
        for g in &groups {
            for rule in g.status().rules {
                if let RuleStatusKind::Alerting { alerts, .. } = rule.kind {
                    for a in alerts.into_iter().filter(|a| a.state == AlertState::Firing) {
                        let labels = a
                            .labels
                            .iter()
                            .filter(|l| l.name != "alertname")
                            .map(|l| (l.name.clone(), l.value.clone()))
                            .collect();
                        let annotations = a
                            .annotations
                            .iter()
                            .map(|l| (l.name.clone(), l.value.clone()))
                            .collect();
                        firing
                            .entry(rule.name.clone())
                            .or_default()
                            .push((labels, annotations));
                    }
                }
            }
        }
        let mut series = BTreeMap::new();
        for e in exprs {
            let out = query
                .instant(e, t)
                .unwrap_or_else(|err| panic!("{e}: {err}"));
            let Value::Vector(v) = out.value else {
                panic!("{e} is not a vector");
            };
            series.insert(
                e.clone(),
                v.iter()
                    .map(|s| (series_notation(&s.labels), s.v))
                    .collect(),
            );
        }
        steps.push(Step {
            t_ms: t,
            firing,
            series,
        });
    }
    steps
}

fn promtool_test(sc: &Scenario, steps: &[Step]) -> Json {
    let eval_time = |t: i64| format!("{}s", t / 1000);
    let mut alert_tests = Vec::new();
    let mut expr_tests = Vec::new();
    for step in steps {
        for (name, alerts) in &step.firing {
            let exp: Vec<Json> = alerts
                .iter()
                .map(|(l, a)| json!({"exp_labels": l, "exp_annotations": a}))
                .collect();
            alert_tests.push(json!({
                "eval_time": eval_time(step.t_ms),
                "alertname": name,
                "exp_alerts": exp,
            }));
        }
        for (expr, samples) in &step.series {
            let exp: Vec<Json> = samples
                .iter()
                .map(|(l, v)| json!({"labels": l, "value": v}))
                .collect();
            expr_tests.push(json!({
                "expr": expr,
                "eval_time": eval_time(step.t_ms),
                "exp_samples": exp,
            }));
        }
    }
    let input: Vec<Json> = sc
        .series
        .iter()
        .map(|(s, v)| json!({"series": s, "values": off_grid_values(v)}))
        .collect();
    json!({
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "name": sc.name,
            "interval": "30s",
            "input_series": input,
            "alert_rule_test": alert_tests,
            "promql_expr_test": expr_tests,
        }],
    })
}

/// Runs Prometheus 2.42's `promtool test rules`; returns (passed, output).
fn promtool(dir: &Path, test: &Json) -> (bool, String) {
    let path = dir.join("test.yml");
    std::fs::write(&path, serde_json::to_string_pretty(test).expect("json")).expect("write test");
    let out = Command::new(PROMTOOL)
        .args(["test", "rules", "test.yml"])
        .current_dir(dir)
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn names(sc: &Scenario) -> (Vec<String>, Vec<String>) {
    let file = rulefmt::parse("rules.yml", sc.rules, LoadOptions::default()).expect("rules");
    let mut alerts = Vec::new();
    let mut exprs = vec!["ALERTS".to_string(), "ALERTS_FOR_STATE".to_string()];
    for r in file.groups.iter().flat_map(|g| &g.rules) {
        match &r.kind {
            RuleKind::Alerting { alert, .. } if !alerts.contains(alert) => {
                alerts.push(alert.clone())
            }
            RuleKind::Recording { record } if !exprs.contains(record) => exprs.push(record.clone()),
            _ => {}
        }
    }
    (alerts, exprs)
}

#[test]
fn alert_states_and_annotations_agree_with_prometheus_at_every_evaluation() {
    assert!(
        Path::new(PROMTOOL).exists(),
        "promtool is not installed: install Debian's `prometheus` package"
    );
    for sc in scenarios() {
        let (alert_names, exprs) = names(&sc);
        let steps = warden_timeline(&sc, &alert_names, &exprs);
        // The scenario must exercise the state machine, or agreeing proves little.
        let pending = steps.iter().any(|s| {
            s.series["ALERTS"]
                .iter()
                .any(|(l, _)| l.contains("alertstate=\"pending\""))
        });
        let firing = steps
            .iter()
            .any(|s| s.firing.values().any(|a| !a.is_empty()));
        assert!(
            pending && firing,
            "{}: no pending or no firing alert",
            sc.name
        );

        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("rules.yml"), sc.rules).expect("write rules");
        let test = promtool_test(&sc, &steps);
        let (passed, output) = promtool(dir.path(), &test);
        assert!(
            passed,
            "{}: Prometheus 2.42 disagrees with warden:\n{}",
            sc.name,
            &output[..output.len().min(20_000)]
        );

        // The same file with two expectations altered must fail on both.
        let mut altered = test.clone();
        let alerts = altered["tests"][0]["alert_rule_test"]
            .as_array_mut()
            .expect("alert tests");
        let one = alerts
            .iter_mut()
            .find(|a| a["exp_alerts"].as_array().is_some_and(|x| !x.is_empty()))
            .expect("a firing alert");
        let ann = one["exp_alerts"][0]["exp_annotations"]
            .as_object_mut()
            .expect("annotations");
        let key = ann.keys().next().cloned().expect("an annotation");
        let text = ann
            .get(&key)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        ann.insert(key, json!(format!("{text} (altered)")));
        let exprs = altered["tests"][0]["promql_expr_test"]
            .as_array_mut()
            .expect("expr tests");
        let sample = exprs
            .iter_mut()
            .find(|e| {
                e["expr"] == "ALERTS_FOR_STATE"
                    && e["exp_samples"].as_array().is_some_and(|x| !x.is_empty())
            })
            .expect("an ALERTS_FOR_STATE sample");
        sample["exp_samples"][0]["value"] = json!(12345);
        let (passed, output) = promtool(dir.path(), &altered);
        assert!(
            !passed,
            "{}: promtool accepted altered expectations",
            sc.name
        );
        assert!(output.contains("(altered)"), "{output}");
        assert!(output.contains("1.2345E+04"), "{output}");
    }
}
