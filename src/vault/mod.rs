//! The encrypted credential vault: one file holding an application's credentials,
//! sealed under a master secret that exists only as officers' SLIP-0039 shares.
//!
//! ```text
//! Vault::open(path) ──▶ Sealed ──submit(share) / submit_passphrase(officer, pass)──▶ Progress
//!                         │        each checked against its officer's commitment
//!                         │ unseal() once the threshold is met
//!                         ▼
//!                      Unsealed ── get / set / remove / list ── save() (atomic, locked)
//! ```
//!
//! The file format is specified in `docs/FORMAT.md`; the [`format` module](mod@format) implements it.
//!
//! ```
//! use svault::secret::SecretBytes;
//! use svault::vault::{Draft, Plan, Vault};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("app.svault");
//!
//! // The ceremony's end: a 2-of-3 split, written once every share is verified.
//! let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"]))?;
//! let words: Vec<String> = draft.issued().iter().map(|i| i.share.to_words().to_string()).collect();
//! let mut vault = draft.write_new(&path, None)?;
//! vault.set("db/password", SecretBytes::from_slice(b"hunter2"))?;
//! vault.save()?;
//!
//! // Boot: open, let two officers submit, unseal.
//! let mut sealed = Vault::open(&path)?;
//! let progress = sealed.submit_text(&words[2])?;
//! assert_eq!(progress.to_string(), "1 of 2, need 1 more");
//! assert!(sealed.submit_text(&words[2]).is_err()); // a duplicate is refused
//! sealed.submit_text(&words[0])?;
//! let vault = sealed.unseal()?;
//! assert_eq!(vault.get("db/password").map(|v| v.expose()), Some(&b"hunter2"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod crypto;
pub mod drill;
mod error;
mod file;
pub mod format;
mod payload;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub use crypto::SlotParams;
pub use drill::DrillKey;
pub use error::{NameError, OpenError, PlanError, SaveError, SubmitError, UnsealError};
pub use file::backup_path;
pub use format::{FormatError, Header, Officer};
pub use payload::{PayloadError, valid_name};

use crate::secret::SecretBytes;
use crate::share::slip39::{
    self, GenerateOptions, GroupSpec, MasterSecret, Passphrase, Slip39Share,
};
use format::{Commitment, Group, Hex, HexVec, PayloadParams, RetiredSplit, Slot, Split};
use payload::Credential;

/// Entry points for vault files.
#[derive(Debug)]
pub enum Vault {}

impl Vault {
    /// Reads the vault at `path` and parses its header; the payload stays sealed.
    ///
    /// # Errors
    ///
    /// [`OpenError::Io`] when the file cannot be read, is not a regular file, or group
    /// or others may write it; [`OpenError::Format`] when it is
    /// not a vault, is damaged (with the byte offset or field) or is from a newer
    /// version (with both version numbers). The file is never changed.
    pub fn open(path: impl AsRef<Path>) -> Result<Sealed, OpenError> {
        let path = path.as_ref();
        let (bytes, _) = file::read(path).map_err(|source| OpenError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut sealed = Sealed::from_bytes(bytes).map_err(|source| OpenError::Format {
            path: path.to_owned(),
            source,
            backup: existing_backup(path),
        })?;
        sealed.path = Some(path.to_owned());
        Ok(sealed)
    }
}

fn existing_backup(path: &Path) -> Option<PathBuf> {
    let backup = backup_path(path);
    backup.exists().then_some(backup)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How far unsealing has come: per group, shares entered against its threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Groups needed.
    pub group_threshold: u8,
    /// Per group, in group order.
    pub groups: Vec<GroupProgress>,
}

/// One group's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupProgress {
    /// The group's name.
    pub name: String,
    /// Shares entered.
    pub have: u8,
    /// Its member threshold.
    pub need: u8,
    /// Officers whose shares were entered, in entry order.
    pub officers: Vec<String>,
}

impl Progress {
    /// Groups with enough shares.
    pub fn groups_complete(&self) -> usize {
        self.groups.iter().filter(|g| g.have >= g.need).count()
    }

    /// Whether the vault can be unsealed.
    pub fn is_complete(&self) -> bool {
        self.groups_complete() >= usize::from(self.group_threshold)
    }
}

impl fmt::Display for Progress {
    /// "2 of 3, need 1 more" for one group; per group and overall for several.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = &self.groups[..] {
            let more = only.need.saturating_sub(only.have);
            return if more == 0 {
                write!(f, "{} of {}, ready to unseal", only.have, only.need)
            } else {
                write!(f, "{} of {}, need {more} more", only.have, only.need)
            };
        }
        for (i, g) in self.groups.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let done = if g.have >= g.need { " (complete)" } else { "" };
            write!(f, "{sep}group {}: {} of {}{done}", g.name, g.have, g.need)?;
        }
        let complete = self.groups_complete();
        let needed = usize::from(self.group_threshold);
        if complete >= needed {
            write!(
                f,
                "; {complete} of {needed} groups complete, ready to unseal"
            )
        } else {
            write!(
                f,
                "; {complete} of {needed} groups complete, need {} more",
                needed - complete
            )
        }
    }
}

