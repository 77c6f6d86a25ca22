//! Reading series: instant-vector selectors with lookback and staleness,
//! and range windows `(end - range, end]` for range functions.
//!
//! Each selector is read from the store once for the whole query range;
//! steps then walk the in-memory samples with monotone cursors.

use std::collections::HashSet;
use std::ops::ControlFlow;

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::VectorSelector;
use std::sync::Arc;

use warden_tsdb::histogram::{CounterResetHint, FloatHistogram, HistogramError};
use warden_tsdb::{
    HistogramSample, Labels, MatchOp, Matcher, Querier, Sample, Series, is_stale_nan,
};

use super::PromqlError;
use super::functions::hist_range::Note;
use super::parse::RangeModifier;
use super::value::{MSeries, VSeries};

/// The matcher sets of a selector: one per `or` alternative.
pub(crate) fn matcher_sets(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, PromqlError> {
    let mut alternatives: Vec<Vec<&promql_parser::label::Matcher>> = Vec::new();
    if vs.matchers.or_matchers.is_empty() {
        alternatives.push(vs.matchers.matchers.iter().collect());
    } else {
        for alt in &vs.matchers.or_matchers {
            let mut a: Vec<_> = alt.iter().collect();
            a.extend(vs.matchers.matchers.iter());
            alternatives.push(a);
        }
    }
    let mut out = Vec::with_capacity(alternatives.len());
    for alt in alternatives {
        let mut ms = Vec::with_capacity(alt.len() + 1);
        if let Some(n) = &vs.name {
            ms.push(Matcher::equal("__name__", n.clone()));
        }
        for m in alt {
            let op = match m.op {
                PMatchOp::Equal => MatchOp::Equal,
                PMatchOp::NotEqual => MatchOp::NotEqual,
                PMatchOp::Re(_) => MatchOp::Regex,
                PMatchOp::NotRe(_) => MatchOp::NotRegex,
            };
            let matcher = Matcher::new(op, m.name.clone(), m.value.clone())
                .map_err(|e| PromqlError::BadData(e.to_string()))?;
            ms.push(matcher);
        }
        out.push(ms);
    }
    Ok(out)
}

/// Every series matching `vs` with samples in `[min_t, max_t]`, sorted by labels.
pub(crate) fn select(
    querier: &dyn Querier,
    vs: &VectorSelector,
    min_t: i64,
    max_t: i64,
) -> Result<Vec<Series>, PromqlError> {
    let sets = matcher_sets(vs)?;
    if sets.len() == 1 {
        return querier
            .select(&sets[0], min_t, max_t)
            .map_err(|e| PromqlError::Storage(e.to_string()));
    }
    let mut seen: HashSet<Labels> = HashSet::new();
    let mut all = Vec::new();
    for set in &sets {
        for s in querier
            .select(set, min_t, max_t)
            .map_err(|e| PromqlError::Storage(e.to_string()))?
        {
            if seen.insert(s.labels.clone()) {
                all.push(s);
            }
        }
    }
    all.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(all)
}

/// What an instant-vector selector reports of the sample it picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// The value (an ordinary selector).
    Value,
    /// The timestamp in seconds (`timestamp()`).
    Time,
    /// The start timestamp in seconds (`start_timestamp()`); a series whose
    /// store gave no start timestamps has no points.
    StartTime,
}

/// Hands every series matching `vs` with samples in `[min_t, max_t]` to
/// `f`, one at a time in label order, so that callers reducing each series
/// as it comes never hold all selected samples. `f` may fail; the first
/// error stops the selection and is returned.
pub(crate) fn select_each(
    querier: &dyn Querier,
    vs: &VectorSelector,
    min_t: i64,
    max_t: i64,
    mut f: impl FnMut(Series) -> Result<(), PromqlError>,
) -> Result<(), PromqlError> {
    let sets = matcher_sets(vs)?;
    if sets.len() > 1 {
        // `or` alternatives must be merged and sorted: select them whole.
        for s in select(querier, vs, min_t, max_t)? {
            f(s)?;
        }
        return Ok(());
    }
    let mut failed = None;
    querier
        .select_each(&sets[0], min_t, max_t, &mut |s| match f(s) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        })
        .map_err(|e| PromqlError::Storage(e.to_string()))?;
    failed.map_or(Ok(()), Err)
}

