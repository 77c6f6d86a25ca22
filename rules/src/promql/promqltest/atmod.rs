//! The step-invariance check's query: the expression with `@ <t>` attached
//! to every selector and subquery that has no fixed `@` yet.
//!
//! Upstream checks every successful instant evaluation this way: pinned to
//! `t`, the query must give the same answer whatever time it is evaluated
//! at. The rewrite works on the `promql-parser` AST, which is printed back.

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{AtModifier, Expr, StringLiteral, VectorSelector};

use crate::promql::parse::{Parsed, Positions, QueryParams, RangeModifier, Trim, parse_query};
use promql_parser::parser::token::{T_GTR, T_LSS};
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
/// The expression is read with the engine's own front end, so the syntax
/// `promql-parser` lacks is accepted as the engine accepts it: duration
/// arithmetic becomes literals (computed as for an instant query), and the
/// `anchored`/`smoothed` modifiers are carried to the printed query by
/// tagging their selectors with a marker matcher.
///
/// String literals with `\x` or octal escapes are carried over verbatim:
/// they denote raw bytes in Go (so `"\xff"` is not valid UTF-8 there),
/// which `promql-parser` reads as characters, and printing its AST back
/// would change the query's meaning.
pub fn pin_to_time(src: &str, t_ms: i64) -> Result<Option<String>, String> {
    let at = AtModifier::try_from(t_ms as f64 / 1000.0)?;
    let (masked, literals) = mask_byte_escapes(src);
    let params = QueryParams {
        step_ms: 0,
        range_ms: 0,
    };
    let Parsed {
        mut expr,
        positions,
        ..
    } = parse_query(&masked, params).map_err(|e| e.to_string())?;
    let mut modifiers = Vec::new();
    tag_modifiers(&mut expr, &positions, &mut modifiers);
    let mut comparisons = Vec::new();
    ordered_comparisons(&expr, &positions, &mut comparisons);
    let mut exempt = false;
    attach(&mut expr, &at, &mut exempt);
    if exempt {
        return Ok(None);
    }
    let infinities = mark_positive_infinities(&mut expr);
    let mut printed = restore_trims(&expr.to_string(), &comparisons)?;
    printed = restore_positive_infinities(&printed, infinities)?;
    for (k, m) in modifiers.iter().enumerate() {
        printed = restore_modifier(&printed, &marker(k), m.name())?;
    }
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

/// The `<` and `>` binary nodes in printing order, each with the trim
/// operator it was written as (`None` for a true comparison).
fn ordered_comparisons(e: &Expr, positions: &Positions, out: &mut Vec<Option<Trim>>) {
    match e {
        Expr::Binary(b) => {
            ordered_comparisons(&b.lhs, positions, out);
            if matches!(b.op.id(), T_LSS | T_GTR) {
                out.push(positions.trim(b));
            }
            ordered_comparisons(&b.rhs, positions, out);
        }
        Expr::Subquery(sq) => ordered_comparisons(&sq.expr, positions, out),
        Expr::Call(c) => {
            for a in &c.args.args {
                ordered_comparisons(a, positions, out);
            }
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                ordered_comparisons(p, positions, out);
            }
            ordered_comparisons(&a.expr, positions, out);
        }
        Expr::Unary(u) => ordered_comparisons(&u.expr, positions, out),
        Expr::Paren(p) => ordered_comparisons(&p.expr, positions, out),
        _ => {}
    }
}

