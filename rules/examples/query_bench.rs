//! PromQL latency and memory: warden's engine next to Prometheus 2.42 on the
//! same data, in the same run, reported as ratios.
//!
//! `cargo run --release -p warden-rules --example query_bench -- --series 10000 [--reps 7] [--points 240]`
//!
//! The example generates `--series` series (100 per instance: 40 request
//! counters, two classic histograms of 10 buckets plus `_sum`/`_count`, 36
//! gauges) with `--points` samples 15 s apart, streams them to an OpenMetrics
//! file and into warden's in-memory store at once, backfills the file into a
//! real Prometheus with `promtool tsdb create-blocks-from openmetrics`, and
//! starts Prometheus on loopback (stopped by its PID at the end).
//!
//! Each query then runs as an instant query and as a range query (the last 3
//! minutes at a 15 s step), interleaved warden / Prometheus after one warm-up
//! each. warden is timed in-process around `Engine::instant` / `Engine::range`;
//! Prometheus by its own `evalTotalTime` (`stats=all`) and by the HTTP wall
//! time. Both answers must agree (series count, point count, and the sum of
//! values within 1e-6 relative) before any timing counts. Memory: Prometheus's
//! VmRSS after loading and after the queries; this process's VmRSS growth for
//! the store, and its VmHWM during warden's runs of each query shape (free
//! heap pages returned to the kernel and VmHWM reset through
//! `/proc/self/clear_refs` before each run, read right after it, before
//! Prometheus's answer is fetched and parsed).
//!
//! Prints markdown tables on stdout; progress goes to stderr.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use warden_rules::promql::Engine;
use warden_tsdb::{Appender, Db, DbOptions, Labels};

#[path = "support/prometheus.rs"]
mod prometheus;

use prometheus::{Answer, Prometheus, Res, backfill, encode, stats, status_mib};

/// First sample: 7 s after a 2 h boundary, so one hour of data lands in one
/// promtool block, and off the minute grid that `[30m:1m]` subqueries
/// evaluate on (there Prometheus 2's closed and warden's left-open range
/// windows would differ).
const T0_MS: i64 = 1_699_999_207_000;
const STEP_MS: i64 = 15_000;
const SERIES_PER_INSTANCE: usize = 100;
const JOBS: [&str; 10] = [
    "api", "web", "auth", "billing", "search", "cart", "db", "cache", "queue", "gateway",
];
const HANDLERS: [&str; 5] = ["/", "/login", "/search", "/cart", "/checkout"];
const METHODS: [&str; 2] = ["GET", "POST"];
const STATUSES: [&str; 4] = ["200", "404", "500", "503"];
const HIST_HANDLERS: [&str; 2] = ["/api/v1/query", "/api/v1/write"];
const BOUNDS: [f64; 10] = [
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    f64::INFINITY,
];
const MOUNTS: [&str; 5] = ["/", "/var", "/home", "/srv", "/data"];
const QUEUES: usize = 30;

/// The queries timed, as `(short name, expression)`.
const QUERIES: [(&str, &str); 7] = [
    ("sum-rate", "sum by (job) (rate(http_requests_total[5m]))"),
    (
        "error-ratio",
        r#"sum by (job, instance) (rate(http_requests_total{status="500"}[5m])) / ignoring (status) group_left sum by (job, instance) (rate(http_requests_total[5m]))"#,
    ),
    (
        "p99-histogram",
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    (
        "predict-linear",
        "predict_linear(node_filesystem_avail_bytes[1h], 4 * 3600) < 0",
    ),
    ("avg-over-time", "avg_over_time(queue_depth[10m])"),
    ("topk", "topk(10, queue_depth)"),
    (
        "subquery",
        "max_over_time(rate(http_requests_total[1m])[30m:1m])",
    ),
];

/// A small deterministic generator (xorshift), seeded per series so the
/// data does not depend on the order series are written in.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut x = seed.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 31;
        Rng(x | 1)
    }

    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Command-line settings.
