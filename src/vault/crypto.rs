//! Every cryptographic step of the vault file, each with its own label
//! (FORMAT.md §3–§5): the payload key (HKDF-SHA256), the payload and keyslot seals
//! (XChaCha20-Poly1305), share commitments (SHA-256) and keyslot keys (Argon2id).

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use super::format::{NONCE_LEN, TAG_LEN};
use crate::share::slip39::MasterSecret;

const PAYLOAD_KEY_LABEL: &[u8] = b"svault/v1/payload-key";
const COMMITMENT_LABEL: &[u8] = b"svault/v1/commitment";
const SLOT_LABEL: &[u8] = b"svault/v1/slot";

/// The payload key, derived from the master secret; wiped on drop.
pub(crate) struct PayloadKey(Zeroizing<[u8; 32]>);

/// `HKDF-SHA256(salt = payload salt, ikm = master secret, info = label ‖ vault_id)`.
pub(crate) fn payload_key(
    master: &MasterSecret,
    salt: &[u8; 32],
    vault_id: &[u8; 16],
) -> PayloadKey {
    let hkdf = Hkdf::<Sha256>::new(Some(salt), master.as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    let mut info = PAYLOAD_KEY_LABEL.to_vec();
    info.extend_from_slice(vault_id);
    // 32 bytes is far below HKDF-SHA256's limit of 8160, so expand cannot fail.
    let _ = hkdf.expand(&info, &mut key[..]);
    PayloadKey(key)
}

/// Seals `plaintext` (consumed; it becomes the ciphertext in place) under `key` with a
/// fresh random nonce: `nonce ‖ ciphertext ‖ tag`.
pub(crate) fn seal_payload(
    key: &PayloadKey,
    aad: &[u8],
    plaintext: Zeroizing<Vec<u8>>,
) -> Result<Vec<u8>, ()> {
    seal(&key.0, aad, plaintext)
}

/// Opens a payload; `None` when authentication fails (wrong key, changed header or payload).
pub(crate) fn open_payload(
    key: &PayloadKey,
    aad: &[u8],
    payload: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    open(&key.0, aad, payload)
}

fn seal(key: &[u8; 32], aad: &[u8], plaintext: Zeroizing<Vec<u8>>) -> Result<Vec<u8>, ()> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let mut buffer = plaintext;
    buffer.reserve_exact(TAG_LEN);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .encrypt_in_place(XNonce::from_slice(&nonce), aad, &mut *buffer)
        .map_err(|_| ())?;
    let mut out = Vec::with_capacity(NONCE_LEN + buffer.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buffer);
    Ok(out)
}

fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let mut buffer = Zeroizing::new(body.to_vec());
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt_in_place(XNonce::from_slice(nonce), aad, &mut *buffer)
        .ok()?;
    Some(buffer)
}

/// `SHA-256(label ‖ 0 ‖ vault_id ‖ salt ‖ share words)`.
pub(crate) fn commitment(vault_id: &[u8; 16], salt: &[u8; 16], share_words: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(COMMITMENT_LABEL);
    hash.update([0u8]);
    hash.update(vault_id);
    hash.update(salt);
    hash.update(share_words);
    hash.finalize().into()
}

/// Whether `share_words` matches the stored digest; the comparison is constant time.
pub(crate) fn commitment_matches(
    vault_id: &[u8; 16],
    salt: &[u8; 16],
    share_words: &[u8],
    digest: &[u8; 32],
) -> bool {
    bool::from(commitment(vault_id, salt, share_words).ct_eq(digest))
}

/// Argon2id cost parameters of a keyslot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for SlotParams {
    /// 64 MiB, 3 passes, 1 lane: about half a second on a server core.
    fn default() -> Self {
        SlotParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

/// A passphrase as the keyslot uses it: UTF-8 input normalised to NFC, other bytes as
/// given; never truncated.
pub(crate) fn normalise_passphrase(passphrase: &[u8]) -> Zeroizing<Vec<u8>> {
    match core::str::from_utf8(passphrase) {
        Ok(text) => {
            let nfc: Zeroizing<String> = Zeroizing::new(text.nfc().collect());
            Zeroizing::new(nfc.as_bytes().to_vec())
        }
        Err(_) => Zeroizing::new(passphrase.to_vec()),
    }
}

/// The keyslot key: Argon2id over the normalised passphrase.
pub(crate) fn slot_key(
    passphrase: &[u8],
    salt: &[u8; 16],
    params: SlotParams,
) -> Result<Zeroizing<[u8; 32]>, String> {
    let params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|e| format!("invalid Argon2id parameters: {e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let normalised = normalise_passphrase(passphrase);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(&normalised, salt, &mut key[..])
        .map_err(|e| format!("Argon2id failed: {e}"))?;
    Ok(key)
}

/// Associated data of a keyslot: label ‖ vault_id ‖ officer name ‖ 0 ‖ group ‖ member.
fn slot_aad(vault_id: &[u8; 16], officer: &str, group: u8, member: u8) -> Vec<u8> {
    let mut aad = SLOT_LABEL.to_vec();
    aad.extend_from_slice(vault_id);
    aad.extend_from_slice(officer.as_bytes());
    aad.extend_from_slice(&[0, group, member]);
    aad
}

/// Seals an officer's share words into a keyslot: `(nonce, ciphertext ‖ tag)`.
pub(crate) fn seal_slot(
    key: &[u8; 32],
    vault_id: &[u8; 16],
    officer: &str,
    group: u8,
    member: u8,
    share_words: &str,
) -> Result<([u8; NONCE_LEN], Vec<u8>), ()> {
    let sealed = seal(
        key,
        &slot_aad(vault_id, officer, group, member),
        Zeroizing::new(share_words.as_bytes().to_vec()),
    )?;
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(nonce);
    Ok((n, body.to_vec()))
}

/// Opens a keyslot; `None` when the key is wrong or the slot was changed.
pub(crate) fn open_slot(
    key: &[u8; 32],
    vault_id: &[u8; 16],
    officer: &str,
    group: u8,
    member: u8,
    nonce: &[u8; NONCE_LEN],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let mut joined = Vec::with_capacity(NONCE_LEN + sealed.len());
    joined.extend_from_slice(nonce);
    joined.extend_from_slice(sealed);
    open(key, &slot_aad(vault_id, officer, group, member), &joined)
}

/// Random bytes from the OS generator (salts, ids).
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    OsRng.fill_bytes(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_and_nfd_spellings_normalise_alike() {
        let nfc = "caf\u{e9}";
        let nfd = "cafe\u{301}";
        assert_ne!(nfc.as_bytes(), nfd.as_bytes());
        assert_eq!(
            &normalise_passphrase(nfc.as_bytes())[..],
            &normalise_passphrase(nfd.as_bytes())[..]
        );
        // Non-UTF-8 bytes are kept as they are.
        assert_eq!(&normalise_passphrase(&[0xff, 0x00])[..], &[0xff, 0x00]);
    }

    #[test]
    fn payload_seal_round_trips_and_binds_the_associated_data() {
        let master = MasterSecret::new(vec![1u8; 16]).unwrap();
        let key = payload_key(&master, &[2u8; 32], &[3u8; 16]);
        let sealed = seal_payload(&key, b"header", Zeroizing::new(b"payload".to_vec())).unwrap();
        assert_eq!(
            &open_payload(&key, b"header", &sealed).unwrap()[..],
            b"payload"
        );
        assert!(open_payload(&key, b"headeR", &sealed).is_none());
        let other = payload_key(&master, &[2u8; 32], &[4u8; 16]);
        assert!(open_payload(&other, b"header", &sealed).is_none());
    }
}
