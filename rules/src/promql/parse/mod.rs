//! Parsing: `promql-parser` for the AST, plus what it lacks.
//!
//! - [`position`] recovers source positions of nodes for annotations;
//! - [`error_position`] finds a line/column for parse errors, whose text
//!   from `promql-parser` carries none.

pub(crate) mod diagnose;
pub(crate) mod durations;
pub(crate) mod lexer;
pub(crate) mod modifiers;
pub(crate) mod position;
pub(crate) mod trim;

use promql_parser::parser::Expr;

use super::PromqlError;
pub(crate) use position::Positions;

pub(crate) use durations::QueryParams;
pub(crate) use modifiers::RangeModifier;
pub(crate) use trim::Trim;

/// A parsed query: its AST, where each node starts, and the text the
/// positions refer to (the query after [`rewrite`]; same length where it matters).
pub(crate) struct Parsed {
    /// Boxed so that node addresses, which key the positions, never move.
    pub expr: Box<Expr>,
    pub positions: Positions,
    pub text: String,
}

/// A query rewritten into syntax `promql-parser` parses, with what the
/// rewrite took out.
pub(crate) struct Rewritten {
    pub text: String,
    /// `anchored`/`smoothed` keywords: byte offset and kind.
    pub modifiers: Vec<(usize, RangeModifier)>,
    /// Trim operators written as comparisons: byte offset and kind.
    pub trims: Vec<(usize, Trim)>,
}

/// Rewrites the syntax `promql-parser` lacks into syntax it parses:
/// duration expressions become literals, `anchored`/`smoothed` are blanked
/// out and the trim operators `</` `>/` become `<` `>`, both returned with
/// their byte offsets.
pub(crate) fn rewrite(src: &str, params: QueryParams) -> Result<Rewritten, PromqlError> {
    let text = durations::rewrite(src, params)?;
    let text = mark_info_selectors(&text);
    let (text, trims) = trim::strip(&text)?;
    let (text, modifiers) = modifiers::strip(&text);
    Ok(Rewritten {
        text,
        modifiers,
        trims,
    })
}

/// A matcher added to the selector in `info()`'s second argument so that
/// `promql-parser` accepts selectors whose matchers all match the empty
/// string (`{data=~".*"}`), which Prometheus allows there; `info()` removes it.
pub(crate) const INFO_SENTINEL: &str = "__warden_info_selector__";

fn mark_info_selectors(src: &str) -> String {
    let toks = lexer::tokenize(src);
    let mut inserts: Vec<usize> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.skip || t.kind != lexer::Kind::Ident || t.text(src) != "info" {
            continue;
        }
        if toks
            .get(i + 1)
            .is_none_or(|n| n.kind != lexer::Kind::LParen)
        {
            continue;
        }
        // The second argument: after the first comma at depth 1.
        let mut depth = 0i32;
        let mut k = i + 1;
        while k < toks.len() {
            match toks[k].kind {
                lexer::Kind::LParen | lexer::Kind::LBracket | lexer::Kind::LBrace => depth += 1,
                lexer::Kind::RParen | lexer::Kind::RBracket | lexer::Kind::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                lexer::Kind::Comma if depth == 1 => {
                    if toks
                        .get(k + 1)
                        .is_some_and(|n| n.kind == lexer::Kind::LBrace)
                        && let Some(close) =
                            (k + 2..toks.len()).find(|&c| toks[c].kind == lexer::Kind::RBrace)
                    {
                        inserts.push(toks[close].start);
                    }
                    break;
                }
                _ => {}
            }
            k += 1;
        }
    }
    if inserts.is_empty() {
        return src.to_string();
    }
    // Nested `info(...)` calls find their braces out of order; splice front to back.
    inserts.sort_unstable();
    inserts.dedup();
    let mut out = String::with_capacity(src.len() + inserts.len() * 40);
    let mut last = 0;
    for at in inserts {
        out.push_str(&src[last..at]);
        let body = src[..at].trim_end();
        if !body.ends_with('{') && !body.ends_with(',') {
            out.push(',');
        }
        out.push_str(INFO_SENTINEL);
        out.push_str("=~\".+\"");
        last = at;
    }
    out.push_str(&src[last..]);
    out
}

/// Largest magnitude accepted where a number stands for seconds (a range,
/// an offset, a subquery step, an `@` time): about 31,700 years, far beyond
/// anything Prometheus can represent, and far below where `promql-parser`
/// would panic converting it to a `Duration`.
const MAX_NUMERIC_SECONDS: f64 = 1e12;

