//! Scores the leak detector on the recorded scenarios exactly as
//! `tests/leak-scenarios/README.md` ("How a detector is scored") says, and
//! scores the two PromQL baseline rules on the same data for comparison.
//!
//! Run with `cargo test -p warden-rules --test leak_scenarios -- --nocapture`
//! to see the tables.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use warden_rules::trend::{TrendConfig, parse_csv, replay};

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
    ttl_errors: Vec<f64>,
    ttl_missing: usize,
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
    let (mut ttl_errors, mut ttl_missing) = (Vec::new(), 0);
    if truth.leak {
        let start = truth.leak_start.expect("leak_start_s for a leak");
        let end = truth.leak_end.unwrap_or(f64::INFINITY);
        let detected = evals.iter().find(|e| e.fired && e.t >= start && e.t <= end);
        delay = detected.map(|e| e.t - start);
        missed = truth.must_detect && detected.is_none();
        if let Some(end) = truth.leak_end {
            resolved = Some(!evals.iter().any(|e| e.fired && e.t >= end + 3600.0));
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
                        None => ttl_missing += 1,
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
        ttl_errors,
        ttl_missing,
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
    false_alarms: usize,
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
        "{:<30} {:>5} {:>6} {:>6} {:>7} {:>7} {:>6} {:>9} {:>8}",
        "scenario", "leak", "result", "fire", "delay", "firing", "resolv", "ttl|err|", "ttl-miss"
    );
    let mut delays = Vec::new();
    let mut all_err = Vec::new();
    let mut t = Totals {
        false_alarms: 0,
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
        let result = if s.false_alarm {
            t.false_alarms += 1;
            "FALSE"
        } else if s.missed {
            t.misses += 1;
            "MISS"
        } else if tr.leak && s.delay.is_some() {
            "found"
        } else {
            "ok"
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
            "{:<30} {:>5} {:>6} {:>6} {:>7} {:>6.1}% {:>6} {:>9} {:>8}",
            tr.name,
            if tr.leak { "yes" } else { "no" },
            result,
            hm(s.first_fire),
            hm(s.delay),
            100.0 * s.firing_share,
            match s.resolved {
                None => "-",
                Some(true) => "yes",
                Some(false) => "NO",
            },
            errs.map_or("-".into(), |e| format!("{:.0}%", 100.0 * e)),
            s.ttl_missing,
        );
    }
    t.median_delay = median(delays);
    t.ttl_points = all_err.len();
    t.ttl_within_20 =
        all_err.iter().filter(|e| **e <= 0.2).count() as f64 / all_err.len().max(1) as f64;
    t.ttl_median_abs = median(all_err);
    println!(
        "false alarms {}/{} no-leak, misses {}/{} must-detect, median delay {}, time-to-limit: median |err| {}, {:.0}% within 20% ({} points, {} without an estimate), unresolved {}",
        t.false_alarms,
        t.no_leak,
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
    assert_eq!(t.misses, 0, "missed leaks");
    assert_eq!(
        t.unresolved, 0,
        "leaks still reported 1 h after they stopped"
    );
}

#[test]
fn heldout_scenarios_are_scored() {
    let t = run_warden("data-heldout");
    assert_eq!(t.no_leak + t.must_detect, 14);
}
