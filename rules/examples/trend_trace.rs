//! Prints what the trend detector saw at each evaluation of a recorded
//! series: the floor window and every candidate fit with its outcome.
//! For understanding (or tuning) a verdict on one scenario:
//!
//! `cargo run -p warden-rules --example trend_trace -- FILE.csv LIMIT_BYTES [FROM_H TO_H STEP_MIN]`

use std::process::ExitCode;

use warden_rules::trend::{TrendConfig, assess, detector::explain, parse_csv};
use warden_tsdb::Sample;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: trend_trace FILE.csv LIMIT_BYTES [FROM_H TO_H STEP_MIN]");
        return ExitCode::from(2);
    }
    let text = match std::fs::read_to_string(&args[0]) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: {e}", args[0]);
            return ExitCode::from(2);
        }
    };
    let rows = match parse_csv(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", args[0]);
            return ExitCode::from(2);
        }
    };
    let num = |i: usize, d: f64| args.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(d);
    let limit = num(1, f64::NAN);
    let (from_h, to_h, step_min) = (num(2, 0.0), num(3, 1e9), num(4, 5.0));
    let samples: Vec<Sample> = rows
        .iter()
        .map(|&(t, v)| Sample {
            t: (t * 1000.0) as i64,
            v,
        })
        .collect();
    let cfg = TrendConfig::default();
    let mut now = (from_h * 3600.0) as i64 * 1000;
    let end = samples
        .last()
        .map_or(0, |s| s.t)
        .min((to_h * 3600.0) as i64 * 1000);
    while now <= end {
        let hi = samples.partition_point(|s| s.t <= now);
        let a = assess(&samples[..hi], limit, now, &cfg);
        print!(
            "t={:>5.2}h {:?} rate={} ttl={} W={}",
            now as f64 / 3.6e6,
            a.status,
            a.growth_bytes_per_second
                .map_or("-".into(), |r| format!("{:.2}MB/min", r * 60.0 / 1e6)),
            a.time_to_limit_seconds
                .map_or("-".into(), |s| format!("{:.1}h", s / 3600.0)),
            a.floor_window_seconds
                .map_or("-".into(), |w| format!("{w:.0}s")),
        );
        if let Some(ex) = explain(&samples[..hi], limit, now, &cfg) {
            for f in &ex.fits {
                print!(
                    " | {:.0}m n={} {:.2}±{:.2} {:?}",
                    f.len_seconds / 60.0,
                    f.points,
                    f.line.map_or(f64::NAN, |l| l.slope * 60.0 / 1e6),
                    f.std_error.map_or(f64::NAN, |s| s * 60.0 / 1e6),
                    f.outcome
                );
            }
        }
        println!();
        now += (step_min * 60_000.0) as i64;
    }
    ExitCode::SUCCESS
}
