//! Shamir split/combine over GF(256): svault next to other Rust Shamir crates, in one run.
//!
//! Groups (one per case; every implementation that can do the case sits in the group):
//!
//! 1. `split_32B_3of8`      split a 32-byte secret into 8 shares, threshold 3
//! 2. `combine_32B_3`       combine 3 shares (x = 2, 5, 8) of a 32-byte secret
//! 3. `split_1MiB_3of8`     as 1, 1 MiB secret, reported as throughput
//! 4. `combine_1MiB_3`      as 2, 1 MiB secret, reported as throughput
//! 5. `consistency_32B_255_t128`  svault's consistency check of 255 shares at threshold 128
//!
//! Split benchmarks carry the RNG as the parameter: `default` is what a user of that crate
//! gets without supplying a generator (svault: `split`, drawing from its per-thread
//! `CoefficientRng`; the peers: their thread-local generator), `chacha20` is a seeded
//! `rand_chacha::ChaCha20Rng` handed in, which separates the generator's cost from the field
//! arithmetic.
//!
//! `svault-into` is svault writing into buffers the caller allocated once (`split_into`,
//! `combine_into`); `svault` is the allocating API, the allocation and wipe of every share
//! included.
//!
//! What the peers cannot do:
//! - `shamirsecretsharing` only shares exactly 32 bytes (`hazmat::create_keyshares`, plain
//!   Shamir) or exactly 64 bytes wrapped in an AEAD (`create_shares`), and draws its randomness
//!   from `rand::random` with no way to pass a generator. Cases 1 and 2 use the 32-byte hazmat
//!   API with its own generator only. For 1 MiB it has no API; the `hazmat-32B-chunks` entry
//!   loops the 32-byte call over 32768 chunks, the streaming use its documentation sketches, and
//!   is labelled as such.
//! - `gf256` draws from a generator named when its `shamir` module is instantiated (by
//!   default `ThreadRng`); the `chacha20` entry instantiates it again with a seeded ChaCha20
//!   expression, which the macro evaluates afresh on every `generate` call (the key set-up is
//!   included; it is small next to the work).
//! - `blahaj` 0.7 and `vsss-rs` 6 take generators implementing `rand_core` 0.10 traits while
//!   svault and the rest use `rand` 0.8; [`Rc10`] is a pass-through adapter so the same
//!   ChaCha20 stream (or `rand::thread_rng()` for vsss-rs, which has no generator of its own)
//!   can drive them.
//! - No peer has a consistency check, so case 5 is svault alone.
//!
//! Field polynomials differ (svault, vsss-rs and shamirsecretsharing use 0x11b; sharks, blahaj
//! and gf256's default instantiation use 0x11d), so shares are not interchangeable; the
//! benchmark only times each crate against itself. Drop of the outputs is inside the timed
//! region: crates that zeroize shares or secrets on drop pay for it here, as their users do.

// Benches are test code: setup failures should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, measurement::WallTime,
};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use svault::shamir::{self as sv, Share};
use vsss_rs::elliptic_curve::rand_core as rand_core10;

const THRESHOLD: u8 = 3;
const COUNT: u8 = 8;
/// The shares handed to every `combine`: x = 2, 5, 8 (not a prefix, not contiguous).
const PICK: [usize; 3] = [1, 4, 7];
const SMALL: usize = 32;
const BIG: usize = 1 << 20;
const SEED: [u8; 32] = [0x5e; 32];

/// Adapter: a `rand` 0.8 generator presented through the `rand_core` 0.10 traits that
/// blahaj 0.7 and vsss-rs 6 ask for. Every call is forwarded unchanged.
struct Rc10<R>(R);

impl<R: RngCore> rand_core10::TryRng for Rc10<R> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: RngCore + rand::CryptoRng> rand_core10::TryCryptoRng for Rc10<R> {}

/// gf256's Shamir module instantiated a second time, drawing from a seeded ChaCha20 instead
/// of `ThreadRng` (same default field, 0x11d in constant-time Barrett mode). The wrapper
/// module only scopes the allowance to the macro's generated code.
#[allow(clippy::manual_strip)]
mod gf256_seeded {
    #[gf256::shamir::shamir(
        rng = <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::from_seed([0x5e; 32])
    )]
    pub mod chacha {}
}
use gf256_seeded::chacha as gf256_chacha;

