//! Numbers as written in test scripts: series values (no hexadecimal, since
//! `x` is the repetition marker) and bare scalar result lines (Go's
//! `ParseInt(s, 0, 64)` then `ParseFloat` rules, so `0x1F` is allowed there).

/// Reads a float at the start of `s`: optional sign, then `Inf`, `NaN`
/// (any case) or a decimal with optional fraction and exponent. Returns the
/// value and the bytes consumed, or `None` when `s` does not start with one.
pub fn parse_number_prefix(s: &str) -> Option<(f64, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let neg = b.first() == Some(&b'-');
    let word = |w: &str| {
        s.get(i..i + w.len())
            .is_some_and(|x| x.eq_ignore_ascii_case(w))
    };
    if word("inf") {
        let v = if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        return Some((v, i + 3));
    }
    if word("nan") {
        return Some((f64::NAN, i + 3));
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - digits_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - f;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let e = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > e {
            i = j;
        }
    }
    s[..i].parse().ok().map(|v| (v, i))
}

/// Parses a bare scalar result line the way the upstream harness does:
/// first as a Go integer literal with base prefix (`0x1F`, `0o17`, `0b1`,
/// `017` octal, `_` separators), then as a Go float (`1e-3`, `.5`, `Inf`,
/// `NaN`, `infinity`).
pub fn parse_scalar_line(s: &str) -> Option<f64> {
    if let Some(v) = parse_go_int(s) {
        return Some(v as f64);
    }
    parse_go_float(s)
}

fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    // Go allows '_' between digits only with a base prefix.
    if digits.contains('_') && !prefixed {
        return None;
    }
    if digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    let v = i64::from_str_radix(&clean, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        let v = parse_hex_float(hex)?;
        return Some(if s.starts_with('-') { -v } else { v });
    }
    // Rust accepts the same special words as Go ("inf", "infinity", "nan",
    // any case); refuse what Go refuses: empty, '_' separators.
    if body.is_empty() || body.contains('_') {
        return None;
    }
    if !body
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'+' || c == b'-')
    {
        return None;
    }
    s.parse().ok()
}

/// Go's hexadecimal float after `0x`: `h[.h]p[+-]d` (the exponent is
/// mandatory), e.g. `1.8p1` = 3.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = s.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0.0f64;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_numbers() {
        assert_eq!(parse_number_prefix("1x3"), Some((1.0, 1)));
        assert_eq!(parse_number_prefix("-2.5E-3+1"), Some((-2.5e-3, 7)));
        assert_eq!(parse_number_prefix(".5"), Some((0.5, 2)));
        assert_eq!(parse_number_prefix("+Inf"), Some((f64::INFINITY, 4)));
        assert_eq!(parse_number_prefix("-inf"), Some((f64::NEG_INFINITY, 4)));
        assert!(parse_number_prefix("NaN").unwrap().0.is_nan());
        assert_eq!(parse_number_prefix("1e"), Some((1.0, 1)));
        assert_eq!(parse_number_prefix("0x1F"), Some((0.0, 1)));
        assert_eq!(parse_number_prefix("x"), None);
        assert_eq!(parse_number_prefix("-"), None);
        assert_eq!(parse_number_prefix("."), None);
    }

    #[test]
    fn scalar_lines() {
        assert_eq!(parse_scalar_line("3"), Some(3.0));
        assert_eq!(parse_scalar_line("-1.5"), Some(-1.5));
        assert_eq!(parse_scalar_line("0x1F"), Some(31.0));
        assert_eq!(parse_scalar_line("010"), Some(8.0));
        assert_eq!(parse_scalar_line("0b101"), Some(5.0));
        assert_eq!(parse_scalar_line("1e-3"), Some(1e-3));
        assert_eq!(parse_scalar_line("+Inf"), Some(f64::INFINITY));
        assert!(parse_scalar_line("NaN").unwrap().is_nan());
        assert_eq!(parse_scalar_line("{} 1"), None);
        assert_eq!(parse_scalar_line("metric"), None);
        assert_eq!(parse_scalar_line("1_000"), None);
        assert_eq!(parse_scalar_line("0x_1F"), Some(31.0));
        assert_eq!(parse_scalar_line("0x1.8p1"), Some(3.0));
        assert_eq!(parse_scalar_line("-0x1p-2"), Some(-0.25));
        assert_eq!(parse_scalar_line("0x1.8"), None);
    }
}
