//! Scores the leak detector on the recorded scenarios exactly as
//! `tests/leak-scenarios/README.md` ("How a detector is scored") says, and
//! scores the two PromQL baseline rules on the same data for comparison.
//!
//! Run with `cargo test -p warden-rules --test leak_scenarios -- --nocapture`
//! to see the tables.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use warden_rules::promql::{Engine, EngineOptions, Value as PromValue};
use warden_rules::trend::{TrendConfig, parse_csv, replay};
use warden_tsdb::{Labels, Matcher, Querier, QueryError, Sample, Series};

const STEP_S: f64 = 60.0;
const TTL_CHECK_HOURS: [f64; 4] = [1.0, 2.0, 4.0, 8.0];

fn scenarios_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/leak-scenarios")
        .join(sub)
}

/// One leak segment of the ground truth.
struct Segment {
    start: f64,
    end: Option<f64>,
    oom_at: f64,
}

/// A scenario's ground truth, read from scenarios.json.
struct Truth {
    name: String,
    file: String,
    leak: bool,
    must_detect: bool,
    leak_start: Option<f64>,
    leak_end: Option<f64>,
    limit: f64,
    segments: Vec<Segment>,
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn load_truths(dir: &Path) -> Vec<Truth> {
    let text = std::fs::read_to_string(dir.join("scenarios.json")).expect("scenarios.json");
    let doc: Value = serde_json::from_str(&text).expect("scenarios.json parses");
    let list = doc["scenarios"].as_array().expect("scenarios[]");
    list.iter()
        .map(|s| {
            let t = &s["truth"];
            Truth {
                name: s["name"].as_str().expect("name").to_string(),
                file: s["file"].as_str().expect("file").to_string(),
                leak: t["leak"].as_bool().expect("truth.leak"),
                must_detect: t["must_detect"].as_bool().expect("truth.must_detect"),
                leak_start: num(t, "leak_start_s"),
                leak_end: num(t, "leak_end_s"),
                limit: num(t, "limit_bytes").expect("truth.limit_bytes"),
                segments: t["leak_segments"]
                    .as_array()
                    .expect("leak_segments")
                    .iter()
                    .map(|g| Segment {
                        start: num(g, "start_s").expect("start_s"),
                        end: num(g, "end_s"),
                        oom_at: num(g, "oom_at_s").expect("oom_at_s"),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// What a detector said at one evaluation.
#[derive(Clone, Copy)]
struct Eval {
    t: f64,
    fired: bool,
    ttl: Option<f64>,
}

/// The score of one detector on one scenario.
struct Score {
    false_alarm: bool,
    firing_share: f64,
    missed: bool,
    first_fire: Option<f64>,
    delay: Option<f64>,
    resolved: Option<bool>,
    /// Last firing after the leak ended, relative to its end.
    cleared_after: Option<f64>,
    ttl_errors: Vec<f64>,
    ttl_missing: usize,
    /// Check points (hours after a segment start) without an estimate.
    ttl_missing_at: Vec<f64>,
}

fn score(truth: &Truth, evals: &[Eval]) -> Score {
    let firing = evals.iter().filter(|e| e.fired).count();
    let healthy_end = if truth.leak {
        truth.leak_start.unwrap_or(f64::INFINITY)
    } else {
        f64::INFINITY
    };
    let false_alarm = evals.iter().any(|e| e.fired && e.t < healthy_end);
    let first_fire = evals.iter().find(|e| e.fired).map(|e| e.t);
    let (mut missed, mut delay, mut resolved) = (false, None, None);
    let mut cleared_after = None;
    let (mut ttl_errors, mut ttl_missing) = (Vec::new(), 0);
    let mut ttl_missing_at = Vec::new();
    if truth.leak {
        let start = truth.leak_start.expect("leak_start_s for a leak");
        let end = truth.leak_end.unwrap_or(f64::INFINITY);
        let detected = evals.iter().find(|e| e.fired && e.t >= start && e.t <= end);
        delay = detected.map(|e| e.t - start);
        missed = truth.must_detect && detected.is_none();
        if let Some(end) = truth.leak_end {
            resolved = Some(!evals.iter().any(|e| e.fired && e.t >= end + 3600.0));
            cleared_after = Some(
                evals
                    .iter()
                    .filter(|e| e.fired && e.t >= end)
                    .map(|e| e.t - end + STEP_S)
                    .fold(0.0, f64::max),
            );
        }
        if truth.must_detect {
            let last_t = evals.last().map_or(0.0, |e| e.t);
            for seg in &truth.segments {
                let seg_end = seg.end.unwrap_or(last_t);
                for h in TTL_CHECK_HOURS {
                    let at = seg.start + h * 3600.0;
                    if at > seg_end || at >= seg.oom_at {
                        continue;
                    }
                    let Some(e) = evals.iter().rev().find(|e| e.t <= at) else {
                        continue;
                    };
                    let truth_ttl = seg.oom_at - at;
                    match e.ttl {
                        Some(est) => ttl_errors.push((est - truth_ttl) / truth_ttl),
                        None => {
                            ttl_missing += 1;
                            ttl_missing_at.push(h);
                        }
                    }
                }
            }
        }
    }
    Score {
        false_alarm,
        firing_share: firing as f64 / evals.len().max(1) as f64,
        missed,
        first_fire,
        delay,
        resolved,
        cleared_after,
        ttl_errors,
        ttl_missing,
        ttl_missing_at,
    }
}

fn hm(s: Option<f64>) -> String {
    match s {
        None => "-".into(),
        Some(s) => {
            let m = (s / 60.0).round() as i64;
            format!("{}:{:02}", m / 60, m % 60)
        }
    }
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    Some(xs[xs.len() / 2])
}

/// Totals over a set of scenarios.
struct Totals {
    /// No-leak scenarios on which it fired.
    false_alarms: usize,
    /// Leak scenarios on which it fired before the leak started.
    early_alarms: usize,
    no_leak: usize,
    misses: usize,
    must_detect: usize,
    median_delay: Option<f64>,
    ttl_median_abs: Option<f64>,
    ttl_within_20: f64,
    ttl_points: usize,
    ttl_missing: usize,
    unresolved: usize,
}

/// Prints one line per scenario and the totals.
fn report(title: &str, truths: &[Truth], scores: &[Score]) -> Totals {
    println!("\n== {title}");
    println!(
        "{:<30} {:>5} {:>7} {:>6} {:>7} {:>7} {:>6} {:>9} {:>8}",
        "scenario", "leak", "result", "fire", "delay", "firing", "resolv", "ttl|err|", "ttl-miss"
    );
    let mut delays = Vec::new();
    let mut all_err = Vec::new();
    let mut t = Totals {
        false_alarms: 0,
        early_alarms: 0,
        no_leak: 0,
        misses: 0,
        must_detect: 0,
        median_delay: None,
        ttl_median_abs: None,
        ttl_within_20: 0.0,
        ttl_points: 0,
        ttl_missing: 0,
        unresolved: 0,
    };
    for (tr, s) in truths.iter().zip(scores) {
        if !tr.leak {
            t.no_leak += 1;
        }
        if tr.must_detect {
            t.must_detect += 1;
        }
        if s.false_alarm {
            if tr.leak {
                t.early_alarms += 1;
            } else {
                t.false_alarms += 1;
            }
        }
        if s.missed {
            t.misses += 1;
        }
        let result = match (s.false_alarm, s.missed, tr.leak && s.delay.is_some()) {
            (true, true, _) => "FA+MISS",
            (true, false, _) => "FALSE",
            (false, true, _) => "MISS",
            (false, false, true) => "found",
            (false, false, false) => "ok",
        };
        if let Some(d) = s.delay
            && tr.must_detect
        {
            delays.push(d);
        }
        if s.resolved == Some(false) {
            t.unresolved += 1;
        }
        all_err.extend(s.ttl_errors.iter().map(|e| e.abs()));
        t.ttl_missing += s.ttl_missing;
        let errs = median(s.ttl_errors.iter().map(|e| e.abs()).collect());
        println!(
            "{:<30} {:>5} {:>7} {:>6} {:>7} {:>6.1}% {:>6} {:>9} {:>8}",
            tr.name,
            if tr.leak { "yes" } else { "no" },
            result,
            hm(s.first_fire),
            hm(s.delay),
            100.0 * s.firing_share,
            match s.resolved {
                None => "-".to_string(),
                Some(ok) => format!("{}{}", if ok { "" } else { "NO " }, hm(s.cleared_after)),
            },
            errs.map_or("-".into(), |e| format!("{:.0}%", 100.0 * e)),
            s.ttl_missing,
        );
        if tr.must_detect && !s.ttl_missing_at.is_empty() {
            let at: Vec<String> = s.ttl_missing_at.iter().map(|h| format!("+{h}h")).collect();
            println!(
                "    no time-to-limit estimate at segment start {}",
                at.join(", ")
            );
        }
    }
    t.median_delay = median(delays);
    t.ttl_points = all_err.len();
    t.ttl_within_20 =
        all_err.iter().filter(|e| **e <= 0.2).count() as f64 / all_err.len().max(1) as f64;
    t.ttl_median_abs = median(all_err);
    println!(
        "false alarms {}/{} no-leak (+{} before a leak started), misses {}/{} must-detect, median delay {}, time-to-limit: median |err| {}, {:.0}% within 20% ({} points, {} without an estimate), unresolved {}",
        t.false_alarms,
        t.no_leak,
        t.early_alarms,
        t.misses,
        t.must_detect,
        hm(t.median_delay),
        t.ttl_median_abs
            .map_or("-".into(), |e| format!("{:.1}%", 100.0 * e)),
        100.0 * t.ttl_within_20,
        t.ttl_points,
        t.ttl_missing,
        t.unresolved,
    );
    t
}

fn load_rows(dir: &Path, truth: &Truth) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(dir.join(&truth.file)).expect("scenario csv");
    parse_csv(&text).unwrap_or_else(|e| panic!("{}: {e}", truth.file))
}

fn warden_evals(rows: &[(f64, f64)], limit: f64) -> Vec<Eval> {
    replay(
        rows,
        limit,
        Duration::from_secs_f64(STEP_S),
        TrendConfig::default(),
    )
    .into_iter()
    .map(|r| Eval {
        t: r.t,
        fired: r.suspected,
        ttl: r.time_to_limit_seconds,
    })
    .collect()
}

fn run_warden(sub: &str) -> Totals {
    let dir = scenarios_dir(sub);
    let truths = load_truths(&dir);
    let scores: Vec<Score> = truths
        .iter()
        .map(|tr| score(tr, &warden_evals(&load_rows(&dir, tr), tr.limit)))
        .collect();
    report(&format!("warden trend detector on {sub}"), &truths, &scores)
}

#[test]
fn warden_gets_every_public_scenario_right() {
    let t = run_warden("data");
    assert_eq!(t.no_leak, 12, "the public set has 12 no-leak scenarios");
    assert_eq!(t.must_detect, 8, "the public set has 8 must-detect leaks");
    assert_eq!(t.false_alarms, 0, "false alarms");
    assert_eq!(t.early_alarms, 0, "alarms before a leak started");
    assert_eq!(t.misses, 0, "missed leaks");
    assert_eq!(
        t.unresolved, 0,
        "leaks still reported 1 h after they stopped"
    );
}

/// The held-out sets (`tests/leak-scenarios/heldout.py`): same generator,
/// other seeds and parameters, and leaks that stop. Set 1 was first scored
/// when the detector passed the public set; set 2 was generated after the
/// tuning was frozen. Both are kept as regression guards.
fn assert_heldout(sub: &str) {
    let t = run_warden(sub);
    assert_eq!(t.no_leak + t.must_detect, 14);
    assert_eq!(t.false_alarms, 0, "false alarms");
    assert_eq!(t.early_alarms, 0, "alarms before a leak started");
    assert_eq!(t.misses, 0, "missed leaks");
    assert_eq!(
        t.unresolved, 0,
        "leaks still reported 1 h after they stopped"
    );
}

#[test]
fn heldout_set_1_is_right() {
    assert_heldout("data-heldout");
}

#[test]
fn heldout_set_2_is_right() {
    assert_heldout("data-heldout2");
}

/// Prometheus's `linearRegression` (promql/functions.go): least squares with
/// x = seconds relative to `at`, Kahan-compensated sums, and slope 0 for a
/// constant series. Returns (slope, value at `at`).
fn prom_linear_regression(samples: &[(f64, f64)], at: f64) -> (f64, f64) {
    fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
        let t = sum + inc;
        let c = if t.is_infinite() {
            0.0
        } else if sum.abs() >= inc.abs() {
            c + ((sum - t) + inc)
        } else {
            c + ((inc - t) + sum)
        };
        (t, c)
    }
    let init_y = samples[0].1;
    let const_y = samples.iter().all(|s| s.1 == init_y);
    if const_y {
        return if init_y.is_infinite() {
            (f64::NAN, f64::NAN)
        } else {
            (0.0, init_y)
        };
    }
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    for &(t, v) in samples {
        n += 1.0;
        // Prometheus works in integer milliseconds.
        let x = ((t * 1000.0).round() - (at * 1000.0).round()) / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov_xy = sxy - sx * sy / n;
    let var_x = sx2 - sx * sx / n;
    let slope = cov_xy / var_x;
    (slope, sy / n - slope * sx / n)
}

/// A baseline alerting rule evaluated every `STEP_S` like Prometheus: the
/// expression over the range `(T - range, T]`, then `for:` (pending until
/// the condition has held for `for_s`).
fn baseline_evals(
    rows: &[(f64, f64)],
    range_s: f64,
    for_s: f64,
    cond: impl Fn(f64, f64) -> bool,
) -> Vec<Eval> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut active_at: Option<f64> = None;
    let mut now = first.0;
    while now <= last.0 {
        let lo = rows.partition_point(|r| r.0 <= now - range_s);
        let hi = rows.partition_point(|r| r.0 <= now);
        let sel = &rows[lo..hi];
        let holds = sel.len() >= 2 && {
            let (slope, at_now) = prom_linear_regression(sel, now);
            cond(slope, at_now)
        };
        if holds {
            active_at.get_or_insert(now);
        } else {
            active_at = None;
        }
        out.push(Eval {
            t: now,
            fired: active_at.is_some_and(|a| now - a >= for_s),
            ttl: None,
        });
        now += STEP_S;
    }
    out
}

/// One scenario's series as a store: `rss{scenario="…"}`.
struct ScenarioStore {
    series: Series,
}

impl ScenarioStore {
    fn new(name: &str, rows: &[(f64, f64)]) -> ScenarioStore {
        let labels = Labels::from_pairs([("__name__", "rss"), ("scenario", name)]).expect("labels");
        let samples = rows
            .iter()
            .map(|&(t, v)| Sample {
                t: (t * 1000.0).round() as i64,
                v,
            })
            .collect();
        ScenarioStore {
            series: Series::new(labels, samples),
        }
    }
}

impl Querier for ScenarioStore {
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Series>, QueryError> {
        let labels = &self.series.labels;
        if !matchers
            .iter()
            .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
        {
            return Ok(Vec::new());
        }
        let samples: Vec<Sample> = self
            .series
            .samples
            .iter()
            .copied()
            .filter(|s| s.t >= min_t && s.t <= max_t)
            .collect();
        if samples.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![Series::new(labels.clone(), samples)])
    }

    fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> Result<Vec<String>, QueryError> {
        Ok(Vec::new())
    }

    fn label_values(
        &self,
        _: &str,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> Result<Vec<String>, QueryError> {
        Ok(Vec::new())
    }
}

/// An alerting rule `expr` with `for: for_s`, evaluated every `STEP_S` by
/// warden's PromQL engine (a range query is the rule's instant queries at
/// each step), then Prometheus's `for:` state machine.
fn engine_evals(store: &ScenarioStore, expr: &str, for_s: f64) -> Vec<Eval> {
    let samples = &store.series.samples;
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Vec::new();
    };
    let step_ms = (STEP_S * 1000.0) as i64;
    let engine = Engine::new(EngineOptions::default());
    let out = engine
        .range(store, expr, first.t, last.t, step_ms)
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    let holds: std::collections::HashSet<i64> = match out.value {
        PromValue::Matrix(series) => series
            .iter()
            .flat_map(|s| s.samples.iter().map(|x| x.t))
            .collect(),
        other => panic!("{expr}: expected a matrix, got {other:?}"),
    };
    let mut evals = Vec::new();
    let mut active_at: Option<i64> = None;
    let mut now = first.t;
    while now <= last.t {
        if holds.contains(&now) {
            active_at.get_or_insert(now);
        } else {
            active_at = None;
        }
        evals.push(Eval {
            t: now as f64 / 1000.0,
            fired: active_at.is_some_and(|a| (now - a) as f64 >= for_s * 1000.0),
            ttl: None,
        });
        now += step_ms;
    }
    evals
}

/// A baseline rule on every public scenario: through warden's PromQL
/// engine, and through the reimplementation of Prometheus's least squares
/// above; the two must fire at exactly the same evaluations.
fn run_baseline(
    title: &str,
    expr: impl Fn(f64) -> String,
    range_s: f64,
    for_s: f64,
    cond: impl Fn(f64, f64, f64) -> bool,
) -> Totals {
    let dir = scenarios_dir("data");
    let truths = load_truths(&dir);
    let scores: Vec<Score> = truths
        .iter()
        .map(|tr| {
            let rows = load_rows(&dir, tr);
            let store = ScenarioStore::new(&tr.name, &rows);
            let by_engine = engine_evals(&store, &expr(tr.limit), for_s);
            let by_hand = baseline_evals(&rows, range_s, for_s, |slope, at_now| {
                cond(slope, at_now, tr.limit)
            });
            assert_eq!(by_engine.len(), by_hand.len(), "{}", tr.name);
            for (a, b) in by_engine.iter().zip(&by_hand) {
                assert_eq!(
                    a.fired, b.fired,
                    "{} at t={}: engine vs least squares",
                    tr.name, a.t
                );
            }
            score(tr, &by_engine)
        })
        .collect();
    report(title, &truths, &scores)
}

/// The PromQL rules warden is compared with, run through warden's engine.
/// Their scores are those quoted in the scenario set's brief.
#[test]
fn baseline_rules_score_as_published() {
    let deriv = run_baseline(
        "baseline: deriv(rss[30m]) > 1MB/min for 15m",
        |_| "deriv(rss[30m]) > 1e6 / 60".to_string(),
        1800.0,
        900.0,
        |slope, _, _| slope > 1e6 / 60.0,
    );
    let predict = run_baseline(
        "baseline: predict_linear(rss[1h], 4*3600) > limit for 10m",
        |limit| format!("predict_linear(rss[1h], 4*3600) > {limit}"),
        3600.0,
        600.0,
        |slope, at_now, limit| at_now + slope * 4.0 * 3600.0 > limit,
    );
    assert_eq!((deriv.false_alarms, deriv.misses), (9, 3));
    assert_eq!((predict.false_alarms, predict.misses), (5, 6));
}

/// A real process: `memhog_demo/curve.tsv` is RSS read from /proc of a
/// memhog run (warm-up of 300 MB over 45 min, a 400 MB GC sawtooth every
/// ~5 min whose floor rises 1 MB/min from 1 h, +100 MB step at 4 h; 6 h
/// played 72× faster and sampled every ~7 s of pattern time). The leak must
/// be found after 1 h, never before, with its rate.
#[test]
fn real_memhog_trace_is_found_after_its_leak_starts() {
    let text = std::fs::read_to_string(scenarios_dir("memhog_demo/curve.tsv")).expect("curve.tsv");
    let rows: Vec<(f64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split('\t').map(|x| x.parse().expect("number")).collect();
            (f[0], f[2])
        })
        .collect();
    let rs = replay(
        &rows,
        1.5e9,
        Duration::from_secs(60),
        TrendConfig::default(),
    );
    let first = rs.iter().find(|r| r.suspected).expect("the leak is found");
    println!(
        "memhog: first flagged at {:.2} h, rate {:.2} MB/min, time to limit {:.1} h",
        first.t / 3600.0,
        first.growth_bytes_per_second.unwrap_or(f64::NAN) * 60.0 / 1e6,
        first.time_to_limit_seconds.unwrap_or(f64::NAN) / 3600.0
    );
    assert!(first.t > 3600.0, "flagged before the leak started");
    let rates: Vec<f64> = rs
        .iter()
        .filter(|r| r.suspected && r.status == warden_rules::trend::Status::Leak)
        .filter_map(|r| r.growth_bytes_per_second)
        .collect();
    let med = median(rates).expect("rates while flagged");
    assert!((med / 16_667.0 - 1.0).abs() < 0.25, "median rate {med}");
}

/// The public scenarios scraped every 60 s instead of 15 s (every fourth
/// row): coarser sampling makes the floor noisier and aliases more of the
/// sawtooth, which must cost delay, never a false alarm.
#[test]
fn public_scenarios_at_60s_scrape_interval() {
    let dir = scenarios_dir("data");
    let truths = load_truths(&dir);
    let scores: Vec<Score> = truths
        .iter()
        .map(|tr| {
            let rows: Vec<(f64, f64)> = load_rows(&dir, tr)
                .into_iter()
                .filter(|r| (r.0 as i64) % 60 == 0)
                .collect();
            score(tr, &warden_evals(&rows, tr.limit))
        })
        .collect();
    let t = report(
        "warden, public scenarios sampled every 60 s",
        &truths,
        &scores,
    );
    assert_eq!(t.false_alarms, 0, "false alarms");
    assert_eq!(t.early_alarms, 0, "alarms before a leak started");
}
