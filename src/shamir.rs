//! Shamir secret sharing over GF(2^8) ([`crate::gf256`]), byte by byte.
//!
//! A secret of `len` bytes is split with one random polynomial of degree `threshold − 1`
//! per byte, its constant term the secret byte; share `x` holds every polynomial's value
//! at `x`. Any `threshold` shares give the secret back by Lagrange interpolation at 0;
//! fewer reveal nothing, because the coefficients are uniform over all 256 values (not
//! 1..=255, the mistake behind RUSTSEC-2024-0398) and independent across bytes.
//!
//! # What is public
//!
//! The x coordinates, the threshold, the share count and the lengths are public: they
//! pick branches and sizes. The secret, the coefficients and every y byte are secret and
//! only ever meet the field through [`gf256::mul_add_slice`] with a public constant (a
//! power of x or a Lagrange coefficient), which is constant time.
//!
//! ```
//! use svault::shamir::{combine, split};
//!
//! let secret = b"correct horse battery staple";
//! let shares = split(secret, 3, 5)?;
//! // Any three of the five shares give the secret back.
//! let back = combine(&shares[1..4])?;
//! assert_eq!(&back[..], secret);
//! # Ok::<(), svault::shamir::Error>(())
//! ```

use core::cell::RefCell;
use core::fmt;

use chacha20::ChaCha12;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use rand::rngs::OsRng;
use rand::rngs::adapter::ReseedingRng;
use rand::{CryptoRng, RngCore, SeedableRng};
use rand_core::block::BlockRngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::gf256;

/// Secret bytes are processed in chunks of this many, so that the coefficients and the
/// rows being written stay in the first-level cache.
const CHUNK: usize = 4096;

/// One point of every byte's polynomial: the public coordinate `x` and the secret
/// values `y`, one per secret byte. The values are wiped when the share is dropped and
/// never printed.
pub struct Share {
    x: u8,
    /// Wiped in [`Drop`].
    y: Vec<u8>,
}

impl Share {
    /// A share at `x` holding the values `y` (taken over, and wiped on drop).
    pub fn new(x: u8, y: Vec<u8>) -> Share {
        Share { x, y }
    }

    /// The public x coordinate.
    pub fn x(&self) -> u8 {
        self.x
    }

    /// The secret values, one per byte of the shared secret.
    pub fn y(&self) -> &[u8] {
        &self.y
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        // As `Zeroizing<Vec<u8>>` would, but as one bulk wipe rather than a volatile
        // write per byte: the bytes, then any spare capacity.
        self.y.as_mut_slice().zeroize();
        self.y.spare_capacity_mut().zeroize();
    }
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("x", &self.x)
            .field("y", &format_args!("<{} secret bytes>", self.y.len()))
            .finish()
    }
}

/// Why a Shamir operation was refused. Nothing here carries secret data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No shares were given.
    #[error("no shares were given")]
    NoShares,
    /// Two shares have the same x coordinate.
    #[error(
        "two shares have x = {x}; each share must be given once (a share entered twice, or shares from different splits)"
    )]
    DuplicateX {
        /// The repeated coordinate.
        x: u8,
    },
    /// A share lies at the point being evaluated; combining it would just return its
    /// own bytes (a share at x = 0 would *be* the secret), so it is refused.
    #[error("a share lies at x = {x}, the point being computed; such a share is refused")]
    ShareAtEvaluationPoint {
        /// The share's (and the evaluation point's) coordinate.
        x: u8,
    },
    /// A share's length differs from the first share's.
    #[error(
        "the share at x = {x} holds {len} bytes but the first share holds {expected}; shares of different secrets cannot be combined"
    )]
    UnequalLengths {
        /// The coordinate of the odd share.
        x: u8,
        /// Its length.
        len: usize,
        /// The first share's length.
        expected: usize,
    },
    /// The secret (or every share) is empty.
    #[error("the secret is empty: there is nothing to share")]
    EmptySecret,
    /// The threshold is 0 or larger than the share count.
    #[error(
        "threshold {threshold} is out of range: it must be at least 1 and at most the share count {count}"
    )]
    ThresholdOutOfRange {
        /// The threshold asked for.
        threshold: u8,
        /// The share count asked for (or given).
        count: usize,
    },
    /// The share count is 0 (255 is the most a byte coordinate allows).
    #[error("share count {count} is out of range: it must be between 1 and 255")]
    CountOutOfRange {
        /// The count asked for.
        count: u8,
    },
    /// The caller gave a different number of output buffers than there are shares.
    #[error("{given} output buffers were given for {expected} shares; give one buffer per share")]
    OutputCount {
        /// How many buffers are needed.
        expected: usize,
        /// How many were given.
        given: usize,
    },
    /// A caller's output buffer is not as long as the secret (or the share) it receives.
    #[error(
        "an output buffer holds {len} bytes but {expected} are written; give buffers as long as the secret"
    )]
    OutputLength {
        /// The length needed.
        expected: usize,
        /// The buffer's length.
        len: usize,
    },
}

