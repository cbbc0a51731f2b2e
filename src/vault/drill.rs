//! Drill keys (FORMAT.md §4.1): an Ed25519 key per officer, derived from their share,
//! whose public half the header keeps beside the share's commitment.
//!
//! ```text
//! seed = HKDF-SHA256(salt = none, IKM = share words (FORMAT.md §4),
//!                    info = "svault drill key v1" ‖ 0x00 ‖ vault_id ‖ len(name) (u16 BE) ‖ name)
//! signing key = Ed25519 key with that 32-byte seed (RFC 8032 §5.1.5)
//! ```
//!
//! The key is a function of the share alone (and of the vault and officer it is for):
//! whoever holds the share, on paper or in a keyslot, can make it again at any time, so
//! a signature under it shows that the share was in hand. A keyslot holder's drill key
//! is the same key, derived from the share the keyslot seals.

use core::fmt;

pub use ed25519_dalek::{Signature, VerifyingKey};

use ed25519_dalek::{Signer, SigningKey};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::share::slip39::Slip39Share;

/// The HKDF label of drill keys (FORMAT.md §4.1).
pub const DRILL_KEY_LABEL: &[u8] = b"svault drill key v1";

/// An officer's drill signing key. The secret half is wiped on drop and never printed:
/// `Debug` shows the public key only.
pub struct DrillKey(SigningKey);

impl DrillKey {
    /// Derives the drill key of `officer` in the vault `vault_id` from their share
    /// (FORMAT.md §4.1).
    ///
    /// Call it only with a share already checked against the officer's commitment
    /// ([`Sealed::drill_key`](super::Sealed::drill_key) does both): a key derived from
    /// any other share is simply another key, under which no record is ever counted.
    ///
    /// # Security
    ///
    /// The share is secret; it is read through its canonical words, built without
    /// secret-dependent branches, and every intermediate buffer is wiped.
    pub fn derive(share: &Slip39Share, vault_id: &[u8; 16], officer: &str) -> DrillKey {
        let words = share.canonical_text();
        DrillKey::from_words(&words, vault_id, officer)
    }

    /// The derivation over the share's words (FORMAT.md §4.1).
    pub(crate) fn from_words(words: &[u8], vault_id: &[u8; 16], officer: &str) -> DrillKey {
        let hkdf = Hkdf::<Sha256>::new(None, words);
        let name = officer.as_bytes();
        // Officer names are at most 64 characters (256 bytes), so the length fits.
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        let mut info = Vec::with_capacity(DRILL_KEY_LABEL.len() + 1 + 16 + 2 + name.len());
        info.extend_from_slice(DRILL_KEY_LABEL);
        info.push(0);
        info.extend_from_slice(vault_id);
        info.extend_from_slice(&name_len.to_be_bytes());
        info.extend_from_slice(name);
        let mut seed = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 8160, so expand cannot fail.
        let _ = hkdf.expand(&info, &mut seed[..]);
        DrillKey(SigningKey::from_bytes(&seed))
    }

    /// The public key, as the header stores it.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// The public key's 32 bytes.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs `message` (Ed25519, RFC 8032). Verify with
    /// [`VerifyingKey::verify_strict`].
    pub fn sign(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }
}

impl fmt::Debug for DrillKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DrillKey")
            .field("public", &super::format::to_hex(&self.public_bytes()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use ed25519_dalek::Verifier;

    fn key(words: &str, id: u8, name: &str) -> DrillKey {
        DrillKey::from_words(words.as_bytes(), &[id; 16], name)
    }

    #[test]
    fn derivation_is_a_function_of_share_vault_and_officer() {
        let a = key("academic acid", 1, "alice");
        assert_eq!(
            a.public_bytes(),
            key("academic acid", 1, "alice").public_bytes()
        );
        assert_ne!(
            a.public_bytes(),
            key("academic acie", 1, "alice").public_bytes()
        );
        assert_ne!(
            a.public_bytes(),
            key("academic acid", 2, "alice").public_bytes()
        );
        assert_ne!(
            a.public_bytes(),
            key("academic acid", 1, "alicf").public_bytes()
        );
    }

    /// The derivation, computed here from its definition with the primitives alone.
    #[test]
    fn derivation_follows_the_format() {
        let words = b"duckling enlarge academic";
        let mut info = b"svault drill key v1\0".to_vec();
        info.extend_from_slice(&[7u8; 16]);
        info.extend_from_slice(&[0, 5]);
        info.extend_from_slice(b"carol");
        let mut seed = [0u8; 32];
        Hkdf::<Sha256>::new(None, words)
            .expand(&info, &mut seed)
            .unwrap();
        let expected = SigningKey::from_bytes(&seed).verifying_key();
        let derived = DrillKey::from_words(words, &[7u8; 16], "carol");
        assert_eq!(derived.verifying_key(), expected);
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let a = key("w", 1, "alice");
        let b = key("w", 1, "bob");
        let sig = a.sign(b"drill 1");
        assert!(a.verifying_key().verify_strict(b"drill 1", &sig).is_ok());
        assert!(a.verifying_key().verify(b"drill 2", &sig).is_err());
        assert!(b.verifying_key().verify_strict(b"drill 1", &sig).is_err());
    }

    #[test]
    fn debug_shows_only_the_public_key() {
        let a = key("w", 1, "alice");
        let shown = format!("{a:?}");
        assert!(shown.contains(&super::super::format::to_hex(&a.public_bytes())));
        let secret = super::super::format::to_hex(a.0.as_bytes());
        assert!(!shown.contains(&secret));
    }
}
