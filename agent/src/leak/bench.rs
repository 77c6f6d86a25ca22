//! Cost of the live path: 1,000 process groups with 6 h of resident memory
//! at 15 s in a real store, every one evaluated by the live task (discovery,
//! one window read per series, the detector, the outputs) per round, on
//! the series mix of `rules/examples/trend_bench.rs`.
//!
//! `cargo test --release -p warden --bin warden leak::bench -- --ignored --nocapture`
//! (optionally `LEAK_BENCH_SERIES=…` and `LEAK_BENCH_ROUNDS=…`).

use std::sync::Arc;
use std::time::Instant;

use warden_tsdb::{Appender, Db, DbOptions, Labels, Querier};

use super::LeakTask;
use crate::config::parse;

/// The series mix of the detector's own benchmark, so both measure the same.
#[path = "../../../rules/examples/support/trend_mix.rs"]
mod trend_mix;

const STEP_MS: i64 = 15_000;
const HOURS: i64 = 6;
const T0: i64 = 1_700_000_000_000;

/// `VmRSS` and `VmHWM` of this process, bytes.
fn rss() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb * 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
#[ignore = "benchmark: run explicitly, in release"]
fn live_evaluation_of_many_series() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("LEAK_BENCH_SERIES", 1000) as u64;
    let rounds = env("LEAK_BENCH_ROUNDS", 10).max(1);
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(
        Db::open(
            dir.path(),
            DbOptions {
                fsync: warden_tsdb::FsyncPolicy::Never,
                ..DbOptions::default()
            },
        )
        .unwrap(),
    );
    let labels: Vec<(Labels, Labels)> = (0..n)
        .map(|k| {
            let g = format!("g{k:04}");
            let rss = Labels::from_pairs([
                ("__name__", "namedprocess_namegroup_memory_bytes"),
                ("groupname", g.as_str()),
                ("memtype", "resident"),
            ])
            .unwrap();
            let limit = Labels::from_pairs([
                ("__name__", "warden_process_memory_limit_bytes"),
                ("groupname", g.as_str()),
            ])
            .unwrap();
            (rss, limit)
        })
        .collect();
    let samples = HOURS * 3600 * 1000 / STEP_MS;
    for i in 0..=samples {
        let mut app = db.appender();
        for (k, (rss, limit)) in labels.iter().enumerate() {
            let t = T0 + i * STEP_MS;
            let k = k as u64;
            let v = trend_mix::value(k, i as u64, (i * STEP_MS) as f64 / 1000.0);
            app.append(rss, t, v).unwrap();
            app.append(limit, t, trend_mix::limit(k)).unwrap();
        }
        app.commit().unwrap();
    }
    let groups: String = (0..n)
        .map(|k| format!("      - {{name: g{k:04}, comm: [x]}}\n"))
        .collect();
    let yaml = format!(
        "collectors:\n  process:\n    groups:\n{groups}leak_detection:\n  self: false\n  filesystems: false\n"
    );
    let cfg = parse("bench.yml", &yaml).unwrap();
    let mut task = LeakTask::new(&cfg.leak_detection, Arc::clone(&db) as Arc<dyn Querier>);
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (before, _) = rss();
    let now = T0 + samples * STEP_MS;
    let mut times = Vec::with_capacity(rounds);
    let mut suspected = 0;
    for r in 0..rounds {
        let start = Instant::now();
        let mut app = db.appender();
        let errors = super::Collector::collect(&mut task, now + r as i64 * 60_000, &mut app);
        app.commit().unwrap();
        times.push(start.elapsed().as_secs_f64());
        assert!(errors.is_empty(), "{errors:?}");
        if r == 0 {
            suspected = db
                .select(
                    &[warden_tsdb::Matcher::equal(
                        "__name__",
                        super::outputs::SUSPECTED,
                    )],
                    now,
                    now,
                )
                .unwrap()
                .len();
        }
    }
    let (after, peak) = rss();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{n} series x {} samples ({HOURS} h at {} s), {rounds} evaluations",
        samples + 1,
        STEP_MS / 1000
    );
    println!(
        "evaluation: min {:.1} ms, median {:.1} ms; per series {:.1} us; one core busy {:.2}% at a 1-minute interval",
        times[0] * 1e3,
        median * 1e3,
        median / n as f64 * 1e6,
        median / 60.0 * 100.0
    );
    println!(
        "RSS: {:.1} MiB before the first evaluation, {:.1} MiB after the last (+{:.1} MiB kept: detector state and output series), peak +{:.1} MiB",
        before / 1048576.0,
        after / 1048576.0,
        (after - before) / 1048576.0,
        (peak - before) / 1048576.0
    );
    println!("outputs written for {suspected} series");
    assert_eq!(suspected as u64, n);
}
