//! The two doors into the store: [`Appender`] for writers and [`Querier`]
//! for readers. Later stages depend on these traits, never on the head.

use crate::histogram::FloatHistogram;
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::sample::{HistogramSample, Sample};

/// Why one sample was refused. Never fatal: the caller counts it and goes on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendError {
    /// Older than the newest sample of its series.
    #[error("out of order sample")]
    OutOfOrder,
    /// Same timestamp as the newest sample, different value.
    #[error("duplicate sample for timestamp")]
    Duplicate,
    /// Older than the retention window.
    #[error("out of bounds")]
    OutOfBounds,
    /// The store could not take it (for example the WAL could not be written).
    #[error("storage: {0}")]
    Storage(String),
    /// A native histogram whose spans, buckets or schema do not agree
    /// (Prometheus refuses these at append too, so queries never meet them).
    #[error("invalid histogram: {0}")]
    InvalidHistogram(String),
    /// The store behind this appender keeps floats only; a separate variant
    /// so that a writer can fall back (for example to classic buckets)
    /// instead of counting a failure.
    #[error("this store holds no native histograms")]
    HistogramsUnsupported,
}

/// The kind of a metric family, as in the exposition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    /// A monotonically increasing count.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A classic histogram (`_bucket`, `_sum`, `_count`).
    Histogram,
    /// A summary (quantiles, `_sum`, `_count`).
    Summary,
    /// An info metric (value 1, labels carry the information).
    Info,
    /// A state set.
    StateSet,
    /// Unknown or not declared.
    #[default]
    Unknown,
}

impl MetricType {
    /// The name used in `# TYPE` lines and the metadata API.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// What a collector says about a metric family: its type, help and unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricMetadata {
    /// The family's type.
    pub kind: MetricType,
    /// One line of help text.
    pub help: String,
    /// The unit, empty when none.
    pub unit: String,
}

/// Writes samples into the store.
///
/// Samples become visible to queries at [`commit`](Appender::commit); a
/// refused sample ([`AppendError`]) does not spoil the others in the batch.
pub trait Appender {
    /// Adds one sample. Out-of-order and duplicate samples are refused and
    /// counted by the store; the caller may ignore the error.
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError>;

    /// Adds one native-histogram sample, with the same rules as
    /// [`append`](Appender::append): refused when older than the series'
    /// newest sample (float or histogram), a duplicate when a different
    /// sample has its timestamp. A series goes stale with a float
    /// [`STALE_NAN`](crate::STALE_NAN) through `append`.
    ///
    /// The default refuses with [`AppendError::HistogramsUnsupported`], so
    /// that appenders written before histograms (collectors' test
    /// recorders, counting wrappers) keep compiling and say plainly that
    /// they drop them.
    fn append_histogram(
        &mut self,
        labels: &Labels,
        t: i64,
        h: &FloatHistogram,
    ) -> Result<(), AppendError> {
        let _ = (labels, t, h);
        Err(AppendError::HistogramsUnsupported)
    }

    /// Records the type, help and unit of a metric family (by metric name).
    fn set_metadata(&mut self, metric: &str, metadata: MetricMetadata) {
        let _ = (metric, metadata);
    }

    /// Makes the batch visible and durable according to the WAL policy.
    fn commit(&mut self) -> Result<(), AppendError>;
}

/// One series selected by a query: its labels and its samples in the asked
/// time range, oldest first, staleness markers included.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' label set.
    pub labels: Labels,
    /// Samples in `[min_t, max_t]`, oldest first.
    pub samples: Vec<Sample>,
    /// Start timestamps (ms) of the samples, for stores that know them
    /// (OpenTelemetry and created-timestamp sources): empty when the store
    /// keeps none, otherwise one per sample, `0` where a sample has none.
    /// PromQL's counter functions use them to see resets the values hide.
    /// Kept beside the samples, not in [`Sample`], so that series without
    /// them cost nothing.
    pub start_times: Vec<i64>,
    /// Native-histogram samples in `[min_t, max_t]`, oldest first. A series
    /// may switch between floats and histograms over time (Prometheus
    /// allows it), so both lists can be non-empty; no timestamp is in both.
    /// Kept apart from `samples`, as Prometheus's `FPoint`s and `HPoint`s
    /// are, so that float-only series (nearly all) pay nothing for it.
    pub histograms: Vec<HistogramSample>,
    /// Start timestamps (ms) of the histogram samples, as
    /// [`start_times`](Self::start_times) is for the floats: empty when the
    /// store keeps none, otherwise one per histogram, `0` where a sample has
    /// none. A list of its own so that floats-only and start-time-less
    /// series carry nothing for it.
    pub histogram_start_times: Vec<i64>,
}

impl Series {
    /// A series without start timestamps, the common case.
    pub fn new(labels: Labels, samples: Vec<Sample>) -> Series {
        Series {
            labels,
            samples,
            start_times: Vec::new(),
            histograms: Vec::new(),
            histogram_start_times: Vec::new(),
        }
    }

    /// Whether the series holds no sample at all, float or histogram.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.histograms.is_empty()
    }
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The query was cancelled or ran past its deadline.
    #[error("query cancelled")]
    Cancelled,
    /// The backend failed (for a remote querier: the remote API's error).
    #[error("{0}")]
    Backend(String),
}

/// Reads series from a store. The PromQL engine, the HTTP API and `/metrics`
/// read only through this trait, so they work the same over the local head
/// and over a remote Prometheus-compatible API.
pub trait Querier: Send + Sync {
    /// Every series matching all `matchers`, with its samples in
    /// `[min_t, max_t]` (milliseconds, both inclusive), sorted by labels.
    /// Series with no sample in the range are left out.
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Series>, QueryError>;

    /// The series [`select`](Querier::select) would return, handed to `f`
    /// one at a time in the same order; `f` returns
    /// [`ControlFlow::Break`](std::ops::ControlFlow::Break) to stop early.
    ///
    /// A caller that reduces each series as it comes (the PromQL engine's
    /// selectors and range functions) then holds one series' samples at a
    /// time instead of every selected sample. The default selects everything
    /// first; stores that can decode lazily (the local [`Db`](crate::Db))
    /// override it.
    fn select_each(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
        f: &mut dyn FnMut(Series) -> std::ops::ControlFlow<()>,
    ) -> Result<(), QueryError> {
        for s in self.select(matchers, min_t, max_t)? {
            if f(s).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Label names of the series that match `matchers` (all series when
    /// empty) and have samples in the range, sorted.
    fn label_names(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError>;

    /// Values of label `name` over the matching series, sorted.
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError>;

    /// Metadata of metric families, by metric name (empty when not known).
    fn metadata(&self) -> Vec<(String, MetricMetadata)> {
        Vec::new()
    }
}
