//! Rule-evaluation benchmark: plays the scraper for one target and evaluates
//! one rule group over what it scraped, the way Prometheus does in the
//! side-by-side benchmark (`bench/rules/side_by_side.sh`,
//! `docs/benchmarks.md`).
//!
//! warden has no `scrape_configs` yet, so this example stands in for the
//! scrape loop, for the benchmark only:
//! - every `--scrape-interval` it fetches the target's `/metrics`, parses it
//!   with warden's exposition parser and appends every sample (labels as
//!   exposed, as `honor_labels: true` keeps them) at the scrape's start time;
//! - the store is a [`Db`] on disk in a temporary directory, opened with the
//!   options `warden run` uses by default (24h retention, WAL fsync every
//!   10 s, 32 MiB segments);
//! - the group is evaluated by [`Group`] over [`LocalQuery`] on Prometheus's
//!   aligned schedule, never overlapping itself and skipping overrun ticks,
//!   as `warden run` does; each evaluation's own duration
//!   ([`EvalReport::duration`](warden_rules::group::EvalReport), what
//!   Prometheus reports as `prometheus_rule_group_last_duration_seconds`) is
//!   recorded.
//!
//! After `--duration` seconds it prints the min/median/max evaluation time of
//! the evaluations that started from `--warmup` seconds on, and the
//! min/median/max resident set size sampled every 5 s over the last
//! `--rss-window` seconds.
//!
//! Run: `cargo run --release -p warden --example rule_bench -- --target
//! http://127.0.0.1:19200/metrics --rules rules.yml`

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use warden_exporters::exposition::{Format, parse_each};
use warden_rules::group::{Group, GroupOptions};
use warden_rules::promql::{Engine, EngineOptions};
use warden_rules::query::LocalQuery;
use warden_rules::rulefmt::{self, LoadOptions};
use warden_tsdb::{Appender, Db, DbOptions, FsyncPolicy, Querier};

/// The allocator of the `warden` binary, so that the figures are its figures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How often the resident set size is sampled.
const RSS_EVERY: Duration = Duration::from_secs(5);

#[derive(Parser, Debug)]
#[command(
    about = "Scrape one target and evaluate one rule group, reporting evaluation time and RSS"
)]
struct Args {
    /// The target's metrics URL.
    #[arg(long)]
    target: String,
    /// A rule file with exactly one group.
    #[arg(long)]
    rules: PathBuf,
    /// Seconds between scrapes.
    #[arg(long, default_value_t = 5)]
    scrape_interval: u64,
    /// Seconds the run lasts.
    #[arg(long, default_value_t = 180)]
    duration: u64,
    /// Evaluations that start before this many seconds are not counted.
    #[arg(long, default_value_t = 60)]
    warmup: u64,
    /// The resident set size is sampled over this many last seconds.
    #[arg(long, default_value_t = 60)]
    rss_window: u64,
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let file = rulefmt::load(&args.rules, LoadOptions::default()).map_err(|e| e.to_string())?;
    let [def] = file.groups.as_slice() else {
        return Err(format!(
            "{}: want exactly one group, found {}",
            args.rules.display(),
            file.groups.len()
        ));
    };
    let group = Group::new(
        &args.rules.display().to_string(),
        def,
        &GroupOptions::default(),
    );
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    // The store options `warden run` uses with its default configuration.
    let opts = DbOptions {
        retention: Duration::from_secs(24 * 60 * 60),
        max_bytes: None,
        fsync: FsyncPolicy::Interval(Duration::from_secs(10)),
        segment_bytes: 32 << 20,
    };
    let db = Arc::new(Db::open(dir.path(), opts).map_err(|e| e.to_string())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let figures = runtime.block_on(run(args, db, group))?;
    println!("{figures}");
    Ok(())
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

async fn run(args: Args, db: Arc<Db>, group: Group) -> Result<String, String> {
    let started = Instant::now();
    let end = started + Duration::from_secs(args.duration);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.scrape_interval))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let scraper = tokio::spawn(scrape_loop(
        client,
        args.target.clone(),
        Duration::from_secs(args.scrape_interval),
        Arc::clone(&db),
        end,
    ));
    let query = Arc::new(LocalQuery::new(
        Engine::new(EngineOptions::default()),
        Arc::clone(&db) as Arc<dyn Querier>,
    ));
    let rss = tokio::spawn(rss_loop(
        end.checked_sub(Duration::from_secs(args.rss_window))
            .unwrap_or(started),
        end,
    ));
    let warmup_end = started + Duration::from_secs(args.warmup);
    let durations = eval_loop(Arc::new(Mutex::new(group)), query, db, warmup_end, end).await;
    let scrapes = scraper.await.map_err(|e| format!("scraper: {e}"))?;
    let rss_kib = rss.await.map_err(|e| format!("rss sampler: {e}"))?;
    let ms: Vec<f64> = durations.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    let kib: Vec<f64> = rss_kib.iter().map(|&k| k as f64).collect();
    Ok(format!(
        "scrapes={} (failed {}) samples_last_scrape={}\n\
         SUMMARY rule_group_eval_ms(min med max n): {}\n\
         SUMMARY rss_kb_last{}s(min med max n): {}",
        scrapes.ok,
        scrapes.failed,
        scrapes.last_samples,
        stats(&ms),
        args.rss_window,
        stats(&kib),
    ))
}

