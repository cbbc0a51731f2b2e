//! The split/verify ceremony as UI-free logic: every issued share is typed back by its
//! officer and compared word by word, the set of *re-entered* shares is proven
//! consistent and proven to unseal the real file, and only then does the vault exist.
//!
//! ```text
//! Draft::new(plan) ──issued()──▶ officer copies a share ──▶ verify_entry(issued, typed) ──▶ Verified
//!   every officer's Verified ──prove_set(header, …)──▶ ProvenSet   (extend_group predicts each member)
//!   stage_new(draft, ProvenSet, VAULT) ──▶ NewVault   (a hidden file beside VAULT, opened and
//!                                                     unsealed with every group combination)
//!   NewVault::check_keyslot(officer, passphrase) for each keyslot officer,
//!   NewVault::drill_records(now) when the officers typed their shares (health), then
//!   NewVault::commit() ──hard link, never replacing──▶ VAULT
//! ```
//!
//! The proof types ([`Verified`], [`ProvenSet`], [`NewVault`], [`Proof`]) can only be
//! made by the check they stand for, so a later step cannot be reached without the
//! earlier one. Dropping a [`NewVault`] before [`NewVault::commit`] removes its hidden
//! file: an interrupted or failed ceremony leaves nothing at VAULT.
//!
//! ```
//! use svault::ceremony;
//! use svault::vault::{Draft, Plan, Vault};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("app.svault");
//! let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"]))?;
//! // Each officer types their share back from their own copy.
//! let mut verified = Vec::new();
//! for issued in draft.issued() {
//!     let typed = issued.share.to_words(); // in real life: what the officer typed
//!     verified.push(ceremony::verify_entry(issued, &typed)?);
//! }
//! let proven = ceremony::prove_set(draft.header(), verified)?;
//! let staged = ceremony::stage_new(draft, proven, &path, "scripted")?;
//! assert!(!path.exists()); // nothing at VAULT until the commit
//! staged.commit()?;
//! assert!(Vault::open(&path)?.header().ceremony.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq;

use crate::health::{DrillKind, DrillRecord, LineError};
use crate::share::slip39::{self, Slip39Share};
use crate::vault::{
    Draft, Header, IssuedShare, OpenError, SaveError, Sealed, SubmitError, UnsealError, Unsealed,
    Vault,
};

/// The most group combinations the unseal proof tries (all of them for every layout
/// with up to 7 groups).
pub const MAX_GROUP_COMBINATIONS: usize = 70;

/// A re-entered share differs from the issued one. Only positions are given: the words
/// themselves are never part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mismatch {
    /// Nothing was typed.
    Empty,
    /// A different number of words.
    WordCount {
        /// Words in the issued share.
        expected: usize,
        /// Words typed.
        found: usize,
    },
    /// These word positions (1-based) differ.
    Words {
        /// The positions, in increasing order.
        positions: Vec<usize>,
    },
    /// The text is, word for word, the share issued to another officer: the copies
    /// were swapped (see [`verify_entry_among`]).
    AnotherOfficer {
        /// The officer the share was issued to.
        officer: String,
    },
}

impl Mismatch {
    /// The 1-based word positions that differ (empty for a count mismatch).
    pub fn positions(&self) -> &[usize] {
        match self {
            Mismatch::Words { positions } => positions,
            _ => &[],
        }
    }
}

/// "word 7", "words 3 and 7", "words 1, 4 and 9".
pub fn describe_positions(positions: &[usize]) -> String {
    let list: Vec<String> = positions.iter().map(ToString::to_string).collect();
    match list.as_slice() {
        [] => "no word".into(),
        [one] => format!("word {one}"),
        [init @ .., last] => format!("words {} and {last}", init.join(", ")),
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Empty => f.write_str("nothing was entered"),
            Mismatch::WordCount { expected, found } => write!(
                f,
                "{found} words were entered but the share has {expected}; check for a missing, doubled or split word"
            ),
            Mismatch::Words { positions } => write!(
                f,
                "{} {} not match the issued share",
                describe_positions(positions),
                if positions.len() == 1 { "does" } else { "do" }
            ),
            Mismatch::AnotherOfficer { officer } => write!(
                f,
                "this is the share issued to {officer}: the copies were swapped; each officer must enter their own share"
            ),
        }
    }
}

impl std::error::Error for Mismatch {}

