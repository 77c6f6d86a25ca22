//! Range functions over windows that hold native histograms.
//!
//! Float-only windows never come here: the float code path stays as it was.
//! A window reaches this module when it holds at least one histogram sample,
//! possibly next to float samples of the same series (a series can switch
//! between the two). What each function then does follows Prometheus's
//! `promql/functions.go`: rates subtract histograms with counter reset
//! detection, the `*_over_time` aggregations add them with Kahan
//! compensation, functions that only make sense for floats ignore the
//! histograms (with an info) and most functions refuse a window that mixes
//! the two kinds (with a warning).

use std::sync::Arc;

use warden_tsdb::histogram::{CounterResetHint, FloatHistogram, HintsSeen, HistogramError};
use warden_tsdb::{HistogramSample, Sample};

use super::rate::{Extrapolation, is_start_time_reset};
use crate::promql::value::go_quote;

/// An annotation raised while reducing one window, rendered by the caller at
/// the function's first argument (where Prometheus positions them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Note {
    /// A window mixing floats and histograms where the function needs one kind.
    MixedFloatsHistograms,
    /// A counter function (rate, increase, irate) met a gauge histogram.
    NotCounter,
    /// A gauge function (delta, idelta) met a counter histogram.
    NotGauge,
    /// Exponential and custom-bucket histograms in one computation.
    MixedExponentialCustom,
    /// Histograms ignored by a float-only function in a mixed window.
    IgnoredInMixedRange,
    /// Custom bounds were reconciled during the named operation.
    Reconciled(&'static str),
    /// Counter reset hints collided during the named operation.
    CounterResetCollision(&'static str),
}

impl Note {
    /// Whether Prometheus reports this as a warning (otherwise an info).
    pub(crate) fn is_warning(self) -> bool {
        !matches!(self, Note::IgnoredInMixedRange | Note::Reconciled(_))
    }

    /// Prometheus's text for the note about the series named `metric`.
    pub(crate) fn message(self, metric: &str) -> String {
        let q = go_quote(metric);
        match self {
            Note::MixedFloatsHistograms => {
                format!("encountered a mix of histograms and floats for metric name {q}")
            }
            Note::NotCounter => format!("this native histogram metric is not a counter: {q}"),
            Note::NotGauge => format!("this native histogram metric is not a gauge: {q}"),
            Note::MixedExponentialCustom => format!(
                "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {q}"
            ),
            Note::IgnoredInMixedRange => format!(
                "ignored histograms in a range containing both floats and histograms for metric name {q}"
            ),
            Note::Reconciled(op) => {
                format!("mismatched custom buckets were reconciled during {op}")
            }
            Note::CounterResetCollision(op) => {
                format!("conflicting counter resets during histogram {op}")
            }
        }
    }
}

/// The value one window reduces to.
#[derive(Debug, Clone)]
pub(crate) enum Point {
    /// A float result.
    F(f64),
    /// A histogram result.
    H(Arc<FloatHistogram>),
}

/// One step's window of a series that has histograms: its floats and its
/// histograms, each oldest first, plus the window's bounds.
pub(crate) struct Window<'a> {
    pub floats: &'a [Sample],
    pub hists: &'a [HistogramSample],
    /// Window start (exclusive) and end in ms.
    pub start: i64,
    pub end: i64,
    /// The selector range in seconds.
    pub range_s: f64,
}

/// The start timestamps of one window's samples (ms, `0` for none): for
/// each kind, empty or one per sample of that kind in the window. Kept
/// apart from [`Window`] because most series have none: the functions
/// then see empty lists and behave as without start timestamps.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StartTimes<'a> {
    /// Start times of the window's float samples.
    pub floats: &'a [i64],
    /// Start times of the window's histogram samples.
    pub hists: &'a [i64],
}

impl StartTimes<'_> {
    /// No start timestamps at all.
    pub(crate) const NONE: StartTimes<'static> = StartTimes {
        floats: &[],
        hists: &[],
    };
}

/// The start time of sample `k` in `st` (empty or one per sample), `0`
/// when unknown.
fn start_of(st: &[i64], k: usize) -> i64 {
    st.get(k).copied().unwrap_or(0)
}

/// Whether the start times `st` (empty or one per point) say the counter
/// restarted between points `k` and `k + 1` (see [`is_start_time_reset`]).
fn start_time_reset_after(points: &[HistogramSample], st: &[i64], k: usize) -> bool {
    k + 1 < st.len()
        && k + 1 < points.len()
        && is_start_time_reset(st[k], points[k].t, st[k + 1], points[k + 1].t)
}

/// Whether `h` says it is a gauge (counter functions warn about those).
fn is_gauge(h: &FloatHistogram) -> bool {
    h.counter_reset_hint == CounterResetHint::Gauge
}

