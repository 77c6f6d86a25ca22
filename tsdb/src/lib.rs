//! warden's time-series store.
//!
//! Everything that brings samples in writes through an [`Appender`]; everything
//! that reads (the PromQL engine, the HTTP API, `/metrics`) reads through a
//! [`Querier`]. Keeping both as traits lets the same engine run over this
//! store, over a test fixture, or over a remote Prometheus-compatible API.
//!
//! [`Db`] is the store itself: an in-memory head of compressed float chunks
//! and (uncompressed) native-histogram samples with a postings index, made
//! durable by a write-ahead log with checkpoints.

pub mod bitstream;
pub mod checkpoint;
pub mod chunk;
pub mod db;
pub mod head;
pub mod hist_samples;
pub mod histogram;
pub mod ids;
pub mod index;
pub mod labels;
pub mod matcher;
pub mod record;
pub mod replay;
pub mod retention;
pub mod sample;
pub mod storage;
pub mod wal;

pub use db::{Db, DbAppender, DbError, DbOptions, DbStats, FsyncPolicy};
pub use histogram::{CounterResetHint, FloatHistogram, Span};
pub use labels::{Label, Labels, LabelsBuilder, LabelsError};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use sample::{HistogramSample, STALE_NAN, Sample, is_stale_nan};
pub use storage::{AppendError, Appender, MetricMetadata, MetricType, Querier, QueryError, Series};
