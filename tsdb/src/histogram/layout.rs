//! Spans and buckets as data.
//!
//! A histogram side is a list of spans plus one value per bucket the spans
//! describe. Everything that reshapes a side lives here: decoding to
//! `(index, value)` pairs, inserting buckets the way Prometheus's
//! `addBuckets` does, compaction, and resolution reduction. The functions
//! are generic over [`Cell`] so that plain addition (`f64`) and Kahan
//! addition (value plus compensation) share one implementation and produce
//! identical layouts.

use super::error::HistogramError;
use super::{Span, bounds};

/// A bucket value that can be merged with another one.
pub(crate) trait Cell: Copy {
    /// The empty value.
    const ZERO: Self;
    /// A cell holding the plain count `v`.
    fn lift(v: f64) -> Self;
    /// The negated cell (for subtraction).
    fn negate(self) -> Self;
    /// The count this cell stands for (without any compensation).
    fn value(&self) -> f64;
    /// Whether compaction may drop the cell.
    fn is_empty(&self) -> bool;
    /// Adds `other` into `self`.
    fn absorb(&mut self, other: Self);
}

impl Cell for f64 {
    const ZERO: Self = 0.0;

    fn lift(v: f64) -> Self {
        v
    }

    fn negate(self) -> Self {
        -self
    }

    fn value(&self) -> f64 {
        *self
    }

    fn is_empty(&self) -> bool {
        *self == 0.0
    }

    fn absorb(&mut self, other: Self) {
        *self += other;
    }
}

/// One side (positive or negative) of a histogram: spans and their buckets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Side<T> {
    /// The layout.
    pub(crate) spans: Vec<Span>,
    /// One cell per bucket the spans describe.
    pub(crate) cells: Vec<T>,
}

impl<T> Default for Side<T> {
    fn default() -> Self {
        Side {
            spans: Vec::new(),
            cells: Vec::new(),
        }
    }
}

/// Iterates `(index, cell)` over a side in ascending index order.
///
/// Zero-length spans are skipped (their offsets still count). If the spans
/// describe more buckets than there are cells, iteration stops at the last
/// cell, as Prometheus's iterators do for invalid histograms.
pub(crate) struct Decode<'a, T> {
    spans: &'a [Span],
    cells: &'a [T],
    span: usize,
    pos: u32,
    start: i64,
    cell: usize,
}

impl<'a, T: Copy> Decode<'a, T> {
    /// Decodes `cells` laid out by `spans`.
    pub(crate) fn new(spans: &'a [Span], cells: &'a [T]) -> Self {
        Decode {
            spans,
            cells,
            span: 0,
            pos: 0,
            start: spans.first().map_or(0, |s| i64::from(s.offset)),
            cell: 0,
        }
    }
}

impl<T: Copy> Iterator for Decode<'_, T> {
    type Item = (i64, T);

    fn next(&mut self) -> Option<(i64, T)> {
        while let Some(span) = self.spans.get(self.span) {
            if self.pos < span.length {
                let value = *self.cells.get(self.cell)?;
                let idx = self.start + i64::from(self.pos);
                self.pos += 1;
                self.cell += 1;
                return Some((idx, value));
            }
            self.start += i64::from(span.length);
            self.span += 1;
            self.pos = 0;
            if let Some(next) = self.spans.get(self.span) {
                self.start += i64::from(next.offset);
            }
        }
        None
    }
}

/// Iterates `(index, cell)` over a side in descending index order: the same
/// pairs as [`Decode`], reversed, without allocating.
pub(crate) struct DecodeRev<'a, T> {
    spans: &'a [Span],
    cells: &'a [T],
    /// Current span, or `None` when exhausted.
    span: Option<usize>,
    /// Start index of the current span.
    start: i64,
    /// Position within the current span of the next cell to yield.
    pos: u32,
    /// Cells left to yield; the next one is `cells[remaining - 1]`.
    remaining: usize,
}