/// Prometheus's `histogramRate`: the increase (counter) or difference
/// (gauge) between the first and last histogram of the window, with counter
/// resets detected bucket by bucket or marked by the start timestamps `st`
/// (empty or one per point). `None` when the histograms cannot be
/// combined; the reason is among the notes.
fn histogram_rate(
    points: &[HistogramSample],
    st: &[i64],
    is_counter: bool,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    let first = points.first()?;
    let last = &points[points.len() - 1].h;
    let mut prev: FloatHistogram = (*first.h).clone();
    let mut custom = prev.uses_custom_buckets();
    if is_counter && (is_gauge(&prev) || is_gauge(last)) {
        notes.push(Note::NotCounter);
    }
    if is_counter
        && let Some(second) = points.get(1)
        && (start_time_reset_after(points, st, 0) || second.h.detect_reset(&prev))
    {
        // A reset right after the first sample: its layout does not matter.
        prev = FloatHistogram {
            schema: second.h.schema,
            custom_values: second.h.custom_values.clone(),
            ..FloatHistogram::default()
        };
        custom = second.h.uses_custom_buckets();
    }
    if last.uses_custom_buckets() != custom {
        notes.push(Note::MixedExponentialCustom);
        return None;
    }
    let mut min_schema = last.schema.min(prev.schema);
    if points.len() > 2 {
        for p in &points[1..points.len() - 1] {
            if !is_counter {
                continue;
            }
            if is_gauge(&p.h) {
                notes.push(Note::NotCounter);
            }
            min_schema = min_schema.min(p.h.schema);
            if p.h.uses_custom_buckets() != custom {
                notes.clear();
                notes.push(Note::MixedExponentialCustom);
                return None;
            }
        }
    }
    let mut h = last.copy_to_schema(min_schema).ok()?;
    match h.sub(&prev) {
        Err(HistogramError::IncompatibleSchema) => {
            notes.clear();
            notes.push(Note::MixedExponentialCustom);
            return None;
        }
        Ok(o) if o.nhcb_bounds_reconciled => notes.push(Note::Reconciled("subtraction")),
        _ => {}
    }
    if is_counter {
        let mut before: &FloatHistogram = &prev;
        for (k, p) in points[1..].iter().enumerate() {
            if start_time_reset_after(points, st, k) || p.h.detect_reset(before) {
                match h.add(before) {
                    Err(HistogramError::IncompatibleSchema) => {
                        notes.clear();
                        notes.push(Note::MixedExponentialCustom);
                        return None;
                    }
                    Ok(o) if o.nhcb_bounds_reconciled => notes.push(Note::Reconciled("addition")),
                    _ => {}
                }
            }
            before = &p.h;
        }
    } else if !is_gauge(&first.h) || !is_gauge(last) {
        notes.push(Note::NotGauge);
    }
    h.counter_reset_hint = CounterResetHint::Gauge;
    h.compact(0);
    Some(h)
}

/// rate/increase/delta over a window with histograms (Prometheus's
/// `extrapolatedRate` with its histogram branch). `st` are the
/// histograms' start times (empty or one per histogram): for counters they
/// mark resets the counts hide, and a first histogram whose start time lies
/// inside the window stands for a rise from zero at that time, so the rate
/// runs from there instead of being extrapolated to the left (then one
/// histogram is enough), as the float path does.
fn extrapolated_rate(
    w: &Window<'_>,
    st: &[i64],
    is_counter: bool,
    is_rate: bool,
    notes: &mut Vec<Note>,
) -> Option<Point> {
    if !w.floats.is_empty() {
        notes.push(Note::MixedFloatsHistograms);
        return None;
    }
    let h = w.hists;
    let first = h.first()?;
    let first_st = start_of(st, 0);
    let from_start = is_counter && first_st != 0 && first_st > w.start && first_st < first.t;
    if h.len() < 2 && !from_start {
        return None;
    }
    let mut result = histogram_rate(h, st, is_counter, notes)?;
    let n1 = h.len() - 1;
    let first_share = (is_counter && result.count > 0.0 && first.h.count >= 0.0)
        .then(|| first.h.count / result.count);
    if from_start {
        add_first_from_zero(&mut result, &first.h, notes)?;
    }
    let extrapolation = Extrapolation {
        start: w.start,
        end: w.end,
        first_t: first.t,
        last_t: h[n1].t,
        intervals: n1,
        started_at: from_start.then_some(first_st),
        first_share,
    };
    let mut factor = extrapolation.factor();
    if is_rate {
        factor /= w.range_s;
    }
    result.mul(factor);
    Some(Point::H(Arc::new(result)))
}

