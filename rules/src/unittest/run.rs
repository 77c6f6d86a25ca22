//! One test group, run as promtool runs it: load the input series step by
//! step, evaluate every rule group at each evaluation interval from the
//! start up to the latest `eval_time`, check the alert tests as their
//! times are reached, then run the expression tests over everything the
//! rules wrote.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use warden_tsdb::{Db, DbOptions, Labels, Querier};

use super::compare::{alerts_agree, samples_agree, sort_samples};
use super::diff::alert_diff;
use super::file::{AlertTest, ExprTest, TestGroup};
use super::format::{
    AlertItem, SampleItem, alert_list, go_duration, indent_lines, prom_duration, quote, sample_list,
};
use super::store::PendingInput;
use super::{Case, Failure};
use crate::alerting::AlertState;
use crate::group::{Group, GroupOptions, Point, RuleStatusKind};
use crate::promql::promqltest::{SeqValue, engine_options, parse_labels_prefix, parse_series_desc};
use crate::promql::{Engine, Value};
use crate::query::{LocalQuery, QueryFn};
use crate::rulefmt::{RuleFile, RuleFileErrors};

/// Indent promtool gives the alert lists inside a failure.
const LIST_INDENT: &str = "            ";

/// What every test group of one file shares.
pub struct Setup<'a> {
    /// The resolved rule files, each loaded or with its problems.
    pub rule_files: &'a [(String, Result<RuleFile, RuleFileErrors>)],
    /// `evaluation_interval`.
    pub eval_interval_ms: i64,
    /// Position of each group named in `group_eval_order`.
    pub group_order: &'a HashMap<String, usize>,
    /// `fuzzy_compare`.
    pub fuzzy: bool,
    /// `--diff`.
    pub diff: bool,
}

/// Runs one test group; returns its failures in promtool's order.
pub fn run_test_group(s: &Setup<'_>, tg: &TestGroup, index: usize) -> Vec<Failure> {
    let mut run = GroupRun {
        tg,
        index,
        failures: Vec::new(),
    };
    run.run(s);
    run.failures
}

struct GroupRun<'a> {
    tg: &'a TestGroup,
    index: usize,
    failures: Vec<Failure>,
}

