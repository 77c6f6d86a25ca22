//! promtool's rule unit tests (`promtool test rules`), Prometheus 3.x.
//!
//! Teams keep unit tests for their alerting and recording rules in
//! promtool's format; warden runs those files unchanged, over its own
//! store, engine and rule groups, and prints what promtool prints, so a CI
//! job can switch tools without rewriting a test or a log check.
//!
//! For each test group: the input series are written into an in-memory
//! store as time passes; every rule group is evaluated at each
//! `evaluation_interval` from the start up to the latest `eval_time`;
//! alert tests compare the firing alerts at their time (labels and
//! annotations, order-insensitive); expression tests query the store at
//! their time and compare samples exactly, or to the last bit with
//! `fuzzy_compare`.
//!
//! Native histograms work as in promtool: `{{…}}` input series, recording
//! rules over them, and expected `histogram:` samples compared in
//! upstream's test-expression form.

mod compare;
mod diff;
mod file;
mod format;
mod run;
mod store;

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use regex::Regex;

use crate::rulefmt::{self, LoadOptions, yaml};
use file::TestFile;
use run::{Setup, run_test_group};

/// The options of `test rules`.
#[derive(Debug, Clone, Default)]
pub struct UnitTestOptions {
    /// Run only the test groups whose name this matches (`--run`).
    pub run: Option<Regex>,
    /// Show differing alerts as a coloured JSON difference (`--diff`).
    pub diff: bool,
    /// Ignore fields rule files carry that the format does not know
    /// (`--ignore-unknown-fields`).
    pub ignore_unknown_fields: bool,
}

/// Builds the `--run` filter as promtool does: the patterns joined by `|`,
/// matched anywhere in a test group's name.
pub fn run_filter(patterns: &[String]) -> Result<Option<Regex>, regex::Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    Regex::new(&patterns.join("|")).map(Some)
}

/// What failed in a test file: one entry of promtool's `FAILED:` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Which test group (0-based), `None` for a problem with the file.
    pub test_index: Option<usize>,
    /// The test group's name (empty when it has none).
    pub test_name: String,
    /// Which check failed.
    pub case: Case,
    /// promtool's text for it.
    pub message: String,
}

/// The check a [`Failure`] belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Case {
    /// The file itself: unreadable, bad YAML, a bad rule-file pattern.
    File,
    /// Setting the test group up: input series, rule files.
    Setup,
    /// A rule failed to evaluate; the group stops there.
    Rule {
        /// The rule's name.
        name: String,
        /// The evaluation time.
        time_ms: i64,
    },
    /// An `alert_rule_test` entry.
    Alert {
        /// Its `alertname`.
        alertname: String,
        /// Its `eval_time`.
        eval_time_ms: i64,
    },
    /// A `promql_expr_test` entry.
    Expr {
        /// Its `expr`.
        expr: String,
        /// Its `eval_time`.
        eval_time_ms: i64,
    },
}

/// The outcome of one test file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// The file, as given.
    pub path: PathBuf,
    /// `rule_files` patterns that matched no file.
    pub unmatched_patterns: Vec<String>,
    /// Everything that failed, in promtool's order; empty when it passed.
    pub failures: Vec<Failure>,
}

/// Runs promtool-format rule unit-test files; writes promtool's output to
/// `out`; true when all passed.
pub fn run_files(paths: &[PathBuf], opts: &UnitTestOptions, out: &mut dyn Write) -> bool {
    let shared = RefCell::new(out);
    run_files_split(paths, opts, &mut Shared(&shared), &mut Shared(&shared))
}

/// One writer behind both of promtool's streams, keeping their order.
struct Shared<'a, 'b>(&'a RefCell<&'b mut dyn Write>);

impl Write for Shared<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

