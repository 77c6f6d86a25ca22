//! Runs promtool's own rule unit-test files (`tests/conformance/rules-unit/`,
//! from Prometheus's `cmd/promtool/testdata/`) with the flags upstream's Go
//! test uses, and checks the outcome upstream expects: which files pass,
//! which fail, and for failing ones that they fail for the intended reason.
//! `unittest.yml`, native-histogram cases included, passes whole.

use std::path::PathBuf;

use warden_rules::unittest::{Case, FileReport, UnitTestOptions, run_file, run_files, run_filter};

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/conformance/rules-unit/upstream")
        .join(name)
}

fn run(name: &str, runs: &[&str], ignore_unknown_fields: bool) -> FileReport {
    let patterns: Vec<String> = runs.iter().map(|s| s.to_string()).collect();
    let opts = UnitTestOptions {
        run: run_filter(&patterns).expect("valid --run"),
        diff: false,
        ignore_unknown_fields,
    };
    run_file(&file(name), &opts)
}

fn messages(r: &FileReport) -> String {
    r.failures
        .iter()
        .map(|f| f.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_passes(r: &FileReport) {
    assert!(
        r.failures.is_empty(),
        "{} should pass:\n{}",
        r.path.display(),
        messages(r)
    );
}

#[test]
fn files_upstream_expects_to_pass() {
    for name in [
        "at-modifier-test.yml",
        "negative-offset-test.yml",
        "long-period.yml",
        "no-test-group-interval.yml",
        "start-time-test.yml",
    ] {
        assert_passes(&run(name, &[], false));
    }
}

#[test]
fn run_selects_test_groups() {
    let all = run("rules_run.yml", &[], false);
    assert_eq!(all.failures.len(), 1, "{}", messages(&all));
    assert_eq!(all.failures[0].test_name, "wrong test");
    assert!(
        matches!(all.failures[0].case, Case::Expr { ref expr, eval_time_ms: 0 } if expr == "test")
    );
    assert!(
        all.failures[0]
            .message
            .ends_with("exp: {__name__=\"test\"} 1E+00\n        got: {__name__=\"test\"} 0E+00"),
        "{}",
        all.failures[0].message
    );
    assert_passes(&run("rules_run.yml", &["correct"], false));
    let wrong = run("rules_run.yml", &["wrong"], false);
    assert_eq!(wrong.failures.len(), 1);
    assert_eq!(wrong.failures[0].test_name, "wrong test");
}

#[test]
fn unknown_rule_fields_pass_only_when_ignored() {
    let strict = run("rules_run_extrafields.yml", &[], false);
    assert!(!strict.failures.is_empty());
    assert!(
        strict
            .failures
            .iter()
            .all(|f| f.case == Case::Setup && f.message.contains("unknown field `namespace`")),
        "{}",
        messages(&strict)
    );
    assert_passes(&run("rules_run_extrafields.yml", &[], true));
}

#[test]
fn fuzzy_compare_forgives_the_last_bit_only() {
    assert_passes(&run("rules_run_fuzzy.yml", &["correct"], false));
    let wrong = run("rules_run_fuzzy.yml", &["wrong"], false);
    let exprs: Vec<_> = wrong.failures.iter().map(|f| &f.case).collect();
    assert_eq!(
        exprs,
        [
            &Case::Expr {
                expr: "test_low".into(),
                eval_time_ms: 0
            },
            &Case::Expr {
                expr: "test_high".into(),
                eval_time_ms: 0
            }
        ],
        "{}",
        messages(&wrong)
    );
    let exact = run("rules_run_no_fuzzy.yml", &[], false);
    assert_eq!(exact.failures.len(), 2, "{}", messages(&exact));
    assert!(
        exact.failures[0]
            .message
            .contains("got: {__name__=\"test_low\"} 2.9999999999999996E+00")
    );
}

#[test]
fn failing_files_fail_for_the_intended_reason() {
    let r = run("bad-input-series.yml", &[], false);
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].case, Case::Setup);
    assert!(
        r.failures[0].message.contains("input_series[0]"),
        "{}",
        messages(&r)
    );
    assert!(r.failures[0].message.contains("parse error"));

    let r = run("bad-promql.yml", &[], false);
    assert_eq!(r.failures.len(), 1, "{}", messages(&r));
    assert!(r.failures[0].message.starts_with(
        "    expr: \"join_1 + on(a) join_2\", time: 0s, err: found duplicate series for the match group {a=\"1\"} on the right hand-side of the operation"
    ), "{}", messages(&r));
    assert!(
        r.failures[0]
            .message
            .contains("many-to-many matching not allowed")
    );

    let r = run("bad-rules-error-test.yml", &[], false);
    assert_eq!(r.failures.len(), 1, "{}", messages(&r));
    assert_eq!(
        r.failures[0].case,
        Case::Rule {
            name: "joined".into(),
            time_ms: 0
        }
    );
    assert!(
        r.failures[0]
            .message
            .starts_with("    rule: joined, time: 0s, err: found duplicate series")
    );

    let r = run("bad-rules-syntax-test.yml", &[], false);
    assert_eq!(r.failures.len(), 1, "{}", messages(&r));
    assert_eq!(r.failures[0].case, Case::Setup);
    assert!(
        r.failures[0].message.contains(
            "bad-rules-syntax.yml: 7:15: group \"bad-syntax\", rule 1, \"x\": could not parse expression"
        ),
        "{}",
        messages(&r)
    );
}

#[test]
fn failing_yml_reports_each_wrong_expectation() {
    let r = run("failing.yml", &[], false);
    let cases: Vec<_> = r
        .failures
        .iter()
        .map(|f| (f.test_name.as_str(), &f.case))
        .collect();
    assert_eq!(
        cases,
        [
            (
                "Failing test",
                &Case::Alert {
                    alertname: "Test".into(),
                    eval_time_ms: 0
                }
            ),
            (
                "Failing test",
                &Case::Expr {
                    expr: "test".into(),
                    eval_time_ms: 0
                }
            ),
            (
                "Failing alert test",
                &Case::Alert {
                    alertname: "InstanceDown".into(),
                    eval_time_ms: 300_000
                }
            ),
            (
                "Failing alert test",
                &Case::Alert {
                    alertname: "AlwaysFiring".into(),
                    eval_time_ms: 300_000
                }
            ),
        ],
        "{}",
        messages(&r)
    );
    // The text is promtool's, byte for byte.
    assert_eq!(
        r.failures[2].message,
        "    name: Failing alert test,\n    alertname: InstanceDown, time: 5m, \n        exp:[], \n        got:[\n            0:\n              Labels:{alertname=\"InstanceDown\", job=\"test\", severity=\"page\"}\n              Annotations:{description=\" of job test has been down for more than 5 minutes.\", summary=\"Instance  down\"}\n            ]"
    );
}

#[test]
fn unittest_yml_passes_with_its_native_histogram_cases() {
    let r = run("unittest.yml", &[], false);
    assert!(r.failures.is_empty(), "{}", messages(&r));
}

#[test]
fn output_matches_promtool_layout() {
    let mut out = Vec::new();
    let opts = UnitTestOptions {
        run: run_filter(&["wrong".into()]).expect("valid"),
        ..UnitTestOptions::default()
    };
    let passed = run_files(
        &[file("rules_run.yml"), file("at-modifier-test.yml")],
        &opts,
        &mut out,
    );
    assert!(!passed);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "  FAILED:\n    expr: \"test\", time: 0s,\n        exp: {__name__=\"test\"} 1E+00\n        got: {__name__=\"test\"} 0E+00\n\n\n  SUCCESS\n\n"
    );
}
