//! Runs the upstream PromQL test suite (tests/conformance/promql/*.test)
//! through warden's engine.
//!
//! Failing cases do not fail this test while the engine is being built;
//! instead the number of passing cases must not drop below the figure in
//! tests/conformance/promql/baseline.txt (a ratchet: raise it when the
//! engine improves, see docs/compatibility.md).

use std::path::PathBuf;

use warden_rules::promql::Engine;
use warden_rules::promql::promqltest::{self, PrintOptions};

/// The suite's folder, relative to the workspace root (the test runs from
/// there so that reports name files the way a reader finds them).
const SUITE_DIR: &str = "tests/conformance/promql";

#[test]
fn upstream_suite_does_not_regress() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::set_current_dir(&root).expect("workspace root");
    let dir = PathBuf::from(SUITE_DIR);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("suite directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());

    let engine = Engine::new(promqltest::engine_options());
    let report = promqltest::run_files(&files, &engine);
    let verbose = std::env::var_os("PROMQLTEST_VERBOSE").is_some();
    let opts = PrintOptions {
        verbose,
        quiet: !verbose,
    };
    println!("{}", report.render(&opts));
    if std::env::var_os("PROMQLTEST_MARKDOWN").is_some() {
        println!("{}", report.markdown_table());
    }

    // Every file of the suite must parse (a parse error is a runner bug),
    // and every `eval` command must come out as exactly one case.
    for f in &report.files {
        assert!(f.error.is_none(), "{}: {:?}", f.path.display(), f.error);
        let src = std::fs::read_to_string(&f.path).expect("suite file");
        let evals = src
            .lines()
            .filter(|l| l.trim_start().to_lowercase().starts_with("eval"))
            .count();
        assert_eq!(f.cases.len(), evals, "{}: cases lost", f.path.display());
    }

    let baseline_text = std::fs::read_to_string(dir.join("baseline.txt")).expect("baseline.txt");
    let baseline: usize = baseline_text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.parse().ok())
        .expect("baseline.txt holds the minimum number of passing cases");
    assert!(
        report.passed() >= baseline,
        "conformance regressed: {} cases pass, baseline is {baseline}",
        report.passed()
    );
    if report.passed() > baseline {
        println!(
            "conformance improved: {} cases pass, baseline is {baseline}; raise tests/conformance/promql/baseline.txt",
            report.passed()
        );
    }
}
