//! The engine's internal value types.
//!
//! Every node evaluates over a whole grid of steps at once (one step for an
//! instant query), so a vector is a list of series with one optional value
//! per step. Labels are then computed once per series, not once per step,
//! which is what makes binary matching and grouping cheap in range queries.

use std::sync::Arc;

use warden_tsdb::histogram::FloatHistogram;
use warden_tsdb::{HistogramSample, Labels, Sample};

/// The evaluation grid: `start, start + step, …` (`n` points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Steps {
    pub start: i64,
    pub step: i64,
    pub n: usize,
}

impl Steps {
    /// The grid of one instant query.
    pub fn instant(t: i64) -> Steps {
        Steps {
            start: t,
            step: 1,
            n: 1,
        }
    }

    /// The time of step `i`.
    pub fn t(&self, i: usize) -> i64 {
        self.start + self.step * i as i64
    }

    /// The time of the last step.
    pub fn end(&self) -> i64 {
        self.t(self.n.saturating_sub(1))
    }
}

/// One series of an instant vector over the whole grid.
#[derive(Debug, Clone)]
pub(crate) struct VSeries {
    /// Labels, `__name__` still included when `drop_name` is set.
    pub labels: Labels,
    /// Prometheus 3's delayed name removal: drop `__name__` at the end.
    pub drop_name: bool,
    /// One value per step; `None` where the series has no point.
    pub vals: Vec<Option<f64>>,
    /// Native histograms per step: empty when the series has none (nearly
    /// always), otherwise one slot per step. A step holds a float in
    /// `vals` or a histogram here, never both.
    pub hists: Vec<Option<Arc<FloatHistogram>>>,
}

impl VSeries {
    /// The histogram at step `i`, if the series has one there.
    pub fn hist(&self, i: usize) -> Option<&Arc<FloatHistogram>> {
        self.hists.get(i).and_then(Option::as_ref)
    }

    /// Whether the series has a point (float or histogram) at step `i`.
    pub fn has_point(&self, i: usize) -> bool {
        self.vals[i].is_some() || self.hist(i).is_some()
    }

    /// Whether the series has a point at any step.
    pub fn has_any_point(&self) -> bool {
        self.vals.iter().any(Option::is_some) || self.hists.iter().any(Option::is_some)
    }

    /// Number of points (floats and histograms) over all steps.
    pub fn point_count(&self) -> usize {
        self.vals.iter().flatten().count() + self.hists.iter().flatten().count()
    }

    /// Sets the histogram at step `i` (clearing the float there), growing
    /// `hists` to the grid on first use.
    pub fn set_hist(&mut self, i: usize, h: Option<Arc<FloatHistogram>>) {
        if h.is_none() && self.hists.is_empty() {
            return;
        }
        if self.hists.is_empty() {
            self.hists = vec![None; self.vals.len()];
        }
        if h.is_some() {
            self.vals[i] = None;
        }
        self.hists[i] = h;
    }
}

/// One series of a range vector: raw samples (no staleness markers).
#[derive(Debug, Clone)]
pub(crate) struct MSeries {
    pub labels: Labels,
    pub drop_name: bool,
    pub samples: Vec<Sample>,
    /// The float samples' start timestamps as the store gave them: empty,
    /// or one per sample (`0` for none). Only selectors carry them; a
    /// subquery's samples have none, as in Prometheus.
    pub start_times: Vec<i64>,
    /// Native-histogram samples, oldest first, apart from the floats (no
    /// timestamp is in both).
    pub hists: Vec<HistogramSample>,
    /// The histogram samples' start timestamps, as `start_times` for floats.
    pub hist_start_times: Vec<i64>,
}

/// What a node evaluates to.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    /// A string literal.
    Str(String),
    /// An instant vector over the grid.
    Vector(Vec<VSeries>),
    /// A range vector, only as the top-level result of an instant query.
    Matrix(Vec<MSeries>),
}

impl Val {
    /// The PromQL type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
        }
    }
}

/// Prometheus's `labels.String()`: `{a="1", b="2"}` with Go quoting, the
/// metric name as an ordinary label. Used in error messages.
pub(crate) fn labels_to_go_string(l: &Labels) -> String {
    let mut s = String::from("{");
    for (i, lab) in l.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&lab.name);
        s.push('=');
        s.push_str(&go_quote(&lab.value));
    }
    s.push('}');
    s
}

/// Go's `strconv.Quote` for the characters label values contain in practice.
pub(crate) fn go_quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            '\r' => s.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                s.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)` equivalent for label values
/// (`count_values`) and quantile labels: shortest representation that round-trips.
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Rust's Display prints the shortest round-tripping decimal without exponent.
    format!("{f}")
}

/// Go's `%g` formatting of a float, as used in annotation messages.
pub(crate) fn format_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let exp = f.abs().log10().floor() as i32;
    if !(-4..21).contains(&exp) {
        // Go uses exponent form with at least two exponent digits.
        let s = format!("{f:e}");
        if let Some((m, e)) = s.split_once('e') {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            let digits = if digits.len() < 2 {
                format!("0{digits}")
            } else {
                digits.to_string()
            };
            return format!("{m}e{sign}{digits}");
        }
        return s;
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_label_string() {
        let l = Labels::from_pairs([("__name__", "a"), ("b", "x\"y")]).unwrap();
        assert_eq!(labels_to_go_string(&l), r#"{__name__="a", b="x\"y"}"#);
    }

    #[test]
    fn float_formats() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_g(1.1), "1.1");
        assert_eq!(format_g(-1.0), "-1");
        assert_eq!(format_g(1e21), "1e+21");
        assert_eq!(format_g(1e-5), "1e-05");
    }

    #[test]
    fn steps_grid() {
        let s = Steps {
            start: 10,
            step: 5,
            n: 3,
        };
        assert_eq!(s.t(2), 20);
        assert_eq!(s.end(), 20);
    }
}