/// Refuses numbers in duration or timestamp positions that `promql-parser`
/// cannot turn into a `Duration` without panicking (too large, NaN, Inf).
/// A parser panic would take the whole agent down (release builds abort on
/// panic), so this runs before every parse of untrusted text.
fn check_numeric_times(src: &str) -> Result<(), PromqlError> {
    let toks = lexer::tokenize(src);
    let mut depth = 0usize;
    let mut prev: Option<&lexer::Token> = None;
    for t in &toks {
        match t.kind {
            lexer::Kind::LBracket => depth += 1,
            lexer::Kind::RBracket => depth = depth.saturating_sub(1),
            _ => {}
        }
        let after_offset_or_at = prev.is_some_and(|p| {
            p.kind == lexer::Kind::At
                || (p.kind == lexer::Kind::Ident && p.text(src).eq_ignore_ascii_case("offset"))
        });
        // Inside brackets a subquery step follows a colon, which the lexer
        // reads as the start of a name (`[5m:1e300]`).
        let raw = t.text(src);
        let text = if depth > 0 {
            raw.trim_start_matches(':')
        } else {
            raw
        };
        let numeric = match t.kind {
            lexer::Kind::Number => true,
            lexer::Kind::Ident => {
                let w = text.to_ascii_lowercase();
                matches!(w.as_str(), "nan" | "inf")
                    || w.starts_with(|c: char| c.is_ascii_digit() || c == '.')
            }
            _ => false,
        };
        if numeric && (depth > 0 || after_offset_or_at) {
            // Durations such as `5m` are not plain numbers and are fine.
            if parse_number(text)
                .is_some_and(|v| !(v.is_finite() && v.abs() <= MAX_NUMERIC_SECONDS))
            {
                let (line, col) = lexer::line_col(src, t.start);
                return Err(PromqlError::Parse {
                    message: format!("duration or timestamp out of range: {text}"),
                    line,
                    col,
                });
            }
        }
        prev = Some(t);
    }
    Ok(())
}

/// A PromQL number: decimal, exponent, hexadecimal, `Inf`, `NaN`.
fn parse_number(text: &str) -> Option<f64> {
    let lower = text.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    lower.parse::<f64>().ok()
}

/// Parses a PromQL expression with `promql-parser`, first refusing the
/// inputs that make it panic. Everything in warden that parses PromQL from
/// outside (queries, rule files, API selectors) goes through here.
pub fn parse_expr(src: &str) -> Result<promql_parser::parser::Expr, PromqlError> {
    check_numeric_times(src)?;
    promql_parser::parser::parse(src).map_err(|message| positioned(src, message))
}

/// A parse error with Prometheus's position, and its wording where
/// `promql-parser` has only a generic message (see [`diagnose`]).
fn positioned(src: &str, message: String) -> PromqlError {
    let diagnosed = if message == GENERIC {
        diagnose::diagnose(src)
    } else {
        None
    };
    let (message, at) = match diagnosed {
        Some(found) => found,
        None => {
            let message = diagnose::reword(&message);
            let at = diagnose::reworded_position(src, &message)
                .unwrap_or_else(|| error_position(src, &message));
            (message, at)
        }
    };
    let (line, col) = lexer::line_col(src, at);
    PromqlError::Parse { message, line, col }
}

/// What `promql-parser` says of most misplaced tokens.
const GENERIC: &str = "invalid promql query";

/// Parses `src` into an AST with positions, or a positioned parse error.
pub(crate) fn parse_query(src: &str, params: QueryParams) -> Result<Parsed, PromqlError> {
    check_numeric_times(src)?;
    let Rewritten {
        text,
        modifiers,
        trims,
    } = rewrite(src, params)?;
    check_numeric_times(&text)?;
    match promql_parser::parser::parse(&text) {
        Ok(expr) => {
            let expr = Box::new(expr);
            let positions = Positions::compute(&text, &expr, &modifiers, &trims);
            if positions.trim_count() != trims.len() {
                let at = trims.first().map_or(0, |&(at, _)| at);
                let (line, col) = lexer::line_col(src, at);
                return Err(PromqlError::Parse {
                    message:
                        "trim operator between operands that are not instant vectors or scalars"
                            .into(),
                    line,
                    col,
                });
            }
            Ok(Parsed {
                expr,
                positions,
                text,
            })
        }
        Err(message) => Err(positioned(src, message)),
    }
}

/// Best guess of the byte offset a parse error message refers to.
pub(crate) fn error_position(src: &str, message: &str) -> usize {
    let toks = lexer::tokenize(src);
    // Prometheus's lexer finds both at the end of the input, and points
    // there (a rule's block scalar ends after its last newline).
    if message.contains("unclosed left parenthesis") || message.contains("unexpected end of input")
    {
        return src.len();
    }
    if message.contains("unexpected right parenthesis") {
        let mut depth = 0i64;
        for t in &toks {
            match t.kind {
                lexer::Kind::LParen => depth += 1,
                lexer::Kind::RParen => {
                    depth -= 1;
                    if depth < 0 {
                        // Prometheus points just past the parenthesis.
                        return t.end;
                    }
                }
                _ => {}
            }
        }
    }
    // A quoted fragment in the message ('x' or "x"): its first occurrence.
    for q in ['\'', '"'] {
        if let Some(a) = message.find(q)
            && let Some(len) = message[a + 1..].find(q)
        {
            let frag = &message[a + 1..a + 1 + len];
            if !frag.is_empty()
                && let Some(p) = src.find(frag)
            {
                return p;
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(q: &str) -> (usize, usize) {
        match parse_query(
            q,
            QueryParams {
                step_ms: 0,
                range_ms: 0,
            },
        ) {
            Err(PromqlError::Parse { line, col, .. }) => (line, col),
            _ => panic!("expected a parse error for {q}"),
        }
    }

    #[test]
    fn parse_errors_have_positions() {
        assert_eq!(err("sum(rate(x[5m])"), (1, 16));
        assert_eq!(err("(x"), (1, 3));
        assert_eq!(err("rate(x[5m]) +"), (1, 14));
        assert_eq!(err("foo + 1 )"), (1, 10));
        assert_eq!(err("unknown_fn(x)"), (1, 1));
        assert_eq!(err("a +\n unknown_fn(x)"), (2, 2));
    }
}
