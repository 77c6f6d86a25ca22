//! Histogram stats decoding: the counter reset hints Prometheus's engine
//! gives native histograms that only feed `histogram_count`,
//! `histogram_sum` or `histogram_avg`.
//!
//! Prometheus reads such selectors through a special iterator that decodes
//! only a histogram's count and sum and, on the way, redoes counter reset
//! detection: a sample stored with an `Unknown` hint comes out as
//! `CounterReset` or `NotCounterReset` when the iterator has read the
//! series' previous histogram, and stays `Unknown` when it has not (the
//! first sample read, or the first after the iterator jumped ahead). Other
//! hints pass through. Those explicit hints are what make `sum`, `avg`,
//! `sum_over_time` and `avg_over_time` of such series warn about
//! conflicting counter resets where the ordinary path stays silent.
//!
//! This module decides which selectors get that treatment ([`StatsDecoding`])
//! and re-derives the hints of a selected series the way the iterator
//! would, given the order in which the engine reads it ([`Reads`]). Buckets
//! are kept: every consumer on such a path looks at count and sum only, so
//! the values are the same, and keeping the layout keeps the schema checks
//! Prometheus also keeps.

use std::collections::HashSet;
use std::sync::Arc;

use promql_parser::parser::{Expr, VectorSelector};
use warden_tsdb::histogram::{CounterResetHint, FloatHistogram};
use warden_tsdb::{HistogramSample, Sample, Series, is_stale_nan};

use crate::promql::parse::{Positions, RangeModifier};

/// Functions that need only a histogram's count and sum.
const STATS_FUNCTIONS: [&str; 3] = ["histogram_count", "histogram_sum", "histogram_avg"];

/// Functions that need a histogram's buckets.
const BUCKET_FUNCTIONS: [&str; 3] = [
    "histogram_quantile",
    "histogram_quantiles",
    "histogram_fraction",
];

/// The selectors of one query whose histograms are read as stats, found
/// once per query (Prometheus's `detectHistogramStatsDecoding`) so that
/// evaluating a selector only has to look itself up.
#[derive(Debug, Default)]
pub(crate) struct StatsDecoding {
    /// Addresses of the `VectorSelector` structs (inner ones for matrix
    /// selectors) that are stats-decoded; nodes are identified by address
    /// as in [`Positions`].
    selectors: HashSet<usize>,
}

impl StatsDecoding {
    /// Finds the stats-decoded selectors of `expr`: those with a
    /// `histogram_count`/`histogram_sum`/`histogram_avg` call somewhere
    /// above them and no subquery (counter reset detection there needs the
    /// buckets), bucket-using histogram function or trim operator anywhere
    /// above them. Anything else in between (aggregations, range
    /// functions, arithmetic) does not matter.
    pub fn detect(expr: &Expr, positions: &Positions) -> StatsDecoding {
        let mut found = StatsDecoding::default();
        found.walk(expr, positions, false);
        found
    }

    /// Whether selector `vs` (an instant selector, or the inner selector of
    /// a matrix selector) is stats-decoded.
    pub fn decodes(&self, vs: &VectorSelector) -> bool {
        !self.selectors.is_empty() && self.selectors.contains(&key(vs))
    }

    /// Records the selectors under `e`; `stats` tells whether a stats
    /// function is above `e` (a veto above stops the walk, as nothing
    /// below it can be decoded).
    fn walk(&mut self, e: &Expr, positions: &Positions, stats: bool) {
        match e {
            Expr::VectorSelector(vs) => self.record(vs, stats),
            Expr::MatrixSelector(ms) => self.record(&ms.vs, stats),
            Expr::Subquery(_)
            | Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::Extension(_) => {}
            Expr::Paren(p) => self.walk(&p.expr, positions, stats),
            Expr::Unary(u) => self.walk(&u.expr, positions, stats),
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    self.walk(p, positions, stats);
                }
                self.walk(&a.expr, positions, stats);
            }
            Expr::Binary(b) => {
                if positions.trim(b).is_none() {
                    self.walk(&b.lhs, positions, stats);
                    self.walk(&b.rhs, positions, stats);
                }
            }
            Expr::Call(c) => {
                let name = c.func.name;
                if BUCKET_FUNCTIONS.contains(&name) {
                    return;
                }
                let stats = stats || STATS_FUNCTIONS.contains(&name);
                for a in &c.args.args {
                    self.walk(a, positions, stats);
                }
            }
        }
    }

    /// Notes selector `vs` when a stats function is above it.
    fn record(&mut self, vs: &VectorSelector, stats: bool) {
        if stats {
            self.selectors.insert(key(vs));
        }
    }
}