/// Split `secret` into `count` shares at x = 1..=count, any `threshold` of which
/// recombine it, drawing the coefficients from this thread's generator
/// ([`CoefficientRng`]: no system call per split).
///
/// `threshold` 1 is allowed: every share is then the secret itself.
///
/// # Errors
///
/// [`Error::EmptySecret`], [`Error::CountOutOfRange`] (count 0),
/// [`Error::ThresholdOutOfRange`] (threshold 0 or above count).
pub fn split(secret: &[u8], threshold: u8, count: u8) -> Result<Vec<Share>, Error> {
    split_with_rng(secret, threshold, count, &mut CoefficientRng::new())
}

/// [`split`] with coefficients from `rng`, which must be a cryptographic generator
/// (tests pass a seeded one).
///
/// The coefficients are drawn `CHUNK` (4096) secret bytes at a time: for each chunk,
/// first the degree-1 coefficient of every byte in the chunk, then degree 2, and so on
/// (`vectors/shamir.txt` pins this order).
///
/// # Errors
///
/// As [`split`].
///
/// # Security
///
/// `secret` and the generator's output are secret; `threshold`, `count` and the
/// secret's length are public.
pub fn split_with_rng<R: RngCore + CryptoRng + ?Sized>(
    secret: &[u8],
    threshold: u8,
    count: u8,
    rng: &mut R,
) -> Result<Vec<Share>, Error> {
    if secret.is_empty() {
        return Err(Error::EmptySecret);
    }
    check_parameters(threshold, count)?;
    // One allocation per share (each wiped when its share is dropped), one for the list.
    let mut shares: Vec<Share> = (1..=count)
        .map(|x| {
            // Not `vec![0; len]`: glibc's calloc skips its per-thread cache (malloc does
            // not), and every byte is written by the split anyway.
            #[allow(clippy::slow_vector_initialization)]
            let mut y = Vec::with_capacity(secret.len());
            y.resize(secret.len(), 0);
            Share::new(x, y)
        })
        .collect();
    with_outputs(&mut shares, |outputs| {
        split_checked(secret, threshold, outputs, rng);
    });
    Ok(shares)
}

/// [`split`] into buffers the caller owns: `shares[i]` receives the share at x = i + 1
/// (so the share count is `shares.len()`), each buffer exactly as long as `secret`.
/// Nothing is allocated but the coefficient block; the caller wipes the buffers.
///
/// # Errors
///
/// As [`split`] (the count being `shares.len()`, so more than 255 buffers is
/// [`Error::OutputCount`]), and [`Error::OutputLength`] for a buffer of another length.
/// On an error no buffer has been written.
pub fn split_into(secret: &[u8], threshold: u8, shares: &mut [&mut [u8]]) -> Result<(), Error> {
    split_into_with_rng(secret, threshold, shares, &mut CoefficientRng::new())
}

/// [`split_into`] with coefficients from `rng` (a cryptographic generator). For the same
/// generator state it writes exactly the shares [`split_with_rng`] returns.
///
/// # Errors
///
/// As [`split_into`].
pub fn split_into_with_rng<R: RngCore + CryptoRng + ?Sized>(
    secret: &[u8],
    threshold: u8,
    shares: &mut [&mut [u8]],
    rng: &mut R,
) -> Result<(), Error> {
    if secret.is_empty() {
        return Err(Error::EmptySecret);
    }
    let count = u8::try_from(shares.len()).map_err(|_| Error::OutputCount {
        expected: 255,
        given: shares.len(),
    })?;
    check_parameters(threshold, count)?;
    if let Some(share) = shares.iter().find(|share| share.len() != secret.len()) {
        return Err(Error::OutputLength {
            expected: secret.len(),
            len: share.len(),
        });
    }
    split_checked(secret, threshold, shares, rng);
    Ok(())
}

/// Up to this many coefficient bytes (degree × secret length) and powers (degree × share
/// count), a split keeps them on the stack: the real key sizes allocate nothing but the
/// shares themselves.
const SMALL: usize = 256;

/// The checks shared by every split: 1 ≤ count, 1 ≤ threshold ≤ count.
fn check_parameters(threshold: u8, count: u8) -> Result<(), Error> {
    if count == 0 {
        return Err(Error::CountOutOfRange { count });
    }
    if threshold == 0 || threshold > count {
        return Err(Error::ThresholdOutOfRange {
            threshold,
            count: usize::from(count),
        });
    }
    Ok(())
}