/// The AST prints trim operators as the comparisons they were parsed as;
/// writes `</` and `>/` back at the printed ` < ` / ` > ` (outside string
/// literals) that stand for them, matched up in printing order.
fn restore_trims(printed: &str, comparisons: &[Option<Trim>]) -> Result<String, String> {
    if comparisons.iter().all(Option::is_none) {
        return Ok(printed.to_string());
    }
    let lost = || "cannot carry a trim operator over the rewrite".to_string();
    let bytes = printed.as_bytes();
    let mut out = String::with_capacity(printed.len() + comparisons.len());
    let (mut quote, mut k, mut last) = (None::<u8>, 0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) if c == b'\\' && q != b'`' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, b'"' | b'\'' | b'`') => quote = Some(c),
            None if matches!(c, b'<' | b'>')
                && i > 0
                && bytes[i - 1] == b' '
                && bytes.get(i + 1) == Some(&b' ') =>
            {
                let which = comparisons.get(k).ok_or_else(lost)?;
                if which.is_some() {
                    out.push_str(&printed[last..=i]);
                    out.push('/');
                    last = i + 1;
                }
                k += 1;
            }
            None => {}
        }
        i += 1;
    }
    if k != comparisons.len() {
        return Err(lost());
    }
    out.push_str(&printed[last..]);
    Ok(out)
}

/// Name of the marker matcher of the `k`-th modified selector.
fn marker(k: usize) -> String {
    format!("__promqltest_modifier_{k}__")
}

