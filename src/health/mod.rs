//! Quorum health over time: signed drill records in `VAULT.drills`, checked against the
//! drill public keys of the vault's authenticated header, and the quorum margin they
//! leave (docs/HEALTH.md).
//!
//! ```text
//! VAULT.drills ──record::lines / DrillRecord::parse──▶ records
//!                                                         │ check(roster, …): vault id,
//!                                                         │ officer, split, signature,
//!                                                         │ date, repeats
//!                                                         ▼
//!            Health { per officer: last verified drill, drill key; ignored (with
//!                     reasons); quorum: threshold, verified, margin }
//!                                                         │
//!                        CLI status / health, the agent's status, prometheus::render
//! ```
//!
//! A record counts only when its signature verifies under the officer's drill key
//! from the header. Nothing here writes the vault file; the drills file is only ever
//! appended to ([`files::append`]).
//!
//! ```
//! use svault::health::{self, DrillKind, DrillRecord, Policy, Roster, RosterGroup, RosterOfficer};
//! use ed25519_dalek::SigningKey;
//!
//! let alice = SigningKey::from_bytes(&[1; 32]);
//! let roster = Roster {
//!     vault_id: [9; 16],
//!     split: 77,
//!     retired_splits: vec![],
//!     group_threshold: 1,
//!     groups: vec![RosterGroup { name: "officers".into(), threshold: 2 }],
//!     officers: vec![
//!         RosterOfficer { name: "alice".into(), group: 0, key: Some(alice.verifying_key().to_bytes()) },
//!         RosterOfficer { name: "bob".into(), group: 0, key: None },
//!         RosterOfficer { name: "carol".into(), group: 0, key: None },
//!     ],
//! };
//! let now = 1_800_000_000;
//! let record = DrillRecord::sign([9; 16], 77, "alice", DrillKind::Share, now - 60, &alice)?;
//! let drills = record.to_line();
//! let health = health::check(&roster, drills.as_bytes(), now, &Policy::default());
//! assert_eq!(health.officers[0].last_drill, Some(now - 60));
//! assert_eq!(health.quorum.verified, 1);
//! assert_eq!(health.quorum.margin, -1); // one more officer must drill
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod files;
pub mod margin;
pub mod prometheus;
pub mod record;

use core::fmt;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use crate::vault::Header;
use crate::vault::drill::DrillKey;

pub use margin::GroupCount;
pub use record::{DrillKind, DrillRecord, LineError, SignDrill};

impl SignDrill for DrillKey {
    fn sign_drill(&self, message: &[u8]) -> [u8; 64] {
        self.sign(message).to_bytes()
    }
}

/// Seconds in a day.
pub const DAY: u64 = 86_400;
/// The default maximum age of a drill that still counts, in days.
pub const DEFAULT_MAX_AGE_DAYS: u64 = 180;
/// How far in the future a record may be dated (clock skew between machines) before it
/// is ignored, in seconds.
pub const FUTURE_SKEW: u64 = 300;
/// How many ignored records are described one by one; the rest are only counted.
pub const IGNORED_DETAIL_MAX: usize = 100;

/// What the header says that health needs: public, authenticated data only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    /// The vault's id.
    pub vault_id: [u8; 16],
    /// The current split's SLIP-0039 identifier.
    pub split: u16,
    /// Identifiers of splits retired by a rekey.
    pub retired_splits: Vec<u16>,
    /// How many groups must take part.
    pub group_threshold: u8,
    /// The groups, in order.
    pub groups: Vec<RosterGroup>,
    /// The officers, in header order.
    pub officers: Vec<RosterOfficer>,
}

/// A group of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterGroup {
    /// Its name.
    pub name: String,
    /// Its member threshold.
    pub threshold: u8,
}

/// An officer of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterOfficer {
    /// The name.
    pub name: String,
    /// The group index.
    pub group: u8,
    /// The drill public key (Ed25519, 32 bytes) from the authenticated header, if the
    /// officer has one yet.
    pub key: Option<[u8; 32]>,
}

impl Roster {
    /// The roster of a vault header: its id, current and retired splits, groups and
    /// officers with their drill public keys.
    pub fn from_header(header: &Header) -> Roster {
        Roster {
            vault_id: header.vault_id.0,
            split: header.split.identifier,
            retired_splits: header.retired_splits.iter().map(|r| r.identifier).collect(),
            group_threshold: header.split.group_threshold,
            groups: header
                .split
                .groups
                .iter()
                .map(|g| RosterGroup {
                    name: g.name.clone(),
                    threshold: g.member_threshold,
                })
                .collect(),
            officers: header
                .officers
                .iter()
                .map(|o| RosterOfficer {
                    name: o.name.clone(),
                    group: o.group,
                    key: o.drill_key.map(|k| k.0),
                })
                .collect(),
        }
    }
}

