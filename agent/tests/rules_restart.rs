//! Alerts survive a crash: after `kill -9` and a restart, a firing alert is
//! firing with the same `activeAt` and a pending one is still pending, and
//! the console log shows no resolve/fire pair for the restart. A damaged
//! state file is moved aside and warden starts fresh.

mod common;

use common::rules::{alert, config, log_lines, rules_dir, wait_for};
use common::{Warden, free_port, get, write_config};

const RULES: &str = r#"
groups:
  - name: restart
    interval: 1s
    rules:
      - alert: Firing
        expr: vector(1) > 0
        labels:
          severity: page
      - alert: Pending
        expr: vector(2) > 0
        for: 1h
"#;

fn iterations(port: u16) -> f64 {
    get(port, "/metrics", None)
        .unwrap()
        .body
        .lines()
        .find(|l| l.starts_with("warden_rule_group_iterations_total{"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn kill_9_keeps_firing_and_pending_alerts() {
    let (dir, cfg) = rules_dir(RULES);

    let port = free_port();
    let mut first = Warden::start(dir.path(), &cfg, port);
    first.wait_ready();
    let firing = wait_for(&first, "Firing to fire", || {
        alert(port, "Firing").filter(|a| a["state"] == "firing")
    });
    let pending = wait_for(&first, "Pending to be pending", || {
        alert(port, "Pending").filter(|a| a["state"] == "pending")
    });
    first.kill9();
    let first_log = first.stderr();

    let port = free_port();
    let mut second = Warden::start(dir.path(), &cfg, port);
    second.wait_ready();
    // Restored before the first evaluation, and unchanged after several.
    let start = iterations(port);
    wait_for(&second, "three evaluations after the restart", || {
        (iterations(port) >= start + 3.0).then_some(())
    });
    let again = alert(port, "Firing").expect("Firing restored");
    assert_eq!(again["state"], "firing");
    assert_eq!(again["activeAt"], firing["activeAt"]);
    let still = alert(port, "Pending").expect("Pending restored");
    assert_eq!(still["state"], "pending", "for: 1h has not passed");
    assert_eq!(still["activeAt"], pending["activeAt"]);

    // No resolve/fire pair for the restart: the first run logged one
    // firing, the second run neither resolved nor re-fired it.
    assert_eq!(
        first_log
            .lines()
            .filter(|l| l.contains("alert firing") && l.contains("alertname=Firing"))
            .count(),
        1,
        "{first_log}"
    );
    assert!(!first_log.contains("alert resolved"), "{first_log}");
    assert!(
        log_lines(&second, &["alert resolved"]).is_empty(),
        "{}",
        second.stderr()
    );
    assert!(
        log_lines(&second, &["alert firing", "alertname=Firing"]).is_empty(),
        "re-fired after the restart:\n{}",
        second.stderr()
    );
    assert!(
        log_lines(&second, &["alert state loaded"]).len() == 1,
        "{}",
        second.stderr()
    );
    assert_eq!(second.terminate().code(), Some(0));
}

#[test]
fn a_damaged_state_file_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), RULES).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("rules")).unwrap();
    std::fs::write(
        data.join("rules/alerts.json"),
        "{\"version\":1,\"groups\":[",
    )
    .unwrap();
    let cfg = write_config(dir.path(), &config(&data, &["rules.yml"]));
    let port = free_port();
    let mut w = Warden::start(dir.path(), &cfg, port);
    w.wait_ready();
    wait_for(&w, "Firing to fire", || {
        alert(port, "Firing").filter(|a| a["state"] == "firing")
    });
    let damaged = log_lines(&w, &["alert state file is damaged"]);
    assert_eq!(damaged.len(), 1, "{}", w.stderr());
    assert!(damaged[0].contains("alerts.json:1:"), "{}", damaged[0]);
    assert!(data.join("rules/alerts.json.corrupt").exists());
    assert!(
        data.join("rules/alerts.json").exists(),
        "a fresh file is written"
    );
    assert_eq!(w.terminate().code(), Some(0));
}
