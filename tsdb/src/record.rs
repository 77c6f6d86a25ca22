//! Record framing and payloads shared by WAL segments and checkpoints.
//!
//! Frame: `[type u8][len u32 LE][crc32c u32 LE][payload]`, where the CRC
//! (Castagnoli) covers the type byte, the length and the payload, so a
//! flipped bit anywhere in a record is caught. Payloads use LEB128 varints.
//!
//! Record types: 1 series, 2 float samples, 3 metadata, 4 XOR chunk
//! (checkpoints), 5 native-histogram samples. Readers of a WAL written
//! before type 5 existed see nothing new, so old WALs replay unchanged; the
//! histogram payload starts with its own version byte so that its layout
//! can change later without a new type.

use std::sync::Arc;

use crate::histogram::{CounterResetHint, FloatHistogram, Span};
use crate::labels::{Labels, LabelsBuilder};
use crate::storage::{MetricMetadata, MetricType};

/// Bytes before the payload.
pub const FRAME_HEADER: usize = 9;

/// Largest payload a reader accepts; writers split batches well below it,
/// so a bigger length can only come from corruption.
pub const MAX_PAYLOAD: usize = 16 << 20;

/// Samples per samples record, which keeps records far below [`MAX_PAYLOAD`].
pub const SAMPLES_PER_RECORD: usize = 20_000;

/// Writers start a new series or metadata record past this many bytes.
pub const SPLIT_BYTES: usize = 1 << 20;

/// Largest label set or metadata entry accepted (names and values), so
/// that split records stay far below [`MAX_PAYLOAD`].
pub const MAX_ITEM_BYTES: usize = 1 << 20;

/// Encoded size of a label set, near enough for splitting.
pub fn labels_bytes(labels: &Labels) -> usize {
    labels
        .iter()
        .map(|l| l.name.len() + l.value.len() + 20)
        .sum::<usize>()
        + 20
}

/// Encoded size of one histogram sample in a [`Record::Histograms`]
/// payload: exact but for the series id and timestamp, counted as three
/// bytes each (their usual width). Used to split records, to bound a
/// batch's memory and to weigh histograms for size-based retention, which
/// is why it should not be a loose upper bound.
pub fn histogram_bytes(h: &FloatHistogram) -> usize {
    let spans = |spans: &[Span]| {
        uvarint_len(spans.len() as u64)
            + spans
                .iter()
                .map(|s| {
                    uvarint_len(zigzag(i64::from(s.offset))) + uvarint_len(u64::from(s.length))
                })
                .sum::<usize>()
    };
    let floats = |f: &[f64]| uvarint_len(f.len() as u64) + 8 * f.len();
    3 + 3
        + 1
        + uvarint_len(zigzag(i64::from(h.schema)))
        + 4 * 8
        + spans(&h.positive_spans)
        + spans(&h.negative_spans)
        + floats(&h.positive_buckets)
        + floats(&h.negative_buckets)
        + floats(&h.custom_values)
}

fn uvarint_len(x: u64) -> usize {
    // One byte per started group of seven bits; zero takes one byte.
    (64 - (x | 1).leading_zeros() as usize).div_ceil(7)
}

/// Encoded size of a metadata entry, near enough for splitting.
pub fn metadata_bytes(name: &str, m: &MetricMetadata) -> usize {
    name.len() + m.help.len() + m.unit.len() + 32
}

