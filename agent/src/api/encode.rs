//! JSON for query results, byte for byte as Prometheus writes it.
//!
//! Prometheus writes sample values as strings in Go's shortest float format
//! (`"1"`, `"0.1"`, `"1e-07"`, `"+Inf"`, `"NaN"`) and timestamps as Unix
//! seconds with the milliseconds kept verbatim (`1435781451.781`,
//! `10.500`, `3`). Clients parse these strings, so the format is part of the
//! contract. Results can be large, so they are written straight into a
//! buffer rather than built as a JSON tree.

use std::fmt::Write as _;

use warden_rules::promql::{InstantSample, Value};
use warden_tsdb::histogram::FloatHistogram;
use warden_tsdb::{Labels, Series};

/// Appends a millisecond timestamp as Prometheus's JSON seconds.
pub fn write_timestamp(out: &mut String, t: i64) {
    let (sign, t) = if t < 0 {
        ("-", t.unsigned_abs())
    } else {
        ("", t as u64)
    };
    let secs = t / 1000;
    let frac = t % 1000;
    let _ = if frac == 0 {
        write!(out, "{sign}{secs}")
    } else {
        write!(out, "{sign}{secs}.{frac:03}")
    };
}

/// Formats a float as Go's `strconv.FormatFloat(f, 'f' or 'e', -1, 64)`
/// does in Prometheus's JSON: positional notation, except exponent notation
/// for magnitudes below 1e-6 or from 1e21 up.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's shortest `{:e}` is `1.5e-7`; Go writes `1.5e-07`.
        let s = format!("{f:e}");
        let Some((mantissa, exp)) = s.split_once('e') else {
            return s;
        };
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return if digits.len() < 2 {
            format!("{mantissa}e{sign}0{digits}")
        } else {
            format!("{mantissa}e{sign}{digits}")
        };
    }
    if f == 0.0 && f.is_sign_negative() {
        return "-0".into();
    }
    format!("{f}")
}

/// A millisecond timestamp as Go's `time.Time` marshals to JSON (RFC 3339
/// with the fraction's trailing zeros dropped), in UTC; `None` is Go's zero
/// time, which Prometheus writes for "never".
pub fn go_time(t_ms: Option<i64>) -> String {
    let Some(t) = t_ms.and_then(chrono::DateTime::from_timestamp_millis) else {
        return "0001-01-01T00:00:00Z".into();
    };
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let ms = t.timestamp_subsec_millis();
    if ms != 0 {
        let frac = format!("{ms:03}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Appends a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            // Go's encoder escapes these for safe embedding in HTML.
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a label set as a JSON object, in label order.
pub fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, &l.name);
        out.push(':');
        write_str(out, &l.value);
    }
    out.push('}');
}

fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t);
    out.push_str(",\"");
    out.push_str(&go_float(v));
    out.push_str("\"]");
}

/// A native histogram as Prometheus's API writes it: count, sum and the
/// non-empty buckets as `[boundary rule, lower, upper, count]`, where the
/// rule says which ends are inclusive (0 upper only, 1 lower only, 2
/// neither, 3 both).
fn write_histogram(out: &mut String, h: &FloatHistogram) {
    out.push_str("{\"count\":\"");
    out.push_str(&go_float(h.count));
    out.push_str("\",\"sum\":\"");
    out.push_str(&go_float(h.sum));
    out.push('"');
    let mut first = true;
    for b in h.all_bucket_iter().filter(|b| b.count != 0.0) {
        out.push_str(if first { ",\"buckets\":[" } else { "," });
        first = false;
        let rule = match (b.lower_inclusive, b.upper_inclusive) {
            (false, true) => 0,
            (true, false) => 1,
            (false, false) => 2,
            (true, true) => 3,
        };
        let _ = write!(
            out,
            "[{rule},\"{}\",\"{}\",\"{}\"]",
            go_float(b.lower),
            go_float(b.upper),
            go_float(b.count)
        );
    }
    if !first {
        out.push(']');
    }
    out.push('}');
}

fn write_histogram_point(out: &mut String, t: i64, h: &FloatHistogram) {
    out.push('[');
    write_timestamp(out, t);
    out.push(',');
    write_histogram(out, h);
    out.push(']');
}

fn write_vector(out: &mut String, v: &[InstantSample]) {
    out.push('[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_labels(out, &s.labels);
        match &s.h {
            Some(h) => {
                out.push_str(",\"histogram\":");
                write_histogram_point(out, s.t, h);
            }
            None => {
                out.push_str(",\"value\":");
                write_point(out, s.t, s.v);
            }
        }
        out.push('}');
    }
    out.push(']');
}

