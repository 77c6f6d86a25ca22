//! The leak detector: one evaluation = current life → floor → candidate fits
//! → the longest fit that passes every test → time to the limit; plus the
//! per-series hysteresis that turns evaluations into a steady signal.

use warden_tsdb::Sample;

use super::config::TrendConfig;
use super::floor::{floor_points, floor_window};
use super::robust::{Line, Point, quantile, slope_std_error, student_t_quantile, theil_sen};
use super::segment::{Life, clean, current_life};

/// What one evaluation concludes about a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Too little usable data since the last restart (or at all) to say
    /// anything: the honest answer after a restart, a hole, or NaNs.
    Insufficient,
    /// No sustained growth of the floor.
    Stable,
    /// The floor grows steadily, but at that rate the peaks stay under the
    /// limit for longer than the horizon (or no limit is known).
    Growth,
    /// The floor grows steadily and the peaks would reach the limit within
    /// the horizon.
    Leak,
}

/// The detector's answer at one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// This evaluation's conclusion.
    pub status: Status,
    /// Whether a leak is reported, after hysteresis: raised when this
    /// evaluation is `Leak` and `Leak` has been seen for `fire_after` with
    /// no gap between two `Leak`s longer than `fire_after`; cleared after
    /// `clear_after` without a `Leak`. This is what an alert should follow.
    pub suspected: bool,
    /// Growth rate of the memory floor (bytes per second) over the fit the
    /// verdict rests on; `None` when nothing could be fitted.
    pub growth_bytes_per_second: Option<f64>,
    /// Seconds until the highest peaks reach the limit at that rate; only
    /// for `Growth` and `Leak`, and only with a finite positive limit.
    pub time_to_limit_seconds: Option<f64>,
}

/// The stateless part of an evaluation, with the details a human (or a
/// debugging engineer) wants to see next to the verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// The conclusion.
    pub status: Status,
    /// Floor growth (bytes/s) of the chosen fit, or of the longest fit tried.
    pub growth_bytes_per_second: Option<f64>,
    /// Time until the peaks reach the limit (seconds), for `Growth`/`Leak`.
    pub time_to_limit_seconds: Option<f64>,
    /// Length of the chosen (or longest tried) fit, seconds.
    pub fit_seconds: Option<f64>,
    /// The span each floor minimum was taken over, seconds.
    pub floor_window_seconds: Option<f64>,
    /// Where the highest peaks are estimated to be now (bytes).
    pub peak_bytes: Option<f64>,
}

impl Assessment {
    fn insufficient() -> Assessment {
        Assessment {
            status: Status::Insufficient,
            growth_bytes_per_second: None,
            time_to_limit_seconds: None,
            fit_seconds: None,
            floor_window_seconds: None,
            peak_bytes: None,
        }
    }
}

/// Fit lengths tried, as multiples of `min_fit`.
const FIT_MULTIPLES: [f64; 8] = [1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0];
/// Fewest floor points a fit is made on.
const MIN_FIT_POINTS: usize = 6;
/// Fewest floor points a part of a fit (a half, the tail, the stretch
/// before) is made on.
const MIN_PART_POINTS: usize = 3;
/// Overlapping floor windows share information: effective points per point.
const FLOOR_POINT_EFFECTIVE: f64 = 1.0 / 1.5;
/// Fewest samples a floor window spans.
const MIN_FLOOR_WINDOW_SAMPLES: f64 = 8.0;
/// Share of the expected samples a life must hold to be judged.
const MIN_COVERAGE: f64 = 0.6;

/// Why a candidate fit was accepted or not; see [`explain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitOutcome {
    /// Too few floor points (or too short a span) in the fit.
    TooFewPoints,
    /// The slope is under `significance_z` standard errors or under
    /// `min_growth_bytes_per_second`.
    NotSignificant,
    /// One half grows much slower than the whole (a step, or a plateau).
    HalvesDisagree,
    /// The second half grows much slower than the first (a warm-up bending
    /// toward its plateau).
    Bending,
    /// The last `tail` does not grow like the whole (growth stopped).
    TailFlat,
    /// The stretch before the fit grew much faster (the end of a warm-up).
    Decelerating,
    /// The life is too young for this fit: growth since a start cannot be
    /// told from a warm-up without history before the fit.
    TooYoung,
    /// Every test passed.
    Passed,
}

