//! `warden promql test FILE...`: runs Prometheus's promqltest scripts
//! against warden's engine, so users and CI can check conformance with the
//! same files Prometheus tests itself with.

use std::path::PathBuf;
use std::process::ExitCode;

use warden_rules::promql::Engine;
use warden_rules::promql::promqltest::{self, PrintOptions};

/// Flags of `warden promql test`.
#[derive(Debug, Clone, clap::Args)]
pub struct PromqlTestArgs {
    /// Test scripts in the promqltest language (`*.test`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Also list every skipped case and why it was skipped.
    #[arg(long)]
    pub verbose: bool,
    /// Print only the per-file table and the summary.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the scripts; the last line printed is `N passed, N failed, N skipped`,
/// and the exit status is 1 when anything failed.
pub fn run(args: &PromqlTestArgs) -> ExitCode {
    let engine = Engine::new(promqltest::engine_options());
    let report = promqltest::run_files(&args.files, &engine);
    print!(
        "{}",
        report.render(&PrintOptions {
            verbose: args.verbose,
            quiet: args.quiet,
        })
    );
    if report.failed() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