/// `powers[i * degree + k - 1]` = x_i^k for the share at x_i = i + 1 (public values).
fn fill_powers(degree: usize, powers: &mut [u8]) {
    if degree == 0 {
        return;
    }
    for (x, row) in (1..=255u8).zip(powers.chunks_exact_mut(degree)) {
        let mut power = 1u8;
        for slot in row {
            power = gf256::public::mul(power, x);
            *slot = power;
        }
    }
}

/// Calls `f` with one mutable slice per share's bytes: from a stack array for up to 16
/// shares, else from a list.
fn with_outputs(shares: &mut [Share], f: impl FnOnce(&mut [&mut [u8]])) {
    const STACK: usize = 16;
    let count = shares.len();
    if count <= STACK {
        let mut outputs: [&mut [u8]; STACK] = Default::default();
        for (output, share) in outputs.iter_mut().zip(shares.iter_mut()) {
            *output = &mut share.y[..];
        }
        f(&mut outputs[..count]);
    } else {
        let mut outputs: Vec<&mut [u8]> = shares.iter_mut().map(|share| &mut share.y[..]).collect();
        f(&mut outputs);
    }
}

/// A split whose parameters and buffers have been checked: `outputs[i]` (as long as the
/// non-empty `secret`) receives the share at x = i + 1. Small splits keep the
/// coefficients and powers on the stack, others go through a [`Splitter`]; both draw the
/// generator in the same order.
fn split_checked<R: RngCore + CryptoRng + ?Sized>(
    secret: &[u8],
    threshold: u8,
    outputs: &mut [&mut [u8]],
    rng: &mut R,
) {
    let degree = usize::from(threshold) - 1;
    let count = outputs.len();
    if degree * secret.len() <= SMALL && degree * count <= SMALL {
        let mut powers = [0u8; SMALL];
        let powers = &mut powers[..degree * count];
        fill_powers(degree, powers);
        let mut coefficients = [0u8; SMALL];
        split_pieces(secret, degree, outputs, powers, &mut coefficients, rng);
        coefficients[..].zeroize();
        return;
    }
    // `count` came from a u8 and the parameters were checked: this cannot fail.
    if let Ok(mut splitter) = Splitter::with_rng(threshold, count as u8, rng) {
        // The buffers were checked against `secret`: nothing left to refuse.
        let _ = splitter.split_into(secret, outputs);
    }
}

/// The split itself, `CHUNK` bytes at a time: draws each chunk's coefficients (degree 1
/// for every byte of the chunk, then degree 2, ...) into `coefficients` and hands them at
/// once to the fused kernel. `coefficients` holds at least `degree × min(len, CHUNK)`
/// bytes; the caller wipes it.
fn split_pieces<R: RngCore + ?Sized>(
    secret: &[u8],
    degree: usize,
    outputs: &mut [&mut [u8]],
    powers: &[u8],
    coefficients: &mut [u8],
    rng: &mut R,
) {
    for (chunk_index, secret_chunk) in secret.chunks(CHUNK).enumerate() {
        let block = &mut coefficients[..degree * secret_chunk.len()];
        rng.fill_bytes(block);
        gf256::split_sum(outputs, chunk_index * CHUNK, secret_chunk, block, powers);
    }
}

/// A split in pieces, for secrets too long to hold at once: each call to
/// [`Splitter::split_into`] shares the next piece of the secret into the next piece of
/// every share. All pieces share one set of x coordinates (1..=count) and one threshold;
/// every byte has its own polynomial, so the pieces may have any lengths.
///
/// Fed in pieces whose lengths are multiples of 4096 bytes, it draws the generator in
/// the order [`split_with_rng`] does, so it writes the same shares. Its coefficient
/// block (at most `(threshold − 1) × 4096` bytes, in cache) is wiped after each piece.
///
/// ```
/// use svault::shamir::{Splitter, combine, Share};
///
/// let secret = vec![7u8; 10_000];
/// let mut shares = vec![vec![0u8; secret.len()]; 3];
/// let mut splitter = Splitter::new(2, 3)?;
/// for start in (0..secret.len()).step_by(4096) {
///     let end = (start + 4096).min(secret.len());
///     let mut outputs: Vec<&mut [u8]> = shares.iter_mut().map(|s| &mut s[start..end]).collect();
///     splitter.split_into(&secret[start..end], &mut outputs)?;
/// }
/// let back = combine(&[Share::new(1, shares[0].clone()), Share::new(3, shares[2].clone())])?;
/// assert_eq!(&back[..], &secret[..]);
/// # Ok::<(), svault::shamir::Error>(())
/// ```
pub struct Splitter<R> {
    rng: R,
    degree: usize,
    count: u8,
    /// `powers[i * degree + k - 1]` = x_i^k for the share at x_i = i + 1: public.
    powers: Vec<u8>,
    /// Degree-1 coefficients of a chunk, then degree 2, ...; secret, wiped on drop.
    coefficients: Zeroizing<Vec<u8>>,
}

