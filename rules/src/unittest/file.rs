//! The unit-test file as written: promtool's format, read strictly (an
//! unknown field is an error naming its line and column).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// A whole test file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// Rule files (globs), relative to the test file's directory.
    #[serde(default, deserialize_with = "nullable")]
    pub rule_files: Vec<String>,
    /// Step of the rule evaluations (default 1m).
    #[serde(default)]
    pub evaluation_interval: Option<Duration>,
    /// Groups named here are evaluated first, in this order.
    #[serde(default, deserialize_with = "nullable")]
    pub group_eval_order: Vec<String>,
    /// The test groups.
    #[serde(default, deserialize_with = "nullable")]
    pub tests: Vec<TestGroup>,
    /// Accept a difference in the last bit of a float.
    #[serde(default)]
    pub fuzzy_compare: bool,
}

/// One test group: input series and the expectations over them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    /// Spacing of the input samples (default: the evaluation interval).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// The input series.
    #[serde(default, deserialize_with = "nullable")]
    pub input_series: Vec<InputSeries>,
    /// Expected firing alerts.
    #[serde(default, deserialize_with = "nullable")]
    pub alert_rule_test: Vec<AlertTest>,
    /// Expected query results.
    #[serde(default, deserialize_with = "nullable")]
    pub promql_expr_test: Vec<ExprTest>,
    /// `$externalLabels` for templates.
    #[serde(default, deserialize_with = "nullable")]
    pub external_labels: BTreeMap<String, Text>,
    /// `$externalURL` for templates.
    #[serde(default)]
    pub external_url: Option<Text>,
    /// Selects the group with `--run` and names it in failures.
    #[serde(default)]
    pub name: Option<Text>,
    /// Time of the first sample and of evaluation time 0.
    #[serde(default)]
    pub start_timestamp: Option<StartTimestamp>,
}

impl TestGroup {
    /// The group's name, empty when it has none.
    pub fn name(&self) -> &str {
        self.name.as_ref().map_or("", |t| t.0.as_str())
    }

    /// The latest evaluation time any of its tests asks for.
    pub fn max_eval_time_ms(&self) -> i64 {
        let alerts = self.alert_rule_test.iter().map(|a| a.eval_time.0);
        let exprs = self.promql_expr_test.iter().map(|e| e.eval_time.0);
        alerts.chain(exprs).max().unwrap_or(0)
    }
}

/// One input series in series notation with its expanding value notation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    /// `metric{label="value"}`.
    #[serde(default)]
    pub series: Text,
    /// `1+2x10 _ stale`.
    #[serde(default)]
    pub values: Text,
}

/// Alerts expected to fire at one time.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTest {
    /// When, after the start.
    #[serde(default)]
    pub eval_time: Duration,
    /// Which alert.
    #[serde(default)]
    pub alertname: Text,
    /// The firing alerts expected; empty means none.
    #[serde(default, deserialize_with = "nullable")]
    pub exp_alerts: Vec<ExpectedAlert>,
}

/// One expected alert.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAlert {
    /// Its labels without `alertname`.
    #[serde(default, deserialize_with = "nullable")]
    pub exp_labels: BTreeMap<String, Text>,
    /// Its expanded annotations.
    #[serde(default, deserialize_with = "nullable")]
    pub exp_annotations: BTreeMap<String, Text>,
}

/// An expression and its expected result at one time.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExprTest {
    /// The PromQL expression.
    #[serde(default)]
    pub expr: Text,
    /// When, after the start.
    #[serde(default)]
    pub eval_time: Duration,
    /// The expected samples.
    #[serde(default, deserialize_with = "nullable")]
    pub exp_samples: Vec<ExpectedSample>,
}

/// One expected sample.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedSample {
    /// Series notation of its labels.
    #[serde(default)]
    pub labels: Text,
    /// Its float value.
    #[serde(default)]
    pub value: f64,
    /// A native histogram in `{{…}}` notation (overrides `value`).
    #[serde(default)]
    pub histogram: Option<Text>,
}

