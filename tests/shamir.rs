//! The Shamir core against known answers, every error, and its statistical promises.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use svault::shamir::{
    Consistency, Error, Share, check_consistency, combine, interpolate, split, split_with_rng,
};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn copy(share: &Share) -> Share {
    Share::new(share.x(), share.y().to_vec())
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Hands out fixed bytes, so a split draws exactly the coefficients a vector lists.
struct Replay(Vec<u8>, usize);

impl RngCore for Replay {
    fn next_u32(&mut self) -> u32 {
        unimplemented!("split draws bytes only")
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!("split draws bytes only")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.copy_from_slice(&self.0[self.1..self.1 + dest.len()]);
        self.1 += dest.len();
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Replay {}

#[test]
fn known_answer_vectors() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/shamir.txt"))
        .unwrap();
    let mut cases = 0;
    for block in text.split("\n\n").filter(|b| b.contains("secret:")) {
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}: ")))
                .unwrap_or_else(|| panic!("{key} missing"))
        };
        let name = field("name");
        let secret = hex(field("secret"));
        let threshold: u8 = field("threshold").parse().unwrap();
        let count: u8 = field("count").parse().unwrap();
        let coefficients = hex(field("coefficients"));
        let mut replay = Replay(coefficients.clone(), 0);
        let shares = split_with_rng(&secret, threshold, count, &mut replay).unwrap();
        assert_eq!(
            replay.1,
            coefficients.len(),
            "{name}: every listed coefficient is drawn"
        );
        assert_eq!(shares.len(), usize::from(count));
        for share in &shares {
            let expected = hex(field(&format!("share {}", share.x())));
            assert_eq!(share.y(), &expected[..], "{name}: share {}", share.x());
        }
        let back = combine(&shares[shares.len() - usize::from(threshold)..]).unwrap();
        assert_eq!(&back[..], &secret[..], "{name}");
        cases += 1;
    }
    assert_eq!(cases, 6);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every subset of at least `threshold` shares recombines to the secret.
    #[test]
    fn every_threshold_subset_recombines(
        secret in proptest::collection::vec(any::<u8>(), 1..40),
        count in 1u8..=7,
        threshold_seed in any::<u8>(),
        seed in any::<u64>(),
    ) {
        let threshold = 1 + threshold_seed % count;
        let shares = split_with_rng(&secret, threshold, count, &mut rng(seed)).unwrap();
        prop_assert_eq!(shares.iter().map(Share::x).collect::<Vec<_>>(), (1..=count).collect::<Vec<_>>());
        for mask in 1u32..(1 << count) {
            if mask.count_ones() < u32::from(threshold) {
                continue;
            }
            let subset: Vec<Share> =
                shares.iter().filter(|s| mask & (1 << (s.x() - 1)) != 0).map(copy).collect();
            prop_assert_eq!(&combine(&subset).unwrap()[..], &secret[..]);
        }
        prop_assert_eq!(check_consistency(&shares, threshold).unwrap(), Consistency::Consistent);
    }

    /// Interpolating at a share's own x from other shares gives that share back.
    #[test]
    fn interpolate_recovers_missing_shares(
        secret in proptest::collection::vec(any::<u8>(), 1..20),
        seed in any::<u64>(),
    ) {
        let shares = split_with_rng(&secret, 3, 6, &mut rng(seed)).unwrap();
        for target in &shares {
            let others: Vec<Share> = shares.iter().filter(|s| s.x() != target.x()).take(3).map(copy).collect();
            prop_assert_eq!(&interpolate(&others, target.x()).unwrap()[..], target.y());
        }
    }
}

#[test]
fn threshold_one_makes_every_share_the_secret() {
    let shares = split(b"abc", 1, 4).unwrap();
    for share in &shares {
        assert_eq!(share.y(), b"abc");
        assert_eq!(&combine(std::slice::from_ref(share)).unwrap()[..], b"abc");
    }
}

