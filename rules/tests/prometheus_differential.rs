//! Differential test: warden's PromQL engine against Debian's Prometheus 2.42
//! on the same generated data.
//!
//! The data (counters with a reset, gauges, classic histograms, a series
//! with gaps) is backfilled into Prometheus with promtool and appended to
//! warden's own store through its `Appender`. Queries run at times off the
//! 15 s sample grid, where Prometheus 2's closed and Prometheus 3's left-open range selectors agree,
//! and only use functions both versions share. Results must match within
//! promqltest's tolerance; every query must agree.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use support::prometheus::{Prometheus, encode};
use warden_rules::promql::{Engine, Value};
use warden_tsdb::{Appender, Db, DbOptions, Labels, Sample, Series};

const T0_MS: i64 = 1_700_000_000_000;
const STEP_MS: i64 = 15_000;
const POINTS: i64 = 480; // two hours

/// A small deterministic generator (xorshift), so both sides see the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).expect("valid labels")
}

fn generate() -> Vec<Series> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    let times = (0..POINTS).map(|i| T0_MS + i * STEP_MS);
    for job in ["api", "db", "cache"] {
        for n in 0..4 {
            let instance = format!("10.0.0.{n}:9100");
            for method in ["GET", "POST"] {
                for status in ["200", "500"] {
                    let mut v = 0.0;
                    let scale = if status == "500" { 2.0 } else { 40.0 };
                    let reset_at = (job == "db" && n == 1 && method == "GET").then_some(200);
                    let samples = times
                        .clone()
                        .enumerate()
                        .map(|(i, t)| {
                            if Some(i) == reset_at {
                                v = 0.0;
                            }
                            v += (rng.unit() * scale).floor();
                            Sample { t, v }
                        })
                        .collect();
                    let l = labels(&[
                        ("__name__", "http_requests_total"),
                        ("job", job),
                        ("instance", &instance),
                        ("method", method),
                        ("status", status),
                    ]);
                    out.push(Series::new(l, samples));
                }
            }
            let mut mem = 5e8 + rng.unit() * 1e9;
            let drift = (rng.unit() - 0.4) * 4e5;
            let samples = times
                .clone()
                .map(|t| {
                    mem += drift + (rng.unit() - 0.5) * 2e6;
                    Sample { t, v: mem.round() }
                })
                .collect();
            out.push(Series::new(
                labels(&[
                    ("__name__", "memory_bytes"),
                    ("job", job),
                    ("instance", &instance),
                ]),
                samples,
            ));
            let samples = times
                .clone()
                .enumerate()
                .filter(|(i, _)| i % 7 != 3 && !(100..140).contains(i))
                .map(|(i, t)| Sample {
                    t,
                    v: 20.0 + (i as f64 / 40.0).sin() * 8.0 + (rng.unit() * 4.0).round() / 2.0,
                })
                .collect();
            out.push(Series::new(
                labels(&[
                    ("__name__", "temperature"),
                    ("job", job),
                    ("instance", &instance),
                ]),
                samples,
            ));
            let bounds = ["0.1", "0.5", "1", "+Inf"];
            let mut counts = [0.0f64; 4];
            let mut sum = 0.0;
            let mut bucket_series: Vec<Vec<Sample>> = vec![Vec::new(); 4];
            let mut sum_series = Vec::new();
            let mut count_series = Vec::new();
            for t in times.clone() {
                let observations = (rng.unit() * 20.0).floor() as usize;
                for _ in 0..observations {
                    let d = rng.unit().powi(3) * 1.5;
                    sum += d;
                    for (b, bound) in [0.1, 0.5, 1.0, f64::INFINITY].iter().enumerate() {
                        if d <= *bound {
                            counts[b] += 1.0;
                        }
                    }
                }
                for b in 0..4 {
                    bucket_series[b].push(Sample { t, v: counts[b] });
                }
                sum_series.push(Sample { t, v: sum });
                count_series.push(Sample { t, v: counts[3] });
            }
            for (b, samples) in bucket_series.into_iter().enumerate() {
                out.push(Series::new(
                    labels(&[
                        ("__name__", "request_duration_seconds_bucket"),
                        ("job", job),
                        ("instance", &instance),
                        ("le", bounds[b]),
                    ]),
                    samples,
                ));
            }
            for (name, samples) in [
                ("request_duration_seconds_sum", sum_series),
                ("request_duration_seconds_count", count_series),
            ] {
                out.push(Series::new(
                    labels(&[("__name__", name), ("job", job), ("instance", &instance)]),
                    samples,
                ));
            }
        }
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out
}

