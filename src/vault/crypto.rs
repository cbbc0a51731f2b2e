//! Every cryptographic step of the vault file, each with its own label
//! (FORMAT.md §3–§5): the payload key (HKDF-SHA256), the payload and keyslot seals
//! (XChaCha20-Poly1305), share commitments (SHA-256) and keyslot keys (Argon2id).

use argon2::{Algorithm, Argon2, Block, Params, Version};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, Zeroizing};

use super::format::{NONCE_LEN, TAG_LEN};
use crate::secret::FixedBuffer;
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
    // Extract and expand as two steps so that the pseudorandom key (PRK, as strong as
    // the master secret) comes back to us and is wiped at once; `Hkdf::new` would drop
    // it unwiped. Not wiped: the two SHA-256 states keyed with the PRK that `Hkdf`
    // keeps for expanding (hmac 0.12 offers no way to wipe them); they live in this
    // stack frame only.
    let (mut prk, hkdf) = Hkdf::<Sha256>::extract(Some(salt), master.as_bytes());
    prk.as_mut_slice().zeroize();
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
    let mut buffer = plaintext;
    let nonce = seal_in_place(key, aad, &mut buffer)?;
    let mut out = Vec::with_capacity(NONCE_LEN + buffer.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buffer);
    Ok(out)
}

