//! Property tests for `Labels`: ordering and builder invariants.

use proptest::prelude::*;
use warden_tsdb::{Labels, LabelsBuilder};

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(("[a-c_]{1,3}", "[xy]{0,2}"), 0..6)
}

/// The pairs a builder should produce: empty values dropped, sorted by name.
fn normalised(p: &[(String, String)]) -> Option<Vec<(String, String)>> {
    let mut v: Vec<(String, String)> = p.iter().filter(|(_, v)| !v.is_empty()).cloned().collect();
    v.sort();
    if v.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    Some(v)
}

fn as_pairs(l: &Labels) -> Vec<(String, String)> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

proptest! {
    #[test]
    fn builder_output_is_sorted_and_duplicate_free(p in pairs()) {
        let mut b = LabelsBuilder::new();
        for (n, v) in &p {
            b.push(n.clone(), v.clone());
        }
        match (b.build(), normalised(&p)) {
            (Ok(l), Some(want)) => {
                let got = as_pairs(&l);
                prop_assert_eq!(&got, &want);
                prop_assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
                prop_assert!(got.iter().all(|(_, v)| !v.is_empty()));
            }
            (Err(_), None) => {}
            (got, want) => prop_assert!(false, "builder gave {:?}, expected {:?}", got, want),
        }
    }

    #[test]
    fn ord_agrees_with_sorted_pair_vectors(a in pairs(), b in pairs()) {
        let (Ok(la), Ok(lb)) = (Labels::from_pairs(a), Labels::from_pairs(b)) else {
            return Ok(());
        };
        prop_assert_eq!(la.cmp(&lb), as_pairs(&la).cmp(&as_pairs(&lb)));
        prop_assert_eq!(la == lb, as_pairs(&la) == as_pairs(&lb));
        prop_assert!(la != lb || la.stable_hash() == lb.stable_hash());
    }

    #[test]
    fn set_replaces_and_remove_deletes(p in pairs(), name in "[a-c_]{1,3}", value in "[xy]{1,2}") {
        let Ok(l) = Labels::from_pairs(p) else { return Ok(()) };
        let mut b = l.to_builder();
        b.set(&name, value.clone());
        let with = b.build().unwrap();
        prop_assert_eq!(with.get(&name), Some(value.as_str()));
        let mut b = with.to_builder();
        b.remove(&name);
        let without = b.build().unwrap();
        prop_assert_eq!(without.get(&name), None);
        prop_assert_eq!(without.len(), with.len() - 1);
    }
}
