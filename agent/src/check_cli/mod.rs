//! `warden check rules` and `warden check config`: promtool's checks, with
//! its output and exit statuses, so CI jobs written around `promtool check`
//! work with warden unchanged.
//!
//! Exit status, as promtool: 0 when everything is valid (lint problems are
//! printed but do not fail), 1 when anything is invalid, 3 when the only
//! problems are lint problems and `--lint-fatal` is given. Problems always
//! carry `line:column`, also where promtool gives none.

mod config;
mod lint;
mod rules;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use lint::LintSettings;

/// Lint flags shared by both subcommands (promtool's names and default).
#[derive(Debug, Clone, clap::Args)]
pub struct LintArgs {
    /// Linting checks to apply: a comma-separated list of all,
    /// duplicate-rules, none.
    #[arg(long, value_name = "LINT", default_value = "duplicate-rules")]
    pub lint: String,
    /// Make lint problems exit with status 3.
    #[arg(long = "lint-fatal")]
    pub lint_fatal: bool,
}

/// Flags of `warden check rules`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckRulesArgs {
    /// Prometheus rule files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Lint flags.
    #[command(flatten)]
    pub lint: LintArgs,
}

/// Flags of `warden check config`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckConfigArgs {
    /// warden configuration files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only check the configuration itself, not the rule files it names.
    #[arg(long = "syntax-only")]
    pub syntax_only: bool,
    /// Lint flags (applied to the rule files the configuration names).
    #[command(flatten)]
    pub lint: LintArgs,
}

/// What a whole run found, for the exit status.
#[derive(Debug, Default)]
pub struct Outcome {
    failed: bool,
    has_errors: bool,
}

impl Outcome {
    /// Something was invalid.
    fn error(&mut self) {
        self.failed = true;
        self.has_errors = true;
    }

    /// A lint found something in a valid file.
    fn lint_problem(&mut self) {
        self.failed = true;
    }

    /// promtool's statuses: 1 for errors, 3 for lint problems under
    /// `--lint-fatal`, else 0.
    fn status(&self, lint: LintSettings) -> u8 {
        if self.failed && self.has_errors {
            1
        } else if self.failed && lint.fatal {
            3
        } else {
            0
        }
    }
}

/// `warden check rules FILE...`.
pub fn run_rules(args: &CheckRulesArgs) -> ExitCode {
    run(&args.files, &args.lint, |lint, out, err, outcome| {
        for path in &args.files {
            rules::report(path, lint, "", out, err, outcome)?;
        }
        Ok(())
    })
}

/// `warden check config FILE...`.
pub fn run_config(args: &CheckConfigArgs) -> ExitCode {
    run(&args.files, &args.lint, |lint, out, err, outcome| {
        for path in &args.files {
            config::report(path, args.syntax_only, lint, out, err, outcome)?;
        }
        Ok(())
    })
}

/// What both subcommands share: refusing missing files up front (as
/// promtool does, before any output), the lint warnings, locked output
/// streams, and the exit status.
fn run(
    files: &[PathBuf],
    lint: &LintArgs,
    body: impl FnOnce(LintSettings, &mut dyn Write, &mut dyn Write, &mut Outcome) -> io::Result<()>,
) -> ExitCode {
    if let Some(problem) = files.iter().find_map(|f| not_a_file(f)) {
        eprintln!("warden: error: {problem}");
        return ExitCode::FAILURE;
    }
    let (settings, warnings) = LintSettings::parse(&lint.lint, lint.lint_fatal);
    let mut out = io::stdout().lock();
    let mut err = io::stderr().lock();
    let mut outcome = Outcome::default();
    let written = warnings
        .iter()
        .try_for_each(|w| writeln!(out, "{w}"))
        .and_then(|()| body(settings, &mut out, &mut err, &mut outcome))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => ExitCode::from(outcome.status(settings)),
        Err(e) => {
            let _ = writeln!(err, "warden: error: cannot write the report: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Why `path` cannot be checked at all, worded as promtool's argument check.
fn not_a_file(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Some(format!("'{}' is a directory", path.display())),
        Ok(_) => None,
        Err(_) => Some(format!("path '{}' does not exist", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_promtools() {
        let lenient = LintSettings::default();
        let fatal = LintSettings {
            fatal: true,
            ..LintSettings::default()
        };
        let mut o = Outcome::default();
        assert_eq!((o.status(lenient), o.status(fatal)), (0, 0));
        o.lint_problem();
        assert_eq!((o.status(lenient), o.status(fatal)), (0, 3));
        o.error();
        assert_eq!((o.status(lenient), o.status(fatal)), (1, 1));
    }
}
