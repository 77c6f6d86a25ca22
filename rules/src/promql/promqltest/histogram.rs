//! The native-histogram notation `{{schema:0 sum:1 count:2 buckets:[1 1]}}`.
//!
//! warden's store holds floats only, so evaluations that involve these
//! samples are skipped; the notation is still parsed completely so that a
//! file using it is not a parse error and a malformed one is reported.

use super::number::parse_number_prefix;

/// How a histogram relates to the previous one of its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterResetHint {
    /// Nothing is known.
    Unknown,
    /// A counter reset happened.
    Reset,
    /// No counter reset happened.
    NotReset,
    /// The histogram is a gauge.
    Gauge,
}

/// One float histogram as written in a test script.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    /// Bucket schema (-4…8 exponential, -53 custom buckets).
    pub schema: i32,
    /// Sum of observations.
    pub sum: f64,
    /// Count of observations.
    pub count: f64,
    /// Count in the zero bucket.
    pub zero_count: f64,
    /// Width of the zero bucket.
    pub zero_threshold: f64,
    /// Positive bucket counts, one contiguous span starting at `offset`.
    pub buckets: Vec<f64>,
    /// Index of the first positive bucket.
    pub offset: i32,
    /// Negative bucket counts, one contiguous span starting at `n_offset`.
    pub n_buckets: Vec<f64>,
    /// Index of the first negative bucket.
    pub n_offset: i32,
    /// Upper bounds of custom buckets (schema -53).
    pub custom_values: Vec<f64>,
    /// The hint, when the script states one.
    pub counter_reset_hint: Option<CounterResetHint>,
}

/// Schema of native histograms with custom bucket bounds.
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

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
                        if !(-4..=8).contains(&v) && v != CUSTOM_BUCKETS_SCHEMA {
                            return Err(format!("invalid histogram schema {v}"));
                        }
                        h.schema = v
                    }
                    "offset" => h.offset = v,
                    _ => h.n_offset = v,
                }
                used
            }
            "sum" | "count" | "z_bucket" | "z_bucket_w" => {
                let (v, used) = parse_number_prefix(rest)
                    .ok_or_else(|| format!("expected a number after {key}:"))?;
                match key {
                    "sum" => h.sum = v,
                    "count" => h.count = v,
                    "z_bucket" => h.zero_count = v,
                    _ => h.zero_threshold = v,
                }
                used
            }
            "buckets" | "n_buckets" | "custom_values" => {
                let (list, used) = parse_list(rest)?;
                match key {
                    "buckets" => h.buckets = list,
                    "n_buckets" => h.n_buckets = list,
                    _ => h.custom_values = list,
                }
                used
            }
            "counter_reset_hint" => {
                let word_end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
                h.counter_reset_hint = Some(match &rest[..word_end] {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::Reset,
                    "not_reset" => CounterResetHint::NotReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => return Err(format!("invalid counter_reset_hint {other:?}")),
                });
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
    if h.schema == CUSTOM_BUCKETS_SCHEMA && !h.custom_values.windows(2).all(|w| w[0] < w[1]) {
        return Err("custom_values must be strictly ascending".into());
    }
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
    /// `self + other` (`sign` 1) or `self - other` (`sign` -1), bucket by
    /// bucket, as the `{{A}}+{{B}}xN` notation expands. Exponential
    /// histograms of different schemas are brought to the coarser one first.
    pub fn combine(&self, other: &Histogram, sign: f64) -> Histogram {
        let custom = self.schema == CUSTOM_BUCKETS_SCHEMA || other.schema == CUSTOM_BUCKETS_SCHEMA;
        let schema = if custom {
            self.schema
        } else {
            self.schema.min(other.schema)
        };
        let (offset, buckets) = merge(
            reduce(self.offset, &self.buckets, self.schema, schema, custom),
            reduce(other.offset, &other.buckets, other.schema, schema, custom),
            sign,
        );
        let (n_offset, n_buckets) = merge(
            reduce(self.n_offset, &self.n_buckets, self.schema, schema, custom),
            reduce(
                other.n_offset,
                &other.n_buckets,
                other.schema,
                schema,
                custom,
            ),
            sign,
        );
        Histogram {
            schema,
            sum: self.sum + sign * other.sum,
            count: self.count + sign * other.count,
            zero_count: self.zero_count + sign * other.zero_count,
            zero_threshold: self.zero_threshold.max(other.zero_threshold),
            buckets,
            offset,
            n_buckets,
            n_offset,
            custom_values: self.custom_values.clone(),
            counter_reset_hint: self.counter_reset_hint,
        }
    }
}

/// Buckets `(index, count)` of one span, re-indexed to `to` schema.
fn reduce(offset: i32, counts: &[f64], from: i32, to: i32, custom: bool) -> Vec<(i64, f64)> {
    let shift = if custom { 0 } else { (from - to).clamp(0, 62) };
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let idx = i64::from(offset) + i as i64;
            (((idx - 1) >> shift) + 1, c)
        })
        .collect()
}

/// Adds two bucket lists into one contiguous span (offset, counts).
fn merge(a: Vec<(i64, f64)>, b: Vec<(i64, f64)>, sign: f64) -> (i32, Vec<f64>) {
    let all = a.iter().chain(b.iter()).map(|&(i, _)| i);
    let (Some(lo), Some(hi)) = (all.clone().min(), all.max()) else {
        return (0, Vec::new());
    };
    // Bounded: indexes come from i32 offsets plus list lengths of one line.
    let len = usize::try_from(hi - lo + 1).unwrap_or(0).min(1 << 20);
    let mut out = vec![0.0; len];
    for (i, c) in a {
        if let Some(slot) = usize::try_from(i - lo).ok().and_then(|k| out.get_mut(k)) {
            *slot += c;
        }
    }
    for (i, c) in b {
        if let Some(slot) = usize::try_from(i - lo).ok().and_then(|k| out.get_mut(k)) {
            *slot += sign * c;
        }
    }
    (i32::try_from(lo).unwrap_or(0), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let s = "{{schema:1 sum:-0.3 count:3.1 z_bucket:7.1 z_bucket_w:0.05 buckets:[5.1 10 7] offset:-3 n_buckets:[4.1 5] n_offset:-5 counter_reset_hint:gauge}} 1";
        let (h, used) = parse_histogram(s).unwrap();
        assert_eq!(&s[used..], " 1");
        assert_eq!(h.schema, 1);
        assert_eq!(h.sum, -0.3);
        assert_eq!(h.buckets, vec![5.1, 10.0, 7.0]);
        assert_eq!(h.offset, -3);
        assert_eq!(h.n_offset, -5);
        assert_eq!(h.counter_reset_hint, Some(CounterResetHint::Gauge));
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
        let c = a.combine(&b, 1.0);
        assert_eq!((c.offset, c.buckets.clone()), (0, vec![1.0, 1.0, 1.0]));
        assert_eq!(c.count, 3.0);
        let d = c.combine(&b, -1.0);
        assert_eq!(d.buckets, vec![0.0, 1.0, 1.0]);
    }
}