/// A drill could not be recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The officer's name cannot be in a record (never for a name from a valid header).
    #[error("the drill of {officer} cannot be recorded: {source}")]
    Name {
        /// The officer.
        officer: String,
        /// Why.
        source: LineError,
    },
    /// The drills file could not be written.
    #[error("the drill of {officer} was not recorded in {}: {source}", path.display())]
    Io {
        /// The officer.
        officer: String,
        /// The drills file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
}

/// Signs a drill of `officer` at `time` with their drill key and appends it to the
/// drills file of the vault at `vault` ([`files::drills_path`]); returns that path.
/// The vault file is not touched.
///
/// # Errors
///
/// [`RecordError`] naming the officer and the file.
///
/// # Security
///
/// `key` must come from a share checked against the officer's commitment in `header`
/// ([`crate::vault::Sealed::drill_key`], [`crate::vault::Unsealed::drill_keys`]).
pub fn record(
    vault: &Path,
    header: &Header,
    officer: &str,
    kind: DrillKind,
    time: u64,
    key: &impl SignDrill,
) -> Result<PathBuf, RecordError> {
    let record = DrillRecord::sign(
        header.vault_id.0,
        header.split.identifier,
        officer,
        kind,
        time,
        key,
    )
    .map_err(|source| RecordError::Name {
        officer: officer.to_owned(),
        source,
    })?;
    let path = files::drills_path(vault);
    files::append(&path, &record).map_err(|source| RecordError::Io {
        officer: officer.to_owned(),
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// How old a drill may be and still count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Maximum age in days.
    pub max_age_days: u64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            max_age_days: DEFAULT_MAX_AGE_DAYS,
        }
    }
}

/// Why a line of the drills file was not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reason {
    /// The line is not a record (cut short, not JSON, an unknown version …).
    Damaged {
        /// What is wrong with it.
        detail: String,
    },
    /// The record names another vault: it was copied from that vault's drills file.
    OtherVault {
        /// The vault id it names (hex).
        vault_id: String,
    },
    /// The record names an officer this vault does not have.
    UnknownOfficer,
    /// The record was made with a share of a split retired by a rekey: it says nothing
    /// of today's shares. Not counted as rejected.
    OlderSplit {
        /// The retired split's identifier.
        split: u16,
    },
    /// The record names a split this vault never had.
    UnknownSplit {
        /// The identifier it names.
        split: u16,
    },
    /// The officer has no drill key in the header yet, so the record cannot be checked.
    /// Not counted as rejected: it will count once the key is there (a later unseal
    /// with a save) if it verifies then.
    NoDrillKey,
    /// The signature is another officer's: a record made with their share, relabelled.
    SignedByOther {
        /// The officer whose key made the signature.
        signer: String,
    },
    /// The signature does not verify under the officer's drill key (nor any other
    /// officer's): forged or damaged.
    Forged,
    /// Dated later than now (more than [`FUTURE_SKEW`] seconds): a clock was wrong, or
    /// the record is made up.
    Future {
        /// The date it claims.
        time: u64,
    },
    /// An exact repeat of an earlier verified record (same officer and nonce): a copy.
    Repeated {
        /// The line of the first one.
        first_line: usize,
    },
}

impl Reason {
    /// Whether this counts as a rejected record (`svault_drill_records_rejected_total`):
    /// everything except records of a retired split and records still waiting for the
    /// officer's drill key.
    pub fn is_rejection(&self) -> bool {
        !matches!(self, Reason::OlderSplit { .. } | Reason::NoDrillKey)
    }

    /// A short name for the reason (`damaged`, `other-vault`, …), as in the JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Reason::Damaged { .. } => "damaged",
            Reason::OtherVault { .. } => "other-vault",
            Reason::UnknownOfficer => "unknown-officer",
            Reason::OlderSplit { .. } => "older-split",
            Reason::UnknownSplit { .. } => "unknown-split",
            Reason::NoDrillKey => "no-drill-key",
            Reason::SignedByOther { .. } => "signed-by-other",
            Reason::Forged => "forged",
            Reason::Future { .. } => "future",
            Reason::Repeated { .. } => "repeated",
        }
    }
}

/// One line of the drills file that was not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// Its line number (from 1).
    pub line: usize,
    /// The officer it names, when it could be read.
    pub officer: Option<String>,
    /// Why it was not counted.
    #[serde(flatten)]
    pub reason: Reason,
}

