//! RECORD: the public JSON file that says which OpenBao unseal keys belong to which
//! officer, without holding any of them (`docs/BAO.md` specifies it).
//!
//! Each officer's entry has the key's x coordinate, a random 32-byte salt and the
//! commitment `SHA-256("svault-bao-key-v1" ‖ salt ‖ x ‖ y)` over the key's value bytes
//! `y`. A key typed or read from a file is checked against the commitment for its x
//! before it is sent anywhere; a key from a retired split (before a rotation) is named
//! as such.

use std::fs;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::shamir::Share;

/// The `format` field every RECORD carries.
pub const FORMAT: &str = "svault-bao-record/1";

/// Domain separation for the commitments.
const COMMITMENT_DOMAIN: &[u8] = b"svault-bao-key-v1";

/// Length of OpenBao's unseal key K (AES-256), and so of every key's value.
pub const KEY_LEN: usize = 32;

/// One officer's key, as RECORD knows it: public data only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficerEntry {
    /// The officer's name.
    pub name: String,
    /// The key's x coordinate (its last byte).
    pub x: u8,
    /// 32 random bytes, lowercase hex.
    pub salt: String,
    /// `SHA-256("svault-bao-key-v1" ‖ salt ‖ x ‖ y)`, lowercase hex.
    pub commitment: String,
}

/// A split that was replaced by a rotation; kept so that an old key is named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredSplit {
    /// When it was replaced (UTC, `YYYY-MM-DD`).
    pub retired: String,
    /// Its threshold.
    pub threshold: u8,
    /// Its officers.
    pub officers: Vec<OfficerEntry>,
}

/// What RECORD knows of the cluster (public: OpenBao shows it to anyone once unsealed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// `cluster_id` from `sys/seal-status` of the unsealed node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `cluster_name` likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The whole RECORD file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Always [`FORMAT`].
    pub format: String,
    /// When this split was made (UTC, `YYYY-MM-DD`).
    pub created: String,
    /// Keys needed to unseal.
    pub threshold: u8,
    /// The cluster these keys unseal.
    pub cluster: Cluster,
    /// The current split, one entry per officer.
    pub officers: Vec<OfficerEntry>,
    /// Earlier splits, newest first.
    #[serde(default)]
    pub retired: Vec<RetiredSplit>,
}

/// Why a RECORD could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The file could not be read.
    #[error("cannot read the record {path}")]
    Read {
        /// The file.
        path: String,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The file is not a RECORD of this version, or is damaged.
    #[error("{path} is not a valid svault bao record: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The file could not be written (it may already exist).
    #[error("cannot write the record {path}")]
    Write {
        /// The file.
        path: String,
        /// The system's error.
        #[source]
        source: io::Error,
    },
}

/// How a key compares with RECORD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMatch {
    /// The key is this officer's current key.
    Officer(String),
    /// The key's x belongs to this officer, but the key is not theirs (mistyped,
    /// damaged, or from another cluster).
    Mismatch {
        /// The officer whose x it has.
        officer: String,
    },
    /// The key is this officer's key from a split retired on `retired`.
    Retired {
        /// The officer.
        officer: String,
        /// The date of the rotation.
        retired: String,
    },
    /// No officer of the record, current or retired, has this x.
    Unknown,
}

impl OfficerEntry {
    /// The entry for `officer` holding `key`, with a fresh salt.
    pub fn commit(officer: &str, key: &Share) -> OfficerEntry {
        let mut salt = [0u8; 32];
        OsRng.fill_bytes(&mut salt);
        OfficerEntry {
            name: officer.to_owned(),
            x: key.x(),
            salt: to_hex(&salt),
            commitment: to_hex(&commitment(&salt, key)),
        }
    }

    /// Whether `key` is this officer's key (same x and commitment, compared in
    /// constant time). A malformed salt or commitment never matches.
    pub fn matches(&self, key: &Share) -> bool {
        if key.x() != self.x {
            return false;
        }
        let (Some(salt), Some(expected)) = (from_hex(&self.salt), from_hex(&self.commitment))
        else {
            return false;
        };
        bool::from(commitment(&salt, key).as_slice().ct_eq(&expected))
    }
}

fn commitment(salt: &[u8], key: &Share) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(COMMITMENT_DOMAIN);
    hash.update(salt);
    hash.update([key.x()]);
    hash.update(key.y());
    hash.finalize().into()
}

impl Record {
    /// A record for a new split.
    pub fn new(threshold: u8, cluster: Cluster, officers: Vec<OfficerEntry>) -> Record {
        Record {
            format: FORMAT.to_owned(),
            created: today(),
            threshold,
            cluster,
            officers,
            retired: Vec::new(),
        }
    }

    /// Reads and validates `path`.
    ///
    /// # Errors
    ///
    /// [`RecordError::Read`], [`RecordError::Invalid`].
    pub fn load(path: &Path) -> Result<Record, RecordError> {
        let shown = path.display().to_string();
        let text = fs::read_to_string(path).map_err(|source| RecordError::Read {
            path: shown.clone(),
            source,
        })?;
        let record: Record = serde_json::from_str(&text).map_err(|e| RecordError::Invalid {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        record.validate().map_err(|reason| RecordError::Invalid {
            path: shown,
            reason,
        })?;
        Ok(record)
    }

    /// Checks the invariants: format, threshold within the officers, distinct names
    /// and distinct non-zero x, well-formed salts and commitments.
    ///
    /// # Errors
    ///
    /// What is wrong, in words.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format is {:?}, expected {FORMAT:?}", self.format));
        }
        check_split(self.threshold, &self.officers)?;
        for split in &self.retired {
            check_split(split.threshold, &split.officers)
                .map_err(|e| format!("retired split of {}: {e}", split.retired))?;
        }
        Ok(())
    }

