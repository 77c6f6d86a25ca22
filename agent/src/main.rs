//! The `warden` binary: parse the command line, set up logging, dispatch.
//!
//! Exit status: 0 on a clean stop, 2 on a configuration error (as
//! Prometheus's tools do), 1 on any other failure.

mod api;
mod check_cli;
mod cli;
mod config;
mod exposition;
mod http;
mod leak;
mod leak_cli;
mod logging;
mod promql_cli;
mod reload;
mod remote_query;
mod rules;
mod run;
mod scheduler;
mod selfcollector;
mod selfmetrics;
mod store;
mod test_rules_cli;
mod wiring;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::{CheckCommand, Cli, Command, LeakCommand, PromqlCommand, RunArgs, TestCommand};
use crate::config::ConfigSource;

/// mimalloc instead of glibc's malloc: rule and query evaluation allocate
/// many short-lived vectors, and mimalloc evaluates the 100k-series rule
/// benchmark about a third faster with less memory under load. Built with
/// transparent huge pages off (`no_thp`): with them, its arenas hold
/// ~50 MiB resident on an idle agent instead of ~18 MiB
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Where `warden query` asks by default: a local warden.
pub const DEFAULT_QUERY_URL: &str = "http://127.0.0.1:9659";

/// Async worker threads: HTTP and timers only; collection runs on the
/// blocking pool, so two are plenty and keep idle memory low.
const WORKER_THREADS: usize = 2;

/// Upper bound of blocking threads (collector cycles, maintenance, /metrics
/// rendering); each collector uses at most one at a time.
const MAX_BLOCKING_THREADS: usize = 8;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log.level, cli.log.format);
    // TLS clients (remote queries now, notifications later) use rustls with
    // the ring provider; it must be chosen before the first client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::Query(args) => on_small_runtime(async move {
            match remote_query::run(&args).await {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
        Command::Promql(PromqlCommand::Test(args)) => promql_cli::run(&args),
        Command::Leak(LeakCommand::Analyze(args)) => {
            on_small_runtime(async move { leak_cli::run(&args).await })
        }
        Command::Check(CheckCommand::Rules(args)) => check_cli::run_rules(&args),
        Command::Check(CheckCommand::Config(args)) => check_cli::run_config(&args),
        Command::Test(TestCommand::Rules(args)) => test_rules_cli::run(&args),
    }
}

/// Runs a one-shot client command on a single-threaded runtime.
fn on_small_runtime(work: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(work),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

fn cmd_run(args: RunArgs) -> ExitCode {
    let source = config_source(&args);
    let cfg = match source.load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .thread_keep_alive(Duration::from_secs(60))
        .thread_name("warden")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = run::RunOptions {
        source,
        rule_flags: reload::RuleFlags {
            outage_tolerance: args.for_outage_tolerance,
            resend_delay: args.resend_delay,
        },
        enable_lifecycle: args.enable_lifecycle,
    };
    match runtime.block_on(run::run(cfg, opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "warden stopped");
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Where the configuration comes from: the file and the flags over it.
fn config_source(args: &RunArgs) -> ConfigSource {
    ConfigSource {
        file: args.config_file.clone(),
        listen_address: args.listen_address.clone(),
        storage_path: args.storage_path.clone(),
        external_url: args.external_url.clone(),
    }
}