impl fmt::Display for Ignored {
    /// "line 7 (carol): forged or damaged: the signature does not verify under carol's drill key".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        let who = self.officer.as_deref().unwrap_or("?");
        if let Some(officer) = &self.officer {
            write!(f, " ({officer})")?;
        }
        f.write_str(": ")?;
        match &self.reason {
            Reason::Damaged { detail } => write!(f, "damaged: {detail}"),
            Reason::OtherVault { vault_id } => write!(
                f,
                "copied from another vault: it names vault {vault_id}, not this one"
            ),
            Reason::UnknownOfficer => write!(f, "names an officer this vault does not have"),
            Reason::OlderSplit { split } => write!(
                f,
                "made with a share of split {split}, retired by a rekey (not counted, not an error)"
            ),
            Reason::UnknownSplit { split } => {
                write!(f, "names split {split}, which this vault never had")
            }
            Reason::NoDrillKey => write!(
                f,
                "cannot be checked yet: {who} has no drill key in the header (see `svault status`)"
            ),
            Reason::SignedByOther { signer } => write!(
                f,
                "signed by another officer: the signature is {signer}'s drill key, not {who}'s"
            ),
            Reason::Forged => write!(
                f,
                "forged or damaged: the signature does not verify under {who}'s drill key"
            ),
            Reason::Future { time } => write!(
                f,
                "dated in the future ({time}, Unix seconds): a clock was wrong or the record is made up"
            ),
            Reason::Repeated { first_line } => {
                write!(f, "a copy of the record on line {first_line}")
            }
        }
    }
}

/// One officer's drill state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficerHealth {
    /// The name.
    pub name: String,
    /// The group index.
    pub group: u8,
    /// Whether the header holds their drill public key.
    pub drill_key: bool,
    /// Their latest verified drill (Unix seconds), if any.
    pub last_drill: Option<u64>,
    /// How that drill was done.
    pub last_kind: Option<DrillKind>,
    /// Verified drills in the file.
    pub drills: usize,
    /// Whether the latest verified drill is within the maximum age.
    pub fresh: bool,
}

/// One group's part of the quorum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupQuorum {
    /// The group's name.
    pub name: String,
    /// Its member threshold.
    pub threshold: u8,
    /// Its officers with a fresh verified drill.
    pub verified: u32,
    /// `verified − threshold`.
    pub margin: i64,
}

/// The quorum as the drills show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quorum {
    /// For a vault of one group, its member threshold; with groups, the number of
    /// groups needed.
    pub threshold: u32,
    /// For one group, its officers with a fresh verified drill; with groups, the groups
    /// whose officers with a fresh verified drill meet their threshold.
    pub verified: u32,
    /// How many more officers could be lost while those with a fresh verified drill
    /// still form a quorum; negative: how many more must drill ([`margin`]).
    pub margin: i64,
    /// The maximum age used, in days.
    pub max_age_days: u64,
    /// Per group (also for a vault of one group).
    pub groups: Vec<GroupQuorum>,
}

/// Everything the drills file says about the quorum today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// When it was computed (Unix seconds).
    pub now: u64,
    /// Per officer, in header order.
    pub officers: Vec<OfficerHealth>,
    /// The quorum.
    pub quorum: Quorum,
    /// Records counted (verified, for this vault, fresh or not).
    pub verified_records: usize,
    /// Lines ignored as rejected ([`Reason::is_rejection`]).
    pub rejected: usize,
    /// Lines ignored without being a rejection (older split, no drill key yet).
    pub not_counted: usize,
    /// The first [`IGNORED_DETAIL_MAX`] ignored lines, with reasons.
    pub ignored: Vec<Ignored>,
}

impl Health {
    /// Officers whose drill is missing or older than the maximum age.
    pub fn stale(&self) -> impl Iterator<Item = &OfficerHealth> {
        self.officers.iter().filter(|o| !o.fresh)
    }
}