impl GroupRun<'_> {
    fn fail(&mut self, case: Case, message: String) {
        self.failures.push(Failure {
            test_index: Some(self.index),
            test_name: self.tg.name().to_string(),
            case,
            message,
        });
    }

    fn run(&mut self, s: &Setup<'_>) {
        let tg = self.tg;
        let interval = match tg.interval.map_or(0, |d| d.0) {
            0 => s.eval_interval_ms,
            i => i,
        };
        let start = tg.start_timestamp.map_or(0, |t| t.0);
        let mut pending = match load_input(tg, start, interval) {
            Ok(v) => v,
            Err(message) => return self.fail(Case::Setup, message),
        };
        let mut rule_problems = Vec::new();
        for (_, loaded) in s.rule_files {
            if let Err(e) = loaded {
                rule_problems.extend(e.errors.iter().map(ToString::to_string));
            }
        }
        if !rule_problems.is_empty() {
            for p in rule_problems {
                self.fail(Case::Setup, p);
            }
            return;
        }
        if let Some(a) = tg.alert_rule_test.iter().find(|a| a.alertname.0.is_empty()) {
            let within = match tg.name() {
                "" => String::new(),
                n => format!(" (in TestGroup {n})"),
            };
            let message = format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{within}",
                prom_duration(a.eval_time.0)
            );
            return self.fail(Case::Setup, message);
        }

        let mut groups = build_groups(s, tg, interval);
        let store = Arc::new(Db::in_memory(DbOptions::default()));
        let mut options = engine_options();
        options.default_subquery_step_ms = s.eval_interval_ms;
        options.experimental = false;
        let querier: Arc<dyn Querier> = store.clone();
        let query = LocalQuery::new(Engine::new(options), querier);

        let alert_times: Vec<i64> = tg
            .alert_rule_test
            .iter()
            .map(|a| a.eval_time.0)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut next_alert_time = 0;
        let max_t = start.saturating_add(tg.max_eval_time_ms());
        let mut ts = start;
        while ts <= max_t {
            match pending.append_till(&store, ts) {
                Err(e) => self.fail(Case::Setup, e.to_string()),
                Ok(()) => {
                    let errors = evaluate_all(&mut groups, ts, &query, &store);
                    if !errors.is_empty() {
                        for (name, err) in errors {
                            let message =
                                format!("    rule: {name}, time: {}, err: {err}", go_duration(ts));
                            self.fail(Case::Rule { name, time_ms: ts }, message);
                        }
                        return;
                    }
                }
            }
            let offset = ts - start;
            while let Some(&t) = alert_times.get(next_alert_time) {
                if !(offset <= t && t < offset.saturating_add(s.eval_interval_ms)) {
                    break;
                }
                let due: Vec<&AlertTest> = tg
                    .alert_rule_test
                    .iter()
                    .filter(|a| a.eval_time.0 == t)
                    .collect();
                self.check_alerts(s, &groups, &due);
                next_alert_time += 1;
            }
            match ts.checked_add(s.eval_interval_ms) {
                Some(next) => ts = next,
                None => break,
            }
        }

        for case in &tg.promql_expr_test {
            self.check_expr(s, case, start, &query);
        }
    }

    fn check_alerts(&mut self, s: &Setup<'_>, groups: &[Group], due: &[&AlertTest]) {
        let names: BTreeSet<&str> = due.iter().map(|a| a.alertname.0.as_str()).collect();
        let mut got: HashMap<String, Vec<AlertItem>> = HashMap::new();
        for g in groups {
            for rule in g.status().rules {
                let RuleStatusKind::Alerting { alerts, .. } = rule.kind else {
                    continue;
                };
                if !names.contains(rule.name.as_str()) {
                    continue;
                }
                let firing = alerts
                    .into_iter()
                    .filter(|a| a.state == AlertState::Firing)
                    .map(|a| AlertItem {
                        labels: a.labels,
                        annotations: a.annotations,
                    });
                got.entry(rule.name).or_default().extend(firing);
            }
        }
        for case in due {
            let name = &case.alertname.0;
            let mut got_items = got.get(name).cloned().unwrap_or_default();
            let mut exp_items = match expected_alerts(case) {
                Ok(v) => v,
                Err(message) => {
                    self.fail(alert_case(case), message);
                    continue;
                }
            };
            if alerts_agree(&mut exp_items, &mut got_items) {
                continue;
            }
            let test_line = match self.tg.name() {
                "" => String::new(),
                n => format!("    name: {n},\n"),
            };
            let time = prom_duration(case.eval_time.0);
            let message = if s.diff {
                let Some(d) = alert_diff(&exp_items, &got_items) else {
                    continue;
                };
                format!(
                    "{test_line}    alertname: {name}, time: {time}, \n        diff: {}",
                    indent_lines(&d, LIST_INDENT)
                )
            } else {
                format!(
                    "{test_line}    alertname: {name}, time: {time}, \n        exp:{}, \n        got:{}",
                    indent_lines(&alert_list(&exp_items), LIST_INDENT),
                    indent_lines(&alert_list(&got_items), LIST_INDENT)
                )
            };
            self.fail(alert_case(case), message);
        }
    }

    fn check_expr(&mut self, s: &Setup<'_>, case: &ExprTest, start: i64, query: &LocalQuery) {
        let head = format!(
            "    expr: {}, time: {}",
            quote(&case.expr.0),
            prom_duration(case.eval_time.0)
        );
        let this = Case::Expr {
            expr: case.expr.0.clone(),
            eval_time_ms: case.eval_time.0,
        };
        let result = query.instant(&case.expr.0, start.saturating_add(case.eval_time.0));
        let mut got = match result.map(|out| out.value) {
            Err(e) => return self.fail(this, format!("{head}, err: {e}")),
            Ok(Value::Vector(v)) => v
                .into_iter()
                .map(|x| SampleItem {
                    labels: x.labels,
                    value: x.v,
                    histogram: x.h.map(|h| h.test_expression()),
                })
                .collect(),
            Ok(Value::Scalar { v, .. }) => vec![SampleItem {
                labels: Labels::empty(),
                value: v,
                histogram: None,
            }],
            Ok(_) => {
                let message = format!("{head}, err: rule result is not a vector or scalar");
                return self.fail(this, message);
            }
        };
        let mut exp = Vec::with_capacity(case.exp_samples.len());
        for sample in &case.exp_samples {
            let text = &sample.labels.0;
            let labels = parse_metric(text).map_err(|e| format!("labels {}: {e}", quote(text)));
            let notation = sample.histogram.as_ref().map(|h| h.0.as_str());
            let histogram = match notation.filter(|h| !h.is_empty()) {
                None => Ok(None),
                Some(h) => expected_histogram(h).map(Some),
            };
            match (labels, histogram) {
                (Ok(labels), Ok(histogram)) => exp.push(SampleItem {
                    labels,
                    value: sample.value,
                    histogram,
                }),
                (Err(e), _) | (_, Err(e)) => {
                    return self.fail(this, format!("{head}, err: {e}"));
                }
            }
        }
        sort_samples(&mut exp);
        sort_samples(&mut got);
        if !samples_agree(&exp, &got, s.fuzzy) {
            let message = format!(
                "{head},\n        exp: {}\n        got: {}",
                sample_list(&exp),
                sample_list(&got)
            );
            self.fail(this, message);
        }
    }
}