/// A vault whose header has been read and whose payload is still sealed. Shares and
/// keyslot passphrases are submitted one at a time, each checked on entry.
pub struct Sealed {
    path: Option<PathBuf>,
    version: u32,
    bytes: Vec<u8>,
    authenticated_len: usize,
    header: Header,
    submitted: Vec<(usize, Slip39Share)>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("path", &self.path)
            .field("progress", &self.progress())
            .finish()
    }
}

impl Sealed {
    /// Parses a vault from its bytes (no file; it cannot be saved).
    ///
    /// # Errors
    ///
    /// [`FormatError`] naming the damaged part.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Sealed, FormatError> {
        let framed = format::frame(&bytes)?;
        let header = format::parse_header(&framed)?;
        let authenticated_len = framed.authenticated.len();
        Ok(Sealed {
            path: None,
            version: framed.version,
            bytes,
            authenticated_len,
            header,
            submitted: Vec::new(),
        })
    }

    /// The readable header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The path the vault was opened from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file's format version (1 or 2; FORMAT.md §1). A format-1 file is written as
    /// format 2 at its next save.
    pub fn format_version(&self) -> u32 {
        self.version
    }

    /// The drill key of the officer `share` belongs to: the share is checked like
    /// [`Sealed::identify`] (split, position, commitment), the key derived from it
    /// (FORMAT.md §4.1) and, when the header holds the officer's drill public key,
    /// compared with it. Nothing is submitted. For a keyslot, open it first with
    /// [`Sealed::open_slot`].
    ///
    /// # Errors
    ///
    /// The errors of [`Sealed::identify`]; [`SubmitError::DrillKeyMismatch`] when the
    /// header holds another public key for the officer.
    pub fn drill_key(&self, share: &Slip39Share) -> Result<(&Officer, DrillKey), SubmitError> {
        let (_, officer) = identify(&self.header, share)?;
        let key = DrillKey::derive(share, &self.header.vault_id.0, &officer.name);
        if let Some(stored) = &officer.drill_key
            && stored.0 != key.public_bytes()
        {
            return Err(SubmitError::DrillKeyMismatch {
                officer: officer.name.clone(),
            });
        }
        Ok((officer, key))
    }

    /// Which officer `share` belongs to, checked against the header alone: the split,
    /// the position and the commitment. Nothing is submitted (the verify drill).
    ///
    /// # Errors
    ///
    /// [`SubmitError::OtherVault`], [`SubmitError::OlderSplit`],
    /// [`SubmitError::SplitMismatch`], [`SubmitError::NoSuchMember`],
    /// [`SubmitError::CommitmentMismatch`].
    pub fn identify(&self, share: &Slip39Share) -> Result<&Officer, SubmitError> {
        identify(&self.header, share).map(|(_, officer)| officer)
    }

    /// Opens `officer`'s keyslot with `passphrase` and returns the share inside,
    /// checked like [`Sealed::identify`]. Nothing is submitted.
    ///
    /// # Errors
    ///
    /// [`SubmitError::NoSuchOfficer`], [`SubmitError::NoSlot`],
    /// [`SubmitError::WrongPassphrase`], [`SubmitError::SlotUnusable`], and the
    /// errors of [`Sealed::identify`].
    pub fn open_slot(&self, officer: &str, passphrase: &[u8]) -> Result<Slip39Share, SubmitError> {
        let (_, share) = open_slot(&self.header, officer, passphrase)?;
        Ok(share)
    }

    /// Submits a share. On success returns the new progress.
    ///
    /// # Errors
    ///
    /// The errors of [`Sealed::identify`], and [`SubmitError::AlreadySubmitted`].
    /// Progress is unchanged by any error.
    pub fn submit(&mut self, share: Slip39Share) -> Result<Progress, SubmitError> {
        let (index, _) = identify(&self.header, &share)?;
        self.accept(index, share)
    }

    /// Parses share words and submits the share.
    ///
    /// # Errors
    ///
    /// [`SubmitError::Parse`] (which word, and a one-word hint when there is exactly
    /// one), and the errors of [`Sealed::submit`].
    pub fn submit_text(&mut self, words: &str) -> Result<Progress, SubmitError> {
        self.submit(slip39::parse(words)?)
    }

    /// Opens `officer`'s keyslot and submits the share inside.
    ///
    /// # Errors
    ///
    /// The errors of [`Sealed::open_slot`] and [`Sealed::submit`].
    pub fn submit_passphrase(
        &mut self,
        officer: &str,
        passphrase: &[u8],
    ) -> Result<Progress, SubmitError> {
        let (index, share) = open_slot(&self.header, officer, passphrase)?;
        self.accept(index, share)
    }

    fn accept(&mut self, index: usize, share: Slip39Share) -> Result<Progress, SubmitError> {
        if self.submitted.iter().any(|(i, _)| *i == index) {
            let officer = self
                .header
                .officers
                .get(index)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            return Err(SubmitError::AlreadySubmitted { officer });
        }
        self.submitted.push((index, share));
        Ok(self.progress())
    }

    /// Discards every submitted share.
    pub fn reset(&mut self) {
        self.submitted.clear();
    }

    /// Discards the share submitted for `officer`, if there is one; the others stay.
    /// Returns whether one was discarded.
    pub fn withdraw(&mut self, officer: &str) -> bool {
        let Some((index, _)) = self.header.officer_named(officer) else {
            return false;
        };
        let before = self.submitted.len();
        self.submitted.retain(|(i, _)| *i != index);
        self.submitted.len() != before
    }

    /// Progress so far.
    pub fn progress(&self) -> Progress {
        let groups = self
            .header
            .split
            .groups
            .iter()
            .enumerate()
            .map(|(g, group)| {
                let officers: Vec<String> = self
                    .submitted
                    .iter()
                    .filter_map(|(i, _)| self.header.officers.get(*i))
                    .filter(|o| usize::from(o.group) == g)
                    .map(|o| o.name.clone())
                    .collect();
                GroupProgress {
                    name: group.name.clone(),
                    have: u8::try_from(officers.len()).unwrap_or(u8::MAX),
                    need: group.member_threshold,
                    officers,
                }
            })
            .collect();
        Progress {
            group_threshold: self.header.split.group_threshold,
            groups,
        }
    }

    /// Combines the submitted shares, derives the payload key and opens the payload.
    ///
    /// # Errors
    ///
    /// [`UnsealError::NotEnough`] (with the progress), [`UnsealError::Authentication`]
    /// when the file was changed or damaged (with the backup's path),
    /// [`UnsealError::Recover`] and [`UnsealError::Payload`] (should never happen:
    /// each share matched its commitment and the payload authenticated).
    pub fn unseal(&self) -> Result<Unsealed, UnsealError> {
        let progress = self.progress();
        if !progress.is_complete() {
            return Err(UnsealError::NotEnough {
                progress: progress.to_string(),
            });
        }
        // SLIP-0039 recovery takes exactly the threshold: the first complete groups,
        // and in each the first shares entered.
        let split = &self.header.split;
        let mut chosen = Vec::new();
        let mut groups_taken = 0;
        for (g, group) in split.groups.iter().enumerate() {
            if groups_taken == split.group_threshold {
                break;
            }
            let members: Vec<&Slip39Share> = self
                .submitted
                .iter()
                .filter(|(i, _)| {
                    self.header
                        .officers
                        .get(*i)
                        .is_some_and(|o| usize::from(o.group) == g)
                })
                .map(|(_, s)| s)
                .take(usize::from(group.member_threshold))
                .collect();
            if members.len() == usize::from(group.member_threshold) {
                for share in members {
                    chosen.push(copy_share(share)?);
                }
                groups_taken += 1;
            }
        }
        let master = slip39::recover(&chosen, &Passphrase::empty())?;
        let key = crypto::payload_key(
            &master,
            &self.header.payload.salt.0,
            &self.header.vault_id.0,
        );
        let (authenticated, payload) = self.bytes.split_at(self.authenticated_len);
        let backup = || self.path.as_deref().and_then(existing_backup);
        let plaintext = crypto::open_payload(&key, authenticated, payload)
            .ok_or_else(|| UnsealError::Authentication { backup: backup() })?;
        let credentials = payload::decode(&plaintext)?;
        let mut known = Vec::with_capacity(self.submitted.len());
        for (_, share) in &self.submitted {
            known.push(copy_share(share)?);
        }
        // The header is now authenticated, and each submitted share matched its
        // officer's commitment in it: an officer without a drill key (a format-1 file)
        // gains the one derived from their share, written at the next save.
        let mut header = self.header.clone();
        for (index, share) in &self.submitted {
            if let Some(officer) = header.officers.get_mut(*index)
                && officer.drill_key.is_none()
            {
                let key = DrillKey::derive(share, &header.vault_id.0, &officer.name);
                officer.drill_key = Some(Hex(key.public_bytes()));
            }
        }
        Ok(Unsealed {
            path: self.path.clone(),
            header,
            master,
            credentials,
            file_digest: version_tag(&self.bytes),
            known_shares: known,
        })
    }
}

