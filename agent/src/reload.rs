//! Reloading the configuration while running: on SIGHUP and on
//! `POST`/`PUT /-/reload` (with `--web.enable-lifecycle`, as Prometheus).
//!
//! A reload re-reads the configuration file (with the same flags as at
//! start) and every rule file. Either everything parses and validates and
//! the new rules replace the old ones, or nothing changes: the problems are
//! logged with their file, line and column, the HTTP reload answers 500 with
//! them, and `warden_config_last_reload_successful` turns 0. Rule groups
//! that did not change keep running untouched; changed ones keep the state
//! of their unchanged rules. Sections that cannot change while running
//! (the data directory, the listen address, the collectors) are logged as
//! needing a restart and keep their old values.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use warden_rules::group::GroupOptions;

use crate::config::{Config, ConfigSource};
use crate::rules::manager::RuleManager;
use crate::selfmetrics::SelfMetrics;

/// The rule flags of `warden run`, which a reload keeps.
#[derive(Debug, Clone, Copy)]
pub struct RuleFlags {
    /// `--rules.alert.for-outage-tolerance`.
    pub outage_tolerance: Duration,
    /// `--rules.alert.resend-delay`.
    pub resend_delay: Duration,
}

/// The options every rule group is built with, from the configuration and
/// the flags.
pub fn group_options(cfg: &Config, flags: &RuleFlags) -> GroupOptions {
    GroupOptions {
        default_interval_ms: ms(cfg.global.evaluation_interval.get()),
        default_query_offset_ms: ms(cfg.global.rule_query_offset.get()),
        external_labels: cfg
            .global
            .external_labels
            .iter()
            .map(|(k, v)| (k.0.clone(), v.clone()))
            .collect(),
        external_url: cfg.web.external_url().0,
        outage_tolerance_ms: ms(flags.outage_tolerance),
        resend_delay_ms: ms(flags.resend_delay),
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `warden_config_last_reload_*`, as Prometheus's `prometheus_config_*`.
pub struct ReloadMetrics {
    successful: Gauge,
    timestamp: Gauge<f64, AtomicU64>,
}

impl std::fmt::Debug for ReloadMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReloadMetrics")
    }
}

impl ReloadMetrics {
    /// Registers both gauges; they read as a successful load at start.
    pub fn register(registry: &mut Registry) -> ReloadMetrics {
        let m = ReloadMetrics {
            successful: Gauge::default(),
            timestamp: Gauge::default(),
        };
        registry.register(
            "warden_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful",
            m.successful.clone(),
        );
        registry.register(
            "warden_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload",
            m.timestamp.clone(),
        );
        m
    }

    /// Records the outcome of a load (the one at start counts).
    pub fn loaded(&self, ok: bool) {
        self.successful.set(i64::from(ok));
        if ok {
            self.timestamp
                .set(crate::scheduler::now_ms() as f64 / 1000.0);
        }
    }
}

/// Re-reads the configuration and applies what can change live.
pub struct Reloader {
    source: ConfigSource,
    flags: RuleFlags,
    current: tokio::sync::Mutex<Config>,
    rules: Arc<RuleManager>,
    metrics: Arc<SelfMetrics>,
}

impl Reloader {
    /// A reloader for a warden started with `cfg`, read from `source`.
    pub fn new(
        source: ConfigSource,
        flags: RuleFlags,
        cfg: Config,
        rules: Arc<RuleManager>,
        metrics: Arc<SelfMetrics>,
    ) -> Reloader {
        Reloader {
            source,
            flags,
            current: tokio::sync::Mutex::new(cfg),
            rules,
            metrics,
        }
    }

    /// Reloads; on failure nothing changed and the error says why (one
    /// problem per line). Reloads run one at a time.
    pub async fn reload(&self) -> Result<(), String> {
        let mut current = self.current.lock().await;
        let source = self.source.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let cfg = source.load().map_err(|e| e.to_string())?;
            let files = crate::rules::load::load(&cfg).map_err(|e| e.to_string())?;
            Ok::<_, String>((cfg, files))
        })
        .await
        .map_err(|e| format!("reload panicked: {e}"))
        .and_then(|r| r);
        let (cfg, files) = match loaded {
            Ok(v) => v,
            Err(e) => {
                self.metrics.reload.loaded(false);
                for line in e.lines() {
                    tracing::error!(
                        error = line,
                        "reload failed; the running configuration is kept"
                    );
                }
                return Err(e);
            }
        };
        for section in needs_restart(&current, &cfg) {
            tracing::warn!(
                section,
                "changed in the configuration, but only takes effect after a restart"
            );
        }
        let opts = group_options(&cfg, &self.flags);
        self.rules.apply(&files, &opts, None).await;
        let groups: usize = files.iter().map(|f| f.groups.len()).sum();
        current.global = cfg.global;
        current.rule_files = cfg.rule_files;
        current.rule_packs = cfg.rule_packs;
        current.base_dir = cfg.base_dir;
        current.web.external_url = cfg.web.external_url;
        self.metrics.reload.loaded(true);
        tracing::info!(groups, "configuration reloaded");
        Ok(())
    }
}

/// The sections that differ and cannot be applied while running.
fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    // The sections have no equality of their own; their Debug form holds
    // every field, which is what "changed" means here.
    if format!("{:?}", old.storage) != format!("{:?}", new.storage) {
        out.push("storage");
    }
    if old.web.listen_address != new.web.listen_address {
        out.push("web.listen_address");
    }
    if format!("{:?}", old.collectors) != format!("{:?}", new.collectors) {
        out.push("collectors");
    }
    if old.global.scrape_interval != new.global.scrape_interval {
        out.push("global.scrape_interval");
    }
    out
}

/// Reloads on every SIGHUP until `stop`.
pub async fn sighup_loop(reloader: Arc<Reloader>, mut stop: watch::Receiver<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; reload with POST /-/reload");
                return;
            }
        };
        loop {
            let hup_received = tokio::select! {
                r = hup.recv() => r.is_some(),
                _ = stop.wait_for(|s| *s) => false,
            };
            if !hup_received {
                return;
            }
            tracing::info!("SIGHUP: reloading the configuration");
            let _ = reloader.reload().await;
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (reloader, stop.wait_for(|s| *s).await);
    }
}

/// Where the HTTP endpoint finds the reloader once the store is open.
pub type ReloaderSlot = Arc<OnceLock<Arc<Reloader>>>;

struct Lifecycle {
    enabled: bool,
    slot: ReloaderSlot,
}

/// `/-/reload` (POST and PUT).
pub fn router(slot: ReloaderSlot, enabled: bool) -> Router {
    Router::new()
        .route("/-/reload", post(reload).put(reload))
        .with_state(Arc::new(Lifecycle { enabled, slot }))
}

async fn reload(State(st): State<Arc<Lifecycle>>) -> Response {
    if !st.enabled {
        return plain(StatusCode::FORBIDDEN, "Lifecycle API is not enabled.");
    }
    let Some(reloader) = st.slot.get().map(Arc::clone) else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable: replaying the write-ahead log",
        );
    };
    match reloader.reload().await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("failed to reload config: {e}"),
        ),
    }
}

/// A text error the way Go's `http.Error` writes it.
fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        format!("{text}\n"),
    )
        .into_response()
}
