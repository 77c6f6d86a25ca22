//! Alert state across restarts (export, save, load, restore) and reloads.

use warden_tsdb::is_stale_nan;

use super::*;
use crate::alerting::AlertState;
use crate::state::{PersistedGroup, load, save};

const RULES: &str = r#"
groups:
  - name: g
    rules:
      - alert: High
        expr: m > 10
        for: 2m
      - record: r
        expr: m
"#;

/// `m{job="a"} = 20` for the whole test.
fn firing_fixture() -> Fixture {
    let f = fixture();
    f.series(
        &[("__name__", "m"), ("job", "a")],
        0,
        300 * MIN,
        15_000,
        20.0,
    );
    f
}

/// Saves and loads through a real file, as a restart does.
fn through_file(g: &Group) -> PersistedGroup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    save(
        &path,
        &crate::state::PersistedState {
            groups: vec![g.export_state()],
        },
    )
    .unwrap();
    let loaded = load(&path).unwrap().unwrap();
    loaded.group("rules.yml", "g").unwrap().clone()
}

fn only_alert(g: &Group) -> crate::alerting::Alert {
    match &g.status().rules[0].kind {
        RuleStatusKind::Alerting { alerts, .. } => {
            assert_eq!(alerts.len(), 1, "{alerts:?}");
            alerts[0].clone()
        }
        RuleStatusKind::Recording => panic!("alerting rule expected"),
    }
}

#[test]
fn firing_alert_comes_back_firing_without_a_new_start() {
    let f = firing_fixture();
    let mut g = group(RULES);
    for m in 1..=3 {
        f.eval(&mut g, m * MIN);
    }
    let before = only_alert(&g);
    assert_eq!(before.state, AlertState::Firing);
    let saved = through_file(&g);

    // Restart 30s later (outage below the resend delay): nothing is re-sent.
    let mut g2 = group(RULES);
    g2.restore_state(&saved, 3 * MIN + 30_000);
    assert_eq!(only_alert(&g2), before);
    let r = f.eval(&mut g2, 3 * MIN + 30_000);
    assert!(r.to_send.is_empty());
    let a = only_alert(&g2);
    assert_eq!(
        (a.state, a.active_at_ms, a.fired_at_ms),
        (AlertState::Firing, MIN, Some(3 * MIN))
    );
    assert_eq!(f.at("ALERTS_FOR_STATE", 3 * MIN + 30_000)[0].1, 60.0);

    // Restart after 20 minutes: a resend of the same alert, same startsAt.
    let mut g3 = group(RULES);
    g3.restore_state(&saved, 23 * MIN);
    let r = f.eval(&mut g3, 23 * MIN);
    assert_eq!(r.to_send.len(), 1);
    assert_eq!(r.to_send[0].starts_at_ms, 3 * MIN);
    assert_eq!(r.to_send[0].ends_at_ms, Some(27 * MIN));
}

#[test]
fn alert_resolved_during_the_outage_is_resolved_once() {
    let f = fixture();
    f.series(&[("__name__", "m"), ("job", "a")], 0, 3 * MIN, 15_000, 20.0);
    f.series(
        &[("__name__", "m"), ("job", "a")],
        3 * MIN + 15_000,
        60 * MIN,
        15_000,
        1.0,
    );
    let mut g = group(RULES);
    for m in 1..=3 {
        f.eval(&mut g, m * MIN);
    }
    let saved = through_file(&g);
    let mut g2 = group(RULES);
    g2.restore_state(&saved, 10 * MIN);
    let r = f.eval(&mut g2, 10 * MIN);
    assert_eq!(r.to_send.len(), 1);
    assert_eq!(r.to_send[0].starts_at_ms, 3 * MIN);
    assert_eq!(r.to_send[0].ends_at_ms, Some(10 * MIN));
}

#[test]
fn pending_alert_comes_back_with_its_active_at() {
    let f = firing_fixture();
    let yaml = RULES.replace("for: 2m", "for: 5m");
    let mut g = group(&yaml);
    f.eval(&mut g, MIN);
    f.eval(&mut g, 3 * MIN); // pending for 2 of 5 minutes
    let saved = through_file(&g);
    let mut g2 = group(&yaml);
    g2.restore_state(&saved, 5 * MIN); // 2-minute outage
    let a = only_alert(&g2);
    assert_eq!((a.state, a.active_at_ms), (AlertState::Pending, MIN));
    f.eval(&mut g2, 5 * MIN);
    assert_eq!(only_alert(&g2).state, AlertState::Pending);
    // `for` counts from the real start: 5 minutes after 1m.
    let r = f.eval(&mut g2, 6 * MIN);
    assert_eq!(only_alert(&g2).state, AlertState::Firing);
    assert_eq!(only_alert(&g2).active_at_ms, MIN);
    assert_eq!(r.to_send.len(), 1);
}

