use proptest::prelude::*;

use super::*;

fn alert(state: PersistedAlertState, value: f64) -> PersistedAlert {
    PersistedAlert {
        labels: [
            ("alertname".to_string(), "A".to_string()),
            ("job".into(), "x".into()),
        ]
        .into(),
        annotations: [("summary".to_string(), "s \"q\" ü".to_string())].into(),
        state,
        value,
        active_at_ms: 1_000,
        fired_at_ms: Some(2_000),
        resolved_at_ms: None,
        last_sent_at_ms: Some(2_000),
        valid_until_ms: Some(242_000),
        keep_firing_since_ms: None,
    }
}

fn sample_state() -> PersistedState {
    PersistedState {
        groups: vec![PersistedGroup {
            file: "rules.yml".into(),
            name: "g".into(),
            last_evaluation_ms: Some(5_000),
            rules: vec![PersistedRule {
                name: "A".into(),
                definition: "00000000deadbeef".into(),
                alerts: vec![
                    alert(PersistedAlertState::Firing, 1.5),
                    alert(PersistedAlertState::Pending, f64::INFINITY),
                    alert(PersistedAlertState::Inactive, -0.25),
                ],
            }],
        }],
    }
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.json");
    let s = sample_state();
    save(&path, &s).unwrap();
    assert_eq!(load(&path).unwrap(), Some(s.clone()));
    // Saving again replaces the file and leaves no temporary behind.
    save(&path, &PersistedState::default()).unwrap();
    assert_eq!(load(&path).unwrap(), Some(PersistedState::default()));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("alerts.json")]);
}

#[test]
fn nan_value_survives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let mut s = sample_state();
    s.groups[0].rules[0].alerts[0].value = f64::NAN;
    save(&path, &s).unwrap();
    let back = load(&path).unwrap().unwrap();
    assert!(back.groups[0].rules[0].alerts[0].value.is_nan());
}

#[test]
fn missing_file_is_none() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load(&dir.path().join("nope.json")).unwrap(), None);
}

#[test]
fn corrupt_file_is_a_typed_error_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    std::fs::write(&path, "{\"version\":1,\n\"groups\":[{\"file\":3}]}").unwrap();
    match load(&path) {
        Err(StateError::Corrupt { line, .. }) => assert_eq!(line, 2),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    std::fs::write(&path, "{\"version\":1,\"groups\":[], \"extra\": 1}").unwrap();
    assert!(matches!(load(&path), Err(StateError::Corrupt { .. })));
    // A truncated file (a crash during a non-atomic write) is corrupt too.
    save(&path, &sample_state()).unwrap();
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() / 2]).unwrap();
    assert!(matches!(load(&path), Err(StateError::Corrupt { .. })));
}

#[test]
fn unknown_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    std::fs::write(&path, r#"{"version":7,"groups":[]}"#).unwrap();
    let err = load(&path).unwrap_err();
    assert!(matches!(err, StateError::Version { found: 7, .. }));
    assert!(
        err.to_string()
            .contains("format version 7 is not supported")
    );
}

fn arb_state() -> impl Strategy<Value = PersistedAlertState> {
    prop_oneof![
        Just(PersistedAlertState::Inactive),
        Just(PersistedAlertState::Pending),
        Just(PersistedAlertState::Firing),
    ]
}

fn arb_alert() -> impl Strategy<Value = PersistedAlert> {
    (
        proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}", 0..4),
        proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,20}", 0..3),
        arb_state(),
        proptest::num::f64::ANY,
        any::<i64>(),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(
            |(labels, annotations, state, value, at, fired, resolved, sent)| PersistedAlert {
                labels,
                annotations,
                state,
                value,
                active_at_ms: at,
                fired_at_ms: fired,
                resolved_at_ms: resolved,
                last_sent_at_ms: sent,
                valid_until_ms: fired,
                keep_firing_since_ms: resolved,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_state_round_trips(
        groups in proptest::collection::vec(
            ("\\PC{0,10}", "\\PC{0,10}", proptest::option::of(any::<i64>()),
             proptest::collection::vec(("[A-Za-z]{1,6}", any::<u64>(), proptest::collection::vec(arb_alert(), 0..4)), 0..3)),
            0..3)
    ) {
        let state = PersistedState {
            groups: groups
                .into_iter()
                .map(|(file, name, last, rules)| PersistedGroup {
                    file,
                    name,
                    last_evaluation_ms: last,
                    rules: rules
                        .into_iter()
                        .map(|(name, def, alerts)| PersistedRule { name, definition: format!("{def:016x}"), alerts })
                        .collect(),
                })
                .collect(),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        save(&path, &state).unwrap();
        let back = load(&path).unwrap().unwrap();
        // NaN != NaN: compare values by bits-insensitive equality.
        let norm = |s: &PersistedState| {
            let mut s = s.clone();
            for g in &mut s.groups {
                for r in &mut g.rules {
                    for a in &mut r.alerts {
                        if a.value.is_nan() {
                            a.value = 0.123;
                        }
                    }
                }
            }
            s
        };
        prop_assert_eq!(norm(&back), norm(&state));
    }
}
