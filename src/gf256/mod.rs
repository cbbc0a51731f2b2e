//! Arithmetic in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b),
//! the field SLIP-0039 and the usual Shamir implementations use.
//!
//! Every function here runs in time independent of the values it is told are secret:
//! no branch and no memory address depends on them. Which arguments are public is
//! stated on each function. Shamir split and combine only ever multiply secret bytes by
//! public constants (powers of public x coordinates, Lagrange coefficients), so the one
//! fast path, [`mul_add_slice`], takes its constant as public and its slices as secret.
//!
//! The fast path is a nibble-shuffle kernel (AVX2, or SSSE3) chosen by runtime CPU
//! detection, with a portable word-parallel fallback; both are constant time.

mod simd;

/// The signature of [`mul_sum`] and its kernels.
#[cfg(test)]
type MulSum = fn(&mut [u8], Option<&[u8]>, &[&[u8]], &[u8]);

/// Addition (and subtraction) in GF(2^8). Both arguments may be secret.
#[inline]
pub const fn add(a: u8, b: u8) -> u8 {
    a ^ b
}

/// Multiplication by x (the polynomial 0x02), reducing modulo 0x11b.
/// Its argument may be secret: the reduction is a mask, not a branch.
#[inline]
pub const fn xtime(a: u8) -> u8 {
    // 0x00 or 0xff, from the top bit, without a branch.
    let mask = 0u8.wrapping_sub(a >> 7);
    (a << 1) ^ (mask & 0x1b)
}

/// Product of two field elements. Both arguments may be secret: eight rounds of
/// shift-and-mask, no branch, no table.
#[inline]
pub const fn mul(a: u8, b: u8) -> u8 {
    let mut acc = 0u8;
    let mut p = a;
    let mut i = 0;
    while i < 8 {
        let bit_mask = 0u8.wrapping_sub((b >> i) & 1);
        acc ^= p & bit_mask;
        p = xtime(p);
        i += 1;
    }
    acc
}

/// Multiplicative inverse, computed as a^254 (a^255 = 1 for a ≠ 0). The argument may be
/// secret. By this formula the "inverse" of 0 is 0; callers that divide must reject a
/// zero divisor themselves (in Shamir code divisors are differences of distinct public
/// x coordinates, never zero).
#[inline]
pub const fn inv(a: u8) -> u8 {
    // 254 = 0b1111_1110. Chain: a^2, a^3, a^6, a^12, a^15, a^30, a^60, a^63, a^126, a^127, a^254.
    let a2 = mul(a, a);
    let a3 = mul(a2, a);
    let a6 = mul(a3, a3);
    let a12 = mul(a6, a6);
    let a15 = mul(a12, a3);
    let a30 = mul(a15, a15);
    let a60 = mul(a30, a30);
    let a63 = mul(a60, a3);
    let a126 = mul(a63, a63);
    let a127 = mul(a126, a);
    mul(a127, a127)
}

/// Quotient a / b. Both may be secret; b must be non-zero (see [`inv`]).
#[inline]
pub const fn div(a: u8, b: u8) -> u8 {
    mul(a, inv(b))
}

/// `dst[i] ^= c * src[i]` for every i.
///
/// `c` is public (it selects the kernel's tables); the bytes of `dst` and `src` may be
/// secret. Only the common prefix of the two slices is processed; callers pass slices
/// of equal length.
#[inline]
pub fn mul_add_slice(dst: &mut [u8], src: &[u8], c: u8) {
    if simd::mul_add_slice(dst, src, c) {
        return;
    }
    mul_add_slice_portable(dst, src, c);
}

/// The name of the kernel [`mul_add_slice`] uses on this CPU ("avx2", "ssse3" or
/// "portable"), for benchmarks and the constant-time gate.
pub fn kernel() -> &'static str {
    simd::kernel()
}

/// A `dst ^= c * src` kernel.
#[doc(hidden)]
pub type Kernel = fn(&mut [u8], &[u8], u8);

/// The SSSE3 kernel behind [`mul_add_slice`], callable directly (even where AVX2 is
/// taken) so that tests and the constant-time gate check it too; `None` on a CPU
/// without SSSE3. `c` is public; `dst` and `src` may be secret. Not API.
#[doc(hidden)]
pub fn mul_add_slice_ssse3() -> Option<Kernel> {
    simd::ssse3()
}

