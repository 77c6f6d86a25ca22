//! Counter and gauge rates over a window: rate, increase, delta (with
//! Prometheus's extrapolation), irate, idelta, deriv, predict_linear,
//! changes, resets.

use warden_tsdb::Sample;

use super::math::linear_regression;

/// Prometheus's `extrapolatedRate` for float samples. `start`/`end` are the
/// window bounds in ms; `range_s` the selector range in seconds;
/// `start_times` is empty or one start timestamp per sample (`0`: none).
///
/// For counters, start timestamps add resets the values hide (see
/// [`is_start_time_reset`]), and a first sample whose start time lies inside
/// the window stands for a rise from zero at that time: the rate then runs
/// from there instead of being extrapolated to the left, and one such
/// sample is enough for a result.
pub(crate) fn extrapolated_rate(
    s: &[Sample],
    start_times: &[i64],
    start: i64,
    end: i64,
    range_s: f64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let (first, last) = (*s.first()?, *s.last()?);
    let n1 = s.len() - 1;
    let st = |k: usize| start_times.get(k).copied().unwrap_or(0);
    let mut result = last.v - first.v;
    if is_counter {
        for (k, w) in s.windows(2).enumerate() {
            if w[1].v < w[0].v || is_start_time_reset(st(k), w[0].t, st(k + 1), w[1].t) {
                result += w[0].v;
            }
        }
    }
    let first_st = st(0);
    let started_at =
        (is_counter && first_st != 0 && first_st > start && first_st < first.t).then_some(first_st);
    if started_at.is_some() {
        result += first.v;
    } else if n1 == 0 {
        return None;
    }
    let extrapolation = Extrapolation {
        start,
        end,
        first_t: first.t,
        last_t: last.t,
        intervals: n1,
        started_at,
        first_share: (is_counter && result > 0.0 && first.v >= 0.0).then(|| first.v / result),
    };
    let mut factor = extrapolation.factor();
    if is_rate {
        factor /= range_s;
    }
    Some(result * factor)
}

/// How Prometheus's `extrapolatedRate` stretches a window's increase from
/// its first and last samples to the window's bounds; the float and the
/// histogram paths share it.
pub(crate) struct Extrapolation {
    /// Window bounds (ms).
    pub start: i64,
    pub end: i64,
    /// Times (ms) of the window's first and last samples.
    pub first_t: i64,
    pub last_t: i64,
    /// Intervals between the window's samples (samples − 1).
    pub intervals: usize,
    /// The first sample's start time when the counter started inside the
    /// window: the increase then runs from there, not extrapolated left.
    pub started_at: Option<i64>,
    /// For a counter whose increase and first value are positive: the
    /// first value's share of the increase, which caps the extrapolation
    /// to the left at the point the counter would have been zero.
    pub first_share: Option<f64>,
}

impl Extrapolation {
    /// The factor the raw increase is multiplied by (before a rate's
    /// division by the range).
    pub fn factor(&self) -> f64 {
        let mut to_start = (self.first_t - self.start) as f64 / 1000.0;
        let mut to_end = (self.end - self.last_t) as f64 / 1000.0;
        let mut sampled = (self.last_t - self.first_t) as f64 / 1000.0;
        let avg = if self.intervals > 0 {
            sampled / self.intervals as f64
        } else {
            0.0
        };
        let threshold = avg * 1.1;
        if let Some(started_at) = self.started_at {
            to_start = 0.0;
            sampled = (self.last_t - started_at) as f64 / 1000.0;
        } else {
            if to_start >= threshold {
                to_start = avg / 2.0;
            }
            if let Some(share) = self.first_share {
                to_start = to_start.min(sampled * share);
            }
        }
        if to_end >= threshold {
            to_end = avg / 2.0;
        }
        if sampled != 0.0 {
            (sampled + to_start + to_end) / sampled
        } else {
            1.0
        }
    }
}