impl Splitter<CoefficientRng> {
    /// A splitter for `count` shares at threshold `threshold`, its coefficients from this
    /// thread's generator (one fresh [`CoefficientRng`] for the whole stream).
    ///
    /// # Errors
    ///
    /// [`Error::CountOutOfRange`], [`Error::ThresholdOutOfRange`].
    pub fn new(threshold: u8, count: u8) -> Result<Self, Error> {
        Splitter::with_rng(threshold, count, CoefficientRng::new())
    }
}

impl<R: RngCore + CryptoRng> Splitter<R> {
    /// A splitter drawing its coefficients from `rng` (a cryptographic generator; pass
    /// `&mut rng` to keep it).
    ///
    /// # Errors
    ///
    /// [`Error::CountOutOfRange`], [`Error::ThresholdOutOfRange`].
    pub fn with_rng(threshold: u8, count: u8, rng: R) -> Result<Self, Error> {
        check_parameters(threshold, count)?;
        let degree = usize::from(threshold) - 1;
        let mut powers = vec![0u8; usize::from(count) * degree];
        fill_powers(degree, &mut powers);
        Ok(Splitter {
            rng,
            degree,
            count,
            powers,
            coefficients: Zeroizing::new(Vec::new()),
        })
    }

    /// Shares the next piece of the secret: `shares[i]` receives the next bytes of the
    /// share at x = i + 1, one per byte of `secret`. An empty piece writes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::OutputCount`] unless there is one buffer per share,
    /// [`Error::OutputLength`] for a buffer not as long as `secret`. On an error no
    /// buffer has been written and no coefficient drawn.
    ///
    /// # Security
    ///
    /// `secret`, the generator's output and the bytes written are secret; the lengths,
    /// the threshold and the count are public.
    pub fn split_into(&mut self, secret: &[u8], shares: &mut [&mut [u8]]) -> Result<(), Error> {
        let count = usize::from(self.count);
        if shares.len() != count {
            return Err(Error::OutputCount {
                expected: count,
                given: shares.len(),
            });
        }
        if let Some(share) = shares.iter().find(|share| share.len() != secret.len()) {
            return Err(Error::OutputLength {
                expected: secret.len(),
                len: share.len(),
            });
        }
        if secret.is_empty() {
            return Ok(());
        }
        let degree = self.degree;
        let needed = degree * CHUNK.min(secret.len());
        if self.coefficients.len() < needed {
            // A new block rather than a resize, so that no unwiped copy is left behind.
            self.coefficients = Zeroizing::new(vec![0u8; needed]);
        }
        split_pieces(
            secret,
            degree,
            shares,
            &self.powers,
            &mut self.coefficients,
            &mut self.rng,
        );
        // Wiped in place: the block is kept for the next piece.
        self.coefficients[..].zeroize();
        Ok(())
    }
}

impl<R> fmt::Debug for Splitter<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Splitter")
            .field("threshold", &(self.degree + 1))
            .finish_non_exhaustive()
    }
}

/// The secret: the polynomials' value at x = 0, from exactly the shares given.
///
/// Give at least the threshold number of shares: with fewer, interpolation still
/// yields *a* value, but not the secret (nothing in the shares says how many are
/// needed; the share codecs and the vault header carry the threshold).
///
/// # Errors
///
/// [`Error::NoShares`], [`Error::DuplicateX`], [`Error::UnequalLengths`],
/// [`Error::EmptySecret`], and [`Error::ShareAtEvaluationPoint`] for a share at x = 0.
pub fn combine(shares: &[Share]) -> Result<Zeroizing<Vec<u8>>, Error> {
    interpolate(shares, 0)
}

/// [`combine`] into a buffer the caller owns, exactly as long as the shares.
///
/// # Errors
///
/// As [`combine`], and [`Error::OutputLength`]. On an error `out` is untouched.
pub fn combine_into(shares: &[Share], out: &mut [u8]) -> Result<(), Error> {
    interpolate_into(shares, 0, out)
}

/// The polynomials' value at `at`, through exactly the shares given: x = 0 is the
/// secret; SLIP-0039 keeps its secret at 255 and a digest at 254; a new officer's
/// share is the value at a new x.
///
/// # Errors
///
/// [`Error::NoShares`], [`Error::DuplicateX`], [`Error::UnequalLengths`],
/// [`Error::EmptySecret`], and [`Error::ShareAtEvaluationPoint`] when a share lies at
/// `at` (its bytes would be returned as they are).
///
/// # Security
///
/// The y bytes are secret; the x coordinates and `at` are public.
pub fn interpolate(shares: &[Share], at: u8) -> Result<Zeroizing<Vec<u8>>, Error> {
    let len = validate(shares)?;
    let mut out = Zeroizing::new(vec![0u8; len]);
    interpolate_into(shares, at, &mut out)?;
    Ok(out)
}

