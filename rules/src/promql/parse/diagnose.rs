//! Prometheus's wording and position for the syntax errors `promql-parser`
//! reports only as "invalid promql query".
//!
//! `promql-parser` (an LR parser) gives one generic message with no
//! position for most misplaced tokens, where Prometheus says what it found
//! and where: `1:14: parse error: unexpected end of input`,
//! `1:5: parse error: unexpected identifier "bar"`. This module runs only
//! after the parser has refused a query, so it cannot reject anything valid;
//! it recognises the common shapes from the token stream and words them as
//! Prometheus does. Anything it does not recognise keeps the generic
//! message at 1:1.

use super::lexer::{Kind, Token, tokenize};

/// Words that join or modify expressions rather than end an operand.
const KEYWORDS: [&str; 14] = [
    "and",
    "or",
    "unless",
    "atan2",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "start",
    "end",
];

/// A Prometheus-worded message and the byte offset it points at, when the
/// refused query has one of the recognised shapes.
pub(crate) fn diagnose(src: &str) -> Option<(String, usize)> {
    let tokens = top_level(src);
    let last = tokens.last()?;
    if is_binary_op(last, src) || word(last, src) == "bool" {
        return Some(("unexpected end of input".into(), src.len()));
    }
    if matches!(word(last, src).as_str(), "by" | "without") {
        return Some((
            "unexpected end of input in grouping opts, expected \"(\"".into(),
            src.len(),
        ));
    }
    for pair in tokens.windows(2) {
        let (prev, t) = (&pair[0], &pair[1]);
        if prev.kind == Kind::At && t.kind == Kind::Ident && !is_keyword(t, src) {
            return Some((
                format!(
                    "unexpected identifier {:?} in @, expected timestamp",
                    t.text(src)
                ),
                t.start,
            ));
        }
        if ends_operand(prev, src) && starts_operand(t, src) {
            let what = if t.kind == Kind::Number {
                "number"
            } else {
                "identifier"
            };
            return Some((format!("unexpected {what} {:?}", t.text(src)), t.start));
        }
        if prev.kind == Kind::Op && t.kind == Kind::Op && !matches!(t.text(src), "+" | "-") {
            return Some((format!("unexpected <op:{}>", t.text(src)), t.start));
        }
    }
    None
}

/// `promql-parser`'s wording of a refusal turned into Prometheus's: type
/// names as Prometheus documents them, Go's double quotes around names.
pub(crate) fn reword(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("expected type ")
        && let Some((expected, rest)) = rest.split_once(" in ")
        && let Some((context, actual)) = rest.rsplit_once(", got ")
    {
        let context = match context {
            "aggregation expression" => "aggregation parameter".to_string(),
            c => double_quoted(c),
        };
        return format!(
            "expected type {} in {context}, got {}",
            type_name(expected),
            type_name(actual)
        );
    }
    if message.starts_with("unknown function with name") {
        return double_quoted(message);
    }
    if let Some(rest) = message.strip_prefix("unterminated quoted string")
        && rest.trim().len() <= 1
    {
        return "unterminated quoted string".into();
    }
    message.to_string()
}

/// Where Prometheus points for a reworded message: a function call's type
/// error at the call's first argument.
pub(crate) fn reworded_position(src: &str, message: &str) -> Option<usize> {
    let name = message
        .split_once("in call to function \"")?
        .1
        .split_once('"')?
        .0;
    let tokens = tokenize(src);
    tokens
        .windows(2)
        .find_map(|w| {
            (w[0].kind == Kind::Ident && w[0].text(src) == name && w[1].kind == Kind::LParen)
                .then_some(w[1].end)
        })
        .map(|after| after + src[after..].len() - src[after..].trim_start().len())
}

/// Prometheus's documented name of a value type.
fn type_name(t: &str) -> &str {
    match t {
        "matrix" => "range vector",
        "vector" => "instant vector",
        other => other,
    }
}

/// `'x'` quoting replaced by Go's `"x"`.
fn double_quoted(s: &str) -> String {
    s.replace('\'', "\"")
}

