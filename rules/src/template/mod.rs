//! Alert label and annotation templates, rendered exactly as Prometheus 3
//! renders them.
//!
//! Prometheus expands every label and annotation of a firing or pending
//! alert as a Go `text/template` with `$labels`, `$externalLabels`,
//! `$externalURL` and `$value` defined and its own functions (`humanize`,
//! `query`, `reReplaceAll`…). Users copy these templates between
//! Prometheus and warden, so the output, and the error text when a
//! template fails, must be Prometheus's to the byte. The Go template
//! language comes from `gotmpl`; this module adds Prometheus's data and
//! functions and the Go typing gotmpl lacks (see [`sites`]).

mod error;
mod funcs;
mod parse;
mod run;
mod sites;
mod value;

use std::collections::BTreeMap;

pub use error::{Stage, TemplateError};

use crate::query::QueryFn;

/// The definitions Prometheus puts before every alert template.
pub const PREFIX: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// The data a template sees, as Prometheus gives it: $labels, $externalLabels, $externalURL, $value.
pub struct TemplateData<'a> {
    /// The alert's labels (`$labels`, `.Labels`).
    pub labels: &'a BTreeMap<String, String>,
    /// The configured external labels (`$externalLabels`).
    pub external_labels: &'a BTreeMap<String, String>,
    /// `--web.external-url` (`$externalURL`, `externalURL`, `pathPrefix`).
    pub external_url: &'a str,
    /// The alert's value (`$value`, `.Value`).
    pub value: f64,
}

/// Expands one template (Prometheus prepends the $labels/$value/... definitions). `name` is the template's
/// name in error messages (Prometheus uses "__alert_<AlertName>"). `t_ms` is the evaluation time
/// (for `query`, `now`). `query` answers the `query` function.
pub fn expand(
    name: &str,
    text: &str,
    data: &TemplateData<'_>,
    t_ms: i64,
    query: &dyn QueryFn,
) -> Result<String, TemplateError> {
    let source = format!("{PREFIX}{text}");
    let parsed = parse::parse(name, &source)
        .map_err(|detail| TemplateError::new(Stage::Parse, name, detail))?;
    run::run(name, &source, &parsed, data, t_ms, query)
        .map_err(|detail| TemplateError::new(Stage::Execute, name, detail))
}

/// Parses only, as promtool's rule validation does.
pub fn check(name: &str, text: &str) -> Result<(), TemplateError> {
    parse::parse(name, &format!("{PREFIX}{text}"))
        .map(|_| ())
        .map_err(|detail| TemplateError::new(Stage::Check, name, detail))
}

#[cfg(test)]
mod tests;
