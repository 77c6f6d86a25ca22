//! Reloading rules while warden runs (SIGHUP and `POST /-/reload`): a good
//! change applies and unchanged rules keep their alerts; a broken file of
//! any kind changes nothing, and the error names its file, line and column.

mod common;

use common::rules::{alert, api, log_lines, rules_dir, start_with_rules, wait_for};
use common::{get, request};

const GOOD: &str = r#"
groups:
  - name: main
    interval: 1s
    rules:
      - alert: AlwaysOn
        expr: vector(1) > 0
        labels:
          severity: page
      - record: demo:kept
        expr: vector(1)
  - name: doomed
    interval: 1s
    rules:
      - record: demo:doomed
        expr: vector(2)
"#;

/// The good file with a rule added to `main` (its other rules keep their
/// state), `doomed` removed and a group added.
const CHANGED: &str = r#"
groups:
  - name: main
    interval: 1s
    rules:
      - alert: AlwaysOn
        expr: vector(1) > 0
        labels:
          severity: page
      - record: demo:kept
        expr: vector(1)
      - record: demo:new
        expr: vector(5)
  - name: added
    interval: 1s
    rules:
      - record: demo:added
        expr: vector(3)
"#;

/// Broken rule files, each with the line it is broken on.
const BROKEN: &[(&str, &str, u32)] = &[
    (
        "a YAML error",
        "groups:\n  - name: main\n    rules: [\n      - record: x\n",
        4,
    ),
    (
        "an unknown field",
        "groups:\n  - name: main\n    interval: 1s\n    rulez: []\n",
        4,
    ),
    (
        "a bad expression",
        "groups:\n  - name: main\n    rules:\n      - record: x\n        expr: sum(up\n",
        5,
    ),
    (
        "a bad template",
        "groups:\n  - name: main\n    rules:\n      - alert: X\n        expr: up\n        annotations:\n          summary: '{{ $labels.instance'\n",
        7,
    ),
    (
        "a duplicate group",
        "groups:\n  - name: main\n    rules: []\n  - name: main\n    rules: []\n",
        4,
    ),
];

/// Replaces a file atomically (write aside, rename).
fn replace(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn series(port: u16, name: &str) -> usize {
    api(port, &format!("/api/v1/query?query={name}"))["result"]
        .as_array()
        .map_or(0, Vec::len)
}

fn group_names(port: u16) -> Vec<String> {
    api(port, "/api/v1/rules")["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect()
}

fn reload_metric(port: u16) -> String {
    let m = get(port, "/metrics", None).unwrap().body;
    m.lines()
        .find(|l| l.starts_with("warden_config_last_reload_successful "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn reload_applies_good_changes_and_refuses_broken_files_whole() {
    let (dir, mut w, port) = start_with_rules(GOOD, &["--web.enable-lifecycle"]);
    let rules = dir.path().join("rules.yml");

    let before = wait_for(&w, "AlwaysOn to fire", || {
        alert(port, "AlwaysOn").filter(|a| a["state"] == "firing")
    });
    wait_for(&w, "demo:doomed", || {
        (series(port, "demo:doomed") == 1).then_some(())
    });

    // A good change: `main` keeps its alert, `doomed` ends at once, `added` runs.
    replace(&rules, CHANGED);
    let r = request(port, "POST", "/-/reload", None).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(group_names(port), ["added", "main"]);
    assert_eq!(
        series(port, "demo:doomed"),
        0,
        "a removed group's series are marked stale at once"
    );
    let after = alert(port, "AlwaysOn").expect("the alert survives the reload");
    assert_eq!(after["activeAt"], before["activeAt"]);
    assert_eq!(after["state"], "firing");
    wait_for(&w, "demo:added", || {
        (series(port, "demo:added") == 1).then_some(())
    });
    assert_eq!(
        reload_metric(port),
        "warden_config_last_reload_successful 1"
    );

    // Broken files change nothing, over HTTP (PUT works as POST does)...
    let place = regex::Regex::new(r"rules\.yml:(\d+):\d+: ").unwrap();
    for (i, (what, text, line)) in BROKEN.iter().enumerate() {
        replace(&rules, text);
        let method = if i % 2 == 0 { "POST" } else { "PUT" };
        let r = request(port, method, "/-/reload", None).unwrap();
        assert_eq!(r.status, 500, "{what}: {}", r.body);
        assert!(
            r.body.starts_with("failed to reload config: "),
            "{what}: {}",
            r.body
        );
        let found = place
            .captures(&r.body)
            .unwrap_or_else(|| panic!("{what}: no file:line:col in {:?}", r.body));
        assert_eq!(
            found[1].parse::<u32>().unwrap(),
            *line,
            "{what}: {}",
            r.body
        );
        assert_eq!(group_names(port), ["added", "main"], "{what}");
        assert_eq!(
            reload_metric(port),
            "warden_config_last_reload_successful 0"
        );
    }
    let still = alert(port, "AlwaysOn").expect("old rules keep running");
    assert_eq!(still["activeAt"], before["activeAt"]);

    // ... and over SIGHUP, where the log says why. Files are replaced by
    // renaming, so that no reload can read a half-written file.
    let failures = log_lines(&w, &["reload failed"]).len();
    replace(&rules, BROKEN[2].1);
    w.hangup();
    let logged = wait_for(&w, "the failed reload to be logged", || {
        let lines = log_lines(&w, &["reload failed"]);
        (lines.len() > failures).then(|| lines[failures].clone())
    });
    assert!(logged.contains("rules.yml:5:"), "{logged}");
    let successes = log_lines(&w, &["configuration reloaded"]).len();
    replace(&rules, GOOD);
    w.hangup();
    wait_for(&w, "the SIGHUP reload to succeed", || {
        (log_lines(&w, &["configuration reloaded"]).len() > successes).then_some(())
    });
    assert_eq!(
        reload_metric(port),
        "warden_config_last_reload_successful 1"
    );
    assert_eq!(group_names(port), ["doomed", "main"]);
    assert_eq!(
        alert(port, "AlwaysOn").unwrap()["activeAt"],
        before["activeAt"]
    );
    assert_eq!(w.terminate().code(), Some(0));
}

#[test]
fn reload_endpoint_needs_the_lifecycle_flag_as_in_prometheus() {
    let (_dir, mut w, port) = start_with_rules(GOOD, &[]);
    let r = request(port, "POST", "/-/reload", None).unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(r.body, "Lifecycle API is not enabled.\n");
    assert_eq!(w.terminate().code(), Some(0));
}

#[test]
fn a_broken_rule_file_at_start_exits_2_naming_the_place() {
    let (dir, cfg) = rules_dir(BROKEN[2].1);
    let cfg = cfg.to_str().unwrap();
    let (code, stderr) = common::run_to_exit(&["run", "--config.file", cfg]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("rules.yml:5:"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing touched: {stderr}"
    );
}
