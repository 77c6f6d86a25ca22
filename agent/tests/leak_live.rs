//! End to end, with real processes: three `memhog` processes play memory
//! patterns 60 times faster than real time (a leak under a GC sawtooth, a
//! healthy sawtooth, a warm-up to a plateau); the real `warden` binary
//! watches them with its process collector (sampling every 250 ms = 15 s of
//! pattern time) and runs its leak detector with `time_compression: 60`.
//! Through the query API: the leak is flagged with its rate, the other two
//! never are, and "insufficient data" is no verdict.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Warden, free_port, get, write_config};

/// Pattern seconds per real second.
const COMPRESS: f64 = 60.0;
/// The leak's rate, bytes per pattern second (3 MB/min).
const LEAK_RATE: f64 = 50_000.0;
/// Longest the test waits for the leak: 4 h of pattern time, plus slack for
/// a loaded machine.
const LEAK_DEADLINE: Duration = Duration::from_secs(300);
/// Shortest run: 2.5 h of pattern time, so the warm-up has reached its
/// plateau and the sawtooth has gone through ~30 collections.
const MIN_RUN: Duration = Duration::from_secs(150);

/// A running memhog; killed (by its PID) when dropped.
struct Memhog {
    child: Child,
}

impl Memhog {
    /// Starts `memhog.py --seed <seed> <args>` and waits for it to say READY.
    fn start(seed: u32, args: &[&str]) -> Memhog {
        let script = memhog_script();
        let mut child = Command::new("python3")
            .arg(&script)
            .args(["--seed", &seed.to_string()])
            .args(args)
            .args(["--compress", &COMPRESS.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start memhog (python3)");
        let out = child.stdout.take().expect("memhog stdout");
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .expect("memhog READY line");
        assert!(line.starts_with("READY"), "memhog said {line:?}");
        Memhog { child }
    }
}

impl Drop for Memhog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn memhog_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/leak-scenarios/memhog.py")
}

/// `/api/v1/query` with the query percent-encoded; the result vector.
fn query(port: u16, expr: &str) -> Vec<serde_json::Value> {
    let mut enc = String::new();
    for b in expr.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    let r = get(port, &format!("/api/v1/query?query={enc}"), None).expect("HTTP GET");
    assert_eq!(r.status, 200, "{expr}: {}", r.body);
    let body: serde_json::Value =
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{expr}: {e}: {}", r.body));
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The raw samples `(seconds, value)` of a one-series range selector.
fn samples(port: u16, expr: &str) -> Vec<(f64, f64)> {
    let r = query(port, expr);
    assert!(r.len() <= 1, "{expr}: {r:?}");
    r.first()
        .and_then(|s| s["values"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| Some((p[0].as_f64()?, p[1].as_str()?.parse().ok()?)))
        .collect()
}

/// The value of a one-element instant vector, if there is one.
fn scalar(port: u16, expr: &str) -> Option<f64> {
    let r = query(port, expr);
    assert!(r.len() <= 1, "{expr}: {r:?}");
    r.first()
        .and_then(|s| s["value"][1].as_str())
        .and_then(|v| v.parse().ok())
}

const CONFIG: &str = "
global:
  scrape_interval: 15s
  evaluation_interval: 1s
rule_packs: [leak]
collectors:
  host:
    enabled: false
  process:
    interval: 250ms
    self: false
    groups:
      - name: leak
        cmdline: 'memhog\\.py --seed 11 '
      - name: saw
        cmdline: 'memhog\\.py --seed 12 '
      - name: warmup
        cmdline: 'memhog\\.py --seed 13 '
storage:
  path: DATA
  wal_fsync: never
leak_detection:
  time_compression: 60
  window: 6h
  evaluation_interval: 1m
  horizon: 24h
  limits:
    leak: 1GB
    saw: 1GB
    warmup: 1GB
";

#[test]
fn a_leaking_process_is_flagged_and_healthy_ones_are_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let cfg = write_config(
        dir.path(),
        &CONFIG.replace("DATA", data.to_str().expect("utf-8 path")),
    );
    let port = free_port();
    let mut warden = Warden::start(dir.path(), &cfg, port);
    warden.wait_ready();

    // 3 MB/min from the start under a 100 MB sawtooth every 2 min.
    let _leak = Memhog::start(
        11,
        &[
            "--gc-amp",
            "100",
            "--gc-period",
            "120",
            "--jitter",
            "0.2",
            "--leak-rate",
            "50000",
        ],
    );
    // A healthy 200 MB sawtooth every 5 min.
    let _saw = Memhog::start(
        12,
        &["--gc-amp", "200", "--gc-period", "300", "--jitter", "0.2"],
    );
    // 300 MB of warm-up (95 % after 45 min) under a 50 MB sawtooth.
    let _warmup = Memhog::start(
        13,
        &[
            "--warmup",
            "300",
            "--warmup-s",
            "2700",
            "--gc-amp",
            "50",
            "--gc-period",
            "120",
        ],
    );
    let started = Instant::now();

    let suspected = |g: &str| {
        scalar(
            port,
            &format!("warden_memory_leak_suspected{{groupname=\"{g}\"}}"),
        )
    };
    let mut flagged = false;
    loop {
        let elapsed = started.elapsed();
        flagged = flagged || suspected("leak") == Some(1.0);
        if flagged && elapsed >= MIN_RUN {
            break;
        }
        if elapsed > LEAK_DEADLINE {
            let growth = query(port, "warden_memory_growth_bytes_per_second");
            panic!(
                "the leak was never flagged; growth estimates: {growth:?}\nlog tail:\n{}",
                tail(&warden.stderr())
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    // From the stored series: the first 30 min of pattern time (30 s) are
    // too short to judge, so the first evaluations say "no leak" and give
    // no estimate; the first flag comes later.
    let first_rss = samples(
        port,
        "namedprocess_namegroup_memory_bytes{groupname=\"leak\",memtype=\"resident\"}[1h]",
    )
    .into_iter()
    .find(|(_, v)| *v > 0.0)
    .expect("the leak's resident memory")
    .0;
    let first_growth = samples(
        port,
        "warden_memory_growth_bytes_per_second{groupname=\"leak\"}[1h]",
    )
    .first()
    .expect("a growth estimate for the leak")
    .0;
    assert!(
        first_growth - first_rss >= 30.0,
        "an estimate from {} s of data",
        first_growth - first_rss
    );
    let verdicts = samples(port, "warden_memory_leak_suspected{groupname=\"leak\"}[1h]");
    let young: Vec<f64> = verdicts
        .iter()
        .filter(|(t, _)| *t < first_growth)
        .map(|(_, v)| *v)
        .collect();
    assert!(!young.is_empty(), "no evaluation before the first estimate");
    assert!(young.iter().all(|v| *v == 0.0), "{young:?}");
    let flagged_at = verdicts
        .iter()
        .find(|(_, v)| *v == 1.0)
        .expect("the leak flagged")
        .0
        - first_rss;

    // The leak: its rate (real time: pattern rate × compression) and a time
    // to the limit within the horizon.
    let growth = scalar(
        port,
        "warden_memory_growth_bytes_per_second{groupname=\"leak\"}",
    )
    .expect("a growth estimate for the leak");
    let truth = LEAK_RATE * COMPRESS;
    assert!(
        (growth / truth - 1.0).abs() < 0.25,
        "growth {growth} B/s, played {truth} B/s"
    );
    let ttl = scalar(
        port,
        "warden_memory_time_to_limit_seconds{groupname=\"leak\"}",
    )
    .expect("a time to the limit for the leak");
    assert!(ttl > 0.0 && ttl < 24.0 * 3600.0 / COMPRESS, "ttl {ttl}");
    eprintln!(
        "leak flagged after {:.0} min of pattern time; at the end {:.2} MB/min (played 3), {:.1} h of pattern time from the limit",
        flagged_at * COMPRESS / 60.0,
        growth / COMPRESS * 60.0 / 1e6,
        ttl * COMPRESS / 3600.0
    );
    assert_eq!(
        scalar(port, "warden_memory_limit_bytes{groupname=\"leak\"}"),
        Some(1073741824.0)
    );

    // The stock pack turns the verdict into the MemoryLeakSuspected alert.
    let alert_deadline = Instant::now() + Duration::from_secs(30);
    let alert = loop {
        let firing = firing_leak_alerts(port);
        if let Some(a) = firing
            .into_iter()
            .find(|a| a["labels"]["groupname"] == "leak")
        {
            break a;
        }
        assert!(
            Instant::now() < alert_deadline,
            "no firing MemoryLeakSuspected alert for the leak\nlog tail:\n{}",
            tail(&warden.stderr())
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let description = alert["annotations"]["description"].as_str().unwrap_or("");
    assert!(
        description.contains("B/s") && description.contains("reach the limit in"),
        "{description}"
    );

    // The healthy ones: evaluated all along, never flagged, never alerted.
    for g in ["saw", "warmup"] {
        let alerts = query(
            port,
            &format!("ALERTS{{alertname=\"MemoryLeakSuspected\",groupname=\"{g}\"}}[1h]"),
        );
        assert!(
            alerts.is_empty(),
            "{g} raised MemoryLeakSuspected: {alerts:?}"
        );
    }
    for g in ["saw", "warmup"] {
        let n = scalar(
            port,
            &format!("count_over_time(warden_memory_leak_suspected{{groupname=\"{g}\"}}[1h])"),
        )
        .unwrap_or(0.0);
        assert!(n >= 100.0, "{g}: only {n} evaluations");
        let max = scalar(
            port,
            &format!("max_over_time(warden_memory_leak_suspected{{groupname=\"{g}\"}}[1h])"),
        );
        assert_eq!(max, Some(0.0), "{g} was flagged as a leak");
    }
    // The task's own figures.
    assert_eq!(
        scalar(
            port,
            "warden_leak_detection_tracked_series{kind=\"memory\"}"
        ),
        Some(3.0)
    );
    assert!(scalar(port, "warden_leak_detection_evaluation_seconds").is_some());

    assert!(warden.terminate().success(), "{}", tail(&warden.stderr()));
}

/// The firing MemoryLeakSuspected alerts from `/api/v1/alerts`.
fn firing_leak_alerts(port: u16) -> Vec<serde_json::Value> {
    let r = get(port, "/api/v1/alerts", None).expect("GET /api/v1/alerts");
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("alerts JSON");
    v["data"]["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["labels"]["alertname"] == "MemoryLeakSuspected" && a["state"] == "firing")
        .collect()
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
