//! Counter and gauge rates over a window: rate, increase, delta (with
//! Prometheus's extrapolation), irate, idelta, deriv, predict_linear,
//! changes, resets.

use warden_tsdb::Sample;

use super::math::linear_regression;

/// Prometheus's `extrapolatedRate` for float samples. `start`/`end` are the
/// window bounds in ms; `range_s` the selector range in seconds.
pub(crate) fn extrapolated_rate(
    s: &[Sample],
    start: i64,
    end: i64,
    range_s: f64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let n1 = s.len() - 1;
    let (first, last) = (s[0], s[n1]);
    let mut result = last.v - first.v;
    if is_counter {
        for w in s.windows(2) {
            if w[1].v < w[0].v {
                result += w[0].v;
            }
        }
    }
    let mut to_start = (first.t - start) as f64 / 1000.0;
    let mut to_end = (end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg = sampled / n1 as f64;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if is_counter {
        let mut to_zero = to_start;
        if result > 0.0 && first.v >= 0.0 {
            to_zero = sampled * (first.v / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= range_s;
    }
    Some(result * factor)
}

/// Prometheus's `extendedRate`: rate/increase/delta over an `anchored` or
/// `smoothed` window (which also holds the samples around the boundaries),
/// without extrapolation; `smoothed` interpolates at both boundaries.
pub(crate) fn extended_rate(
    f: &[Sample],
    start: i64,
    end: i64,
    range_s: f64,
    smoothed: bool,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if f.is_empty() || f[0].t > end {
        return None;
    }
    let mut last = f.len() - 1;
    let mut first = f[..last]
        .partition_point(|x| x.t <= start)
        .saturating_sub(1);
    if smoothed {
        last = f[..last].partition_point(|x| x.t < end);
    }
    if f[last].t <= start {
        return None;
    }
    let interpolate = |a: Sample, b: Sample, t: i64| {
        let y1 = if is_counter && b.v < a.v { 0.0 } else { a.v };
        y1 + (b.v - y1) * (t - a.t) as f64 / (b.t - a.t) as f64
    };
    let left = if smoothed && f[first].t < start && first + 1 < f.len() {
        interpolate(f[first], f[first + 1], start)
    } else {
        f[first].v
    };
    let right = if smoothed && last > 0 && f[last].t > end {
        interpolate(f[last - 1], f[last], end)
    } else {
        f[last].v
    };
    let mut result = right - left;
    if is_counter {
        if f[first].t <= start {
            first += 1;
        }
        if f[last].t >= end && last > 0 {
            last -= 1;
        }
        let mut prev = left;
        if first <= last {
            for p in &f[first..=last] {
                if p.v < prev {
                    result += prev;
                }
                prev = p.v;
            }
        }
        if right < prev {
            result += prev;
        }
    }
    if is_rate {
        result /= range_s;
    }
    Some(result)
}

/// irate (`is_rate`) and idelta over the last two samples.
pub(crate) fn instant_value(s: &[Sample], is_rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (a, b) = (s[s.len() - 2], s[s.len() - 1]);
    let interval = b.t - a.t;
    if interval == 0 {
        return None;
    }
    let mut v = if !is_rate || b.v >= a.v || b.v.is_nan() || a.v.is_nan() {
        b.v - a.v
    } else {
        b.v
    };
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// deriv: the regression slope per second.
pub(crate) fn deriv(s: &[Sample]) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    Some(linear_regression(s, s[0].t).0)
}

/// predict_linear: the regression's value `secs` after `t`.
pub(crate) fn predict_linear(s: &[Sample], t: i64, secs: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(s, t);
    Some(slope * secs + intercept)
}

/// changes: how often the value changed (NaN to NaN is no change).
pub(crate) fn changes(s: &[Sample]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let n = s
        .windows(2)
        .filter(|w| w[1].v != w[0].v && !(w[1].v.is_nan() && w[0].v.is_nan()))
        .count();
    Some(n as f64)
}

/// resets: how often the value decreased.
pub(crate) fn resets(s: &[Sample]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    Some(s.windows(2).filter(|w| w[1].v < w[0].v).count() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(i64, f64)]) -> Vec<Sample> {
        v.iter().map(|&(t, v)| Sample { t, v }).collect()
    }

    #[test]
    fn rate_of_regular_counter() {
        // 0, 10, …, 50 every minute; rate over 5m at 5m covers samples 1m..5m.
        let s = pts(&[
            (60_000, 10.0),
            (120_000, 20.0),
            (180_000, 30.0),
            (240_000, 40.0),
            (300_000, 50.0),
        ]);
        let r = extrapolated_rate(&s, 0, 300_000, 300.0, true, true).unwrap();
        assert!((r - 50.0 / 300.0).abs() < 1e-12);
    }

    #[test]
    fn irate_handles_reset() {
        let s = pts(&[(0, 10.0), (10_000, 2.0)]);
        assert_eq!(instant_value(&s, true), Some(0.2));
        assert_eq!(instant_value(&s, false), Some(-8.0));
    }
}
