//! The constant-time gate: valgrind memcheck with the secrets marked undefined
//! ("ctgrind").
//!
//! Memcheck reports every conditional jump and every memory address computed from an
//! undefined value. So each case below marks its secret inputs undefined, calls the
//! public function, marks the outputs defined again and counts the errors memcheck
//! reported in between: a constant-time function shows 0. Canaries, deliberately leaky
//! functions, must each show errors; if one shows 0 the gate is blind (a compiler that
//! kept a secret in a register, a valgrind that is not memcheck) and the test fails.
//!
//! Run it on a release build, as CI does:
//!
//! ```text
//! cargo test --release --test constant_time
//! ```
//!
//! A debug build really does branch on secrets (overflow checks, `debug_assert!`), so
//! there the gate refuses to judge and exits successfully after saying so; set
//! `SVAULT_CT_ALLOW_DEBUG=1` to run it anyway (to debug the harness, not the library).
//! The release profile keeps `debug = true`, so memcheck's reports carry file:line.
//!
//! When the binary is not running under valgrind it re-runs itself as
//! `valgrind --quiet --error-exitcode=0 --error-limit=no <exe>` and reads the child's
//! per-case lines. Without valgrind it fails if `CI=true` and skips otherwise. Arguments
//! that do not start with `-` select the cases whose name contains one of them.
//! `SVAULT_CT_VERBOSE=1` prints memcheck's reports for every case, canaries included;
//! by default they are printed only for a real case that fails.
//!
//! Adding a case: write a `fn() -> Result<(), String>` that builds its inputs, marks the
//! secret ones with [`classify`], calls the function, [`declassify`]s the outputs and
//! checks them, then add one line to [`CASES`].
//!
//! Blind spots (see the project's constant-time notes): variable-time instructions such
//! as division by a secret, and cache effects other than "an address depends on a
//! secret". Memcheck follows undefinedness exactly through most instructions, but some
//! (vector shuffles among them) it approximates by making the whole result undefined;
//! that can only add reports, never hide one.

use std::process::ExitCode;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{CryptoRng, Error as RandError, RngCore, SeedableRng};
use svault::gf256;
use svault::shamir::{self, Consistency, Share};
use svault::share::slip39::{self, GenerateOptions, GroupSpec, MasterSecret, Passphrase};
use svault::vault::gate;

// ---------------------------------------------------------------------------------------
// Valgrind client requests.
// ---------------------------------------------------------------------------------------

/// Valgrind client requests, issued with the magic instruction sequence that valgrind's
/// JIT recognises and that is a no-op (four rotations by 128 bits in total and an
/// exchange of rbx with itself) on the real CPU. Not under valgrind, every request
/// returns its default value.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod valgrind {
    #![allow(unsafe_code)]

    const RUNNING_ON_VALGRIND: usize = 0x1001;
    const COUNT_ERRORS: usize = 0x1201;
    const MAKE_MEM_UNDEFINED: usize = 0x4d43_0001;
    const MAKE_MEM_DEFINED: usize = 0x4d43_0002;

    /// Issues one client request with two arguments; returns `default` when not running
    /// under valgrind (or under a tool that does not handle the request).
    #[inline(always)]
    fn request(default: usize, request: usize, arg1: usize, arg2: usize) -> usize {
        let args: [usize; 6] = [request, arg1, arg2, 0, 0, 0];
        let mut result = default;
        // SAFETY: on a real CPU the sequence only rotates rdi by 3 + 13 + 61 + 51 = 128
        // bits (back to its value), clobbering the flags, and exchanges rbx with itself;
        // rdx keeps `default`. Under valgrind the sequence is the client-request trap:
        // valgrind reads the six words at rax (a live local array, so the pointer is
        // valid for the whole block) and writes its answer to rdx. Neither touches the
        // stack. The block is not `nomem`/`readonly`, so the compiler treats it as
        // reading and writing any memory reachable from the pointers it was given: it
        // stores the buffers before and reloads them after, which is what makes the
        // requests take effect on the bytes the program really uses.
        unsafe {
            core::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                in("rax") args.as_ptr(),
                inout("rdx") result,
                options(nostack),
            );
        }
        result
    }

    /// Whether this process runs under valgrind.
    pub fn running_on_valgrind() -> bool {
        request(0, RUNNING_ON_VALGRIND, 0, 0) != 0
    }

    /// Number of errors the tool has reported so far (memcheck counts every
    /// occurrence, repeats of one report included).
    pub fn count_errors() -> usize {
        request(0, COUNT_ERRORS, 0, 0)
    }

    /// Marks the bytes of `value` undefined. Changes only memcheck's view of them.
    pub fn make_mem_undefined<T: ?Sized>(value: &mut T) {
        let len = core::mem::size_of_val(value);
        let addr = (value as *mut T).cast::<u8>() as usize;
        request(0, MAKE_MEM_UNDEFINED, addr, len);
    }

    /// Marks the bytes of `value` defined. Changes only memcheck's view of them.
    pub fn make_mem_defined<T: ?Sized>(value: &mut T) {
        let len = core::mem::size_of_val(value);
        let addr = (value as *mut T).cast::<u8>() as usize;
        request(0, MAKE_MEM_DEFINED, addr, len);
    }
}

/// Elsewhere the gate does not run; these keep the cases compiling.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
mod valgrind {
    pub fn running_on_valgrind() -> bool {
        false
    }
    pub fn count_errors() -> usize {
        0
    }
    pub fn make_mem_undefined<T: ?Sized>(_: &mut T) {}
    pub fn make_mem_defined<T: ?Sized>(_: &mut T) {}
}

/// Marks `value` secret: from here on memcheck reports any branch or address that
/// depends on it. Pass the binding itself (`let mut` and `&mut`): through a shared
/// reference the optimiser may keep using a register copy the request never saw.
fn classify<T: ?Sized>(value: &mut T) {
    valgrind::make_mem_undefined(value);
}

/// Marks `value` public again: do this to a function's outputs before looking at them
/// (comparing or printing a secret is itself a reported branch).
fn declassify<T: ?Sized>(value: &mut T) {
    valgrind::make_mem_defined(value);
}

/// `len` deterministic pseudo-random bytes (public until classified).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = vec![0u8; len];
    rng.fill_bytes(&mut out);
    out
}

/// `len` deterministic pseudo-random bytes, already marked secret.
fn secret_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = bytes(len, seed);
    classify(out.as_mut_slice());
    out
}

