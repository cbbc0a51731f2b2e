//! Combining shares: check that they form one complete set, rebuild each group's
//! share, then the encrypted master secret, then decrypt it with the passphrase.

use zeroize::Zeroizing;

use super::cipher::{self, Params};
use super::error::RecoverError;
use super::secret::{MasterSecret, Passphrase};
use super::share::{Slip39Share, parse};
use super::sss::{self, RecoverFailure};
use crate::shamir::Share;

/// The shares of one group, as positions into the input.
struct Group {
    index: u8,
    threshold: u8,
    members: Vec<usize>,
}

/// 1-based number for messages.
fn number(index: u8) -> u8 {
    index.saturating_add(1)
}

/// Checks that `shares` are one complete, consistent set and sorts them into groups.
///
/// SLIP-0039, "Combining the shares", step 1: same identifier, extendable flag,
/// iteration exponent, group threshold, group count and length; exactly `GT` distinct
/// groups; within a group one member threshold, distinct member indices, and exactly
/// that many members. (Checksums and padding were checked by [`parse`].)
fn check_set(shares: &[Slip39Share]) -> Result<Vec<Group>, RecoverError> {
    let first = shares.first().ok_or(RecoverError::NoShares)?;
    for (i, s) in shares.iter().enumerate().skip(1) {
        let share = i + 1;
        if s.identifier() != first.identifier() {
            return Err(RecoverError::IdentifierMismatch {
                share,
                expected: first.identifier(),
                found: s.identifier(),
            });
        }
        if s.extendable() != first.extendable() {
            return Err(RecoverError::ExtendableMismatch {
                share,
                found: s.extendable(),
            });
        }
        if s.iteration_exponent() != first.iteration_exponent() {
            return Err(RecoverError::IterationExponentMismatch {
                share,
                expected: first.iteration_exponent(),
                found: s.iteration_exponent(),
            });
        }
        if s.group_threshold() != first.group_threshold() {
            return Err(RecoverError::GroupThresholdMismatch {
                share,
                expected: first.group_threshold(),
                found: s.group_threshold(),
            });
        }
        if s.group_count() != first.group_count() {
            return Err(RecoverError::GroupCountMismatch {
                share,
                expected: first.group_count(),
                found: s.group_count(),
            });
        }
        if s.secret_len() != first.secret_len() {
            return Err(RecoverError::LengthMismatch {
                share,
                expected: first.word_count(),
                found: s.word_count(),
            });
        }
    }

    let mut groups: Vec<Group> = Vec::new();
    for (i, s) in shares.iter().enumerate() {
        let Some(group) = groups.iter_mut().find(|g| g.index == s.group_index()) else {
            groups.push(Group {
                index: s.group_index(),
                threshold: s.member_threshold(),
                members: vec![i],
            });
            continue;
        };
        if s.member_threshold() != group.threshold {
            let first = group.members.first().copied().unwrap_or(0);
            return Err(RecoverError::MemberThresholdMismatch {
                share: i + 1,
                first: first + 1,
                group: number(group.index),
                expected: group.threshold,
                found: s.member_threshold(),
            });
        }
        let twin = group.members.iter().find(|&&j| {
            shares
                .get(j)
                .is_some_and(|o| o.member_index() == s.member_index())
        });
        if let Some(&j) = twin {
            return Err(RecoverError::DuplicateMember {
                share: i + 1,
                first: j + 1,
                group: number(group.index),
                member: number(s.member_index()),
            });
        }
        group.members.push(i);
    }

    // At most 16 groups and 16 members each: the indices are 4-bit fields and
    // duplicates were refused above.
    let count = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
    let have = count(groups.len());
    let need = first.group_threshold();
    if have < need {
        return Err(RecoverError::TooFewGroups { have, need });
    }
    if have > need {
        return Err(RecoverError::TooManyGroups { have, need });
    }
    for g in &groups {
        let have = count(g.members.len());
        if have < g.threshold {
            return Err(RecoverError::TooFewMembers {
                group: number(g.index),
                have,
                need: g.threshold,
            });
        }
        if have > g.threshold {
            return Err(RecoverError::TooManyMembers {
                group: number(g.index),
                have,
                need: g.threshold,
            });
        }
    }
    Ok(groups)
}

