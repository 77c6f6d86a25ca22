//! `humanizeDuration`, `humanizeTimestamp`, `toTime`, `toDuration`, `now`
//! and `parseDuration`.

use crate::template::value::{go_float, go_g4};

/// `humanizeDuration`: seconds as `1d 2h 3m 4s`, or with SI prefixes below one second.
pub fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return go_g4(v);
    }
    if v == 0.0 {
        return format!("{}s", go_g4(v));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        // Go's int64(v): saturating on amd64 for huge values is not
        // guaranteed; Rust's saturating cast is the closest defined behaviour.
        let whole = v as i64;
        let seconds = whole % 60;
        let minutes = (whole / 60) % 60;
        let hours = (whole / 60 / 60) % 24;
        let days = whole / 60 / 60 / 24;
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", go_g4(v));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g4(v))
}

/// Why a number is not a time.
#[derive(Debug, PartialEq)]
pub enum TimeError {
    /// NaN or ±Inf (`humanizeTimestamp` prints these as they are).
    NotFinite,
    /// Out of the nanosecond range of an int64.
    Overflow(String),
}

/// Prometheus's `floatToTime`: Unix seconds to nanoseconds, truncated to
/// milliseconds as `model.Time` does.
pub fn float_to_time_ns(v: f64) -> Result<i64, TimeError> {
    if !v.is_finite() {
        return Err(TimeError::NotFinite);
    }
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(TimeError::Overflow(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            go_float(v)
        )));
    }
    let ms = (ns as i64) / 1_000_000;
    Ok(ms.saturating_mul(1_000_000))
}

/// `toDuration`: seconds to a Go `time.Duration` (nanoseconds).
pub fn to_duration_ns(v: f64) -> i64 {
    let ns = v * 1e9;
    if ns.is_nan() || ns >= i64::MAX as f64 || ns < i64::MIN as f64 {
        // Go's out-of-range float-to-int64 conversion on amd64.
        return i64::MIN;
    }
    ns as i64
}

/// `parseDuration`: a Prometheus duration (`1h30m`) in seconds.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    if s.is_empty() {
        return Err("empty duration string".to_string());
    }
    let ms = crate::rulefmt::parse_duration_ms(s)?;
    Ok(ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_duration_as_prometheus() {
        assert_eq!(humanize_duration(0.0), "0s");
        assert_eq!(humanize_duration(1.0), "1s");
        assert_eq!(humanize_duration(60.0), "1m 0s");
        assert_eq!(humanize_duration(3600.0), "1h 0m 0s");
        assert_eq!(humanize_duration(86400.0 + 3600.0), "1d 1h 0m 0s");
        assert_eq!(
            humanize_duration(-(86400.0 * 2.0 + 3600.0 * 3.0 + 240.0 + 5.0)),
            "-2d 3h 4m 5s"
        );
        assert_eq!(humanize_duration(899.99), "14m 59s");
        assert_eq!(humanize_duration(0.1), "100ms");
        assert_eq!(humanize_duration(0.0001), "100us");
        assert_eq!(humanize_duration(0.12345), "123.5ms");
        assert_eq!(humanize_duration(60.5), "1m 0s");
        assert_eq!(humanize_duration(1.2345), "1.234s");
        assert_eq!(humanize_duration(12.345), "12.35s");
        assert_eq!(humanize_duration(1234567.0), "14d 6h 56m 7s");
        assert_eq!(humanize_duration(-0.5), "-500ms");
        assert_eq!(humanize_duration(f64::NAN), "NaN");
        assert_eq!(humanize_duration(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn times_truncate_to_milliseconds() {
        assert_eq!(float_to_time_ns(1.0), Ok(1_000_000_000));
        assert_eq!(
            float_to_time_ns(1435065584.128),
            Ok(1_435_065_584_128_000_000)
        );
        assert_eq!(float_to_time_ns(0.0001234), Ok(0));
        assert_eq!(float_to_time_ns(f64::NAN), Err(TimeError::NotFinite));
        assert_eq!(
            float_to_time_ns(9.3e9),
            Err(TimeError::Overflow(
                "9.3e+09 cannot be represented as a nanoseconds timestamp since it overflows int64"
                    .into()
            ))
        );
    }

    #[test]
    fn durations() {
        assert_eq!(to_duration_ns(1.5), 1_500_000_000);
        assert_eq!(to_duration_ns(-2.0), -2_000_000_000);
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration("0"), Ok(0.0));
        assert_eq!(parse_duration("250ms"), Ok(0.25));
        assert_eq!(parse_duration(""), Err("empty duration string".into()));
        assert_eq!(
            parse_duration("1x"),
            Err("not a valid duration string: \"1x\"".into())
        );
    }
}
