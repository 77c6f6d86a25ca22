//! The native-histogram trim operators `</` (keep what lies below) and `>/`
//! (keep what lies above). `promql-parser` 0.11 does not know them; they
//! bind like the comparison operators, so the front end writes `</` as
//! `< ` and `>/` as `> ` (same length, so positions stay right), notes
//! where, and [`super::position`] marks the binary nodes they became.

use super::lexer::{Kind, line_col, tokenize};
use crate::promql::PromqlError;

/// Which trim operator a binary node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trim {
    /// `</`: keep the observations below the bound.
    Upper,
    /// `>/`: keep the observations above the bound.
    Lower,
}

impl Trim {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Trim::Upper => "</",
            Trim::Lower => ">/",
        }
    }
}

/// Rewrites every trim operator into its comparison look-alike; returns the
/// text and the byte offset and kind of each. `bool` after a trim operator
/// is refused as Prometheus refuses it (it is no comparison).
pub(crate) fn strip(src: &str) -> Result<(String, Vec<(usize, Trim)>), PromqlError> {
    let toks = tokenize(src);
    let mut out = src.to_string();
    let mut found = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.skip || t.kind != Kind::Op {
            continue;
        }
        let trim = match t.text(src) {
            "<" => Trim::Upper,
            ">" => Trim::Lower,
            _ => continue,
        };
        let Some(slash) = toks.get(i + 1) else {
            continue;
        };
        if slash.skip || slash.kind != Kind::Op || slash.start != t.end || slash.text(src) != "/" {
            continue;
        }
        if let Some(next) = toks.get(i + 2)
            && next.kind == Kind::Ident
            && next.text(src).eq_ignore_ascii_case("bool")
        {
            let (line, col) = line_col(src, next.start);
            return Err(PromqlError::Parse {
                message: "bool modifier can only be used on comparison operators".into(),
                line,
                col,
            });
        }
        out.replace_range(slash.start..slash.end, " ");
        found.push((t.start, trim));
    }
    Ok((out, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_operators_become_comparisons_of_the_same_length() {
        let (s, t) = strip("h </ 2 > h >/ -1 / 2").unwrap();
        assert_eq!(s, "h <  2 > h >  -1 / 2");
        assert_eq!(t, [(2, Trim::Upper), (11, Trim::Lower)]);
        // Not a trim: a space between, or inside a string or braces.
        let (s, t) = strip(r#"a < /b/ + c{x="</"}"#).unwrap();
        assert_eq!(s, r#"a < /b/ + c{x="</"}"#);
        assert!(t.is_empty());
        assert!(strip("a </ bool 1").is_err());
    }
}
