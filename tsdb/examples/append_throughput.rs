//! Append throughput on one thread, with the WAL (fsync every second) and
//! without it (in-memory store).
//!
//! `cargo run --release -p warden-tsdb --example append_throughput`
//!
//! 10k series with cached label sets (as a scraper keeps them), one commit
//! per scrape of all series, 360 scrapes (1.5 h at 15 s).

use std::time::{Duration, Instant};

use warden_tsdb::{Appender, Db, DbOptions, FsyncPolicy, Labels};

#[path = "common/workload.rs"]
mod workload;

const SERIES: u64 = 10_000;
const SCRAPES: i64 = 360;

/// Samples per wall-clock second and per CPU second.
fn run(db: &Db) -> (f64, f64) {
    let labels: Vec<Labels> = (0..SERIES).map(workload::labels).collect();
    let mut rng = workload::Rng::new(7);
    let kinds: Vec<workload::Kind> = (0..SERIES).map(workload::kind).collect();
    let mut values: Vec<f64> = kinds
        .iter()
        .map(|k| workload::start(*k, &mut rng))
        .collect();
    let start = Instant::now();
    let cpu0 = workload::cpu_seconds();
    for s in 0..SCRAPES {
        let t = 1_700_000_000_000 + s * workload::STEP_MS;
        let mut app = db.appender();
        for (i, l) in labels.iter().enumerate() {
            values[i] = workload::step(kinds[i], values[i], &mut rng);
            if app.append(l, t, values[i]).is_err() {
                eprintln!("append refused");
            }
        }
        if let Err(e) = app.commit() {
            eprintln!("commit failed: {e}");
        }
    }
    let n = SERIES as f64 * SCRAPES as f64;
    (
        n / start.elapsed().as_secs_f64(),
        n / (workload::cpu_seconds() - cpu0).max(0.01),
    )
}

fn main() {
    let mem = Db::in_memory(DbOptions::default());
    let (wall, cpu) = run(&mem);
    println!("WAL off (in memory):        {wall:>10.0} samples/s wall, {cpu:>10.0} per CPU second");

    let Ok(dir) = tempfile::tempdir() else {
        eprintln!("cannot create a temporary directory");
        return;
    };
    let opts = DbOptions {
        fsync: FsyncPolicy::Interval(Duration::from_secs(1)),
        ..DbOptions::default()
    };
    match Db::open(dir.path(), opts) {
        Ok(db) => {
            let (wall, cpu) = run(&db);
            let st = db.stats();
            println!(
                "WAL on (fsync every 1s):    {wall:>10.0} samples/s wall, {cpu:>10.0} per CPU second"
            );
            println!(
                "  WAL bytes on disk: {}, fsyncs: {}",
                st.wal_bytes, st.wal_fsync_total
            );
            // The first maintenance run starts the checkpoint clock; the
            // second, an hour later, finds a checkpoint due.
            let now = 1_700_000_000_000 + SCRAPES * workload::STEP_MS;
            if let Err(e) = db.maintain(now) {
                eprintln!("maintain failed: {e}");
            }
            let start = Instant::now();
            if let Err(e) = db.maintain(now + 3_600_000) {
                eprintln!("maintain failed: {e}");
            }
            let st = db.stats();
            println!(
                "  checkpoint of {} series: {:?}, WAL+checkpoint now {} bytes",
                st.head_series,
                start.elapsed(),
                st.wal_bytes
            );
            drop(db);
            let start = Instant::now();
            match Db::open(dir.path(), DbOptions::default()) {
                Ok(db) => println!(
                    "  reopen (replay): {:?}, {} series",
                    start.elapsed(),
                    db.stats().head_series
                ),
                Err(e) => eprintln!("reopen failed: {e}"),
            }
        }
        Err(e) => eprintln!("open failed: {e}"),
    }
}
