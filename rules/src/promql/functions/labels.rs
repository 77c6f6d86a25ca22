//! label_replace and label_join, and merging the series they make equal.

use std::collections::HashMap;

use promql_parser::parser::Expr;
use warden_tsdb::Labels;
use warden_tsdb::matcher::compile_anchored;

use super::{eval_vector, string_arg};
use crate::promql::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Steps, VSeries};

/// Merges series that ended up with the same labels; they must not both
/// have a point at the same step.
pub(crate) fn merge_same_labels(v: Vec<VSeries>) -> Result<Vec<VSeries>, PromqlError> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<VSeries> = Vec::with_capacity(v.len());
    for s in v {
        match index.get(&s.labels) {
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
            Some(&k) => {
                let t = &mut out[k];
                let clash = || {
                    PromqlError::Execution(
                        "vector cannot contain metrics with the same labelset".into(),
                    )
                };
                for (i, b) in s.vals.into_iter().enumerate() {
                    if b.is_some() {
                        if t.has_point(i) {
                            return Err(clash());
                        }
                        t.vals[i] = b;
                    }
                }
                for (i, h) in s.hists.into_iter().enumerate() {
                    if h.is_some() {
                        if t.has_point(i) {
                            return Err(clash());
                        }
                        t.set_hist(i, h);
                    }
                }
                t.drop_name |= s.drop_name;
            }
        }
    }
    Ok(out)
}

fn valid_label_name(n: &str) -> bool {
    !n.is_empty()
}

/// Whether the string literal `e`, decoded with Go's rules, is valid UTF-8.
///
/// `promql-parser` turns `"\xff"` into the character U+00FF, while Go
/// yields the byte 0xff, which is not a valid label name; so the escapes in
/// the source text decide.
fn literal_is_utf8(ev: &Evaluator<'_>, e: &Expr) -> bool {
    let start = ev.pos(e);
    let src = ev.src.as_bytes();
    let Some(&quote) = src.get(start) else {
        return true;
    };
    if quote == b'`' {
        return true;
    }
    let mut bytes = Vec::new();
    let mut i = start + 1;
    while i < src.len() && src[i] != quote {
        if src[i] == b'\\' && i + 1 < src.len() {
            let c = src[i + 1];
            let hex = |s: &[u8]| {
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            };
            let oct = |s: &[u8]| {
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 8).ok())
            };
            let escaped = if c == b'x' && i + 4 <= src.len() {
                hex(&src[i + 2..i + 4])
            } else if (b'0'..=b'7').contains(&c) && i + 4 <= src.len() {
                oct(&src[i + 1..i + 4])
            } else {
                None
            };
            if let Some(b) = escaped {
                bytes.push(b);
                i += 4;
                continue;
            }
            bytes.push(b'a');
            i += 2;
            continue;
        }
        bytes.push(src[i]);
        i += 1;
    }
    std::str::from_utf8(&bytes).is_ok()
}

/// `label_replace(v, dst, replacement, src, regex)`.
pub(crate) fn label_replace(
    ev: &mut Evaluator<'_>,
    args: &[&Expr],
    steps: &Steps,
) -> Result<Vec<VSeries>, PromqlError> {
    let dst = string_arg(args[1])?;
    let repl = string_arg(args[2])?;
    let src = string_arg(args[3])?;
    let re_str = string_arg(args[4])?;
    let re = compile_anchored(&re_str).map_err(|_| {
        PromqlError::Execution(format!(
            "invalid regular expression in label_replace(): {re_str}"
        ))
    })?;
    if !valid_label_name(&dst) || !literal_is_utf8(ev, args[1]) {
        return Err(PromqlError::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut v = eval_vector(ev, args[0], steps)?;
    for s in &mut v {
        let val = s.labels.get(&src).unwrap_or("");
        if let Some(caps) = re.captures(val) {
            let mut res = String::new();
            caps.expand(&repl, &mut res);
            let mut b = s.labels.to_builder();
            b.set(&dst, res);
            s.labels = b
                .build()
                .map_err(|e| PromqlError::Execution(e.to_string()))?;
            if dst == "__name__" {
                s.drop_name = false;
            }
        }
    }
    merge_same_labels(v)
}

/// `label_join(v, dst, separator, src...)`.
pub(crate) fn label_join(
    ev: &mut Evaluator<'_>,
    args: &[&Expr],
    steps: &Steps,
) -> Result<Vec<VSeries>, PromqlError> {
    let dst = string_arg(args[1])?;
    let sep = string_arg(args[2])?;
    let mut srcs = Vec::new();
    for a in &args[3..] {
        let s = string_arg(a)?;
        if !valid_label_name(&s) {
            return Err(PromqlError::Execution(format!(
                "invalid source label name in label_join(): {s}"
            )));
        }
        srcs.push(s);
    }
    if !valid_label_name(&dst) || !literal_is_utf8(ev, args[1]) {
        return Err(PromqlError::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut v = eval_vector(ev, args[0], steps)?;
    for s in &mut v {
        let joined = srcs
            .iter()
            .map(|n| s.labels.get(n).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(&sep);
        let mut b = s.labels.to_builder();
        b.set(&dst, joined);
        s.labels = b
            .build()
            .map_err(|e| PromqlError::Execution(e.to_string()))?;
        if dst == "__name__" {
            s.drop_name = false;
        }
    }
    merge_same_labels(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_overlapping_series_fails() {
        let l = Labels::from_pairs([("a", "1")]).unwrap();
        let s = |vals| VSeries {
            labels: l.clone(),
            drop_name: false,
            vals,
            hists: Vec::new(),
        };
        let merged =
            merge_same_labels(vec![s(vec![Some(1.0), None]), s(vec![None, Some(2.0)])]).unwrap();
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].vals, [Some(1.0), Some(2.0)]);
        assert!(merge_same_labels(vec![s(vec![Some(1.0)]), s(vec![Some(2.0)])]).is_err());
    }
}