/// An expected histogram in promtool's comparison form: the notation is
/// parsed and written back as upstream's test expression, so that two ways
/// of writing one histogram compare equal.
fn expected_histogram(notation: &str) -> Result<String, String> {
    let desc = parse_series_desc(&format!("{{}} {notation}"))?;
    match desc.values.as_slice() {
        [SeqValue::Histogram(h)] => Ok(h.h.test_expression()),
        [other] => Err(format!("expected histogram, got {other:?}")),
        values => Err(format!("expected 1 value, got {}", values.len())),
    }
}

fn alert_case(case: &AlertTest) -> Case {
    Case::Alert {
        alertname: case.alertname.0.clone(),
        eval_time_ms: case.eval_time.0,
    }
}

/// The expected alerts with `alertname` added, as promtool builds them.
fn expected_alerts(case: &AlertTest) -> Result<Vec<AlertItem>, String> {
    case.exp_alerts
        .iter()
        .map(|a| {
            let mut l: Vec<(String, String)> = a
                .exp_labels
                .iter()
                .filter(|(k, _)| k.as_str() != "alertname")
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect();
            l.push(("alertname".into(), case.alertname.0.clone()));
            let annotations = a
                .exp_annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()));
            Ok(AlertItem {
                labels: Labels::from_pairs(l).map_err(|e| format!("exp_labels: {e}"))?,
                annotations: Labels::from_pairs(annotations)
                    .map_err(|e| format!("exp_annotations: {e}"))?,
            })
        })
        .collect()
}

/// Parses an expected sample's labels (`metric{a="b"}`, `{a="b"}`, or
/// nothing for a sample without labels).
fn parse_metric(text: &str) -> Result<Labels, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Labels::empty());
    }
    let (l, used) = parse_labels_prefix(text)?;
    match text[used..].trim() {
        "" => Ok(l),
        rest => Err(format!("unexpected {rest:?} after the labels")),
    }
}

/// The input series: float samples to append as time passes, and where
/// native-histogram samples would have been.
fn load_input(tg: &TestGroup, start: i64, interval: i64) -> Result<PendingInput, String> {
    let mut pending = PendingInput::default();
    for (i, s) in tg.input_series.iter().enumerate() {
        let line = format!("{} {}", s.series.0, s.values.0);
        let desc = parse_series_desc(&line)
            .map_err(|e| format!("input_series[{i}] {}: parse error: {e}", quote(&line)))?;
        let mut points = Vec::new();
        for (k, v) in desc.values.iter().enumerate() {
            let t = i64::try_from(k)
                .ok()
                .and_then(|k| k.checked_mul(interval))
                .and_then(|d| d.checked_add(start))
                .ok_or_else(|| {
                    format!(
                        "input_series[{i}]: sample {k} lies beyond the representable time range"
                    )
                })?;
            match v {
                SeqValue::Float(f) => points.push((t, Point::Float(*f))),
                SeqValue::Histogram(h) => points.push((t, Point::Histogram(Arc::new(h.h.clone())))),
                SeqValue::Omitted => {}
            }
        }
        pending.add(desc.labels, points);
    }
    Ok(pending)
}

/// The rule groups of every file, in `group_eval_order` (the groups it
/// does not name keep their file order, alongside its first group).
fn build_groups(s: &Setup<'_>, tg: &TestGroup, interval: i64) -> Vec<Group> {
    let options = GroupOptions {
        default_interval_ms: interval,
        external_labels: tg
            .external_labels
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        external_url: tg
            .external_url
            .as_ref()
            .map(|u| u.0.clone())
            .unwrap_or_default(),
        ..GroupOptions::default()
    };
    let mut groups: Vec<Group> = s
        .rule_files
        .iter()
        .filter_map(|(_, f)| f.as_ref().ok())
        .flat_map(|f| f.groups.iter().map(|g| Group::new(&f.path, g, &options)))
        .collect();
    groups.sort_by_key(|g| s.group_order.get(g.name()).copied().unwrap_or(0));
    groups
}

/// Evaluates every group at `ts`; the rules that ended with an error,
/// by name and message.
fn evaluate_all(
    groups: &mut [Group],
    ts: i64,
    query: &LocalQuery,
    db: &Db,
) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for g in groups.iter_mut() {
        let mut app = db.appender();
        g.evaluate(ts, query, &mut app);
        for rule in g.status().rules {
            if let Some(err) = rule.last_error {
                errors.push((rule.name, err));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_labels() {
        assert_eq!(parse_metric("").unwrap(), Labels::empty());
        assert_eq!(parse_metric("{}").unwrap(), Labels::empty());
        let l = parse_metric(r#"up{job="a"}"#).unwrap();
        assert_eq!(l.get("job"), Some("a"));
        assert!(parse_metric(r#"up{job="a"} 1"#).is_err());
        assert!(parse_metric(r#"up{job="a""#).is_err());
    }
}