/// OpenMetrics text for promtool: one family's lines together, no metadata
/// (every family is `unknown`), timestamps in seconds.
fn to_openmetrics(series: &[Series]) -> String {
    let mut by_name: BTreeMap<&str, Vec<&Series>> = BTreeMap::new();
    for s in series {
        by_name
            .entry(s.labels.metric_name().unwrap_or(""))
            .or_default()
            .push(s);
    }
    let mut out = String::new();
    for (name, family) in by_name {
        for s in family {
            let mut sel = String::from(name);
            sel.push('{');
            let rest: Vec<String> = s
                .labels
                .iter()
                .filter(|l| l.name != "__name__")
                .map(|l| format!("{}=\"{}\"", l.name, l.value))
                .collect();
            sel.push_str(&rest.join(","));
            sel.push('}');
            for p in &s.samples {
                let _ = writeln!(out, "{sel} {} {}.{:03}", p.v, p.t / 1000, p.t % 1000);
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// The generated series appended to warden's own store, as a collector would.
fn load_warden(series: &[Series]) -> Db {
    let db = Db::in_memory(DbOptions::default());
    let mut app = db.appender();
    for s in series {
        for p in &s.samples {
            app.append(&s.labels, p.t, p.v)
                .expect("append generated sample");
        }
    }
    app.commit().expect("commit generated samples");
    drop(app);
    db
}

const INSTANT_QUERIES: &[&str] = &[
    "http_requests_total",
    r#"http_requests_total{status="500",method=~"G.*"}"#,
    "rate(http_requests_total[5m])",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[10m])",
    "resets(http_requests_total[1h])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum(rate(http_requests_total[5m])) by (method) > 10",
    r#"sum by (job, instance) (rate(http_requests_total{status="500"}[5m])) / on (job, instance) sum by (job, instance) (rate(http_requests_total[5m]))"#,
    r#"rate(http_requests_total{status="500"}[5m]) / ignoring (status) group_left rate(http_requests_total{status="200"}[5m])"#,
    r#"sum by (job) (rate(http_requests_total{status="500"}[5m])) / ignoring (method) group_left sum by (job, method) (rate(http_requests_total[5m]))"#,
    "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, sum by (job, le) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.9, rate(request_duration_seconds_bucket[10m]))",
    "rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])",
    "predict_linear(memory_bytes[1h], 4 * 3600)",
    "predict_linear(memory_bytes[1h], 4 * 3600) < 1e9",
    "deriv(memory_bytes[30m])",
    "avg_over_time(memory_bytes[10m])",
    "min_over_time(memory_bytes[10m])",
    "max_over_time(memory_bytes[10m])",
    "sum_over_time(temperature[10m])",
    "count_over_time(temperature[30m])",
    "stddev_over_time(memory_bytes[30m])",
    "stdvar_over_time(temperature[30m])",
    "quantile_over_time(0.9, memory_bytes[30m])",
    "last_over_time(temperature[10m])",
    "present_over_time(temperature[1m])",
    "changes(temperature[30m])",
    "delta(temperature[10m])",
    "idelta(temperature[10m])",
    "topk(3, memory_bytes)",
    "bottomk(2, memory_bytes)",
    "topk by (job) (1, memory_bytes)",
    "avg by (job) (memory_bytes)",
    "max by (job) (memory_bytes)",
    "min without (instance) (memory_bytes)",
    "count by (job) (temperature)",
    "stddev by (job) (memory_bytes)",
    "stdvar(temperature)",
    "quantile by (job) (0.9, memory_bytes)",
    "group by (job) (memory_bytes)",
    r#"count_values("bucket", floor(temperature / 5))"#,
    "count(count by (job) (memory_bytes))",
    "max_over_time(rate(http_requests_total[1m])[30m:1m])",
    "avg_over_time(sum by (job) (memory_bytes)[20m:])",
    "rate(http_requests_total[5m] offset 10m)",
    "memory_bytes offset 30m",
    "abs(memory_bytes - 1e9)",
    "ceil(temperature)",
    "floor(temperature)",
    "round(temperature, 0.5)",
    "sqrt(memory_bytes)",
    "ln(memory_bytes)",
    "log2(memory_bytes)",
    "log10(memory_bytes)",
    "exp(temperature / 100)",
    "clamp(temperature, 20, 25)",
    "clamp_min(temperature, 22)",
    "clamp_max(temperature, 22)",
    "sgn(temperature - 22)",
    r#"label_replace(memory_bytes, "host", "$1", "instance", "(.*):.*")"#,
    r#"label_join(memory_bytes, "jk", "-", "job", "instance")"#,
    "absent(nonexistent_metric)",
    "absent(memory_bytes)",
    "absent_over_time(nonexistent_metric[5m])",
    "time()",
    "vector(time())",
    "scalar(sum(memory_bytes))",
    "timestamp(temperature)",
    "memory_bytes > bool 1e9",
    "memory_bytes > 1e9",
    "memory_bytes and on (job) temperature > 24",
    "memory_bytes or temperature",
    "memory_bytes unless on (instance) temperature > 24",
    "hour()",
    "minute(vector(time()))",
    "day_of_week()",
    "month()",
    "year()",
    "days_in_month()",
    "day_of_month()",
    "sort_desc(memory_bytes)",
    "-memory_bytes",
    "memory_bytes * 2 + 1",
    "2 ^ 3 ^ 2",
    "temperature % 7",
    "1 - temperature / 100",
    "sum(memory_bytes) / count(memory_bytes)",
];

const RANGE_QUERIES: &[&str] = &[
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "avg_over_time(memory_bytes[10m])",
    "topk(2, memory_bytes)",
    "temperature",
    "changes(temperature[10m])",
    "max_over_time(rate(http_requests_total[1m])[10m:1m])",
    "predict_linear(memory_bytes[30m], 3600)",
    "memory_bytes > bool 1e9",
    "time()",
    "absent(temperature)",
];

/// A result in a comparable form: series by label set (as sorted pairs),
/// each with its points.
type Canon = BTreeMap<Vec<(String, String)>, Vec<(i64, f64)>>;

fn canon_from_prometheus(data: &serde_json::Value) -> Option<(String, Canon)> {
    let kind = data["resultType"].as_str()?.to_string();
    let mut out = Canon::new();
    let point = |p: &serde_json::Value| -> Option<(i64, f64)> {
        let t = (p[0].as_f64()? * 1000.0).round() as i64;
        let v = match p[1].as_str()? {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            s => s.parse().ok()?,
        };
        Some((t, v))
    };
    match kind.as_str() {
        "scalar" => {
            out.insert(Vec::new(), vec![point(&data["result"])?]);
        }
        "vector" | "matrix" => {
            for s in data["result"].as_array()? {
                let labels = s["metric"]
                    .as_object()?
                    .iter()
                    .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect::<Option<Vec<_>>>()?;
                let points = if kind == "vector" {
                    vec![point(&s["value"])?]
                } else {
                    s["values"]
                        .as_array()?
                        .iter()
                        .map(point)
                        .collect::<Option<Vec<_>>>()?
                };
                out.insert(labels, points);
            }
        }
        _ => return None,
    }
    Some((kind, out))
}

fn canon_from_warden(value: &Value) -> (String, Canon) {
    let pairs = |l: &Labels| {
        l.iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect::<Vec<_>>()
    };
    let mut out = Canon::new();
    let kind = match value {
        Value::Scalar { t, v } => {
            out.insert(Vec::new(), vec![(*t, *v)]);
            "scalar"
        }
        Value::String { .. } => "string",
        Value::Vector(v) => {
            for s in v {
                out.insert(pairs(&s.labels), vec![(s.t, s.v)]);
            }
            "vector"
        }
        Value::Matrix(m) => {
            for s in m {
                out.insert(
                    pairs(&s.labels),
                    s.samples.iter().map(|p| (p.t, p.v)).collect(),
                );
            }
            "matrix"
        }
    };
    (kind.to_string(), out)
}

/// promqltest's float rule: equal bits, both NaN, or relative error < 1e-6.
fn close(a: f64, b: f64) -> bool {
    if a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) {
        return true;
    }
    if a == 0.0 || b == 0.0 || a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() / (a.abs() + b.abs()) < 1e-6
}

fn compare(expected: &(String, Canon), got: &(String, Canon)) -> Result<(), String> {
    if expected.0 != got.0 {
        return Err(format!(
            "result type: Prometheus {}, warden {}",
            expected.0, got.0
        ));
    }
    if expected.1.len() != got.1.len() {
        return Err(format!(
            "series count: Prometheus {}, warden {}",
            expected.1.len(),
            got.1.len()
        ));
    }
    for (labels, points) in &expected.1 {
        let Some(mine) = got.1.get(labels) else {
            return Err(format!("series {labels:?} missing from warden's result"));
        };
        if mine.len() != points.len() {
            return Err(format!(
                "{labels:?}: {} points vs warden's {}",
                points.len(),
                mine.len()
            ));
        }
        for (p, m) in points.iter().zip(mine) {
            if p.0 != m.0 || !close(p.1, m.1) {
                return Err(format!("{labels:?}: Prometheus {p:?}, warden {m:?}"));
            }
        }
    }
    Ok(())
}

#[test]
fn warden_agrees_with_prometheus_2_42() {
    let series = generate();
    let prometheus = Prometheus::start_with_backfill(&to_openmetrics(&series));
    let fixture = load_warden(&series);
    let engine = Engine::default();

    // Times off the 15 s grid, inside and just after the data.
    let times_ms = [
        T0_MS + 30 * 60_000 + 7_300,
        T0_MS + 61 * 60_000 + 11_100,
        T0_MS + 100 * 60_000 + 3_900,
        T0_MS + 122 * 60_000 + 1_700,
    ];
    let mut total = 0;
    let mut failures = Vec::new();
    for expr in INSTANT_QUERIES {
        for &t in &times_ms {
            total += 1;
            let path = format!(
                "/api/v1/query?query={}&time={}.{:03}",
                encode(expr),
                t / 1000,
                t % 1000
            );
            let theirs = prometheus.get_json(&path);
            let mine = engine.instant(&fixture, expr, t);
            if let Err(e) = judge(&theirs, mine.map(|o| o.value)) {
                failures.push(format!("instant {expr} @ {t}: {e}"));
            }
        }
    }
    let (start, end, step) = (
        T0_MS + 20 * 60_000 + 3_300,
        T0_MS + 110 * 60_000 + 3_300,
        60_000,
    );
    for expr in RANGE_QUERIES {
        total += 1;
        let path = format!(
            "/api/v1/query_range?query={}&start={}.{:03}&end={}.{:03}&step=60",
            encode(expr),
            start / 1000,
            start % 1000,
            end / 1000,
            end % 1000
        );
        let theirs = prometheus.get_json(&path);
        let mine = engine.range(&fixture, expr, start, end, step);
        if let Err(e) = judge(&theirs, mine.map(|o| o.value)) {
            failures.push(format!("range {expr}: {e}"));
        }
    }

    let agreed = total - failures.len();
    println!("warden agrees with Prometheus 2.42 on {agreed} of {total} queries");
    for f in failures.iter().take(40) {
        println!("  DIFF {f}");
    }
    assert!(
        failures.is_empty(),
        "{} of {total} queries disagree with Prometheus 2.42",
        failures.len()
    );
}

fn judge(
    theirs: &serde_json::Value,
    mine: Result<Value, warden_rules::promql::PromqlError>,
) -> Result<(), String> {
    match (theirs["status"].as_str(), mine) {
        (Some("success"), Ok(value)) => {
            let expected =
                canon_from_prometheus(&theirs["data"]).ok_or("unreadable Prometheus result")?;
            compare(&expected, &canon_from_warden(&value))
        }
        (Some("error"), Err(_)) => Ok(()),
        (Some("error"), Ok(_)) => Err(format!(
            "Prometheus failed ({}), warden succeeded",
            theirs["error"]
        )),
        (_, Err(e)) => Err(format!("warden failed: {e}")),
        (_, Ok(_)) => Err(format!("unexpected Prometheus answer: {theirs}")),
    }
}
