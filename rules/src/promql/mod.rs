//! The PromQL engine.
//!
//! Expressions are parsed with `promql-parser` and evaluated here over any
//! [`Querier`], with Prometheus 3.x semantics. The engine's public surface is
//! small on purpose: an expression string and a time (or range) go in, a
//! [`QueryOutput`] or a [`PromqlError`] comes out. The HTTP API, rule groups,
//! the promqltest runner and leak baselines all use exactly this surface.

// Step loops index several per-step arrays at once; an index reads clearer.
#[allow(clippy::needless_range_loop)]
mod aggregate;
mod annotations;
// Step loops index several per-step arrays at once; an index reads clearer.
#[allow(clippy::needless_range_loop)]
mod binary;
mod eval;
// Step loops index several per-step arrays at once; an index reads clearer.
#[allow(clippy::needless_range_loop)]
mod functions;
mod hash;
mod limits;
mod output;
mod parse;
pub mod promqltest;
mod selectors;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
pub(crate) mod value;

use std::time::Duration;

use warden_tsdb::{Labels, Querier, Series};

pub use parse::parse_expr;

/// Limits and defaults of one engine, mirroring Prometheus's flags.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample
    /// (`--query.lookback-delta`, default 5m).
    pub lookback_delta_ms: i64,
    /// Most samples one query may hold in memory at once
    /// (`--query.max-samples`, default 50,000,000).
    pub max_samples: usize,
    /// Longest a query may run (`--query.timeout`, default 2m).
    pub timeout: Duration,
    /// Step of a subquery written without one (`[30m:]`): Prometheus uses
    /// the global evaluation interval, 1m by default.
    pub default_subquery_step_ms: i64,
    /// Accept experimental functions and syntax (Prometheus's
    /// `--enable-feature=promql-experimental-functions` and friends).
    pub experimental: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step_ms: 60 * 1000,
            experimental: true,
        }
    }
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    /// The series' labels (the metric name may have been dropped).
    pub labels: Labels,
    /// Milliseconds since the epoch.
    pub t: i64,
    /// The value; `0` when the element is a histogram.
    pub v: f64,
    /// The native histogram, when the element is one (then `v` means
    /// nothing). Beside `v` rather than in an enum so that the float-only
    /// consumers (rules, alerts, templates) read `v` as before.
    pub h: Option<std::sync::Arc<warden_tsdb::histogram::FloatHistogram>>,
}

/// The result of a query, in the four PromQL value types.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar at a time.
    Scalar {
        /// Milliseconds since the epoch.
        t: i64,
        /// The value.
        v: f64,
    },
    /// A string at a time.
    String {
        /// Milliseconds since the epoch.
        t: i64,
        /// The string.
        v: String,
    },
    /// An instant vector (instant queries).
    Vector(Vec<InstantSample>),
    /// A range vector or the result of a range query, series sorted by labels.
    Matrix(Vec<Series>),
}

/// Warnings and infos a query raised, rendered as Prometheus renders them
/// (`PromQL warning: … (line:col)`), for the API's `warnings`/`infos`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    /// Warnings: the result may be wrong or incomplete.
    pub warnings: Vec<String>,
    /// Infos: the query may not mean what its author thinks.
    pub infos: Vec<String>,
}

/// A successful query: its value and its annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    /// The value.
    pub value: Value,
    /// Warnings and infos.
    pub annotations: Annotations,
}

/// Why a query failed, in Prometheus's error kinds (the HTTP API maps them to
/// `errorType` and status codes: bad_data 400, execution 422, timeout 503).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromqlError {
    /// The expression does not parse. Line and column are 1-based.
    #[error("{line}:{col}: parse error: {message}")]
    Parse {
        /// What is wrong.
        message: String,
        /// Line of the offending token.
        line: usize,
        /// Column of the offending token.
        col: usize,
    },
    /// Parameters are wrong (for example a range query whose end is before its start).
    #[error("{0}")]
    BadData(String),
    /// The expression parsed but could not be evaluated (for example
    /// many-to-many matching, or a regex that does not compile).
    #[error("{0}")]
    Execution(String),
    /// The query ran past its timeout.
    #[error("query timed out in {0}")]
    Timeout(String),
    /// The query was cancelled.
    #[error("query was canceled in {0}")]
    Canceled(String),
    /// The query needed more samples than the limit allows.
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(String),
    /// The store failed.
    #[error("{0}")]
    Storage(String),
}

/// Rewrites the Prometheus 3 syntax that `promql-parser` 0.11 does not parse
/// into syntax it does: duration expressions (`x[5m+1m]`, `offset step()`,
/// `min_of(range(), 1h)`) become literals computed with the query's step and
/// range (both 0 for an instant query), the `anchored`/`smoothed` range
/// modifiers are blanked out, and the trim operators `</` `>/` become the
/// comparisons `<` `>` (which bind the same way). The engine does this itself before parsing;
/// tools that check or rewrite expressions with `promql-parser` (the
/// promqltest runner) can call it to accept the same syntax.
pub fn rewrite_extended_syntax(
    expr: &str,
    step_ms: i64,
    range_ms: i64,
) -> Result<String, PromqlError> {
    parse::rewrite(expr, parse::QueryParams { step_ms, range_ms }).map(|r| r.text)
}

/// Evaluates PromQL expressions with fixed options.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    options: EngineOptions,
}

impl Engine {
    /// An engine with these options.
    pub fn new(options: EngineOptions) -> Engine {
        Engine { options }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Evaluates `expr` at `t_ms`.
    pub fn instant(
        &self,
        querier: &dyn Querier,
        expr: &str,
        t_ms: i64,
    ) -> Result<QueryOutput, PromqlError> {
        output::run_instant(&self.options, querier, expr, t_ms)
    }

    /// Evaluates `expr` at `start_ms, start_ms + step_ms, …, end_ms`; the
    /// value is always a [`Value::Matrix`].
    pub fn range(
        &self,
        querier: &dyn Querier,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryOutput, PromqlError> {
        output::run_range(&self.options, querier, expr, start_ms, end_ms, step_ms)
    }
}
