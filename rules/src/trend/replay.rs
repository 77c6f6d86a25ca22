//! Replaying a recorded series as the detector would have seen it live:
//! one evaluation per step, each using only the samples up to its time.
//! This is how `warden leak analyze` answers "would warden have caught
//! this, and when?", and how the scenario tests score the detector.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use warden_tsdb::Sample;

use super::config::TrendConfig;
use super::detector::{LeakDetector, Status};

/// The detector's answer at one step of a replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepResult {
    /// Evaluation time, seconds (same origin as the input rows).
    pub t: f64,
    /// The evaluation's status (before hysteresis).
    pub status: Status,
    /// Whether a leak was reported (after hysteresis).
    pub suspected: bool,
    /// Growth rate of the floor, bytes per second.
    pub growth_bytes_per_second: Option<f64>,
    /// Seconds until the peaks reach the limit.
    pub time_to_limit_seconds: Option<f64>,
}

/// Replays `rows` (`(t_seconds, value)`, time-ordered) against `limit`,
/// evaluating at the first row's time and every `step` after it up to the
/// last row. A zero step is treated as one second.
pub fn replay(
    rows: &[(f64, f64)],
    limit: f64,
    step: Duration,
    config: TrendConfig,
) -> Vec<StepResult> {
    let samples: Vec<Sample> = rows
        .iter()
        .map(|&(t, v)| Sample {
            t: (t * 1000.0).round() as i64,
            v,
        })
        .collect();
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Vec::new();
    };
    let step_ms = i64::try_from(step.as_millis())
        .unwrap_or(i64::MAX)
        .max(1000);
    let window_ms = i64::try_from(config.window.as_millis()).unwrap_or(i64::MAX);
    let (t0, t_end) = (first.t, last.t);
    let mut det = LeakDetector::new(config);
    let mut out = Vec::new();
    let mut now = t0;
    while now <= t_end {
        let lo = samples.partition_point(|s| s.t < now.saturating_sub(window_ms));
        let hi = samples.partition_point(|s| s.t <= now);
        let v = det.evaluate(&samples[lo..hi], limit, now);
        out.push(StepResult {
            t: now as f64 / 1000.0,
            status: v.status,
            suspected: v.suspected,
            growth_bytes_per_second: v.growth_bytes_per_second,
            time_to_limit_seconds: v.time_to_limit_seconds,
        });
        now = match now.checked_add(step_ms) {
            Some(n) => n,
            None => break,
        };
    }
    out
}

