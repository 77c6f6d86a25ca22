//! The HTTP server: `/metrics`, `/-/healthy`, `/-/ready`.
//!
//! The listener is bound before the store is opened, so a supervisor sees
//! `/-/healthy` (the process is up and serving) while the WAL replays, and
//! `/-/ready` turns from 503 to 200 only once the store can answer, as in
//! Prometheus.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::selfmetrics::SelfMetrics;
use crate::store::Store;

/// What the handlers share.
pub struct AppState {
    /// warden's own metrics.
    pub metrics: Arc<SelfMetrics>,
    /// The store, set once its WAL has been replayed (that is readiness).
    pub store: OnceLock<Arc<dyn Store>>,
}

impl AppState {
    /// State for a server whose store is not open yet.
    pub fn new(metrics: Arc<SelfMetrics>) -> Arc<AppState> {
        Arc::new(AppState {
            metrics,
            store: OnceLock::new(),
        })
    }
}

/// The router with every endpoint.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/-/healthy", get(healthy).head(healthy))
        .route("/-/ready", get(ready).head(ready))
        .with_state(state)
}

async fn healthy() -> &'static str {
    "warden is Healthy.\n"
}

async fn ready(State(state): State<Arc<AppState>>) -> Response {
    if state.store.get().is_some() {
        "warden is Ready.\n".into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable: replaying the write-ahead log.\n",
        )
            .into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Reading the store and encoding are CPU work over locks; keep them off
    // the async workers.
    let rendered =
        tokio::task::spawn_blocking(move || crate::exposition::render(&state, &accept)).await;
    match rendered {
        Ok((content_type, body)) => {
            let mut resp = body.into_response();
            if let Ok(v) = HeaderValue::from_str(content_type) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering /metrics failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "rendering /metrics failed\n",
            )
                .into_response()
        }
    }
}