/// Adds the window's first histogram to an increase that started from zero
/// at the first histogram's start time (the histogram counterpart of the
/// float path's `result += first`). `None` when the layouts cannot be
/// combined (noted as such).
fn add_first_from_zero(
    result: &mut FloatHistogram,
    first: &FloatHistogram,
    notes: &mut Vec<Note>,
) -> Option<()> {
    match result.add(first) {
        Err(HistogramError::IncompatibleSchema) => {
            notes.clear();
            notes.push(Note::MixedExponentialCustom);
            None
        }
        Ok(o) => {
            if o.nhcb_bounds_reconciled {
                notes.push(Note::Reconciled("addition"));
            }
            result.counter_reset_hint = CounterResetHint::Gauge;
            result.compact(0);
            Some(())
        }
        Err(_) => Some(()),
    }
}

/// The value at `t` between histograms `a` and `b` (`a.t <= t <= b.t`),
/// interpolated linearly; for a counter that reset between them, from zero.
fn interpolate(
    a: &HistogramSample,
    b: &HistogramSample,
    t: i64,
    is_counter: bool,
) -> Result<FloatHistogram, HistogramError> {
    let frac = (t - a.t) as f64 / (b.t - a.t) as f64;
    let mut r = (*b.h).clone();
    // The value is no sample's: its relation to other values is known only
    // from the counts, so it carries no reset hint.
    if is_counter && b.h.detect_reset(&a.h) {
        r.mul(frac);
        r.counter_reset_hint = CounterResetHint::Unknown;
        return Ok(r);
    }
    r.sub(&a.h)?;
    r.mul(frac);
    let mut out = (*a.h).clone();
    out.add(&r)?;
    out.counter_reset_hint = CounterResetHint::Unknown;
    Ok(out)
}

/// rate/increase/delta over an `anchored` or `smoothed` window holding
/// histograms: the difference between the values at the window's
/// boundaries (the samples at or before them, interpolated when smoothed),
/// plus the values lost to counter resets in between; no extrapolation.
pub(crate) fn extended_rate(
    w: &Window<'_>,
    smoothed: bool,
    is_counter: bool,
    is_rate: bool,
    notes: &mut Vec<Note>,
) -> Option<Point> {
    if !w.floats.is_empty() {
        notes.push(Note::MixedFloatsHistograms);
        return None;
    }
    let f = w.hists;
    if f.is_empty() || f[0].t > w.end {
        return None;
    }
    let mut last = f.len() - 1;
    let mut first = f[..last]
        .partition_point(|x| x.t <= w.start)
        .saturating_sub(1);
    if smoothed {
        last = f[..last].partition_point(|x| x.t < w.end);
    }
    if f[last].t <= w.start {
        return None;
    }
    let used = &f[first..=last];
    if is_counter && used.iter().any(|p| is_gauge(&p.h)) {
        notes.push(Note::NotCounter);
    }
    if !is_counter && (!is_gauge(&f[first].h) || !is_gauge(&f[last].h)) {
        notes.push(Note::NotGauge);
    }
    match extended_value(f, &mut first, &mut last, w, smoothed, is_counter) {
        Ok(mut r) => {
            if is_rate {
                r.div(w.range_s);
            }
            r.counter_reset_hint = CounterResetHint::Gauge;
            r.compact(0);
            Some(Point::H(Arc::new(r)))
        }
        Err(_) => {
            notes.push(Note::MixedExponentialCustom);
            None
        }
    }
}

/// The boundary difference plus reset corrections of [`extended_rate`];
/// `first`/`last` are the indices of the boundary samples, moved inwards
/// while correcting. Fails when layouts cannot be combined.
fn extended_value(
    f: &[HistogramSample],
    first: &mut usize,
    last: &mut usize,
    w: &Window<'_>,
    smoothed: bool,
    is_counter: bool,
) -> Result<FloatHistogram, HistogramError> {
    let left_interpolated = smoothed && f[*first].t < w.start && *first + 1 < f.len();
    let left = if left_interpolated {
        interpolate(&f[*first], &f[*first + 1], w.start, is_counter)?
    } else {
        (*f[*first].h).clone()
    };
    let right_source = *last;
    let right_interpolated = smoothed && *last > 0 && f[*last].t > w.end;
    let right = if right_interpolated {
        interpolate(&f[*last - 1], &f[*last], w.end, is_counter)?
    } else {
        (*f[*last].h).clone()
    };
    let mut result = right.clone();
    result.sub(&left)?;
    if is_counter {
        if f[*first].t <= w.start {
            *first += 1;
        }
        if f[*last].t >= w.end && *last > 0 {
            *last -= 1;
        }
        // Sample hints compare a sample with its predecessor: a reset
        // between an interpolated left value's own two samples is already
        // in it, and the right value copied from the last sample compared
        // with that same sample is no reset.
        let mut prev: &FloatHistogram = &left;
        let mut prev_index = None;
        if *first <= *last {
            for (k, p) in f.iter().enumerate().take(*last + 1).skip(*first) {
                let skip = prev_index.is_none() && left_interpolated;
                if !skip && p.h.detect_reset(prev) {
                    result.add(prev)?;
                }
                prev = &p.h;
                prev_index = Some(k);
            }
        }
        let same_sample = !right_interpolated && prev_index == Some(right_source);
        if !same_sample && right.detect_reset(prev) {
            result.add(prev)?;
        }
    }
    Ok(result)
}