/// Identifies one saved version of a vault file cheaply: SHA-256 of the authenticated
/// header and the payload nonce, which every save draws afresh. `None` for bytes that
/// are not a vault.
fn version_tag(bytes: &[u8]) -> Option<[u8; 32]> {
    let framed = format::frame(bytes).ok()?;
    let end = framed.authenticated.len() + format::NONCE_LEN;
    Some(Sha256::digest(bytes.get(..end)?).into())
}

/// A share has no `Clone` (it is secret); this makes a second one through its words.
fn copy_share(share: &Slip39Share) -> Result<Slip39Share, RecoverError> {
    slip39::parse(&share.to_words()).map_err(|e| RecoverError::Parse { share: 1, error: e })
}

use crate::share::slip39::RecoverError;

/// Finds the officer a share belongs to, checking split and commitment.
fn identify<'h>(
    header: &'h Header,
    share: &Slip39Share,
) -> Result<(usize, &'h Officer), SubmitError> {
    let split = &header.split;
    if share.identifier() != split.identifier {
        if let Some(old) = header
            .retired_splits
            .iter()
            .find(|r| r.identifier == share.identifier())
        {
            return Err(SubmitError::OlderSplit {
                identifier: old.identifier,
                retired: old.retired,
            });
        }
        return Err(SubmitError::OtherVault {
            share: share.identifier(),
            vault: split.identifier,
        });
    }
    let mismatch = if share.extendable() != split.extendable {
        Some("extendable flag")
    } else if share.iteration_exponent() != split.iteration_exponent {
        Some("iteration exponent")
    } else if share.group_threshold() != split.group_threshold {
        Some("group threshold")
    } else if usize::from(share.group_count()) != split.groups.len() {
        Some("group count")
    } else if share.secret_len() != usize::from(split.secret_bytes) {
        Some("secret length")
    } else {
        None
    };
    if let Some(field) = mismatch {
        return Err(SubmitError::SplitMismatch { field });
    }
    let (group, member) = (share.group_index(), share.member_index());
    let threshold = split
        .groups
        .get(usize::from(group))
        .map(|g| g.member_threshold);
    let Some((index, officer)) = header.officer_at(group, member) else {
        return Err(SubmitError::NoSuchMember { group, member });
    };
    if threshold != Some(share.member_threshold()) {
        return Err(SubmitError::SplitMismatch {
            field: "member threshold",
        });
    }
    let c = &officer.commitment;
    // The share's words built in constant time from its bits (FORMAT.md §4).
    if !crypto::commitment_matches(
        &header.vault_id.0,
        &c.salt.0,
        &share.canonical_text(),
        &c.digest.0,
    ) {
        return Err(SubmitError::CommitmentMismatch {
            officer: officer.name.clone(),
        });
    }
    Ok((index, officer))
}

