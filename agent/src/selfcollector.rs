//! Puts warden's own metrics into the store, so that rules and queries see
//! `warden_collector_errors_total` and friends like any other series.
//!
//! It encodes the registry as OpenMetrics and reads it back with the
//! exposition parser: one code path for every metric the registry has,
//! present and future, with its type and help.

use std::sync::Arc;

use warden_exporters::exposition::{Format, parse};
use warden_exporters::{Appender, CollectError, Collector};

use crate::exposition::text_family_name;
use crate::selfmetrics::SelfMetrics;

/// The collector of warden's own registry.
pub struct SelfCollector {
    metrics: Arc<SelfMetrics>,
}

impl SelfCollector {
    /// A collector over `metrics`.
    pub fn new(metrics: Arc<SelfMetrics>) -> SelfCollector {
        SelfCollector { metrics }
    }
}

impl Collector for SelfCollector {
    fn name(&self) -> &str {
        "warden"
    }

    fn collect(&mut self, now_ms: i64, app: &mut dyn Appender) -> Vec<CollectError> {
        let text = self.metrics.encode_openmetrics();
        let samples = match parse(Format::OpenMetrics, text.as_bytes()) {
            Ok(s) => s,
            Err(e) => {
                return vec![CollectError::Parse {
                    path: "warden's own registry".to_string(),
                    reason: e.to_string(),
                }];
            }
        };
        let mut errors = Vec::new();
        let mut last_family: Option<String> = None;
        for s in samples {
            if last_family.as_deref() != Some(s.family.name.as_str()) {
                let name = text_family_name(&s.family.name, s.family.metadata.kind);
                app.set_metadata(&name, s.family.metadata.clone());
                last_family = Some(s.family.name.clone());
            }
            if let Err(e) = app.append(&s.labels, now_ms, s.value) {
                errors.push(CollectError::Other(format!("{}: {e}", s.labels)));
            }
        }
        errors
    }
}
