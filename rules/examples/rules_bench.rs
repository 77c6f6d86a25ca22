//! Rule-group evaluation cost, in process, over the real store and engine.
//!
//! Two groups, loaded from generated rule files:
//! - 1,000 alerting rules (10 shapes × 10 jobs × 10 thresholds, templated
//!   annotations) over 10k counter series;
//! - 100 recording rules (aggregations of rates) over 100k series.
//!
//! Run: `cargo run --release -p warden-rules --example rules_bench`
//! Prints the median and worst wall time of several evaluations of each
//! group, the samples written and the alerts sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_rules::group::{Group, GroupOptions};
use warden_rules::promql::{Engine, EngineOptions};
use warden_rules::query::LocalQuery;
use warden_rules::rulefmt::{LoadOptions, parse};
use warden_tsdb::{Appender, Db, DbOptions, Labels, Querier};

const STEP: i64 = 15_000;
const JOBS: [&str; 10] = [
    "api", "web", "auth", "billing", "search", "checkout", "catalog", "payments", "notifier",
    "gateway",
];

/// Writes counters growing at a per-series rate, every 15 s over `samples` steps.
fn load(db: &Db, series: &[Labels], samples: i64) {
    for k in 0..samples {
        let mut app = db.appender();
        for (i, l) in series.iter().enumerate() {
            let rate = 1.0 + (i % 97) as f64 / 10.0;
            let _ = app.append(l, k * STEP, rate * (k as f64) * 15.0);
        }
        let _ = app.commit();
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap_or_default()
}

fn alert_series() -> Vec<Labels> {
    let mut out = Vec::new();
    for j in JOBS {
        for i in 0..100 {
            for s in [
                "200", "201", "204", "301", "400", "404", "429", "500", "502", "503",
            ] {
                let inst = format!("host-{i}:9100");
                out.push(labels(&[
                    ("__name__", "http_requests_total"),
                    ("job", j),
                    ("instance", &inst),
                    ("status", s),
                ]));
            }
        }
    }
    out
}

fn alert_rules() -> String {
    let shapes = [
        (
            "HighErrorRatio",
            r#"sum by (job, instance) (rate(http_requests_total{job="J",status=~"5.."}[5m])) / sum by (job, instance) (rate(http_requests_total{job="J"}[5m])) > T"#,
            0.05,
        ),
        (
            "HighRequestRate",
            r#"sum by (job, instance) (rate(http_requests_total{job="J"}[2m])) > T"#,
            50.0,
        ),
        (
            "Many404",
            r#"rate(http_requests_total{job="J",status="404"}[5m]) > T"#,
            5.0,
        ),
        (
            "Throttled",
            r#"rate(http_requests_total{job="J",status="429"}[1m]) > T"#,
            3.0,
        ),
        (
            "NoTraffic",
            r#"sum by (job) (rate(http_requests_total{job="J"}[5m])) < T"#,
            1.0,
        ),
        (
            "ErrorBurst",
            r#"increase(http_requests_total{job="J",status="500"}[5m]) > T"#,
            1000.0,
        ),
        (
            "RedirectHeavy",
            r#"rate(http_requests_total{job="J",status="301"}[10m]) > T"#,
            8.0,
        ),
        (
            "ClientErrors",
            r#"sum by (instance) (rate(http_requests_total{job="J",status=~"4.."}[5m])) > T"#,
            20.0,
        ),
        (
            "TopInstances",
            r#"topk(3, rate(http_requests_total{job="J",status="200"}[5m])) > T"#,
            2.0,
        ),
        (
            "Deriv",
            r#"deriv(http_requests_total{job="J",status="503"}[5m]) > T"#,
            9.0,
        ),
    ];
    let mut y = String::from("groups:\n  - name: alerts\n    interval: 15s\n    rules:\n");
    for (name, expr, base) in shapes {
        for j in JOBS {
            for k in 0..10 {
                let t = base * (1.0 + k as f64 * 0.1);
                let e = expr.replace('J', j).replace('T', &t.to_string());
                y.push_str(&format!(
                    "      - alert: {name}{k}\n        expr: '{e}'\n        for: 1m\n        labels: {{severity: warning}}\n        annotations:\n          summary: 'value {{{{ $value }}}} on {{{{ $labels.instance }}}}'\n"
                ));
            }
        }
    }
    y
}

fn record_series() -> Vec<Labels> {
    let mut out = Vec::new();
    for j in JOBS {
        for i in 0..100 {
            let inst = format!("node-{i}:9100");
            for c in 0..25 {
                for m in ["user", "system", "idle", "iowait"] {
                    let cpu = c.to_string();
                    out.push(labels(&[
                        ("__name__", "node_cpu_seconds_total"),
                        ("job", j),
                        ("instance", &inst),
                        ("cpu", &cpu),
                        ("mode", m),
                    ]));
                }
            }
        }
    }
    out
}

fn record_rules() -> String {
    let mut y = String::from("groups:\n  - name: records\n    interval: 15s\n    rules:\n");
    let aggs = [
        "sum by (job, instance)",
        "avg by (job)",
        "max by (instance)",
        "sum by (job, mode)",
        "count by (job)",
    ];
    let modes = ["user", "system", "idle", "iowait"];
    let windows = ["1m", "5m", "2m", "10m", "3m"];
    let mut n = 0;
    'out: for a in aggs {
        for m in modes {
            for w in windows {
                y.push_str(&format!(
                    "      - record: rec_{n}\n        expr: '{a} (rate(node_cpu_seconds_total{{mode=\"{m}\"}}[{w}]))'\n"
                ));
                n += 1;
                if n == 100 {
                    break 'out;
                }
            }
        }
    }
    // 100 = 5 × 4 × 5.
    y
}

fn bench(title: &str, series: Vec<Labels>, samples: i64, rules: &str) {
    let db = Arc::new(Db::in_memory(DbOptions::default()));
    let started = Instant::now();
    load(&db, &series, samples);
    let load_time = started.elapsed();
    let querier: Arc<dyn Querier> = db.clone();
    let query = LocalQuery::new(Engine::new(EngineOptions::default()), querier);
    let file = match parse("bench.yml", rules, LoadOptions::default()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let mut group = Group::new("bench.yml", &file.groups[0], &GroupOptions::default());
    let mut times: Vec<Duration> = Vec::new();
    let (mut written, mut sent, mut failed) = (0, 0, 0);
    let last = (samples - 1) * STEP;
    for k in 0..7 {
        let ts = last - (6 - k) * STEP;
        let mut app = db.appender();
        let t0 = Instant::now();
        let r = group.evaluate(ts, &query, &mut app);
        times.push(t0.elapsed());
        written = r.samples;
        sent += r.to_send.len();
        failed = r.failed_rules;
    }
    let first = times.remove(0);
    times.sort();
    println!(
        "{title}: {} series × {samples} samples loaded in {:.1?}; {} rules; first evaluation {:.1?}, \
         median {:.1?}, worst {:.1?} (6 runs); {written} samples per evaluation, {sent} alerts sent, {failed} failed rules",
        series.len(),
        load_time,
        file.groups[0].rules.len(),
        first,
        times[times.len() / 2],
        times[times.len() - 1],
    );
}

fn main() {
    bench("1000 alerting rules", alert_series(), 80, &alert_rules());
    bench("100 recording rules", record_series(), 60, &record_rules());
}
