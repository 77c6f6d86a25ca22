//! Results of a run: per case, per file, and the summary line that ends
//! every printed report (`N passed, N failed, N skipped`).

use std::fmt::Write as _;
use std::path::PathBuf;

/// Why a case did not pass, in three parts a reader can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// What differed (or failed).
    pub reason: String,
    /// What the script expects.
    pub expected: String,
    /// What the engine returned.
    pub got: String,
}

/// The verdict on one `eval`.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// A check did not hold.
    Failed(Failure),
    /// Not run to a verdict, with the reason (native histograms only).
    Skipped(String),
}

/// One `eval` of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseReport {
    /// Line of the `eval` command (1-based).
    pub line: usize,
    /// The expression.
    pub expr: String,
    /// The verdict.
    pub outcome: Outcome,
}

/// One file's results.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// The file as given.
    pub path: PathBuf,
    /// Set when the file could not be read or parsed; it then counts as one
    /// failed case and has no other cases.
    pub error: Option<String>,
    /// The cases in file order.
    pub cases: Vec<CaseReport>,
}

impl FileReport {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Passed))
    }

    /// Cases that failed (a file error counts as one).
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_))) + usize::from(self.error.is_some())
    }

    /// Cases that were skipped.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.outcome)).count()
    }

    fn name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// What to include when printing a report.
#[derive(Debug, Clone, Default)]
pub struct PrintOptions {
    /// Also list every skipped case with its reason.
    pub verbose: bool,
    /// Leave out the per-case failure details (table and summary only).
    pub quiet: bool,
}

/// The results of a run over several files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// One entry per file, in the order given.
    pub files: Vec<FileReport>,
}

impl Report {
    /// Cases that passed, over all files.
    pub fn passed(&self) -> usize {
        self.files.iter().map(FileReport::passed).sum()
    }

    /// Cases that failed, over all files; non-zero means the run failed.
    pub fn failed(&self) -> usize {
        self.files.iter().map(FileReport::failed).sum()
    }

    /// Cases that were skipped, over all files.
    pub fn skipped(&self) -> usize {
        self.files.iter().map(FileReport::skipped).sum()
    }

    /// `N passed, N failed, N skipped`.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    /// The per-file table.
    pub fn table(&self) -> String {
        let width = self
            .files
            .iter()
            .map(|f| f.name().chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!(
            "{:<width$}  {:>6}  {:>6}  {:>7}\n",
            "file", "passed", "failed", "skipped"
        );
        for f in &self.files {
            let _ = writeln!(
                out,
                "{:<width$}  {:>6}  {:>6}  {:>7}",
                f.name(),
                f.passed(),
                f.failed(),
                f.skipped()
            );
        }
        out
    }

    /// The per-file table as Markdown, with the totals below it, for
    /// regenerating the score in docs/compatibility.md.
    pub fn markdown_table(&self) -> String {
        let mut out = String::from("| file | passed | failed | skipped |\n|---|---:|---:|---:|\n");
        for f in &self.files {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                f.name(),
                f.passed(),
                f.failed(),
                f.skipped()
            );
        }
        let _ = writeln!(out, "\n**Total: {}**", self.summary());
        out
    }

    /// The whole report: failures (and skips when verbose), the per-file
    /// table, and the summary as the last line.
    pub fn render(&self, opts: &PrintOptions) -> String {
        let mut out = String::new();
        for f in &self.files {
            let path = f.path.display();
            if let Some(e) = &f.error {
                let _ = writeln!(out, "ERROR {path}:{e}");
            }
            for c in &f.cases {
                match &c.outcome {
                    Outcome::Failed(fail) if !opts.quiet => {
                        let _ = writeln!(out, "FAIL {path}:{}: {}", c.line, c.expr);
                        write_field(&mut out, "reason", &fail.reason);
                        write_field(&mut out, "expected", &fail.expected);
                        write_field(&mut out, "got", &fail.got);
                    }
                    Outcome::Skipped(why) if opts.verbose => {
                        let _ = writeln!(out, "SKIP {path}:{}: {} ({why})", c.line, c.expr);
                    }
                    _ => {}
                }
            }
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&self.table());
        out.push_str(&self.summary());
        out.push('\n');
        out
    }
}

fn write_field(out: &mut String, name: &str, text: &str) {
    let mut lines = text.lines();
    let _ = writeln!(out, "    {name}: {}", lines.next().unwrap_or(""));
    for l in lines {
        let _ = writeln!(out, "        {l}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_summary_is_last_line() {
        let r = Report {
            files: vec![
                FileReport {
                    path: "a/x.test".into(),
                    error: None,
                    cases: vec![
                        CaseReport {
                            line: 1,
                            expr: "a".into(),
                            outcome: Outcome::Passed,
                        },
                        CaseReport {
                            line: 3,
                            expr: "b".into(),
                            outcome: Outcome::Failed(Failure {
                                reason: "r".into(),
                                expected: "e1\ne2".into(),
                                got: "g".into(),
                            }),
                        },
                        CaseReport {
                            line: 5,
                            expr: "c".into(),
                            outcome: Outcome::Skipped("h".into()),
                        },
                    ],
                },
                FileReport {
                    path: "y.test".into(),
                    error: Some("line 2: bad".into()),
                    cases: vec![],
                },
            ],
        };
        assert_eq!(r.summary(), "1 passed, 2 failed, 1 skipped");
        let text = r.render(&PrintOptions {
            verbose: true,
            quiet: false,
        });
        assert_eq!(text.lines().last(), Some("1 passed, 2 failed, 1 skipped"));
        assert!(text.contains(
            "FAIL a/x.test:3: b\n    reason: r\n    expected: e1\n        e2\n    got: g\n"
        ));
        assert!(text.contains("SKIP a/x.test:5: c (h)"));
        assert!(text.contains("ERROR y.test:line 2: bad"));
        assert!(!r.render(&PrintOptions::default()).contains("SKIP"));
        assert!(
            r.markdown_table()
                .contains("| x.test | 1 | 1 | 1 |\n| y.test | 0 | 1 | 0 |\n")
        );
    }
}
