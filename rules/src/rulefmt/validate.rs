//! promtool's checks over a parsed rule file, collecting every problem.

use std::collections::{BTreeMap, HashSet};

use serde_saphyr::Spanned;
use warden_tsdb::labels::{is_valid_label_name, is_valid_metric_name};

use super::duration::parse_duration_ms;
use super::raw::{RawFile, RawGroup, RawRule, position};
use super::{
    LoadOptions, Position, RuleDef, RuleError, RuleFile, RuleFileErrors, RuleGroup, RuleKind,
};

/// Collects problems with their place in the file.
struct Problems<'a> {
    file: &'a str,
    errors: Vec<RuleError>,
}

impl Problems<'_> {
    fn add(
        &mut self,
        position: Option<Position>,
        context: Option<&str>,
        message: impl Into<String>,
    ) {
        self.errors.push(RuleError {
            file: self.file.to_string(),
            position,
            context: context.map(str::to_string),
            message: message.into(),
        });
    }
}

/// Validates a raw file into a [`RuleFile`], or every problem found.
pub fn validate(
    file: &str,
    raw: RawFile,
    options: LoadOptions,
) -> Result<RuleFile, RuleFileErrors> {
    let mut problems = Problems {
        file,
        errors: Vec::new(),
    };
    let mut seen = HashSet::new();
    let mut groups = Vec::with_capacity(raw.groups.len());
    for group in raw.groups {
        let at = position(&group);
        if let Some(g) = check_group(&mut problems, group.value, at, options, &mut seen) {
            groups.push(g);
        }
    }
    if problems.errors.is_empty() {
        Ok(RuleFile {
            path: file.to_string(),
            groups,
        })
    } else {
        problems.errors.sort_by_key(|e| e.position);
        Err(RuleFileErrors {
            errors: problems.errors,
        })
    }
}

fn duration(
    p: &mut Problems<'_>,
    field: &Option<Spanned<String>>,
    context: Option<&str>,
) -> Option<i64> {
    let f = field.as_ref()?;
    match parse_duration_ms(&f.value) {
        Ok(ms) => Some(ms),
        Err(e) => {
            p.add(Some(position(f)), context, e);
            None
        }
    }
}

fn check_group(
    p: &mut Problems<'_>,
    g: RawGroup,
    at: Position,
    options: LoadOptions,
    seen: &mut HashSet<String>,
) -> Option<RuleGroup> {
    let name = g.name.as_ref().map(|n| n.value.clone()).unwrap_or_default();
    if name.is_empty() {
        p.add(Some(at), None, "Groupname must not be empty");
    } else if !seen.insert(name.clone()) {
        let name_at = g.name.as_ref().map(position).unwrap_or(at);
        p.add(
            Some(name_at),
            None,
            format!("groupname: {name:?} is repeated in the same file"),
        );
    }
    if !options.lenient && !options.ignore_unknown_fields {
        for (field, field_at) in g.vmalert_fields() {
            p.add(
                Some(field_at),
                None,
                format!("unknown field `{field}` in group {name:?} (a vmalert extension; accepted when loading leniently)"),
            );
        }
    }
    let interval_ms = duration(p, &g.interval, None);
    let query_offset_ms = duration(p, &g.query_offset, None);
    let labels = g.labels.map(|l| l.value).unwrap_or_default();
    for k in labels.keys() {
        if !is_valid_label_name(k) || k == "__name__" {
            p.add(
                Some(at),
                Some(&format!("group {name:?}")),
                format!("invalid label name: {k}"),
            );
        }
    }
    let mut rules = Vec::with_capacity(g.rules.len());
    for (i, rule) in g.rules.into_iter().enumerate() {
        let rule_at = position(&rule);
        if let Some(r) = check_rule(p, &name, i + 1, rule.value, rule_at) {
            rules.push(r);
        }
    }
    Some(RuleGroup {
        name,
        interval_ms,
        query_offset_ms,
        // Prometheus reads the limit as a signed number and treats
        // anything below 1 as "no limit".
        limit: g
            .limit
            .and_then(|l| u64::try_from(l.value).ok())
            .unwrap_or(0),
        labels,
        rules,
        position: at,
    })
}

