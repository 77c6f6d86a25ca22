//! Checking a warden configuration file and the rule files it names.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::Outcome;
use super::lint::LintSettings;
use super::rules;
use crate::config::{self, Config};

/// Checks one configuration file and prints the result in promtool's
/// layout: the configuration first, then every rule file its `rule_files`
/// name (unless `syntax_only`), each as `warden check rules` reports it,
/// with the problems indented under `  FAILED:`.
pub fn report(
    path: &Path,
    syntax_only: bool,
    lint: LintSettings,
    out: &mut dyn Write,
    err: &mut dyn Write,
    outcome: &mut Outcome,
) -> io::Result<()> {
    writeln!(out, "Checking {}", path.display())?;
    let rule_files = config::load(path)
        .map_err(|e| e.to_string())
        .and_then(|cfg| {
            if syntax_only {
                Ok(Vec::new())
            } else {
                rule_files(&cfg)
            }
        });
    let rule_files = match rule_files {
        Ok(files) => files,
        Err(problem) => {
            outcome.error();
            writeln!(err, "  FAILED: {problem}")?;
            return writeln!(out);
        }
    };
    if !rule_files.is_empty() {
        writeln!(out, "  SUCCESS: {} rule files found", rule_files.len())?;
    }
    writeln!(
        out,
        " SUCCESS: {} is valid warden config file syntax",
        path.display()
    )?;
    writeln!(out)?;
    for file in rule_files {
        rules::report(&file, lint, "     ", out, err, outcome)?;
    }
    Ok(())
}

/// The files `rule_files` names, as the agent will load them. A glob may
/// match nothing, but a plain path must name an existing file; promtool
/// refuses the configuration otherwise, and so does this check.
fn rule_files(cfg: &Config) -> Result<Vec<PathBuf>, String> {
    let files = cfg.rule_file_paths()?;
    // Globs only ever yield existing files, so a missing one was named.
    match files.iter().find(|f| !f.is_file()) {
        Some(missing) => Err(format!(
            "{:?} does not point to an existing file",
            missing.display().to_string()
        )),
        None => Ok(files),
    }
}
