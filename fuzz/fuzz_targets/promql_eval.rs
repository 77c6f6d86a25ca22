//! Any expression, evaluated instant and range over a small store of float
//! and native-histogram series, must give an answer or an error: never a
//! panic, a hang or an abort.

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use warden_rules::promql::{Engine, EngineOptions};
use warden_tsdb::histogram::{CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram, Span};
use warden_tsdb::{Appender, Db, DbOptions, Labels, STALE_NAN};

fn store() -> &'static Db {
    static STORE: OnceLock<Db> = OnceLock::new();
    STORE.get_or_init(|| {
        let db = Db::in_memory(DbOptions::default());
        let mut app = db.appender();
        let series: Vec<(Labels, Box<dyn Fn(i64) -> f64>)> = vec![
            (labels(&[("__name__", "http_requests_total"), ("job", "api"), ("code", "200")]), Box::new(|i| (i * 10) as f64)),
            (labels(&[("__name__", "http_requests_total"), ("job", "api"), ("code", "500")]), Box::new(|i| (i % 7) as f64)),
            (labels(&[("__name__", "mem"), ("job", "db"), ("instance", "a:1")]), Box::new(|i| 1e9 + (i as f64).sin() * 1e6)),
            (labels(&[("__name__", "odd"), ("job", "x")]), Box::new(|i| match i % 5 { 0 => f64::NAN, 1 => f64::INFINITY, 2 => -0.0, 3 => STALE_NAN, _ => -1e308 })),
            (labels(&[("__name__", "b_bucket"), ("le", "0.1")]), Box::new(|i| i as f64)),
            (labels(&[("__name__", "b_bucket"), ("le", "1")]), Box::new(|i| (i * 3) as f64)),
            (labels(&[("__name__", "b_bucket"), ("le", "+Inf")]), Box::new(|i| (i * 2) as f64)),
        ];
        let histograms: Vec<(Labels, Box<dyn Fn(i64) -> Option<FloatHistogram>>)> = vec![
            // An exponential counter with a reset, a gauge, custom buckets,
            // and a series switching between floats and histograms.
            (labels(&[("__name__", "h"), ("job", "api")]), Box::new(|i| Some(exponential(0, (i % 40) as f64, CounterResetHint::Unknown)))),
            (labels(&[("__name__", "h"), ("job", "db")]), Box::new(|i| Some(exponential(i as i32 % 3 - 1, i as f64, CounterResetHint::Unknown)))),
            (labels(&[("__name__", "hg")]), Box::new(|i| Some(exponential(1, (i as f64).sin().abs() * 5.0, CounterResetHint::Gauge)))),
            (labels(&[("__name__", "hc"), ("job", "api")]), Box::new(|i| Some(custom(i as f64, &[0.1, 1.0])))),
            (labels(&[("__name__", "hc"), ("job", "db")]), Box::new(|i| Some(custom(i as f64, &[0.5])))),
            (labels(&[("__name__", "mixed")]), Box::new(|i| (i % 4 != 0).then(|| exponential(0, i as f64, CounterResetHint::Unknown)))),
        ];
        for i in 0..120 {
            for (l, f) in &series {
                let _ = app.append(l, i * 30_000, f(i));
            }
            for (l, f) in &histograms {
                let _ = match f(i) {
                    Some(h) => app.append_histogram(l, i * 30_000, &h),
                    None => app.append(l, i * 30_000, i as f64),
                };
            }
        }
        let _ = app.commit();
        drop(app);
        db
    })
}

/// A histogram of schema `schema` with `n` observations spread over a
/// zero bucket and two buckets on each side.
fn exponential(schema: i32, n: f64, hint: CounterResetHint) -> FloatHistogram {
    let q = n / 5.0;
    FloatHistogram {
        counter_reset_hint: hint,
        schema,
        zero_threshold: 0.001,
        zero_count: q,
        count: n,
        sum: n * 1.5,
        positive_spans: vec![Span { offset: -1, length: 2 }],
        positive_buckets: vec![q, q],
        negative_spans: vec![Span { offset: 2, length: 2 }],
        negative_buckets: vec![q, q],
        ..FloatHistogram::default()
    }
}

/// A custom-bucket histogram with `n` observations over `bounds` (+Inf implied).
fn custom(n: f64, bounds: &[f64]) -> FloatHistogram {
    let k = bounds.len() + 1;
    FloatHistogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        count: n,
        sum: n * 0.3,
        positive_spans: vec![Span { offset: 0, length: k as u32 }],
        positive_buckets: vec![n / k as f64; k],
        custom_values: bounds.to_vec(),
        ..FloatHistogram::default()
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let Ok(expr) = std::str::from_utf8(data) else { return };
    if expr.len() > 400 {
        return;
    }
    let engine = Engine::new(EngineOptions {
        max_samples: 200_000,
        timeout: Duration::from_secs(2),
        ..EngineOptions::default()
    });
    let _ = engine.instant(store(), expr, 1_800_000);
    let _ = engine.range(store(), expr, 0, 3_600_000, 60_000);
});