#[test]
fn os_split_recombines_and_differs_each_time() {
    let secret = [7u8; 64];
    let a = split(&secret, 2, 3).unwrap();
    let b = split(&secret, 2, 3).unwrap();
    assert_eq!(&combine(&a[..2]).unwrap()[..], &secret);
    assert_eq!(&combine(&b[1..]).unwrap()[..], &secret);
    assert_ne!(a[0].y(), b[0].y(), "two splits drew the same coefficients");
    let big = vec![0x5au8; 3 * 4096 + 5];
    let shares = split(&big, 3, 8).unwrap();
    assert_eq!(&combine(&shares[5..]).unwrap()[..], &big[..]);
}

#[test]
fn split_refuses_bad_parameters() {
    let mut r = rng(1);
    assert_eq!(
        split_with_rng(b"", 2, 3, &mut r).unwrap_err(),
        Error::EmptySecret
    );
    assert_eq!(
        split_with_rng(b"s", 1, 0, &mut r).unwrap_err(),
        Error::CountOutOfRange { count: 0 }
    );
    assert_eq!(
        split_with_rng(b"s", 0, 3, &mut r).unwrap_err(),
        Error::ThresholdOutOfRange {
            threshold: 0,
            count: 3
        }
    );
    assert_eq!(
        split_with_rng(b"s", 4, 3, &mut r).unwrap_err(),
        Error::ThresholdOutOfRange {
            threshold: 4,
            count: 3
        }
    );
    // The full range is allowed.
    assert_eq!(split_with_rng(b"s", 255, 255, &mut r).unwrap().len(), 255);
}

#[test]
fn combine_refuses_malformed_share_sets() {
    let shares = split_with_rng(b"secret", 2, 3, &mut rng(2)).unwrap();
    assert_eq!(combine(&[]).unwrap_err(), Error::NoShares);
    let duplicated = [copy(&shares[0]), copy(&shares[1]), copy(&shares[0])];
    assert_eq!(
        combine(&duplicated).unwrap_err(),
        Error::DuplicateX { x: 1 }
    );
    let short = [copy(&shares[0]), Share::new(2, shares[1].y()[..5].to_vec())];
    assert_eq!(
        combine(&short).unwrap_err(),
        Error::UnequalLengths {
            x: 2,
            len: 5,
            expected: 6
        }
    );
    let empty = [Share::new(1, vec![]), Share::new(2, vec![])];
    assert_eq!(combine(&empty).unwrap_err(), Error::EmptySecret);
    // A share at x = 0 would be returned as the "secret": refused.
    let at_zero = [Share::new(0, b"not it".to_vec()), copy(&shares[1])];
    assert_eq!(
        combine(&at_zero).unwrap_err(),
        Error::ShareAtEvaluationPoint { x: 0 }
    );
    assert_eq!(
        interpolate(&shares, 3).unwrap_err(),
        Error::ShareAtEvaluationPoint { x: 3 }
    );
    // The inputs are untouched by a refusal.
    assert_eq!(&combine(&shares[..2]).unwrap()[..], b"secret");
}

#[test]
fn consistency_check_refuses_bad_thresholds() {
    let shares = split_with_rng(b"secret", 2, 3, &mut rng(3)).unwrap();
    assert_eq!(
        check_consistency(&shares, 0).unwrap_err(),
        Error::ThresholdOutOfRange {
            threshold: 0,
            count: 3
        }
    );
    assert_eq!(
        check_consistency(&shares, 4).unwrap_err(),
        Error::ThresholdOutOfRange {
            threshold: 4,
            count: 3
        }
    );
    assert_eq!(check_consistency(&[], 1).unwrap_err(), Error::NoShares);
    assert_eq!(
        check_consistency(&shares[..2], 2).unwrap(),
        Consistency::Consistent
    );
}

fn corrupt(share: &Share) -> Share {
    let mut y = share.y().to_vec();
    let last = y.len() - 1;
    y[last] ^= 0x01;
    Share::new(share.x(), y)
}

