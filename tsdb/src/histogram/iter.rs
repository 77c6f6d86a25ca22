//! Iteration over buckets with their boundaries.
//!
//! PromQL functions reason about buckets as intervals (`histogram_quantile`
//! interpolates inside them, `histogram_fraction` clips them), so the
//! iterators yield [`Bucket`]s with bounds and inclusivity computed exactly
//! as Prometheus's iterators do, including the clamping of buckets that
//! overlap the zero bucket.

use std::iter::Peekable;

use super::bounds::{bucket_bound, exponential_bound, target_index};
use super::layout::{Decode, DecodeRev, clamp_i32};
use super::{FloatHistogram, is_custom_buckets_schema, is_exponential_schema};

/// One bucket of a histogram: an interval and the observations in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Lower bound of the interval.
    pub lower: f64,
    /// Upper bound of the interval.
    pub upper: f64,
    /// Whether `lower` belongs to the interval.
    pub lower_inclusive: bool,
    /// Whether `upper` belongs to the interval.
    pub upper_inclusive: bool,
    /// Observations in the bucket.
    pub count: f64,
    /// Index of the bucket within its schema and sign; meaningless for the
    /// zero bucket.
    pub index: i32,
}

impl Bucket {
    /// The bucket with index `idx` of the positive or negative side.
    fn at(idx: i64, count: f64, schema: i32, positive: bool, custom_values: &[f64]) -> Bucket {
        let (lower, upper) = if positive {
            (
                bucket_bound(idx - 1, schema, custom_values),
                bucket_bound(idx, schema, custom_values),
            )
        } else {
            (
                -bucket_bound(idx, schema, custom_values),
                -bucket_bound(idx - 1, schema, custom_values),
            )
        };
        let (lower_inclusive, upper_inclusive) = if is_custom_buckets_schema(schema) {
            (idx == 0, true)
        } else {
            (lower < 0.0, upper > 0.0)
        };
        Bucket {
            lower,
            upper,
            lower_inclusive,
            upper_inclusive,
            count,
            index: clamp_i32(idx),
        }
    }
}

/// `(index, count)` pairs of one side in ascending index order, merged into
/// a coarser target schema and without the leading buckets whose upper
/// bound is at most a start value (Prometheus's `floatBucketIterator`).
pub(crate) struct Merged<'a> {
    raw: Peekable<Decode<'a, f64>>,
    origin: i32,
    target: i32,
    start_value: f64,
    reached_start: bool,
}

impl Iterator for Merged<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        loop {
            let (first, mut count) = self.raw.next()?;
            let idx = if self.origin == self.target {
                first
            } else {
                let idx = target_index(first, self.origin, self.target);
                while let Some(&(next, c)) = self.raw.peek() {
                    if target_index(next, self.origin, self.target) != idx {
                        break;
                    }
                    count += c;
                    self.raw.next();
                }
                idx
            };
            if !self.reached_start
                && is_exponential_schema(self.target)
                && exponential_bound(idx, self.target) <= self.start_value
            {
                continue;
            }
            self.reached_start = true;
            return Some((idx, count));
        }
    }
}

/// Buckets of one side in ascending order of absolute value: positive
/// buckets upwards from zero, negative buckets downwards from zero.
pub struct BucketIter<'a> {
    merged: Merged<'a>,
    positive: bool,
    custom_values: &'a [f64],
}

impl Iterator for BucketIter<'_> {
    type Item = Bucket;

    fn next(&mut self) -> Option<Bucket> {
        let (idx, count) = self.merged.next()?;
        Some(Bucket::at(
            idx,
            count,
            self.merged.target,
            self.positive,
            self.custom_values,
        ))
    }
}

/// Buckets of one side in descending order of absolute value: positive
/// buckets from the highest down, negative buckets from the lowest up.
pub struct ReverseBucketIter<'a> {
    raw: DecodeRev<'a, f64>,
    schema: i32,
    positive: bool,
    custom_values: &'a [f64],
}

impl Iterator for ReverseBucketIter<'_> {
    type Item = Bucket;

    fn next(&mut self) -> Option<Bucket> {
        let (idx, count) = self.raw.next()?;
        Some(Bucket::at(
            idx,
            count,
            self.schema,
            self.positive,
            self.custom_values,
        ))
    }
}

/// One half of an [`AllBucketIter`].
enum Half<'a> {
    Forward(BucketIter<'a>),
    Reverse(ReverseBucketIter<'a>),
}

impl Iterator for Half<'_> {
    type Item = Bucket;

    fn next(&mut self) -> Option<Bucket> {
        match self {
            Half::Forward(it) => it.next(),
            Half::Reverse(it) => it.next(),
        }
    }
}

