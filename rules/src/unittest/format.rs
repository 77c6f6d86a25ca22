//! The exact text promtool prints in failures: its two duration formats,
//! Go's `%E` floats, label sets, and its indented alert lists.

use warden_tsdb::Labels;

use crate::promql::value::{go_quote, labels_to_go_string};

/// Prometheus's duration format (`model.Duration`): `0s`, `5m`, `1d2h`,
/// `90d`; years and weeks only when nothing is left over.
pub fn prom_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut left = ms;
    let mut out = String::new();
    if left < 0 {
        out.push('-');
        left = left.saturating_neg();
    }
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let units: [(&str, i64, bool); 7] = [
        ("y", 365 * DAY, true),
        ("w", 7 * DAY, true),
        ("d", DAY, false),
        ("h", 60 * 60 * 1000, false),
        ("m", 60 * 1000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ];
    for (unit, size, exact) in units {
        if exact && left % size != 0 {
            continue;
        }
        let n = left / size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            left -= n * size;
        }
    }
    out
}

/// Go's `time.Duration` format for a whole number of milliseconds:
/// `0s`, `500ms`, `1m0s`, `2h0m1.5s`.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    if abs < 1000 {
        return format!("{sign}{abs}ms");
    }
    let (h, rest) = (abs / 3_600_000, abs % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, frac) = (rest / 1000, rest % 1000);
    let mut secs = s.to_string();
    if frac > 0 {
        let digits = format!("{frac:03}");
        secs.push('.');
        secs.push_str(digits.trim_end_matches('0'));
    }
    match (h, m) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, _) => format!("{sign}{m}m{secs}s"),
        _ => format!("{sign}{h}h{m}m{secs}s"),
    }
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`: `1E+00`, `3.0000000000000004E+00`.
pub fn go_float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:E}");
    let Some((mantissa, exp)) = s.split_once('E') else {
        return s;
    };
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}E{sign}{digits:0>2}")
}

/// Go's `%q` of a string.
pub fn quote(s: &str) -> String {
    go_quote(s)
}

/// Prometheus's `labels.String()`: `{__name__="up", job="x"}`.
pub fn labels(l: &Labels) -> String {
    labels_to_go_string(l)
}

/// promtool's `indentLines`: every line after the first gets `indent`.
pub fn indent_lines(text: &str, indent: &str) -> String {
    text.split('\n')
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                line.to_string()
            } else {
                format!("{indent}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One alert as compared: labels and annotations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AlertItem {
    /// Labels, `alertname` included.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: Labels,
}

/// promtool's list of alerts: `[]`, or numbered entries with their
/// labels and annotations on indented lines.
pub fn alert_list(items: &[AlertItem]) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    let mut s = String::from("[");
    for (i, a) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let body = format!(
            "\nLabels:{}\nAnnotations:{}",
            labels(&a.labels),
            labels(&a.annotations)
        );
        s.push_str(&format!("\n{i}:{}", indent_lines(&body, "  ")));
    }
    s.push_str("\n]");
    s
}

/// One sample as compared: labels and value, or a histogram's notation.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleItem {
    /// The sample's labels.
    pub labels: Labels,
    /// Its float value.
    pub value: f64,
    /// A native histogram's notation, when the sample is one.
    pub histogram: Option<String>,
}

/// promtool's list of samples: `nil`, or `labels value` joined by `, `.
pub fn sample_list(items: &[SampleItem]) -> String {
    if items.is_empty() {
        return "nil".into();
    }
    items
        .iter()
        .map(|s| match &s.histogram {
            Some(h) => format!("{} {h}", labels(&s.labels)),
            None => format!("{} {}", labels(&s.labels), go_float_e(s.value)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(prom_duration(0), "0s");
        assert_eq!(prom_duration(300_000), "5m");
        assert_eq!(prom_duration(86_400_000), "1d");
        assert_eq!(prom_duration(90 * 86_400_000), "90d");
        assert_eq!(prom_duration(14 * 86_400_000), "2w");
        assert_eq!(prom_duration(179_999), "2m59s999ms");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(500), "500ms");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(3_600_000), "1h0m0s");
        assert_eq!(go_duration(61_500), "1m1.5s");
        assert_eq!(go_duration(1_250), "1.25s");
    }

    #[test]
    fn floats() {
        assert_eq!(go_float_e(1.0), "1E+00");
        assert_eq!(go_float_e(0.0), "0E+00");
        assert_eq!(go_float_e(60.0), "6E+01");
        assert_eq!(go_float_e(3.0000000000000004), "3.0000000000000004E+00");
        assert_eq!(go_float_e(1e-7), "1E-07");
        assert_eq!(go_float_e(1.5e300), "1.5E+300");
        assert_eq!(go_float_e(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn alert_lists() {
        let l = Labels::from_pairs([("alertname", "Test")]).unwrap();
        let a = AlertItem {
            labels: l,
            annotations: Labels::empty(),
        };
        assert_eq!(
            indent_lines(&alert_list(&[a]), "            "),
            "[\n            0:\n              Labels:{alertname=\"Test\"}\n              Annotations:{}\n            ]"
        );
        assert_eq!(alert_list(&[]), "[]");
    }
}