/// What the scrape loop did.
#[derive(Default)]
struct Scrapes {
    ok: u64,
    failed: u64,
    last_samples: usize,
}

async fn scrape_loop(
    client: reqwest::Client,
    url: String,
    every: Duration,
    db: Arc<Db>,
    end: Instant,
) -> Scrapes {
    let mut done = Scrapes::default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        if Instant::now() >= end {
            return done;
        }
        let t = now_ms();
        let body = match fetch(&client, &url).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("scrape {url}: {e}");
                done.failed += 1;
                continue;
            }
        };
        let db = Arc::clone(&db);
        match tokio::task::spawn_blocking(move || ingest(&db, &body, t)).await {
            Ok(Ok(n)) => {
                done.ok += 1;
                done.last_samples = n;
            }
            Ok(Err(e)) => {
                eprintln!("scrape {url}: {e}");
                done.failed += 1;
            }
            Err(e) => {
                eprintln!("scrape {url}: ingest panicked: {e}");
                done.failed += 1;
            }
        }
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<bytes::Bytes, String> {
    let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP status {}", resp.status()));
    }
    resp.bytes().await.map_err(|e| e.to_string())
}

/// Parses one body and appends it at `t_ms` in one commit, sample by
/// sample as they are read (a scrape loop's way: one sample's labels held at
/// a time); nothing is committed unless the whole body parses and appends.
/// The number of samples appended.
fn ingest(db: &Db, body: &[u8], t_ms: i64) -> Result<usize, String> {
    let mut app = db.appender();
    let mut family = None;
    let mut failed = None;
    let parsed = parse_each(Format::Text, body, |s| {
        if failed.is_some() {
            return;
        }
        if family
            .as_ref()
            .is_none_or(|f| !std::sync::Arc::ptr_eq(f, &s.family))
        {
            app.set_metadata(&s.family.name, s.family.metadata.clone());
            family = Some(s.family.clone());
        }
        if let Err(e) = app.append(&s.labels, s.timestamp_ms.unwrap_or(t_ms), s.value) {
            failed = Some(e.to_string());
        }
    })
    .map_err(|e| format!("line {}: {}", e.line, e.message))?;
    if let Some(e) = failed {
        return Err(e);
    }
    app.commit().map_err(|e| e.to_string())?;
    Ok(parsed)
}

/// Evaluates on the group's aligned schedule until `end`; the durations of
/// the evaluations scheduled from `count_from` on.
async fn eval_loop(
    group: Arc<Mutex<Group>>,
    query: Arc<LocalQuery>,
    db: Arc<Db>,
    count_from: Instant,
    end: Instant,
) -> Vec<Duration> {
    let (interval_ms, mut ts) = {
        let g = group.lock().unwrap_or_else(|p| p.into_inner());
        (g.interval_ms().max(1), g.next_evaluation_ms(now_ms()))
    };
    let mut durations = Vec::new();
    loop {
        let wait = ts.saturating_sub(now_ms());
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        let at = Instant::now();
        if at >= end {
            return durations;
        }
        let report = {
            let (group, query, db) = (Arc::clone(&group), Arc::clone(&query), Arc::clone(&db));
            tokio::task::spawn_blocking(move || {
                let mut g = group.lock().unwrap_or_else(|p| p.into_inner());
                let mut app = db.appender();
                g.evaluate(ts, &*query, &mut app)
            })
            .await
        };
        match report {
            Ok(r) => {
                if r.failed_rules > 0 {
                    eprintln!("evaluation at {ts}: {} rules failed", r.failed_rules);
                }
                if at >= count_from {
                    durations.push(r.duration);
                }
            }
            Err(e) => eprintln!("evaluation at {ts} panicked: {e}"),
        }
        let next = ts.saturating_add(interval_ms);
        let now = now_ms();
        ts = if now < next {
            next
        } else {
            let g = group.lock().unwrap_or_else(|p| p.into_inner());
            g.next_evaluation_ms(now)
        };
    }
}

/// Samples the resident set size every [`RSS_EVERY`] between `from` and
/// `end`, in KiB.
async fn rss_loop(from: Instant, end: Instant) -> Vec<u64> {
    tokio::time::sleep_until(from.into()).await;
    let mut out = Vec::new();
    while Instant::now() < end {
        if let Some(kib) = rss_kib() {
            out.push(kib);
        }
        tokio::time::sleep(RSS_EVERY).await;
    }
    out
}

/// `VmRSS` from `/proc/self/status`, in KiB.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// "min median max n", as the Prometheus side's summaries print them.
fn stats(values: &[f64]) -> String {
    if values.is_empty() {
        return "NA NA NA 0".into();
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    format!("{:.3} {:.3} {:.3} {}", v[0], median, v[n - 1], n)
}
