//! The passphrase encryption of the master secret: a four-round Feistel network with
//! PBKDF2-HMAC-SHA256 as the round function.
//!
//! SLIP-0039, "Encryption of the master secret": `L` and `R` are the two halves of
//! the secret; for `i` in 0..4, `(L, R) = (R, L xor F(i, R))`, and `EMS = R || L`.
//! `F(i, R) = PBKDF2(PRF = HMAC-SHA256, Password = (i || passphrase), Salt =
//! (salt_prefix || R), iterations = 2500 << e, dkLen = n/2 bytes)`, where
//! `salt_prefix` is empty when `ext` = 1 and `"shamir" || id` (two bytes, big-endian)
//! when `ext` = 0. Decryption runs the rounds in the order 3, 2, 1, 0.
//!
//! # Security
//!
//! The secret halves, the passphrase and the round outputs only pass through PBKDF2 and
//! XOR: no branch or index depends on them. The identifier, the flag and the exponent
//! are public. Every intermediate buffer is wiped.

use sha2::Sha256;
use zeroize::Zeroizing;

/// Iterations of PBKDF2 per round for exponent 0 (four rounds make 10 000).
const BASE_ITERATIONS: u32 = 2500;

/// The public parameters that select the encryption.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    pub(crate) identifier: u16,
    pub(crate) extendable: bool,
    pub(crate) iteration_exponent: u8,
}

/// `Encrypt(MS, P, e, id, ext)`; `secret` has an even length (checked by callers).
pub(crate) fn encrypt(secret: &[u8], passphrase: &[u8], params: Params) -> Zeroizing<Vec<u8>> {
    feistel(secret, passphrase, params, [0, 1, 2, 3])
}

/// `Decrypt(EMS, P, e, id, ext)`.
pub(crate) fn decrypt(ems: &[u8], passphrase: &[u8], params: Params) -> Zeroizing<Vec<u8>> {
    feistel(ems, passphrase, params, [3, 2, 1, 0])
}

fn feistel(input: &[u8], passphrase: &[u8], params: Params, rounds: [u8; 4]) -> Zeroizing<Vec<u8>> {
    let half = input.len() / 2;
    let (left, right) = input.split_at(half);
    let mut left = Zeroizing::new(left.to_vec());
    let mut right = Zeroizing::new(right.to_vec());

    let prefix: Vec<u8> = if params.extendable {
        Vec::new()
    } else {
        let mut p = b"shamir".to_vec();
        p.extend_from_slice(&params.identifier.to_be_bytes());
        p
    };
    // Exponent is at most 15 (a 4-bit field), so this is at most 81 920 000.
    let iterations = BASE_ITERATIONS << u32::from(params.iteration_exponent.min(15));

    let mut password = Zeroizing::new(Vec::with_capacity(1 + passphrase.len()));
    password.push(0);
    password.extend_from_slice(passphrase);
    let mut salt = Zeroizing::new(Vec::with_capacity(prefix.len() + half));
    let mut round_out = Zeroizing::new(vec![0u8; half]);

    for i in rounds {
        if let Some(first) = password.first_mut() {
            *first = i;
        }
        salt.clear();
        salt.extend_from_slice(&prefix);
        salt.extend_from_slice(&right);
        pbkdf2::pbkdf2_hmac::<Sha256>(&password, &salt, iterations, &mut round_out);
        // new R = L xor F(i, R); new L = old R.
        for (l, f) in left.iter_mut().zip(round_out.iter()) {
            *l ^= *f;
        }
        std::mem::swap(&mut left, &mut right);
    }

    let mut out = Zeroizing::new(Vec::with_capacity(input.len()));
    out.extend_from_slice(&right);
    out.extend_from_slice(&left);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn decrypt_inverts_encrypt() {
        let secret: Vec<u8> = (0..32).collect();
        for extendable in [false, true] {
            let params = Params {
                identifier: 0x1234,
                extendable,
                iteration_exponent: 0,
            };
            let ems = encrypt(&secret, b"TREZOR", params);
            assert_ne!(&ems[..], &secret[..]);
            assert_eq!(&decrypt(&ems, b"TREZOR", params)[..], &secret[..]);
            assert_ne!(&decrypt(&ems, b"TREZOR ", params)[..], &secret[..]);
        }
    }

    #[test]
    fn identifier_is_salt_only_when_not_extendable() {
        let secret = [7u8; 16];
        let p = |identifier, extendable| Params {
            identifier,
            extendable,
            iteration_exponent: 0,
        };
        assert_ne!(
            encrypt(&secret, b"", p(1, false)),
            encrypt(&secret, b"", p(2, false))
        );
        assert_eq!(
            encrypt(&secret, b"", p(1, true)),
            encrypt(&secret, b"", p(2, true))
        );
    }
}
