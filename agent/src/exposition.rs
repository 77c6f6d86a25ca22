//! What `/metrics` serves, in the format the scraper asked for.
//!
//! Two sources make one page:
//! - warden's own registry, encoded fresh at every scrape, so `warden_*`
//!   values are current (the store holds them too, at the self collector's
//!   interval, for rules to query; the fresh copy wins here);
//! - the newest sample of every other stored series (`db.latest`), with its
//!   collection timestamp and the `# HELP`/`# TYPE` the collectors recorded.
//!   A stored series is left out only when the registry serves the same
//!   metric name (other `warden_*` series, such as the process collector's
//!   `warden_process_memory_limit_bytes`, come from the store).
//!
//! Encoding is the exposition module's job (`warden_exporters::exposition`),
//! so `/metrics` and every other exposition speak exactly the same format.

use std::collections::{BTreeMap, HashMap, HashSet};

use warden_exporters::exposition::{Family, Format, encode, negotiate, parse};
use warden_tsdb::{MatchOp, Matcher, MetricMetadata, MetricType};

use crate::http::AppState;
use crate::selfmetrics::SelfMetrics;
use crate::store::Store;

/// Renders `/metrics` for an `Accept` header: (content type, body).
pub fn render(state: &AppState, accept: &str) -> (&'static str, Vec<u8>) {
    let format = negotiate(accept);
    let mut families = self_families(&state.metrics);
    if let Some(store) = state.store.get() {
        let own: HashSet<String> = families
            .iter()
            .flat_map(|f| {
                f.samples
                    .iter()
                    .map(|(l, _, _)| l.metric_name().unwrap_or(&f.name).to_string())
            })
            .collect();
        families.extend(stored_families(store.as_ref(), &own));
    }
    let mut out = Vec::with_capacity(64 * 1024);
    encode(format, &families, &mut out);
    (format.content_type(), out)
}

/// The registry as families, with the names the text format wants
/// (counters keep `_total`, info families `_info`; the encoder strips them
/// again for OpenMetrics).
pub fn self_families(metrics: &SelfMetrics) -> Vec<Family> {
    let text = metrics.encode_openmetrics();
    let samples = match parse(Format::OpenMetrics, text.as_bytes()) {
        Ok(s) => s,
        Err(e) => {
            // Our own registry always encodes valid OpenMetrics; if that ever
            // breaks, say so instead of serving a half page silently.
            tracing::error!(error = %e, "warden's own metrics do not parse");
            return Vec::new();
        }
    };
    let mut out: Vec<Family> = Vec::new();
    for s in samples {
        let name = text_family_name(&s.family.name, s.family.metadata.kind);
        match out.last_mut() {
            Some(f) if f.name == name => f.samples.push((s.labels, s.value, None)),
            _ => out.push(Family {
                name,
                metadata: s.family.metadata.clone(),
                samples: vec![(s.labels, s.value, None)],
            }),
        }
    }
    out
}

/// The family name as `# TYPE` of text format 0.0.4 carries it.
pub fn text_family_name(name: &str, kind: MetricType) -> String {
    let suffix = match kind {
        MetricType::Counter => "_total",
        MetricType::Info => "_info",
        _ => return name.to_string(),
    };
    if name.ends_with(suffix) {
        name.to_string()
    } else {
        format!("{name}{suffix}")
    }
}

/// The newest sample of every stored series whose name is not in `own`,
/// grouped into families by the metadata the collectors recorded.
fn stored_families(store: &dyn Store, own: &HashSet<String>) -> Vec<Family> {
    let all = match Matcher::new(MatchOp::Regex, "__name__", ".+") {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "building the all-series matcher failed");
            return Vec::new();
        }
    };
    let metadata: HashMap<String, MetricMetadata> = store.metadata().into_iter().collect();
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for (labels, sample) in store.latest(&[all]) {
        let Some(name) = labels.metric_name() else {
            continue;
        };
        if own.contains(name) {
            continue;
        }
        let (family, meta) = family_of(name, &metadata);
        families
            .entry(family.clone())
            .or_insert_with(|| Family {
                name: family,
                metadata: meta,
                samples: Vec::new(),
            })
            .samples
            .push((labels, sample.v, Some(sample.t)));
    }
    let mut out: Vec<Family> = families.into_values().collect();
    for f in &mut out {
        f.samples.sort_by(|a, b| a.0.cmp(&b.0));
    }
    out
}

/// The family a stored series belongs to: its own name when metadata was
/// recorded under it, else a histogram or summary whose `_bucket`, `_sum`,
/// `_count` (or `_created`) it is, else an untyped family of its own.
fn family_of(name: &str, metadata: &HashMap<String, MetricMetadata>) -> (String, MetricMetadata) {
    if let Some(m) = metadata.get(name) {
        return (name.to_string(), m.clone());
    }
    for suffix in ["_bucket", "_sum", "_count", "_created"] {
        if let Some(base) = name.strip_suffix(suffix)
            && let Some(m) = metadata.get(base)
            && matches!(m.kind, MetricType::Histogram | MetricType::Summary)
        {
            return (base.to_string(), m.clone());
        }
    }
    (name.to_string(), MetricMetadata::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: MetricType) -> MetricMetadata {
        MetricMetadata {
            kind,
            help: "h".into(),
            unit: String::new(),
        }
    }

    #[test]
    fn families_follow_recorded_metadata() {
        let md: HashMap<String, MetricMetadata> = [
            (
                "node_cpu_seconds_total".to_string(),
                meta(MetricType::Counter),
            ),
            ("rpc_seconds".to_string(), meta(MetricType::Histogram)),
            ("up_total".to_string(), meta(MetricType::Gauge)),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            family_of("node_cpu_seconds_total", &md).0,
            "node_cpu_seconds_total"
        );
        assert_eq!(family_of("rpc_seconds_bucket", &md).0, "rpc_seconds");
        assert_eq!(
            family_of("rpc_seconds_count", &md).1.kind,
            MetricType::Histogram
        );
        let (name, m) = family_of("mystery", &md);
        assert_eq!((name.as_str(), m.kind), ("mystery", MetricType::Unknown));
    }

    #[test]
    fn text_names_keep_counter_and_info_suffixes() {
        assert_eq!(text_family_name("x", MetricType::Counter), "x_total");
        assert_eq!(text_family_name("x_total", MetricType::Counter), "x_total");
        assert_eq!(text_family_name("build", MetricType::Info), "build_info");
        assert_eq!(text_family_name("g", MetricType::Gauge), "g");
    }

    #[test]
    fn own_registry_becomes_families_in_both_formats() {
        let m = SelfMetrics::new();
        m.register_collector("host");
        let fams = self_families(&m);
        let errs = fams
            .iter()
            .find(|f| f.name == "warden_collector_errors_total")
            .expect("counter family named with _total");
        assert_eq!(errs.metadata.kind, MetricType::Counter);
        let mut text = Vec::new();
        encode(Format::Text, &fams, &mut text);
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("# TYPE warden_collector_errors_total counter"),
            "{text}"
        );
        let mut om = Vec::new();
        encode(Format::OpenMetrics, &fams, &mut om);
        let om = String::from_utf8(om).unwrap();
        assert!(
            om.contains("# TYPE warden_collector_errors counter"),
            "{om}"
        );
        assert!(
            om.contains("warden_collector_errors_total{collector=\"host\"} 0"),
            "{om}"
        );
        assert!(om.ends_with("# EOF\n"));
    }
}
