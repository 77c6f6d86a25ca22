//! The step-invariance check's query: the expression with `@ <t>` attached
//! to every selector and subquery that has no fixed `@` yet.
//!
//! Upstream checks every successful instant evaluation this way: pinned to
//! `t`, the query must give the same answer whatever time it is evaluated
//! at. The rewrite works on the `promql-parser` AST, which is printed back.

use promql_parser::parser::{AtModifier, Expr};

/// Functions whose value depends on the evaluation time or on sample
/// timestamps; an expression calling one is left out of the check.
const TIME_DEPENDENT: [&str; 15] = [
    "time",
    "timestamp",
    "predict_linear",
    "minute",
    "hour",
    "day_of_week",
    "day_of_month",
    "day_of_year",
    "days_in_month",
    "month",
    "year",
    "start",
    "end",
    "range",
    "step",
];

/// The rewritten expression for evaluation time `t_ms`, or `None` when the
/// expression is exempt from the check.
///
/// String literals with `\x` or octal escapes are carried over verbatim:
/// they denote raw bytes in Go (so `"\xff"` is not valid UTF-8 there),
/// which `promql-parser` reads as characters, and printing its AST back
/// would change the query's meaning.
pub fn pin_to_time(src: &str, t_ms: i64) -> Result<Option<String>, String> {
    let at = AtModifier::try_from(t_ms as f64 / 1000.0)?;
    let (masked, literals) = mask_byte_escapes(src);
    let mut e = promql_parser::parser::parse(&masked)?;
    let mut exempt = false;
    attach(&mut e, &at, &mut exempt);
    if exempt {
        return Ok(None);
    }
    let mut printed = e.to_string();
    for (placeholder, original) in &literals {
        let quoted = format!("\"{placeholder}\"");
        if printed.matches(&quoted).count() != 1 {
            return Err(format!(
                "cannot carry the string literal {original} over the rewrite"
            ));
        }
        printed = printed.replacen(&quoted, original, 1);
    }
    Ok(Some(printed))
}

/// Replaces quoted literals holding `\x` or octal escapes by unique
/// placeholder literals; returns the text and (placeholder, literal) pairs.
fn mask_byte_escapes(src: &str) -> (String, Vec<(String, String)>) {
    let mut out = String::with_capacity(src.len());
    let mut literals = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find(['"', '\'', '`']) {
        out.push_str(&rest[..start]);
        let quote = rest.as_bytes()[start];
        let body = &rest[start + 1..];
        let mut end = None;
        let mut escaped = false;
        for (i, b) in body.bytes().enumerate() {
            if escaped {
                escaped = false;
            } else if b == b'\\' && quote != b'`' {
                escaped = true;
            } else if b == quote {
                end = Some(i);
                break;
            }
        }
        let Some(end) = end else {
            out.push_str(&rest[start..]);
            return (out, literals);
        };
        let literal = &rest[start..start + end + 2];
        let inner = &literal[1..literal.len() - 1];
        let byte_escape = quote != b'`'
            && inner
                .as_bytes()
                .windows(2)
                .any(|w| w[0] == b'\\' && (w[1] == b'x' || w[1].is_ascii_digit()));
        if byte_escape {
            let mut n = literals.len();
            let mut placeholder = format!("__promqltest_literal_{n}__");
            while src.contains(&placeholder) {
                n += 1;
                placeholder = format!("__promqltest_literal_{n}__");
            }
            out.push_str(&format!("\"{placeholder}\""));
            literals.push((placeholder, literal.to_string()));
        } else {
            out.push_str(literal);
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    (out, literals)
}

/// The times the pinned query is evaluated at.
pub fn check_times(t_ms: i64) -> Vec<i64> {
    if t_ms == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![
            t_ms.saturating_mul(-10),
            0,
            t_ms / 5,
            t_ms,
            t_ms.saturating_mul(10),
        ]
    }
}

/// `@ start()` / `@ end()` count as "no timestamp" here, as upstream: they
/// are replaced by the fixed time too.
fn needs_at(at: &Option<AtModifier>) -> bool {
    !matches!(at, Some(AtModifier::At(_)))
}

fn attach(e: &mut Expr, at: &AtModifier, exempt: &mut bool) {
    match e {
        Expr::VectorSelector(vs) => {
            if needs_at(&vs.at) {
                vs.at = Some(at.clone());
            }
        }
        Expr::MatrixSelector(ms) => {
            if needs_at(&ms.vs.at) {
                ms.vs.at = Some(at.clone());
            }
        }
        // Everything below a subquery is evaluated relative to the
        // subquery's own (now fixed) time: leave it untouched.
        Expr::Subquery(sq) => {
            if needs_at(&sq.at) {
                sq.at = Some(at.clone());
            }
        }
        Expr::Call(c) => {
            *exempt |= TIME_DEPENDENT.contains(&c.func.name);
            for a in &mut c.args.args {
                attach(a, at, exempt);
            }
        }
        Expr::Aggregate(a) => {
            attach(&mut a.expr, at, exempt);
            if let Some(p) = &mut a.param {
                attach(p, at, exempt);
            }
        }
        Expr::Unary(u) => attach(&mut u.expr, at, exempt),
        Expr::Binary(b) => {
            attach(&mut b.lhs, at, exempt);
            attach(&mut b.rhs, at, exempt);
        }
        Expr::Paren(p) => attach(&mut p.expr, at, exempt),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(s: &str, t: i64) -> Option<String> {
        pin_to_time(s, t).unwrap()
    }

    #[test]
    fn byte_escapes_survive_the_rewrite() {
        assert_eq!(
            pin(r#"label_replace(m, "\xff", "", "src", "(.*)")"#, 0).unwrap(),
            r#"label_replace(m @ 0.000, "\xff", "", "src", "(.*)")"#
        );
        assert_eq!(
            pin(r#"m{a="\101"} + n{b='q'}"#, 0).unwrap(),
            r#"m{a="\101"} @ 0.000 + n{b="q"} @ 0.000"#
        );
        assert!(pin_to_time("m{a=\"x", 0).is_err());
    }

    #[test]
    fn attaches_at_everywhere_without_one() {
        assert_eq!(
            pin("sum(rate(m[5m])) + n", 60_000).unwrap(),
            "sum(rate(m[5m] @ 60.000)) + n @ 60.000"
        );
        assert_eq!(pin("m @ 10", 60_000).unwrap(), "m @ 10.000");
        assert_eq!(pin("m @ start()", 60_000).unwrap(), "m @ 60.000");
        assert_eq!(
            pin("max_over_time(rate(m[1m])[5m:1m])", 3_000).unwrap(),
            "max_over_time(rate(m[1m])[5m:1m] @ 3.000)"
        );
        assert_eq!(
            pin("max_over_time(rate(m[1m])[5m:1m] @ 1) + x offset 1m", 3_000).unwrap(),
            "max_over_time(rate(m[1m])[5m:1m] @ 1.000) + x @ 3.000 offset 1m"
        );
    }

    #[test]
    fn time_dependent_functions_are_exempt() {
        assert_eq!(pin("time() - m", 1000), None);
        assert_eq!(pin("hour(m)", 1000), None);
        assert!(pin("abs(m)", 1000).is_some());
        // Below a subquery nothing is inspected, as upstream.
        assert!(pin("max_over_time(timestamp(m)[5m:])", 1000).is_some());
    }

    #[test]
    fn times() {
        assert_eq!(check_times(0), [-1000, 0, 1000]);
        assert_eq!(check_times(5000), [-50_000, 0, 1000, 5000, 50_000]);
    }
}