/// The identity of a selector node: its address.
fn key(vs: &VectorSelector) -> usize {
    vs as *const VectorSelector as usize
}

/// How the engine reads one selector's series, step after step: where each
/// step's read ends and how far back it reaches. The stats iterator only
/// remembers the previous histogram while it reads on sample by sample; a
/// step that reaches past everything read so far makes it jump, and the
/// sample it lands on has no predecessor. Which samples start over
/// therefore depends on the steps, not only on the data.
#[derive(Debug, Clone)]
pub(crate) struct Reads {
    /// Time each step reads up to (Prometheus's `Seek` target), non-decreasing.
    targets: Vec<i64>,
    /// How far before its target the first step reaches.
    reach: i64,
    /// Whether later steps reach back only one step (a range function's
    /// buffer shrinks to the step after the first one) when that is less.
    shrinks: bool,
}

impl Reads {
    /// An instant selector evaluated at `times`: each step reaches back the
    /// lookback delta.
    pub fn instant(times: &[i64], lookback: i64) -> Reads {
        Reads {
            targets: times.to_vec(),
            reach: lookback,
            shrinks: false,
        }
    }

    /// A matrix selector's windows ending at `ends`: each reaches back the
    /// range (widened by the lookback delta as `modifier` says; `smoothed`
    /// also reads a lookback delta past the end).
    pub fn windows(
        ends: &[i64],
        range: i64,
        modifier: Option<RangeModifier>,
        lookback: i64,
    ) -> Reads {
        let (reach, ahead) = match modifier {
            None => (range, 0),
            Some(RangeModifier::Anchored) => (range + lookback, 0),
            Some(RangeModifier::Smoothed) => (range + 2 * lookback, lookback),
        };
        Reads {
            targets: ends.iter().map(|&e| e + ahead).collect(),
            reach,
            shrinks: true,
        }
    }

    /// Series `s` with the counter reset hints its histograms get when read
    /// as stats in this order. Float-only series come back untouched.
    pub fn apply(&self, mut s: Series) -> Series {
        if !s.histograms.is_empty() {
            let starts = self.jumps(&s.samples, &s.histograms);
            rehint(&mut s.histograms, &starts);
        }
        s
    }

    /// The times the iterator jumps to, oldest first: the first step's
    /// reach, then every later step whose reach lies beyond the sample the
    /// previous step stopped at (the first at or after its target). A read
    /// after a jump starts at the first sample at or after the jump time.
    fn jumps(&self, floats: &[Sample], hists: &[HistogramSample]) -> Vec<i64> {
        let Some(&first) = self.targets.first() else {
            return Vec::new();
        };
        let mut starts = vec![first - self.reach];
        let (mut j, mut k) = (0usize, 0usize);
        for pair in self.targets.windows(2) {
            let (prev, t) = (pair[0], pair[1]);
            while j < floats.len() && floats[j].t < prev {
                j += 1;
            }
            while k < hists.len() && hists[k].t < prev {
                k += 1;
            }
            let stopped_at = match (floats.get(j), hists.get(k)) {
                (Some(f), Some(h)) => f.t.min(h.t),
                (Some(f), None) => f.t,
                (None, Some(h)) => h.t,
                // Nothing left to read: no later step reads anything.
                (None, None) => break,
            };
            let reach = if self.shrinks {
                self.reach.min(t - prev)
            } else {
                self.reach
            };
            if t - reach > stopped_at {
                starts.push(t - reach);
            }
        }
        starts
    }
}