fn open_slot(
    header: &Header,
    name: &str,
    passphrase: &[u8],
) -> Result<(usize, Slip39Share), SubmitError> {
    let (index, officer) =
        header
            .officer_named(name)
            .ok_or_else(|| SubmitError::NoSuchOfficer {
                name: name.to_owned(),
            })?;
    let slot = officer.slot.as_ref().ok_or_else(|| SubmitError::NoSlot {
        officer: officer.name.clone(),
    })?;
    let params = SlotParams {
        memory_kib: slot.memory_kib,
        iterations: slot.iterations,
        parallelism: slot.parallelism,
    };
    let key = crypto::slot_key(passphrase, &slot.salt.0, params).map_err(|reason| {
        SubmitError::SlotUnusable {
            officer: officer.name.clone(),
            reason,
        }
    })?;
    let words = crypto::open_slot(
        &key,
        &header.vault_id.0,
        &officer.name,
        officer.group,
        officer.member,
        &slot.nonce.0,
        &slot.sealed.0,
    )
    .ok_or_else(|| SubmitError::WrongPassphrase {
        officer: officer.name.clone(),
    })?;
    let text = core::str::from_utf8(&words).map_err(|_| SubmitError::SlotUnusable {
        officer: officer.name.clone(),
        reason: "the slot does not hold share words".into(),
    })?;
    let share = slip39::parse(text)?;
    let (found, _) = identify(header, &share)?;
    if found != index {
        return Err(SubmitError::SlotUnusable {
            officer: officer.name.clone(),
            reason: "the slot holds another officer's share".into(),
        });
    }
    Ok((index, share))
}

/// An unsealed vault: the credentials, readable and writable, and the master secret
/// (for adding officers and rekeying). Everything secret is wiped on drop.
pub struct Unsealed {
    path: Option<PathBuf>,
    header: Header,
    master: MasterSecret,
    credentials: BTreeMap<String, Credential>,
    /// [`version_tag`] of the file as last read or written, to refuse lost updates.
    file_digest: Option<[u8; 32]>,
    /// Shares known to this process (submitted, or issued by a draft), for adding officers.
    known_shares: Vec<Slip39Share>,
}

impl fmt::Debug for Unsealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unsealed")
            .field("path", &self.path)
            .field("credentials", &self.credentials.len())
            .finish()
    }
}

/// A credential's name and public metadata (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialInfo {
    /// The name.
    pub name: String,
    /// Value length in bytes.
    pub len: usize,
    /// When it was first set (seconds since the Unix epoch).
    pub created: u64,
    /// When it was last set.
    pub updated: u64,
}

/// A share issued to an officer by [`Draft::new`], [`Unsealed::rekey`] or
/// [`Unsealed::add_officer`].
#[derive(Debug)]
pub struct IssuedShare {
    /// The officer.
    pub officer: String,
    /// Their share.
    pub share: Slip39Share,
}

impl Unsealed {
    /// The header (as it will be written by the next save).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The path the vault is saved to.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Wipes the shares this process kept from unsealing. They are needed only by
    /// [`Unsealed::add_officer`], which afterwards refuses for want of shares; a
    /// long-running holder such as the agent calls it at once, so that no share
    /// outlives the unseal.
    pub fn forget_shares(&mut self) {
        self.known_shares.clear();
    }

    /// The drill keys of the officers whose shares this process holds (those submitted
    /// to unseal, or issued by this process), in the order they were entered: the
    /// officers who took part. Each share is checked against its officer's commitment
    /// in the (authenticated) header before its key is derived; shares of a retired
    /// split are left out. Call it before [`Unsealed::forget_shares`], which leaves
    /// nothing to derive from.
    pub fn drill_keys(&self) -> Vec<(String, DrillKey)> {
        self.known_shares
            .iter()
            .filter_map(|share| {
                let (_, officer) = identify(&self.header, share).ok()?;
                let key = DrillKey::derive(share, &self.header.vault_id.0, &officer.name);
                Some((officer.name.clone(), key))
            })
            .collect()
    }

