//! Estimates derived from a histogram: what `histogram_quantile`,
//! `histogram_fraction`, `histogram_stddev`, `histogram_stdvar` and
//! `histogram_avg` return for native histograms.
//!
//! A histogram only knows how many observations fell into each bucket, so
//! every estimate assumes a distribution inside the buckets. Prometheus's
//! assumptions, reproduced here:
//!
//! - exponential buckets: observations are spread so that they would fill
//!   the buckets of a finer schema evenly, i.e. interpolation is linear in
//!   `log2(value)`; the midpoint of a bucket is its geometric mean;
//! - custom buckets and the zero bucket: interpolation is linear; the
//!   midpoint is the arithmetic mean (zero for the zero bucket);
//! - if a histogram has only positive buckets, the zero bucket is taken to
//!   start at 0 (and to end at 0 if there are only negative buckets);
//! - NaN observations are counted in `count` but in no bucket: quantiles
//!   treat them as larger than everything, fractions as outside every range.
//!
//! The engine turns the [`StatsAnnotation`]s into PromQL info annotations.

use super::{Bucket, FloatHistogram, kahan_inc};

/// Something PromQL tells the user about an estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatsAnnotation {
    /// The histogram has NaN observations and the requested quantile lies
    /// among them, so the result is NaN.
    QuantileNaNResult,
    /// The histogram has NaN observations, counted as larger than any
    /// value, which pushes the quantile upwards.
    QuantileNaNSkew,
    /// The histogram has NaN observations, which no fraction includes (so
    /// `histogram_fraction(-Inf, +Inf, …)` is below 1).
    FractionNaNsExcluded,
}

impl StatsAnnotation {
    /// Prometheus's annotation text (without the "PromQL info: " prefix and
    /// the metric name the engine appends).
    pub fn message(self) -> &'static str {
        match self {
            StatsAnnotation::QuantileNaNResult => {
                "input to histogram_quantile has NaN observations, result is NaN"
            }
            StatsAnnotation::QuantileNaNSkew => {
                "input to histogram_quantile has NaN observations, result is skewed higher"
            }
            StatsAnnotation::FractionNaNsExcluded => {
                "input to histogram_fraction has NaN observations, which are excluded from all fractions"
            }
        }
    }
}

/// An estimate and the annotation, if any, it comes with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The estimated value.
    pub value: f64,
    /// What to tell the user about it.
    pub annotation: Option<StatsAnnotation>,
}

impl Estimate {
    fn plain(value: f64) -> Estimate {
        Estimate {
            value,
            annotation: None,
        }
    }
}

/// The empty bucket Prometheus starts its search with.
const NO_BUCKET: Bucket = Bucket {
    lower: 0.0,
    upper: 0.0,
    lower_inclusive: false,
    upper_inclusive: false,
    count: 0.0,
    index: 0,
};

