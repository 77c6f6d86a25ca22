//! Cost of the leak detector at scale: 1,000 tracked series holding 6 h of
//! samples at 15 s resolution, one evaluation of each per round.
//!
//! `cargo run --release -p warden-rules --example trend_bench [SERIES] [ROUNDS]`
//!
//! Prints the time per round (min and median over the rounds), per
//! evaluation, and the memory of the detectors' state. The series mix flat
//! sawtooths, leaks under a sawtooth, warm-ups and restarts, so every code
//! path (floor, candidate fits, shape tests) is exercised.
//!
//! With `--prometheus`, the same series (and each one's limit) are also
//! backfilled into a real Prometheus 2.42 with promtool, and the rules
//! people use today for the same question are timed there, in the same
//! run, by Prometheus's own `evalTotalTime`: one rule evaluation over all
//! series against one round of the detector.

use std::io::{BufWriter, Write};
use std::time::Instant;

#[path = "support/prometheus.rs"]
#[allow(dead_code)]
mod prometheus;
#[path = "support/trend_mix.rs"]
mod trend_mix;

use warden_rules::trend::{LeakDetector, Status, TrendConfig};
use warden_tsdb::Sample;

const STEP_MS: i64 = 15_000;
const HOURS: i64 = 6;
/// First sample: 7 s after a 2 h boundary (promtool cuts blocks there).
const T0_MS: i64 = 1_699_999_207_000;
/// What Prometheus users run today for "is it leaking?", as in the issue.
const RULES: [&str; 3] = [
    "deriv(rss[30m]) > 16667",
    "predict_linear(rss[1h], 4*3600) > on(groupname) limit",
    "predict_linear(rss[6h], 24*3600) > on(groupname) limit",
];

/// Series `k` of the benchmark mix, 6 h at 15 s.
fn series(k: u64) -> Vec<Sample> {
    let n = HOURS * 3600 * 1000 / STEP_MS;
    (0..=n)
        .map(|i| Sample {
            t: T0_MS + i * STEP_MS,
            v: trend_mix::value(k, i as u64, (i * STEP_MS) as f64 / 1000.0),
        })
        .collect()
}

fn main() {
    let with_prometheus = std::env::args().any(|a| a == "--prometheus");
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_series = args.first().copied().unwrap_or(1000);
    let rounds = args.get(1).copied().unwrap_or(5).max(1);
    let data: Vec<Vec<Sample>> = (0..n_series as u64).map(series).collect();
    let mut dets: Vec<LeakDetector> = (0..n_series)
        .map(|_| LeakDetector::new(TrendConfig::default()))
        .collect();
    let now = T0_MS + HOURS * 3600 * 1000;
    let limits: Vec<f64> = (0..n_series as u64).map(trend_mix::limit).collect();
    let mut times = Vec::with_capacity(rounds);
    let mut counts = [0usize; 4];
    for r in 0..rounds {
        let start = Instant::now();
        for ((d, s), limit) in dets.iter_mut().zip(&data).zip(&limits) {
            let v = d.evaluate(s, *limit, now + r as i64 * 60_000);
            if r == 0 {
                counts[v.status as usize] += 1;
            }
        }
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let samples: usize = data.iter().map(Vec::len).sum();
    let state = std::mem::size_of::<LeakDetector>() * n_series;
    println!(
        "{n_series} series x {} samples ({HOURS} h at {} s), {rounds} rounds",
        samples / n_series.max(1),
        STEP_MS / 1000
    );
    println!(
        "round: min {:.1} ms, median {:.1} ms; per evaluation {:.1} us; one core busy {:.2}% at a 1-minute interval",
        times[0] * 1e3,
        median * 1e3,
        median / n_series.max(1) as f64 * 1e6,
        median / 60.0 * 100.0
    );
    println!(
        "detector state: {} B per series, {:.1} KiB for all; samples held by the caller: {:.1} MiB",
        std::mem::size_of::<LeakDetector>(),
        state as f64 / 1024.0,
        (samples * std::mem::size_of::<Sample>()) as f64 / (1024.0 * 1024.0)
    );
    let names = [
        Status::Insufficient,
        Status::Stable,
        Status::Growth,
        Status::Leak,
    ];
    let mix: Vec<String> = names
        .iter()
        .map(|s| format!("{s:?} {}", counts[*s as usize]))
        .collect();
    println!("verdicts in round 1: {}", mix.join(", "));
    if with_prometheus && let Err(e) = compare_with_prometheus(&data, &limits, now, rounds, median)
    {
        eprintln!("comparison with Prometheus failed: {e}");
        std::process::exit(1);
    }
}

/// Backfills the series into Prometheus and times each rule there.
fn compare_with_prometheus(
    data: &[Vec<Sample>],
    limits: &[f64],
    now: i64,
    rounds: usize,
    detector_round_s: f64,
) -> prometheus::Res<()> {
    let dir = tempfile::tempdir()?;
    let om_path = dir.path().join("input.om");
    let mut om = BufWriter::new(std::fs::File::create(&om_path)?);
    writeln!(om, "# TYPE rss gauge")?;
    for (k, samples) in data.iter().enumerate() {
        for s in samples {
            writeln!(
                om,
                "rss{{groupname=\"g{k:04}\"}} {} {}.{:03}",
                s.v,
                s.t / 1000,
                s.t % 1000
            )?;
        }
    }
    // The limit is constant; its last 10 minutes are enough for the rules.
    writeln!(om, "# TYPE limit gauge")?;
    for (k, l) in limits.iter().enumerate() {
        for i in 0..=40 {
            let t = now - i * STEP_MS;
            writeln!(
                om,
                "limit{{groupname=\"g{k:04}\"}} {l} {}.{:03}",
                t / 1000,
                t % 1000
            )?;
        }
    }
    writeln!(om, "# EOF")?;
    om.flush()?;
    drop(om);
    let data_dir = dir.path().join("data");
    prometheus::backfill(&om_path, &data_dir)?;
    let prom = prometheus::Prometheus::start(dir.path(), &data_dir)?;
    println!();
    println!(
        "| rule (one evaluation over all series) | Prometheus 2.42 eval median | detector round median | detector / Prometheus |"
    );
    println!("|---|---:|---:|---:|");
    for rule in RULES {
        let path = format!(
            "/api/v1/query?query={}&time={}&stats=all",
            prometheus::encode(rule),
            now as f64 / 1e3
        );
        let mut evals = Vec::with_capacity(rounds);
        for rep in 0..=rounds {
            let (_, eval_ms, _) = prom.query(&path)?;
            if rep > 0 {
                evals.push(eval_ms);
            }
        }
        let (median_ms, _) = prometheus::stats(&mut evals);
        println!(
            "| `{rule}` | {median_ms:.1} ms | {:.1} ms | {:.2} |",
            detector_round_s * 1e3,
            detector_round_s * 1e3 / median_ms
        );
    }
    let pid = prom.pid().to_string();
    println!(
        "\nPrometheus VmHWM {:.1} MiB (data in its mmapped blocks); detector state above.",
        prometheus::status_mib(&pid, "VmHWM:")?
    );
    Ok(())
}