/// All buckets — negative, zero, positive — in ascending or descending
/// order of their bounds.
///
/// The zero bucket appears only if its count is positive. A negative or
/// positive bucket reaching into the zero bucket has the overlapping bound
/// moved to the zero threshold (unconditionally, as Prometheus does, so a
/// bucket entirely inside the zero bucket comes out as an inverted
/// interval).
pub struct AllBucketIter<'a> {
    first: Half<'a>,
    zero: Option<Bucket>,
    second: Half<'a>,
    zero_threshold: f64,
    state: u8,
}

impl AllBucketIter<'_> {
    fn clamp(&self, mut b: Bucket) -> Bucket {
        let zt = self.zero_threshold;
        if b.upper < 0.0 && b.upper > -zt {
            b.upper = -zt;
        } else if b.lower > 0.0 && b.lower < zt {
            b.lower = zt;
        }
        b
    }
}

impl Iterator for AllBucketIter<'_> {
    type Item = Bucket;

    fn next(&mut self) -> Option<Bucket> {
        loop {
            match self.state {
                0 => match self.first.next() {
                    Some(b) => return Some(self.clamp(b)),
                    None => self.state = 1,
                },
                1 => {
                    self.state = 2;
                    if let Some(zero) = self.zero.take() {
                        return Some(zero);
                    }
                }
                2 => match self.second.next() {
                    Some(b) => return Some(self.clamp(b)),
                    None => self.state = 3,
                },
                _ => return None,
            }
        }
    }
}