/// One candidate fit over the last `len_seconds` of the floor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitReport {
    /// Length of the fit, seconds.
    pub len_seconds: f64,
    /// Floor points in the fit.
    pub points: usize,
    /// Theil–Sen line (time in seconds relative to the evaluation).
    pub line: Option<Line>,
    /// Standard error of the slope.
    pub std_error: Option<f64>,
    /// The verdict on this fit.
    pub outcome: FitOutcome,
}

/// The work behind one evaluation, for people debugging a verdict: the life
/// that was judged, the floor window and every candidate fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Samples in the current life.
    pub life_points: usize,
    /// Lives (restarts + 1) seen in the window.
    pub lives: usize,
    /// Floor window width, seconds.
    pub floor_window_seconds: f64,
    /// The floor points (relative times, seconds).
    pub floor: Vec<Point>,
    /// Every candidate fit tried, shortest first.
    pub fits: Vec<FitReport>,
}

/// The current life of the series at `now_ms`, if it can be judged.
fn judged_life(samples: &[Sample], limit: f64, now_ms: i64, cfg: &TrendConfig) -> Option<Life> {
    let window_ms = i64::try_from(cfg.window.as_millis()).unwrap_or(i64::MAX);
    let points = clean(samples, now_ms, window_ms);
    let life = current_life(points, &cfg.reset, limit)?;
    let (first, last) = (life.points.first()?, life.points.last()?);
    let span = last.t - first.t;
    let stale = -last.t > cfg.reset.max_gap.as_secs_f64();
    let coverage = life.points.len() as f64 * life.interval / span.max(f64::MIN_POSITIVE);
    if stale || span < cfg.min_fit.as_secs_f64() || coverage < MIN_COVERAGE {
        return None;
    }
    Some(life)
}

/// Runs the floor and every candidate fit at `now_ms` and returns them all;
/// `None` when the data is insufficient.
pub fn explain(
    samples: &[Sample],
    limit: f64,
    now_ms: i64,
    cfg: &TrendConfig,
) -> Option<Explanation> {
    let life = judged_life(samples, limit, now_ms, cfg)?;
    explain_life(&life, cfg, true)
}

/// The floor and the candidate fits of a life. With `all == false` the
/// fits are tried longest first and the search stops at the first that
/// passes, which is the only one a verdict uses; either way they are
/// returned shortest first.
fn explain_life(life: &Life, cfg: &TrendConfig, all: bool) -> Option<Explanation> {
    let pts = &life.points;
    let (first, last) = (pts.first()?, pts.last()?);
    // A floor window holds at least 8 samples, whatever the scrape interval:
    // fewer samples catch a trough by luck, and an aliased sawtooth then
    // drifts slowly in the minima.
    let min_w = cfg
        .floor_window_min
        .as_secs_f64()
        .max(MIN_FLOOR_WINDOW_SAMPLES * life.interval);
    let max_w = cfg.floor_window_max.as_secs_f64().max(min_w);
    let width = floor_window(pts, min_w, max_w);
    let floor = floor_points(pts, width, last.t);
    let max_len = (last.t - first.t).min(cfg.window.as_secs_f64());
    let min_fit = cfg.min_fit.as_secs_f64();
    // The life's start is not in view: it began before the window.
    let predates = first.t <= -cfg.window.as_secs_f64() + 2.0 * life.interval && life.lives == 1;
    let mut fits: Vec<FitReport> = Vec::with_capacity(FIT_MULTIPLES.len());
    for m in FIT_MULTIPLES.iter().rev() {
        let len = min_fit * m;
        if len > max_len + 1.0 {
            continue;
        }
        let fit = candidate(&floor, last.t, len, predates, cfg);
        fits.push(fit);
        if !all && fit.outcome == FitOutcome::Passed {
            break;
        }
    }
    fits.reverse();
    Some(Explanation {
        life_points: pts.len(),
        lives: life.lives,
        floor_window_seconds: width,
        floor,
        fits,
    })
}

