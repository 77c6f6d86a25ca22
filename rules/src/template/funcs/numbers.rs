//! `humanize`, `humanize1024`, `humanizePercentage` and the number
//! conversion they share (Prometheus's `convertToFloat`).

use gotmpl::Value;

use crate::template::sites::go_quote;
use crate::template::value::{Types, go_g4};

/// Prometheus's `convertToFloat`: a float64, an int, an unsigned int or a
/// string Go's `strconv.ParseFloat` reads; anything else is an error.
pub fn to_float(types: &Types, v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Uint(u) => Ok(*u as f64),
        Value::String(s) => parse_float(s),
        other => Err(format!("can't convert {} to float", types.type_name(other))),
    }
}

/// Go's `strconv.ParseFloat(s, 64)`, with its error messages.
pub fn parse_float(s: &str) -> Result<f64, String> {
    let invalid = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote(s)
        )
    };
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let special = match lower.as_str() {
        "inf" | "infinity" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    };
    let magnitude = if let Some(v) = special {
        v
    } else if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex).ok_or_else(invalid)?
    } else {
        let plain = strip_underscores(body).ok_or_else(invalid)?;
        if !plain
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return Err(invalid());
        }
        let v: f64 = plain.parse().map_err(|_| invalid())?;
        if v.is_infinite() {
            return Err(format!(
                "strconv.ParseFloat: parsing {}: value out of range",
                go_quote(s)
            ));
        }
        v
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// Go accepts `_` between digits only after a base prefix, so a decimal
/// number with one is invalid.
fn strip_underscores(s: &str) -> Option<&str> {
    if s.contains('_') { None } else { Some(s) }
}

/// The part of a hex float after `0x`: hex mantissa, optional point,
/// mandatory `p` exponent.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = s.split_once('p')?;
    let exp: i32 = exp.replace('_', "").parse().ok()?;
    let mantissa = mantissa.replace('_', "");
    let (int, frac) = mantissa.split_once('.').unwrap_or((&mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// `humanize`: SI prefixes, four significant digits.
pub fn humanize(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g4(v);
    }
    let mut v = v;
    if v.abs() >= 1.0 {
        let mut prefix = "";
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return format!("{}{prefix}", go_g4(v));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", go_g4(v))
}

/// `humanize1024`: binary prefixes, four significant digits.
pub fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return go_g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", go_g4(v))
}

/// `humanizePercentage`: a ratio as a percentage.
pub fn humanize_percentage(v: f64) -> String {
    format!("{}%", go_g4(v * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_uses_si_prefixes() {
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize(1.0), "1");
        assert_eq!(humanize(1234567.891), "1.235M");
        assert_eq!(humanize(-1234.0), "-1.234k");
        assert_eq!(humanize(0.001234), "1.234m");
        assert_eq!(humanize(1e-30), "1e-06y");
        assert_eq!(humanize(1e30), "1e+06Y");
        assert_eq!(humanize(f64::NAN), "NaN");
        assert_eq!(humanize(f64::INFINITY), "+Inf");
        assert_eq!(humanize(f64::NEG_INFINITY), "-Inf");
        assert_eq!(humanize(999.9999), "1000");
    }

    #[test]
    fn humanize1024_uses_binary_prefixes() {
        assert_eq!(humanize1024(1.0), "1");
        assert_eq!(humanize1024(-0.5), "-0.5");
        assert_eq!(humanize1024(1024.0), "1ki");
        assert_eq!(humanize1024(1048576.0 * 1.5), "1.5Mi");
        assert_eq!(humanize1024(-2048.0), "-2ki");
        assert_eq!(humanize1024(1023.0), "1023");
    }

    #[test]
    fn percentage() {
        assert_eq!(humanize_percentage(0.1234567), "12.35%");
        assert_eq!(humanize_percentage(1.0), "100%");
        assert_eq!(humanize_percentage(-0.5), "-50%");
    }

    #[test]
    fn parse_float_reads_what_go_reads() {
        assert_eq!(parse_float("1.5"), Ok(1.5));
        assert_eq!(parse_float("-1e3"), Ok(-1000.0));
        assert_eq!(parse_float(".5"), Ok(0.5));
        assert_eq!(parse_float("+Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_float("-infinity"), Ok(f64::NEG_INFINITY));
        assert!(parse_float("NaN").is_ok_and(f64::is_nan));
        assert_eq!(parse_float("0x1p-2"), Ok(0.25));
        assert_eq!(parse_float("0x1.8p1"), Ok(3.0));
        assert_eq!(
            parse_float("abc"),
            Err("strconv.ParseFloat: parsing \"abc\": invalid syntax".into())
        );
        assert_eq!(
            parse_float(" 1"),
            Err("strconv.ParseFloat: parsing \" 1\": invalid syntax".into())
        );
        assert_eq!(
            parse_float("1_000"),
            Err("strconv.ParseFloat: parsing \"1_000\": invalid syntax".into())
        );
        assert_eq!(
            parse_float("1e400"),
            Err("strconv.ParseFloat: parsing \"1e400\": value out of range".into())
        );
        assert_eq!(parse_float("1e-400"), Ok(0.0));
        assert!(parse_float("").is_err());
        assert!(parse_float("0x10").is_err());
    }

    #[test]
    fn to_float_accepts_numbers_and_numeric_strings() {
        let t = Types::default();
        assert_eq!(to_float(&t, &Value::Int(3)), Ok(3.0));
        assert_eq!(to_float(&t, &Value::Uint(3)), Ok(3.0));
        assert_eq!(to_float(&t, &Value::String("2.5".into())), Ok(2.5));
        assert_eq!(
            to_float(&t, &Value::Bool(true)),
            Err("can't convert bool to float".into())
        );
        assert_eq!(
            to_float(&t, &Value::Nil),
            Err("can't convert <nil> to float".into())
        );
    }
}
