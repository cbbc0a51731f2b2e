//! Vector kernels for `dst ^= c * src` with a public constant `c`: the nibble-shuffle
//! method. The two 16-entry tables depend only on `c`; the secret bytes are split into
//! nibbles that select table entries *inside a register* (`pshufb`), never by a memory
//! address, so the kernels are constant time like the portable one.
//!
//! This is one of the two modules allowed `unsafe`: calling a `#[target_feature]`
//! function and unaligned vector loads and stores need it. Each block says why it holds.
#![allow(unsafe_code)]

/// Runs the best vector kernel this CPU has, if any and if the slice is long enough to
/// pay for the tables. Returns false when the caller should use the portable kernel.
#[inline]
pub(super) fn mul_add_slice(dst: &mut [u8], src: &[u8], c: u8) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if dst.len().min(src.len()) < 16 {
            return false;
        }
        if std::is_x86_feature_detected!("avx2") {
            x86::mul_add_avx2_checked(dst, src, c);
            return true;
        }
        if std::is_x86_feature_detected!("ssse3") {
            x86::mul_add_ssse3_checked(dst, src, c);
            return true;
        }
    }
    let _ = (dst, src, c);
    false
}

/// The fused `dst = plain ^ Σ c_k · rows_k` kernel (AVX2) when this CPU has it and the
/// slice is long enough; false when the caller should combine row by row.
#[inline]
pub(super) fn mul_sum(dst: &mut [u8], plain: Option<&[u8]>, rows: &[&[u8]], consts: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if dst.len() >= 32 && std::is_x86_feature_detected!("avx2") {
            x86::mul_sum_avx2_checked(dst, plain, rows, consts);
            return true;
        }
    }
    let _ = (dst, plain, rows, consts);
    false
}

/// The fused split kernel (AVX2) for `gf256::split_sum` when this CPU has it, column by
/// column, so that each 32 bytes of the secret and of the coefficient rows are loaded and
/// split into nibbles once for all the shares. The caller has checked the shapes. False
/// when the caller should go share by share.
#[inline]
pub(super) fn split_sum(
    outputs: &mut [&mut [u8]],
    at: usize,
    secret: &[u8],
    coefficients: &[u8],
    consts: &[u8],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked on the line above.
            unsafe { x86::split_sum_avx2(outputs, at, secret, coefficients, consts) };
            return true;
        }
    }
    let _ = (outputs, at, secret, coefficients, consts);
    false
}

/// The kernel [`mul_add_slice`] takes on this CPU.
pub(super) fn kernel() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            return "avx2";
        }
        if std::is_x86_feature_detected!("ssse3") {
            return "ssse3";
        }
    }
    "portable"
}

/// The SSSE3 kernel, if this CPU has SSSE3, whatever [`mul_add_slice`] dispatches to:
/// so that the constant-time gate can check it on a CPU that takes AVX2.
pub(super) fn ssse3() -> Option<super::Kernel> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("ssse3") {
            return Some(x86::mul_add_ssse3_checked);
        }
    }
    None
}

/// Every vector kernel this CPU can run, by name (for tests).
#[cfg(test)]
pub(super) fn available() -> Vec<&'static str> {
    let mut names = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            names.push("avx2");
        }
        if std::is_x86_feature_detected!("ssse3") {
            names.push("ssse3");
        }
    }
    names
}

/// A kernel by name (for tests); only names from [`available`] are valid.
#[cfg(test)]
pub(super) fn by_name(name: &str) -> fn(&mut [u8], &[u8], u8) {
    match name {
        #[cfg(target_arch = "x86_64")]
        "avx2" => x86::mul_add_avx2_checked,
        #[cfg(target_arch = "x86_64")]
        "ssse3" => x86::mul_add_ssse3_checked,
        _ => super::mul_add_slice_portable,
    }
}