/// Values of one series at each of `times` (non-decreasing): the newest
/// sample in `(t - lookback, t]` unless it is a staleness marker, reported
/// as `pick` says. `start_times` is empty or one per sample.
pub(crate) fn lookback_values(
    samples: &[Sample],
    start_times: &[i64],
    times: &[i64],
    lookback: i64,
    pick: Pick,
) -> Vec<Option<f64>> {
    if pick == Pick::StartTime && start_times.len() != samples.len() {
        return vec![None; times.len()];
    }
    let mut out = Vec::with_capacity(times.len());
    let mut j = 0usize;
    for &t in times {
        while j < samples.len() && samples[j].t <= t {
            j += 1;
        }
        let v = if j == 0 {
            None
        } else {
            let s = samples[j - 1];
            if s.t > t - lookback && !is_stale_nan(s.v) {
                Some(match pick {
                    Pick::Value => s.v,
                    Pick::Time => s.t as f64 / 1000.0,
                    Pick::StartTime => start_times[j - 1] as f64 / 1000.0,
                })
            } else {
                None
            }
        };
        out.push(v);
    }
    out
}

/// Values of one series at each of `times` for a `smoothed` selector: the
/// linear interpolation between the newest sample at or before `t` and the
/// oldest after it (each within the lookback delta), or the sample itself.
pub(crate) fn smoothed_values(
    samples: &[Sample],
    times: &[i64],
    lookback: i64,
) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(times.len());
    let mut j = 0usize;
    for &t in times {
        while j < samples.len() && samples[j].t <= t {
            j += 1;
        }
        let before = j
            .checked_sub(1)
            .map(|k| samples[k])
            .filter(|s| s.t > t - lookback);
        let after = samples
            .get(j)
            .copied()
            .filter(|s| s.t < t + lookback && !is_stale_nan(s.v));
        let v = match (before, after) {
            (Some(b), _) if is_stale_nan(b.v) => None,
            (Some(b), _) if b.t == t => Some(b.v),
            (Some(b), Some(a)) => Some(b.v + (a.v - b.v) * (t - b.t) as f64 / (a.t - b.t) as f64),
            (Some(b), None) => Some(b.v),
            (None, _) => None,
        };
        out.push(v);
    }
    out
}

/// What a `smoothed` selector makes of one series that holds histograms:
/// its floats and histograms at each step, and the annotations raised.
#[derive(Debug, Default)]
pub(crate) struct SmoothedSeries {
    /// One slot per step; `None` where the step has a histogram or nothing.
    pub vals: Vec<Option<f64>>,
    /// One slot per step, or empty when no step has a histogram.
    pub hists: Vec<Option<Arc<FloatHistogram>>>,
    /// What Prometheus would annotate about the series, each once.
    pub notes: Vec<Note>,
}

/// Values of one series holding histograms at each of `times` for a
/// `smoothed` selector, as Prometheus's smoothing does it: each step looks
/// at the samples in `(t - lookback, t + lookback]` (staleness markers are
/// not samples there). Floats alone are smoothed as [`smoothed_values`]
/// does; histograms alone are taken at `t`, interpolated between the
/// histograms around it, or carried forward from the last one; a window
/// holding both kinds gives nothing and a warning.
pub(crate) fn smoothed_with_histograms(
    floats: &[Sample],
    hists: &[HistogramSample],
    times: &[i64],
    lookback: i64,
) -> SmoothedSeries {
    let mut out = SmoothedSeries {
        vals: smoothed_values(floats, times, lookback),
        hists: Vec::with_capacity(times.len()),
        notes: Vec::new(),
    };
    let live: Vec<i64> = floats
        .iter()
        .filter(|s| !is_stale_nan(s.v))
        .map(|s| s.t)
        .collect();
    for (i, &t) in times.iter().enumerate() {
        let window = in_window(hists, |h| h.t, t, lookback);
        if window.is_empty() {
            out.hists.push(None);
            continue;
        }
        out.vals[i] = None;
        if !in_window(&live, |&ft| ft, t, lookback).is_empty() {
            add_note(&mut out.notes, Note::MixedFloatsHistograms);
            out.hists.push(None);
            continue;
        }
        out.hists
            .push(smoothed_histogram(window, t, &mut out.notes));
    }
    if out.hists.iter().all(Option::is_none) {
        out.hists.clear();
    }
    out
}

