//! A small PromQL tokenizer that only serves to find *where* things are.
//!
//! `promql-parser` produces an AST without source positions, while
//! Prometheus reports annotation and parse-error positions as `line:col`.
//! This lexer walks the query text once, keeps every token's byte span, and
//! marks the tokens that can never start an expression (label matchers in
//! braces, durations in brackets, `by (…)` label lists, the argument of
//! `@`/`offset`) so that [`super::position`] can match AST nodes to tokens.

/// What a token is, as far as locating nodes needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Ident,
    Number,
    Str,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    At,
    Op,
    Other,
}

/// One token with its byte span.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// True when the token cannot start an expression node.
    pub skip: bool,
}

impl Token {
    /// The token's text in `src`.
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.start..self.end).unwrap_or("")
    }
}

/// Tokenizes `src`; unknown characters become `Kind::Other` tokens, never errors.
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let kind = match c {
            b'"' | b'\'' | b'`' => {
                i += 1;
                while i < b.len() && b[i] != c {
                    if b[i] == b'\\' && c != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(b.len());
                Kind::Str
            }
            b'(' => {
                i += 1;
                Kind::LParen
            }
            b')' => {
                i += 1;
                Kind::RParen
            }
            b'{' => {
                i += 1;
                Kind::LBrace
            }
            b'}' => {
                i += 1;
                Kind::RBrace
            }
            b'[' => {
                i += 1;
                Kind::LBracket
            }
            b']' => {
                i += 1;
                Kind::RBracket
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b'@' => {
                i += 1;
                Kind::At
            }
            c if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                i += 1;
                while i < b.len() {
                    let d = b[i];
                    let exp_sign = (d == b'+' || d == b'-')
                        && matches!(b[i - 1], b'e' | b'E')
                        && !src[start..i].starts_with("0x");
                    if d.is_ascii_alphanumeric() || d == b'.' || d == b'_' || exp_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                Kind::Number
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':')
                {
                    i += 1;
                }
                let word = &src[start..i];
                if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("nan") {
                    Kind::Number
                } else {
                    Kind::Ident
                }
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'=' | b'!' | b'<' | b'>' | b'~' => {
                i += 1;
                while i < b.len() && matches!(b[i], b'=' | b'~') {
                    i += 1;
                }
                Kind::Op
            }
            _ => {
                // Skip one UTF-8 character.
                i += 1;
                while i < b.len() && (b[i] & 0xc0) == 0x80 {
                    i += 1;
                }
                Kind::Other
            }
        };
        out.push(Token {
            kind,
            start,
            end: i,
            skip: false,
        });
    }
    mark_skips(src, &mut out);
    out
}

/// Marks tokens inside braces, brackets, label lists and after `@`/`offset`.
fn mark_skips(src: &str, toks: &mut [Token]) {
    let mut brace = 0usize;
    let mut bracket = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match toks[i].kind {
            Kind::LBrace => brace += 1,
            Kind::RBrace => brace = brace.saturating_sub(1),
            Kind::LBracket => bracket += 1,
            Kind::RBracket => bracket = bracket.saturating_sub(1),
            _ => {}
        }
        let inside = (brace > 0 && toks[i].kind != Kind::LBrace)
            || (bracket > 0 && toks[i].kind != Kind::LBracket);
        if inside {
            toks[i].skip = true;
            i += 1;
            continue;
        }
        let word = toks[i].text(src).to_ascii_lowercase();
        let is_list_kw = toks[i].kind == Kind::Ident
            && matches!(
                word.as_str(),
                "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
            );
        if is_list_kw || (toks[i].kind == Kind::Ident && word.starts_with("fill")) {
            toks[i].skip = true;
            if toks.get(i + 1).is_some_and(|t| t.kind == Kind::LParen) {
                let mut j = i + 1;
                while j < toks.len() {
                    toks[j].skip = true;
                    if toks[j].kind == Kind::RParen {
                        break;
                    }
                    j += 1;
                }
                i = j + 1;
                continue;
            }
        } else if toks[i].kind == Kind::At || (toks[i].kind == Kind::Ident && word == "offset") {
            toks[i].skip = true;
            // The argument: an optional sign, then a number/duration or `start()`/`end()`.
            let mut j = i + 1;
            if toks.get(j).is_some_and(|t| t.kind == Kind::Op) {
                toks[j].skip = true;
                j += 1;
            }
            if let Some(t) = toks.get_mut(j) {
                t.skip = true;
                if matches!(t.kind, Kind::Ident) {
                    for k in j + 1..(j + 3).min(toks.len()) {
                        if matches!(toks[k].kind, Kind::LParen | Kind::RParen) {
                            toks[k].skip = true;
                        }
                    }
                }
            }
            i = j + 1;
            continue;
        } else if toks[i].kind == Kind::Ident
            && (word == "bool"
                || word == "and"
                || word == "or"
                || word == "unless"
                || word == "atan2")
        {
            toks[i].skip = true;
        }
        i += 1;
    }
}

/// 1-based line and column (in bytes, like Prometheus) of byte offset `pos`.
pub(crate) fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(src.len());
    let before = &src.as_bytes()[..pos];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let col = match before.iter().rposition(|&c| c == b'\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_matchers_and_durations() {
        let src = r#"rate(x{a="b"}[5m]) by (job)"#;
        let toks = tokenize(src);
        let live: Vec<&str> = toks
            .iter()
            .filter(|t| !t.skip)
            .map(|t| t.text(src))
            .collect();
        assert_eq!(live, ["rate", "(", "x", "{", "}", "[", "]", ")"]);
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("abc", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
