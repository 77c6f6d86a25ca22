//! The `anchored` and `smoothed` range modifiers (Prometheus's experimental
//! extended range selectors). `promql-parser` knows the keywords but not the
//! grammar, so we blank them out before parsing and attach them to the
//! selector written just before them (see [`super::position`]).

use super::lexer::{Kind, tokenize};

/// Which extended selector a range or instant selector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeModifier {
    /// Include the last sample at or before the range start; no extrapolation.
    Anchored,
    /// Interpolate at both range boundaries.
    Smoothed,
}

impl RangeModifier {
    /// The keyword, for error messages.
    pub fn name(self) -> &'static str {
        match self {
            RangeModifier::Anchored => "anchored",
            RangeModifier::Smoothed => "smoothed",
        }
    }
}

/// Replaces the modifier keywords with spaces; returns the text and where
/// each keyword was.
pub(crate) fn strip(src: &str) -> (String, Vec<(usize, RangeModifier)>) {
    let toks = tokenize(src);
    let mut out = src.to_string();
    let mut found = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.kind != Kind::Ident || t.skip || i == 0 {
            continue;
        }
        let m = match t.text(src) {
            "anchored" => RangeModifier::Anchored,
            "smoothed" => RangeModifier::Smoothed,
            _ => continue,
        };
        // Only after a selector: `]`, `}` or a name; never a function call.
        if toks.get(i + 1).is_some_and(|n| n.kind == Kind::LParen) {
            continue;
        }
        out.replace_range(t.start..t.end, &" ".repeat(t.end - t.start));
        found.push((t.start, m));
    }
    (out, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_blanked() {
        let (s, m) = strip("rate(x[1m] smoothed)");
        assert_eq!(s, "rate(x[1m]         )");
        assert_eq!(m, [(11, RangeModifier::Smoothed)]);
        let (s, m) = strip("x anchored");
        assert_eq!(s, "x         ");
        assert_eq!(m, [(2, RangeModifier::Anchored)]);
    }
}
