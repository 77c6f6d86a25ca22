//! PromQL string literals (`"…"`, `'…'`, `` `…` ``) with Go's escapes, used
//! for label names and values in series descriptions and for `expect string`.

/// Reads one quoted string at the start of `s`; returns the unescaped text
/// and the number of bytes consumed (quotes included).
pub fn read_quoted(s: &str) -> Result<(String, usize), String> {
    let mut chars = s.char_indices();
    let quote = match chars.next() {
        Some((_, q @ ('"' | '\'' | '`'))) => q,
        _ => return Err(format!("expected a quoted string at {:?}", preview(s))),
    };
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((out, i + c.len_utf8()));
        }
        if c == '\n' {
            return Err("unterminated quoted string".into());
        }
        if c != '\\' || quote == '`' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            break;
        };
        match e {
            'a' => out.push('\u{07}'),
            'b' => out.push('\u{08}'),
            'f' => out.push('\u{0c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{0b}'),
            '\\' | '"' | '\'' => out.push(e),
            'x' | 'u' | 'U' => {
                let len = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let code = take_digits(&mut chars, len, 16)?;
                if e == 'x' {
                    // \xHH is one byte in Go; only ASCII bytes make valid UTF-8 alone.
                    if code > 0x7f {
                        return Err(format!("escape \\x{code:02x} is not valid UTF-8"));
                    }
                }
                out.push(
                    char::from_u32(code)
                        .ok_or_else(|| format!("invalid Unicode escape {code:#x}"))?,
                );
            }
            '0'..='7' => {
                let rest = take_digits(&mut chars, 2, 8)?;
                let code = (e as u32 - '0' as u32) * 64 + rest;
                if code > 0x7f {
                    return Err(format!("octal escape {code:#o} is not valid UTF-8"));
                }
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            other => return Err(format!("unknown escape sequence \\{other}")),
        }
    }
    Err("unterminated quoted string".into())
}

fn take_digits(chars: &mut std::str::CharIndices<'_>, n: usize, radix: u32) -> Result<u32, String> {
    let mut v: u32 = 0;
    for _ in 0..n {
        let d = chars
            .next()
            .and_then(|(_, c)| c.to_digit(radix))
            .ok_or("invalid escape sequence")?;
        v = v.saturating_mul(radix).saturating_add(d);
    }
    Ok(v)
}

/// Unquotes a whole Go string literal (the text of `expect string`): the
/// literal must span all of `s`.
pub fn unquote(s: &str) -> Result<String, String> {
    let (v, used) = read_quoted(s)?;
    if used != s.len() {
        return Err(format!(
            "unexpected text after string literal: {:?}",
            &s[used..]
        ));
    }
    Ok(v)
}

/// The start of `s`, for error messages.
pub fn preview(s: &str) -> &str {
    match s.char_indices().nth(30) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(read_quoted(r#""a\"b" rest"#), Ok(("a\"b".to_string(), 6)));
        assert_eq!(unquote(r#""\n\t\\""#).unwrap(), "\n\t\\");
        assert_eq!(unquote(r#""\u00e9\x41\101""#).unwrap(), "éAA");
        assert_eq!(
            unquote("'it''").unwrap_err(),
            "unexpected text after string literal: \"'\""
        );
        assert_eq!(unquote(r"`a\nb`").unwrap(), r"a\nb");
        assert_eq!(unquote("\"ünï\"").unwrap(), "ünï");
    }

    #[test]
    fn errors_not_panics() {
        for bad in ["", "\"abc", "\"\\q\"", "\"\\x\"", "\"\\u12\"", "x", "\"\\"] {
            assert!(unquote(bad).is_err(), "{bad:?}");
        }
    }
}