/// A ChaCha20 RNG whose every output byte is marked secret, for functions that draw
/// secret randomness (polynomial coefficients).
struct SecretRng(ChaCha20Rng);

impl SecretRng {
    fn new(seed: u64) -> Self {
        SecretRng(ChaCha20Rng::seed_from_u64(seed))
    }
}

impl RngCore for SecretRng {
    fn next_u32(&mut self) -> u32 {
        let mut word = [0u8; 4];
        self.fill_bytes(&mut word);
        u32::from_le_bytes(word)
    }

    fn next_u64(&mut self) -> u64 {
        let mut word = [0u8; 8];
        self.fill_bytes(&mut word);
        u64::from_le_bytes(word)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
        classify(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RandError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SecretRng {}

/// Fails the case with `what` unless `ok`.
fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}

// ---------------------------------------------------------------------------------------
// The cases.
// ---------------------------------------------------------------------------------------

/// What a case must show.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// Library code: 0 errors.
    Clean,
    /// A canary: deliberately leaky, must show at least one error.
    Leaky,
}

struct Case {
    name: &'static str,
    expect: Expect,
    run: fn() -> Result<(), String>,
    /// Public results the function computes from secrets by design (see
    /// [`Declassified`]); empty for almost every case.
    declassified: &'static [Declassified],
}

/// A result that the library derives from secret data and makes public on purpose, such
/// as the one-bit outcome of a constant-time comparison. The library cannot tell
/// memcheck so (that takes a client request, i.e. `unsafe`), so the bit stays
/// "undefined" and memcheck reports the first branches on it. Such a report is allowed
/// only if it is a conditional jump (never an address) and its innermost frame outside
/// the Rust standard library is `function` itself (or one of its closures): a branch on
/// a secret inside any helper it calls (a field operation, the comparison, `subtle`)
/// still fails the case. What this cannot tell apart is a new secret branch written
/// directly in the body of `function`; keep such functions short.
struct Declassified {
    function: &'static str,
    why: &'static str,
}

const fn real(name: &'static str, run: fn() -> Result<(), String>) -> Case {
    Case {
        name,
        expect: Expect::Clean,
        run,
        declassified: &[],
    }
}

const fn canary(name: &'static str, run: fn() -> Result<(), String>) -> Case {
    Case {
        name,
        expect: Expect::Leaky,
        run,
        declassified: &[],
    }
}

impl Case {
    const fn declassifying(self, declassified: &'static [Declassified]) -> Case {
        Case {
            declassified,
            ..self
        }
    }
}

/// Every case, in the order they run. Canaries run last so that a real case cannot be
/// credited with a canary's errors.
const CASES: &[Case] = &[
    real("gf256::mul", gf256_mul),
    real("gf256::inv", gf256_inv),
    real(
        "gf256::mul_add_slice (dispatched kernel)",
        gf256_mul_add_slice,
    ),
    real(
        "gf256::mul_add_slice_portable",
        gf256_mul_add_slice_portable,
    ),
    real("shamir::split_with_rng", shamir_split),
    real("shamir::combine", shamir_combine),
    real("shamir::combine refusals", shamir_combine_refusals),
    real("shamir::interpolate", shamir_interpolate),
    real("gf256::mul_sum (fused kernel)", gf256_mul_sum),
    real("gf256::mul_sum_portable", gf256_mul_sum_portable),
    real(
        "shamir::split_into + Splitter with the thread generator",
        shamir_split_into,
    ),
    real("shamir::combine_into + Combiner", shamir_combine_into),
    real(
        "shamir::CoefficientRng keystream (AES-256-CTR, the aes and ctr crates) under a secret key",
        coefficient_keystream,
    ),
    real("shamir::check_consistency", shamir_check_consistency).declassifying(&[Declassified {
        function: "svault::shamir::check_consistency",
        why: "which shares agree is the function's public result: each share's \
              constant-time comparison (subtle's ct_eq) is turned into a bool and counted",
    }]),
    real(
        "slip39::generate + recover (Feistel, digest, two levels)",
        slip39_round_trip,
    )
    .declassifying(&[Declassified {
        function: "svault::share::slip39::sss::recover_secret",
        why: "whether the digest share matches is the public outcome of recovery: the \
              digests are compared with subtle's ct_eq and only that bit is branched on",
    }]),
    real("vault: share commitment check", vault_commitment),
    real("vault: payload key (HKDF) and seal/open", vault_payload).declassifying(&[
        Declassified {
            function: "chacha20poly1305::cipher::Cipher<C>::decrypt_in_place_detached",
            why: "whether the tag authenticates is the public outcome of opening: the AEAD \
                  compares tags with subtle's ct_eq and branches only on that bit",
        },
        Declassified {
            function: "decrypt_in_place",
            why: "the same bit, passed on by `?` in chacha20poly1305's decrypt_in_place",
        },
        Declassified {
            function: "aead::AeadInPlace::decrypt_in_place",
            why: "the same bit, as the frame is named when that function is not inlined",
        },
    ]),
    real(
        "gf256::mul_add_slice SSSE3 kernel (forced)",
        gf256_mul_add_slice_ssse3,
    ),
    real(
        "slip39::parse, to_words and the share commitment",
        slip39_text_path,
    )
    .declassifying(SLIP39_TEXT_DECLASSIFIED),
    canary("canary: log/exp table multiply", canary_table_mul),
    canary("canary: branch on a zero byte", canary_zero_branch),
    canary("canary: early-exit comparison", canary_early_exit_eq),
    canary("canary: loop bound from a secret", canary_secret_loop_bound),
    canary(
        "canary: word lookup by binary search (the old parse)",
        canary_binary_search_words,
    ),
];

/// SLIP-0039 with a secret master secret: the Feistel encryption and decryption
/// (PBKDF2, XOR), the digest share (HMAC, constant-time comparison) and both levels of
/// interpolation. The generator's output stays public here: it picks the identifier,
/// which is a public field of every share. Share text is checked by
/// [`slip39_text_path`].
fn slip39_round_trip() -> Result<(), String> {
    for len in [16usize, 32] {
        let mut secret = bytes(len, 500 + len as u64);
        let public = secret.clone();
        classify(secret.as_mut_slice());
        let master = MasterSecret::new(secret).map_err(|e| format!("master: {e}"))?;
        let options = GenerateOptions {
            iteration_exponent: 0,
            extendable: true,
        };
        let mut rng = ChaCha20Rng::seed_from_u64(len as u64);
        let layout = [GroupSpec::new(2, 3), GroupSpec::new(1, 1)];
        let groups =
            slip39::generate_with_rng(&master, &Passphrase::empty(), 2, &layout, options, &mut rng)
                .map_err(|e| format!("generate: {e}"))?;
        let mut chosen = Vec::new();
        for (g, group) in groups.into_iter().enumerate() {
            // Members 2 and 3 of the 2-of-3 group; the single member of the other.
            let (skip, take) = if g == 0 { (1, 2) } else { (0, 1) };
            chosen.extend(group.into_iter().skip(skip).take(take));
        }
        let back =
            slip39::recover(&chosen, &Passphrase::empty()).map_err(|e| format!("recover: {e}"))?;
        let mut out = back.as_bytes().to_vec();
        declassify(out.as_mut_slice());
        check(out == public, || {
            format!("{len} bytes: wrong master secret")
        })?;
    }
    Ok(())
}

/// The commitment check on entry of a share: SHA-256 over the (secret) share words and
/// a constant-time comparison with the stored digest; only the match bit comes out.
fn vault_commitment() -> Result<(), String> {
    let (vault_id, salt) = ([1u8; 16], [2u8; 16]);
    let public = bytes(250, 600);
    let digest = gate::commitment(&vault_id, &salt, &public);
    let mut altered = public.clone();
    altered[249] ^= 1;
    for (what, mut words, expect) in [
        ("matching", public.clone(), true),
        ("altered", altered, false),
    ] {
        classify(words.as_mut_slice());
        let mut matched = gate::commitment_matches(&vault_id, &salt, &words, &digest);
        declassify(&mut matched);
        check(matched == expect, || {
            format!("{what} share: commitment check said {matched}")
        })?;
    }
    Ok(())
}

/// The payload key from a secret master secret (HKDF-SHA256) and the payload sealed
/// and opened under it (XChaCha20-Poly1305) with a secret plaintext.
fn vault_payload() -> Result<(), String> {
    let mut master = bytes(32, 610);
    classify(master.as_mut_slice());
    let master = MasterSecret::new(master).map_err(|e| format!("master: {e}"))?;
    let mut plaintext = bytes(1000, 611);
    let public = plaintext.clone();
    classify(plaintext.as_mut_slice());
    let mut back = gate::payload_round_trip(&master, &[3u8; 32], &[4u8; 16], plaintext)
        .ok_or("the payload did not open")?;
    declassify(back.as_mut_slice());
    check(back == public, || "wrong plaintext".to_string())
}

/// Slow, obviously right multiply, used to check results (on public values only).
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

fn gf256_mul() -> Result<(), String> {
    // Every a against a spread of b, both secret.
    let mut a: Vec<u8> = (0..=255u8).collect();
    let mut b = bytes(256, 1);
    let public_a = a.clone();
    let public_b = b.clone();
    classify(a.as_mut_slice());
    classify(b.as_mut_slice());
    let mut out: Vec<u8> = a.iter().zip(&b).map(|(&x, &y)| gf256::mul(x, y)).collect();
    declassify(out.as_mut_slice());
    for i in 0..256 {
        let want = reference_mul(public_a[i], public_b[i]);
        check(out[i] == want, || {
            format!("mul({}, {}) = {}", public_a[i], public_b[i], out[i])
        })?;
    }
    Ok(())
}

fn gf256_inv() -> Result<(), String> {
    let mut a: Vec<u8> = (0..=255u8).collect();
    classify(a.as_mut_slice());
    let mut out: Vec<u8> = a.iter().map(|&x| gf256::inv(x)).collect();
    declassify(out.as_mut_slice());
    check(out[0] == 0, || format!("inv(0) = {}", out[0]))?;
    for x in 1..=255u8 {
        let i = out[usize::from(x)];
        check(reference_mul(x, i) == 1, || format!("inv({x}) = {i}"))?;
    }
    Ok(())
}

/// Runs a `dst ^= c * src` kernel on secret slices of lengths that reach every tail of
/// every kernel, with a few public constants.
fn mul_add_kernel(kernel: fn(&mut [u8], &[u8], u8)) -> Result<(), String> {
    for (round, &len) in [
        0usize, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000,
    ]
    .iter()
    .enumerate()
    {
        for c in [0u8, 1, 2, 0x53, 0xff] {
            let seed = (round as u64) << 8 | u64::from(c);
            let public_dst = bytes(len, seed);
            let public_src = bytes(len, seed ^ 0x5a5a);
            let mut dst = public_dst.clone();
            let mut src = public_src.clone();
            classify(dst.as_mut_slice());
            classify(src.as_mut_slice());
            kernel(&mut dst, &src, c);
            declassify(dst.as_mut_slice());
            for i in 0..len {
                let want = public_dst[i] ^ reference_mul(c, public_src[i]);
                check(dst[i] == want, || format!("len {len}, c {c}, byte {i}"))?;
            }
        }
    }
    Ok(())
}

fn gf256_mul_add_slice() -> Result<(), String> {
    mul_add_kernel(gf256::mul_add_slice)
}

fn gf256_mul_add_slice_portable() -> Result<(), String> {
    mul_add_kernel(gf256::mul_add_slice_portable)
}

/// The SSSE3 kernel called directly, so that it is checked on a CPU where the dispatch
/// takes AVX2. Where the CPU has no SSSE3 there is nothing to check.
fn gf256_mul_add_slice_ssse3() -> Result<(), String> {
    match gf256::mul_add_slice_ssse3() {
        Some(kernel) => mul_add_kernel(kernel),
        None => {
            eprintln!("==ct== this CPU has no SSSE3: the SSSE3 kernel case checked nothing");
            Ok(())
        }
    }
}

/// (secret length, threshold, share count) for the Shamir cases: the degenerate
/// threshold 1, the smallest sets, lengths on both sides of every kernel's width, and one
/// secret longer than the 4096-byte chunk of split and interpolate.
const SHAPES: &[(usize, u8, u8)] = &[
    (1, 1, 1),
    (1, 2, 3),
    (16, 2, 2),
    (31, 3, 5),
    (33, 5, 7),
    (100, 3, 4),
    (40, 7, 9),
    (5000, 2, 3),
];

/// A split with public (unmarked) randomness, for the cases that start from shares.
fn public_split(secret: &[u8], threshold: u8, count: u8, seed: u64) -> Result<Vec<Share>, String> {
    shamir::split_with_rng(
        secret,
        threshold,
        count,
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
    .map_err(|e| format!("split: {e}"))
}

/// Copies of `shares` whose y bytes are marked secret (x stays public).
fn secret_shares(shares: &[Share]) -> Vec<Share> {
    shares
        .iter()
        .map(|share| {
            let mut y = share.y().to_vec();
            classify(y.as_mut_slice());
            Share::new(share.x(), y)
        })
        .collect()
}

/// A share's y bytes, copied out and marked public.
fn revealed(share: &Share) -> Vec<u8> {
    let mut y = share.y().to_vec();
    declassify(y.as_mut_slice());
    y
}

/// Marks an output buffer public and hands back its bytes.
fn reveal(mut out: zeroize::Zeroizing<Vec<u8>>) -> Vec<u8> {
    declassify(out.as_mut_slice());
    out.to_vec()
}

fn shamir_split() -> Result<(), String> {
    for (round, &(len, threshold, count)) in SHAPES.iter().enumerate() {
        let public = bytes(len, 100 + round as u64);
        let mut secret = public.clone();
        classify(secret.as_mut_slice());
        let mut rng = SecretRng::new(200 + round as u64);
        let shares = shamir::split_with_rng(&secret, threshold, count, &mut rng)
            .map_err(|e| format!("split: {e}"))?;
        // Reveal the shares, then check on public values that they recombine.
        let public_shares: Vec<Share> = shares
            .iter()
            .map(|share| Share::new(share.x(), revealed(share)))
            .collect();
        let t = usize::from(threshold);
        let back = shamir::combine(&public_shares[public_shares.len() - t..])
            .map_err(|e| format!("combine: {e}"))?;
        check(back[..] == public[..], || {
            format!("len {len}, {threshold} of {count}: shares do not recombine")
        })?;
    }
    Ok(())
}

fn shamir_combine() -> Result<(), String> {
    for (round, &(len, threshold, count)) in SHAPES.iter().enumerate() {
        let secret = bytes(len, 300 + round as u64);
        let shares = secret_shares(&public_split(&secret, threshold, count, round as u64)?);
        let t = usize::from(threshold);
        // The first t, the last t, and all of them.
        for subset in [&shares[..t], &shares[shares.len() - t..], &shares[..]] {
            let back = shamir::combine(subset).map_err(|e| format!("combine: {e}"))?;
            check(reveal(back) == secret, || {
                format!("len {len}, {threshold} of {count}: wrong secret")
            })?;
        }
    }
    Ok(())
}

/// The refusals look only at the public shape (x, lengths), never at y.
fn shamir_combine_refusals() -> Result<(), String> {
    let secret = bytes(40, 400);
    let shares = public_split(&secret, 2, 4, 400)?;
    let mut duplicate = secret_shares(&shares[..3]);
    duplicate.push(Share::new(shares[1].x(), secret_bytes(40, 401)));
    let mut short = secret_shares(&shares[..3]);
    short.push(Share::new(9, secret_bytes(39, 402)));
    let mut at_zero = secret_shares(&shares[..2]);
    at_zero.push(Share::new(0, secret_bytes(40, 403)));
    let empty = vec![Share::new(1, Vec::new()), Share::new(2, Vec::new())];
    for (what, set) in [
        ("duplicate x", duplicate),
        ("unequal lengths", short),
        ("share at 0", at_zero),
        ("empty", empty),
    ] {
        check(shamir::combine(&set).is_err(), || {
            format!("{what} was accepted")
        })?;
    }
    check(shamir::combine(&[]).is_err(), || {
        "no shares was accepted".to_string()
    })
}

fn shamir_interpolate() -> Result<(), String> {
    for (round, &(len, threshold, count)) in SHAPES.iter().enumerate() {
        if threshold == count {
            continue;
        }
        let secret = bytes(len, 500 + round as u64);
        let public = public_split(&secret, threshold, count, 500 + round as u64)?;
        let shares = secret_shares(&public);
        let t = usize::from(threshold);
        // From the last t shares: the first share's value, the secret, and x = 255.
        let base = &shares[shares.len() - t..];
        let at_first = shamir::interpolate(base, public[0].x()).map_err(|e| e.to_string())?;
        check(reveal(at_first) == public[0].y(), || {
            format!("len {len}, {threshold} of {count}: share 1 not reproduced")
        })?;
        let at_zero = shamir::interpolate(base, 0).map_err(|e| e.to_string())?;
        check(reveal(at_zero) == secret, || {
            format!("len {len}, {threshold} of {count}: wrong secret")
        })?;
        let at_255 = shamir::interpolate(base, 255).map_err(|e| e.to_string())?;
        let all = shamir::interpolate(&shares, 255).map_err(|e| e.to_string())?;
        check(reveal(at_255) == reveal(all), || {
            format!("len {len}, {threshold} of {count}: x = 255 differs between subsets")
        })?;
    }
    Ok(())
}

fn shamir_check_consistency() -> Result<(), String> {
    for (round, &(len, threshold, count)) in SHAPES.iter().enumerate() {
        let secret = bytes(len, 600 + round as u64);
        let public = public_split(&secret, threshold, count, 600 + round as u64)?;
        let shares = secret_shares(&public);
        let result =
            shamir::check_consistency(&shares, threshold).map_err(|e| format!("check: {e}"))?;
        check(result == Consistency::Consistent, || {
            format!("len {len}, {threshold} of {count}: consistent set reported {result:?}")
        })?;
        // One damaged share, where enough others remain to name it.
        if usize::from(count) >= usize::from(threshold) + 2 {
            let mut damaged: Vec<Share> = public
                .iter()
                .map(|share| Share::new(share.x(), share.y().to_vec()))
                .collect();
            let mut y = damaged[1].y().to_vec();
            y[len / 2] ^= 0x10;
            damaged[1] = Share::new(damaged[1].x(), y);
            let damaged = secret_shares(&damaged);
            let result = shamir::check_consistency(&damaged, threshold)
                .map_err(|e| format!("check: {e}"))?;
            let named = matches!(&result, Consistency::Deviating { deviants, .. }
                if deviants[..] == [public[1].x()]);
            check(named, || {
                format!("len {len}, {threshold} of {count}: damaged share reported as {result:?}")
            })?;
        }
    }
    Ok(())
}

/// `dst = plain ^ Σ c_k row_k` on secret rows, for term counts across the kernel's
/// groups of four and lengths across its 32-byte width.
/// The signature of `gf256::mul_sum` and its portable twin.
type MulSum = fn(&mut [u8], Option<&[u8]>, &[&[u8]], &[u8]);

fn mul_sum_case(kernel: MulSum) -> Result<(), String> {
    for terms in [0usize, 1, 2, 4, 5, 9] {
        for len in [1usize, 31, 32, 33, 100, 1000] {
            let seed = (terms as u64) << 16 | len as u64;
            let public_rows: Vec<Vec<u8>> =
                (0..terms).map(|k| bytes(len, seed + k as u64)).collect();
            let public_plain = bytes(len, seed ^ 0xabc);
            let consts: Vec<u8> = (0..terms).map(|k| [1u8, 2, 0x53, 0xff, 0][k % 5]).collect();
            let mut rows = public_rows.clone();
            for row in &mut rows {
                classify(row.as_mut_slice());
            }
            let mut plain = public_plain.clone();
            classify(plain.as_mut_slice());
            let row_refs: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
            let mut dst = secret_bytes(len, seed ^ 0xdef);
            kernel(&mut dst, Some(&plain), &row_refs, &consts);
            declassify(dst.as_mut_slice());
            for i in 0..len {
                let want = public_rows
                    .iter()
                    .zip(&consts)
                    .fold(public_plain[i], |acc, (row, &c)| {
                        acc ^ reference_mul(c, row[i])
                    });
                check(dst[i] == want, || {
                    format!("terms {terms}, len {len}, byte {i}")
                })?;
            }
        }
    }
    Ok(())
}

fn gf256_mul_sum() -> Result<(), String> {
    mul_sum_case(gf256::mul_sum)
}

fn gf256_mul_sum_portable() -> Result<(), String> {
    mul_sum_case(gf256::mul_sum_portable)
}

/// A `CoefficientRng` (the thread generator behind `split`) whose output is marked
/// secret as it is drawn.
struct SecretThreadRng(shamir::CoefficientRng);

impl RngCore for SecretThreadRng {
    fn next_u32(&mut self) -> u32 {
        let mut word = [0u8; 4];
        self.fill_bytes(&mut word);
        u32::from_le_bytes(word)
    }

    fn next_u64(&mut self) -> u64 {
        let mut word = [0u8; 8];
        self.fill_bytes(&mut word);
        u64::from_le_bytes(word)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand::RngCore::fill_bytes(&mut self.0, dest);
        classify(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RandError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SecretThreadRng {}

/// Splits secret bytes into caller buffers: once with `split_into` (the thread
/// generator, its key derivation included), once with a `Splitter` fed in two pieces and
/// drawing from the thread generator with its output marked secret. The shares are
/// revealed and checked to recombine.
fn shamir_split_into() -> Result<(), String> {
    for (round, &(len, threshold, count)) in SHAPES.iter().enumerate() {
        let public = bytes(len, 700 + round as u64);
        let mut secret = public.clone();
        classify(secret.as_mut_slice());
        let mut buffers = vec![vec![0u8; len]; usize::from(count)];
        {
            let mut outputs: Vec<&mut [u8]> = buffers.iter_mut().map(Vec::as_mut_slice).collect();
            shamir::split_into(&secret, threshold, &mut outputs)
                .map_err(|e| format!("split_into: {e}"))?;
        }
        let mut streamed = vec![vec![0u8; len]; usize::from(count)];
        let mut splitter = shamir::Splitter::with_rng(
            threshold,
            count,
            SecretThreadRng(shamir::CoefficientRng::new()),
        )
        .map_err(|e| format!("splitter: {e}"))?;
        let cut = len / 2;
        for (start, end) in [(0, cut), (cut, len)] {
            let mut outputs: Vec<&mut [u8]> =
                streamed.iter_mut().map(|b| &mut b[start..end]).collect();
            splitter
                .split_into(&secret[start..end], &mut outputs)
                .map_err(|e| format!("splitter: {e}"))?;
        }
        let t = usize::from(threshold);
        for set in [&mut buffers, &mut streamed] {
            let shares: Vec<Share> = set
                .iter_mut()
                .enumerate()
                .map(|(i, y)| {
                    declassify(y.as_mut_slice());
                    Share::new(i as u8 + 1, y.clone())
                })
                .collect();
            let back = shamir::combine(&shares[shares.len() - t..])
                .map_err(|e| format!("combine: {e}"))?;
            check(back[..] == public[..], || {
                format!("len {len}, {threshold} of {count}: shares do not recombine")
            })?;
        }
    }
    Ok(())
}

/// The split generator's keystream under a key marked secret, drawn in pieces that end
/// inside a block and span many, checked against AES-256 in counter mode on a public copy
/// of the key.
fn coefficient_keystream() -> Result<(), String> {
    use aes::Aes256;
    use aes::cipher::{BlockEncrypt, KeyInit};
    let public_key: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(29) ^ 0x5c);
    let mut key = public_key;
    classify(&mut key[..]);
    let mut generator = shamir::CoefficientRng::from_key(key);
    let mut got = Vec::new();
    for size in [64, 300, 1024, 100] {
        let mut piece = vec![0u8; size];
        generator.fill_bytes(&mut piece);
        declassify(piece.as_mut_slice());
        got.extend_from_slice(&piece);
    }
    let aes = Aes256::new(&public_key.into());
    let mut expected = Vec::new();
    for counter in 0u128..(got.len() as u128).div_ceil(16) {
        let mut block = counter.to_be_bytes().into();
        aes.encrypt_block(&mut block);
        expected.extend_from_slice(&block);
    }
    expected.truncate(got.len());
    check(got == expected, || {
        "the keystream differs from AES-256-CTR".to_string()
    })
}

/// `combine_into` and a `Combiner` fed in two pieces, on secret shares.
fn shamir_combine_into() -> Result<(), String> {
    for (round, &(len, threshold, count)) in SHAPES.iter().enumerate() {
        let secret = bytes(len, 800 + round as u64);
        let shares = secret_shares(&public_split(
            &secret,
            threshold,
            count,
            800 + round as u64,
        )?);
        let t = usize::from(threshold);
        let base = &shares[shares.len() - t..];
        let mut out = vec![0u8; len];
        shamir::combine_into(base, &mut out).map_err(|e| format!("combine_into: {e}"))?;
        declassify(out.as_mut_slice());
        check(out == secret, || {
            format!("len {len}, {threshold} of {count}: wrong secret")
        })?;
        let xs: Vec<u8> = base.iter().map(Share::x).collect();
        let combiner = shamir::Combiner::new(&xs, 0).map_err(|e| format!("combiner: {e}"))?;
        let mut out = vec![0u8; len];
        let cut = len / 2;
        for (start, end) in [(0, cut), (cut, len)] {
            let rows: Vec<&[u8]> = base.iter().map(|s| &s.y()[start..end]).collect();
            combiner
                .combine_into(&rows, &mut out[start..end])
                .map_err(|e| format!("combiner: {e}"))?;
        }
        declassify(out.as_mut_slice());
        check(out == secret, || {
            format!("len {len}, {threshold} of {count}: combiner wrong")
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Canaries: each leaks in one of the ways the gate exists to catch.
// ---------------------------------------------------------------------------------------

/// Log and antilog tables for the generator 3 of GF(2^8) mod 0x11b; the antilog table is
/// doubled so that a sum of two logs indexes it directly.
const TABLES: ([u8; 256], [u8; 512]) = {
    let mut log = [0u8; 256];
    let mut exp = [0u8; 512];
    let mut x: u8 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x;
        exp[i + 255] = x;
        log[x as usize] = i as u8;
        // x *= 3, i.e. x ^ xtime(x).
        let doubled = (x << 1) ^ (0u8.wrapping_sub(x >> 7) & 0x1b);
        x ^= doubled;
        i += 1;
    }
    (log, exp)
};
static LOG: [u8; 256] = TABLES.0;
static EXP: [u8; 512] = TABLES.1;

/// Table multiply: the addresses of the loads depend on the secret operands. Zero is
/// handled with a mask so that the table index is the only leak.
#[inline(never)]
fn leaky_table_mul(a: u8, b: u8) -> u8 {
    let product = EXP[usize::from(LOG[usize::from(a)]) + usize::from(LOG[usize::from(b)])];
    let nonzero = 0u8.wrapping_sub(u8::from(a != 0) & u8::from(b != 0));
    product & nonzero
}

/// Multiply that skips the work when an operand is zero: a branch on a secret.
#[inline(never)]
fn leaky_zero_skip_mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    std::hint::black_box(gf256::mul(a, b))
}

/// Comparison that stops at the first difference.
#[inline(never)]
fn leaky_early_exit_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for i in 0..a.len() {
        if a[i] != b[i] {
            return false;
        }
    }
    true
}

/// Russian-peasant multiply that loops while the secret multiplier has bits left.
#[inline(never)]
fn leaky_peasant_mul(mut a: u8, mut b: u8) -> u8 {
    let mut acc = 0u8;
    while b != 0 {
        acc ^= a & 0u8.wrapping_sub(b & 1);
        a = (a << 1) ^ (0u8.wrapping_sub(a >> 7) & 0x1b);
        b >>= 1;
    }
    acc
}

/// Runs a leaky multiply over secret operands and checks its products.
fn leaky_mul_case(mul: fn(u8, u8) -> u8) -> Result<(), String> {
    let public_a = bytes(32, 11);
    let mut public_b = bytes(32, 12);
    public_b[3] = 0;
    let mut a = public_a.clone();
    let mut b = public_b.clone();
    classify(a.as_mut_slice());
    classify(b.as_mut_slice());
    let mut out: Vec<u8> = a.iter().zip(&b).map(|(&x, &y)| mul(x, y)).collect();
    declassify(out.as_mut_slice());
    for i in 0..32 {
        let want = reference_mul(public_a[i], public_b[i]);
        check(out[i] == want, || {
            format!("product {i}: {} != {want}", out[i])
        })?;
    }
    Ok(())
}

fn canary_table_mul() -> Result<(), String> {
    leaky_mul_case(leaky_table_mul)
}

fn canary_zero_branch() -> Result<(), String> {
    leaky_mul_case(leaky_zero_skip_mul)
}

fn canary_secret_loop_bound() -> Result<(), String> {
    leaky_mul_case(leaky_peasant_mul)
}

fn canary_early_exit_eq() -> Result<(), String> {
    let mut a = secret_bytes(32, 21);
    let mut b = bytes(32, 21);
    b[20] ^= 1;
    classify(b.as_mut_slice());
    let mut equal = leaky_early_exit_eq(&a, &b);
    declassify(&mut equal);
    declassify(a.as_mut_slice());
    declassify(b.as_mut_slice());
    check(!equal, || "different buffers compared equal".to_string())
}

/// What the share-text path makes public on purpose (see its `ct::public`).
const SLIP39_TEXT_DECLASSIFIED: &[Declassified] = &[
    Declassified {
        function: "svault::share::slip39::ct::public",
        why: "the codec's one declassification point: the number of words, whether every \
              word is known, whether the checksum matches, the four header words (public \
              fields), whether the padding is zero, and the length of the share's text",
    },
    Declassified {
        // Reached only from `Slip39Share::to_words` in this case; the standard library's
        // frames carry no `library/` path here, so the frame is named itself.
        function: "run_utf8_validation",
        why: "String::from_utf8 in to_words, on the finished text, branches on whether \
              bytes are ASCII, which every letter and space is, so it always goes one way",
    },
];

/// Share text marked secret, as the agent receives it: parsed (split into words, each
/// compared with the whole list, decoded), written back as words, and checked against
/// a commitment (the words rebuilt from the share's bits, hashed, compared). Both share
/// lengths, and text in mixed case with four-letter prefixes and odd whitespace.
fn slip39_text_path() -> Result<(), String> {
    let (vault_id, salt) = ([5u8; 16], [6u8; 16]);
    for len in [16usize, 32] {
        let master =
            MasterSecret::new(bytes(len, 700 + len as u64)).map_err(|e| format!("master: {e}"))?;
        let options = GenerateOptions {
            iteration_exponent: 0,
            extendable: false,
        };
        let mut rng = ChaCha20Rng::seed_from_u64(710 + len as u64);
        let groups = slip39::generate_with_rng(
            &master,
            &Passphrase::empty(),
            1,
            &[GroupSpec::new(2, 3)],
            options,
            &mut rng,
        )
        .map_err(|e| format!("generate: {e}"))?;
        for share in &groups[0] {
            let canonical = share.to_words().to_string();
            let digest = gate::commitment(&vault_id, &salt, canonical.as_bytes());
            let messy: Vec<String> = canonical
                .split(' ')
                .enumerate()
                .map(|(i, w)| match i % 3 {
                    0 => w.to_uppercase(),
                    1 => w[..4].to_string(),
                    _ => w.to_string(),
                })
                .collect();
            for (what, text) in [
                ("canonical", canonical.clone()),
                ("mixed", format!(" {}\n", messy.join(" \t "))),
            ] {
                let mut text = text;
                classify(text.as_mut_str());
                let parsed = slip39::parse(&text).map_err(|e| format!("{what}: {e}"))?;
                let mut back = parsed.to_words().to_string();
                declassify(back.as_mut_str());
                check(back == canonical, || {
                    format!("{len} bytes, {what}: words differ")
                })?;
                let mut matched =
                    gate::share_commitment_matches(&vault_id, &salt, &parsed, &digest);
                declassify(&mut matched);
                check(matched, || {
                    format!("{len} bytes, {what}: commitment differs")
                })?;
                let mut other =
                    gate::share_commitment_matches(&vault_id, &[7u8; 16], &parsed, &digest);
                declassify(&mut other);
                check(!other, || {
                    format!("{len} bytes, {what}: wrong salt matched")
                })?;
            }
        }
    }
    Ok(())
}

/// The word lookup `parse` used before it scanned the whole list: a binary search per
/// word, whose branches and addresses follow the share's words. Kept (for the error
/// path and the benchmark) and must be flagged, or the text case above proves nothing.
fn canary_binary_search_words() -> Result<(), String> {
    let master = MasterSecret::new(bytes(16, 720)).map_err(|e| format!("master: {e}"))?;
    let options = GenerateOptions {
        iteration_exponent: 0,
        extendable: false,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(721);
    let groups = slip39::generate_with_rng(
        &master,
        &Passphrase::empty(),
        1,
        &[GroupSpec::new(1, 1)],
        options,
        &mut rng,
    )
    .map_err(|e| format!("generate: {e}"))?;
    let mut text = groups[0][0].to_words().to_string();
    classify(text.as_mut_str());
    let mut values = slip39::gate::values_by_binary_search(&text).unwrap_or_default();
    declassify(values.as_mut_slice());
    check(values.len() == 20, || format!("{} values", values.len()))
}

// ---------------------------------------------------------------------------------------
// The harness.
// ---------------------------------------------------------------------------------------

/// Prefix of the child's result lines on stdout: `ct-case<TAB>name<TAB>errors<TAB>status`.
const RESULT_TAG: &str = "ct-case";
/// Markers the child writes to stderr around each case, so that memcheck's reports (also
/// on stderr) can be attributed to cases.
const BEGIN_TAG: &str = "==ct== begin ";
const END_TAG: &str = "==ct== end ";

fn main() -> ExitCode {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let selected: Vec<&Case> = CASES
        .iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f.as_str())))
        .collect();

    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        println!("constant_time: skipped: the valgrind client requests here are x86-64 Linux only");
        return ExitCode::SUCCESS;
    }
    if valgrind::running_on_valgrind() {
        return child(&selected);
    }
    if cfg!(debug_assertions) && std::env::var_os("SVAULT_CT_ALLOW_DEBUG").is_none() {
        println!(
            "constant_time: skipped: this is a debug build, which branches on secrets in \
             overflow checks and debug assertions, so its results mean nothing.\n\
             constant_time: run `cargo test --release --test constant_time` \
             (or set SVAULT_CT_ALLOW_DEBUG=1 to run the harness anyway)."
        );
        return ExitCode::SUCCESS;
    }
    parent(&selected)
}

/// Under valgrind: runs the cases, one result line each, and judges them.
fn child(selected: &[&Case]) -> ExitCode {
    let started = Instant::now();
    eprintln!(
        "==ct== kernel taken by gf256::mul_add_slice: {}",
        gf256::kernel()
    );
    let mut stray = 0;
    let mut last = valgrind::count_errors();
    for case in selected {
        eprintln!("{BEGIN_TAG}{}", case.name);
        let before = valgrind::count_errors();
        stray += before - last;
        let result = (case.run)();
        let after = valgrind::count_errors();
        last = after;
        eprintln!("{END_TAG}{}", case.name);
        let errors = after - before;
        let status = match &result {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("wrong result: {e}"),
        };
        println!("{RESULT_TAG}\t{}\t{errors}\t{status}", case.name);
    }
    stray += valgrind::count_errors() - last;
    println!("ct-stray\t{stray}");
    println!("ct-seconds\t{:.1}", started.elapsed().as_secs_f64());
    // The verdict needs memcheck's reports, which only the parent sees.
    println!("ct-done");
    ExitCode::SUCCESS
}

struct Outcome {
    name: String,
    errors: usize,
    status: String,
}

/// Not under valgrind: re-runs this binary under memcheck and judges what it reports.
fn parent(selected: &[&Case]) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("constant_time: FAIL: cannot find this test binary: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let output = std::process::Command::new("valgrind")
        .args([
            "--quiet",
            "--error-exitcode=0",
            "--error-limit=no",
            "--num-callers=12",
        ])
        .arg(&exe)
        .args(std::env::args_os().skip(1))
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                eprintln!(
                    "constant_time: FAIL: valgrind is not installed, and CI=true requires \
                     the constant-time gate (install it, e.g. `apt-get install valgrind`)"
                );
                return ExitCode::FAILURE;
            }
            println!("constant_time: skipped: valgrind is not installed (CI=true makes this fail)");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("constant_time: FAIL: cannot run valgrind: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);

    let mut outcomes = Vec::new();
    let mut stray = None;
    let mut child_seconds = None;
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            [tag, name, errors, status] if *tag == RESULT_TAG => {
                if let Ok(errors) = errors.parse() {
                    outcomes.push(Outcome {
                        name: name.to_string(),
                        errors,
                        status: status.to_string(),
                    });
                }
            }
            ["ct-stray", n] => stray = n.parse().ok(),
            ["ct-seconds", s] => child_seconds = Some(s.to_string()),
            _ => {}
        }
    }
    if let Some(line) = stderr.lines().find(|l| l.contains("kernel taken")) {
        println!("constant_time: {}", line.trim_start_matches("==ct== "));
    }

