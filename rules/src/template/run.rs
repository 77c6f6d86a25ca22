//! Executing a parsed template: the data, the site functions, and Go's
//! execution error text.

use std::sync::{Arc, Mutex};

use gotmpl::{FuncMap, Template, TemplateError as GoError, Value, ValueFunc};

use super::TemplateData;
use super::funcs::query::{QueryBridge, with_bridge};
use super::funcs::{self, Env, FuncError};
use super::parse::Parsed;
use super::sites::{Rewrite, Site, location};
use super::value::{GoType, Types, lock};
use crate::query::QueryFn;

/// Marks a site's error text, already in Go's words, inside gotmpl's error.
const PLACED: char = '\u{1}';

/// What the site functions of one expansion share.
struct Sites {
    name: String,
    source: String,
    sites: Vec<Site>,
    env: Env,
}

/// Executes `parsed` (from `source`) over `data`; the error is Go's text.
pub fn run(
    name: &str,
    source: &str,
    parsed: &Parsed,
    data: &TemplateData<'_>,
    t_ms: i64,
    query: &dyn QueryFn,
) -> Result<String, String> {
    let mut rewrite = Rewrite::new(source);
    let main = rewrite.list(&parsed.main);
    let defines: Vec<_> = parsed
        .defines
        .iter()
        .map(|(n, l)| (n.clone(), rewrite.list(l)))
        .collect();
    let sites = rewrite.sites;
    let uses_query = sites
        .iter()
        .any(|s| matches!(s, Site::Call { func, .. } if func == "query"));

    let execute = |bridge: Option<QueryBridge>| {
        let mut types = Types::default();
        let labels = types.string_map(data.labels);
        let external = types.string_map(data.external_labels);
        let root = types.structure(
            GoType::AlertData,
            vec![
                ("Labels", labels),
                ("ExternalLabels", external),
                ("ExternalURL", Value::String(Arc::from(data.external_url))),
                ("Value", Value::Float(data.value)),
            ],
        );
        let shared = Arc::new(Sites {
            name: name.to_string(),
            source: source.to_string(),
            sites: sites.clone(),
            env: Env {
                types: Arc::new(Mutex::new(types)),
                t_ms,
                external_url: data.external_url.to_string(),
                query: bridge,
            },
        });
        let mut map = FuncMap::new();
        for i in 0..shared.sites.len() {
            let s = Arc::clone(&shared);
            let f: ValueFunc = Arc::new(move |args: &[Value]| s.call(i, args));
            map.insert(format!("{}{i}", super::sites::SITE_PREFIX), f);
        }
        let mut t = Template::new(name)
            .funcs(map)
            .add_parse_tree(name, main.clone());
        for (n, l) in &defines {
            t = t.add_parse_tree(n, l.clone());
        }
        t.execute_template_to_string(name, &root)
            .map_err(|e| go_exec_error(name, &e))
    };
    if uses_query {
        with_bridge(query, t_ms, |b| execute(Some(b)))
    } else {
        execute(None)
    }
}

/// Go's text for an error gotmpl raised itself (not at a site).
fn go_exec_error(name: &str, e: &GoError) -> String {
    match e {
        GoError::Exec(m) if m.starts_with(PLACED) => m[PLACED.len_utf8()..].to_string(),
        GoError::Exec(m) => format!("template: {name}: {m}"),
        other => format!("template: {name}: {other}"),
    }
}

impl Sites {
    fn call(&self, i: usize, args: &[Value]) -> gotmpl::Result<Value> {
        let Some(site) = self.sites.get(i) else {
            return Err(GoError::Exec(format!("unknown site {i}")));
        };
        match site {
            Site::Print => {
                let v = args.last().unwrap_or(&Value::Nil);
                Ok(Value::String(Arc::from(lock(&self.env.types).print(v))))
            }
            Site::Field { fields, text, pos } => {
                let types = lock(&self.env.types);
                let mut v = args.first().cloned().unwrap_or(Value::Nil);
                for f in fields {
                    v = types.field(&v, f).map_err(|m| self.at(*pos, text, &m))?;
                }
                Ok(v)
            }
            Site::Call {
                func,
                ident_pos,
                command,
                command_pos,
                args: nodes,
            } => funcs::call(&self.env, func, args).map_err(|e| match e {
                FuncError::Call(m) => {
                    self.at(*command_pos, command, &format!("error calling {func}: {m}"))
                }
                FuncError::Count {
                    want,
                    got,
                    variadic,
                } => {
                    let least = if variadic { "at least " } else { "" };
                    self.at(
                        *ident_pos,
                        func,
                        &format!("wrong number of args for {func}: want {least}{want} got {got}"),
                    )
                }
                FuncError::Type { arg, expected, got } => {
                    let (pos, text, constant) = match nodes.get(arg) {
                        Some(n) => (n.pos, n.text.as_str(), n.constant),
                        // The piped value: Go points at the last node it looked at.
                        None => match nodes.last() {
                            Some(n) => (n.pos, n.text.as_str(), false),
                            None => (*ident_pos, func.as_str(), false),
                        },
                    };
                    let message = match (constant, got) {
                        (true, None) => format!("cannot assign nil to {expected}"),
                        (true, Some(_)) if expected == "string" => {
                            format!("expected string; found {text}")
                        }
                        (true, Some(_)) => {
                            format!("can't handle {text} for arg of type {expected}")
                        }
                        (false, None) => format!("invalid value; expected {expected}"),
                        (false, Some(got)) => {
                            format!("wrong type for value; expected {expected}; got {got}")
                        }
                    };
                    self.at(pos, text, &message)
                }
            }),
        }
    }

    /// Go's `state.errorf` at a node.
    fn at(&self, pos: gotmpl::parse::Pos, text: &str, message: &str) -> GoError {
        let (loc, context) = location(&self.source, &self.name, pos, text);
        GoError::Exec(format!(
            "{PLACED}template: {loc}: executing \"{}\" at <{context}>: {message}",
            self.name
        ))
    }
}
