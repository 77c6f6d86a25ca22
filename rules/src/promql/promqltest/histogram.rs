//! The native-histogram notation `{{schema:0 sum:1 count:2 buckets:[1 1]}}`.
//!
//! warden's store holds floats only, so evaluations that involve these
//! samples are skipped; the notation is still parsed completely so that a
//! file using it is not a parse error and a malformed one is reported.

use warden_tsdb::histogram::{
    CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram, Span, is_exponential_schema,
};

use super::number::parse_number_prefix;

/// One histogram as written in a test script.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    /// The histogram: one span per side, as upstream's parser builds it.
    pub h: FloatHistogram,
    /// Whether the script stated `counter_reset_hint`: only then is the
    /// hint compared with a result.
    pub hint_given: bool,
}

/// Reads a `{{…}}` histogram at the start of `s`; returns it and the number
/// of bytes consumed.
pub fn parse_histogram(s: &str) -> Result<(Histogram, usize), String> {
    let body_start = 2;
    if !s.starts_with("{{") {
        return Err("expected '{{'".into());
    }
    let end = s.find("}}").ok_or("histogram without closing '}}'")?;
    let body = &s[body_start..end];
    let mut h = Histogram::default();
    let (mut offset, mut n_offset) = (0i32, 0i32);
    let (mut buckets, mut n_buckets) = (Vec::new(), Vec::new());
    let mut seen: Vec<&str> = Vec::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let colon = rest
            .find(':')
            .ok_or_else(|| format!("expected key:value in histogram, got {rest:?}"))?;
        let key = &rest[..colon];
        if seen.contains(&key) {
            return Err(format!("duplicate histogram key {key:?}"));
        }
        seen.push(key);
        rest = &rest[colon + 1..];
        let used = match key {
            "schema" | "offset" | "n_offset" => {
                let (v, used) = parse_int_prefix(rest)?;
                match key {
                    "schema" => {
                        if !is_exponential_schema(v) && v != CUSTOM_BUCKETS_SCHEMA {
                            return Err(format!("invalid histogram schema {v}"));
                        }
                        h.h.schema = v
                    }
                    "offset" => offset = v,
                    _ => n_offset = v,
                }
                used
            }
            "sum" | "count" | "z_bucket" | "z_bucket_w" => {
                let (v, used) = parse_number_prefix(rest)
                    .ok_or_else(|| format!("expected a number after {key}:"))?;
                match key {
                    "sum" => h.h.sum = v,
                    "count" => h.h.count = v,
                    "z_bucket" => h.h.zero_count = v,
                    _ => h.h.zero_threshold = v,
                }
                used
            }
            "buckets" | "n_buckets" | "custom_values" => {
                let (list, used) = parse_list(rest)?;
                match key {
                    "buckets" => buckets = list,
                    "n_buckets" => n_buckets = list,
                    _ => h.h.custom_values = list,
                }
                used
            }
            "counter_reset_hint" => {
                let word_end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
                h.h.counter_reset_hint = match &rest[..word_end] {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::CounterReset,
                    "not_reset" => CounterResetHint::NotCounterReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => return Err(format!("invalid counter_reset_hint {other:?}")),
                };
                h.hint_given = true;
                word_end
            }
            other => return Err(format!("unknown histogram key {other:?}")),
        };
        rest = &rest[used..];
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            return Err(format!("unexpected {rest:?} in histogram"));
        }
        rest = rest.trim_start();
    }
    if h.h.schema == CUSTOM_BUCKETS_SCHEMA && !h.h.custom_values.windows(2).all(|w| w[0] < w[1]) {
        return Err("custom_values must be strictly ascending".into());
    }
    let span = |offset, len: usize| {
        (len > 0)
            .then(|| Span {
                offset,
                length: u32::try_from(len).unwrap_or(u32::MAX),
            })
            .into_iter()
            .collect()
    };
    h.h.positive_spans = span(offset, buckets.len());
    h.h.negative_spans = span(n_offset, n_buckets.len());
    h.h.positive_buckets = buckets;
    h.h.negative_buckets = n_buckets;
    Ok((h, end + 2))
}