/// A share as its officer typed it back, parsed from that text and equal word for
/// word to the issued share. Made only by [`verify_entry`].
pub struct Verified {
    officer: String,
    share: Slip39Share,
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("officer", &self.officer)
            .finish_non_exhaustive()
    }
}

impl Verified {
    /// The officer.
    pub fn officer(&self) -> &str {
        &self.officer
    }

    /// The share parsed from the re-entered text.
    pub fn share(&self) -> &Slip39Share {
        &self.share
    }
}

/// Compares `typed` with the issued share, word by word. Case and spacing are
/// ignored, and a word may be given by its first four or more letters (SLIP-0039 words
/// are unique in their first four). On a match the share is parsed *from the typed
/// text* (not taken from memory).
///
/// # Errors
///
/// [`Mismatch`] with the differing word positions.
///
/// # Security
///
/// `typed` and the share are secret; only positions leave this function.
pub fn verify_entry(issued: &IssuedShare, typed: &str) -> Result<Verified, Mismatch> {
    let expected = issued.share.to_words();
    let want: Vec<&str> = expected.split(' ').collect();
    let lowered = zeroize::Zeroizing::new(typed.to_lowercase());
    let got: Vec<&str> = lowered.split_whitespace().collect();
    if got.is_empty() {
        return Err(Mismatch::Empty);
    }
    if got.len() != want.len() {
        return Err(Mismatch::WordCount {
            expected: want.len(),
            found: got.len(),
        });
    }
    let positions: Vec<usize> = want
        .iter()
        .zip(&got)
        .enumerate()
        .filter(|(_, (w, g))| !(w == g || (g.len() >= 4 && w.starts_with(**g))))
        .map(|(i, _)| i + 1)
        .collect();
    if !positions.is_empty() {
        return Err(Mismatch::Words { positions });
    }
    let share = slip39::parse(&lowered).map_err(|_| Mismatch::Words {
        positions: (1..=want.len()).collect(),
    })?;
    if !bool::from(share.to_words().as_bytes().ct_eq(expected.as_bytes())) {
        return Err(Mismatch::Words {
            positions: (1..=want.len()).collect(),
        });
    }
    Ok(Verified {
        officer: issued.officer.clone(),
        share,
    })
}

/// [`verify_entry`] against `issued[officer]`, telling a swap apart from a typo: when
/// the text does not match but is exactly the share issued to another officer, the
/// error is [`Mismatch::AnotherOfficer`] naming that officer. An `officer` out of range
/// is [`Mismatch::Empty`] (nothing to compare with).
///
/// # Errors
///
/// As [`verify_entry`], plus [`Mismatch::AnotherOfficer`].
pub fn verify_entry_among(
    issued: &[IssuedShare],
    officer: usize,
    typed: &str,
) -> Result<Verified, Mismatch> {
    let Some(own) = issued.get(officer) else {
        return Err(Mismatch::Empty);
    };
    let mismatch = match verify_entry(own, typed) {
        Ok(verified) => return Ok(verified),
        Err(mismatch) => mismatch,
    };
    let swapped = issued
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != officer)
        .find_map(|(_, other)| verify_entry(other, typed).ok());
    match swapped {
        Some(other) => Err(Mismatch::AnotherOfficer {
            officer: other.officer,
        }),
        None => Err(mismatch),
    }
}