fn chacha() -> ChaCha20Rng {
    ChaCha20Rng::from_seed(SEED)
}

fn secret(len: usize) -> Vec<u8> {
    let mut s = vec![0u8; len];
    ChaCha20Rng::from_seed([0x42; 32]).fill_bytes(&mut s);
    s
}

// ---------------------------------------------------------------------------------------------
// split

fn split_group(g: &mut BenchmarkGroup<'_, WallTime>, len: usize) {
    let secret = secret(len);
    let s = secret.as_slice();
    let (t, n) = (THRESHOLD, COUNT);

    g.bench_function(BenchmarkId::new("svault", "default"), |b| {
        b.iter(|| sv::split(black_box(s), t, n).unwrap())
    });
    g.bench_function(BenchmarkId::new("svault", "chacha20"), |b| {
        let mut rng = chacha();
        b.iter(|| sv::split_with_rng(black_box(s), t, n, &mut rng).unwrap())
    });
    // Into buffers the caller owns (allocated once, outside the timed region).
    g.bench_function(BenchmarkId::new("svault-into", "default"), |b| {
        let mut buffers = vec![vec![0u8; s.len()]; n.into()];
        b.iter(|| {
            let mut outputs: Vec<&mut [u8]> = buffers.iter_mut().map(Vec::as_mut_slice).collect();
            sv::split_into(black_box(s), t, &mut outputs).unwrap()
        })
    });

    g.bench_function(BenchmarkId::new("sharks", "default"), |b| {
        let sharks = sharks::Sharks(t);
        b.iter(|| {
            sharks
                .dealer(black_box(s))
                .take(n.into())
                .collect::<Vec<_>>()
        })
    });
    g.bench_function(BenchmarkId::new("sharks", "chacha20"), |b| {
        let sharks = sharks::Sharks(t);
        let mut rng = chacha();
        b.iter(|| {
            sharks
                .dealer_rng(black_box(s), &mut rng)
                .take(n.into())
                .collect::<Vec<_>>()
        })
    });

    g.bench_function(BenchmarkId::new("blahaj", "default"), |b| {
        let sharks = blahaj::Sharks(t);
        b.iter(|| {
            sharks
                .dealer(black_box(s))
                .take(n.into())
                .collect::<Vec<_>>()
        })
    });
    g.bench_function(BenchmarkId::new("blahaj", "chacha20"), |b| {
        let sharks = blahaj::Sharks(t);
        let mut rng = Rc10(chacha());
        b.iter(|| {
            sharks
                .dealer_rng(black_box(s), &mut rng)
                .take(n.into())
                .collect::<Vec<_>>()
        })
    });

    g.bench_function(BenchmarkId::new("vsss-rs", "default"), |b| {
        let mut rng = Rc10(rand::thread_rng());
        b.iter(|| vsss_rs::Gf256::split_bytes(t.into(), n.into(), black_box(s), &mut rng).unwrap())
    });
    g.bench_function(BenchmarkId::new("vsss-rs", "chacha20"), |b| {
        let mut rng = Rc10(chacha());
        b.iter(|| vsss_rs::Gf256::split_bytes(t.into(), n.into(), black_box(s), &mut rng).unwrap())
    });

    g.bench_function(BenchmarkId::new("gf256", "default"), |b| {
        b.iter(|| gf256::shamir::shamir::generate(black_box(s), n.into(), t.into()))
    });
    g.bench_function(BenchmarkId::new("gf256", "chacha20"), |b| {
        b.iter(|| gf256_chacha::generate(black_box(s), n.into(), t.into()))
    });

    if len == SMALL {
        g.bench_function(
            BenchmarkId::new("shamirsecretsharing-hazmat", "default"),
            |b| {
                b.iter(|| {
                    shamirsecretsharing::hazmat::create_keyshares(black_box(s), n, t).unwrap()
                })
            },
        );
    } else {
        g.bench_function(
            BenchmarkId::new("shamirsecretsharing-hazmat-32B-chunks", "default"),
            |b| b.iter(|| sss_split_chunked(black_box(s), n, t)),
        );
    }
}

