//! The encoder: families to text 0.0.4 or OpenMetrics 1.0.

use std::io::Write;

use warden_tsdb::{Labels, MetricType, labels::METRIC_NAME};

use super::float::{write_go_float, write_om_float};
use super::{Family, Format};

/// Appends `families` to `out` in `format`. OpenMetrics output ends with
/// `# EOF`; counters get their `_total` (and info families their `_info`)
/// suffix on samples, and lose it in the metadata lines.
pub fn encode(format: Format, families: &[Family], out: &mut Vec<u8>) {
    for f in families {
        match format {
            Format::Text => text_family(f, out),
            Format::OpenMetrics => om_family(f, out),
        }
    }
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
}

fn text_type(kind: MetricType) -> &'static str {
    match kind {
        MetricType::Counter => "counter",
        MetricType::Gauge | MetricType::Info | MetricType::StateSet => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::Summary => "summary",
        MetricType::Unknown => "untyped",
    }
}

fn text_family(f: &Family, out: &mut Vec<u8>) {
    if !f.metadata.help.is_empty() {
        out.extend_from_slice(b"# HELP ");
        meta_name(out, &f.name);
        out.push(b' ');
        escape(out, &f.metadata.help, false);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    meta_name(out, &f.name);
    out.push(b' ');
    out.extend_from_slice(text_type(f.metadata.kind).as_bytes());
    out.push(b'\n');
    for (labels, v, t) in &f.samples {
        let name = labels.metric_name().unwrap_or(&f.name);
        series(out, name, "", labels);
        out.push(b' ');
        write_go_float(out, *v);
        if let Some(t) = t {
            let _ = write!(out, " {t}");
        }
        out.push(b'\n');
    }
}

/// The suffix OpenMetrics requires on the samples of `kind`.
fn om_suffix(kind: MetricType) -> &'static str {
    match kind {
        MetricType::Counter => "_total",
        MetricType::Info => "_info",
        _ => "",
    }
}

fn om_family(f: &Family, out: &mut Vec<u8>) {
    let suffix = om_suffix(f.metadata.kind);
    let base = if suffix.is_empty() {
        f.name.as_str()
    } else {
        f.name.strip_suffix(suffix).unwrap_or(&f.name)
    };
    out.extend_from_slice(b"# TYPE ");
    meta_name(out, base);
    out.push(b' ');
    out.extend_from_slice(f.metadata.kind.as_str().as_bytes());
    out.push(b'\n');
    if !f.metadata.unit.is_empty() {
        out.extend_from_slice(b"# UNIT ");
        meta_name(out, base);
        out.push(b' ');
        escape(out, &f.metadata.unit, true);
        out.push(b'\n');
    }
    if !f.metadata.help.is_empty() {
        out.extend_from_slice(b"# HELP ");
        meta_name(out, base);
        out.push(b' ');
        escape(out, &f.metadata.help, true);
        out.push(b'\n');
    }
    for (labels, v, t) in &f.samples {
        let name = labels.metric_name().unwrap_or(&f.name);
        // A counter sample named like its family gets the suffix.
        let extra = if !suffix.is_empty() && name == base {
            suffix
        } else {
            ""
        };
        series(out, name, extra, labels);
        out.push(b' ');
        write_om_float(out, *v);
        if let Some(t) = t {
            out.push(b' ');
            om_timestamp(out, *t);
        }
        out.push(b'\n');
    }
}

/// A family name in a metadata line, quoted when outside the classic set.
fn meta_name(out: &mut Vec<u8>, name: &str) {
    if warden_tsdb::labels::is_valid_metric_name(name) {
        out.extend_from_slice(name.as_bytes());
    } else {
        out.push(b'"');
        escape(out, name, true);
        out.push(b'"');
    }
}

/// Seconds with the milliseconds as an exact decimal fraction.
fn om_timestamp(out: &mut Vec<u8>, ms: i64) {
    let neg = ms < 0;
    let abs = ms.unsigned_abs();
    let (s, frac) = (abs / 1000, abs % 1000);
    if neg {
        out.push(b'-');
    }
    let _ = write!(out, "{s}");
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
        while out.last() == Some(&b'0') {
            out.pop();
        }
    }
}

