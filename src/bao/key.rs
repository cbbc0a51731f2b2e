//! Officers' OpenBao keys: a fresh split of the unseal key K (one key per officer at
//! random distinct non-zero x, Vault's layout `y ‖ x`), the key file, and the check of
//! keys against RECORD before anything is sent.

use std::fs;
use std::io;
use std::path::Path;

use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::record::{KEY_LEN, KeyMatch, Record};
use crate::shamir::{self, Share};
use crate::share::unseal_key::{self, Format};

/// Why keys could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    /// Threshold or officer count out of range.
    #[error("cannot split among {officers} officer(s) with threshold {threshold}: {source}")]
    Plan {
        /// Officers.
        officers: usize,
        /// Threshold.
        threshold: u8,
        /// The Shamir core's reason.
        #[source]
        source: shamir::Error,
    },
    /// More than 255 officers.
    #[error("at most 255 officers can hold keys ({officers} were named)")]
    TooMany {
        /// Officers named.
        officers: usize,
    },
    /// The new split did not prove consistent (never expected).
    #[error("internal error: the new keys did not prove consistent; nothing was issued")]
    Unproven,
}

/// One officer's key, issued by a split.
pub struct Issued {
    /// The officer.
    pub officer: String,
    /// The key.
    pub key: Share,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Issued({}, x = {})", self.officer, self.key.x())
    }
}

/// A fresh split of `secret` (K): one key per officer at random distinct non-zero x,
/// any `threshold` of which give `secret` back. Before returning, the whole set is
/// proven to lie on one polynomial and `threshold` of the keys are proven to give
/// `secret` (compared in constant time).
///
/// # Errors
///
/// [`SplitError`].
pub fn split(secret: &[u8], threshold: u8, officers: &[String]) -> Result<Vec<Issued>, SplitError> {
    let count = u8::try_from(officers.len()).map_err(|_| SplitError::TooMany {
        officers: officers.len(),
    })?;
    let plan_error = |source| SplitError::Plan {
        officers: officers.len(),
        threshold,
        source,
    };
    if count == 0 || threshold == 0 || threshold > count {
        return Err(plan_error(shamir::Error::ThresholdOutOfRange {
            threshold,
            count: officers.len(),
        }));
    }
    // Every non-zero x at once, then a random choice among them: fresh x each time.
    let mut all = shamir::split(secret, threshold, 255).map_err(plan_error)?;
    all.shuffle(&mut OsRng);
    all.truncate(officers.len());
    if usize::from(threshold) < all.len() {
        unseal_key::check_set(&all, threshold).map_err(|_| SplitError::Unproven)?;
    }
    let back = shamir::combine(&all[..usize::from(threshold)]).map_err(plan_error)?;
    if !bool::from(back.as_slice().ct_eq(secret)) {
        return Err(SplitError::Unproven);
    }
    Ok(officers
        .iter()
        .zip(all)
        .map(|(officer, key)| Issued {
            officer: officer.clone(),
            key,
        })
        .collect())
}

/// A key's text as in a key file's first line: 66 lowercase hex characters.
pub fn to_hex(key: &Share) -> Zeroizing<String> {
    unseal_key::encode(key, Format::Hex)
}

/// The whole key file for `officer`: the key on line 1, then comment lines.
pub fn file_text(officer: &str, key: &Share, cluster: Option<&str>) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::new());
    text.push_str(&to_hex(key));
    text.push('\n');
    text.push_str(&format!(
        "# OpenBao unseal key of officer {officer} (x = {}), made by svault bao\n",
        key.x()
    ));
    if let Some(id) = cluster {
        text.push_str(&format!("# cluster {id}\n"));
    }
    text.push_str("# check it offline with: svault bao verify RECORD --key-file THIS-FILE\n");
    text
}

