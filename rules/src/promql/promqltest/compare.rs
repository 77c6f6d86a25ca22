//! Comparing a query's value with an `eval` block's expectations, with the
//! upstream harness's rules (float tolerance, series identity, order).

use std::fmt::Write as _;

use warden_tsdb::histogram::FloatHistogram;
use warden_tsdb::is_stale_nan;

use super::Histogram;
use super::script::Eval;
use super::series::SeqValue;
use crate::promql::Value;

/// Relative tolerance for float values.
pub const EPSILON: f64 = 1e-6;

/// Smallest positive normal f64.
const MIN_NORMAL: f64 = f64::MIN_POSITIVE;

/// Whether two floats count as equal in a test: bit-identical, both NaN
/// (any payload), or within relative [`EPSILON`]; the staleness marker only
/// equals itself, and a zero only equals (almost) zero.
pub fn float_eq(a: f64, b: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < EPSILON * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

/// The times at which expected values lie: value `i` is at `start + i*step`;
/// a value past `end` (or any value when there is no end) is an error.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Time of the first value (ms).
    pub start: i64,
    /// Last time a value may have (ms); `None` for a plain instant query.
    pub end: Option<i64>,
    /// Time between values (ms).
    pub step: i64,
}

/// Formats a float the way test scripts write them.
pub fn fmt_float(v: f64) -> String {
    if is_stale_nan(v) {
        "stale".into()
    } else if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn fmt_seq(v: &SeqValue) -> String {
    match v {
        SeqValue::Float(f) => fmt_float(*f),
        SeqValue::Omitted => "_".into(),
        SeqValue::Histogram(h) => h.h.to_string(),
    }
}

/// Most series and points shown when rendering a value or an expectation.
const SHOW_SERIES: usize = 12;
const SHOW_POINTS: usize = 12;

/// Renders what an `eval` block expects, for failure reports.
pub fn render_expected(ev: &Eval) -> String {
    let mut out = render_expected_value(ev);
    let notes = [
        (ev.warn, "at least one warning".to_string()),
        (ev.info, "at least one info".to_string()),
        (ev.no_warn, "no warnings".to_string()),
        (ev.no_info, "no infos".to_string()),
    ];
    for (on, text) in notes {
        if on {
            let _ = write!(out, "\nwith {text}");
        }
    }
    for m in &ev.expect_warn {
        let _ = write!(out, "\nwith a warning matching {m}");
    }
    for m in &ev.expect_info {
        let _ = write!(out, "\nwith an info matching {m}");
    }
    out
}

fn render_expected_value(ev: &Eval) -> String {
    if ev.expects_failure() {
        let mut s = "an error".to_string();
        for m in &ev.fail_match {
            let _ = write!(s, " matching {m}");
        }
        if let Some(m) = &ev.expected_fail_message {
            let _ = write!(s, " with message {m:?}");
        }
        if let Some(r) = &ev.expected_fail_regexp {
            let _ = write!(s, " matching pattern {:?}", r.as_str());
        }
        return s;
    }
    if let Some(v) = ev.scalar {
        return format!("scalar {}", fmt_float(v));
    }
    if ev.has_expected_string {
        return format!("string {:?}", ev.expected_string);
    }
    if ev.series.is_empty() {
        return "empty result".into();
    }
    let mut out = String::new();
    for (k, s) in ev.series.iter().enumerate() {
        if k == SHOW_SERIES {
            let _ = write!(out, "\n… {} more series", ev.series.len() - k);
            break;
        }
        if k > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{}", s.labels);
        for (j, v) in s.values.iter().enumerate() {
            if j == SHOW_POINTS {
                let _ = write!(out, " … ({} more)", s.values.len() - j);
                break;
            }
            let _ = write!(out, " {}", fmt_seq(v));
        }
    }
    out
}

/// Renders a query's value, for failure reports.
pub fn render_value(v: &Value) -> String {
    match v {
        Value::Scalar { v, .. } => format!("scalar {}", fmt_float(*v)),
        Value::String { v, .. } => format!("string {v:?}"),
        Value::Vector(samples) if samples.is_empty() => "empty vector".into(),
        Value::Matrix(series) if series.is_empty() => "empty matrix".into(),
        Value::Vector(samples) => {
            let mut out = String::new();
            for (k, s) in samples.iter().enumerate() {
                if k == SHOW_SERIES {
                    let _ = write!(out, "\n… {} more samples", samples.len() - k);
                    break;
                }
                if k > 0 {
                    out.push('\n');
                }
                match &s.h {
                    Some(h) => {
                        let _ = write!(out, "{} {h}", s.labels);
                    }
                    None => {
                        let _ = write!(out, "{} {}", s.labels, fmt_float(s.v));
                    }
                }
            }
            out
        }
        Value::Matrix(series) => {
            let mut out = String::new();
            for (k, s) in series.iter().enumerate() {
                if k == SHOW_SERIES {
                    let _ = write!(out, "\n… {} more series", series.len() - k);
                    break;
                }
                if k > 0 {
                    out.push('\n');
                }
                let _ = write!(out, "{}", s.labels);
                for (j, p) in s.samples.iter().enumerate() {
                    if j == SHOW_POINTS {
                        let _ = write!(out, " … ({} more)", s.samples.len() - j);
                        break;
                    }
                    let _ = write!(out, " {}@{}", fmt_float(p.v), p.t);
                }
                for (j, p) in s.histograms.iter().enumerate() {
                    if j == SHOW_POINTS {
                        let _ = write!(out, " … ({} more)", s.histograms.len() - j);
                        break;
                    }
                    let _ = write!(out, " {}@{}", p.h, p.t);
                }
            }
            out
        }
    }
}

/// Checks `value` against the block's expected result; the error says what
/// differs.
pub fn compare_result(ev: &Eval, value: &Value, window: Window) -> Result<(), String> {
    let expect_scalar = ev.scalar.is_some();
    match value {
        Value::Matrix(series) => {
            if ev.is_ordered() {
                return Err("expected ordered result, but query returned a matrix".into());
            }
            if expect_scalar {
                return Err("expected scalar result, but got matrix".into());
            }
            assert_sorted(series)?;
            let mut seen = vec![false; ev.series.len()];
            for s in series {
                let Some(k) = ev.series.iter().position(|e| e.labels == s.labels) else {
                    return Err(format!("unexpected metric {} in result", s.labels));
                };
                seen[k] = true;
                let exp = &ev.series[k];
                let mut expected: Vec<(i64, f64)> = Vec::new();
                let mut expected_h: Vec<(i64, &Histogram)> = Vec::new();
                for (i, v) in exp.values.iter().enumerate() {
                    let t = (i as i64)
                        .checked_mul(window.step)
                        .and_then(|o| o.checked_add(window.start));
                    let past_end = match (t, window.end) {
                        (Some(t), Some(end)) => t > end,
                        _ => true,
                    };
                    if past_end {
                        return Err(format!(
                            "expected {} points for {}, but query time range cannot return this many points",
                            exp.values.len(),
                            exp.labels
                        ));
                    }
                    match v {
                        SeqValue::Float(f) => expected.push((t.unwrap_or(0), *f)),
                        SeqValue::Omitted => {}
                        SeqValue::Histogram(h) => expected_h.push((t.unwrap_or(0), h)),
                    }
                }
                if expected.len() != s.samples.len() || expected_h.len() != s.histograms.len() {
                    return Err(format!(
                        "expected {} float points and {} histogram points for {}, but got {} float points and {} histogram points",
                        expected.len(),
                        expected_h.len(),
                        exp.labels,
                        s.samples.len(),
                        s.histograms.len()
                    ));
                }
                for (i, ((et, ev_), p)) in expected.iter().zip(&s.samples).enumerate() {
                    if *et != p.t {
                        return Err(format!(
                            "expected float value at index {i} for {} to have timestamp {et}, but it had timestamp {}",
                            exp.labels, p.t
                        ));
                    }
                    if !float_eq(p.v, *ev_) {
                        return Err(format!(
                            "expected float value at index {i} (t={}) for {} to be {}, but got {}",
                            p.t,
                            exp.labels,
                            fmt_float(*ev_),
                            fmt_float(p.v)
                        ));
                    }
                }
                for (i, ((et, eh), p)) in expected_h.iter().zip(&s.histograms).enumerate() {
                    if *et != p.t {
                        return Err(format!(
                            "expected histogram value at index {i} for {} to have timestamp {et}, but it had timestamp {}",
                            exp.labels, p.t
                        ));
                    }
                    if !histogram_eq(eh, &p.h) {
                        return Err(format!(
                            "expected histogram value at index {i} (t={}) for {} to be {}, but got {}",
                            p.t, exp.labels, eh.h, p.h
                        ));
                    }
                }
            }
            missing(ev, &seen)
        }
        Value::Vector(samples) => {
            if expect_scalar {
                return Err("expected scalar result, but got vector".into());
            }
            let mut seen = vec![false; ev.series.len()];
            for (pos, s) in samples.iter().enumerate() {
                let Some(k) = ev.series.iter().position(|e| e.labels == s.labels) else {
                    return Err(format!(
                        "unexpected metric {} in result, has value {}",
                        s.labels,
                        fmt_float(s.v)
                    ));
                };
                let exp = &ev.series[k];
                if ev.is_ordered() && exp.pos != pos + 1 {
                    return Err(format!(
                        "expected metric {} at position {} but was at {}",
                        s.labels,
                        exp.pos,
                        pos + 1
                    ));
                }
                let want = match (exp.values.first(), &s.h) {
                    (Some(SeqValue::Float(f)), None) => *f,
                    // Upstream compares an omitted position as the value 0.
                    (Some(SeqValue::Omitted), None) => 0.0,
                    (Some(SeqValue::Histogram(want)), Some(got)) => {
                        if !histogram_eq(want, got) {
                            return Err(format!(
                                "expected {} for {} but got {got}",
                                want.h, s.labels
                            ));
                        }
                        seen[k] = true;
                        continue;
                    }
                    (Some(SeqValue::Histogram(_)), None) => {
                        return Err(format!(
                            "expected histogram for {} but got float value {}",
                            s.labels,
                            fmt_float(s.v)
                        ));
                    }
                    (Some(_), Some(got)) => {
                        return Err(format!(
                            "expected float value for {} but got histogram {got}",
                            s.labels
                        ));
                    }
                    (None, _) => return Err(format!("no expected value given for {}", s.labels)),
                };
                if !float_eq(want, s.v) {
                    return Err(format!(
                        "expected {} for {} but got {}",
                        fmt_float(want),
                        s.labels,
                        fmt_float(s.v)
                    ));
                }
                seen[k] = true;
            }
            missing(ev, &seen)
        }
        Value::Scalar { v, .. } => {
            let Some(want) = ev.scalar else {
                return Err(format!(
                    "expected vector or matrix result, but got scalar {}",
                    fmt_float(*v)
                ));
            };
            if !float_eq(want, *v) {
                return Err(format!(
                    "expected scalar {} but got {}",
                    fmt_float(want),
                    fmt_float(*v)
                ));
            }
            Ok(())
        }
        Value::String { v, .. } => {
            if ev.expected_string != *v {
                return Err(format!(
                    "expected string {:?} but got {v:?}",
                    ev.expected_string
                ));
            }
            Ok(())
        }
    }
}

/// Upstream's histogram comparison: both sides compacted, then schema,
/// zero threshold, custom bounds and bucket layout exactly, counts and sum
/// by the float rule; the counter reset hint only when the script states it.
pub fn histogram_eq(want: &Histogram, got: &FloatHistogram) -> bool {
    let (mut a, mut b) = (want.h.clone(), got.clone());
    a.compact(0);
    b.compact(0);
    let floats =
        |x: &[f64], y: &[f64]| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| float_eq(*p, *q));
    a.schema == b.schema
        && a.zero_threshold == b.zero_threshold
        && (!a.uses_custom_buckets() || a.custom_values == b.custom_values)
        && a.positive_spans == b.positive_spans
        && a.negative_spans == b.negative_spans
        && float_eq(a.count, b.count)
        && float_eq(a.sum, b.sum)
        && float_eq(a.zero_count, b.zero_count)
        && floats(&a.positive_buckets, &b.positive_buckets)
        && floats(&a.negative_buckets, &b.negative_buckets)
        && (!want.hint_given || a.counter_reset_hint == b.counter_reset_hint)
}

