//! Alert templates expanded by warden and by the real Prometheus 2.42.
//!
//! Prometheus evaluates alerting rules (`for: 0s`, values made with
//! `vector(...)` and `label_replace`, so nothing is scraped) whose labels
//! and annotations use every template function 2.42 has, with edge cases
//! and execution errors; the expanded strings from `/api/v1/alerts` must
//! equal warden's `template::expand` given the same labels, value, external
//! labels and URL. `now`, `toDuration` and `urlQueryEscape` are newer than
//! 2.42: their unit tests (in the crate) follow Prometheus 3's source.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use support::prometheus::Prometheus;
use warden_rules::promql::promqltest::MemStore;
use warden_rules::promql::{Engine, EngineOptions};
use warden_rules::query::LocalQuery;
use warden_rules::template::{TemplateData, expand};

const EXTERNAL_URL: &str = "http://prom.example.com:9090/prefix";

/// Templates whose output depends on `$value`, expanded for every value.
const VALUE_TEMPLATES: &[&str] = &[
    "{{ $value }}",
    "{{ .Value }}",
    "{{ $value | humanize }}",
    "{{ humanize1024 $value }}",
    "{{ humanizeDuration $value }}",
    "{{ humanizePercentage $value }}",
    "{{ humanizeTimestamp $value }}",
    "{{ toTime $value }}",
    r#"{{ printf "%s|%d|%f|%.2f|%g|%e|%q|%v|%8.3f|%-8v|" "s" 42 $value $value $value $value "q" $value $value $value }}"#,
    r#"{{ if gt $value 100.0 }}high{{ else }}low{{ end }}"#,
    r#"{{ printf "%v" $value | humanize }}"#,
    "{{ print $value 1 \"a\" }}",
];

/// Values the alerts carry, as PromQL literals and as numbers.
const VALUES: &[(&str, f64)] = &[
    ("1234567.891", 1234567.891),
    ("0.000012345", 0.000012345),
    ("-1234.5", -1234.5),
    ("1e-30", 1e-30),
    ("1e30", 1e30),
    ("0", 0.0),
    ("NaN", f64::NAN),
    ("Inf", f64::INFINITY),
    ("-Inf", f64::NEG_INFINITY),
    ("90061.5", 90061.5),
    ("0.256", 0.256),
    ("1435065584.128", 1435065584.128),
    ("2048", 2048.0),
];

/// Templates that do not depend on the value (expanded once, value 3).
const FIXED_TEMPLATES: &[&str] = &[
    "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
    r#"{{ $labels.instance }}|{{ $labels.missing }}|{{ index $labels "missing" }}|{{ .Labels.job }}"#,
    "{{ $labels }}",
    r#"{{ reReplaceAll "([^.]*)\\..*" "$1" $labels.instance }}|{{ reReplaceAll "(a)(b)?" "[$2$1${1}x$$]" "ac ab" }}"#,
    r#"{{ query "label_replace(vector(7), \"instance\", \"a:1\", \"\", \"\")" | first | value }}"#,
    r#"{{ with query "vector(5)" }}{{ . | first | value | humanize }}{{ end }}"#,
    r#"{{ range query "label_replace(vector(1), \"x\", \"b\", \"\", \"\") or label_replace(vector(2), \"x\", \"a\", \"\", \"\")" | sortByLabel "x" }}{{ .Labels.x }}={{ .Value }} {{ end }}"#,
    r#"{{ query "label_replace(vector(1), \"x\", \"b\", \"\", \"\")" | first | label "x" }}"#,
    r#"{{ query "label_replace(vector(1), \"__value__\", \"sv\", \"\", \"\")" | first | strvalue }}"#,
    r#"{{ query "scalar(vector(9))" | first | value }}|{{ len (query "vector(1) > 5") }}"#,
    r#"{{ (query "label_replace(vector(2), \"y\", \"z\", \"\", \"\")" | first).Labels.y }}"#,
    r#"{{ title "hello world" }} {{ toUpper "abc é" }} {{ toLower "ABC" }}"#,
    r#"{{ stripPort "host:9100" }} {{ stripPort "[::1]:9100" }} {{ stripPort "::1" }} {{ stripPort "host" }} {{ stripPort $labels.instance }}"#,
    r#"{{ stripDomain "a.b.c:9100" }} {{ stripDomain "10.0.0.1:9100" }} {{ stripDomain "[2001:db8::1]:9100" }} {{ stripDomain "node" }} {{ stripDomain $labels.instance }}"#,
    "{{ pathPrefix }}|{{ externalURL }}|{{ $externalURL }}|{{ $externalLabels.cluster }}|{{ $externalLabels }}",
    r#"{{ graphLink "rate(x[5m]) > 0" }}|{{ tableLink "up{a=\"b c\"}" }}"#,
    r#"{{ parseDuration "1h30m" }} {{ parseDuration "250ms" }} {{ parseDuration "1d" }}"#,
    r#"{{ safeHtml "<b>x</b>" }}"#,
    r#"{{ with args 1 "a" }}{{ .arg0 }} {{ .arg1 }} {{ .arg2 }}{{ end }}"#,
    r#"{{ if match "^a" "abc" }}y{{ end }}{{ match "b$" "abc" }}{{ match "\\d+" "x12" }}"#,
    r#"{{ humanize "1234.5" }} {{ humanize1024 "2048" }} {{ humanizeDuration "90.5" }} {{ humanizePercentage "0.5" }} {{ humanizeTimestamp "0" }}"#,
    "{{ humanizeDuration 0.000123 }} {{ humanizeDuration -3600.5 }} {{ humanizeDuration 1e7 }} {{ humanizeDuration 59.99 }}",
    "{{ humanize 999.99999 }} {{ humanize 1000 }} {{ humanize -0.001 }} {{ humanize1024 1 }} {{ humanize1024 -1048576 }}",
    r#"{{ printf "%5.1f%% %x %o %t %c" 12.345 255 8 true 65 }}"#,
    "{{ len $labels }} {{ if eq $labels.job \"node\" }}node{{ end }}",
    // Execution errors: Prometheus puts its message in the annotation.
    r#"{{ humanize "abc" }}"#,
    r#"{{ query "nothing_here" | first }}"#,
    "{{ toUpper $value }}",
    "{{ $value | toUpper }}",
    "{{ toUpper 42 }}",
    "{{ humanize 1 2 }}",
    r#"{{ match "(" "x" }}"#,
    r#"{{ reReplaceAll "[" "" "x" }}"#,
    r#"{{ parseDuration "soon" }}"#,
    r#"{{ humanize "this is not a number at all" }}"#,
    r#"line one
{{ humanizeTimestamp 1e12 }}"#,
    r#"{{ query "\"a string\"" }}"#,
];

