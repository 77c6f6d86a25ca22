//! Gorilla-style XOR chunks, as in Prometheus's `chunkenc` XOR encoding.
//!
//! A chunk holds up to [`MAX_SAMPLES`] samples of one series spanning less
//! than [`MAX_SPAN_MS`]. Layout:
//!
//! - 2 bytes: number of samples, big endian;
//! - first sample: timestamp as a zig-zag varint, value as 64 raw bits;
//! - second sample: timestamp delta as a varint, value XOR-encoded;
//! - later samples: delta-of-delta timestamp, value XOR-encoded.
//!
//! Delta-of-delta: `0` for 0; `10`+14 bits, `110`+17 bits, `1110`+20 bits
//! (two's complement), else `1111`+64 bits. Values: `0` when equal to the
//! previous bits; else `1`, then `0` + the meaningful bits when they fit the
//! previous leading/trailing-zero window, or `1` + 5 bits of leading zeros +
//! 6 bits of length (64 written as 0) + the meaningful bits. Timestamp
//! arithmetic wraps, so any increasing `i64` sequence and any `f64` bit
//! pattern (NaN payloads, the staleness marker, ±Inf, -0.0) round-trip exactly.

use crate::bitstream::{BitReader, BitWriter, EndOfStream};
use crate::sample::Sample;

/// Most samples one chunk holds (Prometheus's default).
pub const MAX_SAMPLES: u16 = 120;

/// A chunk spans less than this many milliseconds (2 hours).
pub const MAX_SPAN_MS: i64 = 2 * 60 * 60 * 1000;

const HEADER: usize = 2;

/// A chunk that failed to decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The bytes end before the announced number of samples.
    #[error("chunk truncated at sample {0}")]
    Truncated(u16),
    /// Shorter than the header.
    #[error("chunk shorter than its header")]
    NoHeader,
    /// Timestamps are not strictly increasing.
    #[error("chunk timestamps not increasing at sample {0}")]
    NotIncreasing(u16),
    /// More samples than a chunk may hold.
    #[error("chunk announces {0} samples")]
    TooMany(u16),
}

/// A sealed, immutable chunk with its time bounds.
///
/// Sealed chunks are trimmed to their exact length, which is what keeps the
/// head at one to two bytes per sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    data: Box<[u8]>,
    min_t: i64,
    max_t: i64,
}

impl Chunk {
    /// Validates encoded bytes (for example from a checkpoint) by decoding
    /// them fully, and records their time bounds.
    pub fn from_bytes(data: Vec<u8>) -> Result<Chunk, ChunkError> {
        let count = sample_count(&data)?;
        if count == 0 || count > MAX_SAMPLES {
            return Err(ChunkError::TooMany(count));
        }
        let mut it = ChunkIter::new(&data);
        let mut min_t = 0;
        let mut max_t = 0;
        let mut i = 0u16;
        while let Some(s) = it.next_sample()? {
            if i == 0 {
                min_t = s.t;
            } else if s.t <= max_t {
                return Err(ChunkError::NotIncreasing(i));
            }
            max_t = s.t;
            i += 1;
        }
        Ok(Chunk {
            data: data.into_boxed_slice(),
            min_t,
            max_t,
        })
    }

    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Oldest timestamp in the chunk.
    pub fn min_t(&self) -> i64 {
        self.min_t
    }

    /// Newest timestamp in the chunk.
    pub fn max_t(&self) -> i64 {
        self.max_t
    }

    /// Number of samples.
    pub fn len(&self) -> u16 {
        sample_count(&self.data).unwrap_or(0)
    }

    /// Whether the chunk holds no samples (never true for a sealed chunk).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates the samples, oldest first.
    pub fn iter(&self) -> ChunkIter<'_> {
        ChunkIter::new(&self.data)
    }
}

fn sample_count(data: &[u8]) -> Result<u16, ChunkError> {
    match data {
        [a, b, ..] => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(ChunkError::NoHeader),
    }
}

/// The open chunk of a series: encodes samples as they arrive.
#[derive(Debug, Clone)]
pub struct ChunkAppender {
    w: BitWriter,
    count: u16,
    min_t: i64,
    t: i64,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

impl Default for ChunkAppender {
    fn default() -> Self {
        ChunkAppender::new()
    }
}

impl ChunkAppender {
    /// An empty chunk.
    pub fn new() -> ChunkAppender {
        ChunkAppender {
            w: BitWriter::with_prefix(&[0, 0]),
            count: 0,
            min_t: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: u8::MAX,
            trailing: 0,
        }
    }