/// The `q`-quantile of the observations (Prometheus's `HistogramQuantile`).
///
/// `q < 0` gives `-Inf` and `q > 1` gives `+Inf` (the engine warns about
/// such `q` separately); NaN `q` or an empty histogram give NaN. The bucket
/// holding the quantile is searched from the nearer end: upwards for
/// `q < 0.5`, downwards otherwise — except that histograms with NaN
/// observations (NaN sum) are always searched upwards, since the NaNs are
/// in no bucket. For custom buckets, a quantile in the lowest bucket is
/// interpolated from 0 (or is its upper bound if that is ≤ 0), and one in
/// the `+Inf` bucket is the highest finite bound.
///
/// Mirrors Prometheus also in one oddity: when the sum is NaN, the bucket
/// used for interpolation is the last one of the histogram rather than the
/// one holding the quantile, after all buckets were counted to decide on
/// the skew annotation.
pub fn quantile(q: f64, h: &FloatHistogram) -> Estimate {
    if q < 0.0 {
        return Estimate::plain(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Estimate::plain(f64::INFINITY);
    }
    if h.count == 0.0 || q.is_nan() {
        return Estimate::plain(f64::NAN);
    }

    let forward = h.sum.is_nan() || q < 0.5;
    let mut upward;
    let mut downward;
    let it: &mut dyn Iterator<Item = Bucket> = if forward {
        upward = h.all_bucket_iter();
        &mut upward
    } else {
        downward = h.all_reverse_bucket_iter();
        &mut downward
    };
    let mut rank = if forward {
        q * h.count
    } else {
        (1.0 - q) * h.count
    };

    let mut bucket = NO_BUCKET;
    let mut count = 0.0;
    for b in &mut *it {
        bucket = b;
        if b.count == 0.0 {
            continue;
        }
        count += b.count;
        if count >= rank {
            break;
        }
    }

    let custom = h.uses_custom_buckets();
    if !custom && bucket.lower < 0.0 && bucket.upper > 0.0 {
        if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
            // In the zero bucket with only positive buckets: start at 0.
            bucket.lower = 0.0;
        } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
            bucket.upper = 0.0;
        }
    } else if custom {
        if bucket.lower == f64::NEG_INFINITY {
            if bucket.upper <= 0.0 {
                return Estimate::plain(bucket.upper);
            }
            bucket.lower = 0.0;
        } else if bucket.upper == f64::INFINITY {
            return Estimate::plain(bucket.lower);
        }
    }

    // Rounding may make the buckets add up to more than the count.
    count = count.min(h.count);
    if count < rank {
        // The rank lies beyond all buckets: among NaN observations, or the
        // histogram is inconsistent.
        if h.sum.is_nan() {
            return Estimate {
                value: f64::NAN,
                annotation: Some(StatsAnnotation::QuantileNaNResult),
            };
        }
        return Estimate::plain(bucket.upper);
    }

    if forward {
        rank -= count - bucket.count;
    } else {
        rank = count - rank;
    }

    let mut annotation = None;
    if h.sum.is_nan() {
        // A NaN sum may also come from observing both +Inf and -Inf; only
        // observations missing from the buckets are NaNs.
        for b in it {
            bucket = b;
            count += b.count;
        }
        if count < h.count {
            annotation = Some(StatsAnnotation::QuantileNaNSkew);
        }
    }

    let fraction = rank / bucket.count;
    let value = if custom || (bucket.lower <= 0.0 && bucket.upper >= 0.0) {
        bucket.lower + (bucket.upper - bucket.lower) * fraction
    } else {
        // Exponential buckets are evenly spaced on a log scale.
        let log_lower = bucket.lower.abs().log2();
        let log_upper = bucket.upper.abs().log2();
        if bucket.lower > 0.0 {
            (log_lower + (log_upper - log_lower) * fraction).exp2()
        } else {
            -(log_upper + (log_lower - log_upper) * (1.0 - fraction)).exp2()
        }
    };
    Estimate { value, annotation }
}

