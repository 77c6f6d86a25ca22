//! `load_with_nhcb`: classic histograms of a load block also stored as
//! native histograms with custom buckets (NHCB, schema −53).
//!
//! Upstream scripts use it to check that a query gives the same answer over
//! a classic histogram (`x_bucket{le=…}`, `x_count`, `x_sum`) and over its
//! native form, which Prometheus produces when it scrapes classic histograms
//! with conversion on. Per family (base name plus the labels other than
//! `le`) and timestamp, the cumulative bucket counts, the count and the sum
//! become one histogram with non-cumulative buckets, stored under the base
//! name; the float series stay as they are.

use std::collections::BTreeMap;
use std::sync::Arc;

use warden_tsdb::histogram::{CUSTOM_BUCKETS_SCHEMA, FloatHistogram, Span};
use warden_tsdb::{HistogramSample, Labels, LabelsBuilder};

use super::script::Load;
use super::series::SeqValue;

/// Which part of a classic histogram a series is, by its name's suffix.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Bucket(f64),
    Count,
    Sum,
}

/// One classic histogram at one timestamp, as its series are read.
#[derive(Debug, Default)]
struct Classic {
    /// `(le, cumulative count)` in `le` order, without duplicates.
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: f64,
    /// The first inconsistency met; the conversion fails with it.
    error: Option<String>,
}

impl Classic {
    fn set(&mut self, part: Part, v: f64) {
        if self.error.is_some() {
            return;
        }
        match part {
            Part::Bucket(le) => self.set_bucket(le, v),
            Part::Count if v < 0.0 => {
                self.error = Some(format!("count must be non-negative: count={v}"));
            }
            Part::Count => self.count = Some(v),
            Part::Sum => self.sum = v,
        }
    }

    /// Inserts a cumulative bucket; counts must not fall as `le` grows, and
    /// a second bucket with the same `le` is ignored, as upstream does.
    fn set_bucket(&mut self, le: f64, count: f64) {
        if count < 0.0 {
            self.error = Some(format!(
                "bucket count must be non-negative: le={le}, count={count}"
            ));
            return;
        }
        let i = self.buckets.partition_point(|&(b, _)| b < le);
        if self.buckets.get(i).is_some_and(|&(b, _)| b == le) {
            return;
        }
        if let Some(&(_, below)) = i.checked_sub(1).and_then(|k| self.buckets.get(k))
            && count < below
        {
            self.error = Some(format!("count is not cumulative: {count} < {below}"));
            return;
        }
        if let Some(&(_, above)) = self.buckets.get(i)
            && count > above
        {
            self.error = Some(format!("count is not cumulative: {count} > {above}"));
            return;
        }
        self.buckets.insert(i, (le, count));
    }

    /// The native histogram: a missing count is the highest bucket's, a
    /// missing `+Inf` bucket holds the count; buckets become per-bucket
    /// counts over the bounds below `+Inf`.
    fn convert(mut self) -> Result<FloatHistogram, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let count = match (self.count, self.buckets.last()) {
            (Some(c), _) => c,
            (None, Some(&(_, c))) => c,
            (None, None) => return Err("count must be provided when no buckets are present".into()),
        };
        if self
            .buckets
            .last()
            .is_none_or(|&(le, _)| le != f64::INFINITY)
        {
            self.buckets.push((f64::INFINITY, count));
        }
        let top = self.buckets.last().map_or(count, |&(_, c)| c);
        if top != count {
            return Err(format!(
                "count mismatch: count={count} != le=+Inf count={top}"
            ));
        }
        let mut prev = 0.0;
        let positive_buckets = self
            .buckets
            .iter()
            .map(|&(_, c)| {
                let b = c - prev;
                prev = c;
                b
            })
            .collect();
        let mut h = FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count,
            sum: self.sum,
            positive_spans: vec![Span {
                offset: 0,
                length: u32::try_from(self.buckets.len()).unwrap_or(u32::MAX),
            }],
            positive_buckets,
            custom_values: self
                .buckets
                .iter()
                .map(|&(le, _)| le)
                .filter(|le| *le != f64::INFINITY)
                .collect(),
            ..FloatHistogram::default()
        };
        h.compact(0);
        Ok(h)
    }
}

