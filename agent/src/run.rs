//! `warden run`: wires configuration, store, collectors, HTTP and signals.
//!
//! Order matters and is the point of this module:
//! 1. bind the HTTP listener (a port conflict fails fast, before any replay);
//! 2. serve `/-/healthy` at once and `/-/ready` as 503;
//! 3. open the store (replays the WAL), then report ready;
//! 4. start rule evaluation (restoring saved alerts), the collectors and the
//!    once-a-minute maintenance; SIGHUP and `/-/reload` reload the rules;
//! 5. on SIGTERM or SIGINT: stop the rule groups and the collectors, let the
//!    in-flight work commit, stop the HTTP server, close the store (flush +
//!    fsync), exit 0.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::ApiState;
use crate::config::{Config, ConfigSource};
use crate::http::{AppState, router};
use crate::reload::{Reloader, ReloaderSlot, RuleFlags};
use crate::scheduler::{self, Scheduled};
use crate::selfmetrics::SelfMetrics;
use crate::store::Store;
use warden_rules::promql::{Engine, EngineOptions};
use warden_tsdb::{Db, Querier};

/// How often retention and checkpoints run.
const MAINTAIN_EVERY: Duration = Duration::from_secs(60);

/// How long in-flight HTTP requests get once shutdown starts.
const HTTP_DRAIN: Duration = Duration::from_secs(5);

/// Queries evaluated at once, as Prometheus's `--query.max-concurrency`
/// default; more wait their turn.
const QUERY_CONCURRENCY: usize = 20;

/// Why `warden run` stopped with an error (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address from the configuration or flag.
        addr: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("cannot open the store in {path}: {reason}")]
    Store {
        /// The data directory.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The rule files or packs do not load: a configuration error, exit
    /// status 2.
    #[error("cannot load the rules:\n{0}")]
    Rules(#[from] crate::rules::load::RuleLoadError),
    /// A collector could not be set up from its configuration (a missing
    /// `proc_path`, say): a configuration error, exit status 2.
    #[error("collector {name}: {reason}")]
    Collector {
        /// The collector.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

impl RunError {
    /// The process exit status for this error: 2 for what the configuration
    /// got wrong, 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Collector { .. } | RunError::Rules(_) => 2,
            RunError::Bind { .. } | RunError::Store { .. } => 1,
        }
    }
}

/// What `warden run` needs besides the configuration itself.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where the configuration came from, for reloads.
    pub source: ConfigSource,
    /// The rule flags.
    pub rule_flags: RuleFlags,
    /// `--web.enable-lifecycle`: whether `/-/reload` is served.
    pub enable_lifecycle: bool,
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(cfg: Config, opts: RunOptions) -> Result<(), RunError> {
    let mut shutdown = ShutdownSignal::install();
    // Collectors and rules first: a bad path or rule file in the
    // configuration is reported before anything binds a port or touches
    // the data directory.
    let metrics = Arc::new(SelfMetrics::new());
    let collectors: Vec<Scheduled> = crate::wiring::collectors(&cfg, &metrics)?;
    let rule_files = crate::rules::load::load(&cfg)?;
    metrics.reload.loaded(true);
    let addr = cfg.web.listen_address.0.clone();
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| RunError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let local = listener
        .local_addr()
        .map_or(addr.clone(), |a| a.to_string());

    let state = AppState::new(Arc::clone(&metrics));
    let api = Arc::new(ApiState::new(
        Engine::new(EngineOptions::default()),
        QUERY_CONCURRENCY,
    ));
    let reloader: ReloaderSlot = Arc::default();
    let app = router(Arc::clone(&state))
        .merge(crate::api::router(Arc::clone(&api)))
        .merge(crate::reload::router(
            Arc::clone(&reloader),
            opts.enable_lifecycle,
        ));
    let (http_stop_tx, mut http_stop_rx) = watch::channel(false);
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop_rx.wait_for(|stop| *stop).await;
            })
            .into_future(),
    );
    tracing::info!(address = %local, "listening");

    let db = crate::wiring::open_store(&cfg).await?;
    {
        // A weak reference: the statistics must not keep the store open.
        let weak = Arc::downgrade(&db);
        metrics.set_store(Arc::new(move || {
            weak.upgrade()
                .map(|d| Store::stats(&*d))
                .unwrap_or_default()
        }));
    }
    let store: Arc<dyn Store> = Arc::clone(&db) as _;
    let _ = state.store.set(Arc::clone(&store));
    api.ready(Arc::clone(&db) as Arc<dyn Querier>);
    tracing::info!(path = %cfg.storage.path.display(), "store ready");

    let rules = crate::rules::start(&cfg, &rule_files, &opts.rule_flags, &db, &metrics).await;
    let _ = api
        .rules
        .set(Arc::clone(&rules.manager) as Arc<dyn crate::api::RuleSource>);
    let reload = Arc::new(Reloader::new(
        opts.source.clone(),
        opts.rule_flags,
        cfg.clone(),
        Arc::clone(&rules.manager),
        Arc::clone(&metrics),
    ));
    let _ = reloader.set(Arc::clone(&reload));

    let names: Vec<String> = collectors
        .iter()
        .map(|s| s.collector.name().to_string())
        .collect();
    let (stop_tx, stop_rx) = watch::channel(false);
    let source: Arc<dyn scheduler::AppenderSource> = Arc::clone(&db) as _;
    let handles = scheduler::spawn(source, collectors, Arc::clone(&metrics), stop_rx.clone());
    let maintenance = tokio::spawn(maintain_loop(Arc::clone(&store), stop_rx.clone()));
    let sighup = tokio::spawn(crate::reload::sighup_loop(reload, stop_rx));
    drop(store);
    tracing::info!(collectors = ?names, "warden started");

    let signal = shutdown.recv().await;
    tracing::info!(signal, "shutting down");

    let _ = stop_tx.send(true);
    let _ = sighup.await;
    rules.stop().await;
    for h in handles {
        let _ = h.await;
    }
    let _ = maintenance.await;
    let _ = http_stop_tx.send(true);
    let abort = server.abort_handle();
    match tokio::time::timeout(HTTP_DRAIN, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "HTTP server stopped with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server task failed"),
        Err(_) => {
            tracing::warn!("HTTP connections still open after the drain period; closing them");
            abort.abort();
        }
    }
    // The last holders of the store besides `db`: dropping them lets the
    // store be closed (and fsynced) explicitly.
    drop(state);
    drop(api);
    drop(reloader);
    close_store(db).await;
    Ok(())
}