/// Why a ceremony could not finish. Nothing was written at the vault's path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// An officer's share was not re-entered and verified.
    #[error("{officer}'s share was not verified; every officer must type their share back")]
    NotVerified {
        /// The officer.
        officer: String,
    },
    /// A verified share is for an officer the vault does not have.
    #[error("a share was verified for '{officer}', who is not an officer of this vault")]
    UnknownOfficer {
        /// The name.
        officer: String,
    },
    /// A re-entered share does not lie on its group's polynomial.
    #[error(
        "{officer}'s share does not agree with the other shares of group {group}: the set is not consistent; start the ceremony again"
    )]
    Inconsistent {
        /// The officer.
        officer: String,
        /// The group's name.
        group: String,
    },
    /// The consistency check itself failed.
    #[error("the shares of group {group} could not be checked: {reason}")]
    Check {
        /// The group's name.
        group: String,
        /// Why.
        reason: String,
    },
    /// The vault refused a re-entered share.
    #[error("the new vault refuses {officer}'s re-entered share")]
    Refused {
        /// The officer.
        officer: String,
        /// The vault's reason.
        source: SubmitError,
    },
    /// The re-entered shares did not unseal the new vault.
    #[error("the re-entered shares of groups {groups} did not unseal the new vault")]
    Unseal {
        /// The groups used.
        groups: String,
        /// Why.
        source: UnsealError,
    },
    /// A keyslot passphrase does not open its slot in the new vault.
    #[error("the passphrase does not open {officer}'s keyslot in the new vault")]
    Keyslot {
        /// The officer.
        officer: String,
        /// Why.
        source: SubmitError,
    },
    /// A keyslot holds something other than the officer's share.
    #[error("{officer}'s keyslot does not hold {officer}'s share")]
    KeyslotContents {
        /// The officer.
        officer: String,
    },
    /// A keyslot was never checked.
    #[error("{officer}'s keyslot passphrase was not checked")]
    KeyslotNotChecked {
        /// The officer.
        officer: String,
    },
    /// Something is already at the vault's path.
    #[error("{} already exists; choose another path (a vault is never overwritten)", path.display())]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// A file system operation failed.
    #[error("cannot write {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// Writing the hidden file failed.
    #[error(transparent)]
    Save(#[from] SaveError),
    /// Reading the hidden file back failed.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The written bytes did not parse.
    #[error("the new vault does not read back: {0}")]
    ReadBack(String),
    /// A drill record could not be made for the officer.
    #[error("no drill record could be made for {officer}")]
    Drill {
        /// The officer.
        officer: String,
        /// Why.
        source: LineError,
    },
    /// Keyslot holders alone would meet the threshold (see [`check_keyslot_quorum`]).
    #[error(
        "keyslot holders alone would meet the threshold ({}): the vault file and their passphrases would open everything, backups included, without any share; give fewer officers a keyslot, or --allow-keyslot-quorum to accept this",
        officers.join(", ")
    )]
    KeyslotQuorum {
        /// Officers who together would unseal with keyslots alone.
        officers: Vec<String>,
    },
    /// A keyslot passphrase is too easy to guess (see [`check_passphrase`]).
    #[error("{officer}'s keyslot passphrase is too easy to guess ({reason})")]
    WeakPassphrase {
        /// The officer.
        officer: String,
        /// zxcvbn's score and its warning and suggestions (never the passphrase).
        reason: String,
    },
}

/// The least zxcvbn score a keyslot passphrase needs: 3, an estimated 10^8 guesses or
/// more. Anyone with the vault file can guess offline, slowed only by Argon2id.
pub const MIN_PASSPHRASE_SCORE: u8 = 3;

/// Refuses a keyslot layout in which keyslot holders alone meet the threshold, unless
/// `allow` (the operator accepted it: `--allow-keyslot-quorum`). `quorum` is what
/// [`Header::keyslot_quorum`] or [`crate::vault::Plan::keyslot_quorum`] found.
///
/// # Errors
///
/// [`CeremonyError::KeyslotQuorum`], naming the officers.
pub fn check_keyslot_quorum(quorum: Option<Vec<&str>>, allow: bool) -> Result<(), CeremonyError> {
    match quorum {
        Some(officers) if !allow => Err(CeremonyError::KeyslotQuorum {
            officers: officers.into_iter().map(str::to_owned).collect(),
        }),
        _ => Ok(()),
    }
}

/// Estimates how guessable `passphrase` is with zxcvbn, taking `context` (officer and
/// group names, the vault's file name) as words an attacker would try first, and
/// refuses a score below [`MIN_PASSPHRASE_SCORE`] with zxcvbn's feedback.
///
/// # Errors
///
/// [`CeremonyError::WeakPassphrase`]; its message holds zxcvbn's warning and
/// suggestions, never the passphrase.
///
/// # Security
///
/// zxcvbn looks at the first 100 characters and works on copies of them that it does
/// not wipe; the ceremony is a short-lived process with core dumps off.
pub fn check_passphrase(
    officer: &str,
    passphrase: &[u8],
    context: &[&str],
) -> Result<(), CeremonyError> {
    let text = zeroize::Zeroizing::new(String::from_utf8_lossy(passphrase).into_owned());
    let mut inputs: Vec<&str> = vec![officer, "svault", "vault", "keyslot", "passphrase"];
    inputs.extend_from_slice(context);
    let estimate = zxcvbn::zxcvbn(&text, &inputs);
    let score = u8::from(estimate.score());
    if score >= MIN_PASSPHRASE_SCORE {
        return Ok(());
    }
    let mut reason = Vec::new();
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            reason.push(warning.to_string());
        }
        reason.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    if reason.is_empty() {
        reason.push("Add another word or two. Uncommon words are better.".into());
    }
    Err(CeremonyError::WeakPassphrase {
        officer: officer.to_owned(),
        reason: format!(
            "strength {score} of 4, at least {MIN_PASSPHRASE_SCORE} needed: {}",
            reason.join(" ")
        ),
    })
}

