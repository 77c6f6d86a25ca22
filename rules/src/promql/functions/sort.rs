//! sort, sort_desc, sort_by_label, sort_by_label_desc.
//!
//! Only instant queries have an order; range results are always ordered by
//! labels, so there the functions warn and pass their input through.

use std::cmp::Ordering;

use promql_parser::parser::Expr;

use super::{eval_vector, string_arg};
use crate::promql::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Steps, Val};

/// Natural order of two strings: digit runs compare as numbers.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na = std::str::from_utf8(&a[si..i])
                .unwrap_or("")
                .trim_start_matches('0');
            let nb = std::str::from_utf8(&b[sj..j])
                .unwrap_or("")
                .trim_start_matches('0');
            let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if o != Ordering::Equal {
                return o;
            }
        } else {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn by_value(a: Option<f64>, b: Option<f64>, desc: bool) -> Ordering {
    let (a, b) = (a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN));
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let o = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if desc { o.reverse() } else { o }
        }
    }
}

/// Evaluates one of the sort functions.
pub(crate) fn eval_sort(
    ev: &mut Evaluator<'_>,
    call: &Expr,
    name: &str,
    args: &[&Expr],
    steps: &Steps,
) -> Result<Val, PromqlError> {
    let mut v = eval_vector(ev, args[0], steps)?;
    if matches!(name, "sort" | "sort_desc") && v.iter().any(|s| !s.hists.is_empty()) {
        // Sorting by value ignores histograms (Prometheus filters them out).
        for s in &mut v {
            s.hists.clear();
        }
        v.retain(|s| s.vals.iter().any(Option::is_some));
    }
    if ev.is_range {
        ev.warn(
            call,
            "sort is ineffective for range queries since results are always ordered by labels",
        );
        return Ok(Val::Vector(v));
    }
    match name {
        "sort" => v.sort_by(|a, b| by_value(a.vals[0], b.vals[0], false)),
        "sort_desc" => v.sort_by(|a, b| by_value(a.vals[0], b.vals[0], true)),
        _ => {
            let mut names = Vec::new();
            for a in &args[1..] {
                names.push(string_arg(a)?);
            }
            let desc = name == "sort_by_label_desc";
            v.sort_by(|a, b| {
                for n in &names {
                    let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
                    if x == y {
                        continue;
                    }
                    let o = natural_cmp(x, y);
                    return if desc { o.reverse() } else { o };
                }
                let o = a.labels.cmp(&b.labels);
                if desc { o.reverse() } else { o }
            });
        }
    }
    Ok(Val::Vector(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
    }
}
