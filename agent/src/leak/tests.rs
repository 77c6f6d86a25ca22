//! The live task over a real store: synthetic process-collector and
//! filesystem series are written, the task evaluates them as the scheduler
//! would, and its outputs are read back.

use std::sync::Arc;

use warden_tsdb::{Db, DbOptions, Labels, Matcher, Querier, Sample, is_stale_nan};

use super::*;
use crate::config::parse;

const T0: i64 = 1_700_000_000_000;
const STEP: i64 = 15_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const SUSPECTED_NAME: &str = outputs::SUSPECTED;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn rss(group: &str) -> Labels {
    labels(&[
        ("__name__", "namedprocess_namegroup_memory_bytes"),
        ("groupname", group),
        ("memtype", "resident"),
    ])
}

/// A 100 MB garbage-collector sawtooth with a 2-minute period, and noise.
fn saw(t: f64) -> f64 {
    let noise = ((t * 7.3).sin() * 43758.5453).fract() * 2e6;
    (t % 120.0) / 120.0 * 100e6 + noise
}

/// Samples every 15 s over `[from, to)` (ms after T0).
fn series(from: i64, to: i64, f: impl Fn(f64) -> f64) -> Vec<Sample> {
    (from / STEP..to / STEP)
        .map(|i| Sample {
            t: T0 + i * STEP,
            v: f((i * STEP) as f64 / 1000.0),
        })
        .collect()
}

fn store(input: &[(Labels, Vec<Sample>)]) -> (tempfile::TempDir, Arc<Db>) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let mut app = db.appender();
    for (l, samples) in input {
        for s in samples {
            warden_tsdb::Appender::append(&mut app, l, s.t, s.v).unwrap();
        }
    }
    warden_tsdb::Appender::commit(&mut app).unwrap();
    drop(app);
    (dir, Arc::new(db))
}

/// Runs the task at every minute of `[from, to]` (ms after T0).
fn evaluate(task: &mut LeakTask, db: &Db, from: i64, to: i64) {
    for now in (from..=to).step_by(MIN as usize) {
        let mut app = db.appender();
        let errors = task.collect(T0 + now, &mut app);
        assert!(errors.is_empty(), "{errors:?}");
        warden_tsdb::Appender::commit(&mut app).unwrap();
    }
}

/// Every sample of the output `name` with `label=value`.
fn output(db: &Db, name: &str, label: &str, value: &str) -> Vec<Sample> {
    let ms = [
        Matcher::equal("__name__", name),
        Matcher::equal(label, value),
    ];
    let mut s = db.select(&ms, T0, T0 + 24 * HOUR).unwrap();
    assert!(s.len() <= 1, "{s:?}");
    s.pop().map(|s| s.samples).unwrap_or_default()
}

fn last(db: &Db, name: &str, label: &str, value: &str) -> Option<f64> {
    output(db, name, label, value).last().map(|s| s.v)
}

fn task(yaml: &str, db: &Arc<Db>) -> LeakTask {
    let cfg = parse("test.yml", yaml).unwrap();
    LeakTask::new(&cfg.leak_detection, Arc::clone(db) as Arc<dyn Querier>)
}

const GROUPS: &str = "collectors:\n  process:\n    groups:\n      - {name: leaky, comm: [a]}\n      - {name: steady, comm: [b]}\n      - {name: young, comm: [c]}\n";

fn process_store() -> (tempfile::TempDir, Arc<Db>) {
    let rate = 2e6 / 60.0;
    let limit = |g: &str| {
        labels(&[
            ("__name__", "warden_process_memory_limit_bytes"),
            ("groupname", g),
        ])
    };
    store(&[
        (
            rss("leaky"),
            series(0, 4 * HOUR, |t| 500e6 + rate * t + saw(t)),
        ),
        (rss("steady"), series(0, 4 * HOUR, |t| 500e6 + saw(t))),
        (
            rss("young"),
            series(4 * HOUR - 10 * MIN, 4 * HOUR, |t| 500e6 + rate * t + saw(t)),
        ),
        (limit("leaky"), series(0, 4 * HOUR, |_| 2e9)),
        (limit("steady"), series(0, 4 * HOUR, |_| 2e9)),
        (limit("young"), series(0, 4 * HOUR, |_| 2e9)),
        (
            labels(&[("__name__", "process_resident_memory_bytes")]),
            series(0, 4 * HOUR, |t| 30e6 + saw(t) / 10.0),
        ),
        (
            labels(&[("__name__", "node_memory_MemTotal_bytes")]),
            series(0, 4 * HOUR, |_| 8e9),
        ),
    ])
}