    /// An empty chunk with room for `bytes` bytes, for when the size is
    /// predictable (the previous chunk of the same series): one allocation
    /// instead of several growth steps, which also fragments the heap less.
    pub fn with_capacity(bytes: usize) -> ChunkAppender {
        let mut a = ChunkAppender::new();
        a.w.reserve(bytes);
        a
    }

    /// Reopens a sealed chunk for appending by re-encoding its samples.
    pub fn reopen(chunk: &Chunk) -> Result<ChunkAppender, ChunkError> {
        let mut a = ChunkAppender::new();
        let mut it = chunk.iter();
        while let Some(s) = it.next_sample()? {
            a.append(s.t, s.v.to_bits());
        }
        Ok(a)
    }

    /// Number of samples so far.
    pub fn len(&self) -> u16 {
        self.count
    }

    /// Whether no sample was appended yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Oldest timestamp (meaningless when empty).
    pub fn min_t(&self) -> i64 {
        self.min_t
    }

    /// Newest timestamp and value bits, if any.
    pub fn last(&self) -> Option<(i64, u64)> {
        (self.count > 0).then_some((self.t, self.v))
    }

    /// Whether `t` must go into a new chunk: this one is full or `t` would
    /// make it span 2 hours or more.
    pub fn must_cut(&self, t: i64) -> bool {
        self.count >= MAX_SAMPLES || (self.count > 0 && t.wrapping_sub(self.min_t) >= MAX_SPAN_MS)
    }

    /// Encoded bytes so far (a valid chunk).
    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    /// Heap bytes held, for memory accounting.
    pub fn capacity(&self) -> usize {
        self.w.capacity()
    }

    /// Appends a sample. The caller keeps timestamps increasing and checks
    /// [`must_cut`](Self::must_cut) first; the 2-byte count caps a chunk at
    /// 65535 samples, and appends past that are ignored rather than
    /// corrupting the header.
    pub fn append(&mut self, t: i64, v: u64) {
        if self.count == u16::MAX {
            return;
        }
        match self.count {
            0 => {
                write_uvarint(&mut self.w, zigzag(t));
                self.w.write_bits(v, 64);
                self.min_t = t;
            }
            1 => {
                let delta = (t as u64).wrapping_sub(self.t as u64);
                write_uvarint(&mut self.w, delta);
                self.write_value(v);
                self.t_delta = delta;
            }
            _ => {
                let delta = (t as u64).wrapping_sub(self.t as u64);
                let dod = delta.wrapping_sub(self.t_delta) as i64;
                if dod == 0 {
                    self.w.write_bit(false);
                } else if fits(dod, 14) {
                    self.w.write_bits(0b10, 2);
                    self.w.write_bits(dod as u64, 14);
                } else if fits(dod, 17) {
                    self.w.write_bits(0b110, 3);
                    self.w.write_bits(dod as u64, 17);
                } else if fits(dod, 20) {
                    self.w.write_bits(0b1110, 4);
                    self.w.write_bits(dod as u64, 20);
                } else {
                    self.w.write_bits(0b1111, 4);
                    self.w.write_bits(dod as u64, 64);
                }
                self.write_value(v);
                self.t_delta = delta;
            }
        }
        self.t = t;
        self.v = v;
        self.count += 1;
        let header = self.count.to_be_bytes();
        self.w.bytes_mut()[..HEADER].copy_from_slice(&header);
    }

    fn write_value(&mut self, v: u64) {
        let xor = v ^ self.v;
        if xor == 0 {
            self.w.write_bit(false);
            return;
        }
        self.w.write_bit(true);
        // Leading zeros are stored in 5 bits, so at most 31.
        let leading = (xor.leading_zeros() as u8).min(31);
        let trailing = xor.trailing_zeros() as u8;
        if self.leading != u8::MAX && leading >= self.leading && trailing >= self.trailing {
            self.w.write_bit(false);
            let sig = 64 - self.leading - self.trailing;
            self.w.write_bits(xor >> self.trailing, sig);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            self.w.write_bit(true);
            self.w.write_bits(u64::from(leading), 5);
            let sig = 64 - leading - trailing;
            // 64 does not fit in 6 bits; 0 cannot occur (xor != 0), so it stands for 64.
            self.w.write_bits(u64::from(sig % 64), 6);
            self.w.write_bits(xor >> trailing, sig);
        }
    }

