//! Go's `%g` and `%f` float formatting.
//!
//! Histogram strings and error messages are compared with Prometheus's, so
//! floats in them must be printed the way Go's `fmt` prints them: shortest
//! round-trip digits, scientific notation from an exponent of 6 up or below
//! −4, at least two exponent digits, and `+Inf`/`-Inf`/`NaN`.

/// Formats `v` as Go's `fmt.Sprintf("%g", v)` (and `%v`) does.
pub(crate) fn format_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Rust's `{:e}` yields the shortest round-trip digits, like Go's
    // shortest formatting; only the layout differs.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let exp: i64 = exponent.parse().unwrap_or(0);

    let mut out = String::new();
    if v < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits
            .split_first()
            .map_or((b'0', &[][..]), |(f, r)| (*f, r));
        out.push(char::from(first));
        if !rest.is_empty() {
            out.push('.');
            out.extend(rest.iter().map(|&d| char::from(d)));
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let magnitude = exp.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
    } else if exp >= 0 {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        for i in 0..int_len {
            out.push(char::from(*digits.get(i).unwrap_or(&b'0')));
        }
        if let Some(fraction) = digits.get(int_len..).filter(|f| !f.is_empty()) {
            out.push('.');
            out.extend(fraction.iter().map(|&d| char::from(d)));
        }
    } else {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.extend(digits.iter().map(|&d| char::from(d)));
    }
    out
}

/// Formats `v` as Go's `fmt.Sprintf("%f", v)` does: six decimals, and
/// `+Inf`/`-Inf`/`NaN` for the special values.
pub(crate) fn format_f(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    format!("{v:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_format_g_matches_go() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.7071067811865475, "0.7071067811865475"),
            (1.5e-300, "1.5e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (0.001, "0.001"),
            (123.456, "123.456"),
        ];
        for (v, want) in cases {
            assert_eq!(format_g(v), want, "format_g({v:e})");
        }
    }

    #[test]
    fn histogram_format_f_matches_go() {
        assert_eq!(format_f(2.0), "2.000000");
        assert_eq!(format_f(f64::INFINITY), "+Inf");
        assert_eq!(format_f(-0.5), "-0.500000");
    }
}
