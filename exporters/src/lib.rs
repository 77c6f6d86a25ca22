//! Everything that brings samples into warden.
//!
//! Each source is a [`Collector`]: it is asked to collect at a time and
//! writes through an [`Appender`]. A collector that fails reports the error
//! to the scheduler, which counts it in `warden_collector_errors_total`; it
//! never stops the others.

pub mod collector;

pub use collector::{CollectError, Collector};
pub use warden_tsdb::Appender;