/// Like [`run_files`], with promtool's split of its output: results on
/// `stdout`, failures and warnings on `stderr`.
pub fn run_files_split(
    paths: &[PathBuf],
    opts: &UnitTestOptions,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> bool {
    let mut passed = true;
    for path in paths {
        let report = run_file(path, opts);
        // Output problems (a closed pipe) must not change the verdict.
        let _ = print_report(&report, stdout, stderr);
        passed &= report.failures.is_empty();
    }
    passed
}

fn print_report(
    report: &FileReport,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<()> {
    for p in &report.unmatched_patterns {
        writeln!(stderr, "  WARNING: no file match pattern {p}")?;
    }
    if report.failures.is_empty() {
        writeln!(stdout, "  SUCCESS")?;
    } else {
        writeln!(stderr, "  FAILED:")?;
        for f in &report.failures {
            writeln!(stderr, "{}", f.message)?;
            stderr.flush()?;
            writeln!(stdout)?;
        }
    }
    writeln!(stdout)?;
    stdout.flush()
}

/// Runs one test file.
pub fn run_file(path: &Path, opts: &UnitTestOptions) -> FileReport {
    let mut report = FileReport {
        path: path.to_path_buf(),
        unmatched_patterns: Vec::new(),
        failures: Vec::new(),
    };
    let file_failure = |message: String| Failure {
        test_index: None,
        test_name: String::new(),
        case: Case::File,
        message,
    };
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            report
                .failures
                .push(file_failure(format!("open {name}: {}", io_message(&e))));
            return report;
        }
    };
    let test_file = match yaml::from_str::<TestFile>(&name, &text) {
        Ok(f) => f,
        Err(e) => {
            report.failures.push(file_failure(e.to_string()));
            return report;
        }
    };
    let base = path.parent().unwrap_or(Path::new(""));
    let mut rule_paths = Vec::new();
    for pattern in &test_file.rule_files {
        let pattern = if pattern.is_empty() || Path::new(pattern).is_absolute() {
            pattern.clone()
        } else {
            clean_join(base, pattern)
        };
        match glob::glob(&pattern) {
            Err(_) => {
                report
                    .failures
                    .push(file_failure("syntax error in pattern".to_string()));
                return report;
            }
            Ok(found) => {
                let before = rule_paths.len();
                rule_paths.extend(found.flatten().map(|p| p.display().to_string()));
                if rule_paths.len() == before {
                    report.unmatched_patterns.push(pattern);
                }
            }
        }
    }
    let mut group_order = HashMap::new();
    for (i, g) in test_file.group_eval_order.iter().enumerate() {
        if group_order.insert(g.clone(), i).is_some() {
            report.failures.push(file_failure(format!(
                "group name repeated in evaluation order: {g}"
            )));
            return report;
        }
    }
    let selected: Vec<_> = test_file
        .tests
        .iter()
        .enumerate()
        .filter(|(_, t)| opts.run.as_ref().is_none_or(|r| r.is_match(t.name())))
        .collect();
    if selected.is_empty() {
        return report;
    }
    let load = LoadOptions {
        ignore_unknown_fields: opts.ignore_unknown_fields,
        ..LoadOptions::default()
    };
    let rule_files: Vec<_> = rule_paths
        .iter()
        .map(|p| (p.clone(), rulefmt::load(Path::new(p), load)))
        .collect();
    let setup = Setup {
        rule_files: &rule_files,
        eval_interval_ms: match test_file.evaluation_interval.map_or(0, |d| d.0) {
            0 => 60_000,
            i => i,
        },
        group_order: &group_order,
        fuzzy: test_file.fuzzy_compare,
        diff: opts.diff,
    };
    for (i, tg) in selected {
        report.failures.extend(run_test_group(&setup, tg, i));
    }
    report
}

/// Go's wording of the common file errors.
fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}

/// Go's `filepath.Join`: the joined path, lexically cleaned (`./a` is
/// `a`, `a/../b` is `b`).
fn clean_join(base: &Path, rel: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let joined = base.join(rel);
    let absolute = joined.is_absolute();
    for c in joined.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                if parts.last().is_some_and(|p| p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..".into());
                }
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    let body = parts.join("/");
    match (absolute, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_go() {
        assert_eq!(clean_join(Path::new(""), "rules.yml"), "rules.yml");
        assert_eq!(clean_join(Path::new("."), "./rules.yml"), "rules.yml");
        assert_eq!(clean_join(Path::new("a/b"), "../r.yml"), "a/r.yml");
        assert_eq!(clean_join(Path::new("/t"), "r/*.yml"), "/t/r/*.yml");
        assert_eq!(clean_join(Path::new("a"), "../../r.yml"), "../r.yml");
    }

    #[test]
    fn run_filter_joins_patterns() {
        let r = run_filter(&["correct".into(), "^x$".into()])
            .unwrap()
            .unwrap();
        assert!(r.is_match("the correct test"));
        assert!(r.is_match("x"));
        assert!(!r.is_match("wrong test"));
        assert!(run_filter(&[]).unwrap().is_none());
        assert!(run_filter(&["(".into()]).is_err());
    }

    #[test]
    fn missing_file_is_a_failure() {
        let r = run_file(Path::new("/nonexistent/t.yml"), &UnitTestOptions::default());
        assert_eq!(r.failures.len(), 1);
        assert_eq!(
            r.failures[0].message,
            "open /nonexistent/t.yml: no such file or directory"
        );
    }
}