impl<'a, T: Copy> DecodeRev<'a, T> {
    /// Decodes `cells` laid out by `spans`, from the highest index down.
    pub(crate) fn new(spans: &'a [Span], cells: &'a [T]) -> Self {
        let mut it = DecodeRev {
            spans,
            cells,
            span: None,
            start: 0,
            pos: 0,
            remaining: 0,
        };
        // Find the span holding the last cell the forward decoder would use.
        let mut start = 0i64;
        let mut used = 0usize;
        for (i, span) in spans.iter().enumerate() {
            start += i64::from(span.offset);
            let take = usize::try_from(span.length)
                .unwrap_or(usize::MAX)
                .min(cells.len() - used);
            if take > 0 {
                it.span = Some(i);
                it.start = start;
                it.pos = u32::try_from(take - 1).unwrap_or(0);
                used += take;
                it.remaining = used;
            }
            if used == cells.len() {
                break;
            }
            start += i64::from(span.length);
        }
        it
    }
}

impl<T: Copy> Iterator for DecodeRev<'_, T> {
    type Item = (i64, T);

    fn next(&mut self) -> Option<(i64, T)> {
        let span = self.span?;
        let value = *self.cells.get(self.remaining.checked_sub(1)?)?;
        let idx = self.start + i64::from(self.pos);
        self.remaining -= 1;
        if self.pos > 0 {
            self.pos -= 1;
            return Some((idx, value));
        }
        // Step back to the previous non-empty span.
        self.span = None;
        let mut i = span;
        let mut start = self.start;
        while i > 0 {
            let offset = i64::from(self.spans[i].offset);
            i -= 1;
            let length = self.spans[i].length;
            start = start - offset - i64::from(length);
            if length > 0 {
                self.span = Some(i);
                self.start = start;
                self.pos = length - 1;
                break;
            }
        }
        Some((idx, value))
    }
}

/// Builds spans for sorted `(index, cell)` pairs, starting a new span
/// wherever indices are not consecutive.
pub(crate) fn from_entries<T>(entries: impl IntoIterator<Item = (i64, T)>) -> Side<T> {
    let mut side = Side {
        spans: Vec::new(),
        cells: Vec::new(),
    };
    let mut last: Option<i64> = None;
    for (idx, cell) in entries {
        match (last, side.spans.last_mut()) {
            (Some(prev), Some(span)) if idx == prev + 1 => span.length += 1,
            _ => {
                let offset = last.map_or(idx, |prev| idx - prev - 1);
                side.spans.push(Span {
                    offset: clamp_i32(offset),
                    length: 1,
                });
            }
        }
        side.cells.push(cell);
        last = Some(idx);
    }
    side
}

/// Narrows an index or offset to the `i32` of the wire format. Indices come
/// from `i32` spans, so this only saturates for histograms that were already
/// out of range.
pub(crate) fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

/// A maximal run of consecutive buckets, with an absolute start index.
struct Run<T> {
    start: i64,
    cells: Vec<T>,
}

impl<T> Run<T> {
    fn end(&self) -> i64 {
        self.start + i64::try_from(self.cells.len()).unwrap_or(i64::MAX)
    }
}

/// A side under construction by bucket insertion.
///
/// Insertion follows Prometheus's `addBuckets`: a new bucket extends the
/// span it directly follows, else the span it directly precedes, else it
/// starts a span of its own. Spans are never merged, so two spans may end up
/// adjacent (offset 0) until the histogram is compacted — exactly as in
/// Prometheus, whose `Equals` can tell the difference.
pub(crate) struct Runs<T> {
    runs: Vec<Run<T>>,
}

impl<T: Cell> Runs<T> {
    /// Takes over the layout and cells of `side`.
    pub(crate) fn new(side: Side<T>) -> Self {
        let mut runs: Vec<Run<T>> = Vec::with_capacity(side.spans.len());
        let mut cells = side.cells.into_iter();
        let mut prev_end: Option<i64> = None;
        for span in &side.spans {
            let start = prev_end.map_or(i64::from(span.offset), |end| end + i64::from(span.offset));
            prev_end = Some(start + i64::from(span.length));
            let run_cells: Vec<T> = cells
                .by_ref()
                .take(usize::try_from(span.length).unwrap_or(usize::MAX))
                .collect();
            runs.push(Run {
                start,
                cells: run_cells,
            });
        }
        Runs { runs }
    }

