//! The evaluator: walks the AST and evaluates every node over a grid of
//! steps (one step for an instant query).

pub(crate) mod stats_decoding;
pub(crate) mod subquery;

use std::time::{SystemTime, UNIX_EPOCH};

use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};
use warden_tsdb::Querier;

use super::annotations::Collector;
use super::limits::Limits;
use super::parse::{Positions, RangeModifier};
use super::selectors::{self, Pick, Windows};
use super::value::{MSeries, Steps, VSeries, Val};
use super::{EngineOptions, PromqlError};

/// The state of one query's evaluation.
pub(crate) struct Evaluator<'a> {
    pub querier: &'a dyn Querier,
    pub opts: &'a EngineOptions,
    pub positions: &'a Positions,
    pub src: &'a str,
    /// Start and end of the query, for `@ start()` / `@ end()`.
    pub query_start: i64,
    pub query_end: i64,
    /// Step of the query in ms (0 for an instant query), for `step()`.
    pub query_step: i64,
    /// Whether the query is a range query (sorting is then ineffective).
    pub is_range: bool,
    pub limits: Limits,
    pub annos: Collector,
    /// Selectors whose histograms are read as Prometheus's stats iterator
    /// reads them (counter reset hints re-derived on the way).
    pub stats_decoding: stats_decoding::StatsDecoding,
}

/// Milliseconds of an `offset` (negative offsets look forward).
pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