fn missing(ev: &Eval, seen: &[bool]) -> Result<(), String> {
    match ev.series.iter().zip(seen).find(|(_, s)| !**s) {
        Some((e, _)) => Err(format!("expected metric {} not found", e.labels)),
        None => Ok(()),
    }
}

/// Matrix series must come sorted by label set.
pub fn assert_sorted(series: &[warden_tsdb::Series]) -> Result<(), String> {
    for (i, w) in series.windows(2).enumerate() {
        if w[0].labels > w[1].labels {
            return Err(format!(
                "matrix results should always be sorted by labels, but series at index {} ({}) sorts before series at index {i} ({})",
                i + 1,
                w[1].labels,
                w[0].labels
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::InstantSample;
    use crate::promql::promqltest::script::{Command, parse_script};
    use warden_tsdb::{Labels, STALE_NAN, Sample, Series};

    fn eval(src: &str) -> Eval {
        match parse_script(src).unwrap().commands.into_iter().next() {
            Some(Command::Eval(e)) => *e,
            _ => panic!("no eval"),
        }
    }

    fn labels(s: &str) -> Labels {
        crate::promql::promqltest::series::parse_labels_prefix(s)
            .unwrap()
            .0
    }

    fn vector(items: &[(&str, f64)]) -> Value {
        Value::Vector(
            items
                .iter()
                .map(|(l, v)| InstantSample {
                    labels: labels(l),
                    t: 0,
                    v: *v,
                    h: None,
                })
                .collect(),
        )
    }

    fn matrix(items: &[(&str, &[(i64, f64)])]) -> Value {
        Value::Matrix(
            items
                .iter()
                .map(|(l, pts)| {
                    Series::new(
                        labels(l),
                        pts.iter().map(|&(t, v)| Sample { t, v }).collect(),
                    )
                })
                .collect(),
        )
    }

    const INSTANT: Window = Window {
        start: 0,
        end: None,
        step: 0,
    };

    #[test]
    fn vectors_unordered_and_ordered() {
        let ev = eval("eval instant at 0 x\n  m{a=\"1\"} 1\n  m{a=\"2\"} 2\n");
        let v = vector(&[("m{a=\"2\"}", 2.0), ("m{a=\"1\"}", 1.0)]);
        assert_eq!(compare_result(&ev, &v, INSTANT), Ok(()));
        let ordered =
            eval("eval instant at 0 x\n  expect ordered\n  m{a=\"1\"} 1\n  m{a=\"2\"} 2\n");
        assert!(
            compare_result(&ordered, &v, INSTANT)
                .unwrap_err()
                .contains("position")
        );
        let wrong = vector(&[("m{a=\"2\"}", 2.1), ("m{a=\"1\"}", 1.0)]);
        assert!(
            compare_result(&ev, &wrong, INSTANT)
                .unwrap_err()
                .contains("expected 2")
        );
        let missing = vector(&[("m{a=\"1\"}", 1.0)]);
        assert!(
            compare_result(&ev, &missing, INSTANT)
                .unwrap_err()
                .contains("not found")
        );
        let extra = vector(&[("m{a=\"1\"}", 1.0), ("m{a=\"2\"}", 2.0), ("m", 3.0)]);
        assert!(
            compare_result(&ev, &extra, INSTANT)
                .unwrap_err()
                .contains("unexpected metric")
        );
        // The metric name is part of the identity.
        let renamed = vector(&[("{a=\"1\"}", 1.0), ("m{a=\"2\"}", 2.0)]);
        assert!(compare_result(&ev, &renamed, INSTANT).is_err());
    }

    #[test]
    fn empty_and_scalar_expectations() {
        let empty = eval("eval instant at 0 x\n");
        assert_eq!(compare_result(&empty, &vector(&[]), INSTANT), Ok(()));
        assert!(compare_result(&empty, &Value::Scalar { t: 0, v: 1.0 }, INSTANT).is_err());
        let scalar = eval("eval instant at 0 x\n  NaN\n");
        assert_eq!(
            compare_result(&scalar, &Value::Scalar { t: 0, v: f64::NAN }, INSTANT),
            Ok(())
        );
        assert!(compare_result(&scalar, &vector(&[("{}", f64::NAN)]), INSTANT).is_err());
        let string = eval("eval instant at 0 x\n  expect string `Foo`\n");
        let got = Value::String {
            t: 0,
            v: "Foo".into(),
        };
        assert_eq!(compare_result(&string, &got, INSTANT), Ok(()));
        assert!(
            compare_result(
                &string,
                &Value::String {
                    t: 0,
                    v: "foo".into()
                },
                INSTANT
            )
            .is_err()
        );
    }

    #[test]
    fn matrices() {
        let ev =
            eval("eval range from 0 to 2m step 1m x\n  m{a=\"1\"} 1 _ 3\n  m{a=\"2\"} stale 2x1\n");
        let w = Window {
            start: 0,
            end: Some(120_000),
            step: 60_000,
        };
        let good = matrix(&[
            ("m{a=\"1\"}", &[(0, 1.0), (120_000, 3.0)]),
            (
                "m{a=\"2\"}",
                &[(0, STALE_NAN), (60_000, 2.0), (120_000, 2.0)],
            ),
        ]);
        assert_eq!(compare_result(&ev, &good, w), Ok(()));
        let unsorted = matrix(&[
            (
                "m{a=\"2\"}",
                &[(0, STALE_NAN), (60_000, 2.0), (120_000, 2.0)],
            ),
            ("m{a=\"1\"}", &[(0, 1.0), (120_000, 3.0)]),
        ]);
        assert!(
            compare_result(&ev, &unsorted, w)
                .unwrap_err()
                .contains("sorted")
        );
        let shifted = matrix(&[
            ("m{a=\"1\"}", &[(0, 1.0), (60_000, 3.0)]),
            (
                "m{a=\"2\"}",
                &[(0, STALE_NAN), (60_000, 2.0), (120_000, 2.0)],
            ),
        ]);
        assert!(
            compare_result(&ev, &shifted, w)
                .unwrap_err()
                .contains("timestamp")
        );
        let nan_not_stale = matrix(&[
            ("m{a=\"1\"}", &[(0, 1.0), (120_000, 3.0)]),
            (
                "m{a=\"2\"}",
                &[(0, f64::NAN), (60_000, 2.0), (120_000, 2.0)],
            ),
        ]);
        assert!(compare_result(&ev, &nan_not_stale, w).is_err());
        let too_many = eval("eval range from 0 to 1m step 1m x\n  m 1 2 3\n");
        let got = matrix(&[("m", &[(0, 1.0), (60_000, 2.0)])]);
        let w1 = Window {
            start: 0,
            end: Some(60_000),
            step: 60_000,
        };
        assert!(
            compare_result(&too_many, &got, w1)
                .unwrap_err()
                .contains("cannot return")
        );
        let ordered = eval("eval instant at 0 x\n  expect ordered\n");
        assert!(compare_result(&ordered, &matrix(&[]), INSTANT).is_err());
    }

    #[test]
    fn renders_for_reports() {
        let ev = eval("eval instant at 0 x\n  m{a=\"1\"} 1\n");
        assert_eq!(render_expected(&ev), "m{a=\"1\"} 1");
        assert_eq!(render_value(&vector(&[("m", f64::INFINITY)])), "m +Inf");
        let fail = eval("eval instant at 0 x\n  expect fail msg: boom\n");
        assert_eq!(render_expected(&fail), "an error matching message \"boom\"");
    }

    #[test]
    fn float_rule() {
        assert!(float_eq(1.0, 1.0));
        assert!(float_eq(f64::NAN, -f64::NAN));
        assert!(float_eq(f64::from_bits(0x7ff8_0000_0000_0001), f64::NAN));
        assert!(float_eq(1.0, 1.0 + 1e-7));
        assert!(!float_eq(1.0, 1.0 + 1e-5));
        assert!(float_eq(1e300, 1e300 * (1.0 + 1e-7)));
        assert!(!float_eq(0.0, 1e-300));
        assert!(float_eq(0.0, -0.0));
        assert!(float_eq(0.0, 1e-320));
        assert!(float_eq(STALE_NAN, STALE_NAN));
        assert!(!float_eq(STALE_NAN, f64::NAN));
        assert!(!float_eq(f64::NAN, STALE_NAN));
        assert!(float_eq(f64::INFINITY, f64::INFINITY));
        assert!(!float_eq(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!float_eq(f64::INFINITY, f64::MAX));
        assert!(!float_eq(f64::NAN, 1.0));
        assert!(float_eq(f64::MAX, f64::MAX));
        assert!(!float_eq(-1.0, 1.0));
    }

    #[test]
    fn float_formatting() {
        assert_eq!(fmt_float(STALE_NAN), "stale");
        assert_eq!(fmt_float(f64::INFINITY), "+Inf");
        assert_eq!(fmt_float(2.5), "2.5");
    }
}
