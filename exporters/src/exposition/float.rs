//! Numbers as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes them, which
//! is what Prometheus's client libraries and node_exporter put on the wire:
//! the shortest digits that read back to the same float, in exponent form
//! when the decimal exponent is below -4 or at least 6 (`1.795374724e+09`,
//! `409.82`, `1e-05`, `20000`).

use std::io::Write;

/// Appends `v` in Go's shortest `%g` form, with `+Inf`, `-Inf` and `NaN`.
pub(crate) fn write_go_float(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    if v.is_sign_negative() {
        out.push(b'-');
    }
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    // Rust's `{:e}` is also the shortest round-trip form: "d.ddddde-x".
    let mut tmp = [0u8; 40];
    let len = {
        let mut cur = std::io::Cursor::new(&mut tmp[..]);
        if write!(cur, "{:e}", v.abs()).is_err() {
            return;
        }
        cur.position() as usize
    };
    let text = &tmp[..len];
    let Some(e_at) = text.iter().position(|&b| b == b'e') else {
        return;
    };
    let (mantissa, exp_text) = (&text[..e_at], &text[e_at + 1..]);
    let mut digits = [0u8; 20];
    let mut nd = 0;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    let exp: i32 = std::str::from_utf8(exp_text)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let digits = &digits[..nd];
    if digits.is_empty() {
        // `{:e}` of a non-zero float always has a digit; never index blind.
        out.push(b'0');
        return;
    }
    if !(-4..6).contains(&exp) {
        out.push(digits[0]);
        if nd > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push(b'0');
        }
        let _ = write!(out, "{a}");
        return;
    }
    // Plain decimal: the point sits after `dp` digits.
    let dp = exp + 1;
    if dp <= 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..-dp {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
        return;
    }
    let dp = dp as usize;
    if nd <= dp {
        out.extend_from_slice(digits);
        for _ in nd..dp {
            out.push(b'0');
        }
    } else {
        out.extend_from_slice(&digits[..dp]);
        out.push(b'.');
        out.extend_from_slice(&digits[dp..]);
    }
}

/// Appends `v` as OpenMetrics writers of the Go client do: Go's `%g`, with
/// `.0` added to whole numbers so the value reads as a float.
pub(crate) fn write_om_float(out: &mut Vec<u8>, v: f64) {
    let start = out.len();
    write_go_float(out, v);
    if v.is_finite() && !out[start..].iter().any(|&b| b == b'.' || b == b'e') {
        out.extend_from_slice(b".0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(v: f64) -> String {
        let mut out = Vec::new();
        write_go_float(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn like_go() {
        // Each right-hand side is what Go's FormatFloat(v, 'g', -1, 64) gives.
        for (v, s) in [
            (1.795374724e9, "1.795374724e+09"),
            (409.82, "409.82"),
            (20000.0, "20000"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (1234567.8, "1.2345678e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123, "0.000123"),
            (5.2035420000000006, "5.2035420000000006"),
            (1.8446744073709552e19, "1.8446744073709552e+19"),
            (-1.5, "-1.5"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(go(v), s, "{v:?}");
        }
    }

    #[test]
    fn openmetrics_whole_numbers() {
        let mut out = Vec::new();
        write_om_float(&mut out, 1.0);
        out.push(b' ');
        write_om_float(&mut out, 1e6);
        out.push(b' ');
        write_om_float(&mut out, 0.5);
        out.push(b' ');
        write_om_float(&mut out, f64::NAN);
        assert_eq!(String::from_utf8(out).unwrap(), "1.0 1e+06 0.5 NaN");
    }
}
