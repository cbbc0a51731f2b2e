//! RS1024: the three-word Reed–Solomon checksum over GF(1024) that ends every share.
//!
//! SLIP-0039, "Checksum": "The last three words of the mnemonic form a checksum and
//! contain no information", computed by `rs1024_polymod` over the customization
//! string's ASCII values followed by the data words, and valid when the result is 1.
//! The generator constants below are the ones the specification lists.
//!
//! Everything here works on word values of share text, which is public input; the
//! loops still avoid data-dependent branches because it costs nothing.

/// The `GEN` constants of `rs1024_polymod` in SLIP-0039.
const GEN: [u32; 10] = [
    0x00e0_e040,
    0x01c1_c080,
    0x0383_8100,
    0x0707_0200,
    0x0e0e_0009,
    0x1c0c_2412,
    0x3808_6c24,
    0x3090_fc48,
    0x21b1_f890,
    0x03f3_f120,
];

/// Number of checksum words at the end of a share.
pub(crate) const CHECKSUM_WORDS: usize = 3;

/// The customization string, chosen by the share's extendable flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Customization {
    /// `"shamir"`, for shares with `ext` = 0.
    Original,
    /// `"shamir_extendable"`, for shares with `ext` = 1.
    Extendable,
}

impl Customization {
    /// The customization string for an extendable flag.
    pub(crate) fn for_extendable(extendable: bool) -> Customization {
        if extendable {
            Customization::Extendable
        } else {
            Customization::Original
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Customization::Original => b"shamir",
            Customization::Extendable => b"shamir_extendable",
        }
    }
}

/// One step of the checksum register: shift in `value` (10 bits).
fn step(chk: u32, value: u16) -> u32 {
    let top = chk >> 20;
    let mut next = ((chk & 0x000f_ffff) << 10) ^ u32::from(value);
    for (i, g) in GEN.iter().enumerate() {
        // All ones when bit i of `top` is set, else zero.
        let mask = 0u32.wrapping_sub((top >> i) & 1);
        next ^= g & mask;
    }
    next
}

/// `rs1024_polymod(cs || values)`.
pub(crate) fn polymod(cs: Customization, values: &[u16]) -> u32 {
    let mut chk = 1u32;
    for &b in cs.bytes() {
        chk = step(chk, u16::from(b));
    }
    for &v in values {
        chk = step(chk, v);
    }
    chk
}

/// Whether `words` (data followed by the three checksum words) has a valid checksum.
pub(crate) fn verify(cs: Customization, words: &[u16]) -> bool {
    polymod(cs, words) == 1
}

/// The three checksum words for `data`.
pub(crate) fn create(cs: Customization, data: &[u16]) -> [u16; CHECKSUM_WORDS] {
    let mut chk = polymod(cs, data);
    for _ in 0..CHECKSUM_WORDS {
        chk = step(chk, 0);
    }
    let residue = chk ^ 1;
    let word = |shift: u32| u16::try_from((residue >> shift) & 0x3ff).unwrap_or(0);
    [word(20), word(10), word(0)]
}

/// For every position of `words`, the one value (if any) that, put at that position
/// instead of the current word, makes the checksum valid under `cs`.
///
/// The register is linear over GF(2): changing the word at position `i` by XOR with
/// `d` changes the final register by `Mₙ(d) = stepⁿ(d)` for the `n = len - 1 - i` zero
/// steps that follow it. Each step is invertible, so `Mₙ` is one-to-one and at most one
/// `d` per position repairs the checksum. It is found by solving `Mₙ(d) = residue`, a
/// 30×10 linear system over GF(2), by elimination on the images of the ten bits of
/// `d` — a few hundred operations per position instead of recomputing the checksum for
/// each of the 1024 candidate words.
///
/// Returns `(position, value)` pairs, in order of position; `value` equals the current
/// word exactly when the checksum is already valid.
pub(crate) fn repairs(cs: Customization, words: &[u16]) -> Vec<(usize, u16)> {
    let target = polymod(cs, words) ^ 1;
    let mut found = Vec::new();
    // images[b] = the effect on the final register of flipping bit b of the word at
    // the current position; starts at the last word (no steps follow it).
    let mut images: [u32; 10] = std::array::from_fn(|b| 1u32 << b);
    for (pos, &current) in words.iter().enumerate().rev() {
        if let Some(d) = solve(&images, target) {
            found.push((pos, current ^ d));
        }
        for image in &mut images {
            *image = step(*image, 0);
        }
    }
    found.reverse();
    found
}