    /// How many shares this process holds for [`Unsealed::add_officer`] (public: a
    /// count, never a share).
    pub fn known_share_count(&self) -> usize {
        self.known_shares.len()
    }

    /// A credential's value.
    pub fn get(&self, name: &str) -> Option<&SecretBytes> {
        self.credentials.get(name).map(|c| &c.value)
    }

    /// Sets a credential (in memory; [`Unsealed::save`] writes).
    ///
    /// # Errors
    ///
    /// [`NameError`] for a name [`valid_name`] refuses.
    pub fn set(&mut self, name: &str, value: SecretBytes) -> Result<(), NameError> {
        if !valid_name(name) {
            return Err(NameError(name.to_owned()));
        }
        let now = now();
        let created = self.credentials.get(name).map_or(now, |c| c.created);
        self.credentials.insert(
            name.to_owned(),
            Credential {
                value,
                created,
                updated: now,
            },
        );
        Ok(())
    }

    /// Removes a credential; returns whether it existed.
    pub fn remove(&mut self, name: &str) -> bool {
        self.credentials.remove(name).is_some()
    }

    /// Names and metadata of every credential, in name order; never values.
    pub fn list(&self) -> Vec<CredentialInfo> {
        self.credentials
            .iter()
            .map(|(name, c)| CredentialInfo {
                name: name.clone(),
                len: c.value.len(),
                created: c.created,
                updated: c.updated,
            })
            .collect()
    }

    /// The vault file's bytes as the next save would write them: format 2, the next
    /// generation, a fresh nonce.
    ///
    /// # Errors
    ///
    /// [`SaveError::Encode`] when the contents cannot be encoded, or the generation
    /// counter is exhausted.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SaveError> {
        self.encode(&self.next_header()?)
    }

    /// The header the next save writes: this one, one generation on (FORMAT.md §2.1).
    fn next_header(&self) -> Result<Header, SaveError> {
        let mut next = self.header.clone();
        next.generation = next.generation.checked_add(1).ok_or_else(|| {
            SaveError::Encode(
                "the generation counter is at its largest value and cannot be raised: rekey into a new vault file"
                    .into(),
            )
        })?;
        Ok(next)
    }

    fn encode(&self, header: &Header) -> Result<Vec<u8>, SaveError> {
        let mut bytes =
            format::authenticated_prefix(header).map_err(|e| SaveError::Encode(e.to_string()))?;
        let key = crypto::payload_key(
            &self.master,
            &self.header.payload.salt.0,
            &self.header.vault_id.0,
        );
        let plaintext =
            payload::encode(&self.credentials).map_err(|e| SaveError::Encode(e.into()))?;
        let sealed = crypto::seal_payload(&key, &bytes, plaintext)
            .map_err(|()| SaveError::Encode("the payload is too large to seal".into()))?;
        bytes.extend_from_slice(&sealed);
        Ok(bytes)
    }

    /// Writes the vault atomically (temporary file, fsync, backup kept as `PATH.bak`,
    /// rename, directory fsync) under the write lock. A symbolic link at the path is
    /// kept and the file it points to replaced (lock, backup and temporary files beside
    /// that file); the file keeps its owner, group and mode.
    ///
    /// # Errors
    ///
    /// [`SaveError::ChangedSinceOpen`] when another writer saved since this vault was
    /// read (nothing is written: no update is lost); [`SaveError::Io`];
    /// [`SaveError::NoPath`]; [`SaveError::Encode`].
    pub fn save(&mut self) -> Result<(), SaveError> {
        let path = self.path.clone().ok_or(SaveError::NoPath)?;
        let io = |source| SaveError::Io {
            path: path.clone(),
            source,
        };
        // Resolved once: a symbolic link at `path` stays, its target is replaced.
        let real = file::resolve(&path).map_err(io)?;
        let _lock = file::WriteLock::acquire(&real).map_err(io)?;
        let (current, ownership) = file::read(&real).map_err(io)?;
        if self.file_digest.is_none() || self.file_digest != version_tag(&current) {
            return Err(SaveError::ChangedSinceOpen { path });
        }
        let next = self.next_header()?;
        let bytes = self.encode(&next)?;
        file::replace(&real, &bytes, ownership).map_err(io)?;
        self.file_digest = version_tag(&bytes);
        self.header = next;
        Ok(())
    }

    /// Adds an officer to group `group` (0-based) with a new share on the *same*
    /// polynomial: every other share stays valid. Needs the group's threshold of its
    /// shares in hand (those submitted to unseal, or issued by this process). The
    /// header changes in memory; [`Unsealed::save`] writes it.
    ///
    /// # Errors
    ///
    /// [`PlanError::Invalid`] (name taken, no such group, group full, too few of its
    /// shares in hand), [`PlanError::Extend`].
    pub fn add_officer(
        &mut self,
        group: u8,
        name: &str,
        keyslot: Option<(&[u8], SlotParams)>,
    ) -> Result<IssuedShare, PlanError> {
        check_officer_name(name)?;
        if self.header.officer_named(name).is_some() {
            return Err(PlanError::Invalid(format!(
                "an officer named '{name}' already exists"
            )));
        }
        let threshold = self
            .header
            .split
            .groups
            .get(usize::from(group))
            .map(|g| g.member_threshold)
            .ok_or_else(|| {
                PlanError::Invalid(format!("there is no group {}", u16::from(group) + 1))
            })?;
        if threshold == 1 {
            return Err(PlanError::Invalid(
                "this group's threshold is 1; SLIP-0039 allows only one member in such a group"
                    .into(),
            ));
        }
        let member = (0..16u8)
            .find(|&m| self.header.officer_at(group, m).is_none())
            .ok_or_else(|| {
                PlanError::Invalid(
                    "the group already has 16 members, the most SLIP-0039 allows".into(),
                )
            })?;
        let in_hand: Vec<Slip39Share> = self
            .known_shares
            .iter()
            .filter(|s| s.group_index() == group && s.identifier() == self.header.split.identifier)
            .take(usize::from(threshold))
            .map(copy_share)
            .collect::<Result<_, _>>()
            .map_err(|e| PlanError::Extend(e.to_string()))?;
        if in_hand.len() < usize::from(threshold) {
            return Err(PlanError::Invalid(format!(
                "adding a member to this group needs {threshold} of its shares, but only {} were entered",
                in_hand.len()
            )));
        }
        let share =
            slip39::extend_group(&in_hand, member).map_err(|e| PlanError::Extend(e.to_string()))?;
        let officer = make_officer(&self.header.vault_id.0, name, &share, keyslot)?;
        self.header.officers.push(officer);
        self.known_shares
            .push(copy_share(&share).map_err(|e| PlanError::Extend(e.to_string()))?);
        self.header.ceremony = None;
        Ok(IssuedShare {
            officer: name.to_owned(),
            share,
        })
    }

    /// Replaces the master secret and every share: the credentials are kept, the
    /// current split is retired (its shares are then named as "an older split"), and
    /// new shares are issued for `plan`. In memory until [`Unsealed::save`].
    ///
    /// # Errors
    ///
    /// As [`Draft::new`].
    pub fn rekey(&mut self, plan: &Plan) -> Result<Vec<IssuedShare>, PlanError> {
        let mut retired = self.header.retired_splits.clone();
        retired.push(RetiredSplit {
            identifier: self.header.split.identifier,
            retired: now(),
        });
        let avoid: Vec<u16> = retired.iter().map(|r| r.identifier).collect();
        let draft = Draft::build(plan, self.header.vault_id.0, &avoid)?;
        let Draft {
            mut header,
            master,
            issued,
        } = draft;
        header.created = self.header.created;
        header.generation = self.header.generation;
        header.retired_splits = retired;
        self.header = header;
        self.master = master;
        self.known_shares = issued
            .iter()
            .map(|i| copy_share(&i.share))
            .collect::<Result<_, _>>()
            .map_err(|e| PlanError::Extend(e.to_string()))?;
        Ok(issued)
    }

    /// Records how the current split was verified (in the authenticated header).
    pub fn set_ceremony(&mut self, method: &str, verified: Vec<String>) {
        self.header.ceremony = Some(format::Ceremony {
            date: now(),
            method: method.to_owned(),
            verified,
        });
    }
}