/// The samples (oldest first, timestamps `t(x)`) in `(t - lookback, t +
/// lookback]`: the window a smoothed step reads.
fn in_window<T>(xs: &[T], ts: impl Fn(&T) -> i64, t: i64, lookback: i64) -> &[T] {
    let lo = xs.partition_point(|x| ts(x) <= t - lookback);
    let hi = xs.partition_point(|x| ts(x) <= t + lookback);
    xs.get(lo..hi).unwrap_or(&[])
}

/// Records `n` unless it already is: annotations are reported once.
fn add_note(notes: &mut Vec<Note>, n: Note) {
    if !notes.contains(&n) {
        notes.push(n);
    }
}

/// The histogram at `t` from a window of histograms only: the sample at
/// `t` itself, the interpolation between the samples around `t`, or,
/// after the last sample, that sample with its reset hint dropped (the hint
/// relates it to its predecessor, which the step's value no longer has).
/// Nothing before the first sample.
fn smoothed_histogram(
    window: &[HistogramSample],
    t: i64,
    notes: &mut Vec<Note>,
) -> Option<Arc<FloatHistogram>> {
    let i = window.partition_point(|h| h.t < t);
    let prev = i.checked_sub(1).and_then(|k| window.get(k));
    match (prev, window.get(i)) {
        (_, Some(next)) if next.t == t => Some(next.h.clone()),
        (Some(prev), Some(next)) => interpolate_pair(prev, next, t, notes).map(Arc::new),
        (Some(prev), None) => Some(carried(&prev.h)),
        (None, _) => None,
    }
}

/// `h` carried forward to a later step, without a reset hint.
fn carried(h: &Arc<FloatHistogram>) -> Arc<FloatHistogram> {
    if h.counter_reset_hint == CounterResetHint::Unknown {
        return h.clone();
    }
    let mut c = (**h).clone();
    c.counter_reset_hint = CounterResetHint::Unknown;
    Arc::new(c)
}

/// The value at `t` strictly between `prev` and `next`. Exponential and
/// custom-bucket histograms cannot be interpolated (a warning, no value);
/// the pair is a counter unless both samples are gauges.
fn interpolate_pair(
    prev: &HistogramSample,
    next: &HistogramSample,
    t: i64,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    if prev.h.uses_custom_buckets() != next.h.uses_custom_buckets() {
        add_note(notes, Note::MixedExponentialCustom);
        return None;
    }
    let gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
    let is_counter = !(gauge(&prev.h) && gauge(&next.h));
    match interpolate_histograms(prev, next, t, is_counter, notes) {
        Ok(h) => Some(h),
        Err(HistogramError::IncompatibleSchema) => {
            add_note(notes, Note::MixedExponentialCustom);
            None
        }
        Err(_) => None,
    }
}

/// Linear interpolation `a + (b - a) * fraction` at `t` (`a.t < t < b.t`);
/// a counter that reset between the two is modelled as restarting from
/// zero, giving `b * fraction`. Reconciled custom bounds are noted.
fn interpolate_histograms(
    a: &HistogramSample,
    b: &HistogramSample,
    t: i64,
    is_counter: bool,
    notes: &mut Vec<Note>,
) -> Result<FloatHistogram, HistogramError> {
    let fraction = (t - a.t) as f64 / (b.t - a.t) as f64;
    let mut r = (*b.h).clone();
    if is_counter && b.h.detect_reset(&a.h) {
        r.mul(fraction);
        return Ok(r);
    }
    if r.sub(&a.h)?.nhcb_bounds_reconciled {
        add_note(notes, Note::Reconciled("subtraction"));
    }
    r.mul(fraction);
    if r.add(&a.h)?.nhcb_bounds_reconciled {
        add_note(notes, Note::Reconciled("addition"));
    }
    Ok(r)
}