/// Splits `items` into runs whose summed `size` stays near [`SPLIT_BYTES`].
pub fn split_by_size<T>(items: Vec<T>, size: impl Fn(&T) -> usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    let mut bytes = 0;
    for item in items {
        let n = size(&item);
        if !run.is_empty() && bytes + n > SPLIT_BYTES {
            out.push(std::mem::take(&mut run));
            bytes = 0;
        }
        bytes += n;
        run.push(item);
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

const T_SERIES: u8 = 1;
const T_SAMPLES: u8 = 2;
const T_METADATA: u8 = 3;
const T_CHUNK: u8 = 4;
const T_HISTOGRAMS: u8 = 5;

/// Layout version of the [`Record::Histograms`] payload, its first byte.
const HISTOGRAMS_V1: u8 = 1;

/// One decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// New series: their ids and label sets.
    Series(Vec<(u64, Labels)>),
    /// Samples: series id, timestamp, value bits.
    Samples(Vec<(u64, i64, u64)>),
    /// Metric family metadata by metric name.
    Metadata(Vec<(String, MetricMetadata)>),
    /// One encoded XOR chunk of a series (checkpoints only).
    Chunk {
        /// Series id.
        id: u64,
        /// The chunk's bytes as [`crate::chunk::Chunk::bytes`].
        data: Vec<u8>,
    },
    /// Native-histogram samples: series id, timestamp, histogram. Written
    /// to the WAL at commit and to checkpoints (one record per series
    /// there), since the head keeps histograms uncompressed.
    Histograms(Vec<(u64, i64, Arc<FloatHistogram>)>),
}

/// Why bytes could not be read as a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The data ends inside a record (a torn write).
    #[error("record truncated: {0}")]
    Truncated(&'static str),
    /// The checksum does not match.
    #[error("checksum mismatch")]
    Checksum,
    /// The length field is impossible.
    #[error("record length {0} exceeds the limit")]
    TooLong(usize),
    /// Unknown record type.
    #[error("unknown record type {0}")]
    UnknownType(u8),
    /// The payload does not parse.
    #[error("malformed payload: {0}")]
    Malformed(&'static str),
}

/// Appends a framed record to `out`.
pub fn encode(out: &mut Vec<u8>, record: &Record) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER]);
    let typ = match record {
        Record::Series(series) => {
            put_uvarint(out, series.len() as u64);
            for (id, labels) in series {
                put_uvarint(out, *id);
                put_uvarint(out, labels.len() as u64);
                for l in labels {
                    put_str(out, &l.name);
                    put_str(out, &l.value);
                }
            }
            T_SERIES
        }
        Record::Samples(samples) => {
            let base = samples.first().map_or(0, |s| s.1);
            put_uvarint(out, samples.len() as u64);
            out.extend_from_slice(&base.to_le_bytes());
            for &(id, t, v) in samples {
                put_uvarint(out, id);
                put_uvarint(out, zigzag(t.wrapping_sub(base)));
                out.extend_from_slice(&v.to_le_bytes());
            }
            T_SAMPLES
        }
        Record::Metadata(items) => {
            put_uvarint(out, items.len() as u64);
            for (name, m) in items {
                put_str(out, name);
                out.push(type_code(m.kind));
                put_str(out, &m.help);
                put_str(out, &m.unit);
            }
            T_METADATA
        }
        Record::Chunk { id, data } => {
            put_uvarint(out, *id);
            put_uvarint(out, data.len() as u64);
            out.extend_from_slice(data);
            T_CHUNK
        }
        Record::Histograms(samples) => {
            // [version][n][base t i64 LE], then per sample: id, zigzag(t -
            // base), hint, zigzag(schema), zero threshold, zero count,
            // count, sum (f64 bits LE, so NaN payloads survive), positive
            // and negative spans, positive and negative buckets, custom
            // bounds (each a length, then the items).
            out.push(HISTOGRAMS_V1);
            let base = samples.first().map_or(0, |s| s.1);
            put_uvarint(out, samples.len() as u64);
            out.extend_from_slice(&base.to_le_bytes());
            for (id, t, h) in samples {
                put_uvarint(out, *id);
                put_uvarint(out, zigzag(t.wrapping_sub(base)));
                out.push(hint_code(h.counter_reset_hint));
                put_uvarint(out, zigzag(i64::from(h.schema)));
                for f in [h.zero_threshold, h.zero_count, h.count, h.sum] {
                    out.extend_from_slice(&f.to_bits().to_le_bytes());
                }
                put_spans(out, &h.positive_spans);
                put_spans(out, &h.negative_spans);
                put_floats(out, &h.positive_buckets);
                put_floats(out, &h.negative_buckets);
                put_floats(out, &h.custom_values);
            }
            T_HISTOGRAMS
        }
    };
    let len = (out.len() - start - FRAME_HEADER) as u32;
    out[start] = typ;
    out[start + 1..start + 5].copy_from_slice(&len.to_le_bytes());
    let crc = crc32c::crc32c_append(
        crc32c::crc32c(&out[start..start + 5]),
        &out[start + FRAME_HEADER..],
    );
    out[start + 5..start + 9].copy_from_slice(&crc.to_le_bytes());
}

