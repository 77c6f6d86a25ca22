//! The functions Prometheus gives alert templates, with Go's signatures.
//!
//! Each call arrives through a call site (see [`super::sites`]) that turns a
//! [`FuncError`] into Go's message at the right node.

pub mod builtin;
pub mod fmt;
pub mod numbers;
pub mod query;
pub mod text;
pub mod times;

use std::sync::Arc;

use gotmpl::Value;

use self::query::QueryBridge;
use super::value::{GoType, SharedTypes, Types, lock};

/// Everything a function may need during one expansion.
pub struct Env {
    /// The Go types of the values this expansion built.
    pub types: SharedTypes,
    /// The evaluation time (milliseconds), for `query` and `now`.
    pub t_ms: i64,
    /// `--web.external-url`, for `externalURL` and `pathPrefix`.
    pub external_url: String,
    /// Where `query` sends its expressions; `None` when the template has no `query`.
    pub query: Option<QueryBridge>,
}

/// Why a function call failed, before it is placed at a node.
#[derive(Debug, PartialEq)]
pub enum FuncError {
    /// The function returned an error: `error calling NAME: …`.
    Call(String),
    /// Argument `arg` (0-based) has the wrong Go type.
    Type {
        /// Which argument.
        arg: usize,
        /// The parameter's Go type.
        expected: &'static str,
        /// The value's Go type; `None` for a nil value.
        got: Option<&'static str>,
    },
    /// The wrong number of arguments.
    Count {
        /// Parameters the function declares.
        want: usize,
        /// Arguments given.
        got: usize,
        /// Whether it takes any number from `want` up.
        variadic: bool,
    },
}

/// A parameter's Go type.
#[derive(Clone, Copy, PartialEq)]
enum Param {
    Any,
    Str,
    Sample,
    Result,
}

impl Param {
    fn name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Str => "string",
            Param::Sample => "*template.sample",
            Param::Result => "template.queryResult",
        }
    }
}

/// The Prometheus functions and their Go parameters (`None`: variadic `...interface{}`).
fn params(name: &str) -> Option<Option<&'static [Param]>> {
    use Param::*;
    let p: &'static [Param] = match name {
        "query" => &[Str],
        "first" => &[Result],
        "label" => &[Str, Sample],
        "value" | "strvalue" => &[Sample],
        "args" => return Some(None),
        "reReplaceAll" => &[Str, Str, Str],
        "match" => &[Str, Str],
        "safeHtml" | "title" | "toUpper" | "toLower" | "graphLink" | "tableLink" | "stripPort"
        | "stripDomain" | "parseDuration" | "urlQueryEscape" => &[Str],
        "sortByLabel" => &[Str, Result],
        "humanize" | "humanize1024" | "humanizeDuration" | "humanizePercentage"
        | "humanizeTimestamp" | "toTime" | "toDuration" => &[Any],
        "now" | "pathPrefix" | "externalURL" => &[],
        _ => return None,
    };
    Some(Some(p))
}

/// Whether a template may call `name` (Prometheus's functions and Go's builtins).
pub fn is_defined(name: &str) -> bool {
    params(name).is_some() || builtin::NAMES.contains(&name)
}

fn string(v: &str) -> Value {
    Value::String(Arc::from(v))
}

/// Checks `args` against Go's parameter types.
fn check_args(types: &Types, params: &[Param], args: &[Value]) -> Result<(), FuncError> {
    if args.len() != params.len() {
        return Err(FuncError::Count {
            want: params.len(),
            got: args.len(),
            variadic: false,
        });
    }
    for (i, (p, a)) in params.iter().zip(args).enumerate() {
        let ok = match p {
            Param::Any => true,
            Param::Str => matches!(a, Value::String(_)),
            // A nil pointer or slice is a valid argument in Go.
            Param::Sample => matches!(a, Value::Nil) || types.of(a) == Some(GoType::Sample),
            Param::Result => matches!(a, Value::Nil) || types.of(a) == Some(GoType::QueryResult),
        };
        if !ok {
            return Err(FuncError::Type {
                arg: i,
                expected: p.name(),
                got: (!matches!(a, Value::Nil)).then(|| types.type_name(a)),
            });
        }
    }
    Ok(())
}

fn str_arg(args: &[Value], i: usize) -> &str {
    args.get(i).and_then(Value::as_str).unwrap_or("")
}

const NIL_POINTER: &str = "runtime error: invalid memory address or nil pointer dereference";