fn parse_int_prefix(s: &str) -> Result<(i32, usize), String> {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(s.len(), |(i, _)| i);
    let v = s[..end]
        .parse()
        .map_err(|_| format!("expected an integer in histogram at {:?}", &s[..end]))?;
    Ok((v, end))
}

fn parse_list(s: &str) -> Result<(Vec<f64>, usize), String> {
    if !s.starts_with('[') {
        return Err("expected '[' in histogram".into());
    }
    let close = s.find(']').ok_or("expected ']' in histogram")?;
    let mut out = Vec::new();
    for item in s[1..close].split_whitespace() {
        match parse_number_prefix(item) {
            Some((v, used)) if used == item.len() => out.push(v),
            _ => return Err(format!("invalid number {item:?} in histogram bucket list")),
        }
    }
    Ok((out, close + 1))
}

impl Histogram {
    /// `self + other` or, with `negate`, `self - other`, as the
    /// `{{A}}+{{B}}xN` notation expands (upstream adds with the engine's
    /// histogram addition, so the layouts reconcile the same way).
    pub fn combine(&self, other: &Histogram, negate: bool) -> Result<Histogram, String> {
        if self.h.schema > other.h.schema {
            return Err(format!(
                "error combining histograms: cannot merge from schema {} to {}",
                other.h.schema, self.h.schema
            ));
        }
        let mut h = self.h.clone();
        let done = if negate {
            h.sub(&other.h)
        } else {
            h.add(&other.h)
        };
        done.map_err(|e| format!("error combining histograms: {e}"))?;
        Ok(Histogram {
            h,
            hint_given: self.hint_given,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let s = "{{schema:1 sum:-0.3 count:3.1 z_bucket:7.1 z_bucket_w:0.05 buckets:[5.1 10 7] offset:-3 n_buckets:[4.1 5] n_offset:-5 counter_reset_hint:gauge}} 1";
        let (h, used) = parse_histogram(s).unwrap();
        assert_eq!(&s[used..], " 1");
        assert_eq!(h.h.schema, 1);
        assert_eq!(h.h.sum, -0.3);
        assert_eq!(h.h.positive_buckets, vec![5.1, 10.0, 7.0]);
        assert_eq!(
            h.h.positive_spans,
            vec![Span {
                offset: -3,
                length: 3
            }]
        );
        assert_eq!(
            h.h.negative_spans,
            vec![Span {
                offset: -5,
                length: 2
            }]
        );
        assert_eq!(h.h.counter_reset_hint, CounterResetHint::Gauge);
        assert!(h.hint_given);
        assert_eq!(parse_histogram("{{}}").unwrap().0, Histogram::default());
    }

    #[test]
    fn refuses_bad_histograms() {
        for bad in [
            "{{schema:1",
            "{{foo:1}}",
            "{{sum:1 sum:2}}",
            "{{schema:9}}",
            "{{buckets:[1 x]}}",
            "{{counter_reset_hint:maybe}}",
            "{{sum:}}",
        ] {
            assert!(parse_histogram(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addition_aligns_buckets() {
        let (a, _) = parse_histogram("{{schema:0 sum:1 count:2 buckets:[1 1] offset:1}}").unwrap();
        let (b, _) = parse_histogram("{{schema:0 sum:1 count:1 buckets:[1]}}").unwrap();
        let c = a.combine(&b, false).unwrap();
        assert_eq!(c.h.positive_buckets, vec![1.0, 1.0, 1.0]);
        assert_eq!(
            c.h.positive_spans,
            vec![Span {
                offset: 0,
                length: 3
            }]
        );
        assert_eq!(c.h.count, 3.0);
        let d = c.combine(&b, true).unwrap();
        assert_eq!(d.h.positive_buckets, vec![0.0, 1.0, 1.0]);
    }
}