/// The histograms of one series at each of `times` (non-decreasing): where
/// the newest sample in `(t - lookback, t]`, float or histogram, is a
/// histogram, that histogram; `vals` (from [`lookback_values`] over the
/// floats) is cleared at those steps, since a float older than the
/// histogram is not the series' value there. With `Pick::Time` the
/// histogram's timestamp goes into `vals` instead, with `Pick::StartTime`
/// its start timestamp (from `hist_start_times`, empty or one per
/// histogram).
fn lookback_histograms(
    floats: &[Sample],
    hists: &[HistogramSample],
    hist_start_times: &[i64],
    times: &[i64],
    lookback: i64,
    pick: Pick,
    vals: &mut [Option<f64>],
) -> Vec<Option<Arc<FloatHistogram>>> {
    let mut out = Vec::with_capacity(times.len());
    let (mut j, mut k) = (0usize, 0usize);
    for (i, &t) in times.iter().enumerate() {
        while j < floats.len() && floats[j].t <= t {
            j += 1;
        }
        while k < hists.len() && hists[k].t <= t {
            k += 1;
        }
        let newest_float = j.checked_sub(1).map_or(i64::MIN, |j| floats[j].t);
        let h = k
            .checked_sub(1)
            .map(|k| &hists[k])
            .filter(|h| h.t > t - lookback && h.t > newest_float);
        match (h, pick) {
            (Some(h), Pick::Time) => {
                vals[i] = Some(h.t as f64 / 1000.0);
                out.push(None);
            }
            (Some(h), Pick::Value) => {
                vals[i] = None;
                out.push(Some(h.h.clone()));
            }
            (Some(_), Pick::StartTime) => {
                vals[i] = (hist_start_times.len() == hists.len())
                    .then(|| hist_start_times[k - 1] as f64 / 1000.0);
                out.push(None);
            }
            (None, _) => out.push(None),
        }
    }
    out
}

/// One selected series as a grid vector series; `None` when it has no point.
pub(crate) fn to_vector(s: Series, times: &[i64], lookback: i64, pick: Pick) -> Option<VSeries> {
    let mut vals = lookback_values(&s.samples, &s.start_times, times, lookback, pick);
    let mut hists = Vec::new();
    if !s.histograms.is_empty() {
        hists = lookback_histograms(
            &s.samples,
            &s.histograms,
            &s.histogram_start_times,
            times,
            lookback,
            pick,
            &mut vals,
        );
        if hists.iter().all(Option::is_none) {
            hists.clear();
        }
    }
    let v = VSeries {
        labels: s.labels,
        drop_name: false,
        vals,
        hists,
    };
    v.has_any_point().then_some(v)
}

/// Range windows: the raw series plus the end of the window at each step.
#[derive(Debug, Clone)]
pub(crate) struct Windows {
    pub series: Vec<MSeries>,
    /// Window end at each step (`step time or @ time - offset`).
    pub ends: Vec<i64>,
    /// Window length in milliseconds; a window is `(end - range, end]`.
    pub range: i64,
    /// `anchored`/`smoothed`: windows also hold the newest sample at or
    /// before the start (and, smoothed, the oldest after the end) within
    /// `lookback`.
    pub extend: Option<(RangeModifier, i64)>,
}

impl Windows {
    /// Calls `f(step, window)` for every step of series `s`, empty windows included.
    pub fn each(&self, s: &MSeries, mut f: impl FnMut(usize, &[Sample])) {
        self.each_range(s, |i, r| f(i, &s.samples[r]));
    }

