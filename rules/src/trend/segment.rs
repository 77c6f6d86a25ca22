//! From raw samples to the current life of the series: bad samples dropped,
//! and everything before the last restart (or long hole) cut off.
//!
//! A restart resets memory to its start level; fitting across it would see
//! a fall (hiding a leak) or, after the warm-up, a rise (faking one).

use std::collections::VecDeque;

use warden_tsdb::{Sample, is_stale_nan};

use super::config::ResetRule;
use super::robust::{Point, median};

/// The samples of the current life, ready for fitting.
#[derive(Debug, Clone, PartialEq)]
pub struct Life {
    /// Points with `t` in seconds relative to the evaluation time (so `t <= 0`).
    pub points: Vec<Point>,
    /// Usual interval between samples, seconds (median over the window).
    pub interval: f64,
    /// How many lives the window held (1 when no restart was seen).
    pub lives: usize,
}

/// Drops what cannot be a measurement: staleness markers and other NaNs,
/// infinities, negative values, samples outside `[now - window, now]`, and
/// samples not strictly after their predecessor.
pub fn clean(samples: &[Sample], now_ms: i64, window_ms: i64) -> Vec<Point> {
    let from = now_ms.saturating_sub(window_ms);
    let mut out: Vec<Point> = Vec::with_capacity(samples.len());
    let mut last_t = i64::MIN;
    for s in samples {
        if s.t < from || s.t > now_ms || s.t <= last_t {
            continue;
        }
        if is_stale_nan(s.v) || !s.v.is_finite() || s.v < 0.0 {
            continue;
        }
        last_t = s.t;
        out.push(Point {
            t: (s.t - now_ms) as f64 / 1000.0,
            v: s.v,
        });
    }
    out
}

/// Splits cleaned points at restarts (see [`ResetRule`]) and returns the
/// last life. `None` when fewer than two points remain.
pub fn current_life(points: Vec<Point>, rule: &ResetRule, limit: f64) -> Option<Life> {
    if points.len() < 2 {
        return None;
    }
    let mut dts: Vec<f64> = points.windows(2).map(|w| w[1].t - w[0].t).collect();
    let interval = median(&mut dts)?;
    let max_gap = rule.max_gap.as_secs_f64();
    let lookback = rule.floor_lookback.as_secs_f64();
    // Sliding minimum over the last `lookback` seconds: (t, v), increasing v.
    let mut floor: VecDeque<Point> = VecDeque::new();
    let mut start = 0;
    let mut lives = 1;
    for i in 0..points.len() {
        let p = points[i];
        if i > 0 {
            let dt = p.t - points[i - 1].t;
            let recent = floor.front().map(|f| f.v);
            let reset = dt > max_gap
                || recent.is_some_and(|f| is_reset(p.v, f, dt > 2.0 * interval, rule, limit));
            if reset {
                start = i;
                lives += 1;
                floor.clear();
            }
        }
        while floor.back().is_some_and(|b| b.v >= p.v) {
            floor.pop_back();
        }
        floor.push_back(p);
        while floor.front().is_some_and(|f| f.t < p.t - lookback) {
            floor.pop_front();
        }
    }
    let mut points = points;
    points.drain(..start);
    Some(Life {
        points,
        interval,
        lives,
    })
}

/// Whether `v` is so far below the recent floor that a new life began.
fn is_reset(v: f64, floor: f64, after_gap: bool, rule: &ResetRule, limit: f64) -> bool {
    let mut drop = f64::INFINITY;
    if rule.floor_fraction > 0.0 {
        drop = drop.min(floor * rule.floor_fraction);
    }
    if rule.limit_fraction > 0.0 && limit.is_finite() && limit > 0.0 {
        drop = drop.min(limit * rule.limit_fraction);
    }
    if after_gap && rule.gap_floor_fraction > 0.0 {
        drop = drop.min(floor * rule.gap_floor_fraction);
    }
    drop.is_finite() && v < floor - drop
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::config::TrendConfig;
    use warden_tsdb::STALE_NAN;

    fn s(t_s: i64, v: f64) -> Sample {
        Sample { t: t_s * 1000, v }
    }

    #[test]
    fn bad_samples_are_dropped() {
        let raw = [
            s(0, 1.0),
            s(15, f64::NAN),
            s(30, STALE_NAN),
            s(45, f64::INFINITY),
            s(60, -5.0),
            s(60, 2.0),
            s(50, 2.0),
            s(75, 3.0),
            s(200, 4.0),
        ];
        let pts = clean(&raw, 100_000, 100_000);
        let vs: Vec<f64> = pts.iter().map(|p| p.v).collect();
        assert_eq!(vs, vec![1.0, 2.0, 3.0]);
        assert_eq!(pts[0].t, -100.0);
    }

    #[test]
    fn a_restart_starts_a_new_life() {
        let rule = TrendConfig::default().reset;
        let mut raw = Vec::new();
        for i in 0..100 {
            raw.push(s(i * 15, 500e6 + (i % 4) as f64 * 20e6));
        }
        // 45 s hole, then the process is back at 60 MB.
        for i in 103..200 {
            raw.push(s(i * 15, 60e6 + (i - 103) as f64 * 1e5));
        }
        let pts = clean(&raw, 199 * 15 * 1000, 6 * 3600 * 1000);
        let life = current_life(pts, &rule, 1e9).unwrap();
        assert_eq!(life.lives, 2);
        assert_eq!(life.points.len(), 97);
        assert_eq!(life.interval, 15.0);
    }

    #[test]
    fn gc_drops_and_scrape_holes_are_not_restarts() {
        let rule = TrendConfig::default().reset;
        let mut raw = Vec::new();
        for i in 0..400 {
            if (150..153).contains(&i) {
                continue; // a short hole in scraping
            }
            // a 200 MB sawtooth over a 600 MB floor
            raw.push(s(i * 15, 600e6 + (i % 20) as f64 * 10e6));
        }
        let pts = clean(&raw, 399 * 15 * 1000, 6 * 3600 * 1000);
        let life = current_life(pts, &rule, 2e9).unwrap();
        assert_eq!(life.lives, 1);
    }

    #[test]
    fn a_log_rotation_is_a_new_life_for_filesystems() {
        let rule = TrendConfig::filesystem().reset;
        let size = 100e9;
        let mut raw = Vec::new();
        for i in 0..100 {
            raw.push(s(i * 60, 50e9 + i as f64 * 1e6));
        }
        for i in 100..150 {
            raw.push(s(i * 60, 49e9 + i as f64 * 1e6));
        }
        let pts = clean(&raw, 149 * 60 * 1000, 12 * 3600 * 1000);
        let life = current_life(pts, &rule, size).unwrap();
        assert_eq!(life.lives, 2);
        assert_eq!(life.points.len(), 50);
    }
}
