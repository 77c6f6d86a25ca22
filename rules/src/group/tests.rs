//! Group evaluation over a real in-memory store and the real engine.

use std::sync::Arc;

use warden_tsdb::{Appender, Db, DbOptions, Labels, Matcher, Querier, is_stale_nan};

use super::*;
use crate::promql::{Engine, EngineOptions};
use crate::query::LocalQuery;
use crate::rulefmt::{LoadOptions, parse};

pub(super) struct Fixture {
    pub db: Arc<Db>,
    pub query: LocalQuery,
}

pub(super) fn fixture() -> Fixture {
    let db = Arc::new(Db::in_memory(DbOptions::default()));
    let querier: Arc<dyn Querier> = db.clone();
    Fixture {
        query: LocalQuery::new(Engine::new(EngineOptions::default()), querier),
        db,
    }
}

pub(super) fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

impl Fixture {
    /// Writes `v` at every `step_ms` from `from` to `to` inclusive.
    pub fn series(&self, l: &[(&str, &str)], from: i64, to: i64, step_ms: i64, v: f64) {
        let l = labels(l);
        let mut app = self.db.appender();
        let mut t = from;
        while t <= to {
            app.append(&l, t, v).unwrap();
            t += step_ms;
        }
        app.commit().unwrap();
    }

    pub fn eval(&self, g: &mut Group, ts: i64) -> EvalReport {
        let mut app = self.db.appender();
        g.evaluate(ts, &self.query, &mut app)
    }

