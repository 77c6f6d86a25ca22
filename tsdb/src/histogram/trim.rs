//! Trimming (PromQL's `</` and `>/`): Prometheus's
//! `FloatHistogram.TrimBuckets`. Buckets wholly on the kept side stay, the
//! bucket holding the trim point is interpolated (linearly for custom
//! buckets, exponentially otherwise), the others are emptied; the sum is
//! re-estimated from the midpoints of what remains.

use super::{Bucket, FloatHistogram};

/// The representative value of a surviving interval: the arithmetic mean
/// for custom buckets, the geometric mean for exponential ones, with
/// Prometheus's conventions for infinite bounds.
fn midpoint(lower: f64, upper: f64, positive: bool, linear: bool) -> f64 {
    if lower.is_infinite() {
        if upper.is_infinite() {
            return 0.0;
        }
        if upper > 0.0 {
            return upper / 2.0;
        }
        return upper;
    } else if upper.is_infinite() {
        return lower;
    }
    if linear {
        return (lower + upper) / 2.0;
    }
    let geo_mean = (lower * upper).abs().sqrt();
    if positive { geo_mean } else { -geo_mean }
}

/// `x`, or 0 when infinite.
fn zero_if_inf(x: f64) -> f64 {
    if x.is_infinite() { 0.0 } else { x }
}

/// For a bucket with an infinite bound, whose distribution is unknown: the
/// count kept and the midpoint of what survives.
fn infinity_bucket_trim(upper_trim: bool, b: &Bucket, rhs: f64) -> (f64, f64) {
    if b.lower == f64::NEG_INFINITY {
        if upper_trim {
            if rhs >= b.upper {
                return (b.count, 0.0);
            }
            if rhs > 0.0 && b.upper > 0.0 && b.upper != f64::INFINITY {
                // Only custom buckets get here: treat the lower bound as 0.
                return (b.count * rhs / b.upper, rhs / 2.0);
            }
            if b.upper <= 0.0 {
                return (b.count, rhs);
            }
            return (0.0, zero_if_inf(b.upper));
        }
        if rhs <= b.lower {
            return (b.count, 0.0);
        }
        if rhs >= 0.0 && b.upper > rhs && b.upper != f64::INFINITY {
            return (b.count * (1.0 - rhs / b.upper), (rhs + b.upper) / 2.0);
        }
        return (0.0, zero_if_inf(b.upper));
    }
    // The upper bound is +Inf.
    if upper_trim {
        return (0.0, zero_if_inf(b.lower));
    }
    if rhs >= b.lower {
        return (b.count, rhs);
    }
    (0.0, zero_if_inf(b.lower))
}

/// The part of a bucket's count at or below `rhs`.
fn split(b: &Bucket, rhs: f64, positive: bool, linear: bool) -> f64 {
    if rhs <= b.lower {
        return 0.0;
    }
    if rhs >= b.upper {
        return b.count;
    }
    let fraction = if linear {
        (rhs - b.lower) / (b.upper - b.lower)
    } else {
        let log_lower = b.lower.abs().log2();
        let log_upper = b.upper.abs().log2();
        let log_v = rhs.abs().log2();
        if positive {
            (log_v - log_lower) / (log_upper - log_lower)
        } else {
            1.0 - ((log_v - log_upper) / (log_lower - log_upper))
        }
    };
    b.count * fraction
}

/// For the bucket holding the trim point: the count kept and the midpoint
/// of the surviving interval.
fn bucket_trim(b: &Bucket, rhs: f64, upper_trim: bool, positive: bool, custom: bool) -> (f64, f64) {
    if b.lower == f64::NEG_INFINITY || b.upper == f64::INFINITY {
        return infinity_bucket_trim(upper_trim, b, rhs);
    }
    let under = split(b, rhs, positive, custom);
    if upper_trim {
        return (under, midpoint(b.lower, rhs, positive, custom));
    }
    (b.count - under, midpoint(rhs, b.upper, positive, custom))
}

