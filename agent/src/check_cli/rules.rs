//! Checking one rule file and reporting it in promtool's layout.

use std::io::{self, Write};
use std::path::Path;

use warden_rules::rulefmt::{self, LoadOptions};

use super::Outcome;
use super::lint::{LintSettings, duplicates_message};

/// What checking one rule file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Valid, and no lint problem: the number of rules.
    Valid(usize),
    /// The file is invalid: one message per problem, each with its place.
    Invalid(Vec<String>),
    /// The file is valid but a lint found something (one message, several
    /// lines); only fatal with `--lint-fatal`.
    Lint(String),
}

/// Loads, validates and lints one rule file, exactly as the agent will load
/// it (strict: vmalert's extra group fields are refused, as promtool does).
pub fn check(path: &Path, lint: LintSettings) -> Verdict {
    let file = match rulefmt::load(path, LoadOptions::default()) {
        Ok(f) => f,
        Err(e) => return Verdict::Invalid(e.errors.iter().map(ToString::to_string).collect()),
    };
    if lint.duplicate_rules {
        let duplicates = rulefmt::duplicate_rules(&file);
        if !duplicates.is_empty() {
            return Verdict::Lint(duplicates_message(&duplicates));
        }
    }
    Verdict::Valid(file.rule_count())
}

/// Checks one rule file and prints the result as promtool does: `Checking
/// FILE` and `  SUCCESS: N rules found` on `out`, `  FAILED:` and the
/// problems on `err`, each problem prefixed by `indent`, then an empty line.
pub fn report(
    path: &Path,
    lint: LintSettings,
    indent: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
    outcome: &mut Outcome,
) -> io::Result<()> {
    writeln!(out, "Checking {}", path.display())?;
    match check(path, lint) {
        Verdict::Valid(n) => writeln!(out, "  SUCCESS: {n} rules found")?,
        Verdict::Invalid(problems) => {
            outcome.error();
            writeln!(err, "  FAILED:")?;
            for p in problems {
                writeln!(err, "{indent}{p}")?;
            }
        }
        Verdict::Lint(message) => {
            outcome.lint_problem();
            writeln!(err, "  FAILED:")?;
            writeln!(err, "{indent}{message}")?;
        }
    }
    writeln!(out)
}