/// The family and part a series belongs to, or `None` when it is not part
/// of a classic histogram (or its `le` is not a number).
fn classify(labels: &Labels) -> Option<(Labels, Part)> {
    let name = labels.get("__name__")?;
    let (base, part) = if let Some(base) = name.strip_suffix("_bucket") {
        let le: f64 = labels.get("le")?.trim().parse().ok()?;
        if le.is_nan() {
            return None;
        }
        (base, Part::Bucket(le))
    } else if let Some(base) = name.strip_suffix("_sum") {
        (base, Part::Sum)
    } else if let Some(base) = name.strip_suffix("_count") {
        (base, Part::Count)
    } else {
        return None;
    };
    let mut b = LabelsBuilder::new();
    for l in labels.iter() {
        match l.name.as_str() {
            "__name__" => {
                b.push("__name__", base);
            }
            "le" => {}
            _ => {
                b.push(l.name.as_str(), l.value.as_str());
            }
        }
    }
    Some((b.build().ok()?, part))
}

/// The NHCB series of a `load_with_nhcb` block: labels and samples, time
/// ordered. Fails, naming the series and time, where upstream's conversion
/// would refuse the data (buckets not cumulative, count mismatch, …).
pub fn convert_block(load: &Load) -> Result<Vec<(Labels, Vec<HistogramSample>)>, String> {
    let mut families: BTreeMap<Labels, BTreeMap<i64, Classic>> = BTreeMap::new();
    for s in &load.series {
        let Some((family, part)) = classify(&s.labels) else {
            continue;
        };
        let times = families.entry(family).or_default();
        for (i, v) in s.values.iter().enumerate() {
            if let SeqValue::Float(f) = v {
                let t = (i as i64).saturating_mul(load.interval_ms);
                times.entry(t).or_default().set(part, *f);
            }
        }
    }
    families
        .into_iter()
        .map(|(labels, times)| {
            let samples = times
                .into_iter()
                .map(|(t, classic)| {
                    classic
                        .convert()
                        .map(|h| HistogramSample { t, h: Arc::new(h) })
                        .map_err(|e| {
                            format!("converting {labels} at {t}ms to a native histogram: {e}")
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((labels, samples))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::promqltest::script::{Command, parse_script};

    fn block(src: &str) -> Load {
        match parse_script(src).unwrap().commands.into_iter().next() {
            Some(Command::Load(l)) => l,
            _ => panic!("no load"),
        }
    }

    #[test]
    fn cumulative_buckets_become_a_custom_bucket_histogram() {
        let load = block(
            "load_with_nhcb 5m\n\
             \tx_bucket{le=\"0.1\", id=\"1\"}\t0+5x2\n\
             \tx_bucket{le=\"0.2\", id=\"1\"}\t0+7x2\n\
             \tx_bucket{le=\"+Inf\", id=\"1\"}\t0+12x2\n\
             \tx_sum{id=\"1\"}\t0+3x2\n\
             \tplain 1 2 3\n",
        );
        let got = convert_block(&load).unwrap();
        assert_eq!(got.len(), 1);
        let (labels, samples) = &got[0];
        assert_eq!(labels.to_string(), r#"x{id="1"}"#);
        assert_eq!(samples.len(), 3);
        let h = &samples[2].h;
        assert_eq!((samples[2].t, h.count, h.sum), (600_000, 24.0, 6.0));
        assert_eq!(h.positive_buckets, vec![10.0, 4.0, 10.0]);
        assert_eq!(h.custom_values, vec![0.1, 0.2]);
    }

    #[test]
    fn buckets_that_are_not_cumulative_fail() {
        let load = block(
            "load_with_nhcb 1m\n\
             \tx_bucket{le=\"1\"}\t5\n\
             \tx_bucket{le=\"2\"}\t3\n",
        );
        let err = convert_block(&load).unwrap_err();
        assert!(err.contains("not cumulative"), "{err}");
    }

    #[test]
    fn a_count_without_buckets_is_one_bucket() {
        let load = block("load_with_nhcb 1m\n\tx_count 4\n\tx_sum 2\n");
        let got = convert_block(&load).unwrap();
        let h = &got[0].1[0].h;
        assert_eq!(
            (h.count, h.sum, h.positive_buckets.clone()),
            (4.0, 2.0, vec![4.0])
        );
        assert!(h.custom_values.is_empty());
    }
}