    /// Adds `cell` to bucket `idx`, creating the bucket if it is absent.
    pub(crate) fn add(&mut self, idx: i64, cell: T) {
        let p = self.runs.partition_point(|r| r.start <= idx);
        if p > 0 {
            let prev = &mut self.runs[p - 1];
            if idx < prev.end() {
                let offset = usize::try_from(idx - prev.start).unwrap_or(0);
                if let Some(existing) = prev.cells.get_mut(offset) {
                    existing.absorb(cell);
                }
                return;
            }
            if idx == prev.end() {
                prev.cells.push(cell);
                return;
            }
        }
        if let Some(next) = self.runs.get_mut(p)
            && idx + 1 == next.start
        {
            next.start = idx;
            next.cells.insert(0, cell);
            return;
        }
        self.runs.insert(
            p,
            Run {
                start: idx,
                cells: vec![cell],
            },
        );
    }

    /// The resulting side.
    pub(crate) fn finish(self) -> Side<T> {
        let mut side = Side {
            spans: Vec::with_capacity(self.runs.len()),
            cells: Vec::new(),
        };
        let mut prev_end: Option<i64> = None;
        for run in self.runs {
            let offset = prev_end.map_or(run.start, |end| run.start - end);
            prev_end = Some(run.end());
            side.spans.push(Span {
                offset: clamp_i32(offset),
                length: u32::try_from(run.cells.len()).unwrap_or(u32::MAX),
            });
            side.cells.extend(run.cells);
        }
        side
    }
}

/// Removes empty buckets at the edges of spans and runs of more than
/// `max_empty` empty buckets inside them, and joins spans that are at most
/// `max_empty` buckets apart — Prometheus's `compactBuckets` for absolute
/// counts, including which in-between zeros it keeps from the input and
/// which it creates afresh.
pub(crate) fn compact<T: Cell>(side: &Side<T>, max_empty: usize) -> Side<T> {
    let max_empty = i64::try_from(max_empty).unwrap_or(i64::MAX);
    // Prometheus returns the input untouched if nothing needs doing; the
    // result would be the same, this only saves work.
    let nothing_to_do = !side.cells.iter().any(Cell::is_empty)
        && side
            .spans
            .iter()
            .all(|s| i64::from(s.offset) > max_empty && s.length > 0);
    if nothing_to_do {
        return side.clone();
    }

    // Positions of all explicit buckets, tagged with the contiguous segment
    // they belong to (spans joined by offset 0 form one segment).
    let entries: Vec<(i64, T)> = Decode::new(&side.spans, &side.cells).collect();
    let mut segment = Vec::with_capacity(entries.len());
    let mut current = 0usize;
    for (i, (idx, _)) in entries.iter().enumerate() {
        if i > 0 && *idx != entries[i - 1].0 + 1 {
            current += 1;
        }
        segment.push(current);
    }

    let mut out: Vec<(i64, T)> = Vec::with_capacity(entries.len());
    let mut last_kept: Option<usize> = None;
    for (i, (idx, cell)) in entries.iter().enumerate() {
        if cell.is_empty() {
            continue;
        }
        if let Some(prev) = last_kept {
            let prev_idx = entries[prev].0;
            let gap = idx - prev_idx - 1;
            if gap > 0 && gap <= max_empty {
                if segment[prev] == segment[i] {
                    // Empty buckets inside one span: kept as they are.
                    out.extend(entries[prev + 1..i].iter().copied());
                } else {
                    // Spans close enough to join: the gap is filled anew.
                    out.extend((prev_idx + 1..*idx).map(|k| (k, T::ZERO)));
                }
            }
        }
        out.push((*idx, *cell));
        last_kept = Some(i);
    }
    from_entries(out)
}

/// Checks that a side's layout is consistent before it is re-bucketed:
/// no negative offsets after the first span and exactly as many cells as
/// the spans describe.
pub(crate) fn check_reducible(spans: &[Span], cells: usize) -> Result<(), HistogramError> {
    let mut need = 0usize;
    for (n, span) in spans.iter().enumerate() {
        if n > 0 && span.offset < 0 {
            return Err(HistogramError::SpanNegativeOffset {
                span: n + 1,
                offset: span.offset,
            });
        }
        need = need.saturating_add(usize::try_from(span.length).unwrap_or(usize::MAX));
        if need > cells {
            return Err(HistogramError::SpansNeedMoreBuckets { have: cells });
        }
    }
    if need != cells {
        return Err(HistogramError::SpansBucketsMismatch { need, have: cells });
    }
    Ok(())
}

