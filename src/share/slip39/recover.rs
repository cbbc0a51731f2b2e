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

/// Checks the fields every share of one split has in common: identifier, extendable
/// flag, iteration exponent, group threshold, group count and length.
pub(crate) fn check_common(shares: &[Slip39Share]) -> Result<(), RecoverError> {
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

    Ok(())
}

/// Checks that `shares` are one complete, consistent set and sorts them into groups.
///
/// SLIP-0039, "Combining the shares", step 1: same identifier, extendable flag,
/// iteration exponent, group threshold, group count and length; exactly `GT` distinct
/// groups; within a group one member threshold, distinct member indices, and exactly
/// that many members. (Checksums and padding were checked by [`parse`].)
fn check_set(shares: &[Slip39Share]) -> Result<Vec<Group>, RecoverError> {
    check_common(shares)?;
    let first = shares.first().ok_or(RecoverError::NoShares)?;

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
    let (ems, params) = recover_ems(shares)?;
    let secret = cipher::decrypt(&ems, passphrase.as_bytes(), params);
    Ok(MasterSecret::from_recovered(secret))
}

/// Steps 1 to 3 of "Combining the shares": the checks, then the encrypted master
/// secret and the parameters of its encryption.
pub(crate) fn recover_ems(
    shares: &[Slip39Share],
) -> Result<(Zeroizing<Vec<u8>>, Params), RecoverError> {
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
    let ems = sss::recover_secret(first.group_threshold(), &group_values).map_err(|e| match e {
        RecoverFailure::Digest => RecoverError::DigestMismatch { group: None },
        RecoverFailure::Core => RecoverError::Internal,
    })?;
    let params = Params {
        identifier: first.identifier(),
        extendable: first.extendable(),
        iteration_exponent: first.iteration_exponent(),
    };
    Ok((ems, params))
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::share::slip39::generate::{GroupSpec, split_ems};

    /// Every (threshold, count) pair with count <= 4 that SLIP-0039 allows.
    const PAIRS: [(u8, u8); 7] = [(1, 1), (2, 2), (2, 3), (2, 4), (3, 3), (3, 4), (4, 4)];

    /// Every group layout with up to 4 groups, every group threshold, every member
    /// pair in each group: split the encrypted secret, write every chosen share as
    /// words, parse it back, and recover from a different subset for each layout. The
    /// passphrase layer is skipped here (it is tested on its own and, end to end, in
    /// tests/slip39_roundtrip.rs), so the whole space runs quickly.
    /// A second share equal to `share`: through its words when `via_text`, by its
    /// fields otherwise. The words take a constant-time scan of the whole list per
    /// word, slow in unoptimised test builds, and are checked in full by the vector
    /// and round-trip tests; here one shape in 16 goes through them.
    fn copy(share: &Slip39Share, via_text: bool) -> Slip39Share {
        if via_text {
            return parse(&share.to_words()).unwrap();
        }
        let fields = super::super::share::Fields {
            identifier: share.identifier(),
            extendable: share.extendable(),
            iteration_exponent: share.iteration_exponent(),
            group_index: share.group_index(),
            group_threshold: share.group_threshold(),
            group_count: share.group_count(),
            member_index: share.member_index(),
            member_threshold: share.member_threshold(),
        };
        Slip39Share::from_parts(fields, Zeroizing::new(share.value().to_vec()))
    }

    #[test]
    fn every_small_shape_round_trips() {
        let mut rng = ChaCha20Rng::seed_from_u64(0x5139);
        let params = Params {
            identifier: 0x2bcd,
            extendable: true,
            iteration_exponent: 0,
        };
        let mut shapes = 0usize;
        for group_count in 1..=4usize {
            let combos = PAIRS.len().pow(group_count as u32);
            for combo in 0..combos {
                let groups: Vec<GroupSpec> = (0..group_count)
                    .map(|g| {
                        let (t, n) = PAIRS[combo / PAIRS.len().pow(g as u32) % PAIRS.len()];
                        GroupSpec::new(t, n)
                    })
                    .collect();
                for gt in 1..=group_count as u8 {
                    let len = if shapes.is_multiple_of(2) { 16 } else { 32 };
                    let ems: Vec<u8> = (0..len)
                        .map(|i| (i as u8).wrapping_mul(29) ^ (shapes as u8))
                        .collect();
                    let split =
                        split_ems(&ems, params, gt, group_count as u8, &groups, &mut rng).unwrap();
                    // Pick gt groups and, in each, threshold members, rotating with the
                    // shape number so that different subsets are exercised.
                    let mut chosen = Vec::new();
                    for k in 0..usize::from(gt) {
                        let g = (k + shapes) % group_count;
                        let spec = groups[g];
                        let members = &split[g];
                        assert_eq!(members.len(), usize::from(spec.member_count));
                        for m in 0..usize::from(spec.member_threshold) {
                            let share = &members[(m + shapes) % members.len()];
                            chosen.push(copy(share, shapes.is_multiple_of(16)));
                        }
                    }
                    let (back, got) = recover_ems(&chosen).unwrap();
                    assert_eq!(&back[..], &ems[..], "groups {groups:?} gt {gt}");
                    assert_eq!(got.identifier, params.identifier);
                    // One share fewer is always refused.
                    chosen.pop();
                    assert!(matches!(
                        check_set(&chosen),
                        Err(RecoverError::TooFewMembers { .. }
                            | RecoverError::TooFewGroups { .. }
                            | RecoverError::NoShares)
                    ));
                    shapes += 1;
                }
            }
        }
        assert_eq!(shapes, 7 + 2 * 49 + 3 * 343 + 4 * 2401);
    }

    /// Every threshold-sized subset of a 3-of-5 group, with each other group.
    #[test]
    fn every_subset_recovers() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let params = Params {
            identifier: 1,
            extendable: false,
            iteration_exponent: 0,
        };
        let groups = [
            GroupSpec::new(3, 5),
            GroupSpec::new(1, 1),
            GroupSpec::new(2, 3),
        ];
        let ems = [0xa5u8; 20];
        let split = split_ems(&ems, params, 2, 3, &groups, &mut rng).unwrap();
        for a in 0..5 {
            for b in a + 1..5 {
                for c in b + 1..5 {
                    for other in [1usize, 2] {
                        let mut chosen: Vec<Slip39Share> = [a, b, c]
                            .iter()
                            .map(|&i| parse(&split[0][i].to_words()).unwrap())
                            .collect();
                        let t = usize::from(groups[other].member_threshold);
                        for share in split[other].iter().take(t) {
                            chosen.push(copy(share, true));
                        }
                        chosen.reverse();
                        assert_eq!(&recover_ems(&chosen).unwrap().0[..], &ems[..]);
                    }
                }
            }
        }
    }
}