/// [`interpolate`] into a buffer the caller owns, exactly as long as the shares.
///
/// # Errors
///
/// As [`interpolate`], and [`Error::OutputLength`]. On an error `out` is untouched.
pub fn interpolate_into(shares: &[Share], at: u8, out: &mut [u8]) -> Result<(), Error> {
    let len = validate(shares)?;
    if out.len() != len {
        return Err(Error::OutputLength {
            expected: len,
            len: out.len(),
        });
    }
    let xs: Vec<u8> = shares.iter().map(Share::x).collect();
    let rows: Vec<&[u8]> = shares.iter().map(Share::y).collect();
    Combiner::new(&xs, at)?.combine_into(&rows, out)
}

/// Interpolation in pieces, for shares too long to hold at once: the Lagrange weights
/// of the public x coordinates are computed once, then each call to
/// [`Combiner::combine_into`] turns the next piece of every share into the next piece
/// of the value at `at`.
#[derive(Debug, Clone)]
pub struct Combiner {
    /// Public: the shares' coordinates and their Lagrange weights at `at`.
    xs: Vec<u8>,
    weights: Vec<u8>,
}

impl Combiner {
    /// A combiner for shares at the coordinates `xs` (in the order their pieces will be
    /// given), evaluating at `at` (0 for the secret).
    ///
    /// # Errors
    ///
    /// [`Error::NoShares`] for no coordinates, [`Error::DuplicateX`],
    /// [`Error::ShareAtEvaluationPoint`] for a coordinate equal to `at`.
    pub fn new(xs: &[u8], at: u8) -> Result<Self, Error> {
        if xs.is_empty() {
            return Err(Error::NoShares);
        }
        let mut seen = [false; 256];
        for &x in xs {
            let slot = &mut seen[usize::from(x)];
            if *slot {
                return Err(Error::DuplicateX { x });
            }
            *slot = true;
        }
        if seen[usize::from(at)] {
            return Err(Error::ShareAtEvaluationPoint { x: at });
        }
        Ok(Combiner {
            xs: xs.to_vec(),
            weights: lagrange_at(xs, at),
        })
    }

    /// Writes to `out` the value at the evaluation point of the next piece: `rows[j]`
    /// is the next piece of the share at `xs[j]`, every row as long as `out`.
    ///
    /// # Errors
    ///
    /// [`Error::OutputCount`] unless there is one row per coordinate,
    /// [`Error::UnequalLengths`] for a row not as long as `out`. On an error `out` is
    /// untouched.
    ///
    /// # Security
    ///
    /// The rows and `out` are secret; the coordinates and lengths are public.
    pub fn combine_into(&self, rows: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
        if rows.len() != self.xs.len() {
            return Err(Error::OutputCount {
                expected: self.xs.len(),
                given: rows.len(),
            });
        }
        if let Some((row, &x)) = rows
            .iter()
            .zip(&self.xs)
            .find(|(row, _)| row.len() != out.len())
        {
            return Err(Error::UnequalLengths {
                x,
                len: row.len(),
                expected: out.len(),
            });
        }
        gf256::mul_sum(out, None, rows, &self.weights);
        Ok(())
    }
}

/// What [`check_consistency`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Consistency {
    /// Every share lies on one polynomial of degree below the threshold: every
    /// threshold-sized subset reconstructs the same secret. (With exactly `threshold`
    /// shares this holds trivially and proves nothing about any of them.)
    Consistent,
    /// `agreeing` shares (at least threshold + 1) lie on one polynomial and the shares
    /// at these x coordinates do not.
    Deviating {
        /// The x coordinates of the shares off the polynomial, in input order.
        deviants: Vec<u8>,
        /// How many shares lie on it.
        agreeing: usize,
        /// True when `agreeing ≥ (n + threshold) / 2`: then no other polynomial can be
        /// shared by as many, and the deviants are certainly the wrong ones. When
        /// false, the deviants are the likely culprits (accidental damage essentially
        /// never makes a share agree with others), but a deliberately crafted set
        /// could hide another consistent group of equal size.
        unique: bool,
    },
    /// Some share is off, but no threshold + 1 of the shares were found on one
    /// polynomial, so the culprit cannot be named (e.g. 3 shares at threshold 2 with
    /// one wrong: every pair fits a line). When the set has at most 4096
    /// threshold-subsets every one was tried, so no threshold + 1 shares agree at all;
    /// for larger sets only the bases described at [`check_consistency`] were. Add
    /// shares, or test each against the vault's commitments.
    Undetermined,
}