/// The tokens outside braces and brackets (label matchers, durations).
fn top_level(src: &str) -> Vec<Token> {
    let (mut brace, mut bracket) = (0usize, 0usize);
    let mut out = Vec::new();
    for t in tokenize(src) {
        let inside = brace > 0 || bracket > 0;
        match t.kind {
            Kind::LBrace => brace += 1,
            Kind::RBrace => brace = brace.saturating_sub(1),
            Kind::LBracket => bracket += 1,
            Kind::RBracket => bracket = bracket.saturating_sub(1),
            _ => {}
        }
        if !inside || (brace == 0 && bracket == 0) {
            out.push(t);
        }
    }
    out
}

fn word(t: &Token, src: &str) -> String {
    if t.kind == Kind::Ident {
        t.text(src).to_ascii_lowercase()
    } else {
        String::new()
    }
}

fn is_keyword(t: &Token, src: &str) -> bool {
    KEYWORDS.contains(&word(t, src).as_str())
}

fn is_binary_op(t: &Token, src: &str) -> bool {
    t.kind == Kind::Op || matches!(word(t, src).as_str(), "and" | "or" | "unless" | "atan2")
}

/// A token after which an operand is complete.
fn ends_operand(t: &Token, src: &str) -> bool {
    match t.kind {
        Kind::Number | Kind::Str | Kind::RParen | Kind::RBrace | Kind::RBracket => true,
        Kind::Ident => !is_keyword(t, src),
        _ => false,
    }
}

/// A token that can only begin a new operand.
fn starts_operand(t: &Token, src: &str) -> bool {
    match t.kind {
        Kind::Number => true,
        Kind::Ident => !is_keyword(t, src),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(q: &str) -> Option<(String, usize)> {
        diagnose(q)
    }

    #[test]
    fn prometheus_wording_and_offsets() {
        let eoi = |q: &str| Some(("unexpected end of input".to_string(), q.len()));
        assert_eq!(d("rate(x[5m]) +"), eoi("rate(x[5m]) +"));
        assert_eq!(d("x == "), eoi("x == "));
        assert_eq!(d("a and"), eoi("a and"));
        assert_eq!(d("x\n+\n+"), eoi("x\n+\n+"));
        assert_eq!(
            d("foo bar"),
            Some(("unexpected identifier \"bar\"".into(), 4))
        );
        assert_eq!(d("1 2"), Some(("unexpected number \"2\"".into(), 2)));
        assert_eq!(d("1 +* 2"), Some(("unexpected <op:*>".into(), 3)));
        assert_eq!(
            d("sum(x) by"),
            Some((
                "unexpected end of input in grouping opts, expected \"(\"".into(),
                9
            ))
        );
        assert_eq!(
            d("x @ foo"),
            Some((
                "unexpected identifier \"foo\" in @, expected timestamp".into(),
                4
            ))
        );
    }

    #[test]
    fn parser_wording_becomes_prometheus_wording() {
        assert_eq!(
            reword("expected type matrix in call to function 'rate', got vector"),
            "expected type range vector in call to function \"rate\", got instant vector"
        );
        assert_eq!(
            reword("expected type scalar in aggregation expression, got vector"),
            "expected type scalar in aggregation parameter, got instant vector"
        );
        assert_eq!(
            reword("unknown function with name 'foo'"),
            "unknown function with name \"foo\""
        );
        assert_eq!(
            reword("unterminated quoted string \""),
            "unterminated quoted string"
        );
        let m = reword("expected type matrix in call to function 'rate', got vector");
        assert_eq!(reworded_position("sum(rate( x))", &m), Some(10));
    }

    #[test]
    fn shapes_it_does_not_know_stay_unexplained() {
        assert_eq!(d("sum(x) by (a) (y)"), None);
        assert_eq!(d("x{a=\"b c\"}[5m] offset 1m"), None);
        assert_eq!(d("rate(x[5m]) * -1"), None);
    }
}