fn check_officer_name(name: &str) -> Result<(), PlanError> {
    check_plan_name("officer", name)
}

/// The header's name rule ([`format::check_name`]) for a name in a plan.
fn check_plan_name(what: &str, name: &str) -> Result<(), PlanError> {
    format::check_name(name).map_err(|why| {
        PlanError::Invalid(format!(
            "the {what} name '{name}' {why}: use 1 to 64 characters without '=', '/' or control characters"
        ))
    })
}

/// A vault layout: groups of named officers, with thresholds.
#[derive(Debug, Clone)]
pub struct Plan {
    /// How many groups must take part.
    pub group_threshold: u8,
    /// The groups.
    pub groups: Vec<GroupPlan>,
    /// Master secret length: 16 bytes (20-word shares) or 32 (33-word shares).
    pub secret_bytes: u8,
    /// Argon2id cost for keyslots.
    pub slot_params: SlotParams,
}

/// One group of a [`Plan`].
#[derive(Debug, Clone)]
pub struct GroupPlan {
    /// Its name.
    pub name: String,
    /// How many of its officers must take part.
    pub member_threshold: u8,
    /// Its officers, in member order.
    pub officers: Vec<OfficerPlan>,
}

/// One officer of a [`Plan`].
#[derive(Clone)]
pub struct OfficerPlan {
    /// Their name.
    pub name: String,
    /// A keyslot passphrase, if they want one (their share is also issued on paper).
    pub keyslot: Option<zeroize::Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for OfficerPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfficerPlan")
            .field("name", &self.name)
            .field("keyslot", &self.keyslot.is_some())
            .finish()
    }
}

impl Plan {
    /// One group: `threshold` of the named officers, 256-bit master secret.
    pub fn simple(threshold: u8, officers: &[&str]) -> Plan {
        Plan {
            group_threshold: 1,
            groups: vec![GroupPlan {
                name: "officers".into(),
                member_threshold: threshold,
                officers: officers
                    .iter()
                    .map(|n| OfficerPlan {
                        name: (*n).to_owned(),
                        keyslot: None,
                    })
                    .collect(),
            }],
            secret_bytes: 32,
            slot_params: SlotParams::default(),
        }
    }

