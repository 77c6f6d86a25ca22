//! Bit-level writer and reader for the XOR chunk encoding.
//!
//! Gorilla compression spends single bits on the common cases (same delta,
//! same value), so chunks are written and read bit by bit, most significant
//! bit first, over a plain byte buffer.

/// Reading ran past the end of the data: the chunk is truncated or corrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bit stream ended early")]
pub struct EndOfStream;

/// Appends bits to a growable byte buffer.
///
/// Exists so the open head chunk can grow in place without re-encoding.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Unused low bits in the last byte (0 means the next bit starts a new byte).
    free: u8,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> BitWriter {
        BitWriter::default()
    }

    /// A writer whose buffer starts with `prefix` (whole bytes).
    pub fn with_prefix(prefix: &[u8]) -> BitWriter {
        BitWriter {
            bytes: prefix.to_vec(),
            free: 0,
        }
    }

    /// Makes room for `additional` more bytes.
    pub fn reserve(&mut self, additional: usize) {
        self.bytes.reserve_exact(additional);
    }

    /// Writes one bit.
    pub fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.reserve_one();
            self.bytes.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if bit && let Some(last) = self.bytes.last_mut() {
            *last |= 1 << self.free;
        }
    }

    /// Writes the low `nbits` bits of `value` (at most 64), high bit first.
    pub fn write_bits(&mut self, value: u64, nbits: u8) {
        let mut left = nbits.min(64);
        while left > 0 {
            if self.free == 0 {
                self.reserve_one();
                self.bytes.push(0);
                self.free = 8;
            }
            let take = left.min(self.free);
            // The `take` bits just below bit `left` of value.
            let chunk = ((value >> (left - take)) & ((1u64 << take) - 1)) as u8;
            self.free -= take;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << self.free;
            }
            left -= take;
        }
    }

    /// Writes a whole byte (not necessarily byte-aligned).
    pub fn write_byte(&mut self, b: u8) {
        self.write_bits(u64::from(b), 8);
    }

    /// The bytes written so far; the last byte may be partly used.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Mutable access to the bytes, for patching a fixed header in place.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Hands the buffer over, trimmed to its length.
    pub fn into_boxed(self) -> Box<[u8]> {
        self.bytes.into_boxed_slice()
    }

    /// Bytes of heap memory held, for memory accounting.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Grows the buffer by small steps: a head chunk rarely exceeds a few
    /// hundred bytes, and doubling would waste up to half of it per series.
    fn reserve_one(&mut self) {
        if self.bytes.len() == self.bytes.capacity() {
            let step = (self.bytes.len() / 4).clamp(16, 256);
            self.bytes.reserve_exact(step);
        }
    }
}

/// Reads bits from a byte slice, high bit first.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Position in bits from the start of `bytes`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, pos: 0 }
    }

    /// Reads one bit.
    pub fn read_bit(&mut self) -> Result<bool, EndOfStream> {
        let byte = *self.bytes.get(self.pos / 8).ok_or(EndOfStream)?;
        let bit = (byte >> (7 - (self.pos % 8))) & 1 == 1;
        self.pos += 1;
        Ok(bit)
    }

    /// Reads `nbits` bits (at most 64) as the low bits of a `u64`.
    pub fn read_bits(&mut self, nbits: u8) -> Result<u64, EndOfStream> {
        let nbits = usize::from(nbits.min(64));
        if self.pos + nbits > self.bytes.len() * 8 {
            return Err(EndOfStream);
        }
        let mut out = 0u64;
        let mut left = nbits;
        while left > 0 {
            let byte = self.bytes[self.pos / 8];
            let used = self.pos % 8;
            let avail = 8 - used;
            let take = left.min(avail);
            let chunk = (byte >> (avail - take)) & (((1u16 << take) - 1) as u8);
            out = (out << take) | u64::from(chunk);
            self.pos += take;
            left -= take;
        }
        Ok(out)
    }

    /// Reads one byte (not necessarily aligned).
    pub fn read_byte(&mut self) -> Result<u8, EndOfStream> {
        Ok(self.read_bits(8)? as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_across_byte_boundaries() {
        let mut w = BitWriter::new();
        w.write_bit(true);
        w.write_bits(0b101, 3);
        w.write_bits(u64::MAX, 64);
        w.write_bits(0x1234, 13);
        w.write_byte(0xab);
        w.write_bit(false);
        let mut r = BitReader::new(w.bytes());
        assert!(r.read_bit().unwrap());
        assert_eq!(r.read_bits(3).unwrap(), 0b101);
        assert_eq!(r.read_bits(64).unwrap(), u64::MAX);
        assert_eq!(r.read_bits(13).unwrap(), 0x1234 & 0x1fff);
        assert_eq!(r.read_byte().unwrap(), 0xab);
        assert!(!r.read_bit().unwrap());
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_bits(8).unwrap(), 0xff);
        assert_eq!(r.read_bit(), Err(EndOfStream));
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_bits(9), Err(EndOfStream));
    }
}