/// Re-buckets a side from `origin_schema` to the coarser `target_schema`,
/// merging the cells that fall into one target bucket (Prometheus's
/// `reduceResolution` for absolute counts).
pub(crate) fn reduce<T: Cell>(
    side: &Side<T>,
    origin_schema: i32,
    target_schema: i32,
) -> Result<Side<T>, HistogramError> {
    check_reducible(&side.spans, side.cells.len())?;
    let mut merged: Vec<(i64, T)> = Vec::with_capacity(side.cells.len());
    for (idx, cell) in Decode::new(&side.spans, &side.cells) {
        let target = bounds::target_index(idx, origin_schema, target_schema);
        match merged.last_mut() {
            Some((last, acc)) if *last == target => acc.absorb(cell),
            _ => merged.push((target, cell)),
        }
    }
    Ok(from_entries(merged))
}

/// Whether two span lists describe the same bucket layout once zero-length
/// spans are folded into their successors (Prometheus's `spansMatch`).
/// Adjacent spans are not merged: `[0:2]` and `[0:1][0:1]` differ.
pub(crate) fn spans_match(a: &[Span], b: &[Span]) -> bool {
    normalized_spans(a) == normalized_spans(b)
}

/// Spans with zero-length spans folded into the following span's offset
/// and trailing zero-length spans dropped.
fn normalized_spans(spans: &[Span]) -> Vec<(i64, u32)> {
    let mut out = Vec::with_capacity(spans.len());
    let mut pending = 0i64;
    for span in spans {
        pending += i64::from(span.offset);
        if span.length > 0 {
            out.push((pending, span.length));
            pending = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(list: &[(i32, u32)]) -> Vec<Span> {
        list.iter()
            .map(|&(offset, length)| Span { offset, length })
            .collect()
    }

    fn side(list: &[(i32, u32)], cells: &[f64]) -> Side<f64> {
        Side {
            spans: spans(list),
            cells: cells.to_vec(),
        }
    }

    #[test]
    fn histogram_decode_forward_and_reverse() {
        let s = side(
            &[(-2, 2), (0, 0), (3, 1), (1, 2)],
            &[1.0, 2.0, 3.0, 4.0, 5.0],
        );
        let fwd: Vec<(i64, f64)> = Decode::new(&s.spans, &s.cells).collect();
        assert_eq!(
            fwd,
            vec![(-2, 1.0), (-1, 2.0), (3, 3.0), (5, 4.0), (6, 5.0)]
        );
        let mut rev: Vec<(i64, f64)> = DecodeRev::new(&s.spans, &s.cells).collect();
        rev.reverse();
        assert_eq!(rev, fwd);
        // Fewer cells than the spans describe: both stop at the last cell.
        let short = side(&[(0, 2), (1, 2)], &[1.0, 2.0, 3.0]);
        let fwd: Vec<(i64, f64)> = Decode::new(&short.spans, &short.cells).collect();
        assert_eq!(fwd, vec![(0, 1.0), (1, 2.0), (3, 3.0)]);
        let mut rev: Vec<(i64, f64)> = DecodeRev::new(&short.spans, &short.cells).collect();
        rev.reverse();
        assert_eq!(rev, fwd);
        assert_eq!(DecodeRev::<f64>::new(&[], &[]).next(), None);
    }

    #[test]
    fn histogram_insertion_follows_add_buckets() {
        // Filling the whole gap leaves two adjacent spans, like Prometheus.
        let mut runs = Runs::new(side(&[(0, 2), (3, 2)], &[1.0, 1.0, 1.0, 1.0]));
        for idx in 2..5 {
            runs.add(idx, 1.0);
        }
        assert_eq!(runs.finish().spans, spans(&[(0, 5), (0, 2)]));

        // A bucket just before a span extends that span backwards.
        let mut runs = Runs::new(side(&[(0, 2), (3, 2)], &[1.0; 4]));
        runs.add(4, 7.0);
        let out = runs.finish();
        assert_eq!(out.spans, spans(&[(0, 2), (2, 3)]));
        assert_eq!(out.cells, vec![1.0, 1.0, 7.0, 1.0, 1.0]);

        // An isolated bucket gets its own span; before all, after all.
        let mut runs = Runs::new(side(&[(0, 2), (3, 2)], &[1.0; 4]));
        runs.add(3, 2.0);
        runs.add(-5, 3.0);
        runs.add(10, 4.0);
        runs.add(1, 5.0);
        let out = runs.finish();
        assert_eq!(out.spans, spans(&[(-5, 1), (4, 2), (1, 1), (1, 2), (3, 1)]));
        assert_eq!(out.cells, vec![3.0, 1.0, 6.0, 2.0, 1.0, 1.0, 4.0]);
    }

    #[test]
    fn histogram_compaction() {
        // Empty edges go, short inner gaps stay, close spans join.
        let s = side(
            &[(-2, 6), (2, 3)],
            &[0.0, 1.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 0.0],
        );
        let c0 = compact(&s, 0);
        assert_eq!(c0.spans, spans(&[(-1, 1), (1, 1), (4, 1)]));
        assert_eq!(c0.cells, vec![1.0, 2.0, 3.0]);
        let c2 = compact(&s, 2);
        assert_eq!(c2.spans, spans(&[(-1, 3), (4, 1)]));
        assert_eq!(c2.cells, vec![1.0, 0.0, 2.0, 3.0]);
        let c4 = compact(&s, 4);
        assert_eq!(c4.spans, spans(&[(-1, 8)]));
        assert_eq!(c4.cells, vec![1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0]);
        // Adjacent spans are merged even with max_empty 0.
        let adj = compact(&side(&[(0, 1), (0, 1)], &[1.0, 2.0]), 0);
        assert_eq!(adj.spans, spans(&[(0, 2)]));
        // All empty.
        let empty = compact(&side(&[(3, 2)], &[0.0, 0.0]), 0);
        assert!(empty.spans.is_empty() && empty.cells.is_empty());
        // In-span zeros keep their sign; fresh ones are +0.
        let neg_zero = compact(&side(&[(0, 3), (1, 1)], &[1.0, -0.0, 2.0, 3.0]), 2);
        assert_eq!(neg_zero.spans, spans(&[(0, 5)]));
        assert!(neg_zero.cells[1].is_sign_negative());
        assert!(neg_zero.cells[3].is_sign_positive());
    }

    #[test]
    fn histogram_reduce_merges_buckets() {
        // Schema 1 indices 0..=4 map to schema 0 indices 0,1,1,2,2.
        let s = side(&[(0, 5)], &[1.0, 2.0, 3.0, 4.0, 5.0]);
        let r = reduce(&s, 1, 0).expect("valid layout");
        assert_eq!(r.spans, spans(&[(0, 3)]));
        assert_eq!(r.cells, vec![1.0, 5.0, 9.0]);
        // Gaps that close up in the coarser schema are joined.
        let s = side(&[(-3, 1), (3, 1)], &[1.0, 2.0]);
        let r = reduce(&s, 2, 0).expect("valid layout");
        assert_eq!(r.spans, spans(&[(0, 2)]));
        assert_eq!(r.cells, vec![1.0, 2.0]);
        // Invalid layouts are reported rather than silently dropped.
        assert_eq!(
            reduce(&side(&[(0, 1), (-2, 1)], &[1.0, 1.0]), 1, 0),
            Err(HistogramError::SpanNegativeOffset {
                span: 2,
                offset: -2
            })
        );
        assert_eq!(
            reduce(&side(&[(0, 3)], &[1.0]), 1, 0),
            Err(HistogramError::SpansNeedMoreBuckets { have: 1 })
        );
        assert_eq!(
            reduce(&side(&[(0, 1)], &[1.0, 2.0]), 1, 0),
            Err(HistogramError::SpansBucketsMismatch { need: 1, have: 2 })
        );
    }

    #[test]
    fn histogram_spans_match_folds_empty_spans_only() {
        assert!(spans_match(&spans(&[(0, 2)]), &spans(&[(0, 2)])));
        assert!(spans_match(&spans(&[(3, 0), (2, 1)]), &spans(&[(5, 1)])));
        assert!(spans_match(&spans(&[(0, 1), (5, 0)]), &spans(&[(0, 1)])));
        assert!(!spans_match(&spans(&[(0, 2)]), &spans(&[(0, 1), (0, 1)])));
        assert!(!spans_match(
            &spans(&[(0, 1), (2, 0)]),
            &spans(&[(0, 1), (2, 1)])
        ));
        assert!(spans_match(&[], &spans(&[(4, 0)])));
    }
}