fn check_rule(
    p: &mut Problems<'_>,
    group: &str,
    index: usize,
    r: RawRule,
    at: Position,
) -> Option<RuleDef> {
    let name = r
        .record
        .as_ref()
        .or(r.alert.as_ref())
        .map(|n| n.value.clone())
        .unwrap_or_default();
    let context = format!("group {group:?}, rule {index}, {name:?}");
    let ctx = Some(context.as_str());
    let before = p.errors.len();

    match (&r.record, &r.alert) {
        (Some(_), Some(_)) => p.add(
            Some(at),
            ctx,
            "only one of 'record' and 'alert' must be set",
        ),
        (None, None) => p.add(Some(at), ctx, "one of 'record' or 'alert' must be set"),
        _ => {}
    }
    let expr = match &r.expr {
        Some(e) if !e.value.is_empty() => {
            if let Err(err) = crate::promql::parse_expr(&e.value) {
                let msg = match err {
                    crate::promql::PromqlError::Parse { message, .. } => message,
                    other => other.to_string(),
                };
                p.add(
                    Some(position(e)),
                    ctx,
                    format!("could not parse expression: {msg}"),
                );
            }
            e.value.clone()
        }
        _ => {
            p.add(Some(at), ctx, "field 'expr' must be set in rule");
            String::new()
        }
    };
    if let Some(record) = &r.record {
        let record_at = Some(position(record));
        for (field, set) in [
            ("annotations", r.annotations.is_some()),
            ("for", r.for_.is_some()),
            ("keep_firing_for", r.keep_firing_for.is_some()),
        ] {
            if set {
                p.add(
                    record_at,
                    ctx,
                    format!("invalid field '{field}' in recording rule"),
                );
            }
        }
        if !is_valid_metric_name(&record.value) {
            p.add(
                record_at,
                ctx,
                format!("invalid recording rule name: {}", record.value),
            );
        }
    }
    let spanned_labels = r.labels.unwrap_or_default();
    for k in spanned_labels.keys() {
        if !is_valid_label_name(k) || k == "__name__" {
            p.add(Some(at), ctx, format!("invalid label name: {k}"));
        }
    }
    let spanned_annotations = r.annotations.unwrap_or_default();
    for k in spanned_annotations.keys() {
        if !is_valid_label_name(k) {
            p.add(Some(at), ctx, format!("invalid annotation name: {k}"));
        }
    }
    if let Some(alert) = &r.alert {
        check_templates(p, &alert.value, "label", &spanned_labels, ctx);
        check_templates(p, &alert.value, "annotation", &spanned_annotations, ctx);
    }
    let labels = unspan(spanned_labels);
    let annotations = unspan(spanned_annotations);
    let for_ms = duration(p, &r.for_, ctx).unwrap_or(0);
    let keep_firing_for_ms = duration(p, &r.keep_firing_for, ctx).unwrap_or(0);

    if p.errors.len() != before {
        return None;
    }
    let kind = match (r.record, r.alert) {
        (Some(record), None) => RuleKind::Recording {
            record: record.value,
        },
        (None, Some(alert)) => RuleKind::Alerting {
            alert: alert.value,
            for_ms,
            keep_firing_for_ms,
            annotations,
        },
        _ => return None,
    };
    Some(RuleDef {
        kind,
        expr,
        labels,
        position: at,
    })
}

/// promtool's template check of an alerting rule: every label and
/// annotation value must parse as a template named `__alert_<name>`.
fn check_templates(
    p: &mut Problems<'_>,
    alert: &str,
    what: &str,
    values: &BTreeMap<String, Spanned<String>>,
    context: Option<&str>,
) {
    let name = format!("__alert_{alert}");
    for (key, value) in values {
        if let Err(e) = crate::template::check(&name, &value.value) {
            p.add(
                Some(position(value)),
                context,
                format!("{what} {key:?}: {e}"),
            );
        }
    }
}

fn unspan(values: BTreeMap<String, Spanned<String>>) -> BTreeMap<String, String> {
    values.into_iter().map(|(k, v)| (k, v.value)).collect()
}
