//! The Prometheus exposition formats, both ways: text 0.0.4 and
//! OpenMetrics 1.0.
//!
//! warden re-exposes stored series (a node_exporter-compatible `/metrics`,
//! `/federate`) with timestamps and in whichever format the scraper asks
//! for, so it needs its own encoder over its own sample types; and it reads
//! other exporters' output (tests against node_exporter, scrape targets),
//! so it needs a parser that never panics on what comes over the wire.

mod encode;
mod float;
mod parse;

use warden_tsdb::{Labels, MetricMetadata};

pub use encode::encode;
pub use parse::{ParseError, ParsedFamily, ParsedSample, parse, parse_each};

/// The two exposition formats warden speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// One metric family to encode: its name (as in `# TYPE`), its metadata
/// and its samples.
///
/// A sample's labels may carry `__name__` (a stored series does); when they
/// do it is the sample's name (`x_bucket`, `x_sum`), otherwise the family's
/// name is used.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The family name.
    pub name: String,
    /// Type, help and unit.
    pub metadata: MetricMetadata,
    /// (labels, value, timestamp in milliseconds).
    pub samples: Vec<(Labels, f64, Option<i64>)>,
}

/// Chooses the format for an `Accept` header the way Prometheus's Go client
/// does (`expfmt.NegotiateIncludingOpenMetrics`): media ranges by falling
/// `q`, the first OpenMetrics (version 0.0.1, 1.0.0 or none) or
/// `text/plain` (version 0.0.4 or none) wins, and anything else is text.
/// Ranges with `q=0` are refused ranges and are skipped.
pub fn negotiate(accept_header: &str) -> Format {
    struct Range<'a> {
        kind: &'a str,
        version: &'a str,
        q: f64,
        wildcards: u8,
    }
    let mut ranges: Vec<Range<'_>> = Vec::new();
    for part in accept_header.split(',') {
        let mut params = part.split(';');
        let kind = params.next().unwrap_or("").trim();
        if kind.is_empty() {
            continue;
        }
        let mut r = Range {
            kind,
            version: "",
            q: 1.0,
            wildcards: kind.matches('*').count() as u8,
        };
        for p in params {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim() {
                "q" => r.q = v.parse().unwrap_or(0.0),
                "version" => r.version = v,
                _ => {}
            }
        }
        if r.q > 0.0 {
            ranges.push(r);
        }
    }
    ranges.sort_by(|a, b| {
        b.q.partial_cmp(&a.q)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.wildcards.cmp(&b.wildcards))
    });
    for r in &ranges {
        if r.kind.eq_ignore_ascii_case("application/openmetrics-text")
            && matches!(r.version, "" | "0.0.1" | "1.0.0")
        {
            return Format::OpenMetrics;
        }
        if r.kind.eq_ignore_ascii_case("text/plain") && matches!(r.version, "" | "0.0.4") {
            return Format::Text;
        }
    }
    Format::Text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(prometheus), Format::OpenMetrics);
        assert_eq!(negotiate("text/plain;version=0.0.4"), Format::Text);
        assert_eq!(negotiate(""), Format::Text);
        assert_eq!(negotiate("*/*"), Format::Text);
        assert_eq!(negotiate("application/json"), Format::Text);
        assert_eq!(
            negotiate("text/plain;q=0.5, application/openmetrics-text"),
            Format::OpenMetrics
        );
        assert_eq!(
            negotiate("application/openmetrics-text;version=2.0.0, text/plain"),
            Format::Text
        );
        assert_eq!(
            negotiate("application/openmetrics-text;q=0, text/plain;q=0.1"),
            Format::Text
        );
        assert_eq!(
            Format::OpenMetrics.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
    }
}