/// Why a key's text could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyTextError {
    /// The key file could not be read.
    #[error("cannot read the key file {path}")]
    Read {
        /// The file.
        path: String,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// A line after the first is neither empty nor a `#` comment.
    #[error(
        "{source_name}: line {line} is neither empty nor a comment starting with '#'; a key \
         file holds the key on line 1 only"
    )]
    ExtraLine {
        /// The file (or "the typed key").
        source_name: String,
        /// 1-based line number.
        line: usize,
    },
    /// The key itself is malformed.
    #[error("{source_name}: {error}")]
    Parse {
        /// The file (or "the typed key").
        source_name: String,
        /// What is wrong (never the key).
        error: unseal_key::ParseError,
    },
    /// The key has the wrong length for OpenBao.
    #[error(
        "{source_name}: the key has {bytes} bytes; an OpenBao unseal key has {} (66 hex \
         characters)",
        KEY_LEN + 1
    )]
    Length {
        /// The file (or "the typed key").
        source_name: String,
        /// Decoded length including the x byte.
        bytes: usize,
    },
}

/// Reads a key from `text` (a key file or a typed line): line 1 the key in hex or
/// base64, later lines empty or comments.
///
/// # Errors
///
/// [`KeyTextError`]; the message never holds the key.
pub fn parse_text(text: &str, source_name: &str) -> Result<Share, KeyTextError> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    for (i, line) in lines.enumerate() {
        let line = line.trim();
        if !(line.is_empty() || line.starts_with('#')) {
            return Err(KeyTextError::ExtraLine {
                source_name: source_name.to_owned(),
                line: i + 2,
            });
        }
    }
    let key = unseal_key::parse(first).map_err(|error| KeyTextError::Parse {
        source_name: source_name.to_owned(),
        error,
    })?;
    if key.y().len() != KEY_LEN {
        return Err(KeyTextError::Length {
            source_name: source_name.to_owned(),
            bytes: key.y().len() + 1,
        });
    }
    Ok(key)
}

/// Reads the key file at `path`.
///
/// # Errors
///
/// [`KeyTextError`].
pub fn read_file(path: &Path) -> Result<Share, KeyTextError> {
    let shown = path.display().to_string();
    let text = Zeroizing::new(
        fs::read_to_string(path).map_err(|source| KeyTextError::Read {
            path: shown.clone(),
            source,
        })?,
    );
    parse_text(&text, &shown)
}

/// Whether `read` is exactly the issued key (constant time on the value).
pub fn same_key(issued: &Share, read: &Share) -> bool {
    issued.x() == read.x() && bool::from(issued.y().ct_eq(read.y()))
}

/// A key that passed the check against RECORD: it is this officer's current key.
pub struct Accepted {
    officer: String,
    key: Share,
}

impl std::fmt::Debug for Accepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Accepted({}, x = {})", self.officer, self.key.x())
    }
}

impl Accepted {
    /// The officer whose key it is.
    pub fn officer(&self) -> &str {
        &self.officer
    }

    /// The key.
    pub fn key(&self) -> &Share {
        &self.key
    }
}

/// Why a key was refused. Each names the key's source (file name or "typed key N")
/// and, when known, the officer; never the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The key has an officer's x but is not their key.
    #[error(
        "{source_name}: this is not officer {officer}'s key (it has their x = {x} but does \
         not match the record's commitment): mistyped, damaged, or a key of another \
         cluster. It was not sent; compare it with {officer}'s written copy"
    )]
    Mismatch {
        /// Where the key came from.
        source_name: String,
        /// The officer whose x it has.
        officer: String,
        /// Its x.
        x: u8,
    },
    /// A key of a split replaced by a rotation.
    #[error(
        "{source_name}: this is officer {officer}'s key from before the rotation on \
         {retired}; it no longer unseals the cluster and was not sent. Use the key issued \
         at that rotation"
    )]
    Retired {
        /// Where the key came from.
        source_name: String,
        /// The officer.
        officer: String,
        /// The rotation's date.
        retired: String,
    },
    /// No officer of the record has this x.
    #[error(
        "{source_name}: not a key of this record (no officer has x = {x}); it was not sent. \
         Check that this is the right record and the right key"
    )]
    NotInRecord {
        /// Where the key came from.
        source_name: String,
        /// Its x.
        x: u8,
    },
    /// The same officer's key twice.
    #[error(
        "{source_name}: officer {officer}'s key was already given ({first}); the same key \
         twice counts once, so nothing was sent. Leave one out"
    )]
    Duplicate {
        /// Where the second copy came from.
        source_name: String,
        /// Where the first came from.
        first: String,
        /// The officer.
        officer: String,
    },
}