/// The `d` (10 bits) with `XOR of images[b] for each set bit b of d == target`, if
/// any, by Gaussian elimination over GF(2).
fn solve(images: &[u32; 10], target: u32) -> Option<u16> {
    // Rows in echelon form: (vector, which bits of d make it up, pivot bit). Each row
    // is free of the pivot bits of the rows before it.
    let mut rows: [(u32, u16, u32); 10] = [(0, 0, 0); 10];
    let mut len = 0;
    for (b, &image) in images.iter().enumerate() {
        let (mut v, mut combo) = (image, 1u16 << b);
        for &(rv, rc, pivot) in rows.iter().take(len) {
            if v & pivot != 0 {
                v ^= rv;
                combo ^= rc;
            }
        }
        if v != 0 {
            let pivot = 1u32 << (31 - v.leading_zeros());
            if let Some(row) = rows.get_mut(len) {
                *row = (v, combo, pivot);
                len += 1;
            }
        }
    }
    let (mut rest, mut d) = (target, 0u16);
    for &(rv, rc, pivot) in rows.iter().take(len) {
        if rest & pivot != 0 {
            rest ^= rv;
            d ^= rc;
        }
    }
    (rest == 0).then_some(d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn slow_valid(cs: Customization, words: &[u16]) -> bool {
        verify(cs, words)
    }

    #[test]
    fn create_then_verify() {
        for cs in [Customization::Original, Customization::Extendable] {
            for len in [0usize, 1, 4, 17, 30] {
                let mut data: Vec<u16> = (0..len).map(|i| ((i * 389 + 7) % 1024) as u16).collect();
                let sum = create(cs, &data);
                data.extend_from_slice(&sum);
                assert!(verify(cs, &data));
                let other = match cs {
                    Customization::Original => Customization::Extendable,
                    Customization::Extendable => Customization::Original,
                };
                assert!(!verify(other, &data), "customization string must matter");
            }
        }
    }

    #[test]
    fn known_share_checks() {
        // Vector 1 of SLIP-0039: "duckling enlarge academic academic agency result ...".
        let text = "duckling enlarge academic academic agency result length solution fridge kidney coal piece deal husband erode duke ajar critical decision keyboard";
        let words: Vec<u16> = text
            .split_whitespace()
            .map(|w| super::super::words::lookup(w).unwrap())
            .collect();
        assert!(verify(Customization::Original, &words));
        assert!(!verify(Customization::Extendable, &words));
        let n = words.len();
        assert_eq!(
            create(Customization::Original, &words[..n - 3]),
            words[n - 3..]
        );
    }

    #[test]
    fn detects_up_to_three_errors() {
        let cs = Customization::Original;
        let mut data: Vec<u16> = (0..17).map(|i| (i * 61 % 1024) as u16).collect();
        let sum = create(cs, &data);
        data.extend_from_slice(&sum);
        for i in 0..data.len() {
            for j in i + 1..data.len() {
                for k in j + 1..data.len() {
                    let mut bad = data.clone();
                    bad[i] ^= 1 + (i as u16 * 7) % 1023;
                    bad[j] ^= 1 + (j as u16 * 13) % 1023;
                    bad[k] ^= 512;
                    assert!(!verify(cs, &bad));
                }
            }
        }
    }

    #[test]
    fn repairs_agrees_with_brute_force() {
        let cs = Customization::Extendable;
        let mut data: Vec<u16> = (0..30).map(|i| (i * 97 % 1024) as u16).collect();
        let sum = create(cs, &data);
        data.extend_from_slice(&sum);
        assert_eq!(
            repairs(cs, &data).len(),
            data.len(),
            "valid: every position repairs to itself"
        );
        for (pos, value) in repairs(cs, &data) {
            assert_eq!(data[pos], value);
        }
        for (pos, delta) in [(0usize, 1u16), (5, 1023), (16, 300), (32, 77)] {
            let mut bad = data.clone();
            bad[pos] ^= delta;
            let fast = repairs(cs, &bad);
            let mut slow = Vec::new();
            for p in 0..bad.len() {
                for v in 0..1024u16 {
                    let mut c = bad.clone();
                    c[p] = v;
                    if slow_valid(cs, &c) {
                        slow.push((p, v));
                    }
                }
            }
            assert_eq!(fast, slow);
            assert_eq!(fast, vec![(pos, data[pos])]);
        }
    }
}