    /// Samples of metric `name` at exactly `t`, sorted by labels.
    pub fn at(&self, name: &str, t: i64) -> Vec<(Labels, f64)> {
        let mut out: Vec<(Labels, f64)> = self
            .db
            .select(&[Matcher::equal("__name__", name)], t, t)
            .unwrap()
            .into_iter()
            .filter_map(|s| {
                s.samples
                    .iter()
                    .find(|x| x.t == t)
                    .map(|x| (s.labels.clone(), x.v))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

pub(super) fn group_with(yaml: &str, opts: &GroupOptions) -> Group {
    let file = parse("rules.yml", yaml, LoadOptions::default()).unwrap();
    Group::new("rules.yml", &file.groups[0], opts)
}

pub(super) fn group(yaml: &str) -> Group {
    group_with(yaml, &GroupOptions::default())
}

const MIN: i64 = 60_000;

#[test]
fn recording_rule_renames_and_relabels() {
    let f = fixture();
    f.series(
        &[("__name__", "http_requests"), ("job", "a"), ("i", "1")],
        0,
        10 * MIN,
        15_000,
        3.0,
    );
    f.series(
        &[("__name__", "http_requests"), ("job", "b"), ("i", "1")],
        0,
        10 * MIN,
        15_000,
        4.0,
    );
    let mut g = group(
        r#"
groups:
  - name: g
    labels: {team: infra, env: prod}
    rules:
      - record: job:http_requests:sum
        expr: sum by (job) (http_requests)
        labels: {env: staging}
"#,
    );
    let r = f.eval(&mut g, 5 * MIN);
    assert_eq!(r.samples, 2);
    assert_eq!(r.failed_rules, 0);
    assert_eq!(
        f.at("job:http_requests:sum", 5 * MIN),
        vec![
            (
                labels(&[
                    ("__name__", "job:http_requests:sum"),
                    ("env", "staging"),
                    ("job", "a"),
                    ("team", "infra")
                ]),
                3.0
            ),
            (
                labels(&[
                    ("__name__", "job:http_requests:sum"),
                    ("env", "staging"),
                    ("job", "b"),
                    ("team", "infra")
                ]),
                4.0
            ),
        ]
    );
    let st = g.status();
    assert_eq!(st.rules[0].health, RuleHealth::Ok);
    assert_eq!(st.last_samples, 2);
}

#[test]
fn scalar_result_is_one_sample_without_labels() {
    let f = fixture();
    let mut g =
        group("groups:\n  - name: g\n    rules:\n      - record: answer\n        expr: '42'\n");
    f.eval(&mut g, MIN);
    assert_eq!(
        f.at("answer", MIN),
        vec![(labels(&[("__name__", "answer")]), 42.0)]
    );
}

#[test]
fn empty_rule_label_removes_the_label() {
    let f = fixture();
    f.series(
        &[("__name__", "m"), ("job", "a"), ("drop", "x")],
        0,
        MIN,
        15_000,
        1.0,
    );
    let mut g = group(
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: m\n        labels: {drop: ''}\n",
    );
    f.eval(&mut g, MIN);
    assert_eq!(
        f.at("r", MIN),
        vec![(labels(&[("__name__", "r"), ("job", "a")]), 1.0)]
    );
}

#[test]
fn duplicate_series_after_relabelling_fail_the_rule_and_the_group_goes_on() {
    let f = fixture();
    f.series(&[("__name__", "m"), ("job", "a")], 0, MIN, 15_000, 1.0);
    f.series(&[("__name__", "m"), ("job", "b")], 0, MIN, 15_000, 2.0);
    let mut g = group(
        r#"
groups:
  - name: g
    rules:
      - record: r
        expr: m
        labels: {job: same}
      - record: ok
        expr: m
"#,
    );
    let rep = f.eval(&mut g, MIN);
    assert_eq!(rep.failed_rules, 1);
    let st = g.status();
    assert_eq!(st.rules[0].health, RuleHealth::Err);
    assert_eq!(
        st.rules[0].last_error.as_deref(),
        Some("vector contains metrics with the same labelset after applying rule labels")
    );
    assert_eq!(st.rules[0].evaluation_failures_total, 1);
    assert_eq!(st.rules[1].health, RuleHealth::Ok);
    assert_eq!(f.at("ok", MIN).len(), 2);
}

#[test]
fn query_error_and_non_vector_results_fail_the_rule() {
    let f = fixture();
    let mut g = group(
        r#"
groups:
  - name: g
    rules:
      - record: s
        expr: '"text"'
      - record: r
        expr: m[5m]
"#,
    );
    let rep = f.eval(&mut g, MIN);
    assert_eq!(rep.failed_rules, 2);
    let st = g.status();
    assert_eq!(
        st.rules[0].last_error.as_deref(),
        Some("rule result is not a vector or scalar")
    );
    assert_eq!(
        st.rules[1].last_error.as_deref(),
        Some("rule result is not a vector or scalar")
    );
}

#[test]
fn recording_limit() {
    let f = fixture();
    for j in ["a", "b", "c"] {
        f.series(&[("__name__", "m"), ("job", j)], 0, MIN, 15_000, 1.0);
    }
    let mut g = group(
        "groups:\n  - name: g\n    limit: 2\n    rules:\n      - record: r\n        expr: m\n",
    );
    f.eval(&mut g, MIN);
    assert_eq!(
        g.status().rules[0].last_error.as_deref(),
        Some("exceeded limit of 2 with 3 series")
    );
    assert!(f.at("r", MIN).is_empty());
    let mut g = group(
        "groups:\n  - name: g\n    limit: 3\n    rules:\n      - record: r\n        expr: m\n",
    );
    f.eval(&mut g, MIN);
    assert_eq!(f.at("r", MIN).len(), 3);
}

#[test]
fn later_rules_see_earlier_rules_output_of_the_same_evaluation() {
    let f = fixture();
    f.series(&[("__name__", "m"), ("job", "a")], 0, MIN, 15_000, 2.0);
    let mut g = group(
        r#"
groups:
  - name: g
    rules:
      - record: step1
        expr: m * 10
      - record: step2
        expr: step1 + 1
"#,
    );
    f.eval(&mut g, MIN);
    assert_eq!(
        f.at("step2", MIN),
        vec![(labels(&[("__name__", "step2"), ("job", "a")]), 21.0)]
    );
}

#[test]
fn query_offset_moves_query_and_output_time() {
    let f = fixture();
    // The value changes at 60s: queried 30s in the past, the rule at 80s
    // still sees the old value and writes at 50s.
    f.series(&[("__name__", "m")], 0, 45_000, 15_000, 1.0);
    f.series(&[("__name__", "m")], 60_000, 90_000, 15_000, 2.0);
    let mut g = group(
        "groups:\n  - name: g\n    query_offset: 30s\n    rules:\n      - record: r\n        expr: m\n",
    );
    f.eval(&mut g, 80_000);
    assert_eq!(f.at("r", 50_000), vec![(labels(&[("__name__", "r")]), 1.0)]);
    assert!(f.at("r", 80_000).is_empty());
    assert_eq!(g.status().query_offset_ms, 30_000);

    // Without a group setting, the global default applies.
    let opts = GroupOptions {
        default_query_offset_ms: 10_000,
        ..GroupOptions::default()
    };
    let mut g = group_with(
        "groups:\n  - name: g2\n    rules:\n      - record: r2\n        expr: m\n",
        &opts,
    );
    f.eval(&mut g, 70_000);
    assert_eq!(
        f.at("r2", 60_000),
        vec![(labels(&[("__name__", "r2")]), 2.0)]
    );
}

#[test]
fn vanished_series_get_a_stale_marker() {
    let f = fixture();
    f.series(&[("__name__", "m"), ("job", "a")], 0, 8 * MIN, 15_000, 1.0);
    f.series(&[("__name__", "m"), ("job", "b")], 0, MIN, 15_000, 1.0);
    let mut g = group("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: m\n");
    f.eval(&mut g, MIN);
    assert_eq!(f.at("r", MIN).len(), 2);
    // Seven minutes later job b is beyond the lookback window.
    f.eval(&mut g, 7 * MIN);
    let later = f.at("r", 7 * MIN);
    assert_eq!(later.len(), 2);
    assert_eq!(later[0], (labels(&[("__name__", "r"), ("job", "a")]), 1.0));
    assert!(is_stale_nan(later[1].1), "{later:?}");
    // The marker is written once only.
    f.eval(&mut g, 8 * MIN);
    assert_eq!(f.at("r", 8 * MIN).len(), 1);
}

#[test]
fn next_evaluation_follows_prometheus_alignment() {
    let g = group(
        "groups:\n  - name: node\n    interval: 1m\n    rules:\n      - record: r\n        expr: '1'\n",
    );
    let off = schedule::offset_ms("rules.yml", "node", 60_000);
    assert!((0..60_000).contains(&off));
    let n = g.next_evaluation_ms(1_000_000_000);
    assert!(n > 1_000_000_000 && n <= 1_000_060_000);
    assert_eq!(n.rem_euclid(60_000), off);
    assert_eq!(g.next_evaluation_ms(n), n + 60_000);
    assert_eq!(g.next_evaluation_ms(n - 1), n);
}

mod alerts;
mod persist;