/// A scalar read as text, as Go's YAML reader does for string fields:
/// `values: 1` and `code: 500` are the strings "1" and "500".
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// A Prometheus duration (`5m`, `1h30m`, `0`), in milliseconds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub i64);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = Text::deserialize(d)?;
        parse_duration(&text.0)
            .map(Duration)
            .ok_or_else(|| de::Error::custom(format!("not a valid duration string: {:?}", text.0)))
    }
}

/// Parses Prometheus's duration notation (`model.ParseDuration`): units
/// `y w d h m s ms`, each at most once and in that order; `0` alone and
/// zero amounts (`0m`) are allowed.
pub fn parse_duration(s: &str) -> Option<i64> {
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    if s == "0" {
        return Some(0);
    }
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // "ms" before "m", so the longer unit wins.
        let (i, (unit, size)) = UNITS
            .iter()
            .enumerate()
            .skip(next_unit)
            .filter(|(_, (u, _))| rest.starts_with(u))
            .max_by_key(|(_, (u, _))| u.len())?;
        rest = &rest[unit.len()..];
        next_unit = i + 1;
        total = total.checked_add(n.checked_mul(*size)?)?;
    }
    Some(total)
}

/// `start_timestamp`: Unix seconds (fractions allowed) or RFC 3339.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StartTimestamp(pub i64);

impl<'de> Deserialize<'de> for StartTimestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StartTimestamp, D::Error> {
        let text = Text::deserialize(d)?;
        parse_time_ms(&text.0).map(StartTimestamp).ok_or_else(|| {
            de::Error::custom(format!("cannot parse {:?} to a valid timestamp", text.0))
        })
    }
}

/// Parses promtool's time argument: a float of Unix seconds or RFC 3339.
pub fn parse_time_ms(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        let ms = (secs * 1000.0).round();
        return (ms.is_finite() && ms.abs() < 9.2e18).then_some(ms as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Reads an explicit `null` as the empty value, as Go's YAML reader does.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rulefmt::yaml;

    fn parse(text: &str) -> Result<TestFile, String> {
        yaml::from_str::<TestFile>("t.yml", text).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_scalars_as_go_does() {
        let f = parse(
            "tests:\n- interval: 1m\n  name: 7\n  input_series:\n  - series: up\n    values: 1\n  alert_rule_test:\n  - eval_time: 0\n    alertname: A\n    exp_alerts:\n    - exp_labels: {code: 500}\n  promql_expr_test:\n  - expr: up\n    eval_time: 2m\n    exp_samples:\n",
        )
        .unwrap();
        let t = &f.tests[0];
        assert_eq!(t.interval, Some(Duration(60_000)));
        assert_eq!(t.name(), "7");
        assert_eq!(t.input_series[0].values.0, "1");
        assert_eq!(
            t.alert_rule_test[0].exp_alerts[0].exp_labels["code"].0,
            "500"
        );
        assert!(t.promql_expr_test[0].exp_samples.is_empty());
        assert_eq!(t.max_eval_time_ms(), 120_000);
    }

    #[test]
    fn unknown_fields_are_errors_with_position() {
        let e = parse("tests:\n- nmae: x\n").unwrap_err();
        assert!(e.starts_with("t.yml: 2:3: unknown field `nmae`"), "{e}");
        let e = parse("evaluation_interval: 5x\n").unwrap_err();
        assert!(e.contains("not a valid duration string"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("0m"), Some(0));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("2m59s999ms"), Some(179_999));
        assert_eq!(parse_duration("100d"), Some(8_640_000_000));
        assert_eq!(parse_duration("5ms"), Some(5));
        for bad in ["", "5", "m", "1m1h", "1m1m", "-1m", "1.5m", "5x"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn start_timestamps() {
        assert_eq!(parse_time_ms("1609459200"), Some(1_609_459_200_000));
        assert_eq!(parse_time_ms("1.5"), Some(1500));
        assert_eq!(
            parse_time_ms("2024-01-01T00:00:00Z"),
            Some(1_704_067_200_000)
        );
        assert_eq!(parse_time_ms("yesterday"), None);
    }
}
