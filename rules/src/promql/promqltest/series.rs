//! Series descriptions: `metric{a="x"} 0+10x5 _ stale {{…}}`, used for data
//! in `load` blocks and for expected results in `eval` blocks.

use warden_tsdb::{Labels, LabelsBuilder, STALE_NAN};

use super::histogram::{Histogram, parse_histogram};
use super::number::parse_number_prefix;
use super::strings::{preview, read_quoted};

/// Most positions one value sequence may expand to; keeps a typo such as
/// `0+1x100000000000` from exhausting memory.
pub const MAX_POSITIONS: usize = 1_000_000;

/// One position of an expanded value sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum SeqValue {
    /// A float sample (possibly the staleness marker).
    Float(f64),
    /// No sample at this position (`_`).
    Omitted,
    /// A native-histogram sample.
    Histogram(Box<Histogram>),
}

/// A parsed `<labels> <values>` line.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDesc {
    /// The label set (metric name as `__name__`).
    pub labels: Labels,
    /// The expanded positions.
    pub values: Vec<SeqValue>,
    /// Start-timestamp offsets from a preceding `@st` line, one per
    /// position (`None`: that sample has no start timestamp); empty when
    /// the series has no `@st` line.
    pub start_offsets: Vec<Option<i64>>,
}

/// Parses a whole series description line.
pub fn parse_series_desc(line: &str) -> Result<SeriesDesc, String> {
    let (labels, used) = parse_labels_prefix(line)?;
    let values = parse_values(&line[used..])?;
    Ok(SeriesDesc {
        labels,
        values,
        start_offsets: Vec::new(),
    })
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Reads `metric`, `metric{a="x",…}`, `{…}` or `{"utf8.name", a="x"}` at
/// the start of `s`; returns the labels and the bytes consumed.
pub fn parse_labels_prefix(s: &str) -> Result<(Labels, usize), String> {
    let mut b = LabelsBuilder::new();
    let mut i = 0;
    let mut name: Option<String> = None;
    let first = s.chars().next();
    if first.is_some_and(|c| is_name_start(c) || c == ':') {
        let end = s
            .find(|c: char| !(is_name_char(c) || c == ':'))
            .unwrap_or(s.len());
        name = Some(s[..end].to_string());
        i = end;
    } else if first != Some('{') {
        return Err(format!(
            "expected a metric name or '{{' at {:?}",
            preview(s)
        ));
    }
    let after_ws = i + (s.len() - i - s[i..].trim_start().len());
    let rest = &s[after_ws..];
    if rest.starts_with('{') && !rest.starts_with("{{") {
        i = after_ws + 1;
        loop {
            i = skip_ws(s, i);
            let Some(c) = s[i..].chars().next() else {
                return Err("unterminated label set".into());
            };
            if c == '}' {
                i += 1;
                break;
            }
            let (lname, quoted) = if c == '"' || c == '\'' || c == '`' {
                let (v, used) = read_quoted(&s[i..])?;
                i += used;
                (v, true)
            } else if is_name_start(c) {
                let end = s[i..]
                    .find(|c: char| !is_name_char(c))
                    .map_or(s.len(), |e| i + e);
                let n = s[i..end].to_string();
                i = end;
                (n, false)
            } else {
                return Err(format!("unexpected {:?} in label set", preview(&s[i..])));
            };
            i = skip_ws(s, i);
            let next = s[i..].chars().next();
            if next == Some('=') && !s[i..].starts_with("=~") {
                i = skip_ws(s, i + 1);
                let (v, used) = read_quoted(&s[i..])?;
                i += used;
                b.push(lname, v);
            } else if quoted && matches!(next, Some(',' | '}')) {
                if name.is_some() {
                    return Err(format!("metric name given twice ({lname:?})"));
                }
                name = Some(lname);
            } else {
                return Err(format!(
                    "expected '=' after label name {lname:?} (series descriptions allow only '=')"
                ));
            }
            i = skip_ws(s, i);
            match s[i..].chars().next() {
                Some(',') => i += 1,
                Some('}') => {}
                _ => return Err(format!("expected ',' or '}}' at {:?}", preview(&s[i..]))),
            }
        }
    }
    if let Some(n) = name {
        if b.clone().build().is_ok_and(|l| l.metric_name().is_some()) {
            return Err("metric name given twice".into());
        }
        b.push("__name__", n);
    }
    let labels = b.build().map_err(|e| e.to_string())?;
    Ok((labels, i))
}

fn skip_ws(s: &str, i: usize) -> usize {
    s.len() - s[i..].trim_start().len()
}

/// Expands a value sequence (everything after the labels).
pub fn parse_values(s: &str) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let used = if rest.starts_with("{{") {
            parse_histogram_item(rest, &mut out)?
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            parse_float_item(&rest[..end], &mut out)?;
            end
        };
        if out.len() > MAX_POSITIONS {
            return Err(format!(
                "value sequence longer than {MAX_POSITIONS} positions"
            ));
        }
        rest = rest[used..].trim_start();
    }
    Ok(out)
}