/// resets or changes over an `anchored` window with histograms: nothing
/// when the newest sample is not inside the window.
pub(crate) fn anchored_transitions(w: &Window<'_>, resets: bool) -> Option<Point> {
    let newest = w
        .floats
        .last()
        .map_or(i64::MIN, |s| s.t)
        .max(w.hists.last().map_or(i64::MIN, |s| s.t));
    if newest <= w.start {
        return None;
    }
    count_transitions(w, StartTimes::NONE, resets)
}

/// An `anchored`/`smoothed` window of both kinds keeps each kind's sample
/// at or before the start (and, smoothed, after the end); the series has
/// only one such sample, the newest before the start (oldest after the
/// end) of either kind, so the other kind's is dropped. `st` are the
/// floats' start times (empty or one per float).
pub(crate) fn trim_extended<'a>(
    floats: &'a [Sample],
    st: &'a [i64],
    hists: &'a [HistogramSample],
    start: i64,
    end: i64,
) -> (&'a [Sample], &'a [i64], &'a [HistogramSample]) {
    let (mut f, mut h) = (floats, hists);
    let (mut f0, mut h0) = (0, 0);
    let fa = f.first().filter(|x| x.t <= start).map(|x| x.t);
    let ha = h.first().filter(|x| x.t <= start).map(|x| x.t);
    match (fa, ha) {
        (Some(a), Some(b)) if a < b => f0 = 1,
        (Some(_), Some(_)) => h0 = 1,
        _ => {}
    }
    f = &f[f0..];
    h = &h[h0..];
    let fz = f.last().filter(|x| x.t > end).map(|x| x.t);
    let hz = h.last().filter(|x| x.t > end).map(|x| x.t);
    match (fz, hz) {
        (Some(a), Some(b)) if a > b => f = &f[..f.len() - 1],
        (Some(_), Some(_)) => h = &h[..h.len() - 1],
        _ => {}
    }
    let st = if st.len() == floats.len() {
        &st[f0..f0 + f.len()]
    } else {
        st
    };
    (f, st, h)
}

/// One of the last two samples of a window, for irate/idelta.
#[derive(Clone)]
struct Last {
    t: i64,
    /// The sample's start time, `0` when unknown.
    st: i64,
    f: f64,
    h: Option<Arc<FloatHistogram>>,
}

/// irate (`is_rate`) and idelta over the last two samples of either kind
/// (Prometheus's `instantValue`); for irate a start timestamp in `st` can
/// mark the reset between them.
fn instant_value(
    w: &Window<'_>,
    st: StartTimes<'_>,
    is_rate: bool,
    notes: &mut Vec<Note>,
) -> Option<Point> {
    if w.floats.len() + w.hists.len() < 2 {
        return None;
    }
    let from_f = w.floats.len().saturating_sub(2);
    let mut ss: Vec<Last> = w.floats[from_f..]
        .iter()
        .enumerate()
        .map(|(k, s)| Last {
            t: s.t,
            st: start_of(st.floats, from_f + k),
            f: s.v,
            h: None,
        })
        .collect();
    let from_h = w.hists.len().saturating_sub(2);
    for (k, s) in w.hists[from_h..].iter().enumerate() {
        let s = Last {
            t: s.t,
            st: start_of(st.hists, from_h + k),
            f: 0.0,
            h: Some(s.h.clone()),
        };
        match ss.len() {
            0 => ss.push(s),
            1 if s.t < ss[0].t => ss.insert(0, s),
            1 => ss.push(s),
            _ if s.t < ss[0].t => {}
            _ if s.t > ss[1].t => {
                ss[0] = ss[1].clone();
                ss[1] = s;
            }
            _ => ss[0] = s,
        }
    }
    let (a, b) = (&ss[0], &ss[1]);
    let interval = b.t - a.t;
    if interval == 0 {
        return None;
    }
    let secs = interval as f64 / 1000.0;
    let st_reset = is_start_time_reset(a.st, a.t, b.st, b.t);
    match (&a.h, &b.h) {
        (None, None) => {
            let v = if !is_rate || !(b.f < a.f || st_reset) {
                b.f - a.f
            } else {
                b.f
            };
            Some(Point::F(if is_rate { v / secs } else { v }))
        }
        (Some(ha), Some(hb)) => {
            let mut r = (**hb).clone();
            if is_rate && (is_gauge(hb) || is_gauge(ha)) {
                notes.push(Note::NotCounter);
            }
            if !is_rate && (!is_gauge(hb) || !is_gauge(ha)) {
                notes.push(Note::NotGauge);
            }
            if !is_rate || (!st_reset && !hb.detect_reset(ha)) {
                match r.sub(ha) {
                    Err(HistogramError::IncompatibleSchema) => {
                        notes.push(Note::MixedExponentialCustom);
                        return None;
                    }
                    Ok(o) if o.nhcb_bounds_reconciled => {
                        notes.push(Note::Reconciled("subtraction"))
                    }
                    _ => {}
                }
            }
            r.counter_reset_hint = CounterResetHint::Gauge;
            r.compact(0);
            if is_rate {
                r.div(secs);
            }
            Some(Point::H(Arc::new(r)))
        }
        _ => {
            notes.push(Note::MixedFloatsHistograms);
            None
        }
    }
}

