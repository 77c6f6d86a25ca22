//! Prometheus-style durations and byte sizes, as they appear in `warden.yml`.
//!
//! Users paste values from `prometheus.yml` (`15s`, `1h30m`, `15d`) and from
//! Prometheus's flags (`512MB`), so both parse exactly as Prometheus parses
//! them, and a bad value is refused where it stands in the file.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer};

/// A duration written the Prometheus way: units `y w d h m s ms`, largest
/// first, each at most once (`1h30m`, `15s`, `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    /// The duration as a standard library value.
    pub fn get(self) -> Duration {
        self.0
    }
}

/// Parses a Prometheus duration (`model.ParseDuration` semantics).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3600 * 1000),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("m", 60 * 1000),
        ("s", 1000),
        ("ms", 1),
    ];
    let bad = || format!("not a valid duration string: {s:?} (expected e.g. 15s, 1m30s, 2h, 15d)");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut rest = s;
    let mut total: u64 = 0;
    // Index of the next unit allowed: units must come largest first, once.
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        // `ms` must be tried before `m`.
        let found = UNITS
            .iter()
            .enumerate()
            .skip(next_unit)
            .filter(|(_, (u, _))| rest.starts_with(u))
            .max_by_key(|(_, (u, _))| u.len());
        let Some((idx, (unit, ms))) = found else {
            return Err(bad());
        };
        rest = &rest[unit.len()..];
        total = n
            .checked_mul(*ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration out of range: {s:?}"))?;
        next_unit = idx + 1;
    }
    Ok(Duration::from_millis(total))
}

/// Formats a duration the way Prometheus prints one (`1h30m`, `15s`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis() as u64;
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("y", 365 * 24 * 3600 * 1000u64),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("m", 60 * 1000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(PromDuration)
            .map_err(de::Error::custom)
    }
}

/// A byte size with base-2 units, as Prometheus's `--storage.tsdb.retention.size`
/// takes it (`512MB` = 512 MiB; `B KB MB GB TB PB EB`, `KiB` etc. also accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

/// Parses a base-2 byte size (`0`, `100B`, `512MB`, `1GiB`).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let bad = || format!("not a valid size: {s:?} (expected e.g. 512MB, 2GB; units are base 2)");
    if s == "0" {
        return Ok(0);
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(bad());
    }
    let n: u64 = s[..digits].parse().map_err(|_| bad())?;
    let shift = match &s[digits..] {
        "B" => 0,
        "KB" | "KiB" => 10,
        "MB" | "MiB" => 20,
        "GB" | "GiB" => 30,
        "TB" | "TiB" => 40,
        "PB" | "PiB" => 50,
        "EB" | "EiB" => 60,
        _ => return Err(bad()),
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size out of range: {s:?}"))
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_bytes(&s).map(ByteSize).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_prometheus() {
        let ok = |s: &str| parse_duration(s).unwrap().as_millis();
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("15s"), 15_000);
        assert_eq!(ok("1m30s"), 90_000);
        assert_eq!(ok("1h"), 3_600_000);
        assert_eq!(ok("100ms"), 100);
        assert_eq!(ok("1s500ms"), 1_500);
        assert_eq!(ok("15d"), 15 * 86_400_000);
        assert_eq!(ok("1w"), 7 * 86_400_000);
        assert_eq!(ok("1y"), 365 * 86_400_000);
        for bad in [
            "", "1", "s", "1.5s", "30s1m", "1m1m", "-1s", "1 s", "1x", "ms",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn durations_print_like_prometheus() {
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
    }

    #[test]
    fn sizes_are_base_two() {
        assert_eq!(parse_bytes("0").unwrap(), 0);
        assert_eq!(parse_bytes("100B").unwrap(), 100);
        assert_eq!(parse_bytes("1KB").unwrap(), 1024);
        assert_eq!(parse_bytes("512MB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("2GiB").unwrap(), 2 << 30);
        for bad in ["", "MB", "1.5GB", "10", "10mb", "-1B"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
