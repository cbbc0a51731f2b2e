//! Branch-free masks for the share-text codec, and [`public`], the one function that
//! makes a value computed from share text public on purpose.
//!
//! A mask is a `u64` that is all ones (true) or all zeros (false); conditions on secret
//! data are computed as masks with arithmetic and combined with AND/OR, never with `if`
//! or `match`, and never used as an index or a loop bound.

/// All ones when `x != 0`.
#[inline(always)]
pub(crate) fn nonzero(x: u64) -> u64 {
    ((x | x.wrapping_neg()) >> 63).wrapping_neg()
}

/// All ones when `a == b`.
#[inline(always)]
pub(crate) fn eq(a: u64, b: u64) -> u64 {
    !nonzero(a ^ b)
}

/// All ones when `a < b`; both below 2^63 (the codec's values are bytes, lengths and
/// positions).
#[inline(always)]
pub(crate) fn lt(a: u64, b: u64) -> u64 {
    (a.wrapping_sub(b) >> 63).wrapping_neg()
}

/// `a` where `mask` is set, else `b`.
#[inline(always)]
pub(crate) fn select(mask: u64, a: u64, b: u64) -> u64 {
    let mask = opaque(mask);
    (a & mask) | (b & !mask)
}

/// `mask`, hidden from the optimiser. Knowing that a mask can only be all ones or all
/// zeros, the compiler turns `acc |= x & mask` in a loop into "if mask, acc |= x" — a
/// branch on the secret (the constant-time gate caught exactly that in the word-list
/// scans). Passing the mask through `black_box` takes that knowledge away.
#[inline(always)]
pub(crate) fn opaque(mask: u64) -> u64 {
    std::hint::black_box(mask)
}

/// Makes `x` public: returns the same value, built bit by bit under branches, so that
/// from here on it is an ordinary public value (this is what lets the constant-time gate
/// check everything after it).
///
/// # Security
///
/// This *is* a branch on `x`: the only function of the codec that may branch on a value
/// computed from secret data. It is called on exactly these, each public by design:
/// the number of words in a share text, whether every word is a known word (a share with
/// a mistyped word goes on to the error path), whether the checksum matches, the four
/// header words (identifier, flags, group and member indices and thresholds: public
/// fields), whether the padding bits are zero, and the length of a share's canonical
/// text (which the request that carries it, and the sealed keyslot that holds it, show
/// anyway). Nothing else; `tests/constant_time.rs` allows branches here and nowhere else
/// in the codec.
#[inline(never)]
pub(crate) fn public(x: u64) -> u64 {
    let mut out = 0u64;
    for bit in 0..64 {
        if (x >> bit) & 1 == 1 {
            // `black_box` keeps this a real branch: the compiler may not turn it into
            // `out = x`, which would keep the value "secret" for the checker.
            out |= std::hint::black_box(1u64) << bit;
        }
    }
    out
}

/// [`public`] for a mask: true when set.
pub(crate) fn public_bool(mask: u64) -> bool {
    public(mask & 1) == 1
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        for (a, b) in [
            (0u64, 0u64),
            (0, 1),
            (1, 0),
            (7, 7),
            (8, 3),
            (3, 8),
            (1023, 1024),
        ] {
            assert_eq!(eq(a, b), if a == b { u64::MAX } else { 0 }, "{a} {b}");
            assert_eq!(lt(a, b), if a < b { u64::MAX } else { 0 }, "{a} {b}");
            assert_eq!(nonzero(a), if a != 0 { u64::MAX } else { 0 }, "{a}");
            assert_eq!(select(eq(a, b), 5, 9), if a == b { 5 } else { 9 });
        }
        for x in [
            0u64,
            1,
            2,
            0x8000_0000_0000_0000,
            u64::MAX,
            0x1234_5678_9abc_def0,
        ] {
            assert_eq!(public(x), x);
        }
        assert!(public_bool(u64::MAX));
        assert!(!public_bool(0));
    }
}
