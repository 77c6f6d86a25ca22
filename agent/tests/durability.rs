//! Durability: samples seen through /metrics survive `kill -9` (with
//! `wal_fsync: always`) and a SIGTERM, which also exits 0.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Exposition, Line, WAIT, Warden, free_port, scrape, write_config};
use warden_tsdb::{Db, DbOptions, FsyncPolicy, Labels, MatchOp, Matcher, Querier};

fn config(data: &Path, fsync: &str, collect: bool) -> String {
    format!(
        "
global:
  scrape_interval: 1s
collectors:
  host:
    enabled: {collect}
    interval: 1s
  process:
    enabled: {collect}
    interval: 1s
storage:
  path: {}
  wal_fsync: {fsync}
",
        data.display()
    )
}

/// The series identity of a scraped line, as the store keys it.
fn labels_of(l: &Line) -> Labels {
    let mut pairs = l.labels.clone();
    pairs.push(("__name__".to_string(), l.name.clone()));
    Labels::from_pairs(pairs).expect("valid labels")
}

/// Stored (timestamped) node_* and process_* samples seen in OpenMetrics
/// scrapes over `cycles` new collection timestamps.
fn observe(port: u16, cycles: usize) -> BTreeMap<(Labels, i64), f64> {
    let mut seen = BTreeMap::new();
    let mut stamps = std::collections::BTreeSet::new();
    let deadline = Instant::now() + WAIT;
    while stamps.len() < cycles {
        assert!(Instant::now() < deadline, "collection did not advance");
        let (_, e): (_, Exposition) = scrape(port, true);
        for l in &e.samples {
            if !(l.name.starts_with("node_") || l.name.starts_with("process_")) {
                continue;
            }
            if let Some(t) = l.t_ms {
                if l.name == "node_load1" {
                    stamps.insert(t);
                }
                seen.insert((labels_of(l), t), l.value);
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    seen
}

fn open_store(data: &Path) -> Db {
    Db::open(
        data,
        DbOptions {
            retention: Duration::from_secs(15 * 24 * 3600),
            max_bytes: None,
            fsync: FsyncPolicy::Never,
            segment_bytes: 1 << 20,
        },
    )
    .expect("open the data directory")
}

/// Every observed sample is in the store at its timestamp with its value.
fn assert_all_stored(db: &Db, seen: &BTreeMap<(Labels, i64), f64>) {
    let all = [Matcher::new(MatchOp::Regex, "__name__", "(node|process)_.+").unwrap()];
    let series = db.select(&all, i64::MIN, i64::MAX).expect("select");
    let mut stored: BTreeMap<(Labels, i64), f64> = BTreeMap::new();
    for s in series {
        for smp in s.samples {
            stored.insert((s.labels.clone(), smp.t), smp.v);
        }
    }
    let mut lost = Vec::new();
    for ((labels, t), v) in seen {
        match stored.get(&(labels.clone(), *t)) {
            Some(sv) if sv == v || (sv.is_nan() && v.is_nan()) => {}
            other => lost.push(format!("{labels} @{t} = {v} (stored: {other:?})")),
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} observed samples lost, e.g. {:?}",
        lost.len(),
        seen.len(),
        &lost[..lost.len().min(5)]
    );
}

#[test]
fn samples_seen_before_kill_9_survive() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = write_config(dir.path(), &config(&data, "always", true));
    let mut w = Warden::start(dir.path(), &cfg, free_port());
    w.wait_ready();
    let seen = observe(w.port, 3);
    assert!(seen.len() > 50, "only {} samples observed", seen.len());
    w.kill9();

    let db = open_store(&data);
    assert_all_stored(&db, &seen);
    drop(db);

    // warden itself restarts on the crashed directory.
    let cfg = write_config(dir.path(), &config(&data, "always", false));
    let mut w = Warden::start(dir.path(), &cfg, free_port());
    w.wait_ready();
    let (_, e) = scrape(w.port, true);
    assert!(!e.of("node_load1").is_empty(), "replayed series are served");
    assert_eq!(w.terminate().code(), Some(0), "{}", w.stderr());
}

#[test]
fn sigterm_exits_0_and_a_restart_serves_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = write_config(dir.path(), &config(&data, "10s", true));
    let mut w = Warden::start(dir.path(), &cfg, free_port());
    w.wait_ready();
    let seen = observe(w.port, 2);
    let status = w.terminate();
    assert_eq!(status.code(), Some(0), "{}", w.stderr());
    assert!(w.stderr().contains("store closed"), "{}", w.stderr());

    // Restart with collection off: /metrics can only show what was stored
    // before the shutdown, so the newest observed sample of each series must
    // be there (or a later one from a cycle between the scrape and SIGTERM).
    let cfg = write_config(dir.path(), &config(&data, "10s", false));
    let mut w = Warden::start(dir.path(), &cfg, free_port());
    w.wait_ready();
    let (_, e) = scrape(w.port, true);
    let mut newest: BTreeMap<Labels, i64> = BTreeMap::new();
    for (labels, t) in seen.keys() {
        let n = newest.entry(labels.clone()).or_insert(*t);
        *n = (*n).max(*t);
    }
    let served: BTreeMap<Labels, i64> = e
        .samples
        .iter()
        .filter_map(|l| Some((labels_of(l), l.t_ms?)))
        .collect();
    let mut missing = Vec::new();
    for (labels, t) in &newest {
        match served.get(labels) {
            Some(st) if st >= t => {}
            other => missing.push(format!("{labels} @{t} (served: {other:?})")),
        }
    }
    assert!(served.keys().any(|l| l.metric_name() == Some("node_load1")));
    assert!(
        missing.is_empty(),
        "{} of {} series missing after restart: {:?}",
        missing.len(),
        newest.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(w.terminate().code(), Some(0), "{}", w.stderr());
    let db = open_store(&data);
    assert_all_stored(&db, &seen);
}