struct Args {
    series: usize,
    reps: usize,
    points: i64,
}

fn parse_args() -> Res<Args> {
    let mut args = Args {
        series: 10_000,
        reps: 7,
        points: 240,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--series" => args.series = value.parse()?,
            "--reps" => args.reps = value.parse()?,
            "--points" => args.points = value.parse()?,
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    if args.series < SERIES_PER_INSTANCE || args.reps == 0 || args.points < 2 {
        return Err("need --series >= 100, --reps >= 1, --points >= 2".into());
    }
    Ok(args)
}

/// Writes one series to the OpenMetrics file and to warden's store.
struct Sink<'a> {
    om: BufWriter<File>,
    app: warden_tsdb::DbAppender<'a>,
    pending: usize,
    samples: u64,
    /// Time spent in warden's `append`/`commit` alone.
    append_time: Duration,
}

impl Sink<'_> {
    fn series(&mut self, name: &str, pairs: &[(&str, &str)], values: &[f64]) -> Res<()> {
        let mut all = vec![("__name__", name)];
        all.extend_from_slice(pairs);
        let labels = Labels::from_pairs(all.iter().copied())?;
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        let selector = format!("{name}{{{}}}", body.join(","));
        let time = |i: usize| T0_MS + i as i64 * STEP_MS;
        for (i, v) in values.iter().enumerate() {
            let t = time(i);
            writeln!(self.om, "{selector} {v} {}.{:03}", t / 1000, t % 1000)?;
        }
        let started = Instant::now();
        for (i, v) in values.iter().enumerate() {
            self.app.append(&labels, time(i), *v)?;
        }
        self.samples += values.len() as u64;
        self.pending += 1;
        if self.pending >= 1000 {
            self.app.commit()?;
            self.pending = 0;
        }
        self.append_time += started.elapsed();
        Ok(())
    }
}