#[test]
fn a_leaking_group_is_flagged_and_a_steady_one_is_not() {
    let (_dir, db) = process_store();
    let mut t = task(GROUPS, &db);
    evaluate(&mut t, &db, 3 * HOUR, 4 * HOUR - STEP);

    assert_eq!(last(&db, SUSPECTED_NAME, "groupname", "leaky"), Some(1.0));
    let growth = last(&db, outputs::GROWTH, "groupname", "leaky").unwrap();
    assert!(
        (growth / (2e6 / 60.0) - 1.0).abs() < 0.15,
        "growth {growth}"
    );
    let ttl = last(&db, outputs::TIME_TO_LIMIT, "groupname", "leaky").unwrap();
    assert!(ttl > 0.0 && ttl < 24.0 * 3600.0, "ttl {ttl}");
    assert_eq!(last(&db, outputs::LIMIT, "groupname", "leaky"), Some(2e9));

    let steady = output(&db, SUSPECTED_NAME, "groupname", "steady");
    assert_eq!(steady.len(), 60);
    assert!(steady.iter().all(|s| s.v == 0.0), "{steady:?}");
    assert!(output(&db, outputs::TIME_TO_LIMIT, "groupname", "steady").is_empty());
}

#[test]
fn insufficient_data_is_no_verdict_and_no_estimate() {
    let (_dir, db) = process_store();
    let mut t = task(GROUPS, &db);
    evaluate(&mut t, &db, 4 * HOUR - 5 * MIN, 4 * HOUR - STEP);
    // Ten minutes of a growing series: too short to judge.
    let young = output(&db, SUSPECTED_NAME, "groupname", "young");
    assert!(!young.is_empty() && young.iter().all(|s| s.v == 0.0));
    assert!(output(&db, outputs::GROWTH, "groupname", "young").is_empty());
    assert!(output(&db, outputs::TIME_TO_LIMIT, "groupname", "young").is_empty());
    assert_eq!(last(&db, outputs::LIMIT, "groupname", "young"), Some(2e9));
}

#[test]
fn warden_itself_is_tracked_against_the_host_memory_and_limits_can_be_overridden() {
    let (_dir, db) = process_store();
    let yaml = format!("{GROUPS}leak_detection:\n  limits:\n    steady: 1GiB\n");
    let mut t = task(&yaml, &db);
    evaluate(&mut t, &db, 4 * HOUR - MIN, 4 * HOUR - STEP);
    assert_eq!(last(&db, SUSPECTED_NAME, "groupname", "warden"), Some(0.0));
    assert_eq!(last(&db, outputs::LIMIT, "groupname", "warden"), Some(8e9));
    assert_eq!(
        last(&db, outputs::LIMIT, "groupname", "steady"),
        Some(1073741824.0)
    );
}

#[test]
fn only_the_configured_groups_and_selectors_are_tracked() {
    let (_dir, db) = process_store();
    let yaml = format!(
        "{GROUPS}leak_detection:\n  self: false\n  process_groups: [steady]\n  series:\n    - selector: 'namedprocess_namegroup_memory_bytes{{groupname=\"leaky\"}}'\n      limit: 3GB\n"
    );
    let mut t = task(&yaml, &db);
    evaluate(&mut t, &db, 4 * HOUR - MIN, 4 * HOUR - STEP);
    assert!(last(&db, SUSPECTED_NAME, "groupname", "steady").is_some());
    assert!(last(&db, SUSPECTED_NAME, "groupname", "young").is_none());
    assert!(last(&db, SUSPECTED_NAME, "groupname", "warden").is_none());
    // A selected series keeps its labels (without the name).
    let leaky = db
        .select(
            &[
                Matcher::equal("__name__", outputs::LIMIT),
                Matcher::equal("groupname", "leaky"),
                Matcher::equal("memtype", "resident"),
            ],
            T0,
            T0 + 24 * HOUR,
        )
        .unwrap();
    assert_eq!(leaky.len(), 1);
    assert_eq!(
        leaky[0].samples.last().map(|s| s.v),
        Some(3.0 * (1u64 << 30) as f64)
    );
}