/// The zero bucket's kept count and midpoint. It straddles zero, so which
/// half counts depends on whether the histogram has observations on the
/// other side at all.
fn zero_bucket_trim(
    zero: &Bucket,
    rhs: f64,
    has_negative: bool,
    has_positive: bool,
    upper_trim: bool,
) -> (f64, f64) {
    let (mut lower, mut upper) = (zero.lower, zero.upper);
    if has_negative && !has_positive {
        upper = 0.0;
    }
    if has_positive && !has_negative {
        lower = 0.0;
    }
    let (fraction, mid) = if upper_trim {
        if rhs <= lower {
            return (0.0, 0.0);
        }
        if rhs >= upper {
            return (zero.count, (lower + upper) / 2.0);
        }
        ((rhs - lower) / (upper - lower), (lower + rhs) / 2.0)
    } else {
        if rhs <= lower {
            return (zero.count, (lower + upper) / 2.0);
        }
        if rhs >= upper {
            return (0.0, 0.0);
        }
        ((upper - rhs) / (upper - lower), (rhs + upper) / 2.0)
    };
    (zero.count * fraction, mid)
}

/// Trims one side's buckets; returns whether a bucket changed.
#[allow(clippy::too_many_arguments)]
fn trim_side(
    buckets: &[Bucket],
    cells: &mut [f64],
    rhs: f64,
    upper_trim: bool,
    positive: bool,
    custom: bool,
    count: &mut f64,
    sum: &mut f64,
) -> bool {
    let mut trimmed = false;
    for (i, bucket) in buckets.iter().enumerate() {
        if bucket.count == 0.0 {
            continue;
        }
        let (all_kept, partly) = if upper_trim {
            (bucket.upper <= rhs, bucket.lower < rhs)
        } else {
            (bucket.lower >= rhs, bucket.upper > rhs)
        };
        if all_kept {
            *count += bucket.count;
            *sum += midpoint(bucket.lower, bucket.upper, positive, custom) * bucket.count;
        } else if partly {
            let (keep, mid) = bucket_trim(bucket, rhs, upper_trim, positive, custom);
            *count += keep;
            *sum += mid * keep;
            if cells[i] != keep {
                cells[i] = keep;
                trimmed = true;
            }
        } else {
            cells[i] = 0.0;
            trimmed = true;
        }
    }
    trimmed
}

impl FloatHistogram {
    /// Trims the histogram in place to the observations below
    /// (`upper_trim`, PromQL's `</`) or above (`>/`) `rhs` (Prometheus's
    /// `TrimBuckets`). Count and sum change only if some bucket did.
    pub fn trim_buckets(&mut self, rhs: f64, upper_trim: bool) {
        trim_histogram(self, rhs, upper_trim);
    }
}

fn trim_histogram(h: &mut FloatHistogram, rhs: f64, upper_trim: bool) {
    let custom = h.uses_custom_buckets();
    let mut count = 0.0;
    let mut sum = 0.0;
    let positive: Vec<Bucket> = h.positive_bucket_iter().collect();
    let negative: Vec<Bucket> = h.negative_bucket_iter().collect();
    let has_positive = positive.iter().any(|b| b.count != 0.0);
    let has_negative = negative.iter().any(|b| b.count != 0.0);
    let mut trimmed = trim_side(
        &positive,
        &mut h.positive_buckets,
        rhs,
        upper_trim,
        true,
        custom,
        &mut count,
        &mut sum,
    );
    trimmed |= trim_side(
        &negative,
        &mut h.negative_buckets,
        rhs,
        upper_trim,
        false,
        custom,
        &mut count,
        &mut sum,
    );
    if h.zero_count > 0.0
        && let Some(zero) = h.zero_bucket()
    {
        let (keep, mid) = zero_bucket_trim(&zero, rhs, has_negative, has_positive, upper_trim);
        if h.zero_count != keep {
            h.zero_count = keep;
            trimmed = true;
        }
        sum += mid * keep;
        count += keep;
    }
    if trimmed {
        h.count = count;
        h.sum = sum;
        h.compact(0);
    }
}