/// Applies the stats iterator's hints to `hists`, read in runs starting
/// at the times `starts` (ascending): a histogram stored as `Unknown`
/// whose previous histogram was read in the same run becomes
/// `CounterReset` or `NotCounterReset` by comparing the two; everything
/// else keeps its hint. Only changed samples are copied.
fn rehint(hists: &mut [HistogramSample], starts: &[i64]) {
    let mut run = 0usize;
    // The previous histogram read, with the run it was read in.
    let mut prev: Option<(usize, Arc<FloatHistogram>)> = None;
    for s in hists.iter_mut() {
        while run < starts.len() && starts[run] <= s.t {
            run += 1;
        }
        if is_stale_nan(s.h.sum) {
            continue;
        }
        let current = s.h.clone();
        if current.counter_reset_hint == CounterResetHint::Unknown
            && let Some((prev_run, p)) = &prev
            && *prev_run == run
            && run > 0
        {
            let mut h = FloatHistogram::clone(&current);
            h.counter_reset_hint = if current.detect_reset(p) {
                CounterResetHint::CounterReset
            } else {
                CounterResetHint::NotCounterReset
            };
            s.h = Arc::new(h);
        }
        prev = Some((run, current));
    }
}

#[cfg(test)]
mod tests {
    /// Runs `script`; every case must pass.
    fn check(script: &str) {
        crate::promql::testutil::assert_script_passes("stats_decoding.test", script);
    }

    /// `a` resets at 2m (stored `Unknown`, detected `CounterReset`), `b`
    /// keeps counting (stored `NotCounterReset`).
    const RESET: &str = r#"
load 1m
  m{s="a"} {{schema:0 sum:1 count:3 buckets:[3]}} {{schema:0 sum:1 count:4 buckets:[4]}} {{schema:0 sum:1 count:1 buckets:[1]}}
  m{s="b"} {{schema:0 sum:1 count:1 buckets:[1]}} {{schema:0 sum:1 count:2 buckets:[2]}} {{schema:0 sum:1 count:3 buckets:[3]}}
"#;

    #[test]
    fn stats_functions_above_aggregations_see_detected_resets() {
        check(&format!(
            r#"{RESET}
eval instant at 2m histogram_count(sum(m))
  expect warn msg: PromQL warning: conflicting counter resets during histogram aggregation (1:21)
  {{}} 4

eval instant at 2m histogram_sum(avg(m))
  expect warn msg: PromQL warning: conflicting counter resets during histogram aggregation (1:19)
  {{}} 1

eval instant at 2m histogram_count(sum_over_time(m{{s="a"}}[2m]))
  expect warn msg: PromQL warning: conflicting counter resets during histogram aggregation (1:31)
  {{s="a"}} 5
"#
        ));
    }

    #[test]
    fn other_paths_keep_the_stored_hints() {
        check(&format!(
            r#"{RESET}
eval instant at 2m sum(m)
  expect no_warn
  {{}} {{{{schema:0 sum:2 count:4 counter_reset_hint:unknown buckets:[4]}}}}

eval instant at 2m histogram_count(sum(last_over_time(m[1m:1m])))
  expect no_warn
  {{}} 4

eval instant at 2m histogram_fraction(0, scalar(histogram_count(sum(m))), sum(m))
  expect no_warn
  {{}} 1
"#
        ));
    }

    /// `a`'s reset at 6m has its previous sample outside the lookback delta.
    const FAR: &str = r#"
load 6m
  g{s="a"} {{schema:0 sum:1 count:3 buckets:[3]}} {{schema:0 sum:1 count:1 buckets:[1]}}
  g{s="b"} {{schema:0 sum:1 count:1 buckets:[1]}} {{schema:0 sum:1 count:2 buckets:[2]}}
"#;

    /// The iterator compares a sample only with a previous one it has read
    /// on its way: an instant query at 6m, or a range query whose steps
    /// jump past the lookback delta, reads the reset first and leaves it
    /// unknown; steps close enough to read on from 0 detect it.
    #[test]
    fn only_samples_read_in_one_run_are_compared() {
        check(&format!(
            r#"{FAR}
eval instant at 6m histogram_count(sum(g))
  expect no_warn
  {{}} 3

eval range from 0 to 6m step 6m histogram_count(sum(g))
  expect no_warn
  {{}} 4 3

eval range from 0 to 6m step 3m histogram_count(sum(g))
  expect warn msg: PromQL warning: conflicting counter resets during histogram aggregation (1:21)
  {{}} 4 4 3
"#
        ));
    }
}
