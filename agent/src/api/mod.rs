//! The Prometheus HTTP query API (`/api/v1/...`).
//!
//! Grafana, promtool, `warden query` and scripts talk to warden exactly as
//! they talk to Prometheus, so paths, parameters, JSON shapes, error kinds
//! and status codes follow Prometheus's `web/api/v1`. Queries run on the
//! blocking pool behind a semaphore (`--query.max-concurrency`), so a burst
//! of heavy queries waits its turn instead of starving collection.

mod encode;
mod handlers;
mod params;
mod response;
mod rules;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::get;
use tokio::sync::Semaphore;
use warden_rules::promql::Engine;
use warden_tsdb::Querier;

pub use encode::go_time;
pub use params::{parse_duration, parse_time};
pub use rules::RuleSource;

/// What `/api/v1/status/buildinfo` reports. `features` is deliberately
/// absent: Grafana takes a backend without it for Prometheus.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// warden's version.
    pub version: String,
    /// The source revision, when known at build time.
    pub revision: String,
    /// The source branch, when known.
    pub branch: String,
    /// Who built it, when known.
    pub build_user: String,
    /// When it was built, when known.
    pub build_date: String,
    /// Prometheus reports its Go version here; warden reports its Rust one.
    pub go_version: String,
}

impl Default for BuildInfo {
    fn default() -> Self {
        BuildInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            revision: option_env!("WARDEN_REVISION")
                .unwrap_or("unknown")
                .to_string(),
            branch: option_env!("WARDEN_BRANCH")
                .unwrap_or("unknown")
                .to_string(),
            build_user: option_env!("WARDEN_BUILD_USER")
                .unwrap_or("unknown")
                .to_string(),
            build_date: option_env!("WARDEN_BUILD_DATE")
                .unwrap_or("unknown")
                .to_string(),
            go_version: concat!("rust", env!("CARGO_PKG_RUST_VERSION")).to_string(),
        }
    }
}

/// Everything the API handlers share.
pub struct ApiState {
    /// Where series come from: the local store, or any other `Querier`.
    /// Empty until the store has replayed its WAL; until then every
    /// endpoint answers 503, as Prometheus does before it is ready.
    pub querier: OnceLock<Arc<dyn Querier>>,
    /// The engine, whose options are the server-wide defaults and limits.
    pub engine: Engine,
    /// Bounds how many queries evaluate at once.
    pub concurrency: Semaphore,
    /// Reported by `/api/v1/status/buildinfo`.
    pub build: BuildInfo,
    /// The running rule groups, for `/api/v1/rules` and `/api/v1/alerts`;
    /// empty until rule evaluation starts.
    pub rules: OnceLock<Arc<dyn RuleSource>>,
}

impl ApiState {
    /// State with at most `max_concurrency` queries at once (Prometheus's
    /// default is 20), whose store is handed in later with [`ApiState::ready`].
    pub fn new(engine: Engine, max_concurrency: usize) -> ApiState {
        ApiState {
            querier: OnceLock::new(),
            engine,
            concurrency: Semaphore::new(max_concurrency.max(1)),
            build: BuildInfo::default(),
            rules: OnceLock::new(),
        }
    }

    /// Hands in the store once it can answer; later calls are ignored.
    pub fn ready(&self, querier: Arc<dyn Querier>) {
        let _ = self.querier.set(querier);
    }
}

/// The `/api/v1` routes, GET and form-encoded POST where Prometheus has both.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/api/v1/query", get(handlers::query).post(handlers::query))
        .route(
            "/api/v1/query_range",
            get(handlers::query_range).post(handlers::query_range),
        )
        .route(
            "/api/v1/series",
            get(handlers::series).post(handlers::series),
        )
        .route(
            "/api/v1/labels",
            get(handlers::labels).post(handlers::labels),
        )
        .route("/api/v1/label/{name}/values", get(handlers::label_values))
        .route("/api/v1/metadata", get(handlers::metadata))
        .route("/api/v1/status/buildinfo", get(handlers::buildinfo))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route(
            "/api/v1/query_exemplars",
            get(handlers::query_exemplars).post(handlers::query_exemplars),
        )
        .route(
            "/api/v1/format_query",
            get(handlers::format_query).post(handlers::format_query),
        )
        .with_state(state)
}

#[cfg(test)]
mod tests;
