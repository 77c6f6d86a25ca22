//! Running a whole query: parse, evaluate over the grid, and turn the
//! internal values into the public [`Value`] (dropping delayed metric
//! names, checking for duplicate label sets, sorting range results).

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::time::Instant;

use warden_tsdb::{HistogramSample, Labels, LabelsBuilder, Querier, Sample, Series};

use super::annotations::Collector;
use super::eval::Evaluator;
use super::eval::stats_decoding::StatsDecoding;
use super::hash::{FxHashMap, FxHasher};
use super::limits::Limits;
use super::parse::{QueryParams, parse_query};
use super::value::{MSeries, Steps, VSeries, Val};
use super::{EngineOptions, InstantSample, PromqlError, QueryOutput, Value};

const DUPLICATE: &str = "vector cannot contain metrics with the same labelset";

/// Labels Prometheus removes together with the metric name: the name and
/// the type-and-unit metadata labels.
const METADATA_LABELS: [&str; 3] = ["__name__", "__type__", "__unit__"];

fn final_labels(l: &Labels, drop_name: bool) -> Labels {
    let is_meta = |n: &str| n.starts_with("__") && METADATA_LABELS.contains(&n);
    if drop_name && l.iter().any(|lab| is_meta(&lab.name)) {
        let mut b = LabelsBuilder::new();
        for lab in l.iter().filter(|lab| !is_meta(&lab.name)) {
            b.push(lab.name.as_str(), lab.value.as_str());
        }
        b.build().unwrap_or_default()
    } else {
        l.clone()
    }
}

fn evaluate(
    opts: &EngineOptions,
    querier: &dyn Querier,
    expr: &str,
    steps: Steps,
    is_range: bool,
) -> Result<(Val, Collector), PromqlError> {
    let params = QueryParams {
        step_ms: if is_range { steps.step } else { 0 },
        range_ms: steps.end() - steps.start,
    };
    let parsed = parse_query(expr, params)?;
    let deadline = Instant::now().checked_add(opts.timeout);
    let mut ev = Evaluator {
        querier,
        opts,
        positions: &parsed.positions,
        src: &parsed.text,
        query_start: steps.start,
        query_end: steps.end(),
        query_step: if is_range { steps.step } else { 0 },
        is_range,
        limits: Limits::new(deadline, opts.max_samples),
        annos: Collector::default(),
        stats_decoding: StatsDecoding::detect(&parsed.expr, &parsed.positions),
    };
    let v = ev.eval(&parsed.expr, &steps)?;
    Ok((v, ev.annos))
}

/// Runs an instant query.
pub(crate) fn run_instant(
    opts: &EngineOptions,
    querier: &dyn Querier,
    expr: &str,
    t: i64,
) -> Result<QueryOutput, PromqlError> {
    let (v, annos) = evaluate(opts, querier, expr, Steps::instant(t), false)?;
    let value = match v {
        Val::Scalar(s) => Value::Scalar { t, v: s[0] },
        Val::Str(s) => Value::String { t, v: s },
        Val::Vector(series) => {
            let mut seen: HashSet<Labels, BuildHasherDefault<FxHasher>> = HashSet::default();
            let mut out = Vec::with_capacity(series.len());
            for s in series {
                let h = s.hist(0).cloned();
                let v = match (s.vals[0], &h) {
                    (Some(v), _) => v,
                    (None, Some(_)) => 0.0,
                    (None, None) => continue,
                };
                let labels = final_labels(&s.labels, s.drop_name);
                if !seen.insert(labels.clone()) {
                    return Err(PromqlError::Execution(DUPLICATE.into()));
                }
                out.push(InstantSample { labels, t, v, h });
            }
            Value::Vector(out)
        }
        Val::Matrix(m) => Value::Matrix(matrix_output(m)?),
    };
    Ok(QueryOutput {
        value,
        annotations: annos.finish(),
    })
}

fn matrix_output(m: Vec<MSeries>) -> Result<Vec<Series>, PromqlError> {
    let mut seen: HashSet<Labels, BuildHasherDefault<FxHasher>> = HashSet::default();
    let mut out = Vec::with_capacity(m.len());
    for s in m {
        let labels = final_labels(&s.labels, s.drop_name);
        if !seen.insert(labels.clone()) {
            return Err(PromqlError::Execution(DUPLICATE.into()));
        }
        let mut series = Series::new(labels, s.samples);
        series.histograms = s.hists;
        out.push(series);
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(out)
}

/// Runs a range query; the value is always a matrix sorted by labels.
pub(crate) fn run_range(
    opts: &EngineOptions,
    querier: &dyn Querier,
    expr: &str,
    start: i64,
    end: i64,
    step: i64,
) -> Result<QueryOutput, PromqlError> {
    if step <= 0 {
        return Err(PromqlError::BadData(
            "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
        ));
    }
    if end < start {
        return Err(PromqlError::BadData(
            "end timestamp must not be before start time".into(),
        ));
    }
    let n = usize::try_from((end - start) / step)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    if n > 11_000 {
        return Err(PromqlError::BadData(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
        ));
    }
    let steps = Steps { start, step, n };
    let (v, annos) = evaluate(opts, querier, expr, steps, true)?;
    let series = match v {
        Val::Scalar(s) => vec![Series::new(
            Labels::empty(),
            s.iter()
                .enumerate()
                .map(|(i, &v)| Sample { t: steps.t(i), v })
                .collect(),
        )],
        Val::Vector(v) => range_output(v, &steps)?,
        other => {
            return Err(PromqlError::BadData(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                other.type_name()
            )));
        }
    };
    Ok(QueryOutput {
        value: Value::Matrix(series),
        annotations: annos.finish(),
    })
}

fn range_output(v: Vec<VSeries>, steps: &Steps) -> Result<Vec<Series>, PromqlError> {
    let mut index: FxHashMap<Labels, usize> = FxHashMap::default();
    let mut merged: Vec<VSeries> = Vec::with_capacity(v.len());
    for s in v {
        let labels = final_labels(&s.labels, s.drop_name);
        match index.get(&labels) {
            None => {
                index.insert(labels.clone(), merged.len());
                merged.push(VSeries {
                    labels,
                    drop_name: false,
                    ..s
                });
            }
            Some(&k) => {
                let into = &mut merged[k];
                for i in 0..steps.n {
                    if !s.has_point(i) {
                        continue;
                    }
                    if into.has_point(i) {
                        return Err(PromqlError::Execution(DUPLICATE.into()));
                    }
                    into.vals[i] = s.vals[i];
                    into.set_hist(i, s.hist(i).cloned());
                }
            }
        }
    }
    let mut out: Vec<Series> = merged
        .into_iter()
        .map(|s| {
            let mut series = Series::new(
                s.labels,
                s.vals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| Sample { t: steps.t(i), v }))
                    .collect(),
            );
            series.histograms = s
                .hists
                .into_iter()
                .enumerate()
                .filter_map(|(i, h)| h.map(|h| HistogramSample { t: steps.t(i), h }))
                .collect();
            series
        })
        .filter(|s| !s.is_empty())
        .collect();
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(out)
}
