//! Prints the families the host collector writes on this machine, with
//! their type and series count, in the text exposition format's type names
//! (the list in docs/collectors.md is checked against it).
//!
//! `cargo run -p warden-exporters --example list_families`

use std::collections::BTreeMap;

use warden_exporters::Collector;
use warden_exporters::host::{HostCollector, HostConfig};
use warden_tsdb::{AppendError, Appender, Labels, MetricMetadata};

#[derive(Default)]
struct Families {
    series: BTreeMap<String, (usize, Vec<String>)>,
    metadata: BTreeMap<String, MetricMetadata>,
}

impl Appender for Families {
    fn append(&mut self, labels: &Labels, _t: i64, _v: f64) -> Result<(), AppendError> {
        let name = labels.metric_name().unwrap_or("").to_string();
        let e = self.series.entry(name).or_default();
        e.0 += 1;
        for l in labels.iter().filter(|l| l.name != "__name__") {
            if !e.1.contains(&l.name) {
                e.1.push(l.name.clone());
            }
        }
        Ok(())
    }
    fn set_metadata(&mut self, metric: &str, metadata: MetricMetadata) {
        self.metadata.insert(metric.to_string(), metadata);
    }
    fn commit(&mut self) -> Result<(), AppendError> {
        Ok(())
    }
}

fn main() -> Result<(), String> {
    let mut c = HostCollector::new(HostConfig::default()).map_err(|e| e.to_string())?;
    let mut app = Families::default();
    for e in c.collect(0, &mut app) {
        eprintln!("error: {e}");
    }
    for (name, (n, labels)) in &app.series {
        let kind = app.metadata.get(name).map_or("?", |m| m.kind.as_str());
        println!("{name}\t{kind}\t{n}\t{}", labels.join(","));
    }
    Ok(())
}