impl Evaluator<'_> {
    /// Byte offset where `e` starts in the query.
    pub fn pos(&self, e: &Expr) -> usize {
        self.positions.start(e)
    }

    /// Adds a warning about node `e`.
    pub fn warn(&mut self, e: &Expr, msg: &str) {
        let p = self.pos(e);
        self.annos.warn(self.src, p, msg);
    }

    /// Adds an info about node `e`.
    pub fn info(&mut self, e: &Expr, msg: &str) {
        let p = self.pos(e);
        self.annos.info(self.src, p, msg);
    }

    /// The time an `@` modifier pins evaluation to, if any.
    pub fn at_ms(&self, at: &Option<AtModifier>) -> Option<i64> {
        match at {
            None => None,
            Some(AtModifier::Start) => Some(self.query_start),
            Some(AtModifier::End) => Some(self.query_end),
            Some(AtModifier::At(t)) => Some(system_time_ms(t)),
        }
    }

    /// The effective time of each step for a selector with `at`/`offset`.
    fn effective_times(
        &self,
        steps: &Steps,
        at: &Option<AtModifier>,
        off: &Option<Offset>,
    ) -> Vec<i64> {
        let off = offset_ms(off);
        match self.at_ms(at) {
            Some(t) => vec![t - off; steps.n],
            None => (0..steps.n).map(|i| steps.t(i) - off).collect(),
        }
    }

    /// Evaluates `e` over `steps`.
    pub fn eval(&mut self, e: &Expr, steps: &Steps) -> Result<Val, PromqlError> {
        self.limits.check_time()?;
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; steps.n])),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, steps),
            Expr::Unary(u) => match self.eval(&u.expr, steps)? {
                Val::Scalar(v) => Ok(Val::Scalar(v.into_iter().map(|x| -x).collect())),
                Val::Vector(mut v) => {
                    for s in &mut v {
                        s.drop_name = true;
                        for x in s.vals.iter_mut().flatten() {
                            *x = -*x;
                        }
                        // As Prometheus: the histogram times -1 (a gauge
                        // then), not compacted.
                        for h in s.hists.iter_mut().flatten() {
                            std::sync::Arc::make_mut(h).mul(-1.0);
                        }
                    }
                    Ok(Val::Vector(v))
                }
                other => Err(PromqlError::Execution(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.eval_vector_selector(
                vs,
                steps,
                Pick::Value,
            )?)),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                let w = self.eval_windows(e, steps)?;
                // Only an instant query can return a range vector.
                let mut out = Vec::with_capacity(w.series.len());
                for s in &w.series {
                    let mut samples = Vec::new();
                    w.each(s, |i, win| {
                        if i == 0 {
                            samples.extend_from_slice(win);
                        }
                    });
                    let mut hists = Vec::new();
                    w.each_hist_range(s, |i, r| {
                        if i == 0 {
                            hists.extend_from_slice(&s.hists[r]);
                        }
                    });
                    if !samples.is_empty() || !hists.is_empty() {
                        out.push(super::value::MSeries {
                            labels: s.labels.clone(),
                            drop_name: s.drop_name,
                            samples,
                            start_times: Vec::new(),
                            hists,
                            hist_start_times: Vec::new(),
                        });
                    }
                }
                Ok(Val::Matrix(out))
            }
            Expr::Binary(b) => super::binary::eval_binary(self, b, steps),
            Expr::Aggregate(a) => super::aggregate::eval_aggregate(self, a, steps),
            Expr::Call(c) => super::functions::eval_call(self, e, c, steps),
            Expr::Extension(_) => Err(PromqlError::Execution(
                "extension expressions are not supported".into(),
            )),
        }
    }

    /// Evaluates an instant-vector selector, reporting of each picked
    /// sample what `pick` says (`timestamp()` and `start_timestamp()` want
    /// its times, not its value).
    pub fn eval_vector_selector(
        &mut self,
        vs: &VectorSelector,
        steps: &Steps,
        pick: Pick,
    ) -> Result<Vec<VSeries>, PromqlError> {
        let times = self.effective_times(steps, &vs.at, &vs.offset);
        let (Some(&min), Some(&max)) = (times.iter().min(), times.iter().max()) else {
            return Ok(Vec::new());
        };
        let lookback = self.opts.lookback_delta_ms;
        let smoothed = self.selector_modifier(vs) == Some(RangeModifier::Smoothed);
        let max = if smoothed { max + lookback } else { max };
        // Series are reduced to their values at the steps as they come, so
        // only one series' samples are held at a time. Values are held
        // densely (one slot per step): refuse before holding far more slots
        // than the sample budget allows.
        let budget = self.opts.max_samples.saturating_mul(2);
        let mut slots = 0usize;
        let mut out = Vec::new();
        let limits = &self.limits;
        let reads = (pick == Pick::Value && !smoothed && self.stats_decoding.decodes(vs))
            .then(|| stats_decoding::Reads::instant(&times, lookback));
        selectors::select_each(self.querier, vs, min - lookback + 1, max, |s| {
            let s = match &reads {
                Some(r) => r.apply(s),
                None => s,
            };
            if out.len().is_multiple_of(1024) {
                limits.check_time()?;
            }
            slots = slots.saturating_add(times.len());
            if slots > budget {
                return Err(PromqlError::TooManySamples("query execution".into()));
            }
            let v = if smoothed && !s.histograms.is_empty() {
                let sm = selectors::smoothed_with_histograms(
                    &s.samples,
                    &s.histograms,
                    &times,
                    lookback,
                );
                let at = self.positions.selector_start(vs);
                let metric = s.labels.metric_name().unwrap_or("");
                for note in &sm.notes {
                    let msg = note.message(metric);
                    if note.is_warning() {
                        self.annos.warn(self.src, at, &msg);
                    } else {
                        self.annos.info(self.src, at, &msg);
                    }
                }
                let v = VSeries {
                    labels: s.labels,
                    drop_name: false,
                    vals: sm.vals,
                    hists: sm.hists,
                };
                v.has_any_point().then_some(v)
            } else if smoothed {
                let vals = selectors::smoothed_values(&s.samples, &times, lookback);
                vals.iter().any(Option::is_some).then_some(VSeries {
                    labels: s.labels,
                    drop_name: false,
                    vals,
                    hists: Vec::new(),
                })
            } else {
                selectors::to_vector(s, &times, lookback, pick)
            };
            out.extend(v);
            Ok(())
        })?;
        self.limits.check_time()?;
        let points = out.iter().map(VSeries::point_count).sum();
        self.limits.add(points)?;
        Ok(out)
    }

    /// Evaluates a range-vector expression (matrix selector or subquery,
    /// possibly in parentheses) into per-step windows.
    pub fn eval_windows(&mut self, e: &Expr, steps: &Steps) -> Result<Windows, PromqlError> {
        let mut series = Vec::new();
        let mut w = self.each_window_series(e, steps, &mut |_, s| {
            series.push(s);
            Ok(())
        })?;
        w.series = series;
        Ok(w)
    }

    /// Hands the series of a range-vector expression to `f` one at a time,
    /// with the windows' shape (returned, its `series` empty). A matrix
    /// selector is streamed from the store; a subquery's inner expression
    /// is evaluated whole first. A range function that reduces each series as it
    /// comes then holds one series' samples at a time, not the whole
    /// selection. The sample limit counts, as Prometheus does, the largest
    /// number of samples all windows hold at one step.
    pub fn each_window_series(
        &mut self,
        e: &Expr,
        steps: &Steps,
        f: &mut dyn FnMut(&Windows, MSeries) -> Result<(), PromqlError>,
    ) -> Result<Windows, PromqlError> {
        match e {
            Expr::Paren(p) => self.each_window_series(&p.expr, steps, f),
            Expr::MatrixSelector(ms) => {
                let range = ms.range.as_millis() as i64;
                let ends = self.effective_times(steps, &ms.vs.at, &ms.vs.offset);
                let modifier = self.positions.modifier(e);
                let lookback = self.opts.lookback_delta_ms;
                let mut w = Windows {
                    series: Vec::new(),
                    ends,
                    range,
                    extend: modifier.map(|m| (m, lookback)),
                };
                let (Some(&min), Some(&max)) = (w.ends.iter().min(), w.ends.iter().max()) else {
                    w.extend = None;
                    return Ok(w);
                };
                let (min_t, max_t) = match modifier {
                    None => (min - range + 1, max),
                    Some(RangeModifier::Anchored) => (min - range - lookback + 1, max),
                    Some(RangeModifier::Smoothed) => (min - range - lookback + 1, max + lookback),
                };
                let mut per_step = vec![0usize; w.ends.len()];
                let mut seen = 0usize;
                let limits = &self.limits;
                let reads = self
                    .stats_decoding
                    .decodes(&ms.vs)
                    .then(|| stats_decoding::Reads::windows(&w.ends, range, modifier, lookback));
                selectors::select_each(self.querier, &ms.vs, min_t, max_t, |s| {
                    let s = match &reads {
                        Some(r) => r.apply(s),
                        None => s,
                    };
                    seen += 1;
                    if seen.is_multiple_of(1024) {
                        limits.check_time()?;
                    }
                    let Some(s) = selectors::to_range_series(s) else {
                        return Ok(());
                    };
                    w.each(&s, |i, win| per_step[i] += win.len());
                    w.each_hist_range(&s, |i, r| per_step[i] += r.len());
                    f(&w, s)
                })?;
                self.limits.check_time()?;
                self.account_peak(&per_step)?;
                Ok(w)
            }
            Expr::Subquery(sq) => {
                // The inner expression was evaluated (and counted) whole.
                let mut w = subquery::eval_subquery(self, sq, steps)?;
                for s in std::mem::take(&mut w.series) {
                    f(&w, s)?;
                }
                Ok(w)
            }
            other => Err(PromqlError::Execution(format!(
                "expected a range vector, got {}",
                match other.value_type() {
                    promql_parser::parser::value::ValueType::Vector => "instant vector",
                    promql_parser::parser::value::ValueType::Scalar => "scalar",
                    promql_parser::parser::value::ValueType::String => "string",
                    promql_parser::parser::value::ValueType::Matrix => "range vector",
                }
            ))),
        }
    }

    /// The modifier of an instant selector, found by its node.
    fn selector_modifier(&self, vs: &VectorSelector) -> Option<RangeModifier> {
        self.positions.modifier_of_selector(vs)
    }

    /// Counts the largest number of samples the windows hold at one step.
    fn account_peak(&mut self, per_step: &[usize]) -> Result<(), PromqlError> {
        let peak = per_step.iter().copied().max().unwrap_or(0);
        self.limits.add(peak)?;
        self.limits.release(peak);
        Ok(())
    }
}
