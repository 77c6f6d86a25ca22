//! warden's time-series store.
//!
//! Everything that brings samples in writes through an [`Appender`]; everything
//! that reads (the PromQL engine, the HTTP API, `/metrics`) reads through a
//! [`Querier`]. Keeping both as traits lets the same engine run over this
//! store, over a test fixture, or over a remote Prometheus-compatible API.

pub mod labels;
pub mod matcher;
pub mod sample;
pub mod storage;

pub use labels::{Label, Labels, LabelsBuilder, LabelsError};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use sample::{STALE_NAN, Sample, is_stale_nan};
pub use storage::{AppendError, Appender, MetricMetadata, MetricType, Querier, QueryError, Series};