/// A sample of either kind, for walking a mixed window in time order.
enum Either<'a> {
    F(f64),
    H(&'a FloatHistogram),
}

/// One sample of a merged window: its time, start time (`0`: unknown) and
/// value.
struct Merged<'a> {
    t: i64,
    st: i64,
    v: Either<'a>,
}

/// The window's samples of both kinds in time order, with their start
/// times from `st`.
fn merged<'a>(w: &Window<'a>, st: StartTimes<'_>) -> Vec<Merged<'a>> {
    let (f, h) = (w.floats, w.hists);
    let mut out = Vec::with_capacity(f.len() + h.len());
    let (mut i, mut j) = (0, 0);
    while i < f.len() || j < h.len() {
        if j >= h.len() || (i < f.len() && f[i].t <= h[j].t) {
            out.push(Merged {
                t: f[i].t,
                st: start_of(st.floats, i),
                v: Either::F(f[i].v),
            });
            i += 1;
        } else {
            out.push(Merged {
                t: h[j].t,
                st: start_of(st.hists, j),
                v: Either::H(&h[j].h),
            });
            j += 1;
        }
    }
    out
}

/// resets (`resets`) or changes over a window with histograms: a switch
/// between floats and histograms counts as one; histograms are compared
/// with reset detection or equality. For resets, a start timestamp in `st`
/// marking a restart between two samples of the same kind counts as well.
fn count_transitions(w: &Window<'_>, st: StartTimes<'_>, resets: bool) -> Option<Point> {
    let all = merged(w, st);
    let n = all
        .windows(2)
        .filter(|p| {
            let st_reset = || resets && is_start_time_reset(p[0].st, p[0].t, p[1].st, p[1].t);
            match (&p[0].v, &p[1].v) {
                (Either::F(a), Either::F(b)) => {
                    if resets {
                        b < a || st_reset()
                    } else {
                        b != a && !(a.is_nan() && b.is_nan())
                    }
                }
                (Either::H(a), Either::H(b)) => {
                    if resets {
                        st_reset() || b.detect_reset(a)
                    } else {
                        !b.equals(a)
                    }
                }
                _ => true,
            }
        })
        .count();
    (!all.is_empty()).then_some(Point::F(n as f64))
}

/// What summing histograms over time reports: conflicting counter reset
/// hints and reconciled custom bounds.
#[derive(Default)]
struct HintSeen {
    hints: HintsSeen,
    reconciled: bool,
}

impl HintSeen {
    fn track(&mut self, h: &FloatHistogram) {
        self.hints.note(h);
    }

    fn finish(&self, notes: &mut Vec<Note>) {
        if self.hints.collided() {
            notes.push(Note::CounterResetCollision("aggregation"));
        }
        if self.reconciled {
            notes.push(Note::Reconciled("aggregation"));
        }
    }
}

/// Whether any count or the sum of `h` overflowed to infinity.
fn has_overflow(h: &FloatHistogram) -> bool {
    h.count.is_infinite()
        || h.sum.is_infinite()
        || h.zero_count.is_infinite()
        || h.positive_buckets.iter().any(|b| b.is_infinite())
        || h.negative_buckets.iter().any(|b| b.is_infinite())
}