/// Evaluates one series once, without hysteresis: see the module docs of
/// [`crate::trend`] for the reasoning behind each step.
pub fn assess(samples: &[Sample], limit: f64, now_ms: i64, cfg: &TrendConfig) -> Assessment {
    let Some(life) = judged_life(samples, limit, now_ms, cfg) else {
        return Assessment::insufficient();
    };
    let Some(ex) = explain_life(&life, cfg, false) else {
        return Assessment::insufficient();
    };
    let pts = &life.points;
    let last_t = pts.last().map_or(0.0, |p| p.t);
    let mut out = Assessment {
        status: Status::Stable,
        growth_bytes_per_second: None,
        time_to_limit_seconds: None,
        fit_seconds: None,
        floor_window_seconds: Some(ex.floor_window_seconds),
        peak_bytes: None,
    };
    let best = ex
        .fits
        .iter()
        .rev()
        .find(|f| f.outcome == FitOutcome::Passed);
    let (Some(fit), Some(line)) = (best, best.and_then(|f| f.line)) else {
        match ex.fits.iter().rev().find(|f| f.line.is_some()) {
            Some(f) => {
                out.growth_bytes_per_second = f.line.map(|l| l.slope);
                out.fit_seconds = Some(f.len_seconds);
            }
            None => out.status = Status::Insufficient,
        }
        return out;
    };
    out.growth_bytes_per_second = Some(line.slope);
    out.fit_seconds = Some(fit.len_seconds);
    let from = pts.partition_point(|p| p.t < last_t - fit.len_seconds);
    let mut above: Vec<f64> = pts[from..].iter().map(|p| p.v - line.at(p.t)).collect();
    let peak = line.at(0.0) + quantile(&mut above, cfg.peak_quantile).unwrap_or(0.0);
    out.peak_bytes = Some(peak);
    out.status = Status::Growth;
    if limit.is_finite() && limit > 0.0 {
        let ttl = ((limit - peak) / line.slope).max(0.0);
        out.time_to_limit_seconds = Some(ttl);
        if ttl <= cfg.horizon.as_secs_f64() {
            out.status = Status::Leak;
        }
    }
    out
}

/// Slope of the Theil–Sen fit of `pts`, when there are enough of them.
fn part_slope(pts: &[Point]) -> Option<f64> {
    if pts.len() < MIN_PART_POINTS {
        return None;
    }
    theil_sen(pts).map(|l| l.slope)
}

/// Whether part of a fit grows at `ratio` of the whole fit's rate `beta`,
/// allowing one standard error of the part's own slope: a half fit has
/// half the points and half the span, so it is ~3× noisier than the whole,
/// and the allowance is capped at half the required rate so that a flat
/// half (a step, a plateau) still fails.
fn part_keeps_up(pts: &[Point], beta: f64, ratio: f64) -> Option<bool> {
    if pts.len() < MIN_PART_POINTS {
        return None;
    }
    let line = theil_sen(pts)?;
    let se = slope_std_error(pts, &line, pts.len() as f64 * FLOOR_POINT_EFFECTIVE).unwrap_or(0.0);
    Some(line.slope + se.min(0.5 * ratio * beta) >= ratio * beta)
}

