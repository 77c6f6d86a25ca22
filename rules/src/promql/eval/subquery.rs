//! Subqueries: the inner expression is evaluated as a range query on a
//! grid aligned to absolute multiples of the subquery step (as Prometheus
//! does), once for all outer steps, then windowed like a range selector.

use promql_parser::parser::SubqueryExpr;

use super::{Evaluator, offset_ms};
use crate::promql::PromqlError;
use crate::promql::selectors::Windows;
use crate::promql::value::{MSeries, Steps, Val};
use warden_tsdb::{HistogramSample, Sample};

/// Evaluates `sq` into windows, one per outer step.
pub(crate) fn eval_subquery(
    ev: &mut Evaluator<'_>,
    sq: &SubqueryExpr,
    steps: &Steps,
) -> Result<Windows, PromqlError> {
    let range = sq.range.as_millis() as i64;
    let step = match sq.step {
        Some(s) if !s.is_zero() => s.as_millis() as i64,
        _ => ev.opts.default_subquery_step_ms.max(1),
    };
    let off = offset_ms(&sq.offset);
    let ends: Vec<i64> = match ev.at_ms(&sq.at) {
        Some(t) => vec![t - off; steps.n],
        None => (0..steps.n).map(|i| steps.t(i) - off).collect(),
    };
    let (Some(&min_end), Some(&max_end)) = (ends.iter().min(), ends.iter().max()) else {
        return Ok(Windows {
            series: Vec::new(),
            ends,
            range,
            extend: None,
        });
    };
    let first = min_end - range;
    let mut start = first.div_euclid(step) * step;
    if start <= first {
        start += step;
    }
    if start > max_end {
        return Ok(Windows {
            series: Vec::new(),
            ends,
            range,
            extend: None,
        });
    }
    let n = usize::try_from((max_end - start) / step)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    // Every inner step of every series may hold a point: refuse grids
    // larger than the sample budget before allocating them.
    if n > ev.opts.max_samples {
        return Err(PromqlError::TooManySamples("query execution".into()));
    }
    let inner = Steps { start, step, n };
    let series = match ev.eval(&sq.expr, &inner)? {
        Val::Vector(v) => v
            .into_iter()
            .map(|s| MSeries {
                labels: s.labels,
                drop_name: s.drop_name,
                samples: s
                    .vals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| Sample { t: inner.t(i), v }))
                    .collect(),
                start_times: Vec::new(),
                hists: s
                    .hists
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, h)| h.map(|h| HistogramSample { t: inner.t(i), h }))
                    .collect(),
                hist_start_times: Vec::new(),
            })
            .filter(|s| !s.samples.is_empty() || !s.hists.is_empty())
            .collect(),
        Val::Scalar(v) => vec![MSeries {
            labels: warden_tsdb::Labels::empty(),
            drop_name: false,
            samples: v
                .iter()
                .enumerate()
                .map(|(i, &v)| Sample { t: inner.t(i), v })
                .collect(),
            start_times: Vec::new(),
            hists: Vec::new(),
            hist_start_times: Vec::new(),
        }],
        other => {
            return Err(PromqlError::Execution(format!(
                "subquery is only allowed on instant vector, got {}",
                other.type_name()
            )));
        }
    };
    Ok(Windows {
        series,
        ends,
        range,
        extend: None,
    })
}