/// Generates every series, family by family (promtool wants a family's
/// lines together), into `om_path` and `db`. Returns the sample count and
/// the seconds spent appending to warden.
fn generate(series: usize, points: i64, om_path: &Path, db: &Db) -> Res<(u64, f64)> {
    let instances = series / SERIES_PER_INSTANCE;
    let n = points as usize;
    let mut sink = Sink {
        om: BufWriter::with_capacity(1 << 20, File::create(om_path)?),
        app: db.appender(),
        pending: 0,
        samples: 0,
        append_time: Duration::ZERO,
    };
    let inst = |i: usize| {
        (
            JOBS[i % JOBS.len()],
            format!("10.{}.{}.{}:8080", i / 65536, (i / 256) % 256, i % 256),
        )
    };
    let seed = |i: usize, k: usize| (i * SERIES_PER_INSTANCE + k) as u64;

    for i in 0..instances {
        let (job, instance) = inst(i);
        let mut k = 0;
        for handler in HANDLERS {
            for method in METHODS {
                for (s, status) in STATUSES.iter().enumerate() {
                    let mut rng = Rng::new(seed(i, k));
                    let per_step = [600.0, 30.0, 10.0, 3.0][s];
                    let mut v = (rng.unit() * 1e6).floor();
                    let reset = (i % 37 == 5 && k == 0).then_some(n / 2);
                    let values: Vec<f64> = (0..n)
                        .map(|p| {
                            if Some(p) == reset {
                                v = 0.0;
                            }
                            v += (rng.unit() * per_step).floor();
                            v
                        })
                        .collect();
                    let pairs = [
                        ("job", job),
                        ("instance", instance.as_str()),
                        ("handler", handler),
                        ("method", method),
                        ("status", status),
                    ];
                    sink.series("http_requests_total", &pairs, &values)?;
                    k += 1;
                }
            }
        }
    }

    // Histograms: buckets, then sums, then counts, each its own family.
    let mut sums = Vec::new();
    let mut counts = Vec::new();
    for i in 0..instances {
        let (job, instance) = inst(i);
        for (h, handler) in HIST_HANDLERS.iter().enumerate() {
            let mut rng = Rng::new(seed(i, 40 + h));
            let mut buckets = vec![Vec::with_capacity(n); BOUNDS.len()];
            let mut cum = [0.0f64; BOUNDS.len()];
            let mut sum = 0.0;
            let mut sum_v = Vec::with_capacity(n);
            for _ in 0..n {
                let observations = (rng.unit() * 60.0).floor() as usize;
                for _ in 0..observations {
                    let d = rng.unit().powi(4) * 3.0;
                    sum += d;
                    for (b, bound) in BOUNDS.iter().enumerate() {
                        if d <= *bound {
                            cum[b] += 1.0;
                        }
                    }
                }
                for (column, c) in buckets.iter_mut().zip(cum) {
                    column.push(c);
                }
                sum_v.push((sum * 1000.0).round() / 1000.0);
            }
            for (b, values) in buckets.iter().enumerate() {
                let le = if BOUNDS[b].is_infinite() {
                    "+Inf".to_string()
                } else {
                    BOUNDS[b].to_string()
                };
                let pairs = [
                    ("job", job),
                    ("instance", instance.as_str()),
                    ("handler", handler),
                    ("le", le.as_str()),
                ];
                sink.series("http_request_duration_seconds_bucket", &pairs, values)?;
            }
            sums.push((i, *handler, sum_v));
            counts.push((i, *handler, buckets[BOUNDS.len() - 1].clone()));
        }
    }
    for (family, list) in [
        ("http_request_duration_seconds_sum", sums),
        ("http_request_duration_seconds_count", counts),
    ] {
        for (i, handler, values) in list {
            let (job, instance) = inst(i);
            let pairs = [
                ("job", job),
                ("instance", instance.as_str()),
                ("handler", handler),
            ];
            sink.series(family, &pairs, &values)?;
        }
    }

    // Gauges: resident memory (a few leak), filesystem space (a few fill
    // up fast enough for predict_linear to go below zero), queue depths.
    for i in 0..instances {
        let (job, instance) = inst(i);
        let mut rng = Rng::new(seed(i, 64));
        let mut mem = 2e8 + rng.unit() * 8e8;
        let drift = if i % 20 == 3 { 4e5 } else { 0.0 };
        let values: Vec<f64> = (0..n)
            .map(|_| {
                mem += drift + (rng.unit() - 0.5) * 2e6;
                mem.round()
            })
            .collect();
        let pairs = [("job", job), ("instance", instance.as_str())];
        sink.series("process_resident_memory_bytes", &pairs, &values)?;
    }
    for i in 0..instances {
        let (job, instance) = inst(i);
        for (m, mount) in MOUNTS.iter().enumerate() {
            let mut rng = Rng::new(seed(i, 65 + m));
            let size = 1e10 + rng.unit() * 1e11;
            let mut avail = size * (0.3 + rng.unit() * 0.6);
            let drift = if (i + m) % 20 == 7 {
                -size * 0.0005
            } else {
                (rng.unit() - 0.5) * size * 1e-6
            };
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    avail = (avail + drift + (rng.unit() - 0.5) * 1e6).max(0.0);
                    avail.round()
                })
                .collect();
            let pairs = [
                ("job", job),
                ("instance", instance.as_str()),
                ("mountpoint", *mount),
            ];
            sink.series("node_filesystem_avail_bytes", &pairs, &values)?;
        }
    }
    for i in 0..instances {
        let (job, instance) = inst(i);
        for q in 0..QUEUES {
            let mut rng = Rng::new(seed(i, 70 + q));
            let mut depth = (rng.unit() * 100.0).floor();
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    depth = (depth + (rng.unit() * 21.0).floor() - 10.0).max(0.0);
                    depth
                })
                .collect();
            let queue = format!("q{q:02}");
            let pairs = [
                ("job", job),
                ("instance", instance.as_str()),
                ("queue", queue.as_str()),
            ];
            sink.series("queue_depth", &pairs, &values)?;
        }
    }

    writeln!(sink.om, "# EOF")?;
    sink.om.flush()?;
    let started = Instant::now();
    sink.app.commit()?;
    sink.append_time += started.elapsed();
    Ok((sink.samples, sink.append_time.as_secs_f64()))
}

