//! One drill record: its JSON line in `VAULT.drills`, the canonical message its
//! signature covers, and signing and checking (docs/HEALTH.md, "The record").
//!
//! ```text
//! {"v":1,"vault_id":"<32 hex>","split":<u16>,"officer":"carol","kind":"share",
//!  "time":<Unix seconds>,"nonce":"<32 hex>","sig":"<128 hex>"}\n
//! ```
//!
//! The signature is Ed25519 over [`DrillRecord::message`], a fixed binary layout that
//! starts with the label [`DOMAIN`]: it never depends on how the JSON was written
//! (field order, spaces, escapes), and no other svault signature can be read as a
//! drill record's.

use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::vault::format::{Hex, check_name};

/// The domain-separation label that starts every signed drill message.
pub const DOMAIN: &[u8] = b"svault/v2/drill-record";
/// The record version this program writes and reads.
pub const RECORD_VERSION: u32 = 1;
/// The longest line accepted, in bytes (a record is about 330 bytes; names are at most
/// 64 characters).
pub const MAX_LINE: usize = 1024;

/// How the officer showed their share works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrillKind {
    /// `svault verify` with the share's words (typed or from a file).
    Share,
    /// `svault verify --keyslot`: the passphrase opened the officer's keyslot.
    Keyslot,
    /// The share took part in a successful unseal by the command line.
    Unseal,
    /// The share took part in a successful unseal through the agent.
    Agent,
}

impl DrillKind {
    /// The name written in the record (`"share"`, `"keyslot"`, `"unseal"`, `"agent"`).
    pub fn as_str(self) -> &'static str {
        match self {
            DrillKind::Share => "share",
            DrillKind::Keyslot => "keyslot",
            DrillKind::Unseal => "unseal",
            DrillKind::Agent => "agent",
        }
    }
}

impl fmt::Display for DrillKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A drill record: who drilled, for which vault and split, when, how; a random nonce
/// and the officer's signature over all of it. Everything in it is public.
#[derive(Clone, PartialEq, Eq)]
pub struct DrillRecord {
    /// The vault's id.
    pub vault_id: [u8; 16],
    /// The SLIP-0039 identifier of the split whose share made the drill key.
    pub split: u16,
    /// The officer.
    pub officer: String,
    /// How the drill was done.
    pub kind: DrillKind,
    /// When (seconds since the Unix epoch).
    pub time: u64,
    /// 16 random bytes, so that no two records are the same.
    pub nonce: [u8; 16],
    /// Ed25519 signature over [`DrillRecord::message`].
    pub signature: [u8; 64],
}

impl fmt::Debug for DrillRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DrillRecord")
            .field("vault_id", &Hex(self.vault_id))
            .field("split", &self.split)
            .field("officer", &self.officer)
            .field("kind", &self.kind)
            .field("time", &self.time)
            .finish_non_exhaustive()
    }
}

/// What can sign a drill record: an officer's drill key
/// ([`crate::vault::DrillKey`] once derived from a checked share), or any Ed25519 key.
pub trait SignDrill {
    /// The Ed25519 signature of `message`.
    fn sign_drill(&self, message: &[u8]) -> [u8; 64];
}

impl SignDrill for SigningKey {
    fn sign_drill(&self, message: &[u8]) -> [u8; 64] {
        self.sign(message).to_bytes()
    }
}

/// The line's JSON shape.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    v: u32,
    vault_id: Hex<16>,
    split: u16,
    officer: String,
    kind: DrillKind,
    time: u64,
    nonce: Hex<16>,
    sig: Hex<64>,
}

/// Why a line of `VAULT.drills` is not a drill record at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Longer than [`MAX_LINE`].
    #[error("the line is {len} bytes long, more than a record can be ({MAX_LINE})")]
    TooLong {
        /// Its length (at least).
        len: usize,
    },
    /// The file's last line has no newline: a write was cut short.
    #[error("the line is cut short (no newline at the end of the file)")]
    Truncated,
    /// Not UTF-8.
    #[error("the line is not UTF-8 text")]
    NotText,
    /// Not JSON of the record's shape.
    #[error("the line is not a drill record: {0}")]
    Json(String),
    /// A record of a version this program does not know.
    #[error("record version {0} is unknown to this program (it reads version 1)")]
    Version(u32),
    /// The officer field is not a possible officer name.
    #[error("the officer name {0}")]
    Officer(&'static str),
}