/// The fraction of observations between `lower` and `upper` (Prometheus's
/// `HistogramFraction`), the inverse of [`quantile`]: if `quantile(0.9, h)`
/// is 123.4, then `fraction(-Inf, 123.4, h)` is 0.9.
///
/// An empty histogram or a NaN bound give NaN; `lower >= upper` gives 0.
/// Bounds inside a bucket are interpolated as in [`quantile`]; the infinite
/// buckets of custom histograms contribute nothing when cut. NaN
/// observations are in no range, so they lower every fraction.
pub fn fraction(lower: f64, upper: f64, h: &FloatHistogram) -> Estimate {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return Estimate::plain(f64::NAN);
    }
    if lower >= upper {
        return Estimate::plain(0.0);
    }

    let custom = h.uses_custom_buckets();
    let only_positive = h.negative_buckets.is_empty() && !h.positive_buckets.is_empty();
    let only_negative = h.positive_buckets.is_empty() && !h.negative_buckets.is_empty();
    let mut it = h.all_bucket_iter();
    let mut count = 0.0;
    let mut rank = 0.0;
    let (mut lower_rank, mut upper_rank) = (0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);

    for mut b in it.by_ref() {
        count += b.count;
        let mut zero_bucket = false;
        if b.lower <= 0.0 && b.upper >= 0.0 {
            zero_bucket = true;
            if only_positive {
                b.lower = 0.0;
            } else if only_negative {
                b.upper = 0.0;
            }
        }
        let linear = |v: f64| {
            if b.lower == f64::NEG_INFINITY {
                // Cannot interpolate into -Inf: the bucket counts fully.
                return b.count;
            }
            rank + b.count * (v - b.lower) / (b.upper - b.lower)
        };
        let exponential = |v: f64| {
            let log_lower = b.lower.abs().log2();
            let log_upper = b.upper.abs().log2();
            let log_v = v.abs().log2();
            let fraction = if v > 0.0 {
                (log_v - log_lower) / (log_upper - log_lower)
            } else {
                1.0 - ((log_v - log_upper) / (log_lower - log_upper))
            };
            rank + b.count * fraction
        };
        let interpolate = |v: f64| {
            if custom || zero_bucket {
                linear(v)
            } else {
                exponential(v)
            }
        };

        if !lower_set && b.lower >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && b.lower >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && b.lower < lower && b.upper > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && b.lower < upper && b.upper > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank += b.count;
    }

    let mut annotation = None;
    if h.sum.is_nan() {
        // Only the observations in buckets count as "all" observations.
        count += it.map(|b| b.count).sum::<f64>();
        if count < h.count {
            annotation = Some(StatsAnnotation::FractionNaNsExcluded);
        }
    } else {
        count = h.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    Estimate {
        value: (upper_rank - lower_rank) / h.count,
        annotation,
    }
}

/// The estimated population variance of the observations
/// (`histogram_stdvar`), with every observation placed at the midpoint of
/// its bucket and the mean taken from `sum / count`. Summation is
/// Kahan-compensated, as in Prometheus.
pub fn stdvar(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let custom = h.uses_custom_buckets();
    let (mut variance, mut compensation) = (0.0, 0.0);
    for b in h.all_bucket_iter() {
        if b.count == 0.0 {
            continue;
        }
        let midpoint = if custom {
            (b.upper + b.lower) / 2.0
        } else if b.lower <= 0.0 && b.upper >= 0.0 {
            0.0
        } else {
            let geometric = (b.upper * b.lower).sqrt();
            if b.upper < 0.0 { -geometric } else { geometric }
        };
        let delta = midpoint - mean;
        (variance, compensation) = kahan_inc(b.count * delta * delta, variance, compensation);
    }
    (variance + compensation) / h.count
}

/// The estimated population standard deviation (`histogram_stddev`): the
/// square root of [`stdvar`].
pub fn stddev(h: &FloatHistogram) -> f64 {
    stdvar(h).sqrt()
}

