//! Shared synthetic workload for the examples: realistic label sets and
//! values for a fleet of HTTP services scraped every 15 s.

#![allow(dead_code)]

use warden_tsdb::Labels;

/// Scrape interval.
pub const STEP_MS: i64 = 15_000;

/// A small deterministic generator (xorshift64*), so runs are repeatable
/// without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const NAMES: [&str; 10] = [
    "http_requests_total",
    "http_request_duration_seconds_count",
    "http_request_duration_seconds_sum",
    "http_request_size_bytes_sum",
    "http_response_size_bytes_sum",
    "http_requests_in_flight",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "go_goroutines",
    "up",
];
const JOBS: [&str; 5] = ["api", "web", "worker", "billing", "search"];
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const STATUSES: [&str; 5] = ["200", "201", "304", "404", "500"];

/// The label set of series `i` (unique for i < 100_000): `__name__`, `job`,
/// `instance`, `method`, `status`, `handler`.
pub fn labels(i: u64) -> Labels {
    let name = NAMES[(i % 10) as usize];
    let job = JOBS[((i / 10) % 5) as usize];
    let instance = format!("10.0.{}.{}:8080", (i / 50) % 100 / 10, (i / 50) % 100);
    let method = METHODS[((i / 5000) % 4) as usize];
    let status = STATUSES[((i / 20_000) % 5) as usize];
    let handler = format!(
        "/api/v1/{}",
        ["users", "orders", "items", "search", "login"][(i * 7 % 5) as usize]
    );
    Labels::from_pairs([
        ("__name__", name.to_string()),
        ("job", job.to_string()),
        ("instance", instance),
        ("method", method.to_string()),
        ("status", status.to_string()),
        ("handler", handler),
    ])
    .unwrap_or_default()
}

/// How a series' value moves from one scrape to the next.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A counter that rarely moves (errors, rare routes): 80% of scrapes unchanged.
    QuietCounter,
    /// A busy counter: integer increments every scrape.
    BusyCounter,
    /// A float counter (seconds, bytes sums): fractional increments.
    FloatCounter,
    /// A gauge that moves by whole units (in-flight, goroutines, up).
    IntGauge,
    /// A gauge of bytes moving by page-sized steps.
    MemoryGauge,
}

/// Every kind with its name, for reports.
pub const KINDS: [(&str, Kind); 5] = [
    ("quiet counter", Kind::QuietCounter),
    ("busy counter", Kind::BusyCounter),
    ("float counter", Kind::FloatCounter),
    ("int gauge", Kind::IntGauge),
    ("memory gauge", Kind::MemoryGauge),
];

/// The kind of series `i`: 40% quiet counters, 25% busy counters, 10% float
/// counters, 15% integer gauges, 10% memory gauges.
pub fn kind(i: u64) -> Kind {
    match (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) % 20 {
        0..=7 => Kind::QuietCounter,
        8..=12 => Kind::BusyCounter,
        13..=14 => Kind::FloatCounter,
        15..=17 => Kind::IntGauge,
        _ => Kind::MemoryGauge,
    }
}

/// The next value of a series of `kind` after `v`.
pub fn step(kind: Kind, v: f64, rng: &mut Rng) -> f64 {
    match kind {
        Kind::QuietCounter => {
            if rng.below(5) == 0 {
                v + rng.below(3) as f64 + 1.0
            } else {
                v
            }
        }
        Kind::BusyCounter => v + (rng.below(200) + 50) as f64,
        Kind::FloatCounter => v + rng.below(1000) as f64 * 0.001,
        Kind::IntGauge => (v + rng.below(5) as f64 - 2.0).max(0.0),
        Kind::MemoryGauge => (v + (rng.below(33) as f64 - 16.0) * 4096.0).max(0.0),
    }
}

/// A starting value for a series of `kind`.
pub fn start(kind: Kind, rng: &mut Rng) -> f64 {
    match kind {
        Kind::MemoryGauge => (100 + rng.below(400)) as f64 * 1_048_576.0,
        Kind::IntGauge => rng.below(50) as f64,
        _ => rng.below(100_000) as f64,
    }
}

/// CPU seconds this process used so far (user + system, all threads), from
/// /proc; the machine may be shared, so wall-clock figures alone mislead.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