/// Every officer's re-entered share, proven to lie on one split: in each group, the
/// first threshold of shares predict every other member's share exactly. Made only by
/// [`prove_set`].
pub struct ProvenSet {
    shares: Vec<Verified>,
}

impl fmt::Debug for ProvenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvenSet")
            .field("officers", &self.officers())
            .finish()
    }
}

impl ProvenSet {
    /// The officers, in header order.
    pub fn officers(&self) -> Vec<String> {
        self.shares.iter().map(|v| v.officer.clone()).collect()
    }

    /// The re-entered shares.
    pub fn shares(&self) -> &[Verified] {
        &self.shares
    }

    fn share_of(&self, officer: &str) -> Option<&Slip39Share> {
        self.shares
            .iter()
            .find(|v| v.officer == officer)
            .map(|v| &v.share)
    }
}

fn same_share(a: &Slip39Share, b: &Slip39Share) -> bool {
    bool::from(a.to_words().as_bytes().ct_eq(b.to_words().as_bytes()))
}

fn copy(share: &Slip39Share) -> Result<Slip39Share, String> {
    slip39::parse(&share.to_words()).map_err(|e| e.to_string())
}

/// Proves the re-entered set consistent: one verified share per officer of `header`,
/// and in every group the first threshold of them (checked by their digest) predict,
/// through [`slip39::extend_group`], every other member's share word for word. That is
/// O(n·t) and shows every threshold-subset of a group gives the same group secret.
///
/// # Errors
///
/// [`CeremonyError::NotVerified`], [`CeremonyError::UnknownOfficer`],
/// [`CeremonyError::Inconsistent`] naming the officer, [`CeremonyError::Check`].
pub fn prove_set(header: &Header, verified: Vec<Verified>) -> Result<ProvenSet, CeremonyError> {
    let mut by_officer: Vec<Option<Verified>> = header.officers.iter().map(|_| None).collect();
    for v in verified {
        let Some((index, _)) = header.officer_named(&v.officer) else {
            return Err(CeremonyError::UnknownOfficer { officer: v.officer });
        };
        if let Some(slot) = by_officer.get_mut(index) {
            *slot = Some(v);
        }
    }
    let mut shares = Vec::with_capacity(by_officer.len());
    for (officer, v) in header.officers.iter().zip(by_officer) {
        let v = v.ok_or_else(|| CeremonyError::NotVerified {
            officer: officer.name.clone(),
        })?;
        shares.push(v);
    }
    for (g, group) in header.split.groups.iter().enumerate() {
        let members: Vec<&Verified> = shares
            .iter()
            .filter(|v| usize::from(v.share.group_index()) == g)
            .collect();
        let t = usize::from(group.member_threshold);
        if t <= 1 || members.len() <= t {
            // Threshold 1 (a single member) or exactly the threshold: the unseal proof
            // uses every one of these shares, and their digest is checked there.
            continue;
        }
        let check = |reason: String| CeremonyError::Check {
            group: group.name.clone(),
            reason,
        };
        let base: Vec<Slip39Share> = members[..t]
            .iter()
            .map(|v| copy(&v.share))
            .collect::<Result<_, _>>()
            .map_err(check)?;
        for other in &members[t..] {
            let predicted = slip39::extend_group(&base, other.share.member_index())
                .map_err(|e| check(e.to_string()))?;
            if !same_share(&predicted, &other.share) {
                return Err(CeremonyError::Inconsistent {
                    officer: other.officer.clone(),
                    group: group.name.clone(),
                });
            }
        }
    }
    Ok(ProvenSet { shares })
}

