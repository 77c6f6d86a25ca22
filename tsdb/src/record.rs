//! Record framing and payloads shared by WAL segments and checkpoints.
//!
//! Frame: `[type u8][len u32 LE][crc32c u32 LE][payload]`, where the CRC
//! (Castagnoli) covers the type byte, the length and the payload, so a
//! flipped bit anywhere in a record is caught. Payloads use LEB128 varints.

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
    if !(T_SERIES..=T_CHUNK).contains(&typ) {
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
        _ => {
            let id = r.uvarint()?;
            let n = r.count()?;
            Record::Chunk {
                id,
                data: r.take(n)?.to_vec(),
            }
        }
    };
    if !r.buf.is_empty() {
        return Err(RecordError::Malformed("trailing bytes"));
    }
    Ok((record, end))
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
        ]
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
        let mut buf = Vec::new();
        encode(&mut buf, &records()[1]);
        for i in 0..buf.len() * 8 {
            let mut b = buf.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(decode(&b).is_err(), "bit {i}");
        }
    }
}
