//! Prometheus duration strings (`1h30m`, `90s`, `0`), as used for every time
//! in a test script: evaluation times, ranges, steps and load intervals.

/// Units in the order they must appear, with their length in milliseconds.
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration into milliseconds.
///
/// Accepts one or more `<integer><unit>` parts in strictly decreasing unit
/// order (each unit at most once) or the bare `0`; no sign, no fraction.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if s.is_empty() {
        return Err("empty duration string".into());
    }
    if s == "0" {
        return Ok(0);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    // Index into UNITS of the next unit allowed.
    let mut next_unit = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(format!("not a valid duration string: {s:?}"));
        }
        let n: i64 = s[start..i]
            .parse()
            .map_err(|_| format!("duration out of range: {s:?}"))?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let pos = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(|| format!("not a valid duration string: {s:?}"))?;
        let (_, ms) = UNITS[next_unit + pos];
        next_unit += pos + 1;
        total = n
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration out of range: {s:?}"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_prometheus_forms() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("1m"), Ok(60_000));
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("5m1ms"), Ok(300_001));
        assert_eq!(parse_duration("1d"), Ok(86_400_000));
        assert_eq!(parse_duration("1w"), Ok(604_800_000));
        assert_eq!(parse_duration("1y"), Ok(31_536_000_000));
        assert_eq!(parse_duration("10ms"), Ok(10));
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "", "m", "1", "1.5m", "-1m", "1m1h", "1m1m", "1 m", "1x", "01mx",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