/// The mean of the observations (`histogram_avg`): `sum / count`, NaN for
/// an empty histogram.
pub fn avg(h: &FloatHistogram) -> f64 {
    h.sum / h.count
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_close, hist};
    use super::*;

    fn q(q: f64, h: &FloatHistogram) -> f64 {
        let e = quantile(q, h);
        assert_eq!(e.annotation, None, "unexpected annotation for q={q}");
        e.value
    }

    fn frac(lower: f64, upper: f64, h: &FloatHistogram) -> f64 {
        let e = fraction(lower, upper, h);
        assert_eq!(e.annotation, None);
        e.value
    }

    /// histogram_quantile_1 / histogram_fraction_2 of native_histograms.test.
    fn positive() -> FloatHistogram {
        hist(0)
            .count(12.0)
            .sum(100.0)
            .zero(0.001, 2.0)
            .pos(0, &[2.0, 3.0, 0.0, 1.0, 4.0])
            .build()
    }

    /// histogram_quantile_2 / histogram_fraction_3.
    fn negative() -> FloatHistogram {
        hist(0)
            .count(12.0)
            .sum(100.0)
            .zero(0.001, 2.0)
            .neg(0, &[2.0, 3.0, 0.0, 1.0, 4.0])
            .build()
    }

    /// histogram_quantile_3 / histogram_fraction_4.
    fn both() -> FloatHistogram {
        hist(0)
            .count(24.0)
            .sum(100.0)
            .zero(0.001, 4.0)
            .pos(0, &[2.0, 3.0, 0.0, 1.0, 4.0])
            .neg(0, &[2.0, 3.0, 0.0, 1.0, 4.0])
            .build()
    }

    #[test]
    fn histogram_quantile_positive_buckets() {
        let h = positive();
        assert_eq!(q(1.001, &h), f64::INFINITY);
        assert_eq!(q(-1.0, &h), f64::NEG_INFINITY);
        assert_close(q(1.0, &h), 16.0);
        assert_close(q(0.99, &h), 15.67072476139083);
        assert_close(q(0.9, &h), 12.99603834169977);
        assert_close(q(0.6, &h), 4.594793419988138);
        assert_close(q(0.5, &h), 1.5874010519681994);
        assert_close(q(0.1, &h), 0.0006);
        assert_eq!(q(0.0, &h), 0.0);
        assert!(q(f64::NAN, &h).is_nan());
        assert!(q(0.5, &hist(0).build()).is_nan());
    }

    #[test]
    fn histogram_quantile_negative_buckets() {
        let h = negative();
        assert_eq!(q(1.0, &h), 0.0);
        assert_close(q(0.99, &h), -0.00006);
        assert_close(q(0.9, &h), -0.0006);
        assert_close(q(0.5, &h), -1.5874010519681996);
        assert_close(q(0.1, &h), -12.996038341699768);
        assert_close(q(0.0, &h), -16.0);
    }

    #[test]
    fn histogram_quantile_both_sides() {
        let h = both();
        assert_close(q(1.0, &h), 16.0);
        assert_close(q(0.99, &h), 15.34822590920423);
        assert_close(q(0.9, &h), 10.556063286183155);
        assert_close(q(0.7, &h), 1.2030250360821164);
        assert_close(q(0.55, &h), 0.0006);
        assert_close(q(0.5, &h), 0.0);
        assert_close(q(0.45, &h), -0.0006);
        assert_close(q(0.3, &h), -1.2030250360821169);
        assert_close(q(0.1, &h), -10.556063286183155);
        assert_close(q(0.01, &h), -15.34822590920423);
        assert_close(q(0.0, &h), -16.0);
    }

    #[test]
    fn histogram_quantile_across_schemas_and_small_cases() {
        // var_res_histogram: the interpolation does not depend on the schema.
        for (schema, want, want_further) in [
            (-1, 2.0, 8.0),
            (0, std::f64::consts::SQRT_2, 2.82842712474619),
            (1, 1.189207, 1.6817928305074292),
        ] {
            let h = hist(schema).count(5.0).sum(4.0).pos(0, &[0.0, 5.0]).build();
            let got = q(0.5, &h);
            assert!((got - want).abs() < 1e-6, "schema {schema}: {got}");
            let h = hist(schema)
                .count(5.0)
                .sum(4.0)
                .pos(0, &[0.0, 0.0, 5.0])
                .build();
            assert_close(q(0.5, &h), want_further);
            let h = hist(schema).count(5.0).sum(4.0).neg(0, &[0.0, 5.0]).build();
            assert!((q(0.5, &h) + want).abs() < 1e-6);
            // ... and fraction is the inverse.
            let h = hist(schema).count(5.0).sum(4.0).pos(0, &[0.0, 5.0]).build();
            assert!((frac(0.0, want, &h) - 0.5).abs() < 1e-6);
        }
        // single_zero_histogram: linear in the zero bucket around zero.
        let zero = hist(0).count(1.0).sum(0.25).zero(0.5, 1.0).build();
        assert_eq!(q(0.5, &zero), 0.0);
        assert_eq!(frac(-0.5, 0.5, &zero), 1.0);
        // negative_histogram: mirrored exponential interpolation.
        let neg = hist(0)
            .count(4.0)
            .sum(-5.0)
            .neg(0, &[1.0, 2.0, 1.0])
            .build();
        assert_close(q(0.5, &neg), -std::f64::consts::SQRT_2);
        assert_eq!(frac(-2.0, -1.0, &neg), 0.5);
        // balanced_histogram: a quantile in a gap of empty buckets.
        let balanced = hist(0)
            .count(8.0)
            .sum(0.0)
            .pos(0, &[1.0, 2.0, 1.0])
            .neg(0, &[1.0, 2.0, 1.0])
            .build();
        assert_eq!(q(0.5, &balanced), 0.5);
        assert_eq!(frac(0.0, 4.0, &balanced), 0.5);
    }

    #[test]
    fn histogram_quantile_and_fraction_custom_buckets() {
        // custom_buckets_histogram.
        let h = hist(-53)
            .custom(&[5.0, 10.0])
            .count(4.0)
            .sum(5.0)
            .pos(0, &[1.0, 2.0, 1.0])
            .build();
        assert_eq!(q(0.5, &h), 7.5);
        assert_eq!(frac(5.0, 10.0, &h), 0.5);
        // Lowest bucket interpolates from 0, the +Inf bucket gives the last bound.
        assert_eq!(q(0.1, &h), 2.0);
        assert_eq!(q(0.99, &h), 10.0);
        assert_eq!(q(1.0, &h), 10.0);
        assert_eq!(frac(10.0, f64::INFINITY, &h), 0.25);
        assert_eq!(frac(-1.0, 2.5, &h), 0.125);
        // A lowest bucket with a negative bound returns that bound.
        let h = hist(-53)
            .custom(&[-2.0, 3.0])
            .count(2.0)
            .pos(0, &[1.0, 1.0])
            .build();
        assert_eq!(q(0.25, &h), -2.0);
        assert_eq!(frac(f64::NEG_INFINITY, -5.0, &h), 0.5);
        // Empty custom histogram.
        let empty = hist(-53).custom(&[-2.0, 3.0]).build();
        assert!(frac(f64::NEG_INFINITY, f64::INFINITY, &empty).is_nan());
    }

    #[test]
    fn histogram_fraction_cases_from_promql_tests() {
        let h = positive();
        assert_eq!(frac(0.0, f64::INFINITY, &h), 1.0);
        assert_eq!(frac(f64::NEG_INFINITY, 0.0, &h), 0.0);
        assert_eq!(frac(-0.001, 0.0, &h), 0.0);
        assert_close(frac(0.0, 0.001, &h), 0.16666666666666666);
        assert_close(frac(0.001, f64::INFINITY, &h), 0.8333333333333334);
        assert_close(frac(0.0, 0.0005, &h), 0.08333333333333333);
        assert_close(q(0.08333333333333333, &h), 0.0005);
        assert_eq!(frac(1.0, 2.0, &h), 0.25);
        assert_close(frac(0.0, 1.5, &h), 0.4795739585136224);
        assert_close(frac(1.5, 2.0, &h), 0.10375937481971091);
        assert_close(frac(1.0, 8.0, &h), 0.3333333333333333);
        assert_close(frac(0.0, 6.0, &h), 0.6320802083934297);
        assert_close(q(0.6320802083934297, &h), 6.0);
        assert_close(frac(1.0, 6.0, &h), 0.29874687506009634);
        assert_close(frac(1.5, 6.0, &h), 0.15250624987980724);
        assert_eq!(frac(-8.0, -1.0, &h), 0.0);
        assert_eq!(frac(42.0, 3.25, &h), 0.0);
        assert_eq!(frac(0.000001, 0.000001, &h), 0.0);
        assert!(frac(3.25, f64::NAN, &h).is_nan());
        assert_eq!(frac(f64::NEG_INFINITY, f64::INFINITY, &h), 1.0);

        let h = negative();
        assert_eq!(frac(0.0, f64::INFINITY, &h), 0.0);
        assert_eq!(frac(f64::NEG_INFINITY, 0.0, &h), 1.0);
        assert_close(frac(-0.001, 0.0, &h), 0.16666666666666666);
        assert_close(frac(-0.0005, 0.0, &h), 0.08333333333333333);
        assert_close(frac(f64::NEG_INFINITY, -0.0005, &h), 0.9166666666666666);
        assert_close(q(0.9166666666666666, &h), -0.0005);
        assert_close(frac(f64::NEG_INFINITY, -0.001, &h), 0.8333333333333334);
        assert_eq!(frac(-2.0, -1.0, &h), 0.25);
        assert_close(frac(-2.0, -1.5, &h), 0.10375937481971091);
        assert_close(frac(-8.0, -1.0, &h), 0.3333333333333333);
        assert_close(frac(f64::NEG_INFINITY, -6.0, &h), 0.36791979160657035);
        assert_close(q(0.36791979160657035, &h), -6.0);
        assert_close(frac(-6.0, -1.0, &h), 0.29874687506009634);
        assert_close(frac(-6.0, -1.5, &h), 0.15250624987980724);

        let h = both();
        assert_eq!(frac(0.0, f64::INFINITY, &h), 0.5);
        assert_close(frac(-0.001, 0.0, &h), 0.08333333333333333);
        assert_close(frac(-0.0005, 0.0005, &h), 0.08333333333333333);
        assert_close(frac(f64::NEG_INFINITY, 0.0005, &h), 0.5416666666666666);
        assert_close(q(0.5416666666666666, &h), 0.0005);
        assert_close(frac(f64::NEG_INFINITY, -0.0005, &h), 0.4583333333333333);
        assert_close(q(0.4583333333333333, &h), -0.0005);
        assert_close(frac(0.001, f64::INFINITY, &h), 0.4166666666666667);
        assert_close(frac(1.5, 2.0, &h), 0.051879687409855414);
        assert_close(frac(1.0, 6.0, &h), 0.14937343753004825);
        assert_close(frac(-2.0, -1.5, &h), 0.051879687409855456);
        assert_close(frac(-6.0, -1.0, &h), 0.14937343753004817);
        assert_close(frac(-6.0, -1.5, &h), 0.07625312493990362);
        assert_eq!(frac(f64::NEG_INFINITY, f64::INFINITY, &h), 1.0);

        // Empty histogram.
        assert!(frac(3.25, 42.0, &hist(0).build()).is_nan());
    }

    #[test]
    fn histogram_nan_observations() {
        // native_histograms.test: histogram_nan.
        let all_nan = hist(0).count(3.0).sum(f64::NAN).build();
        let some_nan = hist(0).count(15.0).sum(f64::NAN).pos(0, &[12.0]).build();
        let nan_result = Some(StatsAnnotation::QuantileNaNResult);
        let skew = Some(StatsAnnotation::QuantileNaNSkew);
        for h in [&all_nan, &some_nan] {
            for qq in [1.0, 0.81] {
                let e = quantile(qq, h);
                assert!(e.value.is_nan());
                assert_eq!(e.annotation, nan_result);
            }
        }
        let e = quantile(0.8, &all_nan);
        assert!(e.value.is_nan());
        assert_eq!(e.annotation, nan_result);
        assert_eq!(
            quantile(0.8, &some_nan),
            Estimate {
                value: 1.0,
                annotation: skew
            }
        );
        let e = quantile(0.4, &some_nan);
        assert_close(e.value, 0.7071067811865475);
        assert_eq!(e.annotation, skew);
        let e = quantile(0.4, &all_nan);
        assert!(e.value.is_nan());

        let excluded = Some(StatsAnnotation::FractionNaNsExcluded);
        assert_eq!(
            fraction(f64::NEG_INFINITY, 0.7071067811865475, &all_nan),
            Estimate {
                value: 0.0,
                annotation: excluded
            }
        );
        let e = fraction(f64::NEG_INFINITY, 0.7071067811865475, &some_nan);
        assert_close(e.value, 0.4);
        assert_eq!(e.annotation, excluded);
        let e = fraction(f64::NEG_INFINITY, f64::INFINITY, &some_nan);
        assert_close(e.value, 0.8);
        assert_eq!(e.annotation, excluded);

        // A NaN sum from observing both infinities is not a NaN observation.
        let infinities = hist(0)
            .count(2.0)
            .sum(f64::NAN)
            .pos(1024, &[0.0, 1.0])
            .neg(1025, &[1.0])
            .build();
        assert_eq!(quantile(0.2, &infinities).annotation, None);
        assert_eq!(fraction(0.0, 1.0, &infinities).annotation, None);
        assert_eq!(
            StatsAnnotation::QuantileNaNSkew.message(),
            "input to histogram_quantile has NaN observations, result is skewed higher"
        );
    }

    #[test]
    fn histogram_quantile_nan_sum_uses_last_bucket() {
        // Prometheus interpolates in the last bucket once it has counted all
        // of them: buckets (1,2]:2 and (2,4]:2 with two NaN observations
        // give 2^1.75 for q=0.25, not 2^0.75.
        let h = hist(0).count(6.0).sum(f64::NAN).pos(1, &[2.0, 2.0]).build();
        assert_close(quantile(0.25, &h).value, 3.3635856610148585);
        assert_close(quantile(0.5, &h).value, 2.82842712474619);
        assert!(quantile(0.75, &h).value.is_nan());
    }

    #[test]
    fn histogram_stddev_and_stdvar() {
        // histogram_stddev_stdvar_1: {1, 2, 3, 4} at low resolution.
        let h = hist(2)
            .count(4.0)
            .sum(10.0)
            .pos(0, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0])
            .build();
        assert_close(stddev(&h), 1.0787993180043811);
        assert_close(stdvar(&h), 1.163807968526718);

        // histogram_stddev_stdvar_2: {1, 1, 1, 1} at high resolution.
        let h = hist(8)
            .count(10.0)
            .sum(10.0)
            .pos(0, &[1.0, 2.0, 3.0, 4.0])
            .build();
        assert_close(stddev(&h), 0.0048960313898237465);
        assert_close(stdvar(&h), 2.3971123370139447e-05);

        // histogram_stddev_stdvar_3: {-50, -8, 0, 3, 8, 9}.
        let mut pos = vec![0.0; 55];
        pos[13] = 1.0;
        pos[24] = 1.0;
        pos[26] = 1.0;
        pos[54] = 1.0;
        let mut neg = vec![0.0; 47];
        neg[24] = 1.0;
        neg[46] = 1.0;
        let h3 = hist(3)
            .count(7.0)
            .sum(62.0)
            .zero(0.0, 1.0)
            .pos(0, &pos)
            .neg(0, &neg)
            .build();
        assert_close(stddev(&h3), 42.94723640026);
        assert_close(stdvar(&h3), 1844.4651144196398);

        // histogram_stddev_stdvar_4: ten negative observations.
        let h = hist(0)
            .count(10.0)
            .sum(-112946.0)
            .neg(
                0,
                &[
                    0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 1.0, 0.0,
                    0.0, 1.0,
                ],
            )
            .build();
        assert_close(stddev(&h), 27556.344499842);
        assert_close(stdvar(&h), 759352122.1939945);

        // histogram_stddev_stdvar_5: {-10 x 10}.
        let h = hist(0)
            .count(10.0)
            .sum(-100.0)
            .neg(0, &[0.0, 0.0, 0.0, 0.0, 10.0])
            .build();
        assert_close(stddev(&h), 1.3137084989848);
        assert_close(stdvar(&h), 1.725830020304794);

        // _6 and _7: NaN and Inf sums propagate.
        let mut h6 = h3.clone();
        h6.sum = f64::NAN;
        assert!(stddev(&h6).is_nan() && stdvar(&h6).is_nan());
        let mut h7 = h3.clone();
        h7.sum = f64::INFINITY;
        assert_eq!(stddev(&h7), f64::INFINITY);
        assert_eq!(stdvar(&h7), f64::INFINITY);

        // Custom buckets use the arithmetic midpoint.
        let c = hist(-53)
            .custom(&[2.0, 4.0])
            .count(2.0)
            .sum(4.0)
            .pos(1, &[2.0])
            .build();
        assert_eq!(stdvar(&c), 1.0);
    }

    #[test]
    fn histogram_avg() {
        assert_eq!(avg(&hist(0).count(4.0).sum(-5.0).build()), -1.25);
        assert!(avg(&hist(0).build()).is_nan());
    }
}