/// Adds a marker matcher to every selector written with `anchored` or
/// `smoothed`, in the order they are met.
fn tag_modifiers(e: &mut Expr, positions: &Positions, out: &mut Vec<RangeModifier>) {
    let modifier = match &*e {
        Expr::MatrixSelector(_) => positions.modifier(e),
        Expr::VectorSelector(vs) => positions
            .modifier(e)
            .or_else(|| positions.modifier_of_selector(vs)),
        _ => None,
    };
    let tag = |vs: &mut VectorSelector, out: &mut Vec<RangeModifier>, m: RangeModifier| {
        vs.matchers
            .matchers
            .push(Matcher::new(MatchOp::Equal, &marker(out.len()), "x"));
        out.push(m);
    };
    match e {
        Expr::VectorSelector(vs) => {
            if let Some(m) = modifier {
                tag(vs, out, m);
            }
        }
        Expr::MatrixSelector(ms) => {
            if let Some(m) = modifier {
                tag(&mut ms.vs, out, m);
            }
        }
        Expr::Subquery(sq) => tag_modifiers(&mut sq.expr, positions, out),
        Expr::Call(c) => {
            for a in &mut c.args.args {
                tag_modifiers(a, positions, out);
            }
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                tag_modifiers(p, positions, out);
            }
            tag_modifiers(&mut a.expr, positions, out);
        }
        Expr::Unary(u) => tag_modifiers(&mut u.expr, positions, out),
        Expr::Binary(b) => {
            tag_modifiers(&mut b.lhs, positions, out);
            tag_modifiers(&mut b.rhs, positions, out);
        }
        Expr::Paren(p) => tag_modifiers(&mut p.expr, positions, out),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Removes the marker matcher `name` from the printed query and writes
/// `keyword` after the end of its selector (after `[range]`, `@ t` and
/// `offset d`, where the grammar puts it).
fn restore_modifier(printed: &str, name: &str, keyword: &str) -> Result<String, String> {
    let needle = format!("{name}=\"x\"");
    let lost = || format!("cannot carry the {keyword} modifier over the rewrite");
    if printed.matches(&needle).count() != 1 {
        return Err(lost());
    }
    let pos = printed.find(&needle).ok_or_else(lost)?;
    let (mut before, mut after) = (
        printed[..pos].to_string(),
        printed[pos + needle.len()..].to_string(),
    );
    if before.ends_with(',') {
        before.pop();
    } else if after.starts_with(',') {
        after.remove(0);
    }
    // `m{}` prints back as `m`.
    let named = before
        .strip_suffix('{')
        .and_then(|b| b.chars().last())
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if named && after.starts_with('}') {
        before.pop();
        after.remove(0);
        after.insert(0, '\u{0}');
    }
    let close = after.find(['}', '\u{0}']).ok_or_else(lost)?;
    let mut end = close + 1;
    let rest = &after[end..];
    if rest.starts_with('[') {
        end += rest.find(']').ok_or_else(lost)? + 1;
    }
    for word in [" @ ", " offset "] {
        if after[end..].starts_with(word) {
            let arg = &after[end + word.len()..];
            end += word.len() + arg.find([' ', ')', ',']).unwrap_or(arg.len());
        }
    }
    after.insert_str(end, &format!(" {keyword}"));
    Ok(before + &after.replacen('\u{0}', "", 1))
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

/// What a positive infinity literal is printed as until it is restored:
/// `promql-parser` prints it `Inf`, Prometheus `+Inf`, and the difference
/// would shift the columns of annotations after it.
const POS_INF_MARK: &str = "__promqltest_positive_infinity__";

/// Replaces every `+Inf` number literal in `e` (subqueries included) by a
/// string literal holding [`POS_INF_MARK`]; returns how many there were.
fn mark_positive_infinities(e: &mut Expr) -> usize {
    match e {
        Expr::NumberLiteral(n) if n.val == f64::INFINITY => {
            *e = Expr::StringLiteral(StringLiteral {
                val: POS_INF_MARK.to_string(),
            });
            1
        }
        Expr::Call(c) => c
            .args
            .args
            .iter_mut()
            .map(|a| mark_positive_infinities(a))
            .sum(),
        Expr::Aggregate(a) => {
            mark_positive_infinities(&mut a.expr)
                + a.param.as_mut().map_or(0, |p| mark_positive_infinities(p))
        }
        Expr::Unary(u) => mark_positive_infinities(&mut u.expr),
        Expr::Binary(b) => {
            mark_positive_infinities(&mut b.lhs) + mark_positive_infinities(&mut b.rhs)
        }
        Expr::Paren(p) => mark_positive_infinities(&mut p.expr),
        Expr::Subquery(sq) => mark_positive_infinities(&mut sq.expr),
        _ => 0,
    }
}

/// Prints the `count` marked infinities of `printed` as Prometheus does.
fn restore_positive_infinities(printed: &str, count: usize) -> Result<String, String> {
    let quoted = format!("\"{POS_INF_MARK}\"");
    if printed.matches(&quoted).count() != count {
        return Err("cannot carry +Inf over the rewrite".to_string());
    }
    Ok(printed.replace(&quoted, "+Inf"))
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
    fn extended_syntax_survives_the_rewrite() {
        assert_eq!(
            pin("changes(m[26m+4m])", 1000).unwrap(),
            "changes(m[30m] @ 1.000)"
        );
        assert_eq!(
            pin("increase(m[1m] anchored)", 1000).unwrap(),
            "increase(m[1m] @ 1.000 anchored)"
        );
        assert_eq!(
            pin("m smoothed + rate(n{a=\"b\"}[5m] offset 1m smoothed)", 2000).unwrap(),
            "m @ 2.000 smoothed + rate(n{a=\"b\"}[5m] @ 2.000 offset 1m smoothed)"
        );
        assert_eq!(
            pin("m @ 100 smoothed", 2000).unwrap(),
            "m @ 100.000 smoothed"
        );
        assert_eq!(
            pin("m offset (2 * 2)", 2000).unwrap(),
            "m @ 2.000 offset 4s"
        );
        assert_eq!(
            pin(r#"m{a="<"} > 1 and m </ 2 > bool (n >/ -1)"#, 1000).unwrap(),
            r#"m{a="<"} @ 1.000 > 1 and m @ 1.000 </ 2 > bool (n @ 1.000 >/ -1)"#
        );
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
    fn positive_infinity_is_printed_with_its_sign() {
        assert_eq!(
            pin("histogram_fraction(-Inf, +Inf, h) + Inf", 1000).unwrap(),
            "histogram_fraction(-Inf, +Inf, h @ 1.000) + +Inf"
        );
        assert_eq!(
            pin("max_over_time(clamp_max(m, inf)[5m:])", 1000).unwrap(),
            "max_over_time(clamp_max(m, +Inf)[5m:] @ 1.000)"
        );
    }

    #[test]
    fn times() {
        assert_eq!(check_times(0), [-1000, 0, 1000]);
        assert_eq!(check_times(5000), [-50_000, 0, 1000, 5000, 50_000]);
    }
}
