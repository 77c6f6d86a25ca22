//! Go's own template functions (`printf`, `len`, `index`, `eq`…), as gotmpl
//! implements them, called with values rather than from a template.
//!
//! gotmpl keeps its builtins private; a one-action template
//! `{{capture (NAME .A0 .A1 …)}}` per name and arity reaches them, and
//! `capture` hands the value back through a thread-local slot.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use gotmpl::{Template, TemplateError, Value};

/// Go's builtin template functions.
pub const NAMES: [&str; 19] = [
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

/// Most arguments a delegated call may have (bounds the template cache).
const MAX_ARGS: usize = 32;

thread_local! {
    static CAPTURED: RefCell<Option<Value>> = const { RefCell::new(None) };
}

/// One compiled call template per builtin name and arity.
type Cache = HashMap<(&'static str, usize), Arc<Template>>;

static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn template(name: &'static str, arity: usize) -> Result<Arc<Template>, TemplateError> {
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = cache.get(&(name, arity)) {
        return Ok(Arc::clone(t));
    }
    let args: String = (0..arity).map(|i| format!(" .A{i}")).collect();
    let t = Template::new("builtin")
        .func("capture", |args: &[Value]| {
            let v = args.first().cloned().unwrap_or(Value::Nil);
            CAPTURED.with(|c| *c.borrow_mut() = Some(v));
            Ok(Value::String(Arc::from("")))
        })
        .parse(&format!("{{{{capture ({name}{args})}}}}"))?;
    let t = Arc::new(t);
    cache.insert((name, arity), Arc::clone(&t));
    Ok(t)
}

/// Calls the builtin `name` with `args`.
pub fn call(name: &str, args: &[Value]) -> Result<Value, TemplateError> {
    let Some(&name) = NAMES.iter().find(|n| **n == name) else {
        return Err(TemplateError::UndefinedFunction(name.to_string()));
    };
    if args.len() > MAX_ARGS {
        return Err(TemplateError::Exec(format!(
            "too many arguments to {name}: {}",
            args.len()
        )));
    }
    let t = template(name, args.len())?;
    let data: BTreeMap<Arc<str>, Value> = args
        .iter()
        .enumerate()
        .map(|(i, v)| (Arc::from(format!("A{i}")), v.clone()))
        .collect();
    CAPTURED.with(|c| *c.borrow_mut() = None);
    t.execute_to_string(&Value::Map(Arc::new(data)))?;
    Ok(CAPTURED
        .with(|c| c.borrow_mut().take())
        .unwrap_or(Value::Nil))
}

/// A gotmpl error as the message Go's builtin would give.
pub fn message(e: &TemplateError) -> String {
    match e {
        TemplateError::Exec(m) => m.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegates_to_gotmpl() {
        assert_eq!(
            call(
                "printf",
                &[
                    Value::String("%d-%s".into()),
                    Value::Int(3),
                    Value::String("x".into())
                ]
            )
            .ok(),
            Some(Value::String("3-x".into()))
        );
        assert_eq!(
            call("len", &[Value::String("abc".into())]).ok(),
            Some(Value::Int(3))
        );
        assert!(
            call(
                "index",
                &[Value::List(Arc::from(vec![Value::Int(1)])), Value::Int(5)]
            )
            .is_err()
        );
        assert!(call("nope", &[]).is_err());
    }
}