#[test]
fn keep_firing_for_progress_is_kept() {
    let f = fixture();
    f.series(&[("__name__", "m")], 0, 2 * MIN, 15_000, 20.0);
    let yaml = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: m > 10\n        keep_firing_for: 10m\n";
    let mut g = group(yaml);
    f.eval(&mut g, MIN);
    f.eval(&mut g, 8 * MIN); // gone: kept since 8m
    assert_eq!(only_alert(&g).keep_firing_since_ms, Some(8 * MIN));
    let saved = through_file(&g);
    let mut g2 = group(yaml);
    g2.restore_state(&saved, 38 * MIN); // 30-minute outage
    assert_eq!(only_alert(&g2).keep_firing_since_ms, Some(38 * MIN));
    f.eval(&mut g2, 38 * MIN);
    assert_eq!(only_alert(&g2).state, AlertState::Firing);
    f.eval(&mut g2, 48 * MIN);
    assert_eq!(only_alert(&g2).state, AlertState::Inactive);
}

#[test]
fn outage_beyond_tolerance_restarts_for() {
    let f = firing_fixture();
    let mut g = group(RULES);
    for m in 1..=3 {
        f.eval(&mut g, m * MIN);
    }
    let saved = through_file(&g);
    let mut g2 = group(RULES);
    let now = 3 * MIN + GroupOptions::default().outage_tolerance_ms + 1;
    g2.restore_state(&saved, now);
    assert!(matches!(
        &g2.status().rules[0].kind,
        RuleStatusKind::Alerting { alerts, .. } if alerts.is_empty()
    ));
    let r = f.eval(&mut g2, now);
    assert!(r.to_send.is_empty());
    let a = only_alert(&g2);
    assert_eq!((a.state, a.active_at_ms), (AlertState::Pending, now));

    // Exactly at the tolerance, state is kept.
    let mut g3 = group(RULES);
    g3.restore_state(
        &saved,
        3 * MIN + GroupOptions::default().outage_tolerance_ms,
    );
    assert_eq!(only_alert(&g3).state, AlertState::Firing);
}

#[test]
fn an_edited_rule_does_not_inherit_saved_alerts() {
    let f = firing_fixture();
    let mut g = group(RULES);
    for m in 1..=3 {
        f.eval(&mut g, m * MIN);
    }
    let saved = through_file(&g);
    for edited in [
        RULES.replace("for: 2m", "for: 3m"),
        RULES.replace("m > 10", "m > 11"),
        RULES.replace(
            "        for: 2m\n",
            "        for: 2m\n        labels: {x: y}\n",
        ),
    ] {
        let mut g2 = group(&edited);
        g2.restore_state(&saved, 4 * MIN);
        assert!(matches!(
            &g2.status().rules[0].kind,
            RuleStatusKind::Alerting { alerts, .. } if alerts.is_empty()
        ));
    }
    // Another group of the same rules ignores the saved group.
    let mut other = group(&RULES.replace("name: g", "name: h"));
    other.restore_state(&saved, 4 * MIN);
    assert!(matches!(
        &other.status().rules[0].kind,
        RuleStatusKind::Alerting { alerts, .. } if alerts.is_empty()
    ));
}

#[test]
fn reload_keeps_unchanged_rules_and_ends_removed_ones() {
    let f = firing_fixture();
    let mut old = group(RULES);
    for m in 1..=3 {
        f.eval(&mut old, m * MIN);
    }
    // Same alert rule, recording rule renamed.
    let mut new = group(&RULES.replace("record: r", "record: r2"));
    new.carry_state_from(&old);
    let st = new.status();
    assert_eq!(st.rules[0].health, RuleHealth::Ok);
    assert_eq!(st.rules[1].health, RuleHealth::Unknown);
    assert_eq!(only_alert(&new).state, AlertState::Firing);
    let r = f.eval(&mut new, 4 * MIN);
    assert!(r.to_send.is_empty(), "no re-send within the resend delay");
    let old_r = f.at("r", 4 * MIN);
    assert_eq!(old_r.len(), 1);
    assert!(is_stale_nan(old_r[0].1), "removed rule's series end");
    assert_eq!(f.at("r2", 4 * MIN)[0].1, 20.0);

    // An edited alerting rule starts over.
    let mut edited = group(&RULES.replace("for: 2m", "for: 1m"));
    edited.carry_state_from(&old);
    assert_eq!(edited.status().rules[0].health, RuleHealth::Unknown);
    assert!(matches!(
        &edited.status().rules[0].kind,
        RuleStatusKind::Alerting { alerts, .. } if alerts.is_empty()
    ));
}
