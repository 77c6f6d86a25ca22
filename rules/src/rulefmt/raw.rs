//! The rule file exactly as written, before validation: every field
//! optional and carrying its position, so validation can name the place.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::Position;

/// Where a spanned value was written.
pub fn position<T>(s: &Spanned<T>) -> Position {
    Position {
        line: s.referenced.line() as u32,
        column: s.referenced.column() as u32,
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    #[serde(default)]
    pub groups: Vec<Spanned<RawGroup>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    #[serde(default)]
    pub query_offset: Option<Spanned<String>>,
    #[serde(default)]
    pub limit: Option<Spanned<i64>>,
    #[serde(default)]
    pub labels: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
    // vmalert's group extensions: accepted only in lenient mode.
    #[serde(default)]
    pub eval_offset: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub eval_delay: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub concurrency: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub params: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub headers: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub notifier_headers: Option<Spanned<IgnoredAny>>,
    #[serde(default, rename = "type")]
    pub kind: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub eval_alignment: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub debug: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    pub update_entries_limit: Option<Spanned<IgnoredAny>>,
}

impl RawGroup {
    /// The vmalert fields that are set, with where.
    pub fn vmalert_fields(&self) -> Vec<(&'static str, Position)> {
        [
            ("eval_offset", self.eval_offset.as_ref().map(position)),
            ("eval_delay", self.eval_delay.as_ref().map(position)),
            ("concurrency", self.concurrency.as_ref().map(position)),
            ("params", self.params.as_ref().map(position)),
            ("headers", self.headers.as_ref().map(position)),
            (
                "notifier_headers",
                self.notifier_headers.as_ref().map(position),
            ),
            ("type", self.kind.as_ref().map(position)),
            ("eval_alignment", self.eval_alignment.as_ref().map(position)),
            ("debug", self.debug.as_ref().map(position)),
            (
                "update_entries_limit",
                self.update_entries_limit.as_ref().map(position),
            ),
        ]
        .into_iter()
        .filter_map(|(name, at)| at.map(|p| (name, p)))
        .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    #[serde(default)]
    pub record: Option<Spanned<String>>,
    #[serde(default)]
    pub alert: Option<Spanned<String>>,
    #[serde(default)]
    pub expr: Option<Spanned<String>>,
    #[serde(default, rename = "for")]
    pub for_: Option<Spanned<String>>,
    #[serde(default)]
    pub keep_firing_for: Option<Spanned<String>>,
    /// Values keep their place: alerting rules' labels and annotations are
    /// templates, and a template error names where its value is.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, Spanned<String>>>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, Spanned<String>>>,
}