    let mut ok = judge(selected, &outcomes, stray.unwrap_or(0), &stderr);
    if !stdout.lines().any(|l| l == "ct-done") || !output.status.success() {
        eprintln!(
            "constant_time: FAIL: the run under valgrind did not finish ({}); its stderr:\n{stderr}",
            output.status
        );
        ok = false;
    }
    println!(
        "constant_time: {} cases under memcheck in {:.1} s (cases {} s)",
        outcomes.len(),
        started.elapsed().as_secs_f64(),
        child_seconds.as_deref().unwrap_or("?"),
    );
    if ok {
        println!("constant_time: PASS");
        ExitCode::SUCCESS
    } else {
        println!("constant_time: FAIL");
        ExitCode::FAILURE
    }
}

/// Prints one line per case and decides: every real case 0 errors (or only allowed
/// reports, see [`Declassified`]) and right results, every canary at least one error, no
/// case missing, no errors outside the cases. Prints memcheck's reports for the cases
/// that fail (all of them with `SVAULT_CT_VERBOSE`).
fn judge(selected: &[&Case], outcomes: &[Outcome], stray: usize, stderr: &str) -> bool {
    let verbose = std::env::var_os("SVAULT_CT_VERBOSE").is_some();
    let mut ok = true;
    for case in selected {
        let Some(outcome) = outcomes.iter().find(|o| o.name == case.name) else {
            println!(
                "constant_time: FAIL  {}: no result (the run stopped early?)",
                case.name
            );
            ok = false;
            continue;
        };
        let reports = reports_in(stderr, case.name);
        let mut note = String::new();
        let pass = match case.expect {
            _ if outcome.status != "ok" => {
                note = format!("; {}", outcome.status);
                false
            }
            Expect::Clean if outcome.errors == 0 => true,
            Expect::Clean => {
                let allowed: Vec<&Declassified> = reports
                    .iter()
                    .filter_map(|r| allowance(r, case.declassified))
                    .collect();
                if !reports.is_empty() && allowed.len() == reports.len() {
                    let mut functions: Vec<&str> = allowed.iter().map(|a| a.function).collect();
                    functions.dedup();
                    note = format!(
                        "; all {} distinct reports are branches on results declassified by \
                         design in {}",
                        reports.len(),
                        functions.join(", ")
                    );
                    true
                } else {
                    false
                }
            }
            Expect::Leaky => outcome.errors > 0,
        };
        let expectation = match case.expect {
            Expect::Clean => "must be 0",
            Expect::Leaky => "canary, must be > 0",
        };
        println!(
            "constant_time: {}  {:<44} {:>5} errors  ({expectation}){note}",
            if pass { "ok  " } else { "FAIL" },
            case.name,
            outcome.errors,
        );
        if pass && !note.is_empty() {
            for declassified in case.declassified {
                println!("constant_time:       why allowed: {}", declassified.why);
            }
        }
        if !pass {
            ok = false;
            if case.expect == Expect::Leaky && outcome.errors == 0 {
                println!(
                    "constant_time:       the gate is blind: a deliberately leaky function \
                     was not reported"
                );
            }
        }
        if (!pass && case.expect == Expect::Clean) || verbose {
            for report in &reports {
                print_report(report);
            }
        }
    }
    if stray > 0 {
        println!(
            "constant_time: FAIL  {stray} errors outside any case (a secret used by the harness \
             itself?)"
        );
        println!("{stderr}");
        ok = false;
    }
    ok
}

