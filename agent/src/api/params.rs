//! Request parameters as Prometheus's HTTP API reads them.
//!
//! Prometheus merges the URL query string with a form-encoded POST body
//! (the body wins for single values; `match[]` collects from both), parses
//! times as Unix seconds or RFC 3339, and durations as seconds or a
//! Prometheus duration string. The error texts here are Prometheus's, since
//! clients and users match on them.

use std::collections::HashMap;

use chrono::DateTime;
use warden_tsdb::{MatchOp, Matcher};

/// Earliest time Prometheus accepts, as it formats it (`MinTime`).
const MIN_TIME_FORMATTED: &str = "-292273086-05-16T16:47:06Z";
/// Latest time Prometheus accepts, as it formats it (`MaxTime`).
const MAX_TIME_FORMATTED: &str = "292277025-08-18T07:12:54.999999999Z";

/// Prometheus's `MinTime` in milliseconds: the default start of metadata queries.
pub const MIN_TIME_MS: i64 = -9_223_309_901_257_974_000;
/// Prometheus's `MaxTime` in milliseconds: the default end of metadata queries.
pub const MAX_TIME_MS: i64 = 9_223_309_901_257_974_999;

/// A parameter that could not be used, with Prometheus's wording.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

/// The merged parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params {
    values: HashMap<String, Vec<String>>,
}

impl Params {
    /// Merges the URL query and, for form posts, the body; body values come
    /// first so that they win for single-valued parameters, as in Go's
    /// `Request.FormValue`.
    pub fn from_parts(query: Option<&str>, form_body: Option<&[u8]>) -> Params {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(body) = form_body {
            for (k, v) in form_urlencoded::parse(body) {
                values
                    .entry(k.into_owned())
                    .or_default()
                    .push(v.into_owned());
            }
        }
        if let Some(q) = query {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                values
                    .entry(k.into_owned())
                    .or_default()
                    .push(v.into_owned());
            }
        }
        Params { values }
    }

    /// The first value of `name`, if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Every value of `name` (for `match[]`).
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A time parameter in milliseconds, or `default` when absent.
    pub fn time_or(&self, name: &str, default: i64) -> Result<i64, ParamError> {
        match self.get(name) {
            None => Ok(default),
            Some(s) => parse_time(s).map_err(|e| invalid(name, &e)),
        }
    }

    /// A required time parameter in milliseconds.
    pub fn time(&self, name: &str) -> Result<i64, ParamError> {
        let s = self.get(name).unwrap_or("");
        parse_time(s).map_err(|e| invalid(name, &e))
    }

    /// An optional duration parameter in milliseconds.
    pub fn duration(&self, name: &str) -> Result<Option<i64>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(s) => parse_duration(s).map(Some).map_err(|e| invalid(name, &e)),
        }
    }

    /// An optional non-negative integer parameter (`limit`).
    pub fn limit(&self, name: &str) -> Result<Option<usize>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(s) => match s.parse::<i64>() {
                Ok(n) if n < 0 => Err(ParamError(format!("{name} must be non-negative"))),
                Ok(0) => Ok(None),
                Ok(n) => Ok(usize::try_from(n).ok()),
                Err(_) => Err(ParamError(format!("{name} must be a number"))),
            },
        }
    }
}

fn invalid(name: &str, reason: &str) -> ParamError {
    ParamError(format!("invalid parameter {name:?}: {reason}"))
}

/// Parses Unix seconds (fractions rounded to the millisecond) or RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>()
        && f.is_finite()
    {
        let secs = f.trunc();
        let millis = ((f - secs) * 1000.0).round();
        return Ok(secs as i64 * 1000 + millis as i64);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    match s {
        MIN_TIME_FORMATTED => Ok(MIN_TIME_MS),
        MAX_TIME_FORMATTED => Ok(MAX_TIME_MS),
        _ => Err(format!("cannot parse {s:?} to a valid timestamp")),
    }
}

/// Parses float seconds or a Prometheus duration (`5m`, `1h30m`) into milliseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        let ms = f * 1000.0;
        if !ms.is_finite() || ms > i64::MAX as f64 / 1e6 || ms < i64::MIN as f64 / 1e6 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(ms.round() as i64);
    }
    match promql_parser::util::duration::parse_duration(s) {
        Ok(d) => i64::try_from(d.as_millis())
            .map_err(|_| format!("cannot parse {s:?} to a valid duration")),
        Err(_) => Err(format!("cannot parse {s:?} to a valid duration")),
    }
}

/// Turns each `match[]` selector into a list of matchers, as
/// `/api/v1/series`, `labels` and `label/<name>/values` take them.
pub fn parse_match_params(selectors: &[String]) -> Result<Vec<Vec<Matcher>>, ParamError> {
    selectors.iter().map(|s| parse_selector(s)).collect()
}

/// Parses one series selector such as `up{job="node"}` or `{__name__=~"a.*"}`.
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, ParamError> {
    use promql_parser::label::MatchOp as P;
    use promql_parser::parser::Expr;

    let expr = warden_rules::promql::parse_expr(s).map_err(|e| ParamError(e.to_string()))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(ParamError(format!(
            "1:1: parse error: invalid parameter \"match[]\": expected a series selector, got {s:?}"
        )));
    };
    if !vs.matchers.or_matchers.is_empty() {
        return Err(ParamError(
            "\"or\" inside a series selector is not supported".into(),
        ));
    }
    let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(name) = vs.name {
        out.push(Matcher::equal("__name__", name));
    }
    for m in vs.matchers.matchers {
        let op = match m.op {
            P::Equal => MatchOp::Equal,
            P::NotEqual => MatchOp::NotEqual,
            P::Re(_) => MatchOp::Regex,
            P::NotRe(_) => MatchOp::NotRegex,
        };
        out.push(Matcher::new(op, m.name, m.value).map_err(|e| ParamError(e.to_string()))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_prometheus_reads_them() {
        assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("10"), Ok(10_000));
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Ok(1_435_781_451_781)
        );
        assert!(
            parse_time("yesterday")
                .unwrap_err()
                .contains("cannot parse \"yesterday\"")
        );
    }

    #[test]
    fn durations_as_prometheus_reads_them() {
        assert_eq!(parse_duration("15"), Ok(15_000));
        assert_eq!(parse_duration("0.5"), Ok(500));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert!(parse_duration("1x").is_err());
    }

    #[test]
    fn form_body_wins_over_query_string() {
        let p = Params::from_parts(Some("query=a&match[]=x"), Some(b"query=b&match[]=y"));
        assert_eq!(p.get("query"), Some("b"));
        assert_eq!(p.all("match[]").len(), 2);
    }

    #[test]
    fn selectors_become_matchers() {
        let m = parse_selector(r#"up{job=~"no.*"}"#).unwrap();
        assert_eq!(m.len(), 2);
        assert!(m[1].matches("node"));
        assert!(!m[1].matches("xnode"));
        assert!(parse_selector("sum(up)").is_err());
    }
}