/// `{{A}}`, `{{A}}xN`, `{{A}}+{{B}}xN`, `{{A}}-{{B}}xN`.
fn parse_histogram_item(s: &str, out: &mut Vec<SeqValue>) -> Result<usize, String> {
    let (base, mut i) = parse_histogram(s)?;
    let op = s[i..].chars().next();
    let delta = if matches!(op, Some('+' | '-')) && s[i + 1..].starts_with("{{") {
        let (d, used) = parse_histogram(&s[i + 1..])?;
        i += 1 + used;
        Some((d, op == Some('-')))
    } else {
        None
    };
    let times = if s[i..].starts_with('x') {
        let (n, used) = parse_times(&s[i + 1..])?;
        i += 1 + used;
        Some(n)
    } else {
        None
    };
    match (delta, times) {
        (None, None) => out.push(SeqValue::Histogram(Box::new(base))),
        (None, Some(n)) => {
            for _ in 0..=n {
                out.push(SeqValue::Histogram(Box::new(base.clone())));
            }
        }
        (Some((d, sign)), Some(n)) => {
            let mut cur = base;
            for k in 0..=n {
                if k > 0 {
                    cur = cur.combine(&d, sign)?;
                }
                out.push(SeqValue::Histogram(Box::new(cur.clone())));
            }
        }
        (Some(_), None) => return Err("histogram increment without 'xN'".into()),
    }
    if !s[i..].is_empty() && !s[i..].starts_with(char::is_whitespace) {
        return Err(format!("unexpected {:?} after histogram", preview(&s[i..])));
    }
    Ok(i)
}

/// Reads the repetition count after `x`; it must span the rest of the item.
fn parse_times(s: &str) -> Result<(usize, usize), String> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: usize = s[..end]
        .parse()
        .map_err(|_| format!("invalid repetition count {:?}", preview(s)))?;
    if n > MAX_POSITIONS {
        return Err(format!(
            "repetition count {n} is larger than {MAX_POSITIONS}"
        ));
    }
    Ok((n, end))
}