/// The portable kernel behind [`mul_add_slice`], callable directly so that tests and the
/// constant-time gate can check it on a CPU where the vector kernel is taken.
/// `c` is public; `dst` and `src` may be secret.
pub fn mul_add_slice_portable(dst: &mut [u8], src: &[u8], c: u8) {
    // Eight bytes per u64: xtime on all lanes at once, and for each set bit of the
    // public constant the corresponding multiple is XORed in through a mask.
    let masks: [u64; 8] = core::array::from_fn(|bit| 0u64.wrapping_sub(u64::from((c >> bit) & 1)));
    let mut dst_words = dst.chunks_exact_mut(8);
    let mut src_words = src.chunks_exact(8);
    for (d, s) in (&mut dst_words).zip(&mut src_words) {
        let mut word = [0u8; 8];
        word.copy_from_slice(s);
        let mut p = u64::from_le_bytes(word);
        let mut acc = 0u64;
        for mask in masks {
            acc ^= p & mask;
            p = xtime_u64(p);
        }
        word.copy_from_slice(d);
        let out = u64::from_le_bytes(word) ^ acc;
        d.copy_from_slice(&out.to_le_bytes());
    }
    for (d, s) in dst_words
        .into_remainder()
        .iter_mut()
        .zip(src_words.remainder())
    {
        *d ^= mul(c, *s);
    }
}

/// [`xtime`] on each of the eight bytes of a word.
#[inline]
const fn xtime_u64(v: u64) -> u64 {
    let high = (v >> 7) & 0x0101_0101_0101_0101;
    ((v & 0x7f7f_7f7f_7f7f_7f7f) << 1) ^ (high * 0x1b)
}

/// The two 16-entry tables of the nibble-shuffle kernel: `low[i] = c * i` and
/// `high[i] = c * (i << 4)`. They depend only on the public constant `c`, and are read
/// from [`NIBBLE_TABLES`] at an address chosen by `c` alone.
#[inline]
fn nibble_tables(c: u8) -> ([u8; 16], [u8; 16]) {
    NIBBLE_TABLES[usize::from(c)]
}

/// [`nibble_tables`] for every constant, built at compile time (8 KiB).
static NIBBLE_TABLES: [([u8; 16], [u8; 16]); 256] = {
    let mut all = [([0u8; 16], [0u8; 16]); 256];
    let mut c = 0;
    while c < 256 {
        let mut i = 0;
        while i < 16 {
            all[c].0[i] = mul(c as u8, i as u8);
            all[c].1[i] = mul(c as u8, (i as u8) << 4);
            i += 1;
        }
        c += 1;
    }
    all
};

/// `dst = plain ^ Σ_k consts[k] * rows[k]` (with `plain` absent, zero): the one pass of
/// Shamir split (the secret plus each coefficient row times a power of x) and of combine
/// (each share row times its Lagrange weight). Every row is read once and `dst` written
/// once, however many rows there are.
///
/// `consts` are public (they select the kernel's tables); the bytes of `dst`, `plain`
/// and `rows` may be secret. Only the common prefix of `dst`, `plain` and the rows is
/// written; callers pass slices of equal length. Extra rows or constants are ignored.
pub fn mul_sum(dst: &mut [u8], plain: Option<&[u8]>, rows: &[&[u8]], consts: &[u8]) {
    let len = rows
        .iter()
        .map(|row| row.len())
        .chain(plain.map(<[u8]>::len))
        .fold(dst.len(), usize::min);
    let dst = &mut dst[..len];
    let terms = rows.len().min(consts.len());
    if simd::mul_sum(dst, plain, &rows[..terms], &consts[..terms]) {
        return;
    }
    mul_sum_by_rows(dst, plain, &rows[..terms], &consts[..terms], mul_add_slice);
}