    /// The JSON text (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        // Serialising plain strings and integers cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The officer entry with this name.
    pub fn officer(&self, name: &str) -> Option<&OfficerEntry> {
        self.officers.iter().find(|o| o.name == name)
    }

    /// Which officer, if any, `key` belongs to.
    pub fn classify(&self, key: &Share) -> KeyMatch {
        if let Some(entry) = self.officers.iter().find(|o| o.x == key.x())
            && entry.matches(key)
        {
            return KeyMatch::Officer(entry.name.clone());
        }
        for split in &self.retired {
            if let Some(entry) = split.officers.iter().find(|o| o.matches(key)) {
                return KeyMatch::Retired {
                    officer: entry.name.clone(),
                    retired: split.retired.clone(),
                };
            }
        }
        match self.officers.iter().find(|o| o.x == key.x()) {
            Some(entry) => KeyMatch::Mismatch {
                officer: entry.name.clone(),
            },
            None => KeyMatch::Unknown,
        }
    }
}

fn check_split(threshold: u8, officers: &[OfficerEntry]) -> Result<(), String> {
    if threshold == 0 || usize::from(threshold) > officers.len() {
        return Err(format!(
            "threshold {threshold} with {} officer(s)",
            officers.len()
        ));
    }
    for (i, entry) in officers.iter().enumerate() {
        if entry.name.trim().is_empty() {
            return Err(format!("officer {} has an empty name", i + 1));
        }
        if entry.x == 0 {
            return Err(format!("officer {} has x = 0", entry.name));
        }
        if officers[..i].iter().any(|o| o.name == entry.name) {
            return Err(format!("officer {} appears twice", entry.name));
        }
        if officers[..i].iter().any(|o| o.x == entry.x) {
            return Err(format!("two officers have x = {}", entry.x));
        }
        let salt_ok = from_hex(&entry.salt).is_some_and(|s| s.len() == 32);
        let commitment_ok = from_hex(&entry.commitment).is_some_and(|c| c.len() == 32);
        if !salt_ok || !commitment_ok {
            return Err(format!(
                "officer {}: salt and commitment must be 64 lowercase hex digits each",
                entry.name
            ));
        }
    }
    Ok(())
}

/// Writes `record` to `path`, a new file (never replacing one), mode 0644: RECORD is
/// public.
///
/// # Errors
///
/// [`RecordError::Write`], also when `path` exists.
pub fn write_new(path: &Path, record: &Record) -> Result<(), RecordError> {
    crate::bao::files::create_new(path, record.to_json().as_bytes(), 0o644).map_err(|source| {
        RecordError::Write {
            path: path.display().to_string(),
            source,
        }
    })
}

/// Replaces `path` with `record` (rename over it: the file is whole at every moment).
///
/// # Errors
///
/// [`RecordError::Write`].
pub fn replace(path: &Path, record: &Record) -> Result<(), RecordError> {
    crate::bao::files::replace(path, record.to_json().as_bytes(), 0o644).map_err(|source| {
        RecordError::Write {
            path: path.display().to_string(),
            source,
        }
    })
}

/// Lowercase hex of public bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of lowercase hex, or `None`.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2)
        || !text
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    civil_date(days)
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_date(days: u64) -> String {
    // Howard Hinnant's days-to-civil, for non-negative day counts.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn key(x: u8, fill: u8) -> Share {
        Share::new(x, vec![fill; KEY_LEN])
    }

    #[test]
    fn commitments_name_the_officer_and_refuse_others() {
        let alice = key(7, 1);
        let record = Record::new(
            1,
            Cluster::default(),
            vec![OfficerEntry::commit("alice", &alice)],
        );
        record.validate().unwrap();
        assert_eq!(record.classify(&alice), KeyMatch::Officer("alice".into()));
        // One bit flipped in the value: same x, named as alice's x but refused.
        let mut y = vec![1u8; KEY_LEN];
        y[5] ^= 0x10;
        assert_eq!(
            record.classify(&Share::new(7, y)),
            KeyMatch::Mismatch {
                officer: "alice".into()
            }
        );
        assert_eq!(record.classify(&key(8, 1)), KeyMatch::Unknown);
    }

    #[test]
    fn salts_differ_so_equal_keys_give_unrelated_commitments() {
        let k = key(3, 9);
        let a = OfficerEntry::commit("a", &k);
        let b = OfficerEntry::commit("a", &k);
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.commitment, b.commitment);
        assert!(a.matches(&k) && b.matches(&k));
    }

    #[test]
    fn retired_keys_are_named_with_the_date() {
        let old = key(4, 2);
        let new = key(4, 3);
        let mut record = Record::new(
            1,
            Cluster::default(),
            vec![OfficerEntry::commit("bob", &new)],
        );
        record.retired.push(RetiredSplit {
            retired: "2026-01-02".into(),
            threshold: 1,
            officers: vec![OfficerEntry::commit("bob", &old)],
        });
        record.validate().unwrap();
        assert_eq!(
            record.classify(&old),
            KeyMatch::Retired {
                officer: "bob".into(),
                retired: "2026-01-02".into()
            }
        );
    }

    #[test]
    fn invalid_records_are_refused_with_a_reason() {
        let k = key(1, 1);
        let mut record = Record::new(2, Cluster::default(), vec![OfficerEntry::commit("a", &k)]);
        assert!(record.validate().unwrap_err().contains("threshold 2"));
        record.threshold = 1;
        record.officers[0].commitment.push('0');
        assert!(record.validate().unwrap_err().contains("64 lowercase hex"));
        let json = record.to_json();
        let back: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert_eq!(civil_date(20_454), "2026-01-01");
    }
}
