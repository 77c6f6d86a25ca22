//! Restart time: replaying 100k series × 480 samples from the WAL alone,
//! then from a checkpoint.
//!
//! `cargo run --release -p warden-tsdb --example reopen`

use std::time::Instant;

use warden_tsdb::{Appender, Db, DbOptions, FsyncPolicy, Labels};

#[path = "common/workload.rs"]
mod workload;

const SERIES: u64 = 100_000;
const SAMPLES: i64 = 480;

fn main() {
    let Ok(dir) = tempfile::tempdir() else {
        eprintln!("cannot create a temporary directory");
        return;
    };
    let opts = DbOptions {
        fsync: FsyncPolicy::Never,
        ..DbOptions::default()
    };
    let base_t = 1_700_000_000_000i64;
    let open = |what: &str| -> Option<Db> {
        let start = Instant::now();
        let cpu = workload::cpu_seconds();
        match Db::open(dir.path(), opts.clone()) {
            Ok(db) => {
                let st = db.stats();
                println!(
                    "{what}: {:.2} s wall, {:.2} CPU s, {} series, {} MB on disk",
                    start.elapsed().as_secs_f64(),
                    workload::cpu_seconds() - cpu,
                    st.head_series,
                    st.wal_bytes / 1_000_000
                );
                Some(db)
            }
            Err(e) => {
                eprintln!("open failed: {e}");
                None
            }
        }
    };
    let Some(db) = open("empty open") else { return };
    let labels: Vec<Labels> = (0..SERIES).map(workload::labels).collect();
    let mut rng = workload::Rng::new(3);
    let kinds: Vec<workload::Kind> = (0..SERIES).map(workload::kind).collect();
    let mut values: Vec<f64> = kinds
        .iter()
        .map(|k| workload::start(*k, &mut rng))
        .collect();
    for step in 0..SAMPLES {
        let t = base_t + step * workload::STEP_MS;
        for part in labels.chunks(10_000).enumerate() {
            let (p, chunk) = part;
            let mut app = db.appender();
            for (j, l) in chunk.iter().enumerate() {
                let i = p * 10_000 + j;
                values[i] = workload::step(kinds[i], values[i], &mut rng);
                let _ = app.append(l, t, values[i]);
            }
            if let Err(e) = app.commit() {
                eprintln!("commit failed: {e}");
            }
        }
    }
    drop(db);
    let Some(db) = open("reopen from WAL segments only") else {
        return;
    };
    let now = base_t + SAMPLES * workload::STEP_MS;
    let start = Instant::now();
    let cpu = workload::cpu_seconds();
    let checkpointed = db.maintain(now).and_then(|()| db.maintain(now + 3_600_000));
    if let Err(e) = checkpointed {
        eprintln!("maintain failed: {e}");
    }
    println!(
        "checkpoint: {:.2} s wall, {:.2} CPU s ({} written)",
        start.elapsed().as_secs_f64(),
        workload::cpu_seconds() - cpu,
        db.stats().checkpoint_total
    );
    drop(db);
    let _ = open("reopen from the checkpoint");
}