impl FloatHistogram {
    /// `(index, count)` of one side merged into `target_schema` (which must
    /// not exceed the histogram's schema), skipping leading buckets whose
    /// upper bound is at most `start_value`. Custom buckets are never merged.
    pub(crate) fn merged_buckets(
        &self,
        positive: bool,
        start_value: f64,
        target_schema: i32,
    ) -> Merged<'_> {
        let (spans, buckets) = if positive {
            (&self.positive_spans, &self.positive_buckets)
        } else {
            (&self.negative_spans, &self.negative_buckets)
        };
        let target = if self.uses_custom_buckets() {
            self.schema
        } else {
            target_schema.min(self.schema)
        };
        Merged {
            raw: Decode::new(spans, buckets).peekable(),
            origin: self.schema,
            target,
            start_value,
            reached_start: start_value == 0.0,
        }
    }

    fn side_iter(&self, positive: bool) -> BucketIter<'_> {
        BucketIter {
            merged: self.merged_buckets(positive, 0.0, self.schema),
            positive,
            custom_values: if positive { &self.custom_values } else { &[] },
        }
    }

    fn side_reverse_iter(&self, positive: bool) -> ReverseBucketIter<'_> {
        let (spans, buckets, custom_values): (&[_], &[f64], &[f64]) = if positive {
            (
                &self.positive_spans,
                &self.positive_buckets,
                &self.custom_values,
            )
        } else {
            (&self.negative_spans, &self.negative_buckets, &[])
        };
        ReverseBucketIter {
            raw: DecodeRev::new(spans, buckets),
            schema: self.schema,
            positive,
            custom_values,
        }
    }

    fn zero_bucket_if_populated(&self) -> Option<Bucket> {
        if self.zero_count > 0.0 {
            self.zero_bucket()
        } else {
            None
        }
    }

    /// Positive buckets in ascending order, starting next to the zero bucket.
    pub fn positive_bucket_iter(&self) -> BucketIter<'_> {
        self.side_iter(true)
    }

    /// Negative buckets in descending order, starting next to the zero
    /// bucket.
    pub fn negative_bucket_iter(&self) -> BucketIter<'_> {
        self.side_iter(false)
    }

    /// Positive buckets in descending order, starting with the highest.
    pub fn positive_reverse_bucket_iter(&self) -> ReverseBucketIter<'_> {
        self.side_reverse_iter(true)
    }

    /// Negative buckets in ascending order, starting with the lowest.
    pub fn negative_reverse_bucket_iter(&self) -> ReverseBucketIter<'_> {
        self.side_reverse_iter(false)
    }

    /// All buckets in ascending order: negative, zero, positive.
    pub fn all_bucket_iter(&self) -> AllBucketIter<'_> {
        AllBucketIter {
            first: Half::Reverse(self.side_reverse_iter(false)),
            zero: self.zero_bucket_if_populated(),
            second: Half::Forward(self.side_iter(true)),
            zero_threshold: self.zero_threshold,
            state: 0,
        }
    }

    /// All buckets in descending order: positive, zero, negative.
    pub fn all_reverse_bucket_iter(&self) -> AllBucketIter<'_> {
        AllBucketIter {
            first: Half::Reverse(self.side_reverse_iter(true)),
            zero: self.zero_bucket_if_populated(),
            second: Half::Forward(self.side_iter(false)),
            zero_threshold: self.zero_threshold,
            state: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::hist;
    use super::*;

    fn bounds(it: impl Iterator<Item = Bucket>) -> Vec<(f64, f64, f64)> {
        it.map(|b| (b.lower, b.upper, b.count)).collect()
    }

    #[test]
    fn histogram_positive_and_negative_iteration() {
        let h = hist(0)
            .zero(0.001, 2.0)
            .pos(0, &[1.0, 2.0])
            .neg(-1, &[3.0, 4.0])
            .build();
        assert_eq!(
            bounds(h.positive_bucket_iter()),
            vec![(0.5, 1.0, 1.0), (1.0, 2.0, 2.0)]
        );
        assert_eq!(
            bounds(h.negative_bucket_iter()),
            vec![(-0.5, -0.25, 3.0), (-1.0, -0.5, 4.0)]
        );
        assert_eq!(
            bounds(h.positive_reverse_bucket_iter()),
            vec![(1.0, 2.0, 2.0), (0.5, 1.0, 1.0)]
        );
        assert_eq!(
            bounds(h.negative_reverse_bucket_iter()),
            vec![(-1.0, -0.5, 4.0), (-0.5, -0.25, 3.0)]
        );
        let first = h.positive_bucket_iter().next().expect("one bucket");
        assert!(!first.lower_inclusive && first.upper_inclusive);
        assert_eq!(first.index, 0);
        let neg = h.negative_bucket_iter().next().expect("one bucket");
        assert!(neg.lower_inclusive && !neg.upper_inclusive);
    }

    #[test]
    fn histogram_all_buckets_clamp_to_zero_threshold() {
        let h = hist(0)
            .zero(0.75, 2.0)
            .pos(0, &[1.0, 2.0])
            .neg(0, &[3.0])
            .build();
        assert_eq!(
            bounds(h.all_bucket_iter()),
            vec![
                (-1.0, -0.75, 3.0),
                (-0.75, 0.75, 2.0),
                (0.75, 1.0, 1.0),
                (1.0, 2.0, 2.0)
            ]
        );
        assert_eq!(
            bounds(h.all_reverse_bucket_iter()),
            vec![
                (1.0, 2.0, 2.0),
                (0.75, 1.0, 1.0),
                (-0.75, 0.75, 2.0),
                (-1.0, -0.75, 3.0)
            ]
        );
        // A bucket entirely inside the zero bucket becomes inverted.
        let inside = hist(0).zero(0.75, 0.0).pos(-1, &[1.0]).build();
        assert_eq!(bounds(inside.all_bucket_iter()), vec![(0.75, 0.5, 1.0)]);
    }

    #[test]
    fn histogram_custom_bucket_iteration() {
        let h = hist(-53)
            .custom(&[5.0, 10.0])
            .pos(0, &[1.0, 2.0, 1.0])
            .build();
        let all: Vec<Bucket> = h.all_bucket_iter().collect();
        assert_eq!(
            all.iter().map(|b| (b.lower, b.upper)).collect::<Vec<_>>(),
            vec![(f64::NEG_INFINITY, 5.0), (5.0, 10.0), (10.0, f64::INFINITY)]
        );
        assert!(all[0].lower_inclusive && all[0].upper_inclusive);
        assert!(!all[1].lower_inclusive && all[1].upper_inclusive);
    }

    #[test]
    fn histogram_merged_iteration_into_lower_schema() {
        let h = hist(1).pos(-1, &[1.0, 2.0, 3.0, 4.0]).build();
        let merged: Vec<(i64, f64)> = h.merged_buckets(true, 0.0, 0).collect();
        assert_eq!(merged, vec![(0, 3.0), (1, 7.0)]);
        // Skipping buckets up to a start value (only the leading ones).
        let skipped: Vec<(i64, f64)> = h.merged_buckets(true, 0.8, 1).collect();
        assert_eq!(skipped, vec![(0, 2.0), (1, 3.0), (2, 4.0)]);
    }
}