#[test]
fn consistency_check_names_each_deviant_wherever_it_sits() {
    let secret = [0x11u8; 32];
    let (t, n) = (3u8, 8u8);
    let shares = split_with_rng(&secret, t, n, &mut rng(4)).unwrap();
    for bad in 0..usize::from(n) {
        let set: Vec<Share> = shares
            .iter()
            .enumerate()
            .map(|(i, s)| if i == bad { corrupt(s) } else { copy(s) })
            .collect();
        assert_eq!(
            check_consistency(&set, t).unwrap(),
            Consistency::Deviating {
                deviants: vec![set[bad].x()],
                agreeing: 7,
                unique: true
            },
            "deviant at position {bad}"
        );
    }
    // Two deviants, one inside the first base.
    let set: Vec<Share> = shares
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i == 1 || i == 6 {
                corrupt(s)
            } else {
                copy(s)
            }
        })
        .collect();
    assert_eq!(
        check_consistency(&set, t).unwrap(),
        Consistency::Deviating {
            deviants: vec![2, 7],
            agreeing: 6,
            unique: true
        }
    );
}

#[test]
fn consistency_check_with_one_spare_share_cannot_name_the_culprit() {
    let shares = split_with_rng(b"abcd", 2, 3, &mut rng(5)).unwrap();
    for bad in 0..3 {
        let set: Vec<Share> = shares
            .iter()
            .enumerate()
            .map(|(i, s)| if i == bad { corrupt(s) } else { copy(s) })
            .collect();
        assert_eq!(
            check_consistency(&set, 2).unwrap(),
            Consistency::Undetermined
        );
    }
}

/// Found by fuzzing: every window and every leave-one-out base held a damaged share,
/// while shares 2, 4 and 6 agree. (The damage is chosen not to lie on a line itself:
/// damage e(x) that fits a line would put shares 1, 3 and 5 on one of their own.)
#[test]
fn consistency_check_finds_agreeing_shares_that_no_window_holds() {
    let shares = split_with_rng(b"xyz", 2, 6, &mut rng(9)).unwrap();
    let set: Vec<Share> = shares
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut y = s.y().to_vec();
            if i % 2 == 0 {
                y[0] ^= [1, 1, 2][i / 2];
            }
            Share::new(s.x(), y)
        })
        .collect();
    assert_eq!(
        check_consistency(&set, 2).unwrap(),
        Consistency::Deviating {
            deviants: vec![1, 3, 5],
            agreeing: 3,
            unique: false
        }
    );
}

#[test]
fn consistency_check_flags_shares_from_a_different_split() {
    // Shares mixed from two splits of the same secret at the same x: each recombines
    // alone, together they are not one polynomial.
    let a = split_with_rng(b"same secret", 2, 5, &mut rng(6)).unwrap();
    let b = split_with_rng(b"same secret", 2, 5, &mut rng(7)).unwrap();
    let set = [
        copy(&a[0]),
        copy(&a[1]),
        copy(&a[2]),
        copy(&b[3]),
        copy(&a[4]),
    ];
    assert_eq!(
        check_consistency(&set, 2).unwrap(),
        Consistency::Deviating {
            deviants: vec![4],
            agreeing: 4,
            unique: true
        }
    );
    // Three from one split, two from the other: the three are named as the majority,
    // but 3 of 5 at threshold 2 is short of (5 + 2) / 2, so not proven unique.
    let set = [
        copy(&a[0]),
        copy(&a[1]),
        copy(&a[2]),
        copy(&b[3]),
        copy(&b[4]),
    ];
    assert_eq!(
        check_consistency(&set, 2).unwrap(),
        Consistency::Deviating {
            deviants: vec![4, 5],
            agreeing: 3,
            unique: false
        }
    );
}

