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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{
        __m128i, __m256i, _mm_and_si128, _mm_loadu_si128, _mm_set1_epi8, _mm_shuffle_epi8,
        _mm_srli_epi64, _mm_storeu_si128, _mm_xor_si128, _mm256_and_si256,
        _mm256_broadcastsi128_si256, _mm256_loadu_si256, _mm256_set1_epi8, _mm256_shuffle_epi8,
        _mm256_srli_epi64, _mm256_storeu_si256, _mm256_xor_si256,
    };

    use super::super::{mul_add_slice_portable, nibble_tables};

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
}