/// Proves that all `shares` lie on one polynomial of degree `threshold − 1` —
/// equivalently, that every `threshold`-subset reconstructs the same secret — without
/// enumerating subsets: the polynomial through `threshold` of them is evaluated at every
/// other share's x and compared, O(n·t·len).
///
/// When some share is off, further base sets are tried (disjoint windows of the input,
/// then the input with one share left out, then — when there are at most 4096 of them —
/// every threshold-subset) until one is shared by at least `threshold + 1` shares; the
/// rest are named as deviants. Under accidental damage the
/// first or second base decides. See [`Consistency`] for what can be concluded.
///
/// # Errors
///
/// The checks of [`interpolate`], plus [`Error::ThresholdOutOfRange`] when `threshold`
/// is 0 or more shares are needed than given.
///
/// # Security
///
/// The y bytes are secret; the result, which shares agree, is public by design. Each
/// comparison is constant time and only its one-bit outcome is revealed.
pub fn check_consistency(shares: &[Share], threshold: u8) -> Result<Consistency, Error> {
    let len = validate(shares)?;
    let t = usize::from(threshold);
    let n = shares.len();
    if t == 0 || t > n {
        return Err(Error::ThresholdOutOfRange {
            threshold,
            count: n,
        });
    }
    if n == t {
        return Ok(Consistency::Consistent);
    }
    let mut bases: Vec<Vec<usize>> = (0..n / t).map(|w| (w * t..(w + 1) * t).collect()).collect();
    if !n.is_multiple_of(t) {
        bases.push((n - t..n).collect());
    }
    let mut scratch = Zeroizing::new(vec![0u8; len]);
    for base in bases
        .iter()
        .cloned()
        .chain((0..n).map(|skip| (0..n).filter(|&i| i != skip).take(t).collect()))
        .chain(small_subsets(n, t, EXHAUSTIVE_SUBSETS))
    {
        let agrees = agreement(shares, &base, &mut scratch);
        let agreeing = agrees.iter().filter(|&&a| a).count();
        if agreeing == n {
            return Ok(Consistency::Consistent);
        }
        if agreeing > t {
            let deviants = shares
                .iter()
                .zip(&agrees)
                .filter(|(_, a)| !**a)
                .map(|(s, _)| s.x)
                .collect();
            return Ok(Consistency::Deviating {
                deviants,
                agreeing,
                unique: 2 * agreeing >= n + t,
            });
        }
    }
    Ok(Consistency::Undetermined)
}

/// Up to this many threshold-subsets, [`check_consistency`] tries every one before it
/// answers [`Consistency::Undetermined`].
const EXHAUSTIVE_SUBSETS: u64 = 4096;

/// Every `t`-subset of `0..n` in lexicographic order, or none when there are more than
/// `limit` of them.
fn small_subsets(n: usize, t: usize, limit: u64) -> Vec<Vec<usize>> {
    // C(n, t) by the multiplicative formula, giving up once past the limit.
    let mut count: u64 = 1;
    for i in 0..t.min(n - t) {
        count = count * (n - i) as u64 / (i as u64 + 1);
        if count > limit {
            return Vec::new();
        }
    }
    let mut out = Vec::new();
    let mut pick: Vec<usize> = (0..t).collect();
    loop {
        out.push(pick.clone());
        // Advance the rightmost index that can still move.
        let Some(i) = (0..t).rev().find(|&i| pick[i] < n - t + i) else {
            return out;
        };
        pick[i] += 1;
        for j in i + 1..t {
            pick[j] = pick[j - 1] + 1;
        }
    }
}

/// For each share, whether it lies on the polynomial through the shares at `base`
/// (base members trivially do). Barycentric Lagrange: the base weights are computed
/// once, then each other share costs O(t) coefficients and t row operations.
fn agreement(shares: &[Share], base: &[usize], scratch: &mut [u8]) -> Vec<bool> {
    let base_xs: Vec<u8> = base.iter().map(|&i| shares[i].x).collect();
    // w_b = 1 / Π_{m≠b} (x_b − x_m)
    let weights: Vec<u8> = base_xs
        .iter()
        .enumerate()
        .map(|(b, &xb)| {
            let denominator = base_xs
                .iter()
                .enumerate()
                .filter(|&(m, _)| m != b)
                .fold(1u8, |acc, (_, &xm)| gf256::mul(acc, xb ^ xm));
            gf256::inv(denominator)
        })
        .collect();
    shares
        .iter()
        .enumerate()
        .map(|(i, share)| {
            if base.contains(&i) {
                return true;
            }
            // ℓ_b(a) = w_b · Π_m (a − x_m) / (a − x_b); a differs from every base x.
            let a = share.x;
            let full = base_xs.iter().fold(1u8, |acc, &xm| gf256::mul(acc, a ^ xm));
            scratch.zeroize();
            for (&b, (&xb, &w)) in base.iter().zip(base_xs.iter().zip(&weights)) {
                let coefficient = gf256::mul(gf256::mul(w, full), gf256::inv(a ^ xb));
                gf256::mul_add_slice(scratch, &shares[b].y, coefficient);
            }
            // Only this one bit leaves constant-time code: it is the function's output.
            bool::from(scratch.ct_eq(&share.y[..]))
        })
        .collect()
}

