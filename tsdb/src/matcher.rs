//! Label matchers with Prometheus's semantics.
//!
//! Regular expressions are fully anchored and use Go's RE2 dialect, which
//! differs from Rust's `regex` in a few places users hit in practice; the
//! translation lives in [`translate_go_regex`] so that every regex in warden
//! (selectors, relabelling, `label_replace`) is compiled the same way.

use std::fmt;

use regex::{Regex, RegexBuilder};

/// The four matcher kinds of PromQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        })
    }
}

/// A regex that did not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression {pattern:?}: {reason}")]
pub struct MatcherError {
    /// The pattern as the user wrote it.
    pub pattern: String,
    /// What the regex compiler said.
    pub reason: String,
}

/// One `name op "value"` condition on a label set.
///
/// A missing label has the value `""`, so `x=""` matches series without `x`
/// and `x!=""` matches series that have it, exactly as in Prometheus.
#[derive(Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The comparison.
    pub op: MatchOp,
    /// The value or the pattern as written.
    pub value: String,
    re: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher, compiling the pattern for the regex kinds.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Matcher, MatcherError> {
        let value = value.into();
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(compile_anchored(&value)?),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            name: name.into(),
            op,
            value,
            re,
        })
    }

    /// Shorthand for an `=` matcher, which cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Matcher {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            re: None,
        }
    }

    /// Whether `value` (the label's value, `""` when absent) satisfies this matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Regex => self.re.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRegex => !self.re.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// Whether this matcher accepts the empty string, i.e. also selects
    /// series that do not have the label at all.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op, self.value)
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

/// Compiles a Go RE2 pattern the way Prometheus 3 anchors it: `^(?s:…)$`.
pub fn compile_anchored(pattern: &str) -> Result<Regex, MatcherError> {
    let translated = translate_go_regex(pattern);
    RegexBuilder::new(&format!("^(?s:{translated})$"))
        .size_limit(64 << 20)
        .build()
        .map_err(|e| MatcherError {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })
}

/// Rewrites the parts of Go's RE2 syntax that Rust's `regex` reads differently:
///
/// - `\d \w \s \b` (and their negations) are ASCII-only in Go, Unicode in Rust;
/// - `\Q…\E` quotes a literal in Go and is an error in Rust;
/// - a `{` that does not start a valid repetition is a literal in Go and an
///   error in Rust.
pub fn translate_go_regex(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            match n {
                'Q' if !in_class => {
                    let mut j = i + 2;
                    while j < chars.len() && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E')) {
                        out.push_str(&regex::escape(&chars[j].to_string()));
                        j += 1;
                    }
                    i = j + 2;
                    continue;
                }
                'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
                    out.push_str(ascii_class(n, in_class));
                    i += 2;
                    continue;
                }
                'b' | 'B' if !in_class => {
                    out.push_str(if n == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
                    i += 2;
                    continue;
                }
                _ => {
                    out.push(c);
                    out.push(n);
                    i += 2;
                    continue;
                }
            }
        }
        if in_class {
            if c == '[' && chars.get(i + 1) == Some(&':') {
                // POSIX class like [:alpha:]: copy through to its closing ":]".
                if let Some(end) = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == ':' && chars[j + 1] == ']')
                {
                    out.extend(&chars[i..end + 2]);
                    i = end + 2;
                    continue;
                }
            }
            if c == '[' {
                // A literal '[' inside a class in Go; nested classes in Rust.
                out.push_str("\\[");
                i += 1;
                continue;
            }
            if c == ']' {
                in_class = false;
            }
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                // A leading '^' and a leading ']' are part of the class syntax.
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '{' => {
                if valid_repetition(&chars[i..]) {
                    out.push('{');
                } else {
                    out.push_str("\\{");
                }
                i += 1;
            }
            '}' => {
                // Only reached for a '}' that does not close a repetition.
                if closes_repetition(&out) {
                    out.push('}');
                } else {
                    out.push_str("\\}");
                }
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn ascii_class(c: char, in_class: bool) -> &'static str {
    match (c, in_class) {
        ('d', false) => "[0-9]",
        ('d', true) => "0-9",
        ('D', false) => "[^0-9]",
        ('D', true) => "[^0-9]",
        ('w', false) => "[0-9A-Za-z_]",
        ('w', true) => "0-9A-Za-z_",
        ('W', false) => "[^0-9A-Za-z_]",
        ('W', true) => "[^0-9A-Za-z_]",
        ('s', false) => "[\\t\\n\\f\\r ]",
        ('s', true) => "\\t\\n\\f\\r ",
        ('S', _) => "[^\\t\\n\\f\\r ]",
        _ => "",
    }
}

/// Whether `s` (starting at `{`) is `{n}`, `{n,}` or `{n,m}`.
fn valid_repetition(s: &[char]) -> bool {
    let Some(end) = s.iter().position(|&c| c == '}') else {
        return false;
    };
    let body: String = s[1..end].iter().collect();
    let mut parts = body.splitn(2, ',');
    let min = parts.next().unwrap_or("");
    if min.is_empty() || !min.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match parts.next() {
        None => true,
        Some(max) => max.is_empty() || max.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// Whether the output so far ends in an open, valid repetition `{n[,m]`.
fn closes_repetition(out: &str) -> bool {
    match out.rfind('{') {
        Some(p) if p == 0 || !out[..p].ends_with('\\') => {
            let body = &out[p + 1..];
            !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || b == b',')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(op: MatchOp, v: &str) -> Matcher {
        Matcher::new(op, "x", v).unwrap()
    }

    #[test]
    fn regex_is_fully_anchored() {
        assert!(m(MatchOp::Regex, "foo").matches("foo"));
        assert!(!m(MatchOp::Regex, "foo").matches("foobar"));
        assert!(!m(MatchOp::Regex, "foo").matches("afoo"));
        assert!(m(MatchOp::Regex, "foo|bar").matches("bar"));
    }

    #[test]
    fn dot_matches_newline() {
        assert!(m(MatchOp::Regex, "a.*b").matches("a\nb"));
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert!(!m(MatchOp::Regex, r"\d+").matches("١٢٣"));
        assert!(m(MatchOp::Regex, r"\d+").matches("123"));
        assert!(!m(MatchOp::Regex, r"\w+").matches("héllo"));
        assert!(m(MatchOp::Regex, r"[\d.]+").matches("1.5"));
    }

    #[test]
    fn go_literals_compile() {
        assert!(m(MatchOp::Regex, "foo{bar}").matches("foo{bar}"));
        assert!(m(MatchOp::Regex, r"\Qa.b\E").matches("a.b"));
        assert!(!m(MatchOp::Regex, r"\Qa.b\E").matches("axb"));
        assert!(m(MatchOp::Regex, "a{2}").matches("aa"));
    }

    #[test]
    fn empty_value_semantics() {
        assert!(m(MatchOp::Equal, "").matches_empty());
        assert!(!m(MatchOp::NotEqual, "").matches_empty());
        assert!(m(MatchOp::Regex, ".*").matches_empty());
        assert!(!m(MatchOp::Regex, ".+").matches_empty());
        assert!(m(MatchOp::NotRegex, "a").matches(""));
    }

    #[test]
    fn bad_regex_is_an_error_not_a_panic() {
        assert!(Matcher::new(MatchOp::Regex, "x", "(").is_err());
    }
}
