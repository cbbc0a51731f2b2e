//! Big-endian bit packing between 10-bit word values and share fields.
//!
//! SLIP-0039, "Format of the share mnemonic": the share's fields are concatenated and
//! "converted into a mnemonic code by splitting it up into 10-bit segments ...
//! Big-endian bit order is used in all conversions."
//!
//! The reader and writer shift and mask only; they never branch on or index by the
//! bits they carry, so share values pass through in constant time.

use zeroize::Zeroize;

/// Bits per word.
pub(crate) const WORD_BITS: usize = 10;

/// Reads fields of up to 16 bits from a sequence of 10-bit words.
pub(crate) struct BitReader<'a> {
    words: &'a [u16],
    next_word: usize,
    acc: u32,
    acc_bits: usize,
}

impl<'a> BitReader<'a> {
    /// A reader positioned at the first bit of `words`.
    pub(crate) fn new(words: &'a [u16]) -> BitReader<'a> {
        BitReader {
            words,
            next_word: 0,
            acc: 0,
            acc_bits: 0,
        }
    }

    /// The next `bits` bits (at most 16) as an unsigned number, or `None` when fewer
    /// than `bits` remain.
    pub(crate) fn read(&mut self, bits: usize) -> Option<u16> {
        if bits > 16 {
            return None;
        }
        while self.acc_bits < bits {
            let word = self.words.get(self.next_word)?;
            self.next_word += 1;
            // acc_bits < 16 here, so the accumulator never exceeds 26 bits.
            self.acc = (self.acc << WORD_BITS) | u32::from(*word & 0x3ff);
            self.acc_bits += WORD_BITS;
        }
        self.acc_bits -= bits;
        let value = (self.acc >> self.acc_bits) & ((1u32 << bits) - 1);
        self.acc &= (1u32 << self.acc_bits) - 1;
        u16::try_from(value).ok()
    }
}

impl Drop for BitReader<'_> {
    fn drop(&mut self) {
        self.acc.zeroize();
    }
}

/// Writes fields of up to 16 bits into 10-bit words.
pub(crate) struct BitWriter {
    words: Vec<u16>,
    acc: u32,
    acc_bits: usize,
}

impl BitWriter {
    /// An empty writer with room for `words` words.
    pub(crate) fn with_capacity(words: usize) -> BitWriter {
        BitWriter {
            words: Vec::with_capacity(words),
            acc: 0,
            acc_bits: 0,
        }
    }

    /// Appends the low `bits` bits (at most 16) of `value`.
    pub(crate) fn write(&mut self, value: u16, bits: usize) {
        let bits = bits.min(16);
        let mask = (1u32 << bits) - 1;
        self.acc = (self.acc << bits) | (u32::from(value) & mask);
        self.acc_bits += bits;
        while self.acc_bits >= WORD_BITS {
            self.acc_bits -= WORD_BITS;
            let word = (self.acc >> self.acc_bits) & 0x3ff;
            self.words.push(u16::try_from(word).unwrap_or(0));
        }
        self.acc &= (1u32 << self.acc_bits) - 1;
    }

    /// The words written so far; a partial last word (if any) is dropped, so callers
    /// write whole words.
    pub(crate) fn finish(mut self) -> Vec<u16> {
        self.acc.zeroize();
        std::mem::take(&mut self.words)
    }
}

impl Drop for BitWriter {
    fn drop(&mut self) {
        self.acc.zeroize();
        self.words.zeroize();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let fields: [(u16, usize); 9] = [
            (0x5a5a & 0x7fff, 15),
            (1, 1),
            (9, 4),
            (3, 4),
            (1, 4),
            (15, 4),
            (0, 4),
            (2, 4),
            (0xbeef, 16),
        ];
        let mut w = BitWriter::with_capacity(8);
        for (v, b) in fields {
            w.write(v, b);
        }
        w.write(0, 4); // fill to 60 bits = 6 words
        let words = w.finish();
        assert_eq!(words.len(), 6);
        assert!(words.iter().all(|&x| x < 1024));
        let mut r = BitReader::new(&words);
        for (v, b) in fields {
            assert_eq!(r.read(b), Some(v));
        }
        assert_eq!(r.read(4), Some(0));
        assert_eq!(r.read(1), None);
    }

    #[test]
    fn big_endian_order() {
        // 0b1000000000 0b0000000001: first bit of the stream is the top bit of word 0.
        let words = [512u16, 1];
        let mut r = BitReader::new(&words);
        assert_eq!(r.read(1), Some(1));
        assert_eq!(r.read(18), None);
        let mut r = BitReader::new(&words);
        assert_eq!(r.read(16), Some(0x8000));
        assert_eq!(r.read(4), Some(1));
        let mut w = BitWriter::with_capacity(2);
        w.write(0x8000, 16);
        w.write(1, 4);
        assert_eq!(w.finish(), vec![512, 1]);
    }

    #[test]
    fn bytes_through_words() {
        let bytes: Vec<u8> = (0..32u8).map(|b| b.wrapping_mul(37) ^ 0xa5).collect();
        let mut w = BitWriter::with_capacity(26);
        w.write(0, 4); // padding for 256 bits -> 260
        for &b in &bytes {
            w.write(u16::from(b), 8);
        }
        let words = w.finish();
        assert_eq!(words.len(), 26);
        let mut r = BitReader::new(&words);
        assert_eq!(r.read(4), Some(0));
        let back: Vec<u8> = (0..32).map(|_| r.read(8).unwrap() as u8).collect();
        assert_eq!(back, bytes);
    }
}
