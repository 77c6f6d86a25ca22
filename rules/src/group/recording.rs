//! Recording rules: the result renamed and relabelled (Prometheus's
//! `RecordingRule.Eval`).

use warden_tsdb::Labels;
use warden_tsdb::labels::METRIC_NAME;

use super::Point;
use crate::promql::InstantSample;

/// Why a recording rule's evaluation failed after its query succeeded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordingError {
    /// Two result series became one after renaming and relabelling.
    #[error("vector contains metrics with the same labelset after applying rule labels")]
    Duplicate,
    /// More series than the group's `limit`.
    #[error("exceeded limit of {limit} with {count} series")]
    Limit {
        /// The group's limit.
        limit: u64,
        /// How many series the rule produced.
        count: u64,
    },
}

/// Names every result series `record`, sets the rule's labels (an empty
/// value removes the label), and refuses duplicates and results over
/// `limit` (0: no limit).
pub(crate) fn record(
    record: &str,
    labels: &[(String, String)],
    result: Vec<InstantSample>,
) -> Result<Vec<(Labels, Point)>, RecordingError> {
    let mut out = Vec::with_capacity(result.len());
    for s in result {
        let mut b = s.labels.to_builder();
        b.set(METRIC_NAME, record);
        for (k, v) in labels {
            b.set(k, v.as_str());
        }
        let point = match s.h {
            Some(h) => Point::Histogram(h),
            None => Point::Float(s.v),
        };
        out.push((b.build().unwrap_or_default(), point));
    }
    let mut sorted: Vec<&Labels> = out.iter().map(|(l, _)| l).collect();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(RecordingError::Duplicate);
    }
    Ok(out)
}

/// The limit check, after the duplicate check as in Prometheus.
pub(crate) fn check_limit(count: usize, limit: u64) -> Result<(), RecordingError> {
    let count = count as u64;
    if limit > 0 && count > limit {
        return Err(RecordingError::Limit { limit, count });
    }
    Ok(())
}