/// Every way of choosing `k` of `0..n`, in order, at most `limit`.
fn combinations(n: usize, k: usize, limit: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    if k == 0 || k > n {
        return out;
    }
    let mut pick: Vec<usize> = (0..k).collect();
    loop {
        out.push(pick.clone());
        if out.len() >= limit {
            return out;
        }
        // Advance the rightmost index that can still move.
        let Some(i) = (0..k).rev().find(|&i| pick[i] < n - k + i) else {
            return out;
        };
        pick[i] += 1;
        for j in i + 1..k {
            pick[j] = pick[j - 1] + 1;
        }
    }
}

/// A vault (as written, or as the next save would write it) opened from its bytes and
/// unsealed with the re-entered shares: every share identified as its officer's by the
/// header's commitments, and a real unseal of the payload for every combination of
/// groups (up to [`MAX_GROUP_COMBINATIONS`]) with the first threshold of each group's
/// re-entered shares. Keyslots are then checked one by one.
pub struct Proof {
    sealed: Sealed,
    proven: ProvenSet,
    keyslots_pending: BTreeSet<String>,
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proof")
            .field("officers", &self.proven.officers())
            .field("keyslots_pending", &self.keyslots_pending)
            .finish()
    }
}

impl Proof {
    /// Proves `proven` against `sealed`.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::Refused`] naming the officer, [`CeremonyError::Unseal`].
    pub fn new(mut sealed: Sealed, proven: ProvenSet) -> Result<Proof, CeremonyError> {
        for v in &proven.shares {
            // Identified by the commitment, and the drill public key written for the
            // officer is the one their re-entered share derives (FORMAT.md §4.1).
            let (officer, _) =
                sealed
                    .drill_key(&v.share)
                    .map_err(|source| CeremonyError::Refused {
                        officer: v.officer.clone(),
                        source,
                    })?;
            if officer.name != v.officer {
                return Err(CeremonyError::UnknownOfficer {
                    officer: v.officer.clone(),
                });
            }
        }
        let header = sealed.header().clone();
        let split = &header.split;
        let combos = combinations(
            split.groups.len(),
            usize::from(split.group_threshold),
            MAX_GROUP_COMBINATIONS,
        );
        for combo in combos {
            sealed.reset();
            let mut names = Vec::new();
            for &g in &combo {
                let Some(group) = split.groups.get(g) else {
                    continue;
                };
                names.push(group.name.clone());
                let members = proven
                    .shares
                    .iter()
                    .filter(|v| usize::from(v.share.group_index()) == g)
                    .take(usize::from(group.member_threshold));
                for v in members {
                    let share = copy(&v.share).map_err(|_| CeremonyError::NotVerified {
                        officer: v.officer.clone(),
                    })?;
                    sealed
                        .submit(share)
                        .map_err(|source| CeremonyError::Refused {
                            officer: v.officer.clone(),
                            source,
                        })?;
                }
            }
            sealed.unseal().map_err(|source| CeremonyError::Unseal {
                groups: names.join(", "),
                source,
            })?;
        }
        sealed.reset();
        let keyslots_pending = header
            .officers
            .iter()
            .filter(|o| o.slot.is_some())
            .map(|o| o.name.clone())
            .collect();
        Ok(Proof {
            sealed,
            proven,
            keyslots_pending,
        })
    }

    /// Officers whose keyslot passphrase is still to be checked.
    pub fn keyslots_pending(&self) -> Vec<String> {
        self.keyslots_pending.iter().cloned().collect()
    }

    /// One drill record ([`DrillKind::Share`], dated `time`) per re-entered share, signed
    /// with the drill key that share derives, for the vault this proof checked (its id
    /// and split). Append them with [`crate::health::files::append`] once the vault is
    /// in place.
    ///
    /// Only a share its officer typed back from their own copy is a drill: a caller
    /// whose shares were re-read from files it wrote itself should record nothing.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::Refused`] (cannot happen for a proof that was made: the same
    /// shares were checked against the same header), [`CeremonyError::Drill`].
    pub fn drill_records(&self, time: u64) -> Result<Vec<DrillRecord>, CeremonyError> {
        let header = self.sealed.header();
        self.proven
            .shares
            .iter()
            .map(|v| {
                let (officer, key) =
                    self.sealed
                        .drill_key(&v.share)
                        .map_err(|source| CeremonyError::Refused {
                            officer: v.officer.clone(),
                            source,
                        })?;
                DrillRecord::sign(
                    header.vault_id.0,
                    header.split.identifier,
                    &officer.name,
                    DrillKind::Share,
                    time,
                    &key,
                )
                .map_err(|source| CeremonyError::Drill {
                    officer: v.officer.clone(),
                    source,
                })
            })
            .collect()
    }