/// Shamir split of one piece: for every share `i`, bytes `at..at + secret.len()` of
/// `outputs[i]` become `secret ^ Σ_k consts[i * degree + k] · row_k`, where row `k` is
/// `coefficients[k * len..(k + 1) * len]` (the degree-(k + 1) coefficients, `len` the
/// secret's length), `degree = consts.len() / outputs.len()`, and `consts[i * degree + k]`
/// is `x_i^(k + 1)`. With AVX2 it runs column by column, each 32 bytes of the secret and
/// the rows read once for all shares; otherwise share by share through [`mul_sum`].
///
/// `consts`, `at` and the lengths are public; the secret, the coefficients and the
/// outputs may be secret. The callers check the shapes (every output holds the piece,
/// `coefficients` is `degree` rows, `consts` one entry per share and row); a call that
/// does not fit them writes nothing.
pub(crate) fn split_sum(
    outputs: &mut [&mut [u8]],
    at: usize,
    secret: &[u8],
    coefficients: &[u8],
    consts: &[u8],
) {
    let len = secret.len();
    let Some(degree) = consts.len().checked_div(outputs.len()) else {
        return;
    };
    if len == 0
        || consts.len() != degree * outputs.len()
        || coefficients.len() != degree * len
        || outputs.iter().any(|out| out.len() < at + len)
    {
        return;
    }
    if simd::split_sum(outputs, at, secret, coefficients, consts) {
        return;
    }
    let rows: Vec<&[u8]> = coefficients.chunks_exact(len).collect();
    for (i, out) in outputs.iter_mut().enumerate() {
        mul_sum(
            &mut out[at..at + len],
            Some(secret),
            &rows,
            &consts[i * degree..(i + 1) * degree],
        );
    }
}

/// [`mul_sum`] on the portable kernel only, for tests and the constant-time gate on a
/// CPU where the vector kernels are taken. Same public/secret split as [`mul_sum`].
pub fn mul_sum_portable(dst: &mut [u8], plain: Option<&[u8]>, rows: &[&[u8]], consts: &[u8]) {
    let len = rows
        .iter()
        .map(|row| row.len())
        .chain(plain.map(<[u8]>::len))
        .fold(dst.len(), usize::min);
    mul_sum_by_rows(&mut dst[..len], plain, rows, consts, mul_add_slice_portable);
}

/// [`mul_sum`] as one pass of `kernel` per row. `dst` is already cut to length.
fn mul_sum_by_rows(
    dst: &mut [u8],
    plain: Option<&[u8]>,
    rows: &[&[u8]],
    consts: &[u8],
    kernel: fn(&mut [u8], &[u8], u8),
) {
    match plain {
        Some(plain) => dst.copy_from_slice(&plain[..dst.len()]),
        None => dst.fill(0),
    }
    for (row, &c) in rows.iter().zip(consts) {
        kernel(dst, row, c);
    }
}

/// Arithmetic on *public* values only (x coordinates, their powers, Lagrange weights):
/// log and antilog tables, whose addresses depend on the operands. Never call these on a
/// secret; the constant-time functions above are for that.
pub(crate) mod public {
    /// `LOG[a]` for a ≠ 0 and `EXP[i]` = 3^i, doubled so that a sum of two logs needs
    /// no reduction. 3 generates the multiplicative group of GF(2^8) mod 0x11b.
    static TABLES: ([u8; 256], [u8; 510]) = {
        let mut log = [0u8; 256];
        let mut exp = [0u8; 510];
        let mut x: u8 = 1;
        let mut i = 0;
        while i < 255 {
            exp[i] = x;
            exp[i + 255] = x;
            log[x as usize] = i as u8;
            x = super::mul(x, 3);
            i += 1;
        }
        (log, exp)
    };

    /// Product of two public field elements.
    #[inline]
    pub(crate) fn mul(a: u8, b: u8) -> u8 {
        if a == 0 || b == 0 {
            return 0;
        }
        let (log, exp) = &TABLES;
        exp[usize::from(log[usize::from(a)]) + usize::from(log[usize::from(b)])]
    }