    /// Freezes the chunk, trimming its buffer.
    pub fn seal(self) -> Chunk {
        Chunk {
            min_t: self.min_t,
            max_t: self.t,
            data: self.w.into_boxed(),
        }
    }

    /// Iterates the samples so far.
    pub fn iter(&self) -> ChunkIter<'_> {
        ChunkIter::new(self.w.bytes())
    }
}

/// Whether `x` fits in `bits` bits of two's complement.
fn fits(x: i64, bits: u32) -> bool {
    let half = 1i64 << (bits - 1);
    (-half..half).contains(&x)
}

fn sign_extend(x: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((x << shift) as i64) >> shift
}

fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

fn unzigzag(x: u64) -> i64 {
    ((x >> 1) as i64) ^ -((x & 1) as i64)
}

fn write_uvarint(w: &mut BitWriter, mut x: u64) {
    while x >= 0x80 {
        w.write_byte((x as u8) | 0x80);
        x >>= 7;
    }
    w.write_byte(x as u8);
}

fn read_uvarint(r: &mut BitReader<'_>) -> Result<u64, EndOfStream> {
    let mut x = 0u64;
    for shift in (0..64).step_by(7) {
        let b = r.read_byte()?;
        x |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(x);
        }
    }
    Err(EndOfStream)
}

/// Decodes a chunk's samples in order.
#[derive(Debug, Clone)]
pub struct ChunkIter<'a> {
    r: BitReader<'a>,
    total: u16,
    read: u16,
    t: i64,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
    failed: bool,
}

impl<'a> ChunkIter<'a> {
    fn new(data: &'a [u8]) -> ChunkIter<'a> {
        let (total, body, failed) = match sample_count(data) {
            Ok(n) => (n, &data[HEADER..], false),
            Err(_) => (0, &data[..0], true),
        };
        ChunkIter {
            r: BitReader::new(body),
            total,
            read: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: 0,
            trailing: 0,
            failed,
        }
    }

    /// The next sample, `None` at the end, or why the bytes are not a chunk.
    pub fn next_sample(&mut self) -> Result<Option<Sample>, ChunkError> {
        if self.failed {
            return Err(ChunkError::NoHeader);
        }
        if self.read >= self.total {
            return Ok(None);
        }
        let at = self.read;
        match self.decode() {
            Ok(()) => {
                self.read += 1;
                Ok(Some(Sample {
                    t: self.t,
                    v: f64::from_bits(self.v),
                }))
            }
            Err(EndOfStream) => {
                self.failed = true;
                Err(ChunkError::Truncated(at))
            }
        }
    }

    fn decode(&mut self) -> Result<(), EndOfStream> {
        match self.read {
            0 => {
                self.t = unzigzag(read_uvarint(&mut self.r)?);
                self.v = self.r.read_bits(64)?;
            }
            1 => {
                let delta = read_uvarint(&mut self.r)?;
                self.t = (self.t as u64).wrapping_add(delta) as i64;
                self.t_delta = delta;
                self.read_value()?;
            }
            _ => {
                let mut prefix = 0;
                while prefix < 4 && self.r.read_bit()? {
                    prefix += 1;
                }
                let dod = match prefix {
                    0 => 0,
                    1 => sign_extend(self.r.read_bits(14)?, 14),
                    2 => sign_extend(self.r.read_bits(17)?, 17),
                    3 => sign_extend(self.r.read_bits(20)?, 20),
                    _ => self.r.read_bits(64)? as i64,
                };
                self.t_delta = self.t_delta.wrapping_add(dod as u64);
                self.t = (self.t as u64).wrapping_add(self.t_delta) as i64;
                self.read_value()?;
            }
        }
        Ok(())
    }

    fn read_value(&mut self) -> Result<(), EndOfStream> {
        if !self.r.read_bit()? {
            return Ok(());
        }
        if self.r.read_bit()? {
            self.leading = self.r.read_bits(5)? as u8;
            let mut sig = self.r.read_bits(6)? as u8;
            if sig == 0 {
                sig = 64;
            }
            // A corrupt length could exceed the window; clamp instead of overflowing.
            self.trailing = 64u8.saturating_sub(self.leading).saturating_sub(sig);
        }
        let sig = 64u8
            .saturating_sub(self.leading)
            .saturating_sub(self.trailing);
        let bits = self.r.read_bits(sig)?;
        let xor = if self.trailing >= 64 {
            0
        } else {
            bits << self.trailing
        };
        self.v ^= xor;
        Ok(())
    }
}

impl Iterator for ChunkIter<'_> {
    type Item = Sample;

