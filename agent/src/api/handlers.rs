//! One function per endpoint. Each reads its [`Params`], does its work on
//! the blocking pool where it touches the store, and answers with the
//! Prometheus envelope.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use warden_rules::promql::{Annotations, Engine, PromqlError, QueryOutput, Value};
use warden_tsdb::labels::is_valid_label_name;
use warden_tsdb::{Labels, Matcher, Querier, QueryError};

use super::ApiState;
use super::encode::{write_labels, write_query_data, write_str};
use super::params::{MAX_TIME_MS, MIN_TIME_MS, Params, parse_match_params};
use super::response::{ApiError, success};

/// Prometheus's warning when `limit` cut a result.
const TRUNCATED: &str = "results truncated due to limit";

/// Most points one series of a range query may have, as in Prometheus.
const MAX_POINTS_PER_SERIES: i64 = 11_000;

fn params_of(query: Option<String>, headers: &HeaderMap, body: &Bytes) -> Params {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    Params::from_parts(query.as_deref(), is_form.then_some(body.as_ref()))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn respond(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// An engine with the request's `timeout` (never above the server's) and
/// `lookback_delta`.
fn engine_for(base: &Engine, p: &Params) -> Result<Engine, ApiError> {
    let mut opts = base.options().clone();
    if let Some(ms) = p.duration("timeout")?
        && ms > 0
    {
        opts.timeout = opts.timeout.min(Duration::from_millis(ms as u64));
    }
    if let Some(ms) = p.duration("lookback_delta")?
        && ms > 0
    {
        opts.lookback_delta_ms = ms;
    }
    Ok(Engine::new(opts))
}

/// Runs `work` on the blocking pool once a concurrency slot is free.
async fn on_store<T, F>(st: &Arc<ApiState>, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Querier) -> Result<T, ApiError> + Send + 'static,
{
    let _permit = st
        .concurrency
        .acquire()
        .await
        .map_err(|_| ApiError::internal("query queue closed"))?;
    let querier = st
        .querier
        .get()
        .map(Arc::clone)
        .ok_or_else(ApiError::unavailable)?;
    tokio::task::spawn_blocking(move || work(querier.as_ref()))
        .await
        .map_err(|e| ApiError::internal(format!("query task failed: {e}")))?
}

/// Cuts a vector or matrix to `limit` series, warning as Prometheus does.
fn apply_limit(out: &mut QueryOutput, limit: Option<usize>) {
    let Some(limit) = limit else { return };
    let truncated = match &mut out.value {
        Value::Vector(v) if v.len() > limit => {
            v.sort_by(|a, b| a.labels.cmp(&b.labels));
            v.truncate(limit);
            true
        }
        Value::Matrix(m) if m.len() > limit => {
            m.truncate(limit);
            true
        }
        _ => false,
    };
    if truncated {
        out.annotations.warnings.push(TRUNCATED.into());
    }
}

fn query_response(mut out: QueryOutput, limit: Option<usize>) -> Response {
    apply_limit(&mut out, limit);
    let mut data = String::new();
    write_query_data(&mut data, &out.value);
    success(&data, &out.annotations)
}

/// A query's error as Prometheus's API words it: what Prometheus finds when
/// it creates the query (the expression does not parse, or its type does
/// not suit a range query) is a bad `query` parameter, prefixed
/// `invalid parameter "query": `; everything else is the engine's error as
/// is.
fn query_error(e: PromqlError) -> ApiError {
    let refused_at_creation = match &e {
        PromqlError::Parse { .. } => true,
        PromqlError::BadData(m) => m.starts_with("invalid expression type"),
        _ => false,
    };
    if refused_at_creation {
        ApiError::bad_data(format!("invalid parameter \"query\": {e}"))
    } else {
        ApiError::from(e)
    }
}

/// `/api/v1/query`
pub async fn query(
    State(st): State<Arc<ApiState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params_of(q, &headers, &body);
    respond(
        async {
            let t = p.time_or("time", now_ms())?;
            let engine = engine_for(&st.engine, &p)?;
            let limit = p.limit("limit")?;
            let expr = p.get("query").unwrap_or("").to_string();
            let out = on_store(&st, move |q| {
                engine.instant(q, &expr, t).map_err(query_error)
            })
            .await?;
            Ok(query_response(out, limit))
        }
        .await,
    )
}

/// `/api/v1/query_range`
pub async fn query_range(
    State(st): State<Arc<ApiState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params_of(q, &headers, &body);
    respond(
        async {
            let start = p.time("start")?;
            let end = p.time("end")?;
            if end < start {
                return Err(ApiError::bad_data("end timestamp must not be before start time"));
            }
            let step = match p.get("step") {
                Some(_) => p.duration("step")?.unwrap_or(0),
                None => {
                    return Err(ApiError::bad_data(
                        "invalid parameter \"step\": cannot parse \"\" to a valid duration",
                    ));
                }
            };
            if step <= 0 {
                return Err(ApiError::bad_data(
                    "zero or negative query resolution step widths are not accepted. Try a positive integer",
                ));
            }
            if (end - start) / step > MAX_POINTS_PER_SERIES {
                return Err(ApiError::bad_data(
                    "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
                ));
            }
            let engine = engine_for(&st.engine, &p)?;
            let limit = p.limit("limit")?;
            let expr = p.get("query").unwrap_or("").to_string();
            let out = on_store(&st, move |q| {
                engine.range(q, &expr, start, end, step).map_err(query_error)
            })
            .await?;
            Ok(query_response(out, limit))
        }
        .await,
    )
}

fn match_sets(p: &Params, required: bool) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let selectors = p.all("match[]");
    if selectors.is_empty() && required {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    Ok(parse_match_params(selectors)?)
}

fn time_bounds(p: &Params) -> Result<(i64, i64), ApiError> {
    Ok((
        p.time_or("start", MIN_TIME_MS)?,
        p.time_or("end", MAX_TIME_MS)?,
    ))
}

fn string_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(&mut out, s);
    }
    out.push(']');
    out
}

