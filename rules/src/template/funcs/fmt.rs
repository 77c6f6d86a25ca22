//! `printf`, `print` and `println` with Go's formatting of float64 values.
//!
//! gotmpl formats `%v` of a float with Rust's `Display` (`1234567.891`, `inf`)
//! where Go prints `1.234567891e+06` and `+Inf`. These wrappers hand gotmpl
//! such arguments already formatted the Go way, as `%s` strings.

use std::sync::Arc;

use gotmpl::{TemplateError, Value};

use super::builtin;
use crate::template::value::{GoType, Types};

/// Go's `fmt.Sprintf` as a template function.
pub fn printf(types: &Types, args: &[Value]) -> Result<Value, TemplateError> {
    let Some(Value::String(format)) = args.first() else {
        return builtin::call("printf", args);
    };
    match rewrite(types, format, &args[1..]) {
        Some((format, rest)) => {
            let mut all = Vec::with_capacity(rest.len() + 1);
            all.push(Value::String(Arc::from(format)));
            all.extend(rest);
            builtin::call("printf", &all)
        }
        None => builtin::call("printf", args),
    }
}

/// Whether Go would print `v` differently from gotmpl's `Display`.
fn go_formatted(types: &Types, v: &Value) -> bool {
    matches!(v, Value::Float(_) | Value::Map(_) | Value::List(_)) || types.of(v).is_some()
}

/// The format and arguments with Go-formatted strings in place of the
/// directives gotmpl would print differently; `None` when the format uses
/// explicit argument indexes (left to gotmpl as written).
fn rewrite(types: &Types, format: &str, args: &[Value]) -> Option<(String, Vec<Value>)> {
    let mut out = String::with_capacity(format.len());
    let mut new_args = Vec::with_capacity(args.len());
    let mut next = 0usize;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if !matches!(f, '+' | '-' | '#' | ' ' | '0') {
                break;
            }
            flags.push(f);
            chars.next();
        }
        let mut width = String::new();
        let mut precision: Option<String> = None;
        let mut star_args = Vec::new();
        let take_number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
                           into: &mut String| {
            if chars.peek() == Some(&'*') {
                chars.next();
                into.push('*');
                return true;
            }
            while let Some(&d) = chars.peek() {
                if !d.is_ascii_digit() {
                    break;
                }
                into.push(d);
                chars.next();
            }
            false
        };
        if chars.peek() == Some(&'[') {
            return None;
        }
        if take_number(&mut chars, &mut width) {
            star_args.push(next);
            next += 1;
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            if take_number(&mut chars, &mut p) {
                star_args.push(next);
                next += 1;
            }
            precision = Some(p);
        }
        if chars.peek() == Some(&'[') {
            return None;
        }
        let Some(verb) = chars.next() else {
            out.push('%');
            out.push_str(&flags);
            out.push_str(&width);
            if let Some(p) = &precision {
                out.push('.');
                out.push_str(p);
            }
            break;
        };
        for i in star_args {
            if let Some(a) = args.get(i) {
                new_args.push(a.clone());
            }
        }
        let original = {
            let mut s = format!("%{flags}{width}");
            if let Some(p) = &precision {
                s.push('.');
                s.push_str(p);
            }
            s.push(verb);
            s
        };
        if verb == '%' {
            out.push_str(&original);
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&original);
            next += 1;
            continue;
        };
        next += 1;
        let replacement = match (verb, arg) {
            ('e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'v', Value::Float(f)) if !f.is_finite() => {
                let text = if f.is_nan() {
                    if flags.contains('+') {
                        "+NaN"
                    } else if flags.contains(' ') {
                        " NaN"
                    } else {
                        "NaN"
                    }
                } else if *f > 0.0 {
                    "+Inf"
                } else {
                    "-Inf"
                };
                Some(text.to_string())
            }
            ('v', v) if !flags.contains('#') && !flags.contains('+') && go_formatted(types, v) => {
                let mut s = String::new();
                types.write_value(&mut s, v);
                Some(s)
            }
            ('s', v) if matches!(types.of(v), Some(GoType::Time(_) | GoType::Duration(_))) => {
                let mut s = String::new();
                types.write_value(&mut s, v);
                Some(s)
            }
            _ => None,
        };
        match replacement {
            Some(text) => {
                out.push('%');
                if flags.contains('-') {
                    out.push('-');
                }
                out.push_str(&width);
                out.push('s');
                new_args.push(Value::String(Arc::from(text)));
            }
            None => {
                out.push_str(&original);
                new_args.push(arg.clone());
            }
        }
    }
    new_args.extend(args.iter().skip(next).cloned());
    Some((out, new_args))
}

fn is_string(v: &Value) -> bool {
    matches!(v, Value::String(_))
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
pub fn print(types: &Types, args: &[Value]) -> Value {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !is_string(a) && !is_string(&args[i - 1]) {
            out.push(' ');
        }
        types.write_value(&mut out, a);
    }
    Value::String(Arc::from(out))
}

/// Go's `fmt.Sprintln`: spaces between all operands and a newline.
pub fn println(types: &Types, args: &[Value]) -> Value {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        types.write_value(&mut out, a);
    }
    out.push('\n');
    Value::String(Arc::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn run(format: &str, args: Vec<Value>) -> String {
        let mut all = vec![s(format)];
        all.extend(args);
        match printf(&Types::default(), &all) {
            Ok(Value::String(out)) => out.to_string(),
            other => panic!("printf failed: {other:?}"),
        }
    }

    #[test]
    fn printf_formats_floats_as_go() {
        assert_eq!(
            run("%v", vec![Value::Float(1234567.891)]),
            "1.234567891e+06"
        );
        assert_eq!(run("%.2f", vec![Value::Float(1234567.891)]), "1234567.89");
        assert_eq!(run("%f", vec![Value::Float(f64::INFINITY)]), "+Inf");
        assert_eq!(run("%.2f", vec![Value::Float(f64::NAN)]), "NaN");
        assert_eq!(run("%8v|", vec![Value::Float(1.5)]), "     1.5|");
        assert_eq!(run("%-6v|", vec![Value::Float(-1.5)]), "-1.5  |");
        assert_eq!(
            run("%g %e", vec![Value::Float(1e-5), Value::Float(1234.5)]),
            "1e-05 1.234500e+03"
        );
        assert_eq!(run("%d%%", vec![Value::Int(5)]), "5%");
        assert_eq!(run("%s:%q", vec![s("a"), s("b")]), "a:\"b\"");
        assert_eq!(run("%*d", vec![Value::Int(4), Value::Int(7)]), "   7");
    }

    #[test]
    fn print_spaces_like_go() {
        let t = Types::default();
        assert_eq!(
            print(
                &t,
                &[Value::Int(1), Value::Int(2), s("a"), Value::Float(1e6)]
            ),
            s("1 2a1e+06")
        );
        assert_eq!(println(&t, &[s("a"), s("b")]), s("a b\n"));
    }
}