/// Closes the store once every other user has let go of it (the collectors
/// and HTTP handlers are stopped by now; a straggler gets a moment).
async fn close_store(mut db: Arc<Db>) {
    for _ in 0..100 {
        match Arc::try_unwrap(db) {
            Ok(owned) => {
                match tokio::task::spawn_blocking(move || owned.close()).await {
                    Ok(Ok(())) => tracing::info!("store closed"),
                    Ok(Err(e)) => tracing::error!(error = %e, "closing the store failed"),
                    Err(e) => tracing::error!(error = %e, "closing the store panicked"),
                }
                return;
            }
            Err(shared) => db = shared,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Dropping the last reference flushes and fsyncs the WAL as well.
    tracing::warn!("store still in use at shutdown; it is closed when its last user ends");
}

/// Retention and checkpoints once a minute, off the async workers, until stop.
async fn maintain_loop(store: Arc<dyn Store>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(MAINTAIN_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate; maintenance right after replay is wasted.
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let s = Arc::clone(&store);
        let now = scheduler::now_ms();
        match tokio::task::spawn_blocking(move || s.maintain(now)).await {
            Ok(Ok(())) => tracing::debug!("store maintenance done"),
            Ok(Err(e)) => tracing::warn!(error = %e, "store maintenance failed"),
            Err(e) => tracing::error!(error = %e, "store maintenance panicked"),
        }
    }
}

/// SIGTERM and SIGINT, registered at start so that a signal during the WAL
/// replay is not lost.
struct ShutdownSignal {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignal {
    fn install() -> ShutdownSignal {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let term = signal(SignalKind::terminate()).ok();
            let int = signal(SignalKind::interrupt()).ok();
            if term.is_none() || int.is_none() {
                tracing::warn!("cannot listen for SIGTERM or SIGINT; warden may not stop cleanly");
            }
            ShutdownSignal { term, int }
        }
        #[cfg(not(unix))]
        {
            ShutdownSignal {}
        }
    }

    /// Waits for the first signal and names it.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            async fn wait(s: Option<&mut tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = wait(self.term.as_mut()) => "SIGTERM",
                _ = wait(self.int.as_mut()) => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}