    /// As [`Header::keyslot_quorum`], for the vault this plan would make: the officers
    /// with a keyslot passphrase in the plan, or named in `holders` (those who will
    /// choose one), who could unseal by themselves.
    pub fn keyslot_quorum<'a>(&'a self, holders: &[&str]) -> Option<Vec<&'a str>> {
        let groups = self.groups.iter().map(|g| {
            let names = g
                .officers
                .iter()
                .filter(|o| o.keyslot.is_some() || holders.contains(&o.name.as_str()))
                .map(|o| o.name.as_str())
                .collect();
            (g.member_threshold, names)
        });
        format::quorum_among(self.group_threshold, groups)
    }
}

/// A new vault in memory: header, master secret and the issued shares. Nothing is on
/// disk until [`Draft::write_new`], so a ceremony can verify every share first.
pub struct Draft {
    header: Header,
    master: MasterSecret,
    issued: Vec<IssuedShare>,
}

impl fmt::Debug for Draft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Draft")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl Draft {
    /// Makes a master secret from the OS generator and splits it for `plan`.
    ///
    /// # Errors
    ///
    /// [`PlanError::Invalid`] for names, thresholds or sizes the format cannot hold;
    /// [`PlanError::Generate`].
    pub fn new(plan: &Plan) -> Result<Draft, PlanError> {
        Draft::build(plan, crypto::random(), &[])
    }

    fn build(
        plan: &Plan,
        vault_id: [u8; 16],
        avoid_identifiers: &[u16],
    ) -> Result<Draft, PlanError> {
        if plan.secret_bytes != 16 && plan.secret_bytes != 32 {
            return Err(PlanError::Invalid(
                "the master secret must be 16 or 32 bytes".into(),
            ));
        }
        for group in &plan.groups {
            check_plan_name("group", &group.name)?;
        }
        let mut names: Vec<&str> = Vec::new();
        for officer in plan.groups.iter().flat_map(|g| &g.officers) {
            check_officer_name(&officer.name)?;
            if names.contains(&officer.name.as_str()) {
                return Err(PlanError::Invalid(format!(
                    "the officer name '{}' is used twice",
                    officer.name
                )));
            }
            names.push(&officer.name);
        }
        let specs: Vec<GroupSpec> = plan
            .groups
            .iter()
            .map(|g| {
                GroupSpec::new(
                    g.member_threshold,
                    u8::try_from(g.officers.len()).unwrap_or(u8::MAX),
                )
            })
            .collect();
        let master =
            MasterSecret::new(crypto::random::<32>()[..usize::from(plan.secret_bytes)].to_vec())?;
        let options = GenerateOptions {
            iteration_exponent: 0,
            extendable: true,
        };
        // A fresh identifier must not be one the vault retired, or old shares would
        // be taken for current ones (the commitment would still refuse them).
        let mut groups = slip39::generate(
            &master,
            &Passphrase::empty(),
            plan.group_threshold,
            &specs,
            options,
        )?;
        for _ in 0..8 {
            let id = groups
                .first()
                .and_then(|g| g.first())
                .map(Slip39Share::identifier);
            if id.is_some_and(|id| !avoid_identifiers.contains(&id)) {
                break;
            }
            groups = slip39::generate(
                &master,
                &Passphrase::empty(),
                plan.group_threshold,
                &specs,
                options,
            )?;
        }
        let first = groups
            .first()
            .and_then(|g| g.first())
            .ok_or_else(|| PlanError::Invalid("the plan has no officers".into()))?;
        let split = Split {
            identifier: first.identifier(),
            extendable: first.extendable(),
            iteration_exponent: first.iteration_exponent(),
            secret_bytes: plan.secret_bytes,
            group_threshold: plan.group_threshold,
            groups: plan
                .groups
                .iter()
                .map(|g| Group {
                    name: g.name.clone(),
                    member_threshold: g.member_threshold,
                })
                .collect(),
            created: now(),
        };
        let mut officers = Vec::new();
        let mut issued = Vec::new();
        for (group_plan, shares) in plan.groups.iter().zip(groups) {
            for (officer, share) in group_plan.officers.iter().zip(shares) {
                let keyslot = officer.keyslot.as_ref().map(|p| (&p[..], plan.slot_params));
                officers.push(make_officer(&vault_id, &officer.name, &share, keyslot)?);
                issued.push(IssuedShare {
                    officer: officer.name.clone(),
                    share,
                });
            }
        }
        let header = Header {
            vault_id: Hex(vault_id),
            created: now(),
            // Never saved yet: the first save writes generation 1.
            generation: 0,
            split,
            officers,
            retired_splits: Vec::new(),
            payload: PayloadParams {
                salt: Hex(crypto::random()),
            },
            ceremony: None,
        };
        header
            .validate()
            .map_err(|e| PlanError::Invalid(e.to_string()))?;
        Ok(Draft {
            header,
            master,
            issued,
        })
    }

    /// The header the vault will have.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The issued shares, one per officer, in plan order.
    pub fn issued(&self) -> &[IssuedShare] {
        &self.issued
    }

    /// The master secret (for the ceremony's proof that the shares recombine to it).
    pub fn master_secret(&self) -> &MasterSecret {
        &self.master
    }

    /// Writes the vault at `path`, which must not exist, with no credentials and the
    /// given ceremony record (`(method, verified officers)`).
    ///
    /// # Errors
    ///
    /// [`SaveError::Io`] (an existing file is never replaced), [`SaveError::Encode`].
    pub fn write_new(
        self,
        path: impl AsRef<Path>,
        ceremony: Option<(&str, Vec<String>)>,
    ) -> Result<Unsealed, SaveError> {
        let path = path.as_ref().to_owned();
        let known_shares = self.issued.into_iter().map(|i| i.share).collect();
        let mut vault = Unsealed {
            path: Some(path.clone()),
            header: self.header,
            master: self.master,
            credentials: BTreeMap::new(),
            file_digest: None,
            known_shares,
        };
        if let Some((method, verified)) = ceremony {
            vault.set_ceremony(method, verified);
        }
        let next = vault.next_header()?;
        let bytes = vault.encode(&next)?;
        file::create_new(&path, &bytes).map_err(|source| SaveError::Io {
            path: path.clone(),
            source,
        })?;
        vault.file_digest = version_tag(&bytes);
        vault.header = next;
        Ok(vault)
    }
}

