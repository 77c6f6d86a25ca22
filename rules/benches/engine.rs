//! Instant and range latency of the PromQL engine on generated data.
//!
//! `cargo bench -p warden-rules --bench engine` runs every query over 10k
//! and 100k series (half counters, a quarter gauges, a quarter classic
//! histogram buckets), sampled every 30 s for 75 minutes. Set
//! `WARDEN_BENCH_SERIES=10000` to run one size only, and
//! `WARDEN_BENCH_QUERY='<expr>'` to time one expression of your own.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_rules::promql::{Engine, EngineOptions};
use warden_tsdb::{Labels, MatchOp, Matcher, Querier, QueryError, Sample, Series};

const INTERVAL: i64 = 30_000;
const SPAN: i64 = 75 * 60_000;

/// Series in memory with a metric-name index; `select` filters the
/// candidates by matchers and slices by time with a binary search, roughly
/// what the head does with its postings.
struct Store {
    series: Vec<Series>,
    by_name: HashMap<String, Vec<usize>>,
}

impl Store {
    fn new(series: Vec<Series>) -> Store {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in series.iter().enumerate() {
            let name = s.labels.metric_name().unwrap_or("").to_string();
            by_name.entry(name).or_default().push(i);
        }
        Store { series, by_name }
    }
}

impl Querier for Store {
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Series>, QueryError> {
        let name = matchers
            .iter()
            .find(|m| m.name == "__name__" && m.op == MatchOp::Equal)
            .map(|m| m.value.as_str());
        let all: Vec<usize>;
        let candidates = match name {
            Some(n) => self.by_name.get(n).map(Vec::as_slice).unwrap_or(&[]),
            None => {
                all = (0..self.series.len()).collect();
                &all
            }
        };
        Ok(candidates
            .iter()
            .map(|&i| &self.series[i])
            .filter(|s| {
                matchers
                    .iter()
                    .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
            })
            .filter_map(|s| {
                let lo = s.samples.partition_point(|x| x.t < min_t);
                let hi = s.samples.partition_point(|x| x.t <= max_t);
                (lo < hi).then(|| Series::new(s.labels.clone(), s.samples[lo..hi].to_vec()))
            })
            .collect())
    }

    fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> Result<Vec<String>, QueryError> {
        Ok(Vec::new())
    }

    fn label_values(
        &self,
        _: &str,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> Result<Vec<String>, QueryError> {
        Ok(Vec::new())
    }
}

fn labels(pairs: &[(&str, String)]) -> Labels {
    Labels::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))).expect("valid labels")
}

fn generate(n: usize) -> Store {
    let points = (SPAN / INTERVAL) as usize + 1;
    let mut series = Vec::with_capacity(n);
    let counters = n / 2;
    let gauges = n / 4;
    let buckets = n - counters - gauges;
    for i in 0..counters {
        let status = if i % 10 == 0 { "500" } else { "200" };
        let l = labels(&[
            ("__name__", "http_requests_total".into()),
            ("job", format!("job{}", i % 20)),
            ("instance", format!("i{}", i / 2)),
            ("status", status.into()),
        ]);
        let rate = 1.0 + (i % 7) as f64;
        let samples = (0..points)
            .map(|k| Sample {
                t: k as i64 * INTERVAL,
                v: rate * k as f64,
            })
            .collect();
        series.push(Series::new(l, samples));
    }
    for i in 0..gauges {
        let l = labels(&[
            ("__name__", "node_memory_free_bytes".into()),
            ("job", format!("job{}", i % 20)),
            ("instance", format!("g{i}")),
        ]);
        let slope = if i % 3 == 0 { -1000.0 } else { 10.0 };
        let samples = (0..points)
            .map(|k| Sample {
                t: k as i64 * INTERVAL,
                v: 1e7 + slope * k as f64 + (k % 5) as f64,
            })
            .collect();
        series.push(Series::new(l, samples));
    }
    let les = [
        "0.005", "0.01", "0.05", "0.1", "0.5", "1", "2.5", "5", "10", "+Inf",
    ];
    for i in 0..buckets {
        let b = i % les.len();
        let l = labels(&[
            ("__name__", "request_duration_seconds_bucket".into()),
            ("job", format!("job{}", (i / les.len()) % 20)),
            ("instance", format!("h{}", i / les.len())),
            ("le", les[b].into()),
        ]);
        let samples = (0..points)
            .map(|k| Sample {
                t: k as i64 * INTERVAL,
                v: ((b + 1) * k) as f64,
            })
            .collect();
        series.push(Series::new(l, samples));
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    Store::new(series)
}

const QUERIES: [(&str, &str); 7] = [
    ("sum_rate", "sum by (job) (rate(http_requests_total[5m]))"),
    (
        "error_ratio",
        r#"rate(http_requests_total{status="500"}[5m]) / ignoring(status) group_left sum by (job, instance) (rate(http_requests_total[5m]))"#,
    ),
    (
        "hist_quantile",
        "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    ),
    (
        "predict_linear",
        "predict_linear(node_memory_free_bytes[1h], 4*3600) < 0",
    ),
    (
        "avg_over_time",
        "avg_over_time(node_memory_free_bytes[10m])",
    ),
    ("topk", "topk(10, node_memory_free_bytes)"),
    (
        "subquery",
        "max_over_time(rate(http_requests_total[1m])[30m:1m])",
    ),
];

fn bench(c: &mut Criterion) {
    let sizes: Vec<usize> = match std::env::var("WARDEN_BENCH_SERIES")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(n) => vec![n],
        None => vec![10_000, 100_000],
    };
    let engine = Engine::new(EngineOptions {
        max_samples: usize::MAX,
        ..EngineOptions::default()
    });
    let end = SPAN;
    for n in sizes {
        let store = generate(n);
        let mut g = c.benchmark_group(format!("{n}_series"));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(2));
        // The store's share: selecting the counters for a 5m window.
        let counters = [Matcher::equal("__name__", "http_requests_total")];
        g.bench_function("store_select_only", |b| {
            b.iter(|| {
                black_box(
                    store
                        .select(&counters, end - 300_000 + 1, end)
                        .expect("select"),
                )
            })
        });
        let custom = std::env::var("WARDEN_BENCH_QUERY").ok();
        let queries: Vec<(&str, &str)> = match &custom {
            Some(q) => vec![("custom", q.as_str())],
            None => QUERIES.to_vec(),
        };
        for (name, q) in queries {
            g.bench_function(format!("instant/{name}"), |b| {
                b.iter(|| black_box(engine.instant(&store, q, end).expect("query succeeds")))
            });
            g.bench_function(format!("range_1h_1m/{name}"), |b| {
                b.iter(|| {
                    black_box(
                        engine
                            .range(&store, q, end - 3_600_000, end, 60_000)
                            .expect("query succeeds"),
                    )
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