/// Combines shares into the master secret.
///
/// Give exactly the shares to combine: `GT` groups, and in each exactly its member
/// threshold of shares (SLIP-0039 requires exact counts). The order does not matter.
/// An empty passphrase is [`Passphrase::empty`]. A wrong passphrase is not detected:
/// SLIP-0039 makes every passphrase give *a* secret (by design, for plausible
/// deniability), so the result must be checked by its use.
///
/// # Errors
///
/// - [`RecoverError::NoShares`].
/// - A share from another split, named by its 1-based position:
///   [`RecoverError::IdentifierMismatch`], [`RecoverError::ExtendableMismatch`],
///   [`RecoverError::IterationExponentMismatch`],
///   [`RecoverError::GroupThresholdMismatch`], [`RecoverError::GroupCountMismatch`],
///   [`RecoverError::LengthMismatch`], [`RecoverError::MemberThresholdMismatch`].
/// - [`RecoverError::DuplicateMember`]: the same member twice.
/// - [`RecoverError::TooFewGroups`], [`RecoverError::TooManyGroups`],
///   [`RecoverError::TooFewMembers`], [`RecoverError::TooManyMembers`]: the wrong
///   number of shares, saying how many more (or fewer) are needed.
/// - [`RecoverError::DigestMismatch`]: the shares fit together but one is not genuine.
///
/// # Security
///
/// Share fields are public and checked with ordinary branches. Share values, group
/// values, the encrypted secret and the passphrase go only through constant-time
/// interpolation, HMAC with a constant-time digest comparison, and PBKDF2/XOR; all
/// intermediate values are wiped.
pub fn recover(
    shares: &[Slip39Share],
    passphrase: &Passphrase,
) -> Result<MasterSecret, RecoverError> {
    let groups = check_set(shares)?;
    let first = shares.first().ok_or(RecoverError::NoShares)?;

    let mut group_values = Vec::with_capacity(groups.len());
    for g in &groups {
        let members: Vec<Share> = g
            .members
            .iter()
            .filter_map(|&j| shares.get(j))
            .map(|s| Share::new(s.member_index(), s.value().to_vec()))
            .collect();
        let value = sss::recover_secret(g.threshold, &members).map_err(|e| match e {
            RecoverFailure::Digest => RecoverError::DigestMismatch {
                group: Some(number(g.index)),
            },
            RecoverFailure::Core => RecoverError::Internal,
        })?;
        group_values.push(Share::new(g.index, value.to_vec()));
    }
    let ems: Zeroizing<Vec<u8>> = sss::recover_secret(first.group_threshold(), &group_values)
        .map_err(|e| match e {
            RecoverFailure::Digest => RecoverError::DigestMismatch { group: None },
            RecoverFailure::Core => RecoverError::Internal,
        })?;
    let params = Params {
        identifier: first.identifier(),
        extendable: first.extendable(),
        iteration_exponent: first.iteration_exponent(),
    };
    let secret = cipher::decrypt(&ems, passphrase.as_bytes(), params);
    Ok(MasterSecret::from_recovered(secret))
}

/// Parses each text with [`parse`] and combines the shares with [`recover`].
///
/// # Errors
///
/// [`RecoverError::Parse`] naming the first text (1-based) that is not a valid share,
/// with the [`ParseError`](super::ParseError) saying why; otherwise as [`recover`].
pub fn recover_text<S: AsRef<str>>(
    texts: &[S],
    passphrase: &Passphrase,
) -> Result<MasterSecret, RecoverError> {
    let shares = parse_all(texts)?;
    recover(&shares, passphrase)
}

/// Parses several shares, naming the first one that fails by its 1-based position.
///
/// # Errors
///
/// [`RecoverError::Parse`] for the first text that [`parse`] refuses.
pub fn parse_all<S: AsRef<str>>(texts: &[S]) -> Result<Vec<Slip39Share>, RecoverError> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            parse(t.as_ref()).map_err(|error| RecoverError::Parse {
                share: i + 1,
                error,
            })
        })
        .collect()
}

/// Checks that shares form one complete set, without combining them or running the
/// passphrase encryption. A set that passes can still fail [`recover`] with
/// [`RecoverError::DigestMismatch`].
///
/// # Errors
///
/// The same set errors as [`recover`] (all but the digest check).
pub fn check_complete(shares: &[Slip39Share]) -> Result<(), RecoverError> {
    check_set(shares).map(|_| ())
}