/// The header entry for an officer holding `share`: a fresh commitment, and a keyslot
/// sealing the share when a passphrase is given.
fn make_officer(
    vault_id: &[u8; 16],
    name: &str,
    share: &Slip39Share,
    keyslot: Option<(&[u8], SlotParams)>,
) -> Result<Officer, PlanError> {
    let words = share.to_words();
    let salt: [u8; 16] = crypto::random();
    let digest = crypto::commitment(vault_id, &salt, words.as_bytes());
    let (group, member) = (share.group_index(), share.member_index());
    let slot = match keyslot {
        None => None,
        Some((passphrase, params)) => {
            // Checked before Argon2id sets aside the memory, as when a header is read.
            format::check_slot_costs(
                name,
                params.memory_kib,
                params.iterations,
                params.parallelism,
            )
            .map_err(|_| {
                PlanError::Invalid(format!(
                    "the keyslot costs for {name} ({} KiB, {} passes, {} lanes) are outside what the format accepts: 8 KiB per lane to 4 GiB, 1 to 64 passes, 1 to 16 lanes",
                    params.memory_kib, params.iterations, params.parallelism
                ))
            })?;
            let slot_salt: [u8; 16] = crypto::random();
            let key =
                crypto::slot_key(passphrase, &slot_salt, params).map_err(PlanError::Invalid)?;
            let (nonce, sealed) = crypto::seal_slot(&key, vault_id, name, group, member, &words)
                .map_err(|()| PlanError::Invalid("cannot seal the keyslot".into()))?;
            Some(Slot {
                memory_kib: params.memory_kib,
                iterations: params.iterations,
                parallelism: params.parallelism,
                salt: Hex(slot_salt),
                nonce: Hex(nonce),
                sealed: HexVec(sealed),
            })
        }
    };
    let drill_key = DrillKey::from_words(words.as_bytes(), vault_id, name);
    Ok(Officer {
        name: name.to_owned(),
        group,
        member,
        commitment: Commitment {
            salt: Hex(salt),
            digest: Hex(digest),
        },
        drill_key: Some(Hex(drill_key.public_bytes())),
        slot,
    })
}

/// Entry points for the constant-time gate (`tests/constant_time.rs`), which must call
/// the commitment check and the key derivation with inputs it marks secret. Not API.
#[doc(hidden)]
pub mod gate {
    use crate::share::slip39::MasterSecret;

    /// The commitment check of a submitted share (FORMAT.md §4).
    pub fn commitment_matches(
        vault_id: &[u8; 16],
        salt: &[u8; 16],
        share_words: &[u8],
        digest: &[u8; 32],
    ) -> bool {
        super::crypto::commitment_matches(vault_id, salt, share_words, digest)
    }

    /// The commitment digest (FORMAT.md §4).
    pub fn commitment(vault_id: &[u8; 16], salt: &[u8; 16], share_words: &[u8]) -> [u8; 32] {
        super::crypto::commitment(vault_id, salt, share_words)
    }

    /// The commitment check of a parsed share, as the vault makes it on submission: the
    /// share's words rebuilt from its bits, hashed and compared (FORMAT.md §4).
    pub fn share_commitment_matches(
        vault_id: &[u8; 16],
        salt: &[u8; 16],
        share: &crate::share::slip39::Slip39Share,
        digest: &[u8; 32],
    ) -> bool {
        super::crypto::commitment_matches(vault_id, salt, &share.canonical_text(), digest)
    }

    /// Seals `plaintext` under the payload key derived from `master` and opens it again
    /// (FORMAT.md §3): HKDF, then XChaCha20-Poly1305 both ways.
    pub fn payload_round_trip(
        master: &MasterSecret,
        salt: &[u8; 32],
        vault_id: &[u8; 16],
        plaintext: Vec<u8>,
    ) -> Option<Vec<u8>> {
        let key = super::crypto::payload_key(master, salt, vault_id);
        let sealed =
            super::crypto::seal_payload(&key, b"gate", zeroize::Zeroizing::new(plaintext)).ok()?;
        super::crypto::open_payload(&key, b"gate", &sealed).map(|p| p.to_vec())
    }
}