/// One whitespace-free float item: `v`, `a+bxN`, `a-bxN`, `axN`, `_`, `_xN`, `stale`.
fn parse_float_item(item: &str, out: &mut Vec<SeqValue>) -> Result<(), String> {
    let bad = || format!("invalid value {item:?} in series description");
    if item == "_" {
        out.push(SeqValue::Omitted);
        return Ok(());
    }
    if let Some(n) = item.strip_prefix("_x") {
        let (n, used) = parse_times(n)?;
        if used + 2 != item.len() {
            return Err(bad());
        }
        out.extend(std::iter::repeat_n(SeqValue::Omitted, n));
        return Ok(());
    }
    if item == "stale" {
        out.push(SeqValue::Float(STALE_NAN));
        return Ok(());
    }
    let (a, mut i) = parse_number_prefix(item).ok_or_else(bad)?;
    if i == item.len() {
        out.push(SeqValue::Float(a));
        return Ok(());
    }
    let mut step = 0.0;
    let op = item.as_bytes()[i];
    if op == b'+' || op == b'-' {
        let (b, used) = parse_number_prefix(&item[i + 1..]).ok_or_else(bad)?;
        step = if op == b'-' { -b } else { b };
        i += 1 + used;
    }
    let Some(times) = item[i..].strip_prefix('x') else {
        return Err(bad());
    };
    let (n, used) = parse_times(times)?;
    if i + 1 + used != item.len() {
        return Err(bad());
    }
    // Repeated addition, exactly as upstream expands it.
    let mut v = a;
    for _ in 0..=n {
        out.push(SeqValue::Float(v));
        v += step;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_tsdb::is_stale_nan;

    fn floats(s: &str) -> Vec<Option<f64>> {
        parse_values(s)
            .unwrap()
            .into_iter()
            .map(|v| match v {
                SeqValue::Float(f) => Some(f),
                SeqValue::Omitted => None,
                SeqValue::Histogram(_) => panic!("histogram"),
            })
            .collect()
    }

    #[test]
    fn expansion() {
        assert_eq!(
            floats("0+10x3"),
            [Some(0.0), Some(10.0), Some(20.0), Some(30.0)]
        );
        assert_eq!(floats("5-2x2"), [Some(5.0), Some(3.0), Some(1.0)]);
        assert_eq!(floats("7x2"), [Some(7.0); 3]);
        assert_eq!(floats("1 _ 2"), [Some(1.0), None, Some(2.0)]);
        assert_eq!(floats("_x3 1"), [None, None, None, Some(1.0)]);
        assert_eq!(floats("-1+-1x1"), [Some(-1.0), Some(-2.0)]);
        assert_eq!(
            floats("1e3 .5 -2.5E-1"),
            [Some(1e3), Some(0.5), Some(-0.25)]
        );
        assert_eq!(
            floats("Inf -Inf"),
            [Some(f64::INFINITY), Some(f64::NEG_INFINITY)]
        );
        assert_eq!(floats("Infx1"), [Some(f64::INFINITY); 2]);
        assert!(floats("NaN")[0].unwrap().is_nan());
        assert!(floats("")[..].is_empty());
    }

    #[test]
    fn repeated_addition_not_multiplication() {
        let v = floats("0+0.1x3");
        let mut acc = 0.0;
        for x in &v {
            assert_eq!(x.unwrap().to_bits(), f64::to_bits(acc));
            acc += 0.1;
        }
    }

    #[test]
    fn stale_is_the_marker() {
        let v = parse_values("1 stale").unwrap();
        assert!(matches!(v[1], SeqValue::Float(f) if is_stale_nan(f)));
    }

    #[test]
    fn histograms_in_sequences() {
        let v =
            parse_values("{{schema:0 sum:1 count:1}}x2 3 {{}}+{{sum:2 count:1}}x1 {{}}").unwrap();
        assert_eq!(v.len(), 3 + 1 + 2 + 1);
        match &v[5] {
            SeqValue::Histogram(h) => assert_eq!((h.h.sum, h.h.count), (2.0, 1.0)),
            other => panic!("{other:?}"),
        }
        assert!(parse_values("{{}}+{{}}").is_err());
        assert!(parse_values("{{}}y").is_err());
    }

    #[test]
    fn bad_values() {
        for bad in [
            "1x",
            "1+",
            "1+2",
            "x3",
            "0x1F",
            "1xx",
            "_x",
            "_y",
            "stale2",
            "1-2xa",
            "1x99999999999",
        ] {
            assert!(parse_values(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels() {
        let d = parse_series_desc(r#"metric{a="x y", b='q\'z',} 1"#).unwrap();
        assert_eq!(d.labels.metric_name(), Some("metric"));
        assert_eq!(d.labels.get("a"), Some("x y"));
        assert_eq!(d.labels.get("b"), Some("q'z"));
        let d = parse_series_desc(r#"{} 1 2"#).unwrap();
        assert!(d.labels.is_empty());
        assert_eq!(d.values.len(), 2);
        let d = parse_series_desc(r#"{"my.metric", "ü.label"="v"} 1"#).unwrap();
        assert_eq!(d.labels.metric_name(), Some("my.metric"));
        assert_eq!(d.labels.get("ü.label"), Some("v"));
        let d = parse_series_desc("a:b_c {x=\"1\"} 1").unwrap();
        assert_eq!(d.labels.metric_name(), Some("a:b_c"));
        let d = parse_series_desc("m {{schema:0}}").unwrap();
        assert_eq!(d.labels.len(), 1);
        assert_eq!(d.values.len(), 1);
    }

    #[test]
    fn bad_labels() {
        for bad in [
            r#"m{a=~"x"} 1"#,
            r#"m{a="x" 1"#,
            r#"m{a="x",a="y"} 1"#,
            r#"m{"n"} 1"#,
            r#"1 2"#,
            r#"m{a} 1"#,
            r#"m{a="x} 1"#,
        ] {
            assert!(parse_series_desc(bad).is_err(), "{bad}");
        }
    }
}