/// Writes `name{label="value",...}`; names outside the classic character
/// set are written quoted inside the braces (Prometheus 3's UTF-8 syntax).
fn series(out: &mut Vec<u8>, name: &str, suffix: &str, labels: &Labels) {
    let classic_name = warden_tsdb::labels::is_valid_metric_name(name);
    if classic_name {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
    }
    let mut first = true;
    let mut open = |out: &mut Vec<u8>| {
        out.push(if first { b'{' } else { b',' });
        first = false;
    };
    if !classic_name {
        open(out);
        out.push(b'"');
        escape(out, name, true);
        escape(out, suffix, true);
        out.push(b'"');
    }
    for l in labels.iter().filter(|l| l.name != METRIC_NAME) {
        open(out);
        if warden_tsdb::labels::is_valid_label_name(&l.name) {
            out.extend_from_slice(l.name.as_bytes());
        } else {
            out.push(b'"');
            escape(out, &l.name, true);
            out.push(b'"');
        }
        out.extend_from_slice(b"=\"");
        escape(out, &l.value, true);
        out.push(b'"');
    }
    if !first {
        out.push(b'}');
    }
}

/// Escapes `\` and newline, and `"` when `quote` (label values, and all of
/// OpenMetrics' metadata).
fn escape(out: &mut Vec<u8>, s: &str, quote: bool) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if quote => out.extend_from_slice(b"\\\""),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_tsdb::MetricMetadata;

    fn fam(
        name: &str,
        kind: MetricType,
        help: &str,
        samples: Vec<(Labels, f64, Option<i64>)>,
    ) -> Family {
        Family {
            name: name.into(),
            metadata: MetricMetadata {
                kind,
                help: help.into(),
                unit: String::new(),
            },
            samples,
        }
    }

    #[test]
    fn text_0_0_4() {
        let l = Labels::from_pairs([
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("path", "a\"b\\c\nd"),
        ])
        .unwrap();
        let families = [
            fam(
                "http_requests_total",
                MetricType::Counter,
                "Requests.\nSecond \\ line \"q\"",
                vec![(l, 1027.0, Some(1395066363000))],
            ),
            fam(
                "temp",
                MetricType::Gauge,
                "",
                vec![(Labels::empty(), f64::NEG_INFINITY, None)],
            ),
            fam(
                "odd",
                MetricType::Unknown,
                "",
                vec![(Labels::empty(), f64::NAN, None)],
            ),
        ];
        let mut out = Vec::new();
        encode(Format::Text, &families, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# HELP http_requests_total Requests.\\nSecond \\\\ line \"q\"\n\
             # TYPE http_requests_total counter\n\
             http_requests_total{code=\"200\",path=\"a\\\"b\\\\c\\nd\"} 1027 1395066363000\n\
             # TYPE temp gauge\n\
             temp -Inf\n\
             # TYPE odd untyped\n\
             odd NaN\n"
        );
    }

    #[test]
    fn openmetrics_1_0() {
        let l = Labels::from_pairs([("__name__", "http_requests_total"), ("code", "200")]).unwrap();
        let mut families = vec![
            fam(
                "http_requests_total",
                MetricType::Counter,
                "Say \"hi\"",
                vec![(l, 1027.0, Some(1395066363123))],
            ),
            fam(
                "up",
                MetricType::Gauge,
                "",
                vec![(Labels::empty(), 1.0, Some(-1500))],
            ),
            fam(
                "build",
                MetricType::Info,
                "",
                vec![(Labels::from_pairs([("version", "1")]).unwrap(), 1.0, None)],
            ),
        ];
        families[1].metadata.unit = "seconds".into();
        let mut out = Vec::new();
        encode(Format::OpenMetrics, &families, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# TYPE http_requests counter\n\
             # HELP http_requests Say \\\"hi\\\"\n\
             http_requests_total{code=\"200\"} 1027.0 1395066363.123\n\
             # TYPE up gauge\n\
             # UNIT up seconds\n\
             up 1.0 -1.5\n\
             # TYPE build info\n\
             build_info{version=\"1\"} 1.0\n\
             # EOF\n"
        );
    }
}