/// Calls the function `name` with evaluated `args`.
pub fn call(env: &Env, name: &str, args: &[Value]) -> Result<Value, FuncError> {
    let Some(params) = params(name) else {
        return call_builtin(env, name, args);
    };
    let types = &env.types;
    if let Some(params) = params {
        check_args(&lock(types), params, args)?;
    }
    let call_err = FuncError::Call;
    let float = |i: usize| numbers::to_float(&lock(types), &args[i]).map_err(call_err);
    Ok(match name {
        "humanize" => string(&numbers::humanize(float(0)?)),
        "humanize1024" => string(&numbers::humanize1024(float(0)?)),
        "humanizePercentage" => string(&numbers::humanize_percentage(float(0)?)),
        "humanizeDuration" => string(&times::humanize_duration(float(0)?)),
        "humanizeTimestamp" => {
            let v = float(0)?;
            match times::float_to_time_ns(v) {
                Ok(ns) => string(&super::value::go_time(ns)),
                Err(times::TimeError::NotFinite) => string(&super::value::go_g4(v)),
                Err(times::TimeError::Overflow(m)) => return Err(FuncError::Call(m)),
            }
        }
        "toTime" => {
            let ns = match times::float_to_time_ns(float(0)?) {
                Ok(ns) => ns,
                Err(times::TimeError::NotFinite) => {
                    return Err(FuncError::Call("value is NaN or Inf".into()));
                }
                Err(times::TimeError::Overflow(m)) => return Err(FuncError::Call(m)),
            };
            opaque(types, GoType::Time(ns))
        }
        "toDuration" => opaque(types, GoType::Duration(times::to_duration_ns(float(0)?))),
        "now" => Value::Float(env.t_ms as f64 / 1000.0),
        "parseDuration" => Value::Float(times::parse_duration(str_arg(args, 0)).map_err(call_err)?),
        "title" => string(&text::title(str_arg(args, 0))),
        "toUpper" => string(&text::to_upper(str_arg(args, 0))),
        "toLower" => string(&text::to_lower(str_arg(args, 0))),
        "stripPort" => string(&text::strip_port(str_arg(args, 0))),
        "stripDomain" => string(&text::strip_domain(str_arg(args, 0))),
        "urlQueryEscape" => string(&text::query_escape(str_arg(args, 0))),
        "graphLink" => string(&text::graph_link(str_arg(args, 0))),
        "tableLink" => string(&text::table_link(str_arg(args, 0))),
        "safeHtml" => string(str_arg(args, 0)),
        "pathPrefix" => string(&text::url_path(&env.external_url)),
        "externalURL" => string(&env.external_url),
        "match" => {
            Value::Bool(text::matches(str_arg(args, 0), str_arg(args, 1)).map_err(call_err)?)
        }
        "reReplaceAll" => string(
            &text::re_replace_all(str_arg(args, 0), str_arg(args, 1), str_arg(args, 2))
                .map_err(call_err)?,
        ),
        "args" => Value::Map(Arc::new(
            args.iter()
                .enumerate()
                .map(|(i, a)| (Arc::from(format!("arg{i}")), a.clone()))
                .collect(),
        )),
        "query" => {
            let bridge = env
                .query
                .as_ref()
                .ok_or_else(|| FuncError::Call("no query function".into()))?;
            let samples = bridge.run(str_arg(args, 0)).map_err(call_err)?;
            query::result_value(&mut lock(types), samples)
        }
        "first" => match &args[0] {
            Value::List(items) if !items.is_empty() => items[0].clone(),
            _ => {
                return Err(FuncError::Call(
                    "first() called on vector with no elements".into(),
                ));
            }
        },
        "label" => {
            if matches!(args[1], Value::Nil) {
                return Err(FuncError::Call(NIL_POINTER.into()));
            }
            query::sample_label(&args[1], str_arg(args, 0))
        }
        "value" | "strvalue" => {
            if matches!(args[0], Value::Nil) {
                return Err(FuncError::Call(NIL_POINTER.into()));
            }
            if name == "value" {
                query::sample_value(&args[0])
            } else {
                query::sample_label(&args[0], "__value__")
            }
        }
        "sortByLabel" => {
            let items: &[Value] = match &args[1] {
                Value::List(items) => items,
                _ => &[],
            };
            query::sort_by_label(&mut lock(types), str_arg(args, 0), items)
        }
        _ => return call_builtin(env, name, args),
    })
}

/// A value standing for a Go pointer (`*time.Time`, `*time.Duration`).
fn opaque(types: &SharedTypes, t: GoType) -> Value {
    lock(types).register(Value::Map(Arc::new(Default::default())), t)
}

/// Go's builtins, with Prometheus's typed printing and missing keys.
fn call_builtin(env: &Env, name: &str, args: &[Value]) -> Result<Value, FuncError> {
    let types = lock(&env.types);
    match name {
        "print" => return Ok(fmt::print(&types, args)),
        "println" => return Ok(fmt::println(&types, args)),
        "printf" => {
            return fmt::printf(&types, args).map_err(|e| FuncError::Call(builtin::message(&e)));
        }
        "index" if args.len() == 2 => {
            if let (Value::Map(m), Value::String(key)) = (&args[0], &args[1]) {
                return Ok(match (m.get(&**key), types.of(&args[0])) {
                    (Some(v), _) => v.clone(),
                    (None, Some(GoType::StringMap)) => string(""),
                    (None, _) => Value::Nil,
                });
            }
        }
        _ => {}
    }
    drop(types);
    builtin::call(name, args).map_err(|e| match e {
        gotmpl::TemplateError::ArgCount { expected, got, .. } => FuncError::Count {
            want: expected,
            got,
            variadic: false,
        },
        other => FuncError::Call(builtin::message(&other)),
    })
}
