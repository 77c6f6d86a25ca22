//! Parsing: `promql-parser` for the AST, plus what it lacks.
//!
//! - [`position`] recovers source positions of nodes for annotations;
//! - [`error_position`] finds a line/column for parse errors, whose text
//!   from `promql-parser` carries none.

pub(crate) mod lexer;
pub(crate) mod position;

use promql_parser::parser::Expr;

use super::PromqlError;
pub(crate) use position::Positions;

/// A parsed query: its AST and where each node starts.
pub(crate) struct Parsed {
    pub expr: Expr,
    pub positions: Positions,
}

/// Parses `src` into an AST with positions, or a positioned parse error.
pub(crate) fn parse_query(src: &str) -> Result<Parsed, PromqlError> {
    match promql_parser::parser::parse(src) {
        Ok(expr) => {
            let positions = Positions::compute(src, &expr);
            Ok(Parsed { expr, positions })
        }
        Err(message) => {
            let (line, col) = lexer::line_col(src, error_position(src, &message));
            Err(PromqlError::Parse { message, line, col })
        }
    }
}

/// Best guess of the byte offset a parse error message refers to.
pub(crate) fn error_position(src: &str, message: &str) -> usize {
    let toks = lexer::tokenize(src);
    if message.contains("unclosed left parenthesis") {
        let mut stack = Vec::new();
        for t in &toks {
            match t.kind {
                lexer::Kind::LParen => stack.push(t.start),
                lexer::Kind::RParen => {
                    stack.pop();
                }
                _ => {}
            }
        }
        return stack.first().copied().unwrap_or(src.len());
    }
    if message.contains("unexpected right parenthesis") {
        let mut depth = 0i64;
        for t in &toks {
            match t.kind {
                lexer::Kind::LParen => depth += 1,
                lexer::Kind::RParen => {
                    depth -= 1;
                    if depth < 0 {
                        return t.start;
                    }
                }
                _ => {}
            }
        }
    }
    if message.contains("unexpected end of input") {
        return src.trim_end().len();
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
        match parse_query(q) {
            Err(PromqlError::Parse { line, col, .. }) => (line, col),
            _ => panic!("expected a parse error for {q}"),
        }
    }

    #[test]
    fn parse_errors_have_positions() {
        assert_eq!(err("sum(rate(x[5m])"), (1, 4));
        assert_eq!(err("foo + 1 )"), (1, 9));
        assert_eq!(err("unknown_fn(x)"), (1, 1));
        assert_eq!(err("a +\n unknown_fn(x)"), (2, 2));
    }
}