/// Checks every key against `record` before anything is sent: each must be an
/// officer's current key, and no officer twice. All keys are checked; the refusals
/// are returned together (none of the keys may then be sent).
///
/// # Errors
///
/// Every [`Refusal`], in input order.
pub fn check_all(
    record: &Record,
    keys: Vec<(String, Share)>,
) -> Result<Vec<Accepted>, Vec<Refusal>> {
    let mut accepted: Vec<(String, Accepted)> = Vec::new();
    let mut refusals = Vec::new();
    for (source_name, key) in keys {
        match record.classify(&key) {
            KeyMatch::Officer(officer) => {
                if let Some((first, _)) = accepted.iter().find(|(_, a)| a.officer == officer) {
                    refusals.push(Refusal::Duplicate {
                        source_name,
                        first: first.clone(),
                        officer,
                    });
                } else {
                    accepted.push((source_name, Accepted { officer, key }));
                }
            }
            KeyMatch::Mismatch { officer } => refusals.push(Refusal::Mismatch {
                source_name,
                officer,
                x: key.x(),
            }),
            KeyMatch::Retired { officer, retired } => refusals.push(Refusal::Retired {
                source_name,
                officer,
                retired,
            }),
            KeyMatch::Unknown => refusals.push(Refusal::NotInRecord {
                source_name,
                x: key.x(),
            }),
        }
    }
    if refusals.is_empty() {
        Ok(accepted.into_iter().map(|(_, a)| a).collect())
    } else {
        Err(refusals)
    }
}

/// Accepts a key issued in this process (the ceremony's own proof step).
pub(crate) fn accepted(officer: &str, key: Share) -> Accepted {
    Accepted {
        officer: officer.to_owned(),
        key,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::super::record::{Cluster, OfficerEntry};
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("officer{i}")).collect()
    }

    #[test]
    fn split_gives_distinct_random_x_and_combines_to_k() {
        let k = [0x3cu8; KEY_LEN];
        let a = split(&k, 3, &names(5)).unwrap();
        let b = split(&k, 3, &names(5)).unwrap();
        let xs: Vec<u8> = a.iter().map(|i| i.key.x()).collect();
        let mut sorted = xs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 5);
        assert!(!xs.contains(&0));
        // Two splits choose different x (a collision of all five is ~1 in 10^11).
        assert_ne!(xs, b.iter().map(|i| i.key.x()).collect::<Vec<_>>());
        for subset in [[0, 1, 2], [0, 3, 4], [1, 2, 4]] {
            let keys: Vec<Share> = subset
                .iter()
                .map(|&i| Share::new(a[i].key.x(), a[i].key.y().to_vec()))
                .collect();
            assert_eq!(&shamir::combine(&keys).unwrap()[..], &k[..]);
        }
        assert!(split(&k, 6, &names(5)).is_err());
    }

    #[test]
    fn key_file_round_trips_and_rejects_stray_lines() {
        let k = [7u8; KEY_LEN];
        let issued = split(&k, 2, &names(2)).unwrap();
        let text = file_text("alice", &issued[0].key, Some("abc"));
        let first = text.lines().next().unwrap();
        assert_eq!(first.len(), 66);
        assert!(
            first
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        let back = parse_text(&text, "alice.key").unwrap();
        assert!(same_key(&issued[0].key, &back));
        let stray = format!("{first}\nextra\n");
        assert!(matches!(
            parse_text(&stray, "f").unwrap_err(),
            KeyTextError::ExtraLine { line: 2, .. }
        ));
        let short = &first[..64];
        let error = parse_text(short, "f").unwrap_err().to_string();
        assert!(error.contains("32 bytes"), "{error}");
        assert!(!error.contains(short));
    }

    #[test]
    fn check_all_names_mismatch_unknown_and_duplicate() {
        let k = [9u8; KEY_LEN];
        let issued = split(&k, 2, &names(3)).unwrap();
        let entries = issued
            .iter()
            .map(|i| OfficerEntry::commit(&i.officer, &i.key))
            .collect();
        let record = Record::new(2, Cluster::default(), entries);
        let copy = |i: usize| Share::new(issued[i].key.x(), issued[i].key.y().to_vec());
        let ok = check_all(&record, vec![("a".into(), copy(0)), ("b".into(), copy(1))]).unwrap();
        assert_eq!(ok[1].officer(), "officer1");

        let mut y = issued[2].key.y().to_vec();
        y[0] ^= 1;
        let unknown_x = (1..=255u8)
            .find(|x| issued.iter().all(|i| i.key.x() != *x))
            .unwrap();
        let refusals = check_all(
            &record,
            vec![
                ("a".into(), copy(0)),
                ("typo".into(), Share::new(issued[2].key.x(), y)),
                ("foreign".into(), Share::new(unknown_x, vec![1; KEY_LEN])),
                ("again".into(), copy(0)),
            ],
        )
        .unwrap_err();
        assert_eq!(refusals.len(), 3);
        assert!(matches!(&refusals[0], Refusal::Mismatch { officer, .. } if officer == "officer2"));
        assert!(matches!(&refusals[1], Refusal::NotInRecord { x, .. } if *x == unknown_x));
        assert!(matches!(&refusals[2], Refusal::Duplicate { first, .. } if first == "a"));
    }
}

