//! Adding a member to an existing group without changing anyone else's share.
//!
//! A group's member shares are points of one polynomial per byte, whose value at
//! x = 255 is the group share and at x = 254 its digest. Any `T` member shares fix
//! that polynomial, so its value at an unused member index is a new, valid member
//! share of the same group: it combines with the others exactly like the original
//! ones, and any SLIP-0039 tool accepts it. This is not an operation the specification
//! describes, but it only produces shares the specification allows.

use zeroize::Zeroizing;

use super::error::{ExtendError, RecoverError};
use super::recover::check_common;
use super::share::{Fields, Slip39Share};
use super::sss::{self, RecoverFailure};
use crate::shamir::{self, Share};

/// Highest member index the 4-bit field can hold.
const MAX_MEMBER_INDEX: u8 = 15;

/// Makes the share of a new member `member_index` (0-based, as stored) of the group
/// that `shares` belong to.
///
/// Give exactly the group's member threshold of its shares. They are checked like a
/// recovery (same split, same group, distinct members, digest) before the new share is
/// computed. The caller must make sure no other member already holds `member_index`:
/// only the shares given can be checked here.
///
/// # Errors
///
/// - [`ExtendError::Shares`] when the shares are not one consistent set (other split,
///   duplicate member, too few or too many, digest failure).
/// - [`ExtendError::MixedGroups`] when they come from more than one group.
/// - [`ExtendError::ThresholdOne`] for a group with threshold 1 (SLIP-0039 allows
///   only one member there).
/// - [`ExtendError::MemberIndex`] for an index above 15 or one held by a given share.
///
/// # Security
///
/// Share values pass only through constant-time interpolation and the digest check.
pub fn extend_group(shares: &[Slip39Share], member_index: u8) -> Result<Slip39Share, ExtendError> {
    check_common(shares)?;
    let first = shares.first().ok_or(RecoverError::NoShares)?;
    let group = first.group_index().saturating_add(1);
    for (i, s) in shares.iter().enumerate() {
        if s.group_index() != first.group_index() {
            return Err(ExtendError::MixedGroups {
                share: i + 1,
                expected: group,
                found: s.group_index().saturating_add(1),
            });
        }
        if s.member_threshold() != first.member_threshold() {
            return Err(RecoverError::MemberThresholdMismatch {
                share: i + 1,
                first: 1,
                group,
                expected: first.member_threshold(),
                found: s.member_threshold(),
            }
            .into());
        }
        if let Some(j) = shares
            .iter()
            .take(i)
            .position(|o| o.member_index() == s.member_index())
        {
            return Err(RecoverError::DuplicateMember {
                share: i + 1,
                first: j + 1,
                group,
                member: s.member_index().saturating_add(1),
            }
            .into());
        }
    }
    let threshold = first.member_threshold();
    if threshold == 1 {
        return Err(ExtendError::ThresholdOne { group });
    }
    let have = u8::try_from(shares.len()).unwrap_or(u8::MAX);
    if have < threshold {
        return Err(RecoverError::TooFewMembers {
            group,
            have,
            need: threshold,
        }
        .into());
    }
    if have > threshold {
        return Err(RecoverError::TooManyMembers {
            group,
            have,
            need: threshold,
        }
        .into());
    }
    if member_index > MAX_MEMBER_INDEX || shares.iter().any(|s| s.member_index() == member_index) {
        return Err(ExtendError::MemberIndex {
            member: member_index.saturating_add(1),
        });
    }

    let points: Vec<Share> = shares
        .iter()
        .map(|s| Share::new(s.member_index(), s.value().to_vec()))
        .collect();
    // Check the digest first, so a bad share is not spread to a new member.
    sss::recover_secret(threshold, &points).map_err(|e| match e {
        RecoverFailure::Digest => RecoverError::DigestMismatch { group: Some(group) },
        RecoverFailure::Core => RecoverError::Internal,
    })?;
    let value: Zeroizing<Vec<u8>> =
        shamir::interpolate(&points, member_index).map_err(|_| RecoverError::Internal)?;
    let fields = Fields {
        identifier: first.identifier(),
        extendable: first.extendable(),
        iteration_exponent: first.iteration_exponent(),
        group_index: first.group_index(),
        group_threshold: first.group_threshold(),
        group_count: first.group_count(),
        member_index,
        member_threshold: threshold,
    };
    Ok(Slip39Share::from_parts(fields, value))
}