/// A label template, to compare expanded labels too.
const LABEL_TEMPLATE: &str =
    r#"{{ if gt $value 100.0 }}high{{ else }}low{{ end }}-{{ $labels.job }}"#;

fn alert_expr(literal: &str) -> String {
    format!(
        r#"label_replace(label_replace(vector({literal}), "instance", "host1.example.com:9100", "", ""), "job", "node", "", "")"#
    )
}

fn annotations(templates: &[&str]) -> Json {
    let map: serde_json::Map<String, Json> = templates
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("t{i:02}"), json!(t)))
        .collect();
    Json::Object(map)
}

fn rule_file() -> String {
    let mut rules: Vec<Json> = VALUES
        .iter()
        .enumerate()
        .map(|(i, (literal, _))| {
            json!({
                "alert": format!("V{i}"),
                "expr": alert_expr(literal),
                "for": "0s",
                "labels": { "severity": LABEL_TEMPLATE },
                "annotations": annotations(VALUE_TEMPLATES),
            })
        })
        .collect();
    rules.push(json!({
        "alert": "Fixed",
        "expr": alert_expr("3"),
        "for": "0s",
        "labels": { "severity": LABEL_TEMPLATE },
        "annotations": annotations(FIXED_TEMPLATES),
    }));
    json!({ "groups": [{ "name": "templates", "interval": "1s", "rules": rules }] }).to_string()
}

/// Waits until every rule's alert is firing and returns them.
fn firing_alerts(p: &Prometheus, want: usize) -> Vec<Json> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = p.get_json("/prefix/api/v1/alerts");
        let alerts: Vec<Json> = body["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["state"] == "firing")
            .collect();
        if alerts.len() == want {
            return alerts;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {want} alerts firing: {body}",
            alerts.len()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn warden_expand(name: &str, text: &str, value: f64, query: &LocalQuery) -> String {
    let labels = BTreeMap::from([
        ("instance".to_string(), "host1.example.com:9100".to_string()),
        ("job".to_string(), "node".to_string()),
    ]);
    let external = BTreeMap::from([("cluster".to_string(), "eu1".to_string())]);
    let data = TemplateData {
        labels: &labels,
        external_labels: &external,
        external_url: EXTERNAL_URL,
        value,
    };
    match expand(name, text, &data, 1_700_000_000_000, query) {
        Ok(s) => s,
        Err(e) => format!("<error expanding template: {e}>"),
    }
}

#[test]
fn templates_expand_as_prometheus_expands_them() {
    let config = "global:\n  evaluation_interval: 1s\n  external_labels:\n    cluster: eu1\nrule_files:\n  - rules.yml\n";
    let rules = rule_file();
    let p = Prometheus::start_with_config(
        config,
        &[("rules.yml", &rules)],
        &[format!("--web.external-url={EXTERNAL_URL}")],
        "/prefix",
    );
    let alerts = firing_alerts(&p, VALUES.len() + 1);
    let query = LocalQuery::new(
        Engine::new(EngineOptions::default()),
        Arc::new(MemStore::new()),
    );

    let mut mismatches = Vec::new();
    let mut compared = 0;
    for alert in &alerts {
        let name = alert["labels"]["alertname"].as_str().unwrap_or_default();
        let (value, templates) = match name.strip_prefix('V').and_then(|i| i.parse::<usize>().ok())
        {
            Some(i) => (VALUES[i].1, VALUE_TEMPLATES),
            None => (3.0, FIXED_TEMPLATES),
        };
        let tname = format!("__alert_{name}");
        for (i, t) in templates.iter().enumerate() {
            let theirs = alert["annotations"][format!("t{i:02}")]
                .as_str()
                .unwrap_or("<missing>");
            let ours = warden_expand(&tname, t, value, &query);
            compared += 1;
            if ours != theirs {
                mismatches.push(format!(
                    "{name} {t}\n  prometheus: {theirs:?}\n  warden:     {ours:?}"
                ));
            }
        }
        let theirs = alert["labels"]["severity"].as_str().unwrap_or("<missing>");
        let ours = warden_expand(&tname, LABEL_TEMPLATE, value, &query);
        compared += 1;
        if ours != theirs {
            mismatches.push(format!(
                "{name} label\n  prometheus: {theirs:?}\n  warden:     {ours:?}"
            ));
        }
    }
    assert!(compared > 200, "compared only {compared} strings");
    assert!(
        mismatches.is_empty(),
        "{} of {compared} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
