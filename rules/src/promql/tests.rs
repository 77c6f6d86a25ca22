//! End-to-end tests of the engine's public surface over an in-memory store.

use super::testutil::MemQuerier;
use super::{Engine, EngineOptions, PromqlError, Value};
use warden_tsdb::STALE_NAN;

const MIN: i64 = 60_000;

fn store() -> MemQuerier {
    let mut q = MemQuerier::default();
    let ramp = |step: f64| (0..=10).map(|i| Some(i as f64 * step)).collect::<Vec<_>>();
    q.add(
        &[
            ("__name__", "http_requests_total"),
            ("job", "api"),
            ("status", "200"),
        ],
        MIN,
        &ramp(10.0),
    );
    q.add(
        &[
            ("__name__", "http_requests_total"),
            ("job", "api"),
            ("status", "500"),
        ],
        MIN,
        &ramp(1.0),
    );
    q.add(
        &[
            ("__name__", "http_requests_total"),
            ("job", "web"),
            ("status", "200"),
        ],
        MIN,
        &ramp(20.0),
    );
    q.add(
        &[("__name__", "up"), ("job", "api")],
        MIN,
        &[Some(1.0), Some(1.0), Some(STALE_NAN)],
    );
    q.add(
        &[("__name__", "jobs"), ("job", "api"), ("team", "a")],
        MIN,
        &ramp(0.0),
    );
    q
}

fn vector(q: &MemQuerier, expr: &str, t: i64) -> Vec<(String, f64)> {
    let out = Engine::default()
        .instant(q, expr, t)
        .expect("query succeeds");
    let Value::Vector(v) = out.value else {
        panic!("expected a vector for {expr}")
    };
    let mut v: Vec<(String, f64)> = v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn rate_sum_by_job() {
    let v = vector(
        &store(),
        "sum by (job) (rate(http_requests_total[5m]))",
        10 * MIN,
    );
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].0, r#"{job="api"}"#);
    assert!((v[0].1 - 11.0 / 60.0).abs() < 1e-12);
    assert!((v[1].1 - 20.0 / 60.0).abs() < 1e-12);
}

