//! The stock rule packs (`rules/packs/*.yml`) and their unit tests
//! (`rules/packs/tests/<pack>_test.yml`): warden reads every pack, the real
//! promtool accepts them, both promtool and warden's own runner pass their
//! unit tests (so the packs mean the same under Prometheus 2.x semantics and
//! under warden's 3.x ones), every alert follows the
//! packs' conventions (docs/rule-packs.md) and every alert is exercised by a
//! test both firing and silent.
//!
//! promtool is Debian's (`/usr/bin/promtool`, installed by scripts/test).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use warden_rules::rulefmt::{self, LoadOptions, RuleFile, RuleKind};
use warden_rules::unittest::{self, UnitTestOptions};

fn packs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packs")
}

/// Every `*.yml` directly under `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

fn packs() -> Vec<PathBuf> {
    let packs = yaml_files(&packs_dir());
    let names: Vec<_> = packs.iter().map(|p| stem(p)).collect();
    assert_eq!(
        names,
        ["host", "leak", "warden"],
        "the stock packs changed: update docs/rule-packs.md and this list"
    );
    packs
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .expect("UTF-8 file name")
        .to_string()
}

/// The unit-test file of `pack`.
fn test_file_of(pack: &Path) -> PathBuf {
    packs_dir()
        .join("tests")
        .join(format!("{}_test.yml", stem(pack)))
}

fn pack_tests() -> Vec<PathBuf> {
    packs().iter().map(|p| test_file_of(p)).collect()
}

fn load(pack: &Path) -> RuleFile {
    rulefmt::load(pack, LoadOptions::default())
        .unwrap_or_else(|e| panic!("warden refuses {}: {e:?}", pack.display()))
}

fn require_promtool() -> PathBuf {
    let path = PathBuf::from("/usr/bin/promtool");
    assert!(
        path.exists(),
        "promtool is not installed: install Debian's `prometheus` package (scripts/test does)"
    );
    path
}

/// Runs promtool with `args` and `files`; panics with its output unless it
/// succeeds.
fn promtool(args: &[&str], files: &[PathBuf]) {
    let out = Command::new(require_promtool())
        .args(args)
        .args(files)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_accepts_every_pack() {
    promtool(&["check", "rules"], &packs());
}

#[test]
fn promtool_passes_every_pack_unit_test() {
    promtool(&["test", "rules"], &pack_tests());
}

#[test]
fn warden_passes_every_pack_unit_test() {
    let mut out = Vec::new();
    let passed = unittest::run_files(&pack_tests(), &UnitTestOptions::default(), &mut out);
    assert!(
        passed,
        "warden test rules failed:\n{}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn warden_reads_every_pack() {
    for pack in packs() {
        let file = load(&pack);
        assert!(!file.groups.is_empty(), "{} has no group", pack.display());
    }
}

#[test]
fn every_alert_has_a_severity_a_summary_and_a_humanized_description() {
    for pack in packs() {
        for group in load(&pack).groups {
            for rule in &group.rules {
                let RuleKind::Alerting {
                    alert, annotations, ..
                } = &rule.kind
                else {
                    continue;
                };
                let at = format!("{} {alert}", pack.display());
                let severity = rule.labels.get("severity").map(String::as_str);
                assert!(
                    matches!(severity, Some("warning" | "critical")),
                    "{at}: severity {severity:?}"
                );
                let summary = annotations.get("summary");
                assert!(summary.is_some_and(|s| !s.is_empty()), "{at}: no summary");
                let description = annotations
                    .get("description")
                    .unwrap_or_else(|| panic!("{at}: no description"));
                assert!(
                    description.contains("$labels"),
                    "{at}: the description does not say which series"
                );
                assert!(
                    description.contains("$value | humanize"),
                    "{at}: the description does not show the humanized value"
                );
            }
        }
    }
}

/// The part of a promtool unit-test file this check reads.
#[derive(Deserialize)]
struct TestFile {
    tests: Vec<TestGroup>,
}

#[derive(Deserialize)]
struct TestGroup {
    #[serde(default)]
    alert_rule_test: Vec<AlertCase>,
}

#[derive(Deserialize)]
struct AlertCase {
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<serde::de::IgnoredAny>,
}

#[test]
fn every_alert_is_tested_firing_and_silent() {
    for pack in packs() {
        let test_path = test_file_of(&pack);
        let text = std::fs::read_to_string(&test_path)
            .unwrap_or_else(|e| panic!("read {}: {e}", test_path.display()));
        let tests: TestFile = serde_saphyr::from_str(&text)
            .unwrap_or_else(|e| panic!("parse {}: {e}", test_path.display()));
        let cases: Vec<&AlertCase> = tests
            .tests
            .iter()
            .flat_map(|g| &g.alert_rule_test)
            .collect();
        let alerts: BTreeSet<String> = load(&pack)
            .groups
            .iter()
            .flat_map(|g| &g.rules)
            .filter(|r| matches!(r.kind, RuleKind::Alerting { .. }))
            .map(|r| r.name().to_string())
            .collect();
        assert!(!alerts.is_empty(), "{} has no alert", pack.display());
        for alert in &alerts {
            let mine = || cases.iter().filter(|c| &c.alertname == alert);
            assert!(
                mine().any(|c| !c.exp_alerts.is_empty()),
                "{}: no case where {alert} fires",
                test_path.display()
            );
            assert!(
                mine().any(|c| c.exp_alerts.is_empty()),
                "{}: no case where {alert} stays silent",
                test_path.display()
            );
        }
        for case in &cases {
            assert!(
                alerts.contains(&case.alertname),
                "{}: tests {}, which {} does not define",
                test_path.display(),
                case.alertname,
                pack.display()
            );
        }
    }
}
