//! Share fingerprints: a short, non-secret name for one officer's current share, printed
//! on the share sheet and shown by `svault status`, so that a sealed envelope can be
//! matched to its officer and to the current split without being opened.
//!
//! `fingerprint = SHA-256("svault/v1/share-fingerprint" ‖ 0 ‖ vault_id ‖ salt ‖ digest)`,
//! its first 6 bytes as lowercase hex in three groups of four (`3f2a-91c0-7b1d`), where
//! `salt` and `digest` are the officer's commitment (FORMAT.md §4).
//!
//! # Security
//!
//! The input is the vault id and the officer's commitment, both in the header that
//! anyone holding the vault file can read; the share words are not an input. A
//! fingerprint is therefore a function of public data and tells nobody anything the
//! vault file does not (SECURITY.md, "Why the commitments reveal nothing useful").
//! It is a label for comparing, not a check of the share: only the words typed into
//! `svault verify` prove a sheet. 48 bits keep accidental matches between the few
//! sheets of one organisation out of reach while staying short enough to copy onto an
//! envelope.

use sha2::{Digest, Sha256};

use super::format::{Header, Officer};

/// Domain label of the fingerprint hash.
const FINGERPRINT_LABEL: &[u8] = b"svault/v1/share-fingerprint";

/// How many bytes of the hash the fingerprint shows.
const FINGERPRINT_BYTES: usize = 6;

/// The fingerprint of `officer`'s current share in the vault of `header`, such as
/// `3f2a-91c0-7b1d`. Changes when the officer gets a new share (a rekey), and not
/// when other officers are added.
///
/// # Security
///
/// Computed from public header fields only (the vault id and the officer's
/// commitment); it reveals nothing about the share.
pub fn share_fingerprint(header: &Header, officer: &Officer) -> String {
    let mut hash = Sha256::new();
    hash.update(FINGERPRINT_LABEL);
    hash.update([0u8]);
    hash.update(header.vault_id.0);
    hash.update(officer.commitment.salt.0);
    hash.update(officer.commitment.digest.0);
    let digest = hash.finalize();
    let mut out = String::with_capacity(FINGERPRINT_BYTES * 2 + 2);
    for (i, b) in digest.iter().take(FINGERPRINT_BYTES).enumerate() {
        if i > 0 && i % 2 == 0 {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{Draft, Plan};

    #[test]
    fn fingerprint_is_short_distinct_and_follows_the_commitment() {
        let draft = Draft::new(&Plan::simple(2, &["alice", "bob"])).unwrap();
        let header = draft.header();
        let a = share_fingerprint(header, &header.officers[0]);
        let b = share_fingerprint(header, &header.officers[1]);
        assert_eq!(a.len(), 14, "{a}");
        assert!(
            a.chars().enumerate().all(|(i, c)| if i == 4 || i == 9 {
                c == '-'
            } else {
                c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
            }),
            "{a}"
        );
        assert_ne!(a, b);
        // The same commitment in another vault gives another fingerprint.
        let mut other = header.clone();
        other.vault_id.0[0] ^= 1;
        assert_ne!(share_fingerprint(&other, &other.officers[0]), a);
        // A new share (new commitment) gives another fingerprint.
        let mut renewed = header.clone();
        renewed.officers[0].commitment.digest.0[31] ^= 1;
        assert_ne!(share_fingerprint(&renewed, &renewed.officers[0]), a);
    }

    #[test]
    fn fingerprint_matches_its_definition() {
        let draft = Draft::new(&Plan::simple(2, &["alice", "bob"])).unwrap();
        let header = draft.header();
        let o = &header.officers[1];
        let mut input = b"svault/v1/share-fingerprint\0".to_vec();
        input.extend_from_slice(&header.vault_id.0);
        input.extend_from_slice(&o.commitment.salt.0);
        input.extend_from_slice(&o.commitment.digest.0);
        let full: String = Sha256::digest(&input)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let expected = format!("{}-{}-{}", &full[0..4], &full[4..8], &full[8..12]);
        assert_eq!(share_fingerprint(header, o), expected);
    }
}