fn write_matrix(out: &mut String, m: &[Series]) {
    out.push('[');
    for (i, s) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_labels(out, &s.labels);
        // As Prometheus: each list only when the series has such points.
        for (j, p) in s.samples.iter().enumerate() {
            out.push_str(if j == 0 { ",\"values\":[" } else { "," });
            write_point(out, p.t, p.v);
        }
        if !s.samples.is_empty() {
            out.push(']');
        }
        for (j, p) in s.histograms.iter().enumerate() {
            out.push_str(if j == 0 { ",\"histograms\":[" } else { "," });
            write_histogram_point(out, p.t, &p.h);
        }
        if !s.histograms.is_empty() {
            out.push(']');
        }
        out.push('}');
    }
    out.push(']');
}

/// Appends `{"resultType":…,"result":…}` for a query value.
pub fn write_query_data(out: &mut String, value: &Value) {
    match value {
        Value::Scalar { t, v } => {
            out.push_str("{\"resultType\":\"scalar\",\"result\":");
            write_point(out, *t, *v);
        }
        Value::String { t, v } => {
            out.push_str("{\"resultType\":\"string\",\"result\":[");
            write_timestamp(out, *t);
            out.push(',');
            write_str(out, v);
            out.push(']');
        }
        Value::Vector(v) => {
            out.push_str("{\"resultType\":\"vector\",\"result\":");
            write_vector(out, v);
        }
        Value::Matrix(m) => {
            out.push_str("{\"resultType\":\"matrix\",\"result\":");
            write_matrix(out, m);
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(0.1), "0.1");
        assert_eq!(go_float(-2.5), "-2.5");
        assert_eq!(go_float(1e-7), "1e-07");
        assert_eq!(go_float(1.5e21), "1.5e+21");
        assert_eq!(go_float(1e100), "1e+100");
        assert_eq!(go_float(123456789.0), "123456789");
        assert_eq!(go_float(f64::INFINITY), "+Inf");
        assert_eq!(go_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(go_float(f64::NAN), "NaN");
        assert_eq!(go_float(0.0), "0");
    }

    #[test]
    fn times_like_go() {
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
        assert_eq!(go_time(Some(1_435_781_451_781)), "2015-07-01T20:10:51.781Z");
        assert_eq!(go_time(Some(1_435_781_451_780)), "2015-07-01T20:10:51.78Z");
        assert_eq!(go_time(Some(1_435_781_451_000)), "2015-07-01T20:10:51Z");
    }

    #[test]
    fn timestamps_like_prometheus() {
        let mut s = String::new();
        write_timestamp(&mut s, 1_435_781_451_781);
        assert_eq!(s, "1435781451.781");
        s.clear();
        write_timestamp(&mut s, 10_500);
        assert_eq!(s, "10.500");
        s.clear();
        write_timestamp(&mut s, 3_000);
        assert_eq!(s, "3");
        s.clear();
        write_timestamp(&mut s, -1_005);
        assert_eq!(s, "-1.005");
    }

    #[test]
    fn vector_json() {
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "a<b")]).unwrap();
        let v = Value::Vector(vec![InstantSample {
            labels,
            t: 1000,
            v: 1.0,
            h: None,
        }]);
        let mut s = String::new();
        write_query_data(&mut s, &v);
        assert_eq!(
            s,
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\u003cb"},"value":[1,"1"]}]}"#
        );
    }

    fn histogram() -> FloatHistogram {
        use warden_tsdb::histogram::Span;
        FloatHistogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 1.0,
            count: 6.0,
            sum: 3.5,
            positive_spans: vec![Span {
                offset: 0,
                length: 3,
            }],
            positive_buckets: vec![2.0, 0.0, 2.0],
            negative_spans: vec![Span {
                offset: 0,
                length: 1,
            }],
            negative_buckets: vec![1.0],
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn histograms_as_prometheus_writes_them() {
        // Buckets from the most negative up, empty ones left out; the
        // first number says which ends are inclusive.
        let h = std::sync::Arc::new(histogram());
        let v = Value::Vector(vec![InstantSample {
            labels: Labels::empty(),
            t: 1500,
            v: 0.0,
            h: Some(h.clone()),
        }]);
        let mut s = String::new();
        write_query_data(&mut s, &v);
        assert_eq!(
            s,
            r#"{"resultType":"vector","result":[{"metric":{},"histogram":[1.500,{"count":"6","sum":"3.5","buckets":[[1,"-1","-0.5","1"],[3,"-0.001","0.001","1"],[0,"0.5","1","2"],[0,"2","4","2"]]}]}]}"#
        );
        let mut series = Series::new(Labels::empty(), Vec::new());
        series.histograms = vec![warden_tsdb::HistogramSample { t: 2000, h }];
        let mut s = String::new();
        write_query_data(&mut s, &Value::Matrix(vec![series]));
        assert!(
            s.starts_with(
                r#"{"resultType":"matrix","result":[{"metric":{},"histograms":[[2,{"count":"6""#
            ),
            "{s}"
        );
    }
}
