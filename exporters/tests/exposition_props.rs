//! Property tests of the exposition formats: what the encoder writes, the
//! parser reads back exactly (labels with quotes, backslashes, newlines and
//! UTF-8; infinities, NaN; timestamps), and no input makes the parser panic.

use std::collections::BTreeMap;

use proptest::prelude::*;
use warden_exporters::exposition::{Family, Format, encode, parse};
use warden_tsdb::{Labels, MetricMetadata, MetricType};

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ]{1,8}",
        "[\"\\\\\n]{1,4}",
        "[\"\\\\\nä世😀a=,{}#]{1,10}",
        "\\PC{1,10}",
    ]
}

fn help() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[\"\\\\\nä世😀 a#]{0,16}",
        "\\PC{0,16}"
    ]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::NAN),
        Just(0.0),
        (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
    ]
}

fn kind() -> impl Strategy<Value = MetricType> {
    prop_oneof![
        Just(MetricType::Counter),
        Just(MetricType::Gauge),
        Just(MetricType::Unknown)
    ]
}

fn sample() -> impl Strategy<Value = (BTreeMap<String, String>, f64, Option<i64>)> {
    (
        prop::collection::btree_map("[a-z_][a-z0-9_]{0,6}", label_value(), 0..4),
        value(),
        prop::option::of(-1_000_000_000_000_000i64..1_000_000_000_000_000),
    )
}

fn families() -> impl Strategy<Value = Vec<Family>> {
    prop::collection::vec(
        (
            "[a-z][a-z0-9_]{0,8}",
            kind(),
            help(),
            prop::collection::vec(sample(), 1..4),
        ),
        1..4,
    )
    .prop_map(|fams| {
        fams.into_iter()
            .enumerate()
            .map(|(i, (name, kind, help, samples))| {
                // Distinct families whose names no other family extends.
                let name = format!("f{i}x_{name}");
                let mut seen = std::collections::HashSet::new();
                let samples = samples
                    .into_iter()
                    .filter_map(|(labels, v, t)| {
                        let l =
                            Labels::from_pairs(labels.into_iter().filter(|(n, _)| n != "__name__"))
                                .ok()?;
                        seen.insert(l.clone()).then_some((l, v, t))
                    })
                    .collect();
                Family {
                    name,
                    metadata: MetricMetadata {
                        kind,
                        help,
                        unit: String::new(),
                    },
                    samples,
                }
            })
            .collect()
    })
}

fn check_round_trip(format: Format, fams: &[Family]) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    encode(format, fams, &mut out);
    let parsed = parse(format, &out)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&out))))?;
    let expected: Vec<_> = fams
        .iter()
        .flat_map(|f| f.samples.iter().map(move |s| (f, s)))
        .collect();
    prop_assert_eq!(parsed.len(), expected.len());
    for (p, (f, (labels, v, t))) in parsed.iter().zip(expected) {
        let mut name = f.name.clone();
        if format == Format::OpenMetrics && f.metadata.kind == MetricType::Counter {
            name.push_str("_total");
        }
        let mut b = labels.to_builder();
        b.set("__name__", name);
        prop_assert_eq!(&p.labels, &b.build().unwrap());
        prop_assert!(p.value.to_bits() == v.to_bits() || (p.value.is_nan() && v.is_nan()));
        prop_assert_eq!(p.timestamp_ms, *t);
        prop_assert_eq!(&p.family.name, &f.name);
        prop_assert_eq!(p.family.metadata.kind, f.metadata.kind);
        prop_assert_eq!(&p.family.metadata.help, &f.metadata.help);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn text_round_trips(fams in families()) {
        check_round_trip(Format::Text, &fams)?;
    }

    #[test]
    fn openmetrics_round_trips(fams in families()) {
        check_round_trip(Format::OpenMetrics, &fams)?;
    }

    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse(Format::Text, &body);
        let _ = parse(Format::OpenMetrics, &body);
    }

    #[test]
    fn exposition_like_noise_never_panics(
        parts in prop::collection::vec(
            prop_oneof![
                Just("# TYPE ".to_string()), Just("# HELP ".to_string()), Just("# UNIT ".to_string()),
                Just("# EOF".to_string()), Just("{".to_string()), Just("}".to_string()),
                Just("=\"".to_string()), Just("\"".to_string()), Just("\\".to_string()),
                Just(",".to_string()), Just(" ".to_string()), Just("\n".to_string()),
                Just("\r".to_string()), Just("#".to_string()), Just("1.5e3".to_string()),
                Just("+Inf".to_string()), Just("-".to_string()), Just(".".to_string()),
                "[a-z_:]{1,5}", "\\PC{1,3}",
            ],
            0..40,
        )
    ) {
        let body = parts.concat();
        let _ = parse(Format::Text, body.as_bytes());
        let _ = parse(Format::OpenMetrics, body.as_bytes());
    }
}
