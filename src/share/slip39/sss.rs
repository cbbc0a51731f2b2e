//! SLIP-0039's own use of Shamir sharing: `SplitSecret` and `RecoverSecret`, with the
//! secret stored at x = 255 and a digest share at x = 254.
//!
//! The field arithmetic is [`crate::shamir::interpolate`], whose GF(256) is the one
//! SLIP-0039 names (the AES polynomial `x^8 + x^4 + x^3 + x + 1`).
//!
//! # Security
//!
//! Thresholds, counts and x coordinates are public. Share values, the secret and the
//! digest are secret: they only pass through `interpolate` (constant time), HMAC, and a
//! [`subtle::ConstantTimeEq`] comparison of the digest.

use hmac::{Hmac, Mac};
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::shamir::{self, Share};

/// x coordinate of the digest share.
const DIGEST_INDEX: u8 = 254;
/// x coordinate of the shared secret.
const SECRET_INDEX: u8 = 255;
/// Bytes of HMAC output kept as the digest.
const DIGEST_LEN: usize = 4;

/// Why a `RecoverSecret` failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RecoverFailure {
    /// The digest share does not match the recovered secret.
    Digest,
    /// The Shamir core refused the shares (unreachable after the caller's checks).
    Core,
}

/// The Shamir core refused an operation; callers validate first, so this is an
/// internal error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CoreRefused;

/// The first four bytes of HMAC-SHA256(key = `random_part`, msg = `secret`).
fn digest(random_part: &[u8], secret: &[u8]) -> Result<[u8; DIGEST_LEN], CoreRefused> {
    // HMAC accepts keys of any length; the error arm is never taken.
    let mut mac = Hmac::<Sha256>::new_from_slice(random_part).map_err(|_| CoreRefused)?;
    mac.update(secret);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; DIGEST_LEN];
    for (o, b) in out.iter_mut().zip(full.iter()) {
        *o = *b;
    }
    Ok(out)
}

/// `SplitSecret(T, N, S)`: `count` shares at x = 0..count of which any `threshold`
/// give `secret` back. The caller has checked `1 <= threshold <= count <= 16` and the
/// secret's length (at least 16 bytes, even).
pub(crate) fn split_secret<R: RngCore + CryptoRng + ?Sized>(
    threshold: u8,
    count: u8,
    secret: &[u8],
    rng: &mut R,
) -> Result<Vec<Share>, CoreRefused> {
    if threshold == 0 || threshold > count {
        return Err(CoreRefused);
    }
    if threshold == 1 {
        return Ok((0..count).map(|x| Share::new(x, secret.to_vec())).collect());
    }
    let n = secret.len();
    let random_len = n.saturating_sub(DIGEST_LEN);

    // D = first 4 bytes of HMAC-SHA256(key = R, msg = S) || R.
    let mut random_part = Zeroizing::new(vec![0u8; random_len]);
    rng.fill_bytes(&mut random_part);
    let mut digest_value = Vec::with_capacity(n);
    digest_value.extend_from_slice(&digest(&random_part, secret)?);
    digest_value.extend_from_slice(&random_part);

    // Shares at x = 0..T-2 are random; the points at 254 and 255 fix the rest.
    let random_shares = threshold - 2;
    let mut base: Vec<Share> = Vec::with_capacity(usize::from(threshold));
    for x in 0..random_shares {
        let mut y = vec![0u8; n];
        rng.fill_bytes(&mut y);
        base.push(Share::new(x, y));
    }
    base.push(Share::new(DIGEST_INDEX, digest_value));
    base.push(Share::new(SECRET_INDEX, secret.to_vec()));

    let mut shares = Vec::with_capacity(usize::from(count));
    for x in 0..count {
        let y = if x < random_shares {
            // base[x] is the random share at x (x < random_shares <= base.len()).
            base.get(usize::from(x))
                .map(|s| s.y().to_vec())
                .unwrap_or_default()
        } else {
            let value = shamir::interpolate(&base, x).map_err(|_| CoreRefused)?;
            value.to_vec()
        };
        shares.push(Share::new(x, y));
    }
    Ok(shares)
}

/// `RecoverSecret(T, shares)`: the secret at x = 255, checked against the digest at
/// x = 254 when `threshold` is at least 2. The caller has checked that exactly
/// `threshold` shares with distinct x and equal lengths are given.
pub(crate) fn recover_secret(
    threshold: u8,
    shares: &[Share],
) -> Result<Zeroizing<Vec<u8>>, RecoverFailure> {
    if threshold == 1 {
        let first = shares.first().ok_or(RecoverFailure::Core)?;
        return Ok(Zeroizing::new(first.y().to_vec()));
    }
    let secret = shamir::interpolate(shares, SECRET_INDEX).map_err(|_| RecoverFailure::Core)?;
    let digest_share =
        shamir::interpolate(shares, DIGEST_INDEX).map_err(|_| RecoverFailure::Core)?;
    let (stored, random_part) = digest_share.split_at(DIGEST_LEN.min(digest_share.len()));
    let computed = digest(random_part, &secret).map_err(|_| RecoverFailure::Core)?;
    if bool::from(computed.ct_eq(stored)) {
        Ok(secret)
    } else {
        Err(RecoverFailure::Digest)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn every_threshold_subset_recovers() {
        let mut rng = ChaCha20Rng::seed_from_u64(39);
        let secret: Vec<u8> = (0..16).map(|i| i * 11).collect();
        for count in 1..=5u8 {
            for threshold in 1..=count {
                let shares = split_secret(threshold, count, &secret, &mut rng).unwrap();
                assert_eq!(shares.len(), usize::from(count));
                for start in 0..=count - threshold {
                    let subset: Vec<Share> = shares
                        [usize::from(start)..usize::from(start + threshold)]
                        .iter()
                        .map(|s| Share::new(s.x(), s.y().to_vec()))
                        .collect();
                    assert_eq!(
                        &recover_secret(threshold, &subset).unwrap()[..],
                        &secret[..]
                    );
                }
            }
        }
    }

    #[test]
    fn altered_share_fails_digest() {
        let mut rng = ChaCha20Rng::seed_from_u64(40);
        let secret = [0x42u8; 32];
        let shares = split_secret(3, 5, &secret, &mut rng).unwrap();
        let mut bad: Vec<Share> = shares[..3]
            .iter()
            .map(|s| Share::new(s.x(), s.y().to_vec()))
            .collect();
        let mut y = bad[1].y().to_vec();
        y[7] ^= 1;
        bad[1] = Share::new(bad[1].x(), y);
        assert_eq!(recover_secret(3, &bad).unwrap_err(), RecoverFailure::Digest);
    }
}