/// Why a new officer's key could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddError {
    /// Fewer checked keys than the threshold.
    #[error(
        "{have} key(s) were given but the threshold is {threshold}; give {threshold} officers' keys"
    )]
    TooFew {
        /// Keys given.
        have: usize,
        /// RECORD's threshold.
        threshold: u8,
    },
    /// The name is taken.
    #[error("officer {0} is already in the record; choose another name")]
    NameTaken(String),
    /// Every x is in use.
    #[error("every x coordinate is in use; no officer can be added")]
    NoFreeX,
    /// The keys did not prove to be on one polynomial, or the new key did not.
    #[error("the keys given do not agree with each other ({0}); nothing was written")]
    Inconsistent(String),
}

/// A new key for `officer` on the same polynomial as `keys` (a threshold of officers'
/// keys already checked against `record`), at a random x no officer of the record has.
/// Before returning, every threshold-sized choice of the given keys with the new one
/// is proven to give the same K as the given keys (when more than a threshold were
/// given, they are also proven consistent).
///
/// # Errors
///
/// [`AddError`].
pub fn extend(record: &Record, keys: &[Accepted], officer: &str) -> Result<Issued, AddError> {
    let threshold = record.threshold;
    if keys.len() < usize::from(threshold) {
        return Err(AddError::TooFew {
            have: keys.len(),
            threshold,
        });
    }
    if record.officer(officer).is_some() {
        return Err(AddError::NameTaken(officer.to_owned()));
    }
    let shares: Vec<Share> = keys
        .iter()
        .map(|a| Share::new(a.key.x(), a.key.y().to_vec()))
        .collect();
    let mut free: Vec<u8> = (1..=255u8)
        .filter(|x| record.officers.iter().all(|o| o.x != *x))
        .collect();
    free.shuffle(&mut OsRng);
    let x = *free.first().ok_or(AddError::NoFreeX)?;
    let inconsistent = |e: &dyn std::fmt::Display| AddError::Inconsistent(e.to_string());
    let base = &shares[..usize::from(threshold)];
    let y = shamir::interpolate(base, x).map_err(|e| inconsistent(&e))?;
    let new = Share::new(x, y.to_vec());
    let mut all: Vec<Share> = shares
        .iter()
        .map(|s| Share::new(s.x(), s.y().to_vec()))
        .collect();
    all.push(Share::new(x, y.to_vec()));
    if all.len() > usize::from(threshold) {
        unseal_key::check_set(&all, threshold).map_err(|e| inconsistent(&e))?;
    }
    // The new key with threshold − 1 of the others gives the same K.
    let k = shamir::combine(base).map_err(|e| inconsistent(&e))?;
    let mut with_new: Vec<Share> = base[1..]
        .iter()
        .map(|s| Share::new(s.x(), s.y().to_vec()))
        .collect();
    with_new.push(Share::new(x, y.to_vec()));
    let back = shamir::combine(&with_new).map_err(|e| inconsistent(&e))?;
    if !bool::from(back.as_slice().ct_eq(k.as_slice())) {
        return Err(AddError::Inconsistent("the new key gives another K".into()));
    }
    Ok(Issued {
        officer: officer.to_owned(),
        key: new,
    })
}