/// sum_over_time of histograms, Kahan-compensated.
fn sum_hists(h: &[HistogramSample], notes: &mut Vec<Note>) -> Option<Point> {
    let mut seen = HintSeen::default();
    let mut sum = (*h.first()?.h).clone();
    seen.track(&sum);
    let mut comp: Option<FloatHistogram> = None;
    for x in &h[1..] {
        seen.track(&x.h);
        match sum.kahan_add(&x.h, comp.take()) {
            Ok(o) => {
                seen.reconciled |= o.outcome.nhcb_bounds_reconciled;
                comp = Some(o.compensation);
            }
            Err(HistogramError::IncompatibleSchema) => {
                notes.push(Note::MixedExponentialCustom);
                return None;
            }
            Err(_) => {
                seen.finish(notes);
                return Some(Point::H(Arc::new(sum)));
            }
        }
    }
    if let Some(c) = comp {
        match sum.add(&c) {
            Ok(o) => seen.reconciled |= o.nhcb_bounds_reconciled,
            Err(HistogramError::IncompatibleSchema) => {
                notes.push(Note::MixedExponentialCustom);
                return None;
            }
            Err(_) => {}
        }
    }
    seen.finish(notes);
    Some(Point::H(Arc::new(sum)))
}

/// avg_over_time of histograms: the Kahan-compensated sum divided by the
/// count, switching to an incremental mean once the sum would overflow.
fn avg_hists(h: &[HistogramSample], notes: &mut Vec<Note>) -> Option<Point> {
    let mut seen = HintSeen::default();
    match avg_hists_inner(h, &mut seen) {
        Ok(r) => {
            seen.finish(notes);
            Some(Point::H(Arc::new(r)))
        }
        Err(HistogramError::IncompatibleSchema) => {
            notes.push(Note::MixedExponentialCustom);
            None
        }
        Err(_) => None,
    }
}

/// The arithmetic of [`avg_hists`], failing like histogram addition.
fn avg_hists_inner(
    h: &[HistogramSample],
    seen: &mut HintSeen,
) -> Result<FloatHistogram, HistogramError> {
    let Some(first) = h.first() else {
        return Err(HistogramError::IncompatibleSchema);
    };
    let mut sum = (*first.h).clone();
    seen.track(&sum);
    let mut mean = FloatHistogram::default();
    let mut comp: Option<FloatHistogram> = None;
    let mut count = 1.0;
    let mut incremental = false;
    for (i, x) in h[1..].iter().enumerate() {
        seen.track(&x.h);
        count = (i + 2) as f64;
        if !incremental {
            let mut next = sum.clone();
            let o = next.kahan_add(&x.h, comp.clone())?;
            seen.reconciled |= o.outcome.nhcb_bounds_reconciled;
            if !has_overflow(&next) {
                sum = next;
                comp = Some(o.compensation);
                continue;
            }
            incremental = true;
            mean = sum.clone();
            mean.div(count - 1.0);
            if let Some(c) = comp.as_mut() {
                c.div(count - 1.0);
            }
        }
        let q = (count - 1.0) / count;
        if let Some(c) = comp.as_mut() {
            c.mul(q);
        }
        let mut add = (*x.h).clone();
        add.div(count);
        mean.mul(q);
        let o = mean.kahan_add(&add, comp.take())?;
        seen.reconciled |= o.outcome.nhcb_bounds_reconciled;
        comp = Some(o.compensation);
    }
    if incremental {
        if let Some(c) = comp {
            mean.add(&c)?;
        }
        return Ok(mean);
    }
    sum.div(count);
    if let Some(mut c) = comp {
        c.div(count);
        sum.add(&c)?;
    }
    Ok(sum)
}

/// The newest (`last`) or oldest sample of either kind; at equal times the
/// histogram wins for `last` and the float loses for `first`, as upstream.
fn pick_end(w: &Window<'_>, last: bool) -> Option<Point> {
    let f = if last {
        w.floats.last()
    } else {
        w.floats.first()
    };
    let h = if last {
        w.hists.last()
    } else {
        w.hists.first()
    };
    match (f, h) {
        (Some(f), Some(h)) if (last && h.t < f.t) || (!last && f.t < h.t) => Some(Point::F(f.v)),
        (_, Some(h)) => Some(Point::H(h.h.clone())),
        (Some(f), None) => Some(Point::F(f.v)),
        (None, None) => None,
    }
}

/// What a float-only function does when histograms share its window: with
/// floats, compute on them and note the ignored histograms; without, no
/// result. `min_floats` is how many floats the function needs (deriv and
/// friends need two, and note the ignored histograms even when they have
/// only one).
pub(crate) fn floats_only(
    w: &Window<'_>,
    min_floats: usize,
    notes: &mut Vec<Note>,
    f: impl FnOnce(&[Sample]) -> Option<f64>,
) -> Option<Point> {
    if w.floats.is_empty() {
        return None;
    }
    notes.push(Note::IgnoredInMixedRange);
    if w.floats.len() < min_floats {
        return None;
    }
    f(w.floats).map(Point::F)
}

