//! Duration expressions (Prometheus's experimental `promql-duration-expr`):
//! arithmetic in range, subquery-step and offset positions, such as
//! `x[5m+1m]`, `x[1h:step()*2]` or `x offset min_of(step(), 1m)`.
//!
//! `promql-parser` accepts only literal durations there, so before parsing
//! we evaluate each such expression (with the query's `step()` and
//! `range()`) and write the result back as a literal. The literal is padded
//! with spaces to the original length whenever it is shorter, so the
//! positions of everything after it stay right for annotations.

use super::lexer::{Kind, tokenize};
use crate::promql::PromqlError;

/// What `step()` and `range()` are for this query, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryParams {
    pub step_ms: i64,
    pub range_ms: i64,
}

/// Rewrites every duration expression of `src` into a literal.
pub(crate) fn rewrite(src: &str, p: QueryParams) -> Result<String, PromqlError> {
    let toks = tokenize(src);
    // (start, end, replacement) byte spans, non-overlapping, in order.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut brace = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        match t.kind {
            Kind::LBrace => brace += 1,
            Kind::RBrace => brace = brace.saturating_sub(1),
            _ => {}
        }
        if brace > 0 {
            i += 1;
            continue;
        }
        if t.kind == Kind::LBracket {
            let Some(close) = (i + 1..toks.len()).find(|&k| toks[k].kind == Kind::RBracket) else {
                break;
            };
            let inner_start = t.end;
            let inner_end = toks[close].start;
            let inner = &src[inner_start..inner_end];
            // Split a subquery's `range:step` at the top-level colon.
            let mut depth = 0i32;
            let mut colon = None;
            for (k, c) in inner.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    ':' if depth == 0 => {
                        colon = Some(k);
                        break;
                    }
                    _ => {}
                }
            }
            let parts = match colon {
                Some(c) => vec![
                    (inner_start, inner_start + c),
                    (inner_start + c + 1, inner_end),
                ],
                None => vec![(inner_start, inner_end)],
            };
            for (a, b) in parts {
                let text = &src[a..b];
                if text.trim().is_empty() || is_literal(text) {
                    continue;
                }
                let ms = eval_expr(text, p)?;
                if ms < 0 {
                    return Err(PromqlError::BadData(format!(
                        "duration must be greater than or equal to 0, got {}",
                        text.trim()
                    )));
                }
                edits.push((a, b, literal(ms)));
            }
            i = close + 1;
            continue;
        }
        if t.kind == Kind::Ident && t.text(src).eq_ignore_ascii_case("offset") {
            let start = t.end;
            let rest = &src[start..];
            let mut parser = Parser::new(rest, p);
            let ms = parser.signed_primary()?;
            let consumed = parser.pos;
            let text = &rest[..consumed];
            if !is_literal(text.trim().trim_start_matches(['-', '+']).trim()) {
                if ms == 0 {
                    // `offset 0s` does not parse; no offset is the same thing.
                    edits.push((t.start, start + consumed, String::new()));
                } else {
                    edits.push((start, start + consumed, format!(" {}", signed_literal(ms))));
                }
            }
            let end = start + consumed;
            while i < toks.len() && toks[i].start < end {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    if edits.is_empty() {
        return Ok(src.to_string());
    }
    let mut out = String::with_capacity(src.len());
    let mut last = 0;
    for (a, b, rep) in edits {
        out.push_str(&src[last..a]);
        let width = b - a;
        out.push_str(&rep);
        for _ in rep.len()..width {
            out.push(' ');
        }
        last = b;
    }
    out.push_str(&src[last..]);
    Ok(out)
}

/// Whether `s` is already a plain number or duration literal.
fn is_literal(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
        && !s.contains("step")
        && !s.contains("range")
        && s.as_bytes()[0].is_ascii_digit()
}

/// The shortest literal for a non-negative number of milliseconds.
fn literal(ms: i64) -> String {
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

fn signed_literal(ms: i64) -> String {
    if ms < 0 {
        format!("-{}", literal(-ms))
    } else {
        literal(ms)
    }
}

/// Evaluates a whole duration expression, in milliseconds.
fn eval_expr(text: &str, p: QueryParams) -> Result<i64, PromqlError> {
    let mut parser = Parser::new(text, p);
    let v = parser.expr()?;
    parser.skip_ws();
    if parser.pos != parser.b.len() {
        return Err(parser.error("unexpected character"));
    }
    to_ms(v)
}

fn to_ms(secs: f64) -> Result<i64, PromqlError> {
    if !secs.is_finite() {
        return Err(PromqlError::BadData(format!(
            "duration expression is not finite: {secs}"
        )));
    }
    Ok((secs * 1000.0).round() as i64)
}

/// Recursive-descent parser over seconds: `+ -` < `* / %` < unary < `^`.
struct Parser<'a> {
    b: &'a [u8],
    text: &'a str,
    pos: usize,
    p: QueryParams,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, p: QueryParams) -> Parser<'a> {
        Parser {
            b: text.as_bytes(),
            text,
            pos: 0,
            p,
        }
    }

    fn error(&self, what: &str) -> PromqlError {
        PromqlError::Parse {
            message: format!("{what} in duration expression {:?}", self.text.trim()),
            line: 1,
            col: 1,
        }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.b.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), PromqlError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", c as char)))
        }
    }

    fn expr(&mut self) -> Result<f64, PromqlError> {
        let mut v = self.term()?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            self.pos += 1;
            let r = self.term()?;
            v = if c == b'+' { v + r } else { v - r };
        }
        Ok(v)
    }

    fn term(&mut self) -> Result<f64, PromqlError> {
        let mut v = self.unary()?;
        while let Some(c @ (b'*' | b'/' | b'%')) = self.peek() {
            self.pos += 1;
            let r = self.unary()?;
            v = match c {
                b'*' => v * r,
                b'/' => v / r,
                _ => v % r,
            };
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<f64, PromqlError> {
        match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                Ok(-self.unary()?)
            }
            Some(b'+') => {
                self.pos += 1;
                self.unary()
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Result<f64, PromqlError> {
        let base = self.primary()?;
        if self.peek() == Some(b'^') {
            self.pos += 1;
            let exp = self.unary()?;
            return Ok(base.powf(exp));
        }
        Ok(base)
    }

    /// An optional sign and one primary: what `offset` takes.
    fn signed_primary(&mut self) -> Result<i64, PromqlError> {
        let mut sign = 1.0;
        loop {
            match self.peek() {
                Some(b'-') => {
                    sign = -sign;
                    self.pos += 1;
                }
                Some(b'+') => self.pos += 1,
                _ => break,
            }
        }
        let v = self.primary()?;
        to_ms(sign * v)
    }

    fn primary(&mut self) -> Result<f64, PromqlError> {
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let v = self.expr()?;
                self.expect(b')')?;
                Ok(v)
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.pos < self.b.len()
                    && (self.b[self.pos].is_ascii_alphanumeric() || self.b[self.pos] == b'_')
                {
                    self.pos += 1;
                }
                let name = self.text[start..self.pos].to_ascii_lowercase();
                self.expect(b'(')?;
                match name.as_str() {
                    "step" | "range" => {
                        self.expect(b')')?;
                        let ms = if name == "step" {
                            self.p.step_ms
                        } else {
                            self.p.range_ms
                        };
                        Ok(ms as f64 / 1000.0)
                    }
                    "min_of" | "max_of" => {
                        let a = self.expr()?;
                        self.expect(b',')?;
                        let b = self.expr()?;
                        self.expect(b')')?;
                        Ok(if name == "min_of" { a.min(b) } else { a.max(b) })
                    }
                    _ => Err(self.error(&format!("unknown function {name}"))),
                }
            }
            _ => Err(self.error("expected a duration")),
        }
    }

    /// A number (seconds) or a duration literal like `1h30m` or `500ms`.
    fn number(&mut self) -> Result<f64, PromqlError> {
        let start = self.pos;
        while self.pos < self.b.len()
            && (self.b[self.pos].is_ascii_digit() || self.b[self.pos] == b'.')
        {
            self.pos += 1;
        }
        let num: f64 = self.text[start..self.pos]
            .parse()
            .map_err(|_| self.error("bad number"))?;
        if !self.b.get(self.pos).is_some_and(u8::is_ascii_alphabetic) {
            return Ok(num);
        }
        // A duration: number-unit pairs.
        let mut total_ms = 0.0;
        let mut value = num;
        loop {
            let ustart = self.pos;
            while self.pos < self.b.len() && self.b[self.pos].is_ascii_alphabetic() {
                self.pos += 1;
            }
            let unit_ms = match &self.text[ustart..self.pos] {
                "ms" => 1.0,
                "s" => 1000.0,
                "m" => 60_000.0,
                "h" => 3_600_000.0,
                "d" => 86_400_000.0,
                "w" => 604_800_000.0,
                "y" => 31_536_000_000.0,
                _ => return Err(self.error("bad duration unit")),
            };
            total_ms += value * unit_ms;
            if !self.b.get(self.pos).is_some_and(u8::is_ascii_digit) {
                break;
            }
            let nstart = self.pos;
            while self.pos < self.b.len() && self.b[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
            value = self.text[nstart..self.pos]
                .parse()
                .map_err(|_| self.error("bad number"))?;
        }
        Ok(total_ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: QueryParams = QueryParams {
        step_ms: 5000,
        range_ms: 10_000,
    };

    fn squeeze(s: &str) -> String {
        s.replace(' ', "")
    }

    #[test]
    fn ranges_and_steps() {
        assert_eq!(rewrite("x[26m+4m]", P).unwrap(), "x[30m   ]");
        assert_eq!(squeeze(&rewrite("x[1h30m % 1h]", P).unwrap()), "x[30m]");
        assert_eq!(
            squeeze(&rewrite("x[30m1s-30m1s % 1m]", P).unwrap()),
            "x[30m]"
        );
        assert_eq!(squeeze(&rewrite("x[step()+1ms]", P).unwrap()), "x[5001ms]");
        assert_eq!(
            squeeze(&rewrite("x[29s+1s:5s+5s]", P).unwrap()),
            "x[30s:10s]"
        );
        assert_eq!(rewrite("x[5m]", P).unwrap(), "x[5m]");
    }

    #[test]
    fn offsets_take_a_signed_primary() {
        assert_eq!(rewrite("x offset 100 + 2", P).unwrap(), "x offset 100 + 2");
        assert_eq!(
            rewrite("x offset (100 + 2)", P).unwrap().trim_end(),
            "x offset 102s"
        );
        assert_eq!(
            squeeze(&rewrite("x offset -step()*2", P).unwrap()),
            "xoffset-5s*2"
        );
        assert_eq!(
            rewrite("x offset (-2 ^ 2)", P).unwrap().trim_end(),
            "x offset -4s"
        );
    }
}
