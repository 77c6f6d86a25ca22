//! Expansion tests with values derived from Prometheus's template.go.

use std::collections::BTreeMap;

use super::*;
use crate::promql::{PromqlError, QueryOutput};

struct NoQuery;
impl QueryFn for NoQuery {
    fn instant(&self, _expr: &str, _t_ms: i64) -> Result<QueryOutput, PromqlError> {
        Err(PromqlError::BadData("no data".into()))
    }
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("instance".to_string(), "host1:9100".to_string()),
        ("job".to_string(), "node".to_string()),
    ])
}

fn ex(text: &str, value: f64) -> Result<String, TemplateError> {
    let l = labels();
    let ext = BTreeMap::from([("cluster".to_string(), "eu1".to_string())]);
    let data = TemplateData {
        labels: &l,
        external_labels: &ext,
        external_url: "http://prom.example.com:9090/prefix",
        value,
    };
    expand("__alert_Test", text, &data, 1_700_000_000_000, &NoQuery)
}

fn ok(text: &str, value: f64) -> String {
    match ex(text, value) {
        Ok(s) => s,
        Err(e) => panic!("{text}: {e}"),
    }
}

#[test]
fn labels_value_humanize_printf() {
    assert_eq!(
        ok("{{ $labels.instance }} {{ $labels.job }}", 1.0),
        "host1:9100 node"
    );
    assert_eq!(ok("{{ $value }}", 1234567.891), "1.234567891e+06");
    assert_eq!(ok("{{ $value | humanize }}", 1234567.891), "1.235M");
    assert_eq!(
        ok("{{ printf \"%.2f\" $value }}", 1234567.891),
        "1234567.89"
    );
    assert_eq!(ok("{{ .Labels.job }}/{{ .Value }}", 2.5), "node/2.5");
    assert_eq!(
        ok("{{ $externalLabels.cluster }} {{ $externalURL }}", 0.0),
        "eu1 http://prom.example.com:9090/prefix"
    );
}
