//! Prometheus durations (`5m`, `1h30m`, `0`), as rule files write them.

/// Parses a Prometheus duration into milliseconds, with promtool's message
/// for a bad one.
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let bad = || format!("not a valid duration string: {s:?}");
    if s == "0" {
        return Ok(0);
    }
    let d = promql_parser::util::duration::parse_duration(s).map_err(|_| bad())?;
    i64::try_from(d.as_millis()).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations() {
        assert_eq!(parse_duration_ms("5m"), Ok(300_000));
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert_eq!(
            parse_duration_ms("5x"),
            Err("not a valid duration string: \"5x\"".into())
        );
        assert!(parse_duration_ms("-5m").is_err());
    }
}
