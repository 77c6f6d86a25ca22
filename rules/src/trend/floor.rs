//! The post-GC floor: one minimum per GC cycle or so.
//!
//! Garbage-collected runtimes draw a sawtooth: the heap rises until a
//! collection drops it back to what is really live. A leak raises what is
//! live, so the detector fits the troughs, not the raw series (whose mean
//! and peaks swing by the sawtooth's amplitude). The window each minimum is
//! taken over must span at least one collection, so it is sized from the
//! GC period seen in the data.

use super::robust::{Point, median, quantile};

/// How far back the GC period is estimated from (seconds).
const PERIOD_LOOKBACK_S: f64 = 2.0 * 3600.0;
/// Chunk length used to measure the sawtooth's amplitude (seconds).
const AMPLITUDE_CHUNK_S: f64 = 600.0;

/// Estimates the span a floor window needs (seconds), clamped to
/// `[min_s, max_s]`: 1.6 × the 75th percentile of the time between GC drops.
/// A drop is a fall between two samples larger than half the typical
/// peak-to-trough range of 10-minute chunks. With fewer than four drops in
/// view the period is unknown and the longest window is used.
pub fn floor_window(points: &[Point], min_s: f64, max_s: f64) -> f64 {
    let Some(last) = points.last() else {
        return max_s;
    };
    let from = points.partition_point(|p| p.t < last.t - PERIOD_LOOKBACK_S);
    let pts = &points[from..];
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < pts.len() {
        let chunk_end = pts[i].t + AMPLITUDE_CHUNK_S;
        let j = i + pts[i..].partition_point(|p| p.t < chunk_end);
        if let Some(r) = detrended_range(&pts[i..j]) {
            ranges.push(r);
        }
        i = j;
    }
    let Some(range) = median(&mut ranges) else {
        return max_s;
    };
    let threshold = 0.5 * range;
    if threshold <= 0.0 {
        return min_s;
    }
    let mut drops = Vec::new();
    let mut in_drop = false;
    for w in pts.windows(2) {
        let falling = w[1].v - w[0].v < -threshold;
        if falling && !in_drop {
            drops.push(w[1].t);
        }
        in_drop = falling;
    }
    if drops.len() < 4 {
        return max_s;
    }
    let mut gaps: Vec<f64> = drops.windows(2).map(|w| w[1] - w[0]).collect();
    match quantile(&mut gaps, 0.75) {
        Some(p75) => (1.6 * p75).clamp(min_s, max_s),
        None => max_s,
    }
}

/// Peak-to-trough range of `pts` around their least-squares line, so that
/// a warm-up or a leak inside the chunk does not count as amplitude.
/// `None` with fewer than 4 points.
fn detrended_range(pts: &[Point]) -> Option<f64> {
    if pts.len() < 4 {
        return None;
    }
    let n = pts.len() as f64;
    let mt = pts.iter().map(|p| p.t).sum::<f64>() / n;
    let mv = pts.iter().map(|p| p.v).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.t - mt).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.t - mt) * (p.v - mv)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in pts {
        let r = p.v - mv - slope * (p.t - mt);
        lo = lo.min(r);
        hi = hi.max(r);
    }
    Some(hi - lo)
}

/// The floor points of `points` (relative times, last point near 0):
/// the minimum of each window of `width` seconds, windows ending at `end`,
/// `end - width/4`, … and lying wholly inside the data. Each point keeps the
/// time of its minimum; a minimum found by two overlapping windows is kept
/// once. Oldest first.
pub fn floor_points(points: &[Point], width: f64, end: f64) -> Vec<Point> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    let stride = width / 4.0;
    let mut out: Vec<(usize, Point)> = Vec::new();
    let mut hi_t = end;
    while hi_t - width >= first.t - 1e-9 {
        let lo = points.partition_point(|p| p.t < hi_t - width);
        let hi = points.partition_point(|p| p.t <= hi_t);
        let best = points[lo..hi]
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.v.total_cmp(&b.1.v));
        if let Some((k, p)) = best {
            let idx = lo + k;
            if out.last().is_none_or(|(j, _)| *j != idx) {
                out.push((idx, *p));
            }
        }
        hi_t -= stride;
    }
    out.reverse();
    out.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saw(period_s: f64, amp: f64, hours: f64, slope: f64) -> Vec<Point> {
        let n = (hours * 3600.0 / 15.0) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 * 15.0 - n as f64 * 15.0;
                let phase = (t.rem_euclid(period_s)) / period_s;
                Point {
                    t,
                    v: 500e6 + slope * t + amp * phase,
                }
            })
            .collect()
    }

    #[test]
    fn window_follows_the_gc_period() {
        let w = floor_window(&saw(300.0, 200e6, 2.0, 0.0), 240.0, 900.0);
        assert!((450.0..=500.0).contains(&w), "{w}");
        let w = floor_window(&saw(90.0, 200e6, 2.0, 0.0), 240.0, 900.0);
        assert_eq!(w, 240.0);
        let w = floor_window(&saw(1800.0, 200e6, 1.0, 0.0), 240.0, 900.0);
        assert_eq!(w, 900.0, "too few drops: the period is unknown");
    }

    #[test]
    fn floor_points_follow_the_troughs() {
        let pts = saw(300.0, 200e6, 2.0, 1000.0);
        let fl = floor_points(&pts, 480.0, 0.0);
        assert!(fl.len() >= 20, "{}", fl.len());
        for p in &fl {
            let trough = 500e6 + 1000.0 * p.t;
            assert!(p.v - trough < 11e6, "{} above the trough", p.v - trough);
        }
        assert!(fl.windows(2).all(|w| w[0].t < w[1].t));
    }
}