/// One table row: timings of one query shape.
struct Row {
    name: &'static str,
    kind: &'static str,
    series: usize,
    warden: (f64, f64),
    prom_eval: (f64, f64),
    prom_wall: (f64, f64),
    /// This process's VmHWM during the shape's runs minus VmRSS at start, MiB.
    warden_peak_mib: f64,
}

fn main() -> Res<()> {
    let args = parse_args()?;
    let series = args.series / SERIES_PER_INSTANCE * SERIES_PER_INSTANCE;
    let rss0 = status_mib("self", "VmRSS:")?;
    let dir = tempfile::tempdir()?;
    let om_path = dir.path().join("input.om");
    let data = dir.path().join("data");

    let db = Db::in_memory(DbOptions::default());
    let started = Instant::now();
    let (samples, append_s) = generate(series, args.points, &om_path, &db)?;
    let gen_s = started.elapsed().as_secs_f64();
    let rss_store = status_mib("self", "VmRSS:")?;
    let om_mib = std::fs::metadata(&om_path)?.len() as f64 / (1 << 20) as f64;
    eprintln!(
        "generated {series} series, {samples} samples ({om_mib:.0} MiB OpenMetrics) in {gen_s:.1} s, written to file and store together"
    );

    let started = Instant::now();
    backfill(&om_path, &data)?;
    let backfill_s = started.elapsed().as_secs_f64();
    std::fs::remove_file(&om_path)?;
    eprintln!("promtool backfill took {backfill_s:.1} s");

    let started = Instant::now();
    let prom = Prometheus::start(dir.path(), &data)?;
    let pid = prom.pid().to_string();
    eprintln!(
        "prometheus ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let prom_rss_loaded = status_mib(&pid, "VmRSS:")?;
    let prom_anon_loaded = status_mib(&pid, "RssAnon:")?;

    // Peak of this process per query shape: writing 5 to clear_refs
    // resets VmHWM to the current RSS.
    let reset_hwm = || std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let mut hwm_reset = true;
    let mut hwm = status_mib("self", "VmRSS:")?;

    let engine = Engine::default();
    let last_ms = T0_MS + (args.points - 1) * STEP_MS;
    // Off the 15 s sample grid, so closed and left-open windows agree.
    let t_ms = last_ms + 5_000;
    let (start_ms, step_ms) = (t_ms - 180_000, 15_000);
    let mut rows = Vec::new();
    for (name, expr) in QUERIES {
        for kind in ["instant", "range"] {
            let path = if kind == "instant" {
                format!(
                    "/api/v1/query?query={}&time={}&stats=all",
                    encode(expr),
                    t_ms as f64 / 1e3
                )
            } else {
                format!(
                    "/api/v1/query_range?query={}&start={}&end={}&step={}&stats=all",
                    encode(expr),
                    start_ms as f64 / 1e3,
                    t_ms as f64 / 1e3,
                    step_ms as f64 / 1e3
                )
            };
            let run_warden = || -> Res<(f64, Answer)> {
                let started = Instant::now();
                let out = if kind == "instant" {
                    engine.instant(&db, expr, t_ms)?
                } else {
                    engine.range(&db, expr, start_ms, t_ms, step_ms)?
                };
                let ms = started.elapsed().as_secs_f64() * 1e3;
                Ok((ms, Answer::of(&out.value)))
            };
            let (mut w, mut pe, mut pw) = (Vec::new(), Vec::new(), Vec::new());
            let mut answer_series = 0;
            let mut shape_hwm: f64 = 0.0;
            for rep in 0..=args.reps {
                // The peak is warden's alone: Prometheus's answer is fetched
                // and parsed after it is read (a 40k-series JSON answer
                // parsed here would otherwise count as the engine's).
                release_free_memory();
                hwm_reset &= reset_hwm();
                let (w_ms, wa) = run_warden()?;
                shape_hwm = shape_hwm.max(status_mib("self", "VmHWM:")?);
                let (p_wall, p_eval, pa) = prom.query(&path)?;
                if !wa.agrees(&pa) {
                    return Err(format!(
                        "{name} ({kind}): answers differ: warden {wa:?}, prometheus {pa:?}"
                    )
                    .into());
                }
                answer_series = wa.series;
                if rep > 0 {
                    w.push(w_ms);
                    pe.push(p_eval);
                    pw.push(p_wall);
                }
            }
            hwm = hwm.max(shape_hwm);
            let row = Row {
                name,
                kind,
                series: answer_series,
                warden: stats(&mut w),
                prom_eval: stats(&mut pe),
                prom_wall: stats(&mut pw),
                warden_peak_mib: shape_hwm - rss0,
            };
            eprintln!(
                "{name} {kind}: warden {:.2} ms, prometheus eval {:.2} ms, wall {:.2} ms",
                row.warden.0, row.prom_eval.0, row.prom_wall.0
            );
            rows.push(row);
        }
    }
    let rss_after = status_mib("self", "VmRSS:")?;
    let prom_rss_after = status_mib(&pid, "VmRSS:")?;
    let prom_anon_after = status_mib(&pid, "RssAnon:")?;
    let prom_hwm = status_mib(&pid, "VmHWM:")?;
    drop(prom);

    println!(
        "### {series} series, {samples} samples ({} points at 15 s), {} reps after 1 warm-up\n",
        args.points, args.reps
    );
    println!(
        "Load: generation {gen_s:.1} s, of which warden append + commit {append_s:.1} s; promtool backfill {backfill_s:.1} s; OpenMetrics file {om_mib:.0} MiB.\n"
    );
    println!(
        "| query | kind | result series | warden median / p90 ms | Prometheus eval median / p90 ms | ratio warden/Prom eval (median) | Prometheus HTTP wall median / p90 ms | ratio warden/Prom wall | warden peak growth over start MiB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} | {:.2} / {:.2} | {:.2} | {:.1} |",
            r.name,
            r.kind,
            r.series,
            r.warden.0,
            r.warden.1,
            r.prom_eval.0,
            r.prom_eval.1,
            r.warden.0 / r.prom_eval.0,
            r.prom_wall.0,
            r.prom_wall.1,
            r.warden.0 / r.prom_wall.0,
            r.warden_peak_mib,
        );
    }
    println!();
    println!("| memory | warden (this process) | Prometheus 2.42 |");
    println!("|---|---:|---:|");
    println!(
        "| after loading | {:.1} MiB RSS growth (VmRSS {rss_store:.1} - {rss0:.1} at start) | {prom_rss_loaded:.1} MiB VmRSS ({prom_anon_loaded:.1} MiB anonymous) |",
        rss_store - rss0
    );
    println!(
        "| after the queries | {:.1} MiB RSS growth | {prom_rss_after:.1} MiB VmRSS ({prom_anon_after:.1} MiB anonymous) |",
        rss_after - rss0
    );
    let peak_note = if hwm_reset {
        "max of VmHWM over warden's runs, reset before each run"
    } else {
        "VmHWM since start: clear_refs not writable"
    };
    println!(
        "| peak | {:.1} MiB growth ({peak_note}) | {prom_hwm:.1} MiB VmHWM since start |",
        hwm - rss0
    );
    Ok(())
}

/// Hands the allocator's free heap pages back to the kernel, so that a
/// VmHWM reset starts from what is live rather than from what an earlier
/// parse of Prometheus's answer left free but resident.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: glibc's malloc_trim takes no pointers; it only returns free
    // pages of the heap to the kernel.
    unsafe {
        malloc_trim(0);
    }
}

/// Without glibc there is nothing to trim; peaks may then include freed
/// but resident memory.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}