#[test]
fn consistency_check_at_scale() {
    let secret = [0xa5u8; 32];
    let shares = split_with_rng(&secret, 128, 255, &mut rng(8)).unwrap();
    assert_eq!(
        check_consistency(&shares, 128).unwrap(),
        Consistency::Consistent
    );
    let set: Vec<Share> = shares
        .iter()
        .enumerate()
        .map(|(i, s)| if i == 200 { corrupt(s) } else { copy(s) })
        .collect();
    assert_eq!(
        check_consistency(&set, 128).unwrap(),
        Consistency::Deviating {
            deviants: vec![201],
            agreeing: 254,
            unique: true
        }
    );
}

#[test]
fn share_debug_never_shows_the_values() {
    let share = Share::new(9, vec![0xde, 0xad, 0xbe, 0xef]);
    let shown = format!("{share:?}");
    assert_eq!(shown, "Share { x: 9, y: <4 secret bytes> }");
}

// ---- statistics: coefficients are uniform over all 256 values and independent ----

/// A share byte equals the secret byte when the coefficients' contribution is 0; with
/// uniform coefficients that happens 1 time in 256. Coefficients drawn from 1..=255
/// (RUSTSEC-2024-0398) make it never happen at threshold 2.
#[test]
fn a_share_byte_equals_the_secret_byte_one_time_in_256() {
    let secret = [0x3cu8; 256];
    let mut r = rng(10);
    let (mut equal, mut total) = (0u64, 0u64);
    for _ in 0..200 {
        for share in split_with_rng(&secret, 2, 8, &mut r).unwrap() {
            equal += share.y().iter().filter(|&&b| b == 0x3c).count() as u64;
            total += share.y().len() as u64;
        }
    }
    // total = 409,600; expected 1,600, standard deviation about 40: allow 6 sigma.
    let expected = total as f64 / 256.0;
    assert!(
        (equal as f64 - expected).abs() < 6.0 * expected.sqrt(),
        "{equal} of {total}"
    );
}

fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// For 255 degrees of freedom the χ² statistic has mean 255 and standard deviation
/// about 22.6; 400 is over 6 sigma.
const CHI_SQUARE_255_LIMIT: f64 = 400.0;

/// Threshold − 1 shares look the same whatever the secret: the histogram of a share's
/// byte is uniform for an all-zero secret and for an all-0xff one.
#[test]
fn fewer_than_threshold_shares_are_uniform_whatever_the_secret() {
    for secret_byte in [0x00u8, 0xff, 0x5a] {
        let secret = [secret_byte; 64];
        let mut r = rng(11 + u64::from(secret_byte));
        // threshold 2: one share; threshold 3: the second of two shares, given the first.
        let mut one = [0u64; 256];
        let mut pair = vec![0u64; 65536];
        for _ in 0..1024 {
            let shares = split_with_rng(&secret, 2, 2, &mut r).unwrap();
            for &b in shares[0].y() {
                one[usize::from(b)] += 1;
            }
            let shares = split_with_rng(&secret, 3, 3, &mut r).unwrap();
            for (&a, &b) in shares[0].y().iter().zip(shares[1].y()) {
                pair[usize::from(a) << 8 | usize::from(b)] += 1;
            }
        }
        assert!(
            chi_square(&one) < CHI_SQUARE_255_LIMIT,
            "one share, secret {secret_byte:#x}: {}",
            chi_square(&one)
        );
        // 65,535 degrees of freedom: mean 65,535, sd 362; 6 sigma.
        let c = chi_square(&pair);
        assert!(
            (c - 65535.0).abs() < 6.0 * 362.0,
            "two shares at threshold 3, secret {secret_byte:#x}: {c}"
        );
    }
}