/// `/api/v1/series`
pub async fn series(
    State(st): State<Arc<ApiState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params_of(q, &headers, &body);
    respond(
        async {
            let sets = match_sets(&p, true)?;
            let (start, end) = time_bounds(&p)?;
            let limit = p.limit("limit")?;
            let found = on_store(&st, move |q| {
                let mut all: BTreeSet<Labels> = BTreeSet::new();
                for set in &sets {
                    let series = q
                        .select(set, start, end)
                        .map_err(|e| ApiError::internal(e.to_string()))?;
                    all.extend(series.into_iter().map(|s| s.labels));
                }
                Ok(all)
            })
            .await?;
            let mut annotations = Annotations::default();
            let mut data = String::from("[");
            for (i, l) in found.iter().enumerate() {
                if limit.is_some_and(|n| i >= n) {
                    annotations.warnings.push(TRUNCATED.into());
                    break;
                }
                if i > 0 {
                    data.push(',');
                }
                write_labels(&mut data, l);
            }
            data.push(']');
            Ok(success(&data, &annotations))
        }
        .await,
    )
}

/// `/api/v1/labels`
pub async fn labels(
    State(st): State<Arc<ApiState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params_of(q, &headers, &body);
    respond(
        async {
            let sets = match_sets(&p, false)?;
            let (start, end) = time_bounds(&p)?;
            let limit = p.limit("limit")?;
            let names = on_store(&st, move |q| {
                union_over_sets(&sets, |set| q.label_names(set, start, end))
            })
            .await?;
            Ok(limited_strings(names, limit))
        }
        .await,
    )
}

/// Runs `lookup` for each `match[]` set (once with no matchers when none
/// were given) and unions the answers, as Prometheus does for `labels` and
/// `label/<name>/values`.
fn union_over_sets(
    sets: &[Vec<Matcher>],
    mut lookup: impl FnMut(&[Matcher]) -> Result<Vec<String>, QueryError>,
) -> Result<BTreeSet<String>, ApiError> {
    let mut out = BTreeSet::new();
    if sets.is_empty() {
        out.extend(lookup(&[]).map_err(|e| ApiError::internal(e.to_string()))?);
    }
    for set in sets {
        out.extend(lookup(set).map_err(|e| ApiError::internal(e.to_string()))?);
    }
    Ok(out)
}