/// One memcheck report: its first line and its stack, innermost frame first.
struct Report {
    kind: String,
    frames: Vec<Frame>,
}

struct Frame {
    function: String,
    /// `file:line`, a path under `library/` for the standard library, or `in <object>`.
    location: String,
}

/// The reports memcheck printed between a case's begin and end markers. Memcheck prints
/// each distinct error once (and counts every occurrence), so these are the distinct
/// errors first seen in this case.
fn reports_in(stderr: &str, name: &str) -> Vec<Report> {
    let begin = format!("{BEGIN_TAG}{name}");
    let end = format!("{END_TAG}{name}");
    let mut reports: Vec<Report> = Vec::new();
    let mut inside = false;
    for line in stderr.lines() {
        if line == begin {
            inside = true;
            continue;
        }
        if line == end {
            inside = false;
        }
        if !inside {
            continue;
        }
        // Memcheck's lines start with "==<pid>== ".
        let Some(body) = line
            .strip_prefix("==")
            .and_then(|rest| rest.split_once("== "))
            .map(|(_, body)| body)
        else {
            continue;
        };
        let frame = body
            .strip_prefix("   at ")
            .or_else(|| body.strip_prefix("   by "));
        match (frame, reports.last_mut()) {
            (Some(frame), Some(report)) => {
                // "0xADDR: function (location)"; the function may contain " (" itself
                // (tuple types in generic arguments), the location never does.
                let frame = frame.split_once(": ").map_or(frame, |(_, f)| f);
                let (function, location) = frame
                    .rsplit_once(" (")
                    .map_or((frame, ""), |(f, l)| (f, l.trim_end_matches(')')));
                report.frames.push(Frame {
                    function: function.to_string(),
                    location: location.to_string(),
                });
            }
            (None, _) if !body.trim().is_empty() && !body.starts_with(' ') => {
                reports.push(Report {
                    kind: body.to_string(),
                    frames: Vec::new(),
                });
            }
            _ => {}
        }
    }
    reports
}

/// The declassification that allows `report`, if any (see [`Declassified`]).
fn allowance<'a>(report: &Report, declassified: &'a [Declassified]) -> Option<&'a Declassified> {
    if !report.kind.starts_with("Conditional jump") {
        return None;
    }
    let frame = report
        .frames
        .iter()
        .find(|f| !f.location.starts_with("library/"))?;
    declassified.iter().find(|d| {
        frame.function == d.function
            || frame
                .function
                .strip_prefix(d.function)
                .is_some_and(|rest| rest.starts_with("::{") || rest.starts_with('<'))
    })
}

/// Prints a report down to the frame that entered it from this file.
fn print_report(report: &Report) {
    println!("    {}", report.kind);
    for frame in &report.frames {
        let function: String = frame.function.chars().take(110).collect();
        let ellipsis = if function.len() < frame.function.len() {
            "..."
        } else {
            ""
        };
        println!("        {function}{ellipsis} ({})", frame.location);
        if frame.location.starts_with("constant_time.rs") {
            break;
        }
    }
}