/// Encrypts `buffer` in place under a fresh random nonce (returned) and appends the tag.
///
/// A plaintext buffer is never grown: `reserve` would copy the plaintext to a new
/// allocation and free the old one unwiped. Callers leave [`TAG_LEN`] bytes of spare
/// capacity; a buffer without them is copied once into one of the final size and the
/// old one wiped.
fn seal_in_place(
    key: &[u8; 32],
    aad: &[u8],
    buffer: &mut Zeroizing<Vec<u8>>,
) -> Result<[u8; NONCE_LEN], ()> {
    if buffer.capacity() - buffer.len() < TAG_LEN {
        let sized = FixedBuffer::copy_of(buffer, TAG_LEN).into_inner();
        // The old buffer is wiped as it is dropped here.
        *buffer = sized;
    }
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .encrypt_in_place(XNonce::from_slice(&nonce), aad, &mut **buffer)
        .map_err(|_| ())?;
    Ok(nonce)
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
///
/// The result is allocated once, at its final size (a first pass over the normalised
/// characters counts their bytes, a second writes them into a [`FixedBuffer`]), so no
/// growing string leaves pieces of the passphrase in freed memory. Not wiped: the
/// normaliser's own small buffer of pending characters (a few characters inline; on the
/// heap only for a run of more than four combining marks).
///
/// # Errors
///
/// `Err` only if the two passes disagreed, which they cannot (the same normalisation of
/// the same text); nothing is then derived.
pub(crate) fn normalise_passphrase(passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, ()> {
    let Ok(text) = core::str::from_utf8(passphrase) else {
        return Ok(FixedBuffer::copy_of(passphrase, 0).into_inner());
    };
    let len = text.nfc().map(char::len_utf8).sum();
    let mut out = FixedBuffer::with_capacity(len);
    let mut utf8 = Zeroizing::new([0u8; 4]);
    for c in text.nfc() {
        out.extend(c.encode_utf8(&mut utf8[..]).as_bytes())
            .map_err(|_| ())?;
    }
    Ok(out.into_inner())
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
    let normalised = normalise_passphrase(passphrase)
        .map_err(|()| "the passphrase could not be normalised".to_owned())?;
    // Argon2's working memory (every block derives from the passphrase) is ours, wiped
    // on drop; `hash_password_into` would free its own unwiped. With argon2's `zeroize`
    // feature it also wipes H0 (the hash of the passphrase and parameters that seeds
    // the blocks) and its final block.
    let mut blocks = Zeroizing::new(vec![Block::default(); params.block_count()]);
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into_with_memory(&normalised, salt, &mut key[..], &mut blocks[..])
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
    // The one copy of the words, with room for the tag: sealed in place, never grown.
    let mut buffer = slot_plaintext(share_words);
    let nonce = seal_in_place(
        key,
        &slot_aad(vault_id, officer, group, member),
        &mut buffer,
    )?;
    // Now ciphertext and tag only: nothing secret is left in it.
    Ok((nonce, core::mem::take(&mut *buffer)))
}

/// A copy of a keyslot's share words with room for the tag after them.
fn slot_plaintext(share_words: &str) -> Zeroizing<Vec<u8>> {
    FixedBuffer::copy_of(share_words.as_bytes(), TAG_LEN).into_inner()
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
            &normalise_passphrase(nfc.as_bytes()).unwrap()[..],
            &normalise_passphrase(nfd.as_bytes()).unwrap()[..]
        );
        // Non-UTF-8 bytes are kept as they are.
        assert_eq!(
            &normalise_passphrase(&[0xff, 0x00]).unwrap()[..],
            &[0xff, 0x00]
        );
    }

    /// The normalised passphrase is written into a buffer that refuses to grow, sized
    /// by counting first: texts that NFC shortens, lengthens or leaves alone all come
    /// out whole (a wrong count would be refused), in an allocation of exactly their
    /// size.
    #[test]
    fn normalised_passphrase_is_allocated_once_at_its_final_size() {
        let long_marks = format!("a{}", "\u{301}\u{302}\u{303}\u{304}\u{323}".repeat(8));
        let texts = [
            "correct horse battery staple",
            "cafe\u{301} cre\u{300}me", // NFD: shorter in NFC
            "\u{0958}\u{0959}\u{2126}", // composition exclusions: longer, and shorter
            "\u{1100}\u{1161}\u{11a8}", // Hangul jamo compose to one syllable
            "",
            long_marks.as_str(),
        ];
        for text in texts {
            let expected: String = text.nfc().collect();
            let out = normalise_passphrase(text.as_bytes()).unwrap();
            assert_eq!(&out[..], expected.as_bytes(), "{text:?}");
            assert_eq!(
                out.capacity(),
                out.len(),
                "{text:?}: one allocation, exact size"
            );
        }
        assert_ne!(
            "\u{0958}".nfc().count(),
            1,
            "the test needs a text NFC lengthens"
        );
        let raw = normalise_passphrase(&[0xff; 40]).unwrap();
        assert_eq!((raw.len(), raw.capacity()), (40, 40));
    }

    /// A keyslot's plaintext (the share words) is made with room for the tag and
    /// sealed without reallocation: the allocation that held the words is the one that
    /// ends up holding the ciphertext (and so is the one wiped), with no copy freed
    /// along the way. The same holds for the payload encoder's buffer.
    #[test]
    fn keyslot_and_payload_plaintexts_are_sealed_without_reallocation() {
        let words = "academic acid acrobat romp academic academic academic academic";
        let mut buffer = slot_plaintext(words);
        assert_eq!(buffer.capacity(), words.len() + TAG_LEN);
        let before = (buffer.as_ptr(), buffer.capacity());
        let key = [7u8; 32];
        let aad = slot_aad(&[1u8; 16], "alice", 0, 2);
        let nonce = seal_in_place(&key, &aad, &mut buffer).unwrap();
        assert_eq!(
            (buffer.as_ptr(), buffer.capacity()),
            before,
            "sealed in place"
        );
        assert_eq!(buffer.len(), words.len() + TAG_LEN);
        assert_ne!(
            &buffer[..words.len()],
            words.as_bytes(),
            "it is ciphertext now"
        );
        let opened = open_slot(&key, &[1u8; 16], "alice", 0, 2, &nonce, &buffer).unwrap();
        assert_eq!(&opened[..], words.as_bytes());

        let (nonce, sealed) = seal_slot(&key, &[1u8; 16], "alice", 0, 2, words).unwrap();
        let opened = open_slot(&key, &[1u8; 16], "alice", 0, 2, &nonce, &sealed).unwrap();
        assert_eq!(&opened[..], words.as_bytes());

        let mut credentials = std::collections::BTreeMap::new();
        credentials.insert(
            "db/password".to_owned(),
            super::super::payload::Credential {
                value: crate::secret::SecretBytes::from_slice(b"hunter2"),
                created: 1,
                updated: 1,
            },
        );
        let mut payload = super::super::payload::encode(&credentials).unwrap();
        let before = (payload.as_ptr(), payload.capacity());
        seal_in_place(&key, b"header", &mut payload).unwrap();
        assert_eq!((payload.as_ptr(), payload.capacity()), before);
    }

    /// A buffer without room for the tag is not grown in place (which would free a
    /// copy of the plaintext unwiped) but copied once into one of the final size; the
    /// result still opens.
    #[test]
    fn plaintext_without_room_for_the_tag_is_copied_once_at_the_final_size() {
        let key = [9u8; 32];
        let mut buffer = Zeroizing::new(b"exactly sized".to_vec());
        assert_eq!(buffer.capacity(), buffer.len());
        let nonce = seal_in_place(&key, b"aad", &mut buffer).unwrap();
        assert_eq!(
            buffer.capacity(),
            buffer.len(),
            "one allocation of the final size"
        );
        let mut joined = nonce.to_vec();
        joined.extend_from_slice(&buffer);
        assert_eq!(&open(&key, b"aad", &joined).unwrap()[..], b"exactly sized");
    }

    /// Argon2id over caller-owned (wiped) memory gives the same key as the crate's own
    /// allocation, so existing keyslots still open.
    #[test]
    fn slot_key_with_wiped_memory_matches_argon2_itself() {
        let params = SlotParams {
            memory_kib: 64,
            iterations: 2,
            parallelism: 2,
        };
        let salt = [5u8; 16];
        let ours = slot_key("cafe\u{301}".as_bytes(), &salt, params).unwrap();
        let mut theirs = [0u8; 32];
        Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 2, 2, Some(32)).unwrap(),
        )
        .hash_password_into("caf\u{e9}".as_bytes(), &salt, &mut theirs)
        .unwrap();
        assert_eq!(*ours, theirs);
    }

    /// The payload key from the two-step HKDF (whose PRK is wiped) equals RFC 5869's
    /// one-step HKDF.
    #[test]
    fn payload_key_equals_one_step_hkdf() {
        let master = MasterSecret::new(vec![0x42u8; 32]).unwrap();
        let key = payload_key(&master, &[2u8; 32], &[3u8; 16]);
        let mut expected = [0u8; 32];
        let mut info = PAYLOAD_KEY_LABEL.to_vec();
        info.extend_from_slice(&[3u8; 16]);
        Hkdf::<Sha256>::new(Some(&[2u8; 32]), &[0x42u8; 32])
            .expand(&info, &mut expected)
            .unwrap();
        assert_eq!(*key.0, expected);
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