/// The fused kernel called directly (for tests): "avx2" where available, else none.
#[cfg(test)]
pub(super) fn mul_sum_kernels() -> Vec<super::MulSum> {
    let mut kernels: Vec<super::MulSum> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            kernels.push(x86::mul_sum_avx2_checked);
        }
    }
    kernels
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{
        __m128i, __m256i, _mm_and_si128, _mm_loadu_si128, _mm_set1_epi8, _mm_shuffle_epi8,
        _mm_srli_epi64, _mm_storeu_si128, _mm_xor_si128, _mm256_and_si256,
        _mm256_broadcastsi128_si256, _mm256_loadu_si256, _mm256_set1_epi8, _mm256_setzero_si256,
        _mm256_shuffle_epi8, _mm256_srli_epi64, _mm256_storeu_si256, _mm256_xor_si256,
    };

    use zeroize::Zeroize;

    use super::super::{NIBBLE_TABLES, mul_add_slice_portable, nibble_tables};

    /// AVX2 kernel; falls back to the portable one if the CPU lacks AVX2.
    pub(super) fn mul_add_avx2_checked(dst: &mut [u8], src: &[u8], c: u8) {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked on the line above.
            unsafe { mul_add_avx2(dst, src, c) }
        } else {
            mul_add_slice_portable(dst, src, c);
        }
    }

    /// SSSE3 kernel; falls back to the portable one if the CPU lacks SSSE3.
    pub(super) fn mul_add_ssse3_checked(dst: &mut [u8], src: &[u8], c: u8) {
        if std::is_x86_feature_detected!("ssse3") {
            // SAFETY: the CPU supports SSSE3, checked on the line above.
            unsafe { mul_add_ssse3(dst, src, c) }
        } else {
            mul_add_slice_portable(dst, src, c);
        }
    }

    #[target_feature(enable = "avx2")]
    fn mul_add_avx2(dst: &mut [u8], src: &[u8], c: u8) {
        let (low, high) = nibble_tables(c);
        // SAFETY: `low` and `high` are 16-byte arrays; unaligned loads of 16 bytes.
        let (low, high) = unsafe {
            (
                _mm_loadu_si128(low.as_ptr().cast::<__m128i>()),
                _mm_loadu_si128(high.as_ptr().cast::<__m128i>()),
            )
        };
        let low = _mm256_broadcastsi128_si256(low);
        let high = _mm256_broadcastsi128_si256(high);
        let nibble = _mm256_set1_epi8(0x0f);
        let len = dst.len().min(src.len());
        let (dst_body, dst_tail) = dst[..len].split_at_mut(len - len % 32);
        let (src_body, src_tail) = src[..len].split_at(len - len % 32);
        for (d, s) in dst_body.chunks_exact_mut(32).zip(src_body.chunks_exact(32)) {
            // SAFETY: `s` and `d` are exactly 32 bytes (chunks_exact); unaligned 32-byte
            // load and store stay inside them.
            unsafe {
                let v = _mm256_loadu_si256(s.as_ptr().cast::<__m256i>());
                let lo = _mm256_and_si256(v, nibble);
                let hi = _mm256_and_si256(_mm256_srli_epi64::<4>(v), nibble);
                let product =
                    _mm256_xor_si256(_mm256_shuffle_epi8(low, lo), _mm256_shuffle_epi8(high, hi));
                let acc = _mm256_loadu_si256(d.as_ptr().cast::<__m256i>());
                _mm256_storeu_si256(
                    d.as_mut_ptr().cast::<__m256i>(),
                    _mm256_xor_si256(acc, product),
                );
            }
        }
        mul_add_slice_portable(dst_tail, src_tail, c);
    }

    #[target_feature(enable = "ssse3")]
    fn mul_add_ssse3(dst: &mut [u8], src: &[u8], c: u8) {
        let (low, high) = nibble_tables(c);
        // SAFETY: `low` and `high` are 16-byte arrays; unaligned loads of 16 bytes.
        let (low, high) = unsafe {
            (
                _mm_loadu_si128(low.as_ptr().cast::<__m128i>()),
                _mm_loadu_si128(high.as_ptr().cast::<__m128i>()),
            )
        };
        let nibble = _mm_set1_epi8(0x0f);
        let len = dst.len().min(src.len());
        let (dst_body, dst_tail) = dst[..len].split_at_mut(len - len % 16);
        let (src_body, src_tail) = src[..len].split_at(len - len % 16);
        for (d, s) in dst_body.chunks_exact_mut(16).zip(src_body.chunks_exact(16)) {
            // SAFETY: `s` and `d` are exactly 16 bytes (chunks_exact); unaligned 16-byte
            // load and store stay inside them.
            unsafe {
                let v = _mm_loadu_si128(s.as_ptr().cast::<__m128i>());
                let lo = _mm_and_si128(v, nibble);
                let hi = _mm_and_si128(_mm_srli_epi64::<4>(v), nibble);
                let product = _mm_xor_si128(_mm_shuffle_epi8(low, lo), _mm_shuffle_epi8(high, hi));
                let acc = _mm_loadu_si128(d.as_ptr().cast::<__m128i>());
                _mm_storeu_si128(
                    d.as_mut_ptr().cast::<__m128i>(),
                    _mm_xor_si128(acc, product),
                );
            }
        }
        mul_add_slice_portable(dst_tail, src_tail, c);
    }

    /// Fused AVX2 kernel for `gf256::mul_sum`; row by row if the CPU lacks AVX2.
    pub(super) fn mul_sum_avx2_checked(
        dst: &mut [u8],
        plain: Option<&[u8]>,
        rows: &[&[u8]],
        consts: &[u8],
    ) {
        if !std::is_x86_feature_detected!("avx2") {
            super::super::mul_sum_portable(dst, plain, rows, consts);
            return;
        }
        let len = rows
            .iter()
            .map(|row| row.len())
            .chain(plain.map(<[u8]>::len))
            .fold(dst.len(), usize::min);
        let dst = &mut dst[..len];
        let terms = rows.len().min(consts.len());
        // Up to four rows per pass over `dst` keep their eight tables in registers; the
        // first pass starts from `plain` (or zero), later ones from `dst`.
        let mut first = true;
        for (rows, consts) in rows[..terms].chunks(4).zip(consts[..terms].chunks(4)) {
            let start = if first {
                Start::Plain(plain)
            } else {
                Start::Dst
            };
            // SAFETY: the CPU supports AVX2, checked at the top of this function.
            unsafe {
                match rows.len() {
                    1 => mul_sum_avx2::<1>(dst, start, rows, consts),
                    2 => mul_sum_avx2::<2>(dst, start, rows, consts),
                    3 => mul_sum_avx2::<3>(dst, start, rows, consts),
                    _ => mul_sum_avx2::<4>(dst, start, rows, consts),
                }
            }
            first = false;
        }
        if first {
            // No rows at all: the sum is `plain` (or zero).
            match plain {
                Some(plain) => dst.copy_from_slice(&plain[..dst.len()]),
                None => dst.fill(0),
            }
        }
    }

    /// Where a pass's running sum starts.
    #[derive(Clone, Copy)]
    enum Start<'a> {
        /// From these bytes, or from zero.
        Plain(Option<&'a [u8]>),
        /// From what an earlier pass left in `dst`.
        Dst,
    }

    /// One pass of `dst = start ^ Σ_{k<G} c_k · rows_k`; `rows` and `consts` hold exactly
    /// G entries and every slice is at least `dst.len()` long.
    #[target_feature(enable = "avx2")]
    fn mul_sum_avx2<const G: usize>(
        dst: &mut [u8],
        start: Start<'_>,
        rows: &[&[u8]],
        consts: &[u8],
    ) {
        let nibble = _mm256_set1_epi8(0x0f);
        let tables: [(__m256i, __m256i); G] = core::array::from_fn(|k| {
            let (low, high) = nibble_tables(consts[k]);
            // SAFETY: `low` and `high` are 16-byte arrays; unaligned loads of 16 bytes.
            let (low, high) = unsafe {
                (
                    _mm_loadu_si128(low.as_ptr().cast::<__m128i>()),
                    _mm_loadu_si128(high.as_ptr().cast::<__m128i>()),
                )
            };
            (
                _mm256_broadcastsi128_si256(low),
                _mm256_broadcastsi128_si256(high),
            )
        });
        let rows: [&[u8]; G] = core::array::from_fn(|k| &rows[k][..dst.len()]);
        let body = dst.len() - dst.len() % 32;
        let mut at = 0;
        while at < body {
            let mut acc = match start {
                // SAFETY: `at + 32 <= body <= dst.len() <= plain.len()`: the unaligned
                // 32-byte load stays inside `plain` (and below inside `dst`).
                Start::Plain(Some(plain)) => unsafe {
                    _mm256_loadu_si256(plain.as_ptr().add(at).cast::<__m256i>())
                },
                Start::Plain(None) => _mm256_setzero_si256(),
                // SAFETY: as above, inside `dst`.
                Start::Dst => unsafe { _mm256_loadu_si256(dst.as_ptr().add(at).cast::<__m256i>()) },
            };
            for k in 0..G {
                // SAFETY: every row was cut to `dst.len()` bytes, and `at + 32 <= body`.
                let v = unsafe { _mm256_loadu_si256(rows[k].as_ptr().add(at).cast::<__m256i>()) };
                let lo = _mm256_and_si256(v, nibble);
                let hi = _mm256_and_si256(_mm256_srli_epi64::<4>(v), nibble);
                acc = _mm256_xor_si256(acc, _mm256_shuffle_epi8(tables[k].0, lo));
                acc = _mm256_xor_si256(acc, _mm256_shuffle_epi8(tables[k].1, hi));
            }
            // SAFETY: `at + 32 <= body <= dst.len()`: the store stays inside `dst`.
            unsafe { _mm256_storeu_si256(dst.as_mut_ptr().add(at).cast::<__m256i>(), acc) };
            at += 32;
        }
        // The tail, under 32 bytes, byte by byte with the portable kernel.
        let tail = &mut dst[body..];
        if let Start::Plain(plain) = start {
            match plain {
                Some(plain) => tail.copy_from_slice(&plain[body..body + tail.len()]),
                None => tail.fill(0),
            }
        }
        for k in 0..G {
            mul_add_slice_portable(tail, &rows[k][body..], consts[k]);
        }
    }

    /// `gf256::split_sum` on AVX2, in passes of up to four coefficient rows, whose
    /// nibbles then stay in registers; the first pass starts from the secret, later ones
    /// from what the earlier pass left in the outputs.
    #[target_feature(enable = "avx2")]
    pub(super) fn split_sum_avx2(
        outputs: &mut [&mut [u8]],
        at: usize,
        secret: &[u8],
        coefficients: &[u8],
        consts: &[u8],
    ) {
        let len = secret.len();
        let degree = consts.len() / outputs.len().max(1);
        if degree == 0 {
            for out in outputs.iter_mut() {
                out[at..at + len].copy_from_slice(secret);
            }
            return;
        }
        let mut offset = 0;
        while offset < degree {
            let plain = (offset == 0).then_some(secret);
            let pass = Pass {
                at,
                len,
                coefficients,
                consts,
                degree,
                offset,
            };
            match degree - offset {
                1 => split_pass::<1>(outputs, plain, &pass),
                2 => split_pass::<2>(outputs, plain, &pass),
                3 => split_pass::<3>(outputs, plain, &pass),
                _ => split_pass::<4>(outputs, plain, &pass),
            }
            offset += 4;
        }
    }

    /// The public shape of one pass of the split kernel.
    struct Pass<'a> {
        /// Where the piece starts in every output.
        at: usize,
        /// The piece's length.
        len: usize,
        /// `degree` rows of `len` coefficients.
        coefficients: &'a [u8],
        /// `consts[i * degree + k]`: the constant of row `k` for share `i`.
        consts: &'a [u8],
        degree: usize,
        /// The first row of this pass.
        offset: usize,
    }

    /// A row's 32 bytes split into low and high nibbles.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn nibbles(v: __m256i) -> (__m256i, __m256i) {
        let nibble = _mm256_set1_epi8(0x0f);
        (
            _mm256_and_si256(v, nibble),
            _mm256_and_si256(_mm256_srli_epi64::<4>(v), nibble),
        )
    }

    /// How many shares one sweep over the columns serves: their tables and output
    /// pointers are set up once per sweep.
    const SWEEP: usize = 8;

    /// One pass of the split kernel over rows `offset..offset + G`: for every share `i`,
    /// `out_i = start ^ Σ_k consts[i * degree + offset + k] · row_{offset + k}` on bytes
    /// `at..at + len` of each output, where the start is `plain` or, without it, the
    /// output's own bytes. Shares go [`SWEEP`] at a time; within a sweep each 32-byte
    /// column of the rows is loaded and split into nibbles once. A tail under 32 bytes is
    /// computed the same way on zero-padded copies, which are wiped after.
    #[target_feature(enable = "avx2")]
    fn split_pass<const G: usize>(
        outputs: &mut [&mut [u8]],
        plain: Option<&[u8]>,
        pass: &Pass<'_>,
    ) {
        let Pass {
            at,
            len,
            coefficients,
            consts,
            degree,
            offset,
        } = *pass;
        let rows: [&[u8]; G] =
            core::array::from_fn(|k| &coefficients[(offset + k) * len..(offset + k + 1) * len]);
        let plain = plain.map(|plain| &plain[..len]);
        let body = len - len % 32;
        for (sweep, group) in outputs.chunks_mut(SWEEP).enumerate() {
            let shares = group.len();
            // The tables of this sweep's public constants, [share][row].
            let zero = _mm256_setzero_si256();
            let mut tables = [[(zero, zero); G]; SWEEP];
            for (s, share_tables) in tables.iter_mut().enumerate().take(shares) {
                let first = (sweep * SWEEP + s) * degree + offset;
                for (k, table) in share_tables.iter_mut().enumerate() {
                    *table = broadcast_tables(consts[first + k]);
                }
            }
            // Each output's piece, as a pointer for the column loop below.
            let mut pieces = [core::ptr::null_mut::<u8>(); SWEEP];
            for (piece, out) in pieces.iter_mut().zip(group.iter_mut()) {
                *piece = out[at..at + len].as_mut_ptr();
            }
            let mut c = 0;
            while c < body {
                // SAFETY: every row is `len` bytes long and `c + 32 <= body <= len`.
                let nibs: [(__m256i, __m256i); G] = core::array::from_fn(|k| {
                    nibbles(unsafe {
                        _mm256_loadu_si256(rows[k].as_ptr().add(c).cast::<__m256i>())
                    })
                });
                // SAFETY: as above, inside `plain`.
                let start = plain
                    .map(|p| unsafe { _mm256_loadu_si256(p.as_ptr().add(c).cast::<__m256i>()) });
                for (piece, share_tables) in pieces.iter().zip(&tables).take(shares) {
                    // SAFETY: `piece` points at `len` bytes of one output, borrowed
                    // mutably (and so distinct from every other) for this whole loop,
                    // and `c + 32 <= body <= len`: the load and store stay inside it.
                    unsafe {
                        let dst = piece.add(c).cast::<__m256i>();
                        let mut acc = match start {
                            Some(v) => v,
                            None => _mm256_loadu_si256(dst),
                        };
                        for k in 0..G {
                            acc = _mm256_xor_si256(
                                acc,
                                _mm256_shuffle_epi8(share_tables[k].0, nibs[k].0),
                            );
                            acc = _mm256_xor_si256(
                                acc,
                                _mm256_shuffle_epi8(share_tables[k].1, nibs[k].1),
                            );
                        }
                        _mm256_storeu_si256(dst, acc);
                    }
                }
                c += 32;
            }
        }
        if body == len {
            return;
        }
        // The tail: the same column on zero-padded copies, so that a short secret (16
        // bytes, say) takes the vector path too. Lengths are public.
        let tail = len - body;
        let mut padded_rows = [[0u8; 32]; G];
        for (padded, row) in padded_rows.iter_mut().zip(&rows) {
            padded[..tail].copy_from_slice(&row[body..]);
        }
        let mut padded_plain = [0u8; 32];
        if let Some(plain) = plain {
            padded_plain[..tail].copy_from_slice(&plain[body..]);
        }
        let mut padded_out = [0u8; 32];
        // SAFETY: each padded row is a 32-byte array.
        let nibs: [(__m256i, __m256i); G] = core::array::from_fn(|k| {
            nibbles(unsafe { _mm256_loadu_si256(padded_rows[k].as_ptr().cast::<__m256i>()) })
        });
        for (i, out) in outputs.iter_mut().enumerate() {
            let out = &mut out[at + body..at + len];
            if plain.is_none() {
                padded_out[..tail].copy_from_slice(out);
            }
            let src = if plain.is_some() {
                &padded_plain
            } else {
                &padded_out
            };
            // SAFETY: `src` is a 32-byte array.
            let mut acc = unsafe { _mm256_loadu_si256(src.as_ptr().cast::<__m256i>()) };
            let first = i * degree + offset;
            for k in 0..G {
                let (low, high) = broadcast_tables(consts[first + k]);
                acc = _mm256_xor_si256(acc, _mm256_shuffle_epi8(low, nibs[k].0));
                acc = _mm256_xor_si256(acc, _mm256_shuffle_epi8(high, nibs[k].1));
            }
            // SAFETY: `padded_out` is a 32-byte array.
            unsafe { _mm256_storeu_si256(padded_out.as_mut_ptr().cast::<__m256i>(), acc) };
            out.copy_from_slice(&padded_out[..tail]);
        }
        padded_rows.as_flattened_mut().zeroize();
        padded_plain[..].zeroize();
        padded_out[..].zeroize();
    }

    /// The nibble tables of the public constant `c`, each in both 128-bit lanes, read
    /// at an address chosen by `c` alone.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn broadcast_tables(c: u8) -> (__m256i, __m256i) {
        let (low, high) = &NIBBLE_TABLES[usize::from(c)];
        // SAFETY: `low` and `high` are 16-byte arrays; unaligned loads of 16 bytes.
        unsafe {
            (
                _mm256_broadcastsi128_si256(_mm_loadu_si128(low.as_ptr().cast::<__m128i>())),
                _mm256_broadcastsi128_si256(_mm_loadu_si128(high.as_ptr().cast::<__m128i>())),
            )
        }
    }
}
