//! Everything that brings samples into warden.
//!
//! Each source is a [`Collector`]: it is asked to collect at a time and
//! writes through an [`Appender`]. A collector that fails reports the error
//! to the scheduler, which counts it in `warden_collector_errors_total`; it
//! never stops the others.
//!
//! - [`host`]: node_exporter 1.5's Linux families, same names and labels.
//! - [`process`]: process-exporter's `namedprocess_namegroup_*` families for
//!   configured groups, and warden's own `process_*` metrics.
//! - [`exposition`]: the Prometheus text 0.0.4 and OpenMetrics 1.0 formats,
//!   both ways.

#![warn(missing_docs)]

pub mod collector;
pub mod exposition;
pub mod host;
pub mod process;

pub use collector::{CollectError, Collector};
pub use warden_tsdb::Appender;