/// Why a CSV could not be read. Lines are 1-based, as an editor shows them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsvError {
    /// The file has no header line.
    #[error("line 1: empty file, expected the header `t_seconds,rss_bytes`")]
    Empty,
    /// The header is not `t_seconds,<value column>`.
    #[error(
        "line 1: expected the header `t_seconds,<value>` (e.g. `t_seconds,rss_bytes`), found `{0}`"
    )]
    Header(String),
    /// A row is malformed.
    #[error("line {line}: {message}")]
    Row {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// Parses the scenario format: a header `t_seconds,rss_bytes` (any name for
/// the second column), then `t,value` rows with strictly increasing times.
/// Blank lines are skipped; a value may be `NaN` (the detector ignores it).
pub fn parse_csv(text: &str) -> Result<Vec<(f64, f64)>, CsvError> {
    let mut lines = text.lines().enumerate();
    let header = loop {
        match lines.next() {
            None => return Err(CsvError::Empty),
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((_, l)) => break l.trim(),
        }
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    if cols.len() != 2 || cols[0] != "t_seconds" || cols[1].is_empty() {
        return Err(CsvError::Header(header.to_string()));
    }
    let mut rows: Vec<(f64, f64)> = Vec::new();
    for (i, raw) in lines {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let err = |message: String| CsvError::Row { line, message };
        let mut f = l.split(',');
        let (Some(ts), Some(vs), None) = (f.next(), f.next(), f.next()) else {
            return Err(err(format!(
                "expected 2 fields `t_seconds,value`, found `{l}`"
            )));
        };
        let t: f64 = ts
            .trim()
            .parse()
            .map_err(|_| err(format!("time `{}` is not a number", ts.trim())))?;
        if !t.is_finite() {
            return Err(err(format!("time `{}` is not finite", ts.trim())));
        }
        let v: f64 = vs
            .trim()
            .parse()
            .map_err(|_| err(format!("value `{}` is not a number", vs.trim())))?;
        if let Some(&(prev, _)) = rows.last()
            && t <= prev
        {
            return Err(err(format!(
                "time {t} is not after the previous row's {prev}"
            )));
        }
        rows.push((t, v));
    }
    Ok(rows)
}

fn json_number(x: Option<f64>) -> serde_json::Value {
    x.and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// Writes one JSON object per step:
/// `{"t": <seconds>, "suspected": <bool>, "growth_bytes_per_second": <number|null>, "time_to_limit_seconds": <number|null>}`.
/// Whole-second times are written as integers.
pub fn write_json_lines<W: Write>(results: &[StepResult], mut out: W) -> io::Result<()> {
    for r in results {
        let t = if r.t.fract() == 0.0 && r.t.abs() < 9e15 {
            serde_json::Value::from(r.t as i64)
        } else {
            json_number(Some(r.t))
        };
        // Written by hand to keep the documented field order.
        writeln!(
            out,
            "{{\"t\":{},\"suspected\":{},\"growth_bytes_per_second\":{},\"time_to_limit_seconds\":{}}}",
            t,
            r.suspected,
            json_number(r.growth_bytes_per_second),
            json_number(r.time_to_limit_seconds)
        )?;
    }
    Ok(())
}

/// `h:mm` (or `Nd h:mm`) for a number of seconds.
fn hms(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}:{m:02}")
    } else {
        format!("{h}:{m:02}")
    }
}

/// A few lines for people: each stretch during which a leak was reported
/// (start, end, the rate and time to the limit when it was first raised),
/// or why it never was.
pub fn summarize(results: &[StepResult], limit: f64) -> String {
    let mut s = String::new();
    let (Some(first), Some(last)) = (results.first(), results.last()) else {
        return "no evaluations (empty series)\n".to_string();
    };
    let fired = results.iter().filter(|r| r.suspected).count();
    let _ = writeln!(
        s,
        "{} evaluations from t={} to t={}, limit {:.1} MB; leak reported at {} of them",
        results.len(),
        hms(first.t),
        hms(last.t),
        limit / 1e6,
        fired
    );
    let mut i = 0;
    while i < results.len() {
        if !results[i].suspected {
            i += 1;
            continue;
        }
        let start = &results[i];
        let mut j = i;
        while j + 1 < results.len() && results[j + 1].suspected {
            j += 1;
        }
        let rate = start
            .growth_bytes_per_second
            .map_or("?".to_string(), |r| format!("{:.2} MB/h", r * 3600.0 / 1e6));
        let ttl = start.time_to_limit_seconds.map_or("?".to_string(), hms);
        let end = if j + 1 < results.len() {
            format!("cleared at t={}", hms(results[j + 1].t))
        } else {
            "still reported at the end".to_string()
        };
        let _ = writeln!(
            s,
            "leak flagged at t={}: floor growing {rate}, limit reached in {ttl}; {end}",
            hms(start.t)
        );
        i = j + 1;
    }
    if fired == 0 {
        let mut counts = [0usize; 4];
        for r in results {
            counts[r.status as usize] += 1;
        }
        let _ = writeln!(
            s,
            "never flagged: {} insufficient, {} stable, {} growth (too slow to reach the limit within the horizon), {} leak not sustained",
            counts[0], counts[1], counts[2], counts[3]
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip_and_errors_name_the_line() {
        let rows = parse_csv("t_seconds,rss_bytes\n0,100\n15,200\n\n30,NaN\n").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1], (15.0, 200.0));
        assert!(rows[2].1.is_nan());
        assert_eq!(parse_csv(""), Err(CsvError::Empty));
        assert!(matches!(parse_csv("a,b\n1,2\n"), Err(CsvError::Header(_))));
        let e = parse_csv("t_seconds,rss_bytes\n0,1\n15,x\n").unwrap_err();
        assert_eq!(e.to_string(), "line 3: value `x` is not a number");
        let e = parse_csv("t_seconds,rss_bytes\n0,1\n0,2\n").unwrap_err();
        assert!(
            e.to_string().starts_with("line 3: time 0 is not after"),
            "{e}"
        );
        let e = parse_csv("t_seconds,rss_bytes\n0,1,2\n").unwrap_err();
        assert!(
            e.to_string().starts_with("line 2: expected 2 fields"),
            "{e}"
        );
    }

    #[test]
    fn json_lines_have_exactly_the_four_fields() {
        let rs = [
            StepResult {
                t: 60.0,
                status: Status::Leak,
                suspected: true,
                growth_bytes_per_second: Some(16666.5),
                time_to_limit_seconds: Some(3600.0),
            },
            StepResult {
                t: 120.0,
                status: Status::Insufficient,
                suspected: false,
                growth_bytes_per_second: None,
                time_to_limit_seconds: Some(f64::NAN),
            },
        ];
        let mut buf = Vec::new();
        write_json_lines(&rs, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"t":60,"suspected":true,"growth_bytes_per_second":16666.5,"time_to_limit_seconds":3600.0}"#
        );
        assert_eq!(
            lines[1],
            r#"{"t":120,"suspected":false,"growth_bytes_per_second":null,"time_to_limit_seconds":null}"#
        );
    }

    #[test]
    fn replay_uses_only_the_past_and_summarizes() {
        // 3 h flat, then a 2 MB/min rise for 3 h toward a 1 GB limit.
        let rows: Vec<(f64, f64)> = (0..(6 * 240))
            .map(|i| {
                let t = i as f64 * 15.0;
                let leak = (t - 3.0 * 3600.0).max(0.0) * 2e6 / 60.0;
                (t, 300e6 + leak + (i % 7) as f64 * 1e6)
            })
            .collect();
        let rs = replay(&rows, 1e9, Duration::from_secs(60), TrendConfig::default());
        assert_eq!(rs.len(), 6 * 60);
        assert!(
            rs.iter()
                .filter(|r| r.t < 3.0 * 3600.0)
                .all(|r| !r.suspected)
        );
        let first = rs.iter().find(|r| r.suspected).expect("the leak is found");
        assert!(first.t < 4.5 * 3600.0, "found at {}", first.t);
        let rate = first.growth_bytes_per_second.unwrap();
        assert!((rate * 60.0 / 2e6 - 1.0).abs() < 0.2, "rate {rate}");
        let text = summarize(&rs, 1e9);
        assert!(text.contains("leak flagged at t="), "{text}");
    }
}