    /// Yields samples; stops (without panicking) at corrupt bytes.
    fn next(&mut self) -> Option<Sample> {
        self.next_sample().ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::STALE_NAN;
    use proptest::prelude::*;

    fn encode(samples: &[(i64, u64)]) -> Chunk {
        let mut a = ChunkAppender::new();
        for &(t, v) in samples {
            a.append(t, v);
        }
        a.seal()
    }

    fn decode(c: &Chunk) -> Vec<(i64, u64)> {
        c.iter().map(|s| (s.t, s.v.to_bits())).collect()
    }

    #[test]
    fn special_floats_round_trip_bit_exact() {
        let vals = [
            STALE_NAN.to_bits(),
            f64::NAN.to_bits(),
            0x7ff8_dead_beef_0001,
            0xfff0_0000_0000_0001,
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            (-0.0f64).to_bits(),
            0.0f64.to_bits(),
            f64::MIN_POSITIVE.to_bits(),
            1,
        ];
        let samples: Vec<_> = vals
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as i64 * 15_000, v))
            .collect();
        let c = encode(&samples);
        assert_eq!(decode(&c), samples);
        assert_eq!(Chunk::from_bytes(c.bytes().to_vec()).unwrap(), c);
    }

    #[test]
    fn regular_scrapes_compress_to_about_a_byte_per_sample() {
        let samples: Vec<_> = (0..120)
            .map(|i| {
                (
                    1_700_000_000_000 + i * 15_000,
                    (1000.0 + i as f64).to_bits(),
                )
            })
            .collect();
        let c = encode(&samples);
        assert_eq!(decode(&c), samples);
        assert!(c.bytes().len() < 120 * 3, "{} bytes", c.bytes().len());
    }

    #[test]
    fn cut_rules() {
        let mut a = ChunkAppender::new();
        assert!(!a.must_cut(0));
        a.append(0, 0);
        assert!(!a.must_cut(MAX_SPAN_MS - 1));
        assert!(a.must_cut(MAX_SPAN_MS));
        for i in 1..MAX_SAMPLES {
            a.append(i64::from(i), 0);
        }
        assert!(a.must_cut(1000));
    }

    #[test]
    fn corrupt_bytes_are_an_error_not_a_panic() {
        let c = encode(&[(1, 1), (2, 2), (3, 3)]);
        for cut in 0..c.bytes().len() {
            assert!(Chunk::from_bytes(c.bytes()[..cut].to_vec()).is_err());
        }
        let mut garbage = vec![0, 5];
        garbage.extend([0xff; 40]);
        let _ = Chunk::from_bytes(garbage);
    }

    proptest! {
        #[test]
        fn round_trip(
            start in any::<i64>(),
            deltas in proptest::collection::vec(1u64..=u64::MAX / 256, 0..119),
            big in any::<bool>(),
            vals in proptest::collection::vec(any::<u64>(), 120),
        ) {
            let mut samples = Vec::new();
            let mut t = start;
            samples.push((t, vals[0]));
            for (i, d) in deltas.iter().enumerate() {
                let d = if big { *d } else { d % 100_000 + 1 };
                match t.checked_add(d as i64) {
                    Some(n) if d <= i64::MAX as u64 => t = n,
                    _ => break,
                }
                samples.push((t, vals[i + 1]));
            }
            let c = encode(&samples);
            prop_assert_eq!(decode(&c), samples.clone());
            let back = Chunk::from_bytes(c.bytes().to_vec()).unwrap();
            prop_assert_eq!(back.min_t(), samples[0].0);
            prop_assert_eq!(back.max_t(), samples[samples.len() - 1].0);
            let reopened = ChunkAppender::reopen(&back).unwrap();
            prop_assert_eq!(reopened.bytes(), c.bytes());
        }

        #[test]
        fn round_trip_repeated_and_close_values(
            base in any::<u64>(),
            flips in proptest::collection::vec((0u32..64, any::<bool>()), 1..120),
        ) {
            let samples: Vec<_> = flips
                .iter()
                .enumerate()
                .map(|(i, (bit, on))| (i as i64, if *on { base ^ (1 << bit) } else { base }))
                .collect();
            prop_assert_eq!(decode(&encode(&samples)), samples);
        }
    }
}
