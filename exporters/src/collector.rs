//! The collector contract.

use warden_tsdb::Appender;

/// Why a collection (or a part of it) failed.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A source file or directory could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file that could not be read.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A source was read but its content was not what was expected.
    #[error("parsing {path}: {reason}")]
    Parse {
        /// The file that was read.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// Any other failure, described for the log.
    #[error("{0}")]
    Other(String),
}

/// One source of samples, collected on a schedule.
///
/// `collect` writes everything it can; if parts failed it still writes the
/// rest and returns the errors it met, so one unreadable file costs one
/// family, never the whole collection.
pub trait Collector: Send {
    /// The name used in `warden_collector_errors_total{collector}` and logs.
    fn name(&self) -> &str;

    /// Collects at `now_ms` (milliseconds since the epoch) into `app`.
    /// Returns the errors met; an empty vector means a clean collection.
    fn collect(&mut self, now_ms: i64, app: &mut dyn Appender) -> Vec<CollectError>;
}