    /// Quotient of two public field elements; `b` must be non-zero (0 gives 0).
    #[inline]
    pub(crate) fn div(a: u8, b: u8) -> u8 {
        if a == 0 || b == 0 {
            return 0;
        }
        let (log, exp) = &TABLES;
        exp[usize::from(log[usize::from(a)]) + 255 - usize::from(log[usize::from(b)])]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Carry-less schoolbook product reduced bit by bit: slow, obviously right.
    fn reference_mul(a: u8, b: u8) -> u8 {
        let mut product: u16 = 0;
        for i in 0..8 {
            if (b >> i) & 1 == 1 {
                product ^= u16::from(a) << i;
            }
        }
        for bit in (8..16).rev() {
            if (product >> bit) & 1 == 1 {
                product ^= 0x11b << (bit - 8);
            }
        }
        product as u8
    }

    #[test]
    fn every_product_matches_the_reference() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), reference_mul(a, b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn every_inverse_is_an_inverse() {
        assert_eq!(inv(0), 0);
        for a in 1..=255u8 {
            let i = inv(a);
            assert_eq!(reference_mul(a, i), 1, "inverse of {a}");
            // And it is the only one.
            assert_eq!((1..=255u8).filter(|&b| reference_mul(a, b) == 1).count(), 1);
        }
    }

    #[test]
    fn known_aes_products() {
        // FIPS-197 section 4.2: {57} * {83} = {c1}, {57} * {13} = {fe}.
        assert_eq!(mul(0x57, 0x83), 0xc1);
        assert_eq!(mul(0x57, 0x13), 0xfe);
        assert_eq!(xtime(0x57), 0xae);
        assert_eq!(xtime(0xae), 0x47);
    }

    #[test]
    fn nibble_tables_hold_the_products() {
        for c in 0..=255u8 {
            let (low, high) = nibble_tables(c);
            for i in 0..16u8 {
                assert_eq!(low[usize::from(i)], reference_mul(c, i));
                assert_eq!(high[usize::from(i)], reference_mul(c, i << 4));
            }
        }
    }

    fn check_kernel(kernel: fn(&mut [u8], &[u8], u8)) {
        // Every constant, every byte value, and lengths that exercise every tail.
        let src: Vec<u8> = (0..=255u8).chain(0..=255u8).chain(0..77).collect();
        for c in 0..=255u8 {
            for len in [
                0,
                1,
                7,
                8,
                15,
                16,
                17,
                31,
                32,
                33,
                63,
                64,
                65,
                255,
                256,
                src.len(),
            ] {
                let init: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31)).collect();
                let mut dst = init.clone();
                kernel(&mut dst, &src[..len], c);
                for i in 0..len {
                    assert_eq!(
                        dst[i],
                        init[i] ^ reference_mul(c, src[i]),
                        "c={c} len={len} i={i}"
                    );
                }
            }
        }
    }

    #[test]
    fn portable_kernel_matches_the_reference() {
        check_kernel(mul_add_slice_portable);
    }

    #[test]
    fn dispatched_kernel_matches_the_reference() {
        check_kernel(mul_add_slice);
    }

    #[test]
    fn each_vector_kernel_this_cpu_has_matches_the_reference() {
        for name in simd::available() {
            check_kernel(simd::by_name(name));
        }
    }

    #[test]
    fn public_arithmetic_matches_the_constant_time_one() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(public::mul(a, b), reference_mul(a, b), "{a} * {b}");
                if b != 0 {
                    assert_eq!(public::div(a, b), mul(a, inv(b)), "{a} / {b}");
                }
            }
        }
    }

    /// `plain ^ Σ c_k row_k` byte by byte with the reference multiply.
    fn reference_mul_sum(
        plain: Option<&[u8]>,
        rows: &[&[u8]],
        consts: &[u8],
        len: usize,
    ) -> Vec<u8> {
        (0..len)
            .map(|i| {
                rows.iter()
                    .zip(consts)
                    .fold(plain.map_or(0, |p| p[i]), |acc, (row, &c)| {
                        acc ^ reference_mul(c, row[i])
                    })
            })
            .collect()
    }

    fn check_mul_sum(kernel: MulSum) {
        let bytes = |len: usize, seed: u8| -> Vec<u8> {
            (0..len)
                .map(|i| (i as u8).wrapping_mul(seed | 1).wrapping_add(seed) ^ (i >> 8) as u8)
                .collect()
        };
        // Every term count up to past the kernel's group of four, every tail length.
        for terms in 0..=10usize {
            for len in [0usize, 1, 15, 16, 31, 32, 33, 64, 95, 100, 1000] {
                let owned: Vec<Vec<u8>> =
                    (0..terms).map(|k| bytes(len, 7 + 13 * k as u8)).collect();
                let rows: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
                let consts: Vec<u8> = (0..terms)
                    .map(|k| [0u8, 1, 2, 0x53, 0xff, 0x8e][k % 6] ^ k as u8)
                    .collect();
                let plain = bytes(len, 99);
                for plain in [None, Some(plain.as_slice())] {
                    let mut dst = bytes(len, 200);
                    kernel(&mut dst, plain, &rows, &consts);
                    assert_eq!(
                        dst,
                        reference_mul_sum(plain, &rows, &consts, len),
                        "terms {terms} len {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn mul_sum_matches_the_reference() {
        check_mul_sum(mul_sum);
    }

    #[test]
    fn portable_mul_sum_matches_the_reference() {
        check_mul_sum(mul_sum_portable);
    }

    #[test]
    fn each_fused_kernel_this_cpu_has_matches_the_reference() {
        for kernel in simd::mul_sum_kernels() {
            check_mul_sum(kernel);
        }
    }
}