/// Coefficients are independent across bytes: the pair (share byte i, share byte i+1)
/// is uniform over all 65,536 values for a constant secret.
#[test]
fn coefficients_are_independent_across_bytes() {
    let secret = [0u8; 256];
    let mut r = rng(12);
    let mut pair = vec![0u64; 65536];
    for _ in 0..1024 {
        // At x = 1 and threshold 2 a share byte is secret + coefficient.
        let shares = split_with_rng(&secret, 2, 2, &mut r).unwrap();
        for w in shares[0].y().chunks_exact(2) {
            pair[usize::from(w[0]) << 8 | usize::from(w[1])] += 1;
        }
    }
    let c = chi_square(&pair);
    assert!((c - 65535.0).abs() < 6.0 * 362.0, "{c}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Splitting into caller buffers writes exactly the shares the allocating split
    /// returns for the same generator, and every threshold-subset of them recombines,
    /// through `combine` and through `combine_into`, to the secret.
    #[test]
    fn split_into_equals_split_and_every_subset_recombines(
        secret in proptest::collection::vec(any::<u8>(), 1..300),
        (threshold, count) in (1u8..=6).prop_flat_map(|t| (Just(t), t..=7)),
        seed in any::<u64>(),
    ) {
        let expected = svault::shamir::split_with_rng(&secret, threshold, count, &mut rng(seed)).unwrap();
        let mut buffers = vec![vec![0u8; secret.len()]; usize::from(count)];
        {
            let mut outputs: Vec<&mut [u8]> = buffers.iter_mut().map(Vec::as_mut_slice).collect();
            svault::shamir::split_into_with_rng(&secret, threshold, &mut outputs, &mut rng(seed)).unwrap();
        }
        for (share, buffer) in expected.iter().zip(&buffers) {
            prop_assert_eq!(share.y(), &buffer[..]);
        }
        let t = usize::from(threshold);
        let n = usize::from(count);
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize != t {
                continue;
            }
            let subset: Vec<Share> = (0..n)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| Share::new(i as u8 + 1, buffers[i].clone()))
                .collect();
            prop_assert_eq!(&combine(&subset).unwrap()[..], &secret[..]);
            let mut out = vec![0u8; secret.len()];
            svault::shamir::combine_into(&subset, &mut out).unwrap();
            prop_assert_eq!(&out, &secret);
        }
    }

    /// A stream fed in 4096-byte pieces writes the shares of one split, and a combiner
    /// fed the shares in arbitrary pieces gives the secret back.
    #[test]
    fn streaming_split_and_combine_equal_the_one_shot_forms(
        len in 1usize..13_000,
        cut in 1usize..5000,
        seed in any::<u64>(),
    ) {
        let mut secret = vec![0u8; len];
        rng(seed ^ 1).fill_bytes(&mut secret);
        let expected = svault::shamir::split_with_rng(&secret, 3, 5, &mut rng(seed)).unwrap();
        let mut buffers = vec![vec![0u8; len]; 5];
        let mut splitter = svault::shamir::Splitter::with_rng(3, 5, rng(seed)).unwrap();
        for start in (0..len).step_by(4096) {
            let end = (start + 4096).min(len);
            let mut outputs: Vec<&mut [u8]> = buffers.iter_mut().map(|b| &mut b[start..end]).collect();
            splitter.split_into(&secret[start..end], &mut outputs).unwrap();
        }
        for (share, buffer) in expected.iter().zip(&buffers) {
            prop_assert_eq!(share.y(), &buffer[..]);
        }
        let combiner = svault::shamir::Combiner::new(&[5, 2, 4], 0).unwrap();
        let mut out = vec![0u8; len];
        for start in (0..len).step_by(cut) {
            let end = (start + cut).min(len);
            let rows = [&buffers[4][start..end], &buffers[1][start..end], &buffers[3][start..end]];
            combiner.combine_into(&rows, &mut out[start..end]).unwrap();
        }
        prop_assert_eq!(&out, &secret);
    }
}

