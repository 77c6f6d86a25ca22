//! `query` and the functions over its result: `first`, `label`, `value`,
//! `strvalue`, `sortByLabel`.
//!
//! Template functions must own everything they use, but the [`QueryFn`]
//! is only borrowed for one expansion; so `query` sends its expression over
//! a bounded channel to a scoped thread that holds the borrow, and waits
//! for the answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};

use gotmpl::Value;

use crate::promql::Value as PromValue;
use crate::query::QueryFn;
use crate::template::value::{GoType, Types};

/// One sample of a query result: its labels and value.
pub type Sample = (BTreeMap<String, String>, f64);

type Reply = Result<Vec<Sample>, String>;

/// The owned end of the bridge to the borrowed [`QueryFn`].
#[derive(Clone)]
pub struct QueryBridge {
    requests: SyncSender<(String, SyncSender<Reply>)>,
}

impl QueryBridge {
    /// Runs `expr` at the expansion's time.
    pub fn run(&self, expr: &str) -> Reply {
        let (tx, rx) = sync_channel(1);
        self.requests
            .send((expr.to_string(), tx))
            .map_err(|_| "query bridge closed".to_string())?;
        rx.recv().map_err(|_| "query bridge closed".to_string())?
    }
}

/// Runs `body` with a bridge whose queries `query` answers at `t_ms`.
pub fn with_bridge<R>(query: &dyn QueryFn, t_ms: i64, body: impl FnOnce(QueryBridge) -> R) -> R {
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<(String, SyncSender<Reply>)>(1);
        scope.spawn(move || {
            for (expr, reply) in rx {
                let _ = reply.send(instant(query, &expr, t_ms));
            }
        });
        body(QueryBridge { requests: tx })
    })
}

/// Prometheus's `EngineQueryFunc`: a vector as it is, a scalar as one
/// sample without labels, anything else an error.
fn instant(query: &dyn QueryFn, expr: &str, t_ms: i64) -> Reply {
    let out = query.instant(expr, t_ms).map_err(|e| e.to_string())?;
    match out.value {
        PromValue::Vector(samples) => Ok(samples
            .into_iter()
            .map(|s| {
                let labels = s
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect();
                (labels, s.v)
            })
            .collect()),
        PromValue::Scalar { v, .. } => Ok(vec![(BTreeMap::new(), v)]),
        _ => Err("rule result is not a vector or scalar".to_string()),
    }
}

/// The query result as the template sees it: a `queryResult` of `*sample`s.
pub fn result_value(types: &mut Types, samples: Vec<Sample>) -> Value {
    let items: Vec<Value> = samples
        .into_iter()
        .map(|(labels, v)| {
            let labels = types.string_map(&labels);
            types.structure(
                GoType::Sample,
                vec![("Labels", labels), ("Value", Value::Float(v))],
            )
        })
        .collect();
    types.register(Value::List(Arc::from(items)), GoType::QueryResult)
}

/// A label of a sample (`""` when it has none).
pub fn sample_label(sample: &Value, name: &str) -> Value {
    let label = match sample {
        Value::Map(m) => match m.get("Labels") {
            Some(Value::Map(labels)) => labels.get(name).cloned(),
            _ => None,
        },
        _ => None,
    };
    label.unwrap_or_else(|| Value::String(Arc::from("")))
}

/// The value of a sample.
pub fn sample_value(sample: &Value) -> Value {
    match sample {
        Value::Map(m) => m.get("Value").cloned().unwrap_or(Value::Nil),
        _ => Value::Nil,
    }
}

/// `sortByLabel`: a stable sort by one label's value.
pub fn sort_by_label(types: &mut Types, label: &str, result: &[Value]) -> Value {
    let mut items = result.to_vec();
    items.sort_by(|a, b| {
        let (a, b) = (sample_label(a, label), sample_label(b, label));
        a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or(""))
    });
    types.register(Value::List(Arc::from(items)), GoType::QueryResult)
}
