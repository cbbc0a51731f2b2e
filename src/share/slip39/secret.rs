//! The two secrets SLIP-0039 handles: the master secret and the passphrase.

use std::fmt;

use zeroize::Zeroizing;

use super::error::{GenerateError, PassphraseError};

/// The secret that SLIP-0039 shares encode (after passphrase decryption).
///
/// Wiped when dropped; `Debug` shows only its length; no `Clone` or `Display`.
pub struct MasterSecret(Zeroizing<Vec<u8>>);

impl MasterSecret {
    /// Wraps secret bytes, checking SLIP-0039's length rule: at least 128 bits and a
    /// multiple of 16 bits.
    ///
    /// # Errors
    ///
    /// [`GenerateError::SecretLength`] when the length breaks that rule. The bytes are
    /// wiped in that case too.
    pub fn new(bytes: Vec<u8>) -> Result<MasterSecret, GenerateError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < 16 || !bytes.len().is_multiple_of(2) {
            return Err(GenerateError::SecretLength { bytes: bytes.len() });
        }
        Ok(MasterSecret(bytes))
    }

    /// Wraps recovered bytes whose length the share format already guarantees.
    pub(crate) fn from_recovered(bytes: Zeroizing<Vec<u8>>) -> MasterSecret {
        MasterSecret(bytes)
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a master secret has at least 16 bytes. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterSecret(<{} secret bytes>)", self.0.len())
    }
}

/// A SLIP-0039 passphrase: any number of printable ASCII bytes (32 to 126), used byte
/// for byte with no truncation, normalisation or trimming.
///
/// SLIP-0039, "Passphrase": "the passphrase MUST be a string containing only printable
/// ASCII characters (code points 32-126). If no passphrase is provided, an empty string
/// SHALL be used as the passphrase."
///
/// Wiped when dropped; `Debug` shows only its length; no `Clone` or `Display`.
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    /// The empty passphrase, used when none is given.
    pub fn empty() -> Passphrase {
        Passphrase(Zeroizing::new(Vec::new()))
    }

    /// Takes the passphrase bytes exactly as given.
    ///
    /// # Errors
    ///
    /// [`PassphraseError::InvalidCharacter`] naming the first byte outside printable
    /// ASCII (by position and kind, never by value). The bytes are wiped in that case.
    pub fn new(bytes: Vec<u8>) -> Result<Passphrase, PassphraseError> {
        let bytes = Zeroizing::new(bytes);
        // Scans the whole passphrase without an early exit; only the position of the
        // first bad byte (a refusal, not a secret in use) is branch-dependent.
        let mut first_bad: Option<(usize, u8)> = None;
        for (i, &b) in bytes.iter().enumerate() {
            let ok = (32..=126).contains(&b);
            if !ok && first_bad.is_none() {
                first_bad = Some((i, b));
            }
        }
        match first_bad {
            None => Ok(Passphrase(bytes)),
            Some((i, b)) => Err(PassphraseError::InvalidCharacter {
                position: i + 1,
                kind: byte_kind(b),
            }),
        }
    }

    /// Reads a passphrase from the contents of a file: exactly one trailing line ending
    /// (`"\n"` or `"\r\n"`) is removed, because editors add one; everything else,
    /// including other trailing spaces or a second newline, is kept and checked.
    ///
    /// # Errors
    ///
    /// As [`Passphrase::new`], for what remains after stripping.
    pub fn from_file_bytes(bytes: Vec<u8>) -> Result<Passphrase, PassphraseError> {
        Passphrase::new(strip_one_line_ending(bytes))
    }

    /// The passphrase bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Passphrase(<{} secret bytes>)", self.0.len())
    }
}

/// Removes exactly one trailing `"\n"` or `"\r\n"` from file contents, in place (no
/// copy of the secret is made; the removed bytes are overwritten).
///
/// `b"pw\n"` becomes `b"pw"`, `b"pw\r\n"` becomes `b"pw"`, `b"pw\n\n"` becomes
/// `b"pw\n"` (which a passphrase then refuses), `b"pw"` and `b"pw "` stay as they are.
pub fn strip_one_line_ending(mut bytes: Vec<u8>) -> Vec<u8> {
    let cut = if bytes.ends_with(b"\r\n") {
        2
    } else if bytes.ends_with(b"\n") {
        1
    } else {
        0
    };
    let keep = bytes.len().saturating_sub(cut);
    for b in bytes.iter_mut().skip(keep) {
        *b = 0;
    }
    bytes.truncate(keep);
    bytes
}

fn byte_kind(b: u8) -> &'static str {
    match b {
        b'\n' | b'\r' => "a line break",
        b'\t' => "a tab",
        0..=31 | 127 => "a control character",
        _ => "not ASCII (an accented letter, symbol or emoji, or a file in another encoding)",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn strip_exactly_one() {
        assert_eq!(strip_one_line_ending(b"pw\n".to_vec()), b"pw");
        assert_eq!(strip_one_line_ending(b"pw\r\n".to_vec()), b"pw");
        assert_eq!(strip_one_line_ending(b"pw\n\n".to_vec()), b"pw\n");
        assert_eq!(strip_one_line_ending(b"pw\r".to_vec()), b"pw\r");
        assert_eq!(strip_one_line_ending(b"pw ".to_vec()), b"pw ");
        assert_eq!(strip_one_line_ending(b"\n".to_vec()), b"");
        assert_eq!(strip_one_line_ending(Vec::new()), b"");
    }

    #[test]
    fn passphrase_characters() {
        let all: Vec<u8> = (32..=126).collect();
        assert_eq!(Passphrase::new(all.clone()).unwrap().as_bytes(), &all[..]);
        for (bad, kind) in [
            (b'\n', "a line break"),
            (b'\t', "a tab"),
            (0, "a control character"),
            (127, "a control character"),
            (0xc3, "not ASCII"),
        ] {
            let err = Passphrase::new(vec![b'a', b'b', bad, b'\n']).unwrap_err();
            let PassphraseError::InvalidCharacter { position, kind: k } = err;
            assert_eq!(position, 3);
            assert!(k.starts_with(kind));
        }
        let err = Passphrase::from_file_bytes(b"ok\n\n".to_vec()).unwrap_err();
        assert_eq!(
            err,
            PassphraseError::InvalidCharacter {
                position: 3,
                kind: "a line break"
            }
        );
        assert_eq!(
            Passphrase::from_file_bytes(b"TREZOR\r\n".to_vec())
                .unwrap()
                .as_bytes(),
            b"TREZOR"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let p = Passphrase::new(b"hunter2".to_vec()).unwrap();
        assert_eq!(format!("{p:?}"), "Passphrase(<7 secret bytes>)");
        let m = MasterSecret::new(vec![0xab; 16]).unwrap();
        assert!(!format!("{m:?}").contains("ab"));
        assert_eq!(
            MasterSecret::new(vec![1; 15]).unwrap_err(),
            GenerateError::SecretLength { bytes: 15 }
        );
        assert_eq!(
            MasterSecret::new(vec![1; 17]).unwrap_err(),
            GenerateError::SecretLength { bytes: 17 }
        );
    }
}
