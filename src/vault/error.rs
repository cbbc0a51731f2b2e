//! What can go wrong with a vault, one enum per operation. Messages name the share,
//! officer, field or file concerned and say what to do next; none carries a secret.

use std::io;
use std::path::PathBuf;

use super::format::FormatError;
use super::payload::PayloadError;
use crate::share::slip39::{GenerateError, ParseError, RecoverError};

fn backup_hint(backup: &Option<PathBuf>) -> String {
    match backup {
        Some(path) => format!("; the previous version is kept at {}", path.display()),
        None => String::new(),
    }
}

/// Opening a vault file failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The vault's path.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// The file is not a readable vault.
    #[error("{}: {source}{}", path.display(), backup_hint(backup))]
    Format {
        /// The vault's path.
        path: PathBuf,
        /// What is wrong, and where.
        source: FormatError,
        /// The backup beside the file, if there is one.
        backup: Option<PathBuf>,
    },
}

/// A submitted share or passphrase was refused; progress is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The text is not a valid SLIP-0039 share.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The share belongs to some other split.
    #[error(
        "this share belongs to another vault (its split identifier is {share}, this vault's is {vault}); check that you have the right vault file"
    )]
    OtherVault {
        /// The share's SLIP-0039 identifier.
        share: u16,
        /// This vault's.
        vault: u16,
    },
    /// The share is from a split this vault retired at a rekey.
    #[error(
        "this share is from an older split of this vault (identifier {identifier}), retired by a rekey at {retired} (Unix time); it no longer opens the vault: use the share you were given at the rekey"
    )]
    OlderSplit {
        /// The retired split's identifier.
        identifier: u16,
        /// When it was retired.
        retired: u64,
    },
    /// The share has this vault's identifier but other split parameters.
    #[error(
        "this share has this vault's split identifier but a different {field}; it was not made for this vault"
    )]
    SplitMismatch {
        /// The differing field.
        field: &'static str,
    },
    /// No officer holds this share's position.
    #[error(
        "this share is member {} of group {}, but this vault has no officer there; it may be from another vault or a removed officer",
        member + 1,
        group + 1
    )]
    NoSuchMember {
        /// Group index (0-based).
        group: u8,
        /// Member index (0-based).
        member: u8,
    },
    /// The share is in an officer's position but is not their share.
    #[error(
        "this share is in {officer}'s position but does not match the share on record for {officer}; it is from a different split, or altered in a way its checksum missed"
    )]
    CommitmentMismatch {
        /// The officer whose position it claims.
        officer: String,
    },
    /// The share matches the officer's commitment, but the header holds another drill
    /// public key for them.
    #[error(
        "this share matches {officer}'s commitment but not {officer}'s drill key in the header; the header was changed or damaged: check the file against its backup"
    )]
    DrillKeyMismatch {
        /// The officer.
        officer: String,
    },
    /// This officer's share was already entered.
    #[error("{officer}'s share was already entered; progress is unchanged")]
    AlreadySubmitted {
        /// The officer.
        officer: String,
    },
    /// No officer has this name.
    #[error("this vault has no officer named '{name}'")]
    NoSuchOfficer {
        /// The name asked for.
        name: String,
    },
    /// The officer has no keyslot.
    #[error("{officer} has no passphrase keyslot; enter their share words instead")]
    NoSlot {
        /// The officer.
        officer: String,
    },
    /// The passphrase does not open the officer's keyslot.
    #[error(
        "the passphrase does not open {officer}'s keyslot; no other slot is affected, try again"
    )]
    WrongPassphrase {
        /// The officer.
        officer: String,
    },
    /// The keyslot's parameters are unusable.
    #[error("{officer}'s keyslot cannot be used: {reason}")]
    SlotUnusable {
        /// The officer.
        officer: String,
        /// Why.
        reason: String,
    },
}

/// Unsealing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnsealError {
    /// Not enough shares were entered.
    #[error("not enough shares yet: {progress}")]
    NotEnough {
        /// The progress, as a person reads it.
        progress: String,
    },
    /// The shares, each matching its commitment, did not combine.
    #[error("the shares did not combine: {0}")]
    Recover(#[from] RecoverError),
    /// The payload did not authenticate.
    #[error(
        "authentication failed — the file was changed or damaged{}",
        backup_hint(backup)
    )]
    Authentication {
        /// The backup beside the file, if there is one.
        backup: Option<PathBuf>,
    },
    /// The payload authenticated but could not be read.
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

/// Saving failed; the file on disk is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// A file system operation failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The vault's path.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// Someone else saved the vault since it was opened.
    #[error(
        "{} changed since it was opened (another writer saved first); nothing was written: open it again and repeat the change",
        path.display()
    )]
    ChangedSinceOpen {
        /// The vault's path.
        path: PathBuf,
    },
    /// The vault has no path (it was read from bytes).
    #[error("this vault was not opened from a file, so it cannot be saved")]
    NoPath,
    /// The contents cannot be encoded.
    #[error("cannot encode the vault: {0}")]
    Encode(String),
}

/// A credential name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a valid credential name: use 1 to 255 bytes without spaces or control characters"
)]
pub struct NameError(pub String);

/// Creating a vault, rekeying or adding an officer failed; nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The plan is not a valid layout.
    #[error("{0}")]
    Invalid(String),
    /// SLIP-0039 refused the layout.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// A new officer's share could not be made.
    #[error("cannot make a share for the new officer: {0}")]
    Extend(String),
}