fn limited_strings(items: BTreeSet<String>, limit: Option<usize>) -> Response {
    let mut annotations = Annotations::default();
    let take = limit.unwrap_or(usize::MAX);
    if items.len() > take {
        annotations.warnings.push(TRUNCATED.into());
    }
    success(
        &string_list(items.iter().take(take).map(String::as_str)),
        &annotations,
    )
}

/// `/api/v1/label/<name>/values`
pub async fn label_values(
    State(st): State<Arc<ApiState>>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params_of(q, &headers, &body);
    respond(
        async {
            if !is_valid_label_name(&name) {
                return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
            }
            let sets = match_sets(&p, false)?;
            let (start, end) = time_bounds(&p)?;
            let limit = p.limit("limit")?;
            let values = on_store(&st, move |q| {
                union_over_sets(&sets, |set| q.label_values(&name, set, start, end))
            })
            .await?;
            Ok(limited_strings(values, limit))
        }
        .await,
    )
}

/// `/api/v1/metadata`
pub async fn metadata(State(st): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_parts(q.as_deref(), None);
    respond(
        async {
            let limit = p.limit("limit")?;
            let per_metric = p.limit("limit_per_metric")?;
            let only = p.get("metric").map(str::to_string);
            let all = on_store(&st, |q| Ok(q.metadata())).await?;
            let mut by_metric: BTreeMap<String, Vec<warden_tsdb::MetricMetadata>> = BTreeMap::new();
            for (metric, md) in all {
                if only.as_deref().is_some_and(|m| m != metric) {
                    continue;
                }
                let entry = by_metric.entry(metric).or_default();
                if per_metric.is_none_or(|n| entry.len() < n) && !entry.contains(&md) {
                    entry.push(md);
                }
            }
            let mut data = String::from("{");
            for (i, (metric, mds)) in by_metric.iter().enumerate() {
                if limit.is_some_and(|n| i >= n) {
                    break;
                }
                if i > 0 {
                    data.push(',');
                }
                write_str(&mut data, metric);
                data.push_str(":[");
                for (j, md) in mds.iter().enumerate() {
                    if j > 0 {
                        data.push(',');
                    }
                    data.push_str("{\"type\":");
                    write_str(&mut data, md.kind.as_str());
                    data.push_str(",\"help\":");
                    write_str(&mut data, &md.help);
                    data.push_str(",\"unit\":");
                    write_str(&mut data, &md.unit);
                    data.push('}');
                }
                data.push(']');
            }
            data.push('}');
            Ok(success(&data, &Annotations::default()))
        }
        .await,
    )
}

/// `/api/v1/status/buildinfo`
pub async fn buildinfo(State(st): State<Arc<ApiState>>) -> Response {
    let data = serde_json::to_string(&st.build).unwrap_or_else(|_| "{}".into());
    success(&data, &Annotations::default())
}

/// `/api/v1/query_exemplars`: warden stores no exemplars, so the answer is
/// always an empty list (what Prometheus answers for series without any).
pub async fn query_exemplars(RawQuery(q): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    let p = params_of(q, &headers, &body);
    respond(
        async {
            let expr = p.get("query").unwrap_or("");
            warden_rules::promql::parse_expr(expr)
                .map_err(|e| ApiError::bad_data(e.to_string()))?;
            time_bounds(&p)?;
            Ok(success("[]", &Annotations::default()))
        }
        .await,
    )
}

/// `/api/v1/format_query`
pub async fn format_query(RawQuery(q): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    let p = params_of(q, &headers, &body);
    respond(
        async {
            let expr = p.get("query").unwrap_or("");
            let parsed = warden_rules::promql::parse_expr(expr)
                .map_err(|e| ApiError::bad_data(e.to_string()))?;
            let mut data = String::new();
            write_str(&mut data, &parsed.prettify());
            Ok(success(&data, &Annotations::default()))
        }
        .await,
    )
}