/// Fits the floor over `[end - len, end]` and runs the tests in order:
/// significant growth; both halves growing (no step, no plateau); the
/// second half not much slower than the first (no bend toward a plateau);
/// the tail still growing; no faster growth just before (not the end of a
/// warm-up).
fn candidate(
    floor: &[Point],
    end: f64,
    len: f64,
    life_predates_window: bool,
    cfg: &TrendConfig,
) -> FitReport {
    let start = end - len;
    let from = floor.partition_point(|p| p.t < start);
    let pts = &floor[from..];
    let mut rep = FitReport {
        len_seconds: len,
        points: pts.len(),
        line: None,
        std_error: None,
        outcome: FitOutcome::TooFewPoints,
    };
    let (Some(a), Some(b)) = (pts.first(), pts.last()) else {
        return rep;
    };
    if pts.len() < MIN_FIT_POINTS || b.t - a.t < 0.75 * len {
        return rep;
    }
    let Some(line) = theil_sen(pts) else {
        return rep;
    };
    rep.line = Some(line);
    let beta = line.slope;
    let n_eff = pts.len() as f64 * FLOOR_POINT_EFFECTIVE;
    rep.std_error = slope_std_error(pts, &line, n_eff);
    rep.outcome = FitOutcome::NotSignificant;
    let Some(se) = rep.std_error else {
        return rep;
    };
    let t_crit = student_t_quantile(cfg.significance_z, n_eff - 2.0);
    if !(beta > t_crit * se && beta >= cfg.min_growth_bytes_per_second) {
        return rep;
    }
    let r = cfg.consistency_ratio;
    let mid = pts.partition_point(|p| p.t < end - len / 2.0);
    let (h1, h2) = (&pts[..mid], &pts[mid..]);
    let (Some(b1), Some(b2), Some(k1), Some(k2)) = (
        part_slope(h1),
        part_slope(h2),
        part_keeps_up(h1, beta, r),
        part_keeps_up(h2, beta, r),
    ) else {
        rep.outcome = FitOutcome::TooFewPoints;
        return rep;
    };
    if !(k1 && k2) {
        rep.outcome = FitOutcome::HalvesDisagree;
        return rep;
    }
    if b2 * cfg.deceleration_ratio < b1 {
        rep.outcome = FitOutcome::Bending;
        return rep;
    }
    let tail = cfg.tail.as_secs_f64();
    if tail < len / 2.0 {
        let t_from = pts.partition_point(|p| p.t < end - tail);
        if !part_keeps_up(&pts[t_from..], beta, r).unwrap_or(false) {
            rep.outcome = FitOutcome::TailFlat;
            return rep;
        }
    }
    // The stretch just before the fit: needed (at least half the fit's
    // length of it) unless the life began before the window, since growth
    // from the very start of a life cannot be told from a warm-up.
    let prev_from = floor.partition_point(|p| p.t < start - len);
    let prev = &floor[prev_from..from];
    let prev_span = match (prev.first(), prev.last()) {
        (Some(pa), Some(pb)) => pb.t - pa.t,
        _ => 0.0,
    };
    if prev_span < len / 2.0 - 1.0 {
        if !life_predates_window {
            rep.outcome = FitOutcome::TooYoung;
            return rep;
        }
    } else if part_slope(prev).is_some_and(|s| s > cfg.deceleration_ratio * beta) {
        rep.outcome = FitOutcome::Decelerating;
        return rep;
    }
    rep.outcome = FitOutcome::Passed;
    rep
}

/// Hysteresis state of one series.
#[derive(Debug, Clone, Default, PartialEq)]
struct Hysteresis {
    last_now: Option<i64>,
    leak_since: Option<i64>,
    last_leak: Option<i64>,
    quiet_since: Option<i64>,
    suspected: bool,
}

/// A leak detector for one series. It keeps only its hysteresis state (a
/// few words); the samples are the caller's, so 1,000 tracked series cost
/// 1,000 small structs beyond the store.
#[derive(Debug, Clone)]
pub struct LeakDetector {
    config: TrendConfig,
    state: Hysteresis,
}

impl LeakDetector {
    /// A detector with this tuning and no history.
    pub fn new(config: TrendConfig) -> LeakDetector {
        LeakDetector {
            config,
            state: Hysteresis::default(),
        }
    }

    /// The tuning in use.
    pub fn config(&self) -> &TrendConfig {
        &self.config
    }

    /// Forgets the hysteresis state (as if newly created).
    pub fn reset(&mut self) {
        self.state = Hysteresis::default();
    }