#[test]
fn caller_buffers_of_the_wrong_shape_are_refused_and_left_untouched() {
    let secret = [9u8; 20];
    let mut buffers = [vec![0xaau8; 20], vec![0xaa; 20], vec![0xaa; 19]];
    let mut outputs: Vec<&mut [u8]> = buffers.iter_mut().map(Vec::as_mut_slice).collect();
    assert_eq!(
        svault::shamir::split_into(&secret, 2, &mut outputs).unwrap_err(),
        svault::shamir::Error::OutputLength {
            expected: 20,
            len: 19
        }
    );
    let mut splitter = svault::shamir::Splitter::new(2, 4).unwrap();
    assert_eq!(
        splitter
            .split_into(&secret[..19], &mut outputs)
            .unwrap_err(),
        svault::shamir::Error::OutputCount {
            expected: 4,
            given: 3
        }
    );
    assert!(buffers.iter().all(|b| b.iter().all(|&v| v == 0xaa)));

    let shares = svault::shamir::split(&secret, 2, 3).unwrap();
    let mut out = vec![0xaau8; 21];
    assert_eq!(
        svault::shamir::combine_into(&shares, &mut out).unwrap_err(),
        svault::shamir::Error::OutputLength {
            expected: 20,
            len: 21
        }
    );
    assert!(out.iter().all(|&v| v == 0xaa));
    assert_eq!(
        svault::shamir::Combiner::new(&[1, 1], 0).unwrap_err(),
        svault::shamir::Error::DuplicateX { x: 1 }
    );
    assert_eq!(
        svault::shamir::Combiner::new(&[1, 2], 2).unwrap_err(),
        svault::shamir::Error::ShareAtEvaluationPoint { x: 2 }
    );
}

#[test]
fn thread_generator_splits_recombine_and_differ_across_calls_and_threads() {
    let secret = [0x5au8; 32];
    let here = svault::shamir::split(&secret, 3, 8).unwrap();
    let again = svault::shamir::split(&secret, 3, 8).unwrap();
    let there = std::thread::spawn(move || svault::shamir::split(&secret, 3, 8).unwrap())
        .join()
        .unwrap();
    for shares in [&here, &again, &there] {
        assert_eq!(&combine(&shares[2..5]).unwrap()[..], &secret[..]);
    }
    assert_ne!(here[0].y(), again[0].y());
    assert_ne!(here[0].y(), there[0].y());
}