/// Checks the public shape of a share set: non-empty, distinct x, equal non-zero
/// lengths. Returns the length.
fn validate(shares: &[Share]) -> Result<usize, Error> {
    let first = shares.first().ok_or(Error::NoShares)?;
    let len = first.y.len();
    if len == 0 {
        return Err(Error::EmptySecret);
    }
    let mut seen = [false; 256];
    for share in shares {
        if share.y.len() != len {
            return Err(Error::UnequalLengths {
                x: share.x,
                len: share.y.len(),
                expected: len,
            });
        }
        let slot = &mut seen[usize::from(share.x)];
        if *slot {
            return Err(Error::DuplicateX { x: share.x });
        }
        *slot = true;
    }
    Ok(len)
}

/// Lagrange basis values at `at` for the distinct public coordinates `xs` (none equal
/// to `at`), with the table arithmetic for public values: ℓ_j(at) = Π_{m≠j} (at − x_m) / (x_j − x_m).
fn lagrange_at(xs: &[u8], at: u8) -> Vec<u8> {
    xs.iter()
        .enumerate()
        .map(|(j, &xj)| {
            let (numerator, denominator) = xs.iter().enumerate().filter(|&(m, _)| m != j).fold(
                (1u8, 1u8),
                |(num, den), (_, &xm)| {
                    (
                        gf256::public::mul(num, at ^ xm),
                        gf256::public::mul(den, xj ^ xm),
                    )
                },
            );
            gf256::public::div(numerator, denominator)
        })
        .collect()
}

/// The generator behind [`split`], [`split_into`] and [`Splitter::new`]: the AES-256-CTR
/// keystream under a fresh 256-bit key per split, derived without a system call.
///
/// Each thread keeps a 256-bit key `K` and a private source: a ChaCha12 generator with
/// fast key erasure (each 64-byte block gives its next key and 32 bytes of output), seeded
/// from the operating system's generator and wrapped in `rand`'s `ReseedingRng`, which
/// reseeds it from the OS every 64 KiB of output and after a `fork`. Each
/// `CoefficientRng::new` takes exactly one 32-byte output `T` of the source (so every
/// split's `T` is computed after the fork check), and keys AES-256 in counter mode
/// (128-bit big-endian counter from zero) with `K ⊕ T`: the first 32 bytes of that
/// stream become the thread's next `K` (fast key erasure, in the style of CTR_DRBG but
/// not SP 800-90A's construction), the rest is this split's coefficients. So:
///
/// - every split's key is as unpredictable as the OS-seeded source;
/// - `K` and the source's key are replaced at every split (fast key erasure): memory read
///   after a split cannot recompute that split's key (the source's buffer still holds the
///   last `T`, which is useless without the `K` it was mixed with);
/// - a forked child and its parent never share a split key: the child's first `T` comes
///   from a source reseeded from the OS.
///
/// The keystream comes from the `aes` and `ctr` crates (AES-NI chosen at run time; a
/// bitsliced constant-time fallback elsewhere): on AES hardware a coefficient byte costs
/// about 0.4 of a ChaCha12 byte, which is what lets a bulk split pass 1 GB/s. One key
/// gives at most 2^32 blocks (64 GiB), keeping the keystream within 2^-65 of uniform;
/// past that the rest comes from the OS. The key schedule and the partial block are
/// wiped when the generator is dropped.
pub struct CoefficientRng {
    /// This split's AES-256-CTR keystream (its round keys and buffer wiped on drop).
    cipher: Keystream,
    /// Keystream bytes this key may still give.
    left: u64,
}

type Keystream = ctr::Ctr128BE<aes::Aes256Enc>;

// The keystream's round keys (the first two are the split key itself) and buffer must be
// wiped when it is dropped: this stops the build if a feature change (the `aes` crate's
// `zeroize` is off by default) ever leaves them behind.
const _: fn() = || {
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    wiped_on_drop::<Keystream>();
};

/// The keystream one key may give: 2^32 AES blocks (64 GiB). After q blocks the
/// keystream is within q² / 2^129 of uniform (a random permutation against a random
/// function), 2^-65 here.
const STREAM_BYTES: u64 = 16 << 32;

/// Output of the thread's source between reseeds from the OS (as `ThreadRng`).
const RESEED_AFTER: u64 = 64 * 1024;

/// The thread's source (see [`CoefficientRng`]): ChaCha12 with fast key erasure, one
/// 32-byte output per block. One block per call, never a batch: `ReseedingRng` checks
/// for a fork only when it makes a block, so a buffered output could reach both a parent
/// and its child.
struct SourceCore {
    key: Zeroizing<[u8; 32]>,
}

impl BlockRngCore for SourceCore {
    type Item = u32;
    type Results = [u32; 8];