/// Whether a sample's start timestamp says its counter restarted since the
/// previous sample (Prometheus's `isStartTimestampReset`). A start time at
/// or after the sample, or `0`, says nothing; one after the previous sample
/// is a restart; one equal to the previous sample's time is a delta sample
/// (a restart) only when the previous sample had a known start time of its
/// own, otherwise a cumulative series whose start is unknown.
pub(crate) fn is_start_time_reset(prev_st: i64, prev_t: i64, st: i64, t: i64) -> bool {
    if st == 0 || st >= t || st < prev_t {
        return false;
    }
    if st > prev_t {
        return true;
    }
    prev_st <= prev_t && prev_st != 0 && prev_st != prev_t
}

/// Whether a sample's start time falls before the previous sample without
/// being the same start as the previous one: the two samples claim to
/// cover overlapping time, which Prometheus warns about.
pub(crate) fn start_time_overlaps(start_times: &[i64], s: &[Sample]) -> bool {
    start_times.len() == s.len()
        && (1..s.len()).any(|k| {
            let st = start_times[k];
            st != 0 && st < s[k - 1].t && st != start_times[k - 1]
        })
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

/// irate (`is_rate`) and idelta over the last two samples; for irate a
/// start timestamp can mark the reset (`start_times` empty or one per sample).
pub(crate) fn instant_value(s: &[Sample], start_times: &[i64], is_rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let n = s.len();
    let (a, b) = (s[n - 2], s[n - 1]);
    let interval = b.t - a.t;
    if interval == 0 {
        return None;
    }
    let st = |k: usize| start_times.get(k).copied().unwrap_or(0);
    let reset = b.v < a.v || is_start_time_reset(st(n - 2), a.t, st(n - 1), b.t);
    let mut v = if !is_rate || !reset { b.v - a.v } else { b.v };
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

/// resets: how often the value decreased or a start timestamp marked a
/// restart (`start_times` empty or one per sample).
pub(crate) fn resets(s: &[Sample], start_times: &[i64]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let st = |k: usize| start_times.get(k).copied().unwrap_or(0);
    let n = s
        .windows(2)
        .enumerate()
        .filter(|(k, w)| w[1].v < w[0].v || is_start_time_reset(st(*k), w[0].t, st(k + 1), w[1].t))
        .count();
    Some(n as f64)
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
        let r = extrapolated_rate(&s, &[], 0, 300_000, 300.0, true, true).unwrap();
        assert!((r - 50.0 / 300.0).abs() < 1e-12);
    }

    #[test]
    fn start_time_inside_the_window_replaces_left_extrapolation() {
        // One sample at 4m that started counting at 3m30s: 5 over 30s.
        let s = pts(&[(240_000, 5.0)]);
        let inc = extrapolated_rate(&s, &[210_000], 0, 300_000, 300.0, true, false);
        assert_eq!(inc, Some(5.0));
        assert_eq!(
            extrapolated_rate(&s, &[], 0, 300_000, 300.0, true, false),
            None
        );
    }

    #[test]
    fn start_time_resets() {
        // Delta samples (start = previous time) after one with a start time.
        assert!(is_start_time_reset(60_000, 120_000, 120_000, 180_000));
        // Cumulative with unknown start: the previous sample had none.
        assert!(!is_start_time_reset(0, 120_000, 120_000, 180_000));
        // A start after the previous sample is a restart; before it is not.
        assert!(is_start_time_reset(0, 0, 30_000, 60_000));
        assert!(!is_start_time_reset(0, 10_000, 5_000, 60_000));
        // A start at or after the sample itself says nothing.
        assert!(!is_start_time_reset(0, 0, 60_000, 60_000));
        let s = pts(&[(0, 5.0), (60_000, 5.0), (120_000, 6.0)]);
        assert_eq!(resets(&s, &[-1, 30_000, 30_000]), Some(1.0));
        assert!(start_time_overlaps(&[-120_000, -60_000, 0], &s));
        assert!(!start_time_overlaps(&[-1, -1, -1], &s));
    }

    #[test]
    fn irate_handles_reset() {
        let s = pts(&[(0, 10.0), (10_000, 2.0)]);
        assert_eq!(instant_value(&s, &[], true), Some(0.2));
        assert_eq!(instant_value(&s, &[], false), Some(-8.0));
        let up = pts(&[(0, 10.0), (10_000, 12.0)]);
        assert_eq!(instant_value(&up, &[0, 5_000], true), Some(1.2));
    }
}
