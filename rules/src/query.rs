//! How rules and templates ask their queries.
//!
//! A rule group never talks to a store or an engine directly: it is handed
//! a [`QueryFn`], as Prometheus hands its rule manager a `QueryFunc`. The
//! agent gives groups a [`LocalQuery`] over its own store; a group can just
//! as well run over a remote Prometheus-compatible API, and the rule
//! unit-test runner runs groups over an in-memory store, all without the
//! group knowing which.

use std::sync::Arc;

use warden_tsdb::Querier;

use crate::promql::{Engine, PromqlError, QueryOutput};

/// Evaluates instant queries for rules (`expr`) and templates (`query`).
pub trait QueryFn: Send + Sync {
    /// Evaluates `expr` at `t_ms` (milliseconds since the epoch).
    fn instant(&self, expr: &str, t_ms: i64) -> Result<QueryOutput, PromqlError>;
}

/// Queries warden's own engine over a local store.
#[derive(Clone)]
pub struct LocalQuery {
    engine: Engine,
    querier: Arc<dyn Querier>,
}

impl LocalQuery {
    /// Queries `querier` with `engine`'s options (lookback, limits, timeout).
    pub fn new(engine: Engine, querier: Arc<dyn Querier>) -> LocalQuery {
        LocalQuery { engine, querier }
    }
}

impl QueryFn for LocalQuery {
    fn instant(&self, expr: &str, t_ms: i64) -> Result<QueryOutput, PromqlError> {
        self.engine.instant(&*self.querier, expr, t_ms)
    }
}