    fn generate(&mut self, results: &mut Self::Results) {
        let mut block = [0u8; 64];
        ChaCha12::new((&*self.key).into(), (&[0u8; 12]).into()).apply_keystream(&mut block);
        self.key.copy_from_slice(&block[..32]);
        for (word, bytes) in results.iter_mut().zip(block[32..].chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        block[..].zeroize();
    }
}

impl SeedableRng for SourceCore {
    type Seed = [u8; 32];

    fn from_seed(seed: [u8; 32]) -> Self {
        SourceCore {
            key: Zeroizing::new(seed),
        }
    }
}

impl CryptoRng for SourceCore {}

/// One thread's state behind [`CoefficientRng`].
struct ThreadState {
    key: Zeroizing<[u8; 32]>,
    source: ReseedingRng<SourceCore, OsRng>,
}

impl ThreadState {
    fn seeded() -> ThreadState {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut key[..]);
        let mut seed = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut seed[..]);
        ThreadState {
            key,
            source: ReseedingRng::new(SourceCore::from_seed(*seed), RESEED_AFTER, OsRng),
        }
    }
}

thread_local! {
    /// This thread's key and source (see [`CoefficientRng`]); wiped when the thread ends.
    static THREAD: RefCell<Option<ThreadState>> = const { RefCell::new(None) };
}

impl CoefficientRng {
    /// A generator for one split, keyed as described at [`CoefficientRng`].
    pub fn new() -> Self {
        let derived = THREAD.try_with(|cell| {
            let mut slot = cell.try_borrow_mut().ok()?;
            let state = slot.get_or_insert_with(ThreadState::seeded);
            // Exactly one block of the source: `T` is always freshly made, after the
            // source's fork and reseed checks.
            let mut fresh = Zeroizing::new([0u8; 32]);
            state.source.fill_bytes(&mut fresh[..]);
            let mut key = Zeroizing::new([0u8; 32]);
            for ((k, t), out) in state.key.iter().zip(fresh.iter()).zip(key.iter_mut()) {
                *out = k ^ t;
            }
            let mut rng = CoefficientRng::keyed(key);
            rng.fill_bytes(&mut state.key[..]);
            Some(rng)
        });
        match derived {
            Ok(Some(rng)) => rng,
            // The thread is ending (or the state is in use, which cannot happen): a key
            // straight from the OS.
            _ => {
                let mut key = Zeroizing::new([0u8; 32]);
                OsRng.fill_bytes(&mut key[..]);
                CoefficientRng::keyed(key)
            }
        }
    }

    /// The AES-256-CTR keystream (counter from zero) under `key` from its first byte on.
    /// Not API: for tests and the constant-time gate, which check it against the `aes`
    /// crate and with a key marked secret.
    #[doc(hidden)]
    pub fn from_key(key: [u8; 32]) -> Self {
        CoefficientRng::keyed(Zeroizing::new(key))
    }

    fn keyed(key: Zeroizing<[u8; 32]>) -> Self {
        CoefficientRng {
            cipher: Keystream::new((&*key).into(), (&[0u8; 16]).into()),
            left: STREAM_BYTES,
        }
    }
}

impl Default for CoefficientRng {
    fn default() -> Self {
        CoefficientRng::new()
    }
}

impl fmt::Debug for CoefficientRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CoefficientRng { .. }")
    }
}

impl RngCore for CoefficientRng {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0u8; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // Where `left` exceeds `usize` (32-bit targets), all of `dest` fits.
        let take = dest
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let (keystream, rest) = dest.split_at_mut(take);
        keystream.fill(0);
        self.cipher.apply_keystream(keystream);
        self.left -= take as u64;
        if !rest.is_empty() {
            // The key's stream is spent (64 GiB): zeros must not become coefficients, so
            // the rest comes from the OS.
            OsRng.fill_bytes(rest);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for CoefficientRng {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generator whose key has given its 64 GiB hands out OS randomness, never zeros or
    /// more of the spent stream.
    #[test]
    fn a_spent_keystream_continues_from_the_os() {
        let key = [9u8; 32];
        let mut whole = [0u8; 96];
        CoefficientRng::from_key(key).fill_bytes(&mut whole);
        let mut nearly_spent = CoefficientRng::from_key(key);
        nearly_spent.left = 40;
        let mut drawn = [0u8; 96];
        nearly_spent.fill_bytes(&mut drawn[..30]);
        nearly_spent.fill_bytes(&mut drawn[30..]);
        assert_eq!(drawn[..40], whole[..40]);
        assert_eq!(nearly_spent.left, 0);
        // 56 bytes from the OS: equal to the keystream or all zero with chance 2^-448.
        assert_ne!(drawn[40..], whole[40..]);
        assert_ne!(drawn[40..], [0u8; 56]);
    }
}