    /// Like [`each`](Self::each), with the window as an index range into
    /// `s.samples` (and `s.start_times`, when the series has them).
    pub fn each_range(&self, s: &MSeries, f: impl FnMut(usize, std::ops::Range<usize>)) {
        self.ranges(s.samples.len(), |k| s.samples[k].t, f);
    }

    /// Like [`each_range`](Self::each_range) over the series' histogram
    /// samples (`s.hists`).
    pub fn each_hist_range(&self, s: &MSeries, f: impl FnMut(usize, std::ops::Range<usize>)) {
        self.ranges(s.hists.len(), |k| s.hists[k].t, f);
    }

    /// The window of every step over `len` samples whose timestamps `t(k)`
    /// give, oldest first.
    fn ranges(
        &self,
        len: usize,
        t: impl Fn(usize) -> i64,
        mut f: impl FnMut(usize, std::ops::Range<usize>),
    ) {
        let (mut lo, mut hi) = (0usize, 0usize);
        for (i, &end) in self.ends.iter().enumerate() {
            let start = end - self.range;
            while hi < len && t(hi) <= end {
                hi += 1;
            }
            while lo < hi && t(lo) <= start {
                lo += 1;
            }
            let (mut a, mut b) = (lo.min(hi), hi);
            if let Some((m, lookback)) = self.extend {
                if a > 0 && t(a - 1) > start - lookback {
                    a -= 1;
                }
                if m == RangeModifier::Smoothed && b < len && t(b) < end + lookback {
                    b += 1;
                }
            }
            f(i, a..b);
        }
    }
}