    /// Evaluates the series at `now_ms` from `samples` (oldest first; only
    /// those within the window up to `now_ms` are used) against `limit`
    /// (bytes; non-finite or non-positive when unknown). Evaluations are
    /// expected in time order; going back in time resets the hysteresis.
    pub fn evaluate(&mut self, samples: &[Sample], limit: f64, now_ms: i64) -> Verdict {
        let a = assess(samples, limit, now_ms, &self.config);
        if self.state.last_now.is_some_and(|t| now_ms < t) {
            self.reset();
        }
        self.state.last_now = Some(now_ms);
        let fire_ms = duration_ms(self.config.fire_after);
        let clear_ms = duration_ms(self.config.clear_after);
        let st = &mut self.state;
        if a.status == Status::Leak {
            st.quiet_since = None;
            st.last_leak = Some(now_ms);
            let since = *st.leak_since.get_or_insert(now_ms);
            if now_ms.saturating_sub(since) >= fire_ms {
                st.suspected = true;
            }
        } else {
            // A short dropout (one noisy fit) does not restart the count.
            let dropout = st
                .last_leak
                .is_none_or(|t| now_ms.saturating_sub(t) > fire_ms);
            if dropout {
                st.leak_since = None;
            }
            if st.suspected {
                let since = *st.quiet_since.get_or_insert(now_ms);
                if now_ms.saturating_sub(since) >= clear_ms {
                    st.suspected = false;
                    st.quiet_since = None;
                }
            }
        }
        Verdict {
            status: a.status,
            suspected: st.suspected,
            growth_bytes_per_second: a.growth_bytes_per_second,
            time_to_limit_seconds: a.time_to_limit_seconds,
        }
    }
}

fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_tsdb::STALE_NAN;

    const MIN: i64 = 60_000;

    /// Samples every 15 s from 0 to `hours`, value from `f(t_seconds)`.
    fn series(hours: f64, f: impl Fn(f64) -> f64) -> Vec<Sample> {
        let n = (hours * 240.0) as i64;
        (0..=n)
            .map(|i| Sample {
                t: i * 15_000,
                v: f(i as f64 * 15.0),
            })
            .collect()
    }

    /// A 100 MB sawtooth with a 2-minute period and a little noise.
    fn saw(t: f64) -> f64 {
        let noise = ((t * 7.3).sin() * 43758.5453).fract() * 2e6;
        (t % 120.0) / 120.0 * 100e6 + noise
    }

    /// Runs a detector every minute up to the end; returns the verdicts.
    fn run(samples: &[Sample], limit: f64) -> Vec<(i64, Verdict)> {
        let mut d = LeakDetector::new(TrendConfig::default());
        let end = samples.last().map_or(0, |s| s.t);
        (0..=end / MIN)
            .map(|k| {
                let now = k * MIN;
                let hi = samples.partition_point(|s| s.t <= now);
                (now, d.evaluate(&samples[..hi], limit, now))
            })
            .collect()
    }

    #[test]
    fn a_leak_under_a_sawtooth_is_found_with_its_rate() {
        let rate = 2e6 / 60.0;
        let s = series(4.0, |t| 500e6 + rate * t + saw(t));
        let vs = run(&s, 2e9);
        let (t, v) = vs.iter().find(|(_, v)| v.suspected).expect("found");
        assert!(*t < 90 * MIN, "found only at {t}");
        let g = v.growth_bytes_per_second.unwrap();
        assert!((g / rate - 1.0).abs() < 0.15, "rate {g}");
        assert!(v.time_to_limit_seconds.unwrap() < 24.0 * 3600.0);
        assert!(vs.last().unwrap().1.suspected);
    }

    #[test]
    fn flat_sawtooth_is_never_a_leak() {
        let s = series(8.0, |t| 500e6 + saw(t));
        assert!(run(&s, 1e9).iter().all(|(_, v)| !v.suspected));
    }

    #[test]
    fn too_little_or_bad_data_is_insufficient_never_a_leak() {
        // Fewer points than a fit needs.
        let short = series(0.4, |t| 100e6 + 1e5 * t);
        let v = LeakDetector::new(TrendConfig::default()).evaluate(&short, 2e8, 24 * MIN);
        assert_eq!(v.status, Status::Insufficient);
        assert!(!v.suspected);
        // Only NaNs and staleness markers.
        let nans: Vec<Sample> = (0..2000)
            .map(|i| Sample {
                t: i * 15_000,
                v: if i % 2 == 0 { f64::NAN } else { STALE_NAN },
            })
            .collect();
        let v = LeakDetector::new(TrendConfig::default()).evaluate(&nans, 2e8, 2000 * 15_000);
        assert_eq!(v.status, Status::Insufficient);
        // Empty input.
        let v = LeakDetector::new(TrendConfig::default()).evaluate(&[], 2e8, 0);
        assert_eq!(v.status, Status::Insufficient);
        // A series that stopped reporting an hour ago.
        let old = series(3.0, |t| 100e6 + 1e5 * t);
        let v = LeakDetector::new(TrendConfig::default()).evaluate(&old, 2e9, 4 * 60 * MIN);
        assert_eq!(v.status, Status::Insufficient);
    }

    #[test]
    fn staleness_markers_and_holes_do_not_hide_a_leak() {
        let rate = 2e6 / 60.0;
        let mut s = series(4.0, |t| 500e6 + rate * t + saw(t));
        for (i, x) in s.iter_mut().enumerate() {
            if i % 9 == 0 {
                x.v = STALE_NAN;
            } else if i % 13 == 0 {
                x.v = f64::NAN;
            }
        }
        s.retain(|x| !(6000..6300).contains(&(x.t / 1000)));
        assert!(run(&s, 2e9).iter().any(|(_, v)| v.suspected));
    }

    #[test]
    fn future_samples_are_not_used() {
        // Flat until now, a steep (fake) rise after now.
        let s = series(6.0, |t| {
            if t < 3.0 * 3600.0 {
                400e6 + saw(t)
            } else {
                400e6 + 1e5 * t
            }
        });
        let mut d = LeakDetector::new(TrendConfig::default());
        let v = d.evaluate(&s, 1e9, 3 * 60 * MIN - 1000);
        assert_ne!(v.status, Status::Leak);
    }

    #[test]
    fn without_a_limit_growth_is_growth_not_leak() {
        let s = series(4.0, |t| 500e6 + 3e4 * t + saw(t));
        let vs = run(&s, f64::NAN);
        assert!(vs.iter().all(|(_, v)| !v.suspected));
        assert!(vs.iter().any(|(_, v)| v.status == Status::Growth));
        assert!(vs.iter().all(|(_, v)| v.time_to_limit_seconds.is_none()));
    }

    #[test]
    fn slow_growth_far_from_the_limit_is_growth() {
        // 10 MB/h at 300 MB with a 64 GB limit: centuries away.
        let s = series(8.0, |t| 300e6 + 2778.0 * t + saw(t) * 0.1);
        let vs = run(&s, 64e9);
        assert!(vs.iter().all(|(_, v)| !v.suspected));
        assert!(vs.iter().any(|(_, v)| v.status == Status::Growth));
    }

    #[test]
    fn a_stopped_leak_clears_within_an_hour() {
        let rate = 2e6 / 60.0;
        let stop = 3.0 * 3600.0;
        let s = series(6.0, |t| 500e6 + rate * t.min(stop) + saw(t));
        let vs = run(&s, 2e9);
        assert!(vs.iter().any(|(t, v)| v.suspected && *t < 3 * 60 * MIN));
        let last_fire = vs
            .iter()
            .filter(|(_, v)| v.suspected)
            .map(|(t, _)| *t)
            .max();
        assert!(last_fire.unwrap() < 4 * 60 * MIN, "{last_fire:?}");
    }

    #[test]
    fn hysteresis_needs_fire_after_and_resets_when_time_goes_back() {
        let s = series(4.0, |t| 500e6 + 4e4 * t + saw(t));
        let cfg = TrendConfig::default();
        let mut d = LeakDetector::new(cfg.clone());
        let mut first_leak = None;
        let mut first_fire = None;
        for k in 0..=240 {
            let now = k * MIN;
            let hi = s.partition_point(|x| x.t <= now);
            let v = d.evaluate(&s[..hi], 2e9, now);
            if v.status == Status::Leak && first_leak.is_none() {
                first_leak = Some(now);
            }
            if v.suspected && first_fire.is_none() {
                first_fire = Some(now);
            }
        }
        let (l, f) = (first_leak.unwrap(), first_fire.unwrap());
        assert!(f - l >= duration_ms(cfg.fire_after), "{l} {f}");
        // Going back in time forgets the state.
        let v = d.evaluate(&s[..10], 2e9, 10 * 15_000);
        assert!(!v.suspected);
    }
}
