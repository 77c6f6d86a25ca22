//! Helpers for the rule tests: a configuration that evaluates rule files
//! fast over warden's own data, and reading `/api/v1/rules` and
//! `/api/v1/alerts`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::{WAIT, Warden, free_port, get, write_config};

/// A configuration with the collectors off (only warden's own metrics),
/// one-second rule evaluation and the given rule files.
pub fn config(data: &Path, rule_files: &[&str]) -> String {
    let files: Vec<String> = rule_files.iter().map(|f| format!("  - {f}\n")).collect();
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\ncollectors:\n  host: {{enabled: false}}\n  process: {{enabled: false}}\nstorage:\n  path: {}\nrule_files:\n{}",
        data.display(),
        files.concat()
    )
}

/// A temporary directory with `rules.yml` holding `rules` and a
/// configuration (see [`config`]) that evaluates it with data under
/// `data/`; returns the directory and the configuration's path.
pub fn rules_dir(rules: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("rules.yml"), rules).expect("write rules.yml");
    let cfg = write_config(
        dir.path(),
        &config(&dir.path().join("data"), &["rules.yml"]),
    );
    (dir, cfg)
}

/// A ready warden evaluating `rules` (see [`rules_dir`]) with the extra
/// flags; the directory lives as long as the caller keeps it.
pub fn start_with_rules(rules: &str, extra: &[&str]) -> (TempDir, Warden, u16) {
    let (dir, cfg) = rules_dir(rules);
    let port = free_port();
    let mut w = Warden::start_with(dir.path(), &cfg, port, extra);
    w.wait_ready();
    (dir, w, port)
}

/// The `data` of a successful API answer.
pub fn api(port: u16, path: &str) -> Value {
    let r = get(port, path, None).expect("API request");
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(v["status"], "success", "{}", r.body);
    v["data"].clone()
}

/// The active alerts.
pub fn alerts(port: u16) -> Vec<Value> {
    api(port, "/api/v1/alerts")["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The active alert named `name`, if any.
pub fn alert(port: u16, name: &str) -> Option<Value> {
    alerts(port)
        .into_iter()
        .find(|a| a["labels"]["alertname"] == name)
}

/// Polls `probe` until it returns something; panics with warden's log after
/// [`WAIT`].
pub fn wait_for<T>(w: &Warden, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; log:\n{}",
            w.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The lines of warden's log that contain every one of `words`.
pub fn log_lines(w: &Warden, words: &[&str]) -> Vec<String> {
    w.stderr()
        .lines()
        .filter(|l| words.iter().all(|x| l.contains(x)))
        .map(str::to_string)
        .collect()
}