    /// Opens `officer`'s keyslot in the vault with `passphrase` and checks that it holds
    /// the share they re-entered.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::Keyslot`] (wrong passphrase: the caller may ask again),
    /// [`CeremonyError::KeyslotContents`].
    pub fn check_keyslot(&mut self, officer: &str, passphrase: &[u8]) -> Result<(), CeremonyError> {
        let share = self
            .sealed
            .open_slot(officer, passphrase)
            .map_err(|source| CeremonyError::Keyslot {
                officer: officer.to_owned(),
                source,
            })?;
        let matches = self
            .proven
            .share_of(officer)
            .is_some_and(|s| same_share(s, &share));
        if !matches {
            return Err(CeremonyError::KeyslotContents {
                officer: officer.to_owned(),
            });
        }
        self.keyslots_pending.remove(officer);
        Ok(())
    }

    fn finished(&self) -> Result<(), CeremonyError> {
        match self.keyslots_pending.iter().next() {
            Some(officer) => Err(CeremonyError::KeyslotNotChecked {
                officer: officer.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// A new vault written to a hidden file beside its path and proven; not yet at its
/// path. Dropped without [`NewVault::commit`], the hidden file is removed.
#[derive(Debug)]
pub struct NewVault {
    hidden: PathBuf,
    target: PathBuf,
    proof: Proof,
    committed: bool,
}

fn hidden_path(target: &Path) -> PathBuf {
    let tag: [u8; 8] = rand::random();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.ceremony-{hex}"))
}

/// Writes `draft` (with the ceremony record `method` and the proven officers) to a
/// hidden file beside `path`, opens it with [`Vault::open`] and proves it with the
/// re-entered shares ([`Proof::new`]).
///
/// # Errors
///
/// [`CeremonyError::Exists`] when `path` exists, the errors of [`Proof::new`], and
/// file errors. Nothing is left behind on error.
pub fn stage_new(
    draft: Draft,
    proven: ProvenSet,
    path: impl AsRef<Path>,
    method: &str,
) -> Result<NewVault, CeremonyError> {
    let target = path.as_ref().to_owned();
    if target.symlink_metadata().is_ok() {
        return Err(CeremonyError::Exists { path: target });
    }
    let hidden = hidden_path(&target);
    let written = draft.write_new(&hidden, Some((method, proven.officers())));
    let cleanup = |e: CeremonyError| {
        let _ = fs::remove_file(&hidden);
        e
    };
    drop(written.map_err(|e| cleanup(e.into()))?);
    let sealed = Vault::open(&hidden).map_err(|e| cleanup(e.into()))?;
    let proof = Proof::new(sealed, proven).map_err(cleanup)?;
    Ok(NewVault {
        hidden,
        target,
        proof,
        committed: false,
    })
}

impl NewVault {
    /// See [`Proof::keyslots_pending`].
    pub fn keyslots_pending(&self) -> Vec<String> {
        self.proof.keyslots_pending()
    }

    /// See [`Proof::check_keyslot`].
    ///
    /// # Errors
    ///
    /// As [`Proof::check_keyslot`].
    pub fn check_keyslot(&mut self, officer: &str, passphrase: &[u8]) -> Result<(), CeremonyError> {
        self.proof.check_keyslot(officer, passphrase)
    }

    /// The header as written.
    pub fn header(&self) -> &Header {
        self.proof.sealed.header()
    }

    /// See [`Proof::drill_records`].
    ///
    /// # Errors
    ///
    /// As [`Proof::drill_records`].
    pub fn drill_records(&self, time: u64) -> Result<Vec<DrillRecord>, CeremonyError> {
        self.proof.drill_records(time)
    }

    /// Puts the proven file at the vault's path, never replacing anything there (a hard
    /// link, which fails if the path exists), then removes the hidden name and syncs
    /// the directory.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::KeyslotNotChecked`], [`CeremonyError::Exists`],
    /// [`CeremonyError::Io`]. On error nothing is at the path.
    pub fn commit(mut self) -> Result<PathBuf, CeremonyError> {
        self.proof.finished()?;
        match fs::hard_link(&self.hidden, &self.target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(CeremonyError::Exists {
                    path: self.target.clone(),
                });
            }
            Err(source) => {
                return Err(CeremonyError::Io {
                    path: self.target.clone(),
                    source,
                });
            }
        }
        self.committed = true;
        let _ = fs::remove_file(&self.hidden);
        let dir = match self.target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(self.target.clone())
    }
}

impl Drop for NewVault {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.hidden);
        }
    }
}

/// Proves a rekeyed (or otherwise changed) vault before it is saved: records the
/// ceremony in its header, then builds a [`Proof`] from the bytes the next save would
/// write.
///
/// # Errors
///
/// As [`Proof::new`]; [`CeremonyError::Save`] when it cannot be encoded.
pub fn prove_unsaved(
    vault: &mut Unsealed,
    proven: ProvenSet,
    method: &str,
) -> Result<Proof, CeremonyError> {
    vault.set_ceremony(method, proven.officers());
    let bytes = vault.to_bytes()?;
    let sealed = Sealed::from_bytes(bytes).map_err(|e| CeremonyError::ReadBack(e.to_string()))?;
    Proof::new(sealed, proven)
}

/// Saves a vault proven by [`prove_unsaved`] (the library keeps the previous file as
/// `VAULT.bak`).
///
/// # Errors
///
/// [`CeremonyError::KeyslotNotChecked`], [`CeremonyError::Save`].
pub fn save_proven(vault: &mut Unsealed, proof: &Proof) -> Result<(), CeremonyError> {
    proof.finished()?;
    vault.save()?;
    Ok(())
}

/// Checks a share added by [`Unsealed::add_officer`], as re-entered, against the
/// vault as the next save would write it: it must be identified as the new officer's
/// by the header's commitment, and, with `others` (shares of the same group already in
/// hand, at least threshold − 1), take part in a real unseal.
///
/// # Errors
///
/// [`CeremonyError::Refused`], [`CeremonyError::UnknownOfficer`],
/// [`CeremonyError::Unseal`].
pub fn prove_added(
    vault: &Unsealed,
    verified: &Verified,
    others: &[Slip39Share],
) -> Result<(), CeremonyError> {
    let bytes = vault.to_bytes()?;
    let mut sealed =
        Sealed::from_bytes(bytes).map_err(|e| CeremonyError::ReadBack(e.to_string()))?;
    let refused = |source| CeremonyError::Refused {
        officer: verified.officer.clone(),
        source,
    };
    let officer = sealed.identify(&verified.share).map_err(refused)?;
    if officer.name != verified.officer {
        return Err(CeremonyError::UnknownOfficer {
            officer: verified.officer.clone(),
        });
    }
    let header = sealed.header().clone();
    let g = verified.share.group_index();
    let Some(group) = header.split.groups.get(usize::from(g)) else {
        return Ok(());
    };
    let t = usize::from(group.member_threshold);
    let peers: Vec<&Slip39Share> = others
        .iter()
        .filter(|s| s.group_index() == g && s.member_index() != verified.share.member_index())
        .take(t.saturating_sub(1))
        .collect();
    if peers.len() + 1 < t {
        return Ok(());
    }
    sealed
        .submit(
            copy(&verified.share).map_err(|_| CeremonyError::NotVerified {
                officer: verified.officer.clone(),
            })?,
        )
        .map_err(refused)?;
    for p in peers {
        if let Ok(share) = copy(p) {
            sealed.submit(share).map_err(refused)?;
        }
    }
    // Other groups, if the layout needs several: the first complete ones in hand.
    if !sealed.progress().is_complete() {
        for s in others.iter().filter(|s| s.group_index() != g) {
            if let Ok(share) = copy(s) {
                let _ = sealed.submit(share);
            }
        }
    }
    if !sealed.progress().is_complete() {
        return Ok(());
    }
    sealed.unseal().map_err(|source| CeremonyError::Unseal {
        groups: group.name.clone(),
        source,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::vault::Plan;

    #[test]
    fn weak_passphrases_are_refused_with_zxcvbn_feedback_and_never_quoted() {
        for weak in ["letmein", "erin1234", "qwertyuiop", "erin erin", "app2026"] {
            let e = check_passphrase("erin", weak.as_bytes(), &["app"]).unwrap_err();
            let text = e.to_string();
            assert!(
                text.starts_with("erin's keyslot passphrase is too easy to guess"),
                "{text}"
            );
            assert!(text.contains(": "), "a reason is given: {text}");
            assert!(!text.contains(weak), "the passphrase is not quoted: {text}");
        }
        // The officer's own name counts for nothing.
        assert!(check_passphrase("bartholomew", b"bartholomew", &[]).is_err());
        for strong in [
            "correct horse battery staple",
            "tangerine vortex quiltwork 1987",
        ] {
            check_passphrase("erin", strong.as_bytes(), &["app"]).unwrap();
        }
    }

    #[test]
    fn keyslot_quorum_is_refused_unless_allowed() {
        let e = check_keyslot_quorum(Some(vec!["alice", "erin"]), false).unwrap_err();
        assert!(e.to_string().contains("(alice, erin)"), "{e}");
        check_keyslot_quorum(Some(vec!["alice", "erin"]), true).unwrap();
        check_keyslot_quorum(None, false).unwrap();
    }

    #[test]
    fn positions_read_as_english() {
        assert_eq!(describe_positions(&[7]), "word 7");
        assert_eq!(describe_positions(&[3, 7]), "words 3 and 7");
        assert_eq!(describe_positions(&[1, 4, 9]), "words 1, 4 and 9");
    }

    #[test]
    fn combinations_are_all_listed() {
        assert_eq!(combinations(4, 2, 100).len(), 6);
        assert_eq!(combinations(3, 3, 100), vec![vec![0, 1, 2]]);
        assert_eq!(combinations(16, 8, 70).len(), 70);
    }

    #[test]
    fn a_changed_word_is_located() {
        let draft = Draft::new(&Plan::simple(2, &["a", "b", "c"])).unwrap();
        let issued = &draft.issued()[0];
        let words = issued.share.to_words();
        let mut list: Vec<&str> = words.split(' ').collect();
        let other = if list[6] == "academic" {
            "acid"
        } else {
            "academic"
        };
        list[6] = other;
        let err = verify_entry(issued, &list.join(" ")).unwrap_err();
        assert_eq!(err.positions(), &[7]);
        assert_eq!(err.to_string(), "word 7 does not match the issued share");
        // Prefixes of four letters and odd spacing/case are fine.
        let short: Vec<String> = words
            .split(' ')
            .map(|w| w.chars().take(4).collect::<String>().to_uppercase())
            .collect();
        assert!(verify_entry(issued, &format!("  {}\n", short.join("   "))).is_ok());
        assert_eq!(verify_entry(issued, "").unwrap_err(), Mismatch::Empty);
    }

    #[test]
    fn an_unverified_officer_stops_the_proof() {
        let draft = Draft::new(&Plan::simple(2, &["a", "b", "c"])).unwrap();
        let verified: Vec<Verified> = draft.issued()[..2]
            .iter()
            .map(|i| verify_entry(i, &i.share.to_words()).unwrap())
            .collect();
        let err = prove_set(draft.header(), verified).unwrap_err();
        assert!(matches!(err, CeremonyError::NotVerified { ref officer } if officer == "c"));
    }

    #[test]
    fn groups_are_proven_in_every_combination() {
        use crate::vault::{GroupPlan, OfficerPlan, SlotParams};
        let group = |name: &str, t: u8, officers: &[&str]| GroupPlan {
            name: name.into(),
            member_threshold: t,
            officers: officers
                .iter()
                .map(|n| OfficerPlan {
                    name: (*n).into(),
                    keyslot: None,
                })
                .collect(),
        };
        let plan = Plan {
            group_threshold: 2,
            groups: vec![
                group("ops", 2, &["a", "b", "c"]),
                group("board", 1, &["d"]),
                group("legal", 2, &["e", "f"]),
            ],
            secret_bytes: 16,
            slot_params: SlotParams::default(),
        };
        let draft = Draft::new(&plan).unwrap();
        let verified: Vec<Verified> = draft
            .issued()
            .iter()
            .map(|i| verify_entry(i, &i.share.to_words()).unwrap())
            .collect();
        let proven = prove_set(draft.header(), verified).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v");
        let staged = stage_new(draft, proven, &path, "scripted").unwrap();
        assert!(!path.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(staged);
        // Dropped before commit: nothing left at all.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