#[test]
fn error_ratio_with_group_left() {
    let q = store();
    let v = vector(
        &q,
        r#"http_requests_total{status="500"} / ignoring(status) group_left sum by (job) (http_requests_total)"#,
        10 * MIN,
    );
    assert_eq!(
        v,
        [(r#"{job="api", status="500"}"#.to_string(), 10.0 / 110.0)]
    );
}

#[test]
fn staleness_ends_lookback() {
    let q = store();
    assert_eq!(vector(&q, "up", MIN).len(), 1);
    assert!(vector(&q, "up", 2 * MIN).is_empty());
}

#[test]
fn range_query_is_a_sorted_matrix() {
    let q = store();
    let out = Engine::default()
        .range(&q, "http_requests_total * 2", 0, 2 * MIN, MIN)
        .expect("query succeeds");
    let Value::Matrix(m) = out.value else {
        panic!("expected a matrix")
    };
    assert_eq!(m.len(), 3);
    assert!(m.windows(2).all(|w| w[0].labels < w[1].labels));
    assert_eq!(
        m[0].samples.iter().map(|s| s.v).collect::<Vec<_>>(),
        [0.0, 20.0, 40.0]
    );
}

#[test]
fn many_to_many_is_an_error() {
    let q = store();
    let err = Engine::default()
        .instant(&q, "http_requests_total + on(job) jobs", 5 * MIN)
        .unwrap_err();
    assert_eq!(
        err,
        PromqlError::Execution(
            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into()
        )
    );
}

#[test]
fn non_counter_info_has_position() {
    let q = store();
    let out = Engine::default()
        .instant(&q, "rate(jobs[5m])", 10 * MIN)
        .unwrap();
    assert_eq!(
        out.annotations.infos,
        [
            r#"PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "jobs" (1:6)"#
        ]
    );
}

#[test]
fn sample_limit_fails_only_that_query() {
    let q = store();
    let engine = Engine::new(EngineOptions {
        max_samples: 5,
        ..EngineOptions::default()
    });
    let err = engine
        .range(&q, "http_requests_total", 0, 10 * MIN, MIN)
        .unwrap_err();
    assert!(matches!(err, PromqlError::TooManySamples(_)));
    assert!(engine.instant(&q, "up", 0).is_ok());
}

#[test]
fn subquery_max_of_rate() {
    let q = store();
    let v = vector(
        &q,
        "max_over_time(rate(http_requests_total{job=\"web\"}[2m])[6m:1m])",
        10 * MIN,
    );
    assert_eq!(v.len(), 1);
    assert!((v[0].1 - 20.0 / 60.0).abs() < 1e-12);
}

#[test]
fn parse_error_has_position() {
    let q = store();
    let err = Engine::default()
        .instant(&q, "sum(rate(x[5m])", 0)
        .unwrap_err();
    assert!(
        matches!(
            err,
            PromqlError::Parse {
                line: 1,
                col: 16,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn scalar_and_string_results() {
    let q = store();
    let out = Engine::default().instant(&q, "1 + 2 * 3", 0).unwrap();
    assert_eq!(out.value, Value::Scalar { t: 0, v: 7.0 });
    let out = Engine::default().instant(&q, "\"a\"", 0).unwrap();
    assert_eq!(
        out.value,
        Value::String {
            t: 0,
            v: "a".into()
        }
    );
}

#[test]
fn anchored_increase_includes_sample_before_window() {
    let mut q = MemQuerier::default();
    let vals: Vec<Option<f64>> = [1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 10.0]
        .iter()
        .map(|v| Some(*v))
        .collect();
    q.add(&[("__name__", "metric")], 15_000, &vals);
    let v = vector(&q, "increase(metric[1m] anchored)", 65_000);
    assert_eq!(v, [("{}".to_string(), 4.0)]);
    let v = vector(&q, "increase(metric[1m] smoothed)", 5_000);
    assert!((v[0].1 - 1.0 / 3.0).abs() < 1e-9, "{v:?}");
}

#[test]
fn info_adds_target_info_labels() {
    let mut q = MemQuerier::default();
    q.add(
        &[("__name__", "metric"), ("instance", "a"), ("job", "1")],
        MIN,
        &[Some(1.0), Some(2.0)],
    );
    q.add(
        &[
            ("__name__", "target_info"),
            ("instance", "a"),
            ("job", "1"),
            ("region", "eu"),
        ],
        MIN,
        &[Some(1.0), Some(1.0)],
    );
    let v = vector(&q, "info(metric)", MIN);
    assert_eq!(
        v,
        [(
            r#"metric{instance="a", job="1", region="eu"}"#.to_string(),
            2.0
        )]
    );
    assert!(vector(&q, r#"info(metric, {nothing=~".+"})"#, MIN).is_empty());
}

#[test]
fn smoothed_instant_selector_interpolates() {
    let mut q = MemQuerier::default();
    q.add(
        &[("__name__", "metric")],
        10_000,
        &[Some(1.0), Some(2.0), Some(3.0)],
    );
    let v = vector(&q, "metric smoothed", 15_000);
    assert_eq!(v, [("metric".to_string(), 2.5)]);
}

#[test]
fn huge_subquery_grid_is_refused_not_allocated() {
    let q = store();
    let engine = Engine::new(EngineOptions {
        max_samples: 1000,
        ..EngineOptions::default()
    });
    let err = engine
        .instant(&q, "max_over_time(up[1000d:1s])", 10 * MIN)
        .unwrap_err();
    assert!(matches!(err, PromqlError::TooManySamples(_)), "{err:?}");
}

#[test]
fn odd_inputs_never_panic() {
    let q = store();
    let engine = Engine::default();
    let inputs = [
        // Found by fuzzing (fuzz/fuzz_targets/promql_eval.rs): nested info()
        // calls spliced their sentinel matchers out of order.
        r#"info(info(mefo(metric, {non_existent=~".*"})tric, {non_exishttpen}t=~non_exist)mefo(metric, {non_existent=~".*"})tric, {non_exishttpen}t=~non_exist)"#,
        r#"info(info(a, {x="1"}), {y="2"})"#,
        // Found by fuzzing: promql-parser panics turning huge or non-finite
        // numbers into durations, so warden refuses them before it parses.
        "xoffset4444444444444444444444444444444444444444443444444444",
        "x offset 1e300",
        "x offset NaN",
        "x offset Inf",
        "x[1e300]",
        "x[NaN]",
        "x[5m:1e300]",
        "x[1e300:1m]",
        "x @ 1e300",
        "x @ NaN",
        "x @ -Inf",
        "",
        "(",
        ")",
        "x[",
        "{",
        "}",
        "[",
        "]",
        "offset",
        "x offset",
        "x offset (",
        "x[5m:",
        "x[5m:]",
        "@",
        "x @",
        "ä{",
        "{ä=\"ü\"}",
        "x{a=\"ü\"}[1m] smoothed",
        "rate(x[1m] anchored) offset step()",
        "x[step()]",
        "x[-5m+1m]",
        "x[1h/0]",
        "x offset min_of(",
        "sum(",
        "1/0",
        "-x",
        "x smoothed smoothed",
        "anchored",
        "rate(anchored[1m])",
        "label_replace(x, \"\\xff\", \"\", \"a\", \"(\")",
        "histogram_quantile(0.5, x)",
        "topk(NaN, x)",
        "topk(1e30, x)",
        "limit_ratio(NaN, x)",
        "count_values(\"\", x)",
        "x[0s]",
        "x offset -1y",
        "time() @ 1",
        "`unterminated",
        "\"\\",
        "max_over_time(x[1y:1ms])",
    ];
    for input in inputs {
        let caught = std::panic::catch_unwind(|| {
            let _ = engine.instant(&q, input, 10 * MIN);
            let _ = engine.range(&q, input, 0, 10 * MIN, MIN);
        });
        assert!(caught.is_ok(), "panicked on {input:?}");
    }
}