/// Reads the record framed at the start of `buf`; returns it and its total
/// size in bytes.
pub fn decode(buf: &[u8]) -> Result<(Record, usize), RecordError> {
    if buf.len() < FRAME_HEADER {
        return Err(RecordError::Truncated("frame header"));
    }
    let typ = buf[0];
    let len = u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    let crc = u32::from_le_bytes([buf[5], buf[6], buf[7], buf[8]]);
    if !(T_SERIES..=T_HISTOGRAMS).contains(&typ) {
        return Err(RecordError::UnknownType(typ));
    }
    if len > MAX_PAYLOAD {
        return Err(RecordError::TooLong(len));
    }
    let end = FRAME_HEADER + len;
    let Some(payload) = buf.get(FRAME_HEADER..end) else {
        return Err(RecordError::Truncated("payload"));
    };
    if crc32c::crc32c_append(crc32c::crc32c(&buf[..5]), payload) != crc {
        return Err(RecordError::Checksum);
    }
    let mut r = Reader { buf: payload };
    let record = match typ {
        T_SERIES => {
            let n = r.count()?;
            let mut series = Vec::with_capacity(n);
            for _ in 0..n {
                let id = r.uvarint()?;
                let nl = r.count()?;
                let mut b = LabelsBuilder::new();
                for _ in 0..nl {
                    let name = r.string()?;
                    let value = r.string()?;
                    b.push(name, value);
                }
                let labels = b.build().map_err(|_| RecordError::Malformed("label set"))?;
                series.push((id, labels));
            }
            Record::Series(series)
        }
        T_SAMPLES => {
            let n = r.count()?;
            let base = i64::from_le_bytes(r.array()?);
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                let id = r.uvarint()?;
                let t = base.wrapping_add(unzigzag(r.uvarint()?));
                let v = u64::from_le_bytes(r.array()?);
                samples.push((id, t, v));
            }
            Record::Samples(samples)
        }
        T_METADATA => {
            let n = r.count()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let name = r.string()?;
                let kind = type_from_code(r.array::<1>()?[0]);
                let help = r.string()?;
                let unit = r.string()?;
                items.push((name, MetricMetadata { kind, help, unit }));
            }
            Record::Metadata(items)
        }
        T_CHUNK => {
            let id = r.uvarint()?;
            let n = r.count()?;
            Record::Chunk {
                id,
                data: r.take(n)?.to_vec(),
            }
        }
        _ => {
            if r.array::<1>()?[0] != HISTOGRAMS_V1 {
                return Err(RecordError::Malformed("histogram record version"));
            }
            let n = r.count()?;
            let base = i64::from_le_bytes(r.array()?);
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                let id = r.uvarint()?;
                let t = base.wrapping_add(unzigzag(r.uvarint()?));
                samples.push((id, t, Arc::new(r.histogram()?)));
            }
            Record::Histograms(samples)
        }
    };
    if !r.buf.is_empty() {
        return Err(RecordError::Malformed("trailing bytes"));
    }
    Ok((record, end))
}

fn hint_code(h: CounterResetHint) -> u8 {
    match h {
        CounterResetHint::Unknown => 0,
        CounterResetHint::CounterReset => 1,
        CounterResetHint::NotCounterReset => 2,
        CounterResetHint::Gauge => 3,
    }
}

fn hint_from_code(c: u8) -> Result<CounterResetHint, RecordError> {
    Ok(match c {
        0 => CounterResetHint::Unknown,
        1 => CounterResetHint::CounterReset,
        2 => CounterResetHint::NotCounterReset,
        3 => CounterResetHint::Gauge,
        _ => return Err(RecordError::Malformed("counter reset hint")),
    })
}

fn type_code(t: MetricType) -> u8 {
    match t {
        MetricType::Counter => 1,
        MetricType::Gauge => 2,
        MetricType::Histogram => 3,
        MetricType::Summary => 4,
        MetricType::Info => 5,
        MetricType::StateSet => 6,
        MetricType::Unknown => 0,
    }
}

fn type_from_code(c: u8) -> MetricType {
    match c {
        1 => MetricType::Counter,
        2 => MetricType::Gauge,
        3 => MetricType::Histogram,
        4 => MetricType::Summary,
        5 => MetricType::Info,
        6 => MetricType::StateSet,
        _ => MetricType::Unknown,
    }
}

fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

fn unzigzag(x: u64) -> i64 {
    ((x >> 1) as i64) ^ -((x & 1) as i64)
}

fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_spans(out: &mut Vec<u8>, spans: &[Span]) {
    put_uvarint(out, spans.len() as u64);
    for s in spans {
        put_uvarint(out, zigzag(i64::from(s.offset)));
        put_uvarint(out, u64::from(s.length));
    }
}

fn put_floats(out: &mut Vec<u8>, floats: &[f64]) {
    put_uvarint(out, floats.len() as u64);
    for f in floats {
        out.extend_from_slice(&f.to_bits().to_le_bytes());
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn uvarint(&mut self) -> Result<u64, RecordError> {
        let mut x = 0u64;
        for (i, &b) in self.buf.iter().enumerate().take(10) {
            x |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.buf = &self.buf[i + 1..];
                return Ok(x);
            }
        }
        Err(RecordError::Malformed("varint"))
    }

    /// A length that cannot exceed the bytes left (each item takes at least one).
    fn count(&mut self) -> Result<usize, RecordError> {
        let n = self.uvarint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.buf.len())
            .ok_or(RecordError::Malformed("count"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if n > self.buf.len() {
            return Err(RecordError::Malformed("length"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn string(&mut self) -> Result<String, RecordError> {
        let n = self.count()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| RecordError::Malformed("utf-8"))
    }

    fn f64(&mut self) -> Result<f64, RecordError> {
        Ok(f64::from_bits(u64::from_le_bytes(self.array()?)))
    }

    fn spans(&mut self) -> Result<Vec<Span>, RecordError> {
        let n = self.count()?;
        let mut spans = Vec::with_capacity(n);
        for _ in 0..n {
            let offset = i32::try_from(unzigzag(self.uvarint()?))
                .map_err(|_| RecordError::Malformed("span offset"))?;
            let length = u32::try_from(self.uvarint()?)
                .map_err(|_| RecordError::Malformed("span length"))?;
            spans.push(Span { offset, length });
        }
        Ok(spans)
    }

    fn floats(&mut self) -> Result<Vec<f64>, RecordError> {
        let n = self.count()?;
        (0..n).map(|_| self.f64()).collect()
    }

    /// One histogram as [`encode`] writes it. Spans and buckets are not
    /// checked against each other here: replay validates the histogram.
    fn histogram(&mut self) -> Result<FloatHistogram, RecordError> {
        let counter_reset_hint = hint_from_code(self.array::<1>()?[0])?;
        let schema = i32::try_from(unzigzag(self.uvarint()?))
            .map_err(|_| RecordError::Malformed("histogram schema"))?;
        Ok(FloatHistogram {
            counter_reset_hint,
            schema,
            zero_threshold: self.f64()?,
            zero_count: self.f64()?,
            count: self.f64()?,
            sum: self.f64()?,
            positive_spans: self.spans()?,
            negative_spans: self.spans()?,
            positive_buckets: self.floats()?,
            negative_buckets: self.floats()?,
            custom_values: self.floats()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> Vec<Record> {
        vec![
            Record::Series(vec![
                (
                    1,
                    Labels::from_pairs([("__name__", "up"), ("job", "n")]).unwrap(),
                ),
                (7, Labels::empty()),
            ]),
            Record::Samples(vec![(1, 1000, 1.5f64.to_bits()), (7, -5, u64::MAX)]),
            Record::Metadata(vec![(
                "up".into(),
                MetricMetadata {
                    kind: MetricType::Gauge,
                    help: "h".into(),
                    unit: String::new(),
                },
            )]),
            Record::Chunk {
                id: 3,
                data: vec![0, 1, 2],
            },
            Record::Histograms(vec![
                (1, 2000, Arc::new(exponential())),
                (7, -3, Arc::new(custom())),
                (9, i64::MAX, Arc::new(FloatHistogram::default())),
            ]),
        ]
    }

    /// A histogram with every exponential field set to something non-zero.
    fn exponential() -> FloatHistogram {
        FloatHistogram {
            counter_reset_hint: CounterResetHint::NotCounterReset,
            schema: -2,
            zero_threshold: 0.001,
            zero_count: 2.5,
            count: 19.5,
            sum: -7.25,
            positive_spans: vec![
                Span {
                    offset: -3,
                    length: 2,
                },
                Span {
                    offset: 4,
                    length: 1,
                },
            ],
            negative_spans: vec![Span {
                offset: 1,
                length: 2,
            }],
            positive_buckets: vec![1.0, 2.0, 3.5],
            negative_buckets: vec![4.0, 6.5],
            custom_values: vec![],
        }
    }

    fn custom() -> FloatHistogram {
        FloatHistogram {
            counter_reset_hint: CounterResetHint::Gauge,
            schema: crate::histogram::CUSTOM_BUCKETS_SCHEMA,
            count: 3.0,
            sum: 1.5,
            positive_spans: vec![Span {
                offset: 0,
                length: 3,
            }],
            positive_buckets: vec![1.0, 0.0, 2.0],
            custom_values: vec![0.5, 1.0],
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn histogram_float_bits_survive() {
        // NaN sums (a NaN observation) and the staleness NaN keep their bits.
        let h = FloatHistogram {
            sum: f64::from_bits(0x7ff0_0000_0000_0002),
            count: -0.0,
            ..exponential()
        };
        let mut buf = Vec::new();
        encode(
            &mut buf,
            &Record::Histograms(vec![(4, 10, Arc::new(h.clone()))]),
        );
        let (got, _) = decode(&buf).unwrap();
        let Record::Histograms(list) = got else {
            panic!("not a histograms record: {got:?}")
        };
        assert!(list[0].2.equals(&h));
        assert_eq!(list[0].2.sum.to_bits(), h.sum.to_bits());
        assert_eq!(list[0].2.count.to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn histogram_bytes_is_the_encoded_size() {
        for h in [exponential(), custom(), FloatHistogram::default()] {
            let mut buf = Vec::new();
            let id = 300; // two bytes, and a zero time delta takes one
            encode(
                &mut buf,
                &Record::Histograms(vec![(id, 7, Arc::new(h.clone()))]),
            );
            // Frame, version, count and base come on top of the sample.
            assert_eq!(
                buf.len(),
                FRAME_HEADER + 1 + 1 + 8 + histogram_bytes(&h) - 3
            );
        }
        for (x, n) in [(0, 1), (127, 1), (128, 2), (u64::MAX, 10)] {
            assert_eq!(uvarint_len(x), n, "{x}");
        }
    }

    #[test]
    fn unknown_histogram_version_is_malformed() {
        let mut buf = Vec::new();
        encode(&mut buf, &records()[4]);
        buf[FRAME_HEADER] = 2;
        // Recompute the checksum so only the version is wrong.
        let crc = crc32c::crc32c_append(crc32c::crc32c(&buf[..5]), &buf[FRAME_HEADER..]);
        buf[5..9].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            decode(&buf),
            Err(RecordError::Malformed("histogram record version"))
        );
    }

    #[test]
    fn truncated_histogram_payloads_are_errors_not_panics() {
        let mut buf = Vec::new();
        encode(&mut buf, &records()[4]);
        let payload = buf[FRAME_HEADER..].to_vec();
        for cut in 0..payload.len() {
            let mut b = Vec::new();
            b.push(T_HISTOGRAMS);
            b.extend_from_slice(&(cut as u32).to_le_bytes());
            let crc = crc32c::crc32c_append(crc32c::crc32c(&b[..5]), &payload[..cut]);
            b.extend_from_slice(&crc.to_le_bytes());
            b.extend_from_slice(&payload[..cut]);
            assert!(decode(&b).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn round_trip() {
        let mut buf = Vec::new();
        for r in records() {
            encode(&mut buf, &r);
        }
        let mut at = 0;
        for r in records() {
            let (got, n) = decode(&buf[at..]).unwrap();
            assert_eq!(got, r);
            at += n;
        }
        assert_eq!(at, buf.len());
    }

    #[test]
    fn splitting_keeps_runs_near_the_limit() {
        let runs = split_by_size(vec![SPLIT_BYTES / 2; 5], |n| *n);
        assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        assert!(split_by_size(Vec::<usize>::new(), |n| *n).is_empty());
        assert_eq!(split_by_size(vec![SPLIT_BYTES * 3], |n| *n).len(), 1);
    }

    #[test]
    fn every_flipped_bit_is_caught() {
        for r in [1, 4] {
            let mut buf = Vec::new();
            encode(&mut buf, &records()[r]);
            for i in 0..buf.len() * 8 {
                let mut b = buf.clone();
                b[i / 8] ^= 1 << (i % 8);
                assert!(decode(&b).is_err(), "record {r}, bit {i}");
            }
        }
    }
}
