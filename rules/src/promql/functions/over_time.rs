//! The `*_over_time` family and other per-window aggregations.

use warden_tsdb::Sample;

use super::math::{kahan_inc, quantile};

/// avg_over_time with Kahan summation, switching to an incremental mean on overflow.
pub(crate) fn avg(s: &[Sample]) -> Option<f64> {
    let first = s.first()?;
    let (mut sum, mut count, mut mean, mut c) = (first.v, 1.0, 0.0, 0.0);
    let mut incremental = false;
    for x in &s[1..] {
        count += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(x.v, sum, c);
            if !ns.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(x.v / count, q * mean, q * c);
    }
    Some(if incremental {
        mean + c
    } else {
        sum / count + c / count
    })
}

/// sum_over_time with Kahan summation.
pub(crate) fn sum(s: &[Sample]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let (mut sum, mut c) = (0.0, 0.0);
    for x in s {
        (sum, c) = kahan_inc(x.v, sum, c);
    }
    Some(if sum.is_infinite() { sum } else { sum + c })
}

/// min_over_time / max_over_time (NaN only wins when nothing else is there).
pub(crate) fn extreme(s: &[Sample], max: bool) -> Option<f64> {
    let mut best = s.first()?.v;
    for x in s {
        if (max && x.v > best) || (!max && x.v < best) || best.is_nan() {
            best = x.v;
        }
    }
    Some(best)
}

/// ts_of_max_over_time / ts_of_min_over_time: the last timestamp of the extreme.
pub(crate) fn ts_of_extreme(s: &[Sample], max: bool) -> Option<f64> {
    let first = s.first()?;
    let (mut best, mut ts) = (first.v, first.t);
    for x in s {
        if (max && x.v >= best) || (!max && x.v <= best) || best.is_nan() {
            best = x.v;
            ts = x.t;
        }
    }
    Some(ts as f64 / 1000.0)
}

/// stdvar_over_time (Welford with Kahan), stddev when `sqrt`.
pub(crate) fn variance(s: &[Sample], sqrt: bool) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let (mut count, mut mean, mut cmean, mut aux, mut caux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for x in s {
        count += 1.0;
        let delta = x.v - (mean + cmean);
        (mean, cmean) = kahan_inc(delta / count, mean, cmean);
        (aux, caux) = kahan_inc(delta * (x.v - (mean + cmean)), aux, caux);
    }
    let var = (aux + caux) / count;
    Some(if sqrt { var.sqrt() } else { var })
}

/// quantile_over_time.
pub(crate) fn quantile_over(q: f64, s: &[Sample]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = s.iter().map(|x| x.v).collect();
    Some(quantile(q, &mut v))
}

/// mad_over_time: median absolute deviation from the median.
pub(crate) fn mad(s: &[Sample]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    if s.iter().any(|x| x.v.is_nan()) {
        return Some(f64::NAN);
    }
    let mut v: Vec<f64> = s.iter().map(|x| x.v).collect();
    let median = quantile(0.5, &mut v);
    let mut d: Vec<f64> = s.iter().map(|x| (x.v - median).abs()).collect();
    Some(quantile(0.5, &mut d))
}

/// double_exponential_smoothing with smoothing factor `sf` and trend factor `tf`.
pub(crate) fn double_exponential_smoothing(s: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let trend = |i: usize, s0: f64, s1: f64, b: f64| {
        if i == 0 {
            b
        } else {
            tf * (s1 - s0) + (1.0 - tf) * b
        }
    };
    let (mut s0, mut s1) = (0.0, s[0].v);
    let mut b = s[1].v - s[0].v;
    for (i, x) in s.iter().enumerate().skip(1) {
        let xs = sf * x.v;
        b = trend(i - 1, s0, s1, b);
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = xs + y;
    }
    Some(s1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[f64]) -> Vec<Sample> {
        v.iter()
            .enumerate()
            .map(|(i, &v)| Sample {
                t: i as i64 * 1000,
                v,
            })
            .collect()
    }

    #[test]
    fn basic_aggregates() {
        let s = pts(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(avg(&s), Some(2.5));
        assert_eq!(sum(&s), Some(10.0));
        assert_eq!(extreme(&s, true), Some(4.0));
        assert_eq!(ts_of_extreme(&s, false), Some(0.0));
        assert_eq!(variance(&s, false), Some(1.25));
        assert_eq!(avg(&[]), None);
    }

    #[test]
    fn nan_loses_to_numbers_in_extremes() {
        let s = pts(&[f64::NAN, 1.0]);
        assert_eq!(extreme(&s, true), Some(1.0));
    }
}