#[test]
fn a_series_that_goes_away_gets_staleness_markers() {
    let (_dir, db) = process_store();
    let mut t = task(GROUPS, &db);
    evaluate(&mut t, &db, 4 * HOUR - 10 * MIN, 4 * HOUR - STEP);
    assert_eq!(last(&db, SUSPECTED_NAME, "groupname", "leaky"), Some(1.0));
    // Nothing written for 20 minutes: no group is present any more.
    evaluate(&mut t, &db, 4 * HOUR + 20 * MIN, 4 * HOUR + 21 * MIN);
    for name in outputs::MEMORY {
        let s = output(&db, name, "groupname", "leaky");
        let l = s.last().unwrap();
        assert!(is_stale_nan(l.v), "{name}: {l:?}");
        assert_eq!(l.t, T0 + 4 * HOUR + 20 * MIN, "{name}: one marker only");
    }
    assert_eq!(t.memory.len(), 0);
}

#[test]
fn a_filling_filesystem_gets_its_time_to_full_and_a_rotated_one_does_not() {
    let fs = |mp: &str, name: &str| {
        labels(&[
            ("__name__", name),
            ("device", "/dev/sda1"),
            ("fstype", "ext4"),
            ("mountpoint", mp),
        ])
    };
    let size = 100e9;
    let fill = 2e9 / 3600.0;
    let (_dir, db) = store(&[
        (
            fs("/data", "node_filesystem_avail_bytes"),
            series(0, 6 * HOUR, |t| size - 60e9 - fill * t),
        ),
        (
            fs("/data", "node_filesystem_size_bytes"),
            series(0, 6 * HOUR, |_| size),
        ),
        (
            fs("/var/log", "node_filesystem_avail_bytes"),
            series(0, 6 * HOUR, |t| size - 50e9 - 1e9 / 3600.0 * (t % 7200.0)),
        ),
        (
            fs("/var/log", "node_filesystem_size_bytes"),
            series(0, 6 * HOUR, |_| size),
        ),
    ]);
    let mut t = task("leak_detection:\n  self: false\n", &db);
    evaluate(&mut t, &db, 5 * HOUR, 6 * HOUR - STEP);
    let now = 6.0 * 3600.0 - 60.0;
    let truth = (size - 60e9 - fill * now) / fill;
    let est = last(&db, outputs::TIME_TO_FULL, "mountpoint", "/data").unwrap();
    assert!((est / truth - 1.0).abs() < 0.1, "{est} vs {truth}");
    let rotated = output(&db, outputs::TIME_TO_FULL, "mountpoint", "/var/log");
    assert!(
        rotated
            .iter()
            .all(|s| is_stale_nan(s.v) || s.v > 24.0 * 3600.0),
        "{rotated:?}"
    );
}

#[test]
fn a_group_without_processes_is_a_hole_then_untracked() {
    // Up for 3 h (steady), no process for 20 min (the collector writes 0),
    // then back with a fresh warm-up: the zeros are not a fall to judge and
    // the start is not a rise from 0.
    let (_dir, db) = store(&[(
        rss("svc"),
        series(0, 4 * HOUR, |t| {
            let h = t / 3600.0;
            if (3.0..3.0 + 20.0 / 60.0).contains(&h) {
                0.0
            } else if h < 3.0 {
                500e6 + saw(t)
            } else {
                500e6 - 300e6 * (-(t - 3.0 * 3600.0 - 1200.0) / 900.0).exp() + saw(t)
            }
        }),
    )]);
    let mut t = task(
        "collectors:\n  process:\n    groups:\n      - {name: svc, comm: [s]}\nleak_detection:\n  self: false\n",
        &db,
    );
    evaluate(&mut t, &db, 2 * HOUR, 4 * HOUR - STEP);
    let s = output(&db, SUSPECTED_NAME, "groupname", "svc");
    assert!(s.iter().all(|x| x.v == 0.0 || is_stale_nan(x.v)), "{s:?}");
    // While the zeros last longer than the lookback, the group is gone:
    // its outputs got a staleness marker.
    let gone = s
        .iter()
        .find(|x| is_stale_nan(x.v))
        .expect("a staleness marker while the group had no process");
    assert!(
        gone.t >= T0 + 3 * HOUR + 10 * MIN && gone.t < T0 + 3 * HOUR + 20 * MIN,
        "{gone:?}"
    );
    // Back again, and judged as a young life: no estimate at first.
    let growth = output(&db, outputs::GROWTH, "groupname", "svc");
    assert!(
        !growth
            .iter()
            .any(|x| x.t > gone.t && x.t < T0 + 3 * HOUR + 50 * MIN && !is_stale_nan(x.v)),
        "{growth:?}"
    );
}
