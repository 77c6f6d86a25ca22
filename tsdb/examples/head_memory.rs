//! Memory of the head for 100k series × 480 samples (2 h at 15 s).
//!
//! `cargo run --release -p warden-tsdb --example head_memory`
//!
//! Measured with a counting global allocator (bytes requested and not yet
//! freed; allocator overhead excluded), with the RSS from /proc shown
//! beside it. The per-series figure is the heap after every series holds
//! its first sample; the per-sample figure is the growth from there to the
//! end, divided by the samples added.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use warden_tsdb::chunk::ChunkAppender;
use warden_tsdb::{Appender, Db, DbOptions, Labels};

#[path = "common/workload.rs"]
mod workload;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const SERIES: u64 = 100_000;
const SAMPLES: i64 = 480;
const BATCH: u64 = 10_000;

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    let base_t = 1_700_000_000_000i64;
    let mut rng = workload::Rng::new(42);
    let kinds: Vec<workload::Kind> = (0..SERIES).map(workload::kind).collect();
    let mut values: Vec<f64> = kinds
        .iter()
        .map(|k| workload::start(*k, &mut rng))
        .collect();

    let heap0 = LIVE.load(Ordering::Relaxed);
    let rss0 = rss_bytes().unwrap_or(0);
    let db = Db::in_memory(DbOptions::default());
    let mut after_first = 0;
    // Label sets are built once and reused, as a scraper's cache does; the
    // head shares them (a reference count), and the vector is dropped before
    // the final measurement, so the head alone accounts for them.
    let mut cache: Vec<Labels> = Vec::with_capacity(SERIES as usize);
    let cache_bytes = cache.capacity() * std::mem::size_of::<Labels>();
    for step in 0..SAMPLES {
        let t = base_t + step * workload::STEP_MS;
        let mut app = db.appender();
        for i in 0..SERIES {
            if step == 0 {
                cache.push(workload::labels(i));
            }
            let labels = &cache[i as usize];
            let v = &mut values[i as usize];
            *v = workload::step(kinds[i as usize], *v, &mut rng);
            if app.append(labels, t, *v).is_err() {
                eprintln!("append refused for series {i}");
            }
            // One commit per 10k series, as per-target scrapes would do.
            if i % BATCH == BATCH - 1
                && let Err(e) = app.commit()
            {
                eprintln!("commit failed: {e}");
            }
        }
        if let Err(e) = app.commit() {
            eprintln!("commit failed: {e}");
        }
        drop(app);
        if step == 0 {
            after_first = LIVE.load(Ordering::Relaxed) - heap0 - cache_bytes;
        }
    }
    drop(cache);
    let total = LIVE.load(Ordering::Relaxed) - heap0;
    let rss = rss_bytes().unwrap_or(0).saturating_sub(rss0);
    let stats = db.stats();
    let samples = SERIES as f64 * SAMPLES as f64;
    let per_series = after_first as f64 / SERIES as f64;
    let per_sample = (total - after_first) as f64 / (SERIES as f64 * (SAMPLES - 1) as f64);
    println!("series:              {}", stats.head_series);
    println!("samples:             {}", stats.samples_appended_total);
    println!("chunks:              {}", stats.head_chunks);
    println!(
        "heap total:          {:.1} MiB (counting allocator)",
        total as f64 / 1048576.0
    );
    println!("rss growth:          {:.1} MiB", rss as f64 / 1048576.0);
    println!("bytes per series:    {per_series:.0} (heap with one sample per series)");
    println!("bytes per sample:    {per_sample:.2} (heap growth for the other 479 samples)");
    println!(
        "heap / series:       {:.0} (everything, all samples included)",
        total as f64 / SERIES as f64
    );
    let budget = 1536.0 * SERIES as f64 + 1.5 * samples;
    println!(
        "budget 1.5 KB/series + 1.5 B/sample = {:.1} MiB; used {:.0}%",
        budget / 1048576.0,
        100.0 * total as f64 / budget
    );
    println!("encoded bytes per sample by kind of series (120-sample chunks):");
    for (name, kind) in workload::KINDS {
        let mut rng = workload::Rng::new(1);
        let mut bytes = 0;
        let mut n = 0;
        for _ in 0..100 {
            let mut c = ChunkAppender::new();
            let mut v = workload::start(kind, &mut rng);
            for s in 0..120 {
                v = workload::step(kind, v, &mut rng);
                c.append(base_t + s * workload::STEP_MS, v.to_bits());
            }
            bytes += c.bytes().len();
            n += 120;
        }
        println!("  {name:<14} {:.2}", bytes as f64 / n as f64);
    }
}
