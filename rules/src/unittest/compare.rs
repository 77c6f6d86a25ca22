//! How promtool decides that expected and actual results agree: both
//! lists sorted, then compared element by element; floats exactly, or to
//! within one step of the last mantissa bit under `fuzzy_compare`.

use super::format::{AlertItem, SampleItem};

/// Whether two floats agree (NaN never does, as in promtool).
pub fn floats_agree(x: f64, y: f64, fuzzy: bool) -> bool {
    x == y || (fuzzy && (x.next_down() == y || x.next_up() == y))
}

/// Sorts samples by labels, as promtool does before comparing.
pub fn sort_samples(items: &mut [SampleItem]) {
    items.sort_by(|a, b| a.labels.cmp(&b.labels));
}

/// Whether two sorted sample lists agree.
pub fn samples_agree(exp: &[SampleItem], got: &[SampleItem], fuzzy: bool) -> bool {
    exp.len() == got.len()
        && exp.iter().zip(got).all(|(e, g)| {
            e.labels == g.labels
                && e.histogram == g.histogram
                && floats_agree(e.value, g.value, fuzzy)
        })
}

/// Whether two alert lists agree, in any order.
pub fn alerts_agree(exp: &mut [AlertItem], got: &mut [AlertItem]) -> bool {
    exp.sort();
    got.sort();
    exp == got
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_tsdb::Labels;

    #[test]
    fn fuzzy_allows_one_ulp_only() {
        assert!(floats_agree(3.0, 3.0, false));
        assert!(!floats_agree(3.0, 3.0000000000000004, false));
        assert!(floats_agree(3.0, 3.0000000000000004, true));
        assert!(floats_agree(3.0, 2.9999999999999996, true));
        assert!(!floats_agree(3.0, 3.0000000000000013, true));
        assert!(!floats_agree(f64::NAN, f64::NAN, true));
    }

    #[test]
    fn order_does_not_matter_for_alerts() {
        let a = |v: &str| AlertItem {
            labels: Labels::from_pairs([("alertname", "A"), ("i", v)]).unwrap(),
            annotations: Labels::empty(),
        };
        assert!(alerts_agree(&mut [a("1"), a("2")], &mut [a("2"), a("1")]));
        assert!(!alerts_agree(&mut [a("1")], &mut [a("1"), a("1")]));
    }
}
