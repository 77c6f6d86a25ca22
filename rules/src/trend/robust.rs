//! Robust statistics on small point sets: median, quantile, Theil–Sen slope.
//!
//! Memory series are full of outliers (a GC cycle that was skipped, an
//! allocation burst that outlived the floor window), so every fit the
//! detector makes is a median of pairwise slopes rather than least squares.

/// Largest number of points a Theil–Sen fit looks at. Larger inputs are
/// subsampled evenly, which bounds one fit to `MAX_FIT_POINTS²/2` pairs.
pub const MAX_FIT_POINTS: usize = 96;

/// One point of a fit: time in seconds (relative to any origin) and value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Seconds.
    pub t: f64,
    /// Value (bytes).
    pub v: f64,
}

/// Median of `xs` (reorders it); `None` when empty.
pub fn median(xs: &mut [f64]) -> Option<f64> {
    quantile(xs, 0.5)
}

/// The `q`-quantile of `xs` by the nearest-rank-below rule (reorders it);
/// `None` when empty. `q` is clamped to `[0, 1]`.
pub fn quantile(xs: &mut [f64], q: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let q = q.clamp(0.0, 1.0);
    let k = ((xs.len() - 1) as f64 * q).round() as usize;
    let (_, v, _) = xs.select_nth_unstable_by(k, f64::total_cmp);
    Some(*v)
}

/// A straight line `v = intercept + slope * t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Value at `t = 0`.
    pub intercept: f64,
    /// Change per second.
    pub slope: f64,
}

impl Line {
    /// The line's value at `t`.
    pub fn at(&self, t: f64) -> f64 {
        self.intercept + self.slope * t
    }
}

/// Evenly subsamples `pts` to at most [`MAX_FIT_POINTS`] points, keeping the
/// first and the last.
fn subsample(pts: &[Point]) -> Vec<Point> {
    if pts.len() <= MAX_FIT_POINTS {
        return pts.to_vec();
    }
    let n = pts.len();
    let m = MAX_FIT_POINTS;
    (0..m).map(|i| pts[i * (n - 1) / (m - 1)]).collect()
}

/// Theil–Sen fit: the median of all pairwise slopes, and the median
/// intercept for that slope. `None` with fewer than two distinct times.
pub fn theil_sen(pts: &[Point]) -> Option<Line> {
    let pts = subsample(pts);
    let mut slopes = Vec::with_capacity(pts.len() * pts.len().saturating_sub(1) / 2);
    for (i, a) in pts.iter().enumerate() {
        for b in &pts[i + 1..] {
            let dt = b.t - a.t;
            if dt > 0.0 {
                slopes.push((b.v - a.v) / dt);
            }
        }
    }
    let slope = median(&mut slopes)?;
    let mut icpt: Vec<f64> = pts.iter().map(|p| p.v - slope * p.t).collect();
    let intercept = median(&mut icpt)?;
    Some(Line { intercept, slope })
}