/// One selected series as range-vector samples: staleness markers are
/// dropped; `None` when nothing is left.
pub(crate) fn to_range_series(mut s: Series) -> Option<MSeries> {
    if s.start_times.len() == s.samples.len() {
        let mut keep = s.samples.iter().map(|x| !is_stale_nan(x.v));
        s.start_times.retain(|_| keep.next().unwrap_or(false));
    } else {
        s.start_times.clear();
    }
    s.samples.retain(|x| !is_stale_nan(x.v));
    if s.histogram_start_times.len() != s.histograms.len() {
        s.histogram_start_times.clear();
    }
    (!s.samples.is_empty() || !s.histograms.is_empty()).then_some(MSeries {
        labels: s.labels,
        drop_name: false,
        samples: s.samples,
        start_times: s.start_times,
        hists: s.histograms,
        hist_start_times: s.histogram_start_times,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_tsdb::STALE_NAN;

    fn s(t: i64, v: f64) -> Sample {
        Sample { t, v }
    }

    #[test]
    fn lookback_is_left_open_and_stops_at_staleness() {
        let samples = [s(0, 1.0), s(10, 2.0), s(20, STALE_NAN), s(30, 3.0)];
        let v = lookback_values(
            &samples,
            &[],
            &[0, 15, 20, 25, 30, 330, 331],
            300,
            Pick::Value,
        );
        assert_eq!(v, [Some(1.0), Some(2.0), None, None, Some(3.0), None, None]);
        let st = lookback_values(&samples, &[0, 5000, 0, 0], &[15, 30], 300, Pick::StartTime);
        assert_eq!(st, [Some(5.0), Some(0.0)]);
        let none = lookback_values(&samples, &[], &[15], 300, Pick::StartTime);
        assert_eq!(none, [None]);
    }

    /// An exponential (schema 0) histogram of `count` observations in one
    /// bucket, or a custom-bucket one when `custom`.
    fn hist(t: i64, count: f64, hint: CounterResetHint, custom: bool) -> HistogramSample {
        let h = FloatHistogram {
            counter_reset_hint: hint,
            schema: if custom { -53 } else { 0 },
            count,
            sum: count,
            positive_spans: vec![warden_tsdb::histogram::Span {
                offset: 0,
                length: 1,
            }],
            positive_buckets: vec![count],
            custom_values: if custom { vec![5.0, 10.0] } else { Vec::new() },
            ..FloatHistogram::default()
        };
        HistogramSample { t, h: Arc::new(h) }
    }

    fn counts(sm: &SmoothedSeries) -> Vec<Option<f64>> {
        sm.hists
            .iter()
            .map(|h| h.as_ref().map(|h| h.count))
            .collect()
    }

    #[test]
    fn smoothed_histograms_interpolate_hit_and_carry_forward() {
        let u = CounterResetHint::Unknown;
        let hs = [
            hist(0, 1.0, u, false),
            hist(15, 2.0, CounterResetHint::NotCounterReset, false),
        ];
        let sm = smoothed_with_histograms(&[], &hs, &[-5, 0, 6, 15, 20, 400], 300);
        assert_eq!(
            counts(&sm),
            [None, Some(1.0), Some(1.4), Some(2.0), Some(2.0), None]
        );
        assert_eq!(sm.vals, [None; 6]);
        assert!(sm.notes.is_empty());
        let hit = sm.hists[3].as_ref().map(|h| h.counter_reset_hint);
        assert_eq!(hit, Some(CounterResetHint::NotCounterReset));
        let carried = sm.hists[4].as_ref().map(|h| h.counter_reset_hint);
        assert_eq!(carried, Some(CounterResetHint::Unknown));
    }

    #[test]
    fn smoothed_histogram_counter_restarts_from_zero_unless_both_are_gauges() {
        let reset = [
            hist(0, 10.0, CounterResetHint::Unknown, false),
            hist(10, 4.0, CounterResetHint::Unknown, false),
        ];
        let sm = smoothed_with_histograms(&[], &reset, &[5], 300);
        assert_eq!(counts(&sm), [Some(2.0)]);
        let g = CounterResetHint::Gauge;
        let gauges = [hist(0, 10.0, g, false), hist(10, 4.0, g, false)];
        let sm = smoothed_with_histograms(&[], &gauges, &[5], 300);
        assert_eq!(counts(&sm), [Some(7.0)]);
    }

    #[test]
    fn smoothed_histograms_refuse_mixed_schemas_and_kinds() {
        let u = CounterResetHint::Unknown;
        let mixed = [hist(0, 1.0, u, true), hist(30, 2.0, u, false)];
        let sm = smoothed_with_histograms(&[], &mixed, &[15, 15, 30], 300);
        assert_eq!(counts(&sm), [None, None, Some(2.0)]);
        assert_eq!(sm.notes, [Note::MixedExponentialCustom]);

        let floats = [s(0, 1.0), s(30, 2.0)];
        let hs = [hist(60, 3.0, u, false)];
        let sm = smoothed_with_histograms(&floats, &hs, &[0, 45, 1000], 30);
        assert_eq!(sm.vals, [Some(1.0), None, None]);
        assert!(sm.hists.is_empty());
        assert_eq!(sm.notes, [Note::MixedFloatsHistograms]);
    }

    #[test]
    fn smoothed_histograms_ignore_staleness_markers_in_the_window() {
        let u = CounterResetHint::Unknown;
        let floats = [s(20, STALE_NAN)];
        let hs = [hist(0, 1.0, u, false), hist(10, 2.0, u, false)];
        let sm = smoothed_with_histograms(&floats, &hs, &[30], 300);
        assert_eq!(counts(&sm), [Some(2.0)]);
        assert_eq!(sm.vals, [None]);
        assert!(sm.notes.is_empty());
    }

    #[test]
    fn windows_are_left_open() {
        let w = Windows {
            series: vec![],
            ends: vec![10, 20, 30],
            range: 10,
            extend: None,
        };
        let m = MSeries {
            labels: Labels::empty(),
            drop_name: false,
            samples: vec![s(0, 0.0), s(10, 1.0), s(20, 2.0), s(25, 2.5)],
            start_times: Vec::new(),
            hists: Vec::new(),
            hist_start_times: Vec::new(),
        };
        let mut got = Vec::new();
        w.each(&m, |i, win| {
            got.push((i, win.iter().map(|x| x.t).collect::<Vec<_>>()))
        });
        assert_eq!(got, [(0, vec![10]), (1, vec![20]), (2, vec![25])]);
    }
}
