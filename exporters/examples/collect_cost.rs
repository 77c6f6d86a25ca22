//! What one host collection costs: runs N collections of the host collector
//! into an appender that only counts, and prints the CPU time per
//! collection (utime + stime from `/proc/self/stat`, the same measure the
//! side-by-side script applies to node_exporter) and the series written.
//!
//! With `--encode`, every collection is also turned into families and
//! encoded in the text format, which is what a node_exporter scrape does
//! besides collecting (HTTP aside).
//!
//! With `--process`, the process collector is measured instead, with one
//! group matching every process by command line (its worst case: every
//! process's stat, status, io, limits, fd and cmdline read each time).
//!
//! Heap allocations per collection are counted too.
//!
//! `--process=sshd,nginx` measures the usual configuration instead: one
//! group selected by command names, so other processes cost one `stat` read.
//!
//! `--disable=netclass,netstat` leaves host family groups out.
//!
//! `cargo run --release -p warden-exporters --example collect_cost -- 2000 [--encode|--process[=comm,...]|--disable=...]`

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use warden_exporters::Collector;
use warden_exporters::exposition::{Family, Format, encode};
use warden_exporters::host::{HostCollector, HostConfig};
use warden_exporters::process::{ProcessCollector, ProcessConfig, ProcessGroupConfig};
use warden_tsdb::{AppendError, Appender, Labels, MetricMetadata};

/// The system allocator, counting allocations.
struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Counts samples and keeps nothing, so only the collector is measured.
#[derive(Default)]
struct Counting {
    samples: usize,
}

impl Appender for Counting {
    fn append(&mut self, _labels: &Labels, _t: i64, _v: f64) -> Result<(), AppendError> {
        self.samples += 1;
        Ok(())
    }
    fn set_metadata(&mut self, _metric: &str, _metadata: MetricMetadata) {}
    fn commit(&mut self) -> Result<(), AppendError> {
        Ok(())
    }
}

/// Keeps the samples and metadata of one collection, for encoding.
#[derive(Default)]
struct Keeping {
    samples: Vec<(Labels, f64)>,
    metadata: HashMap<String, MetricMetadata>,
}

impl Appender for Keeping {
    fn append(&mut self, labels: &Labels, _t: i64, v: f64) -> Result<(), AppendError> {
        self.samples.push((labels.clone(), v));
        Ok(())
    }
    fn set_metadata(&mut self, metric: &str, metadata: MetricMetadata) {
        self.metadata.insert(metric.to_string(), metadata);
    }
    fn commit(&mut self) -> Result<(), AppendError> {
        Ok(())
    }
}

/// Groups consecutive samples of one metric into families and encodes them.
fn encode_text(app: &mut Keeping, out: &mut Vec<u8>) {
    let mut families: Vec<Family> = Vec::new();
    for (labels, v) in app.samples.drain(..) {
        let name = labels.metric_name().unwrap_or("").to_string();
        match families.last_mut() {
            Some(f) if f.name == name => f.samples.push((labels, v, None)),
            _ => families.push(Family {
                metadata: app.metadata.get(&name).cloned().unwrap_or_default(),
                name,
                samples: vec![(labels, v, None)],
            }),
        }
    }
    out.clear();
    encode(Format::Text, &families, out);
}

/// This process's user + system CPU time in clock ticks.
fn cpu_ticks() -> Result<u64, String> {
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|e| e.to_string())?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("bad /proc/self/stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| -> Result<u64, String> {
        f.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad field {i} of /proc/self/stat"))
    };
    Ok(num(11)? + num(12)?)
}

fn main() -> Result<(), String> {
    let encode_too = std::env::args().any(|a| a == "--encode");
    let process = std::env::args().any(|a| a.starts_with("--process"));
    // `--process=a,b`: one group selecting these command names (the usual
    // configuration) instead of the every-process worst case.
    let comms: Vec<String> = std::env::args()
        .find_map(|a| a.strip_prefix("--process=").map(str::to_string))
        .map(|l| l.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let n: usize = match std::env::args().nth(1).filter(|a| !a.starts_with("--")) {
        Some(a) => a.parse().map_err(|_| format!("bad count {a:?}"))?,
        None => 2000,
    };
    let mut collector: Box<dyn Collector> = if process {
        let all = ProcessGroupConfig {
            name: "all".into(),
            cmdline: if comms.is_empty() {
                Some(regex::Regex::new("").map_err(|e| e.to_string())?)
            } else {
                None
            },
            comm: comms,
            pidfile: None,
            cgroup: None,
        };
        Box::new(
            ProcessCollector::new(ProcessConfig {
                groups: vec![all],
                ..ProcessConfig::default()
            })
            .map_err(|e| e.to_string())?,
        )
    } else {
        // `--disable=netclass,netstat`: leave family groups out, to see what
        // each one costs.
        let disabled: Vec<String> = std::env::args()
            .find_map(|a| a.strip_prefix("--disable=").map(str::to_string))
            .map(|l| l.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let config = HostConfig {
            disabled,
            ..HostConfig::default()
        };
        Box::new(HostCollector::new(config).map_err(|e| e.to_string())?)
    };
    // One warm-up: label sets are built on first sight.
    let mut app = Counting::default();
    let errors = collector.collect(0, &mut app);
    if !errors.is_empty() {
        eprintln!("collection errors: {errors:?}");
    }
    let series = app.samples;
    let hz = rustix::param::clock_ticks_per_second() as f64;
    let start = cpu_ticks()?;
    let allocs_before = ALLOCATIONS.load(Ordering::Relaxed);
    let wall = std::time::Instant::now();
    let mut total = 0;
    let mut body = Vec::new();
    for i in 0..n {
        if encode_too {
            let mut app = Keeping::default();
            collector.collect(i as i64, &mut app);
            total += app.samples.len();
            encode_text(&mut app, &mut body);
        } else {
            let mut app = Counting::default();
            collector.collect(i as i64, &mut app);
            total += app.samples;
        }
    }
    let ticks = cpu_ticks()? - start;
    let allocs = (ALLOCATIONS.load(Ordering::Relaxed) - allocs_before) as f64 / n as f64;
    let cpu_ms = ticks as f64 / hz * 1000.0 / n as f64;
    println!(
        "{}{}collections {n} series_per_collection {:.0} (first {series}) cpu_ms_per_collection {cpu_ms:.3} wall_ms_per_collection {:.3} allocations_per_collection {allocs:.0}",
        if process { "process " } else { "host " },
        if encode_too { "encoded " } else { "" },
        total as f64 / n as f64,
        wall.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
    Ok(())
}