/// Checks every line of a drills file against the roster and returns the health of
/// the quorum at `now`.
///
/// # Security
///
/// A record counts only if it names this vault, an officer it has and its current
/// split, its signature verifies (strictly) under that officer's drill key from the
/// header, it is not dated more than [`FUTURE_SKEW`] seconds after `now`, and it is not
/// a repeat of an earlier record. Keys are public, so nothing here is secret or
/// constant-time.
pub fn check(roster: &Roster, drills: &[u8], now: u64, policy: &Policy) -> Health {
    let keys: Vec<Option<VerifyingKey>> = roster
        .officers
        .iter()
        .map(|o| o.key.and_then(|k| VerifyingKey::from_bytes(&k).ok()))
        .collect();
    let mut officers: Vec<OfficerHealth> = roster
        .officers
        .iter()
        .zip(&keys)
        .map(|(o, k)| OfficerHealth {
            name: o.name.clone(),
            group: o.group,
            drill_key: k.is_some(),
            last_drill: None,
            last_kind: None,
            drills: 0,
            fresh: false,
        })
        .collect();
    let mut seen: std::collections::HashMap<(usize, [u8; 16]), usize> = Default::default();
    let mut ignored = Vec::new();
    let (mut rejected, mut not_counted, mut verified_records) = (0, 0, 0);
    let mut ignore = |line: usize, officer: Option<&str>, reason: Reason| {
        if reason.is_rejection() {
            rejected += 1;
        } else {
            not_counted += 1;
        }
        if ignored.len() < IGNORED_DETAIL_MAX {
            ignored.push(Ignored {
                line,
                officer: officer.map(str::to_owned),
                reason,
            });
        }
    };
    let retired: HashSet<u16> = roster.retired_splits.iter().copied().collect();
    for (number, line) in record::lines(drills) {
        let record = match line.and_then(DrillRecord::parse) {
            Ok(r) => r,
            Err(e) => {
                ignore(
                    number,
                    None,
                    Reason::Damaged {
                        detail: e.to_string(),
                    },
                );
                continue;
            }
        };
        let name = Some(record.officer.as_str());
        if record.vault_id != roster.vault_id {
            let vault_id = crate::vault::format::to_hex(&record.vault_id);
            ignore(number, name, Reason::OtherVault { vault_id });
            continue;
        }
        let Some(index) = roster
            .officers
            .iter()
            .position(|o| o.name == record.officer)
        else {
            ignore(number, name, Reason::UnknownOfficer);
            continue;
        };
        if record.split != roster.split {
            let reason = if retired.contains(&record.split) {
                Reason::OlderSplit {
                    split: record.split,
                }
            } else {
                Reason::UnknownSplit {
                    split: record.split,
                }
            };
            ignore(number, name, reason);
            continue;
        }
        let Some(key) = &keys[index] else {
            ignore(number, name, Reason::NoDrillKey);
            continue;
        };
        if !record.verifies_under(key) {
            let signer = roster
                .officers
                .iter()
                .zip(&keys)
                .find(|(_, k)| k.as_ref().is_some_and(|k| record.verifies_under(k)))
                .map(|(o, _)| o.name.clone());
            let reason = match signer {
                Some(signer) => Reason::SignedByOther { signer },
                None => Reason::Forged,
            };
            ignore(number, name, reason);
            continue;
        }
        if record.time > now.saturating_add(FUTURE_SKEW) {
            ignore(number, name, Reason::Future { time: record.time });
            continue;
        }
        if let Some(&first_line) = seen.get(&(index, record.nonce)) {
            ignore(number, name, Reason::Repeated { first_line });
            continue;
        }
        seen.insert((index, record.nonce), number);
        verified_records += 1;
        let o = &mut officers[index];
        o.drills += 1;
        if o.last_drill.is_none_or(|t| record.time >= t) {
            o.last_drill = Some(record.time);
            o.last_kind = Some(record.kind);
        }
    }
    let max_age = policy.max_age_days.saturating_mul(DAY);
    for o in &mut officers {
        o.fresh = o
            .last_drill
            .is_some_and(|t| now.saturating_sub(t) <= max_age);
    }
    let quorum = quorum_of(roster, &officers, policy);
    Health {
        now,
        officers,
        quorum,
        verified_records,
        rejected,
        not_counted,
        ignored,
    }
}

fn quorum_of(roster: &Roster, officers: &[OfficerHealth], policy: &Policy) -> Quorum {
    let counts: Vec<GroupCount> = roster
        .groups
        .iter()
        .enumerate()
        .map(|(g, group)| GroupCount {
            threshold: group.threshold,
            verified: u32::try_from(
                officers
                    .iter()
                    .filter(|o| usize::from(o.group) == g && o.fresh)
                    .count(),
            )
            .unwrap_or(u32::MAX),
        })
        .collect();
    let margin = margin::margin(roster.group_threshold, &counts);
    let groups: Vec<GroupQuorum> = roster
        .groups
        .iter()
        .zip(&counts)
        .map(|(group, c)| GroupQuorum {
            name: group.name.clone(),
            threshold: c.threshold,
            verified: c.verified,
            margin: c.margin(),
        })
        .collect();
    let (threshold, verified) = match &counts[..] {
        [only] => (u32::from(only.threshold), only.verified),
        _ => (
            u32::from(roster.group_threshold),
            u32::try_from(groups.iter().filter(|g| g.margin >= 0).count()).unwrap_or(u32::MAX),
        ),
    };
    Quorum {
        threshold,
        verified,
        margin,
        max_age_days: policy.max_age_days,
        groups,
    }
}

#[cfg(test)]
mod tests;
