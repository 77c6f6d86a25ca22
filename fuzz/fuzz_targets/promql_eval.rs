//! Any expression, evaluated instant and range over a small store, must
//! give an answer or an error: never a panic, a hang or an abort.

#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use warden_rules::promql::{Engine, EngineOptions};
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
        for i in 0..120 {
            for (l, f) in &series {
                let _ = app.append(l, i * 30_000, f(i));
            }
        }
        let _ = app.commit();
        drop(app);
        db
    })
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