/// Reduces a window holding histograms with the range function `name`;
/// `st` are the start timestamps of the window's samples, which the
/// counter functions (rate, increase, irate, resets) use as the float path
/// does. Returns `Err(())` for a function this module does not know: the
/// caller then uses its float implementation on the window's floats.
pub(crate) fn eval_window_with_start(
    name: &str,
    w: &Window<'_>,
    st: StartTimes<'_>,
    notes: &mut Vec<Note>,
) -> Result<Option<Point>, ()> {
    let count = w.floats.len() + w.hists.len();
    Ok(match name {
        "rate" => extrapolated_rate(w, st.hists, true, true, notes),
        "increase" => extrapolated_rate(w, st.hists, true, false, notes),
        "delta" => extrapolated_rate(w, st.hists, false, false, notes),
        "irate" => instant_value(w, st, true, notes),
        "idelta" => instant_value(w, st, false, notes),
        "resets" => count_transitions(w, st, true),
        "changes" => count_transitions(w, st, false),
        "count_over_time" => (count > 0).then_some(Point::F(count as f64)),
        "present_over_time" => (count > 0).then_some(Point::F(1.0)),
        "last_over_time" => pick_end(w, true),
        "first_over_time" => pick_end(w, false),
        "ts_of_last_over_time" => {
            let tf = w.floats.last().map_or(0, |s| s.t);
            let th = w.hists.last().map_or(0, |s| s.t);
            Some(Point::F(tf.max(th) as f64 / 1000.0))
        }
        "ts_of_first_over_time" => {
            let tf = w.floats.first().map_or(i64::MAX, |s| s.t);
            let th = w.hists.first().map_or(i64::MAX, |s| s.t);
            Some(Point::F(tf.min(th) as f64 / 1000.0))
        }
        "sum_over_time" | "avg_over_time" if !w.floats.is_empty() => {
            notes.push(Note::MixedFloatsHistograms);
            None
        }
        "sum_over_time" => sum_hists(w.hists, notes),
        "avg_over_time" => avg_hists(w.hists, notes),
        _ => return Err(()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(count: f64, sum: f64, buckets: &[f64]) -> Arc<FloatHistogram> {
        Arc::new(FloatHistogram {
            count,
            sum,
            positive_spans: vec![warden_tsdb::histogram::Span {
                offset: 0,
                length: buckets.len() as u32,
            }],
            positive_buckets: buckets.to_vec(),
            ..FloatHistogram::default()
        })
    }

    fn hs(v: &[(i64, Arc<FloatHistogram>)]) -> Vec<HistogramSample> {
        v.iter()
            .map(|(t, h)| HistogramSample {
                t: *t,
                h: h.clone(),
            })
            .collect()
    }

    /// A window reduced without start timestamps.
    fn eval_plain(name: &str, w: &Window<'_>, notes: &mut Vec<Note>) -> Result<Option<Point>, ()> {
        eval_window_with_start(name, w, StartTimes::NONE, notes)
    }

    fn window<'a>(f: &'a [Sample], h: &'a [HistogramSample]) -> Window<'a> {
        Window {
            floats: f,
            hists: h,
            start: 0,
            end: 120_000,
            range_s: 120.0,
        }
    }

    #[test]
    fn increase_of_regular_counter_histogram() {
        let h = hs(&[
            (0, hist(2.0, 2.0, &[2.0])),
            (60_000, hist(4.0, 4.0, &[4.0])),
            (120_000, hist(6.0, 6.0, &[6.0])),
        ]);
        let mut notes = Vec::new();
        let Ok(Some(Point::H(r))) = eval_plain("increase", &window(&[], &h), &mut notes) else {
            panic!("no histogram result");
        };
        assert_eq!(r.count, 4.0);
        assert_eq!(r.counter_reset_hint, CounterResetHint::Gauge);
        assert!(notes.is_empty());
    }

    #[test]
    fn start_times_mark_resets_for_increase_irate_and_resets() {
        // Counts 2, 4, 6 with the third sample restarted after the second:
        // the increase is 6 - 2 + 4 (the value before the restart) = 8,
        // irate is the last count over 60 s, and resets counts one.
        let h = hs(&[
            (0, hist(2.0, 2.0, &[2.0])),
            (60_000, hist(4.0, 4.0, &[4.0])),
            (120_000, hist(6.0, 6.0, &[6.0])),
        ]);
        let st = StartTimes {
            floats: &[],
            hists: &[-10_000, -10_000, 90_000],
        };
        let w = window(&[], &h);
        let mut notes = Vec::new();
        let Some(Point::H(inc)) = extrapolated_rate(&w, st.hists, true, false, &mut notes) else {
            panic!("no increase");
        };
        assert_eq!(inc.count, 8.0);
        let Some(Point::H(ir)) = instant_value(&w, st, true, &mut notes) else {
            panic!("no irate");
        };
        assert_eq!(ir.count, 0.1);
        let Ok(Some(Point::F(r))) = eval_window_with_start("resets", &w, st, &mut notes) else {
            panic!("no resets");
        };
        assert_eq!(r, 1.0);
        assert!(notes.is_empty());
        // Without start times nothing resets.
        let Ok(Some(Point::F(r))) = eval_plain("resets", &w, &mut notes) else {
            panic!("no resets");
        };
        assert_eq!(r, 0.0);
    }

    #[test]
    fn first_start_time_inside_the_window_counts_from_zero() {
        // One histogram at 100 s that started at 40 s, in the window
        // (0, 120 s]: an increase of its whole count over 60 s, no
        // extrapolation to the left; to the right by half the average gap,
        // which one sample does not have.
        let h = hs(&[(100_000, hist(6.0, 6.0, &[6.0]))]);
        let w = window(&[], &h);
        let mut notes = Vec::new();
        let Some(Point::H(r)) = extrapolated_rate(&w, &[40_000], true, true, &mut notes) else {
            panic!("no rate");
        };
        assert_eq!(r.count, 6.0 / 120.0);
        assert_eq!(r.counter_reset_hint, CounterResetHint::Gauge);
        // A start time before the window, or none, gives nothing for one sample.
        assert!(extrapolated_rate(&w, &[-1], true, true, &mut notes).is_none());
        assert!(extrapolated_rate(&w, &[], true, true, &mut notes).is_none());
        // delta ignores start times.
        assert!(extrapolated_rate(&w, &[40_000], false, false, &mut notes).is_none());
    }

    #[test]
    fn mixed_window_is_refused_by_rate_and_counted_by_changes() {
        let f = [Sample { t: 0, v: 1.0 }];
        let h = hs(&[(60_000, hist(1.0, 1.0, &[1.0]))]);
        let mut notes = Vec::new();
        assert!(matches!(
            eval_plain("rate", &window(&f, &h), &mut notes),
            Ok(None)
        ));
        assert_eq!(notes, [Note::MixedFloatsHistograms]);
        let Ok(Some(Point::F(c))) = eval_plain("changes", &window(&f, &h), &mut notes) else {
            panic!("no changes");
        };
        assert_eq!(c, 1.0);
    }

    #[test]
    fn anchored_increase_counts_a_reset_at_the_end_once() {
        let mut reset = (*hist(3.0, 3.0, &[3.0])).clone();
        reset.counter_reset_hint = CounterResetHint::CounterReset;
        let h = hs(&[
            (0, hist(5.0, 5.0, &[5.0])),
            (30_000, hist(10.0, 10.0, &[10.0])),
            (60_000, Arc::new(reset)),
        ]);
        let w = Window {
            floats: &[],
            hists: &h,
            start: 0,
            end: 70_000,
            range_s: 70.0,
        };
        let mut notes = Vec::new();
        let Some(Point::H(r)) = extended_rate(&w, false, true, false, &mut notes) else {
            panic!("no result");
        };
        assert_eq!(r.count, 8.0);
    }

    #[test]
    fn trimming_keeps_one_anchor_of_either_kind() {
        let f = [Sample { t: 120_000, v: 5.0 }, Sample { t: 180_000, v: 2.0 }];
        let h = hs(&[(60_000, hist(2.0, 2.0, &[2.0]))]);
        let (tf, _, th) = trim_extended(&f, &[], &h, 120_000, 180_000);
        assert_eq!(tf.len(), 2);
        assert!(th.is_empty());
    }

    #[test]
    fn sum_and_avg_over_time() {
        let h = hs(&[
            (0, hist(2.0, 2.0, &[2.0])),
            (60_000, hist(4.0, 4.0, &[4.0])),
        ]);
        let mut notes = Vec::new();
        let Ok(Some(Point::H(s))) = eval_plain("sum_over_time", &window(&[], &h), &mut notes)
        else {
            panic!("no sum");
        };
        assert_eq!(s.count, 6.0);
        let Ok(Some(Point::H(a))) = eval_plain("avg_over_time", &window(&[], &h), &mut notes)
        else {
            panic!("no avg");
        };
        assert_eq!(a.count, 3.0);
    }
}