/// Shamir split byte by byte, straight from the definition: the generator is drawn 4096
/// secret bytes at a time, degree-1 coefficients of the chunk first, then degree 2, ...;
/// share x holds `s + Σ_k c_k x^k` for every byte. The slow, obviously right split that
/// the fast paths (stack buffers for small splits, the column-by-column kernel with its
/// padded tail, the multi-pass kernel for thresholds above 5) are checked against.
fn reference_split(
    secret: &[u8],
    threshold: u8,
    count: u8,
    rng: &mut impl RngCore,
) -> Vec<Vec<u8>> {
    let degree = usize::from(threshold) - 1;
    let mut shares = vec![vec![0u8; secret.len()]; usize::from(count)];
    for (chunk_index, chunk) in secret.chunks(4096).enumerate() {
        let mut coefficients = vec![0u8; degree * chunk.len()];
        rng.fill_bytes(&mut coefficients);
        for (i, share) in shares.iter_mut().enumerate() {
            let x = i as u8 + 1;
            for (j, &s) in chunk.iter().enumerate() {
                let mut y = s;
                let mut power = 1u8;
                for k in 0..degree {
                    power = svault::gf256::mul(power, x);
                    y ^= svault::gf256::mul(coefficients[k * chunk.len() + j], power);
                }
                share[chunk_index * 4096 + j] = y;
            }
        }
    }
    shares
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `split_with_rng` and `split_into_with_rng` write exactly the reference shares, for
    /// secrets on both sides of the 256-byte small-split bound and of every 32-byte
    /// column, thresholds up to 12 (three kernel passes) and up to 20 shares (more than
    /// the 16 output slices kept on the stack).
    #[test]
    fn split_equals_the_byte_by_byte_reference(
        secret in proptest::collection::vec(any::<u8>(), 1..600),
        (threshold, count) in (1u8..=12).prop_flat_map(|t| (Just(t), t..=20)),
        seed in any::<u64>(),
    ) {
        let expected = reference_split(&secret, threshold, count, &mut rng(seed));
        let shares = split_with_rng(&secret, threshold, count, &mut rng(seed)).unwrap();
        prop_assert_eq!(shares.len(), usize::from(count));
        for (i, (share, want)) in shares.iter().zip(&expected).enumerate() {
            prop_assert_eq!(share.x(), i as u8 + 1);
            prop_assert_eq!(share.y(), &want[..]);
        }
        let mut buffers = vec![vec![0u8; secret.len()]; usize::from(count)];
        {
            let mut outputs: Vec<&mut [u8]> = buffers.iter_mut().map(Vec::as_mut_slice).collect();
            svault::shamir::split_into_with_rng(&secret, threshold, &mut outputs, &mut rng(seed)).unwrap();
        }
        prop_assert_eq!(&buffers, &expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// The same for secrets of several 4096-byte chunks (each chunk its own draw).
    #[test]
    fn long_split_equals_the_byte_by_byte_reference(
        len in 4000usize..13_000,
        (threshold, count) in (1u8..=7).prop_flat_map(|t| (Just(t), t..=9)),
        seed in any::<u64>(),
    ) {
        let mut secret = vec![0u8; len];
        rng(seed ^ 7).fill_bytes(&mut secret);
        let expected = reference_split(&secret, threshold, count, &mut rng(seed));
        let shares = split_with_rng(&secret, threshold, count, &mut rng(seed)).unwrap();
        for (share, want) in shares.iter().zip(&expected) {
            prop_assert_eq!(share.y(), &want[..]);
        }
    }
}

/// The split generator's output is the AES-256-CTR keystream of its key (128-bit
/// counter from zero), however it is drawn: single bytes, draws that end inside a block,
/// and long runs.
#[test]
fn coefficient_generator_is_the_aes256_ctr_keystream() {
    use aes::Aes256;
    use aes::cipher::{BlockEncrypt, KeyInit};
    let draws: &[&[usize]] = &[
        &[32, 64, 1, 200, 3000, 7],
        &[512, 512, 100],
        &[193, 4096, 8192, 33],
        &[1; 300],
        &[0, 64, 0, 1500],
    ];
    for (case, sizes) in draws.iter().enumerate() {
        let key = [case as u8 * 37 + 1; 32];
        let total: usize = sizes.iter().sum();
        // Counter mode written out: block i is AES-256(key, i as a big-endian u128).
        let aes = Aes256::new(&key.into());
        let mut expected = Vec::with_capacity(total + 16);
        for counter in 0u128.. {
            if expected.len() >= total {
                break;
            }
            let mut block = counter.to_be_bytes().into();
            aes.encrypt_block(&mut block);
            expected.extend_from_slice(&block);
        }
        expected.truncate(total);
        let mut generator = svault::shamir::CoefficientRng::from_key(key);
        let mut got = Vec::new();
        for &size in sizes.iter() {
            let mut piece = vec![0u8; size];
            generator.fill_bytes(&mut piece);
            got.extend_from_slice(&piece);
        }
        assert_eq!(got, expected, "draws {sizes:?}");
    }
}

/// Two generators from the thread never hand out the same bytes, and neither does a
/// generator on another thread (each split has its own key).
#[test]
fn thread_generators_differ_from_each_other() {
    let mut a = [0u8; 96];
    let mut b = [0u8; 96];
    svault::shamir::CoefficientRng::new().fill_bytes(&mut a);
    svault::shamir::CoefficientRng::new().fill_bytes(&mut b);
    let c = std::thread::spawn(|| {
        let mut c = [0u8; 96];
        svault::shamir::CoefficientRng::new().fill_bytes(&mut c);
        c
    })
    .join()
    .unwrap();
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_ne!(b, c);
    assert_ne!(a, [0u8; 96]);
}