impl DrillRecord {
    /// The exact bytes the signature covers:
    ///
    /// ```text
    /// "svault/v2/drill-record" ‖ 0x00 ‖ u32be(1) ‖ vault_id (16) ‖ u16be(split)
    ///   ‖ u16be(len(officer)) ‖ officer (UTF-8) ‖ u8(len(kind)) ‖ kind (ASCII)
    ///   ‖ u64be(time) ‖ nonce (16)
    /// ```
    pub fn message(&self) -> Vec<u8> {
        let officer = self.officer.as_bytes();
        let kind = self.kind.as_str().as_bytes();
        let mut m = Vec::with_capacity(DOMAIN.len() + 64 + officer.len());
        m.extend_from_slice(DOMAIN);
        m.push(0);
        m.extend_from_slice(&RECORD_VERSION.to_be_bytes());
        m.extend_from_slice(&self.vault_id);
        m.extend_from_slice(&self.split.to_be_bytes());
        // A name is at most 64 characters (256 bytes), checked when a record is made or
        // read; the saturation never happens for a record that got this far.
        m.extend_from_slice(
            &u16::try_from(officer.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        m.extend_from_slice(officer);
        m.push(u8::try_from(kind.len()).unwrap_or(u8::MAX));
        m.extend_from_slice(kind);
        m.extend_from_slice(&self.time.to_be_bytes());
        m.extend_from_slice(&self.nonce);
        m
    }

    /// Makes and signs a record with a fresh random nonce.
    ///
    /// # Errors
    ///
    /// [`LineError::Officer`] for a name no vault could hold.
    ///
    /// # Security
    ///
    /// `key` must be the officer's drill key, derived from a share that was checked
    /// against the vault's commitment; the record proves nothing more than that.
    pub fn sign(
        vault_id: [u8; 16],
        split: u16,
        officer: &str,
        kind: DrillKind,
        time: u64,
        key: &impl SignDrill,
    ) -> Result<DrillRecord, LineError> {
        check_name(officer).map_err(LineError::Officer)?;
        let mut nonce = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let mut record = DrillRecord {
            vault_id,
            split,
            officer: officer.to_owned(),
            kind,
            time,
            nonce,
            signature: [0; 64],
        };
        record.signature = key.sign_drill(&record.message());
        Ok(record)
    }

    /// Whether the signature verifies under `key` (strict Ed25519: no malleable or
    /// small-order forms).
    pub fn verifies_under(&self, key: &VerifyingKey) -> bool {
        key.verify_strict(&self.message(), &Signature::from_bytes(&self.signature))
            .is_ok()
    }

    /// The record as one line of JSON, newline included.
    pub fn to_line(&self) -> String {
        let line = Line {
            v: RECORD_VERSION,
            vault_id: Hex(self.vault_id),
            split: self.split,
            officer: self.officer.clone(),
            kind: self.kind,
            time: self.time,
            nonce: Hex(self.nonce),
            sig: Hex(self.signature),
        };
        // Serialising a struct of strings and integers cannot fail.
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parses one line (without its newline). Nothing is checked against a vault here;
    /// see [`super::check`].
    ///
    /// # Errors
    ///
    /// [`LineError`] saying why the line is not a record.
    pub fn parse(line: &[u8]) -> Result<DrillRecord, LineError> {
        if line.len() > MAX_LINE {
            return Err(LineError::TooLong { len: line.len() });
        }
        let text = core::str::from_utf8(line).map_err(|_| LineError::NotText)?;
        let raw: Line = serde_json::from_str(text).map_err(|e| LineError::Json(e.to_string()))?;
        if raw.v != RECORD_VERSION {
            return Err(LineError::Version(raw.v));
        }
        check_name(&raw.officer).map_err(LineError::Officer)?;
        Ok(DrillRecord {
            vault_id: raw.vault_id.0,
            split: raw.split,
            officer: raw.officer,
            kind: raw.kind,
            time: raw.time,
            nonce: raw.nonce.0,
            signature: raw.sig.0,
        })
    }
}

/// Splits the bytes of a drills file into lines (1-based numbers), each either its
/// bytes or, for a last line without a newline, [`LineError::Truncated`]. Empty lines
/// are skipped.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, Result<&[u8], LineError>)> {
    let ends_cleanly = bytes.last().is_none_or(|&b| b == b'\n');
    let count = bytes.split(|&b| b == b'\n').count();
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter_map(move |(i, line)| {
            let last = i + 1 == count;
            if line.is_empty() {
                return None;
            }
            if last && !ends_cleanly {
                return Some((i + 1, Err(LineError::Truncated)));
            }
            Some((i + 1, Ok(line)))
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    pub(crate) fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn sample() -> DrillRecord {
        DrillRecord::sign(
            [7; 16],
            1234,
            "carol",
            DrillKind::Share,
            1_700_000_000,
            &key(3),
        )
        .unwrap()
    }

    #[test]
    fn a_record_round_trips_and_verifies() {
        let r = sample();
        let line = r.to_line();
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1);
        let back = DrillRecord::parse(line.trim_end().as_bytes()).unwrap();
        assert_eq!(back, r);
        assert!(back.verifies_under(&key(3).verifying_key()));
        assert!(!back.verifies_under(&key(4).verifying_key()));
    }

    #[test]
    fn nonces_are_fresh() {
        assert_ne!(sample().nonce, sample().nonce);
    }

    /// The message is pinned: a change to its layout would orphan every record written.
    #[test]
    fn message_layout_is_fixed() {
        let r = DrillRecord {
            vault_id: [0xaa; 16],
            split: 0x0102,
            officer: "bob".into(),
            kind: DrillKind::Keyslot,
            time: 0x0102_0304_0506_0708,
            nonce: [0xbb; 16],
            signature: [0; 64],
        };
        let mut want = b"svault/v2/drill-record\0\0\0\0\x01".to_vec();
        want.extend([0xaa; 16]);
        want.extend([1, 2, 0, 3]);
        want.extend(b"bob\x07keyslot");
        want.extend([1, 2, 3, 4, 5, 6, 7, 8]);
        want.extend([0xbb; 16]);
        assert_eq!(r.message(), want);
    }

    /// Each field is covered by the signature: changing any one breaks it.
    #[test]
    fn every_field_is_signed() {
        let r = sample();
        let pk = key(3).verifying_key();
        let changes: [fn(&mut DrillRecord); 6] = [
            |r| r.vault_id[0] ^= 1,
            |r| r.split ^= 1,
            |r| r.officer = "carl".into(),
            |r| r.kind = DrillKind::Agent,
            |r| r.time += 1,
            |r| r.nonce[15] ^= 1,
        ];
        for change in changes {
            let mut m = r.clone();
            change(&mut m);
            assert!(!m.verifies_under(&pk), "{m:?}");
        }
        let mut m = r.clone();
        m.signature[10] ^= 1;
        assert!(!m.verifies_under(&pk));
    }

    #[test]
    fn damaged_lines_are_refused_with_a_reason() {
        let good = sample().to_line();
        let good = good.trim_end();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                good.as_bytes()[..good.len() / 2].to_vec(),
                "not a drill record",
            ),
            (b"{}".to_vec(), "not a drill record"),
            (vec![0xff, 0xfe], "not UTF-8"),
            (vec![b'x'; MAX_LINE + 1], "more than a record"),
            (good.replace("\"v\":1", "\"v\":2").into_bytes(), "version 2"),
            (
                good.replace("\"carol\"", "\"ca/rol\"").into_bytes(),
                "officer name",
            ),
            (
                good.replace("\"share\"", "\"telepathy\"").into_bytes(),
                "not a drill record",
            ),
            (
                good.replace("}", ",\"extra\":1}").into_bytes(),
                "not a drill record",
            ),
        ];
        for (line, why) in cases {
            let e = DrillRecord::parse(&line).unwrap_err();
            assert!(e.to_string().contains(why), "{e} / {why}");
        }
    }

    #[test]
    fn lines_marks_a_cut_last_line() {
        let got: Vec<_> = lines(b"a\n\nb\nc").collect();
        assert_eq!(
            got,
            vec![
                (1, Ok(&b"a"[..])),
                (3, Ok(&b"b"[..])),
                (4, Err(LineError::Truncated))
            ]
        );
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"a\n").collect::<Vec<_>>(), vec![(1, Ok(&b"a"[..]))]);
    }
}