/// shamirsecretsharing only shares 32-byte keys; share a longer secret (a multiple of 32
/// bytes) 32 bytes at a time and concatenate, giving `n` shares of the form x || y.
fn sss_split_chunked(secret: &[u8], n: u8, t: u8) -> Vec<Vec<u8>> {
    use shamirsecretsharing::hazmat::{KEY_SIZE, create_keyshares};
    assert_eq!(secret.len() % KEY_SIZE, 0);
    let mut shares: Vec<Vec<u8>> = (1..=n)
        .map(|x| {
            let mut v = Vec::with_capacity(secret.len() + 1);
            v.push(x);
            v
        })
        .collect();
    for chunk in secret.chunks(KEY_SIZE) {
        let keyshares = create_keyshares(chunk, n, t).unwrap();
        for (share, ks) in shares.iter_mut().zip(&keyshares) {
            share.extend_from_slice(&ks[1..]);
        }
    }
    shares
}

/// The inverse of [`sss_split_chunked`].
fn sss_combine_chunked(shares: &[Vec<u8>]) -> Vec<u8> {
    use shamirsecretsharing::hazmat::{KEY_SIZE, KEYSHARE_SIZE, combine_keyshares};
    let len = shares[0].len() - 1;
    let mut out = Vec::with_capacity(len);
    let mut keyshares: Vec<Vec<u8>> = shares
        .iter()
        .map(|s| {
            let mut v = Vec::with_capacity(KEYSHARE_SIZE);
            v.push(s[0]);
            v
        })
        .collect();
    for start in (1..=len).step_by(KEY_SIZE) {
        for (ks, s) in keyshares.iter_mut().zip(shares) {
            ks.truncate(1);
            ks.extend_from_slice(&s[start..start + KEY_SIZE]);
        }
        out.extend_from_slice(&combine_keyshares(&keyshares).unwrap());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// combine

fn combine_group(g: &mut BenchmarkGroup<'_, WallTime>, len: usize) {
    let secret = secret(len);
    let s = secret.as_slice();
    let (t, n) = (THRESHOLD, COUNT);

    // Every input set is made by the crate's own split, checked once here, then timed.
    {
        let all = sv::split_with_rng(s, t, n, &mut chacha()).unwrap();
        let picked: Vec<Share> = PICK
            .iter()
            .map(|&i| Share::new(all[i].x(), all[i].y().to_vec()))
            .collect();
        assert_eq!(picked.iter().map(Share::x).collect::<Vec<_>>(), [2, 5, 8]);
        assert_eq!(sv::combine(&picked).unwrap().as_slice(), s);
        g.bench_function("svault", |b| {
            b.iter(|| sv::combine(black_box(&picked)).unwrap())
        });
        g.bench_function("svault-into", |b| {
            let mut out = vec![0u8; s.len()];
            b.iter(|| sv::combine_into(black_box(&picked), &mut out).unwrap())
        });
    }

    {
        let sharks = sharks::Sharks(t);
        let all: Vec<_> = sharks.dealer_rng(s, &mut chacha()).take(n.into()).collect();
        let picked: Vec<sharks::Share> = PICK.iter().map(|&i| all[i].clone()).collect();
        assert_eq!(picked.iter().map(|p| p.x.0).collect::<Vec<_>>(), [2, 5, 8]);
        assert_eq!(sharks.recover(&picked).unwrap(), s);
        g.bench_function("sharks", |b| {
            b.iter(|| sharks.recover(black_box(&picked)).unwrap())
        });
    }

    {
        let sharks = blahaj::Sharks(t);
        let all: Vec<_> = sharks
            .dealer_rng(s, &mut Rc10(chacha()))
            .take(n.into())
            .collect();
        let picked: Vec<blahaj::Share> = PICK.iter().map(|&i| all[i].clone()).collect();
        assert_eq!(picked.iter().map(|p| p.x.0).collect::<Vec<_>>(), [2, 5, 8]);
        assert_eq!(sharks.recover(&picked).unwrap(), s);
        g.bench_function("blahaj", |b| {
            b.iter(|| sharks.recover(black_box(&picked)).unwrap())
        });
    }

    {
        let all = vsss_rs::Gf256::split_bytes(t.into(), n.into(), s, Rc10(chacha())).unwrap();
        let picked = pick_bytes(&all);
        assert_eq!(vsss_rs::Gf256::combine_bytes(&picked).unwrap(), s);
        g.bench_function("vsss-rs", |b| {
            b.iter(|| vsss_rs::Gf256::combine_bytes(black_box(&picked)).unwrap())
        });
    }

    {
        let all = gf256_chacha::generate(s, n.into(), t.into());
        let picked = pick_bytes(&all);
        assert_eq!(gf256::shamir::shamir::reconstruct(&picked), s);
        g.bench_function("gf256", |b| {
            b.iter(|| gf256::shamir::shamir::reconstruct(black_box(&picked)))
        });
    }

    if len == SMALL {
        let all = shamirsecretsharing::hazmat::create_keyshares(s, n, t).unwrap();
        let picked = pick_bytes(&all);
        assert_eq!(
            shamirsecretsharing::hazmat::combine_keyshares(&picked).unwrap(),
            s
        );
        g.bench_function("shamirsecretsharing-hazmat", |b| {
            b.iter(|| shamirsecretsharing::hazmat::combine_keyshares(black_box(&picked)).unwrap())
        });
    } else {
        let all = sss_split_chunked(s, n, t);
        let picked = pick_bytes(&all);
        assert_eq!(sss_combine_chunked(&picked), s);
        g.bench_function("shamirsecretsharing-hazmat-32B-chunks", |b| {
            b.iter(|| sss_combine_chunked(black_box(&picked)))
        });
    }
}

/// Picks shares x = 2, 5, 8 out of byte-encoded shares whose first byte is x.
fn pick_bytes(all: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let picked: Vec<Vec<u8>> = PICK.iter().map(|&i| all[i].clone()).collect();
    assert_eq!(picked.iter().map(|p| p[0]).collect::<Vec<_>>(), [2, 5, 8]);
    picked
}

// ---------------------------------------------------------------------------------------------
// groups

fn small(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

fn big(g: &mut BenchmarkGroup<'_, WallTime>) {
    // Flat sampling: the slower peers take a large fraction of a second per op, and linear
    // sampling would run 1 + 2 + ... + n iterations of them.
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Bytes(BIG as u64));
}

fn bench_split_small(c: &mut Criterion) {
    let mut g = c.benchmark_group("split_32B_3of8");
    small(&mut g);
    split_group(&mut g, SMALL);
    g.finish();
}

fn bench_combine_small(c: &mut Criterion) {
    let mut g = c.benchmark_group("combine_32B_3");
    small(&mut g);
    combine_group(&mut g, SMALL);
    g.finish();
}

fn bench_split_big(c: &mut Criterion) {
    let mut g = c.benchmark_group("split_1MiB_3of8");
    big(&mut g);
    split_group(&mut g, BIG);
    g.finish();
}

fn bench_combine_big(c: &mut Criterion) {
    let mut g = c.benchmark_group("combine_1MiB_3");
    big(&mut g);
    combine_group(&mut g, BIG);
    g.finish();
}

fn bench_consistency(c: &mut Criterion) {
    let secret = secret(SMALL);
    let shares = sv::split_with_rng(&secret, 128, 255, &mut chacha()).unwrap();
    assert_eq!(
        sv::check_consistency(&shares, 128).unwrap(),
        sv::Consistency::Consistent
    );
    let mut g = c.benchmark_group("consistency_32B_255_t128");
    small(&mut g);
    g.bench_function("svault", |b| {
        b.iter(|| sv::check_consistency(black_box(&shares), 128).unwrap())
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_split_small(&mut c);
    bench_combine_small(&mut c);
    bench_split_big(&mut c);
    bench_combine_big(&mut c);
    bench_consistency(&mut c);
    c.final_summary();
}