/// Standard error of a slope fitted to `pts`, from the robust spread
/// (1.4826 × MAD) of the residuals around `line`, as if the residuals were
/// independent with `n_eff` effective points (`n_eff <= pts.len()` when
/// neighbouring points are correlated). When the residuals are measurably
/// correlated with their neighbours (lag-1 autocorrelation ρ > 0, e.g. a
/// sawtooth aliased by the sampling drifting slowly), the effective count
/// is further limited to `n (1 − ρ) / (1 + ρ)`: slow wander must not pass
/// for a significant trend. `None` with fewer than 3 points or no spread
/// in time.
pub fn slope_std_error(pts: &[Point], line: &Line, n_eff: f64) -> Option<f64> {
    let n = pts.len();
    if n < 3 {
        return None;
    }
    let mean_t = pts.iter().map(|p| p.t).sum::<f64>() / n as f64;
    let sxx: f64 = pts.iter().map(|p| (p.t - mean_t).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let signed: Vec<f64> = pts.iter().map(|p| p.v - line.at(p.t)).collect();
    let mut res: Vec<f64> = signed.iter().map(|r| r.abs()).collect();
    let sigma = 1.4826 * median(&mut res)?;
    let rho = lag1_autocorrelation(&signed, 3.0 * sigma).clamp(0.0, 0.95);
    let n_eff = n_eff.min(n as f64 * (1.0 - rho) / (1.0 + rho));
    let inflate = (n as f64 / n_eff.clamp(1.0, n as f64)).sqrt();
    Some(sigma / sxx.sqrt() * inflate)
}

/// The Student-t quantile with `df` degrees of freedom at the same tail
/// probability as the normal quantile `z` (Cornish–Fisher expansion, good
/// to 1 % from 10 degrees of freedom, 10 % low at 4). A slope estimated from a handful of
/// points, with its spread estimated from the same points, needs more than
/// `z` standard errors to be as unlikely by chance.
pub fn student_t_quantile(z: f64, df: f64) -> f64 {
    let df = df.max(1.0);
    let (z3, z5) = (z.powi(3), z.powi(5));
    z + (z3 + z) / (4.0 * df) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
}

/// Lag-1 autocorrelation of `xs` (around their mean), each clipped to
/// `±clip` so that one outlier cannot dominate; 0 when undefined.
fn lag1_autocorrelation(xs: &[f64], clip: f64) -> f64 {
    if xs.len() < 3 || clip.is_nan() || clip <= 0.0 {
        return 0.0;
    }
    let c: Vec<f64> = xs.iter().map(|x| x.clamp(-clip, clip)).collect();
    let mean = c.iter().sum::<f64>() / c.len() as f64;
    let var: f64 = c.iter().map(|x| (x - mean).powi(2)).sum();
    if var <= 0.0 {
        return 0.0;
    }
    let cov: f64 = c.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum();
    cov / var
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_pts(slope: f64, n: usize) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                t: i as f64 * 60.0,
                v: 100.0 + slope * i as f64 * 60.0,
            })
            .collect()
    }

    #[test]
    fn theil_sen_recovers_an_exact_line() {
        let l = theil_sen(&line_pts(2.5, 20)).unwrap();
        assert!((l.slope - 2.5).abs() < 1e-9);
        assert!((l.intercept - 100.0).abs() < 1e-6);
    }

    #[test]
    fn theil_sen_ignores_a_few_outliers() {
        let mut pts = line_pts(1.0, 30);
        pts[3].v += 1e6;
        pts[17].v -= 1e6;
        pts[25].v += 5e5;
        let l = theil_sen(&pts).unwrap();
        assert!((l.slope - 1.0).abs() < 0.05, "{}", l.slope);
    }

    #[test]
    fn theil_sen_on_many_points_is_subsampled_and_still_right() {
        let l = theil_sen(&line_pts(-3.0, 1000)).unwrap();
        assert!((l.slope + 3.0).abs() < 1e-9);
    }

    #[test]
    fn degenerate_inputs_give_none() {
        assert!(theil_sen(&[]).is_none());
        let same_t = [Point { t: 1.0, v: 1.0 }, Point { t: 1.0, v: 2.0 }];
        assert!(theil_sen(&same_t).is_none());
        assert!(median(&mut []).is_none());
    }

    #[test]
    fn quantiles_pick_ranks() {
        let mut xs = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(median(&mut xs), Some(3.0));
        assert_eq!(quantile(&mut xs, 1.0), Some(5.0));
        assert_eq!(quantile(&mut xs, 0.0), Some(1.0));
    }

    #[test]
    fn t_quantiles_approach_the_normal_one() {
        // The t quantiles at the tail of z = 3 (p = 0.00135), from
        // numerical integration of the t density: 3.957 (10 df), 3.270 (30).
        assert!((student_t_quantile(3.0, 10.0) - 3.957).abs() < 0.1);
        assert!((student_t_quantile(3.0, 30.0) - 3.270).abs() < 0.03);
        assert!((student_t_quantile(3.0, 1e6) - 3.0).abs() < 1e-3);
    }

    #[test]
    fn slow_wander_inflates_the_std_error() {
        // A flat series wandering in slow waves: neighbours are alike.
        let pts: Vec<Point> = (0..60)
            .map(|i| Point {
                t: i as f64 * 60.0,
                v: 100.0 + 50.0 * (i as f64 / 6.0).sin(),
            })
            .collect();
        let l = Line {
            intercept: 100.0,
            slope: 0.0,
        };
        let independent = {
            let mut alt = pts.clone();
            for (i, p) in alt.iter_mut().enumerate() {
                p.v = 100.0 + if i % 2 == 0 { 35.0 } else { -35.0 };
            }
            slope_std_error(&alt, &l, 60.0).unwrap()
        };
        let wander = slope_std_error(&pts, &l, 60.0).unwrap();
        assert!(wander > 3.0 * independent, "{wander} vs {independent}");
    }

    #[test]
    fn std_error_grows_with_noise_and_correlation() {
        let mut pts = line_pts(1.0, 40);
        for (i, p) in pts.iter_mut().enumerate() {
            p.v += if i % 2 == 0 { 50.0 } else { -50.0 };
        }
        let l = theil_sen(&pts).unwrap();
        let se = slope_std_error(&pts, &l, 40.0).unwrap();
        let se_corr = slope_std_error(&pts, &l, 10.0).unwrap();
        assert!(se > 0.0);
        assert!((se_corr / se - 2.0).abs() < 1e-9);
    }
}
