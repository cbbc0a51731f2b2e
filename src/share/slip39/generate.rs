//! `GenerateShares`: encrypt the master secret with the passphrase, split it into
//! groups, and split each group among its members.

use rand::rngs::OsRng;
use rand::{CryptoRng, RngCore};

use super::cipher::{self, Params};
use super::error::GenerateError;
use super::secret::{MasterSecret, Passphrase};
use super::share::{Fields, Slip39Share};
use super::sss;

/// Most groups, and most members in a group, that the 4-bit fields can name.
const MAX_SHARES: usize = 16;

/// One group of a split: how many members it has and how many of them are needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupSpec {
    /// Members needed to rebuild the group's share, 1 to `member_count`.
    pub member_threshold: u8,
    /// Members in the group, 1 to 16. A threshold of 1 requires exactly 1 member.
    pub member_count: u8,
}

impl GroupSpec {
    /// A group of `member_count` members of which `member_threshold` are needed.
    pub fn new(member_threshold: u8, member_count: u8) -> GroupSpec {
        GroupSpec {
            member_threshold,
            member_count,
        }
    }
}

/// Choices that are not part of the group layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenerateOptions {
    /// PBKDF2 runs `10000 × 2^e` iterations in total; 0 to 15. Default 1.
    pub iteration_exponent: u8,
    /// Whether the identifier stays out of the passphrase encryption (SLIP-0039 says
    /// new shares SHOULD set this). Default `true`.
    pub extendable: bool,
}

impl Default for GenerateOptions {
    fn default() -> GenerateOptions {
        GenerateOptions {
            iteration_exponent: 1,
            extendable: true,
        }
    }
}

/// Splits `secret` into SLIP-0039 shares, with randomness from `rng`.
///
/// `group_threshold` of the `groups` are needed; group `i` is split among
/// `groups[i].member_count` members of which `groups[i].member_threshold` are needed.
/// For a plain T-of-N split, pass one group `GroupSpec::new(T, N)` and a group
/// threshold of 1. The result holds one list of shares per group, in order.
///
/// # Errors
///
/// [`GenerateError::GroupCount`], [`GenerateError::GroupThreshold`],
/// [`GenerateError::MemberCount`], [`GenerateError::MemberThreshold`],
/// [`GenerateError::SingleThresholdGroup`] (threshold 1 with more than one member,
/// which SLIP-0039 forbids) and [`GenerateError::IterationExponent`] for a layout the
/// format cannot hold; [`GenerateError::Internal`] should never occur.
///
/// # Security
///
/// `rng` must be a cryptographic generator; it picks the identifier, the digest key
/// and the random shares. The layout and options are public; the secret and the
/// passphrase only pass through constant-time code.
pub fn generate_with_rng<R: RngCore + CryptoRng + ?Sized>(
    secret: &MasterSecret,
    passphrase: &Passphrase,
    group_threshold: u8,
    groups: &[GroupSpec],
    options: GenerateOptions,
    rng: &mut R,
) -> Result<Vec<Vec<Slip39Share>>, GenerateError> {
    check_layout(group_threshold, groups, options)?;
    // check_layout bounds the group count by 16.
    let group_count = u8::try_from(groups.len()).map_err(|_| GenerateError::GroupCount {
        groups: groups.len(),
    })?;
    let identifier = u16::try_from(rng.next_u32() & 0x7fff).unwrap_or(0);
    let params = Params {
        identifier,
        extendable: options.extendable,
        iteration_exponent: options.iteration_exponent,
    };
    let ems = cipher::encrypt(secret.as_bytes(), passphrase.as_bytes(), params);
    split_ems(&ems, params, group_threshold, group_count, groups, rng)
}

/// Steps 5 to 7 of `GenerateShares`: the two-level split of the encrypted master
/// secret into shares carrying `params`. The layout has been checked.
pub(crate) fn split_ems<R: RngCore + CryptoRng + ?Sized>(
    ems: &[u8],
    params: Params,
    group_threshold: u8,
    group_count: u8,
    groups: &[GroupSpec],
    rng: &mut R,
) -> Result<Vec<Vec<Slip39Share>>, GenerateError> {
    let group_shares = sss::split_secret(group_threshold, group_count, ems, rng)
        .map_err(|_| GenerateError::Internal)?;

    let mut out = Vec::with_capacity(groups.len());
    for (spec, group_share) in groups.iter().zip(&group_shares) {
        let members = sss::split_secret(
            spec.member_threshold,
            spec.member_count,
            group_share.y(),
            rng,
        )
        .map_err(|_| GenerateError::Internal)?;
        let shares = members
            .into_iter()
            .map(|m| {
                let fields = Fields {
                    identifier: params.identifier,
                    extendable: params.extendable,
                    iteration_exponent: params.iteration_exponent,
                    group_index: group_share.x(),
                    group_threshold,
                    group_count,
                    member_index: m.x(),
                    member_threshold: spec.member_threshold,
                };
                Slip39Share::from_parts(fields, zeroize::Zeroizing::new(m.y().to_vec()))
            })
            .collect();
        out.push(shares);
    }
    Ok(out)
}

/// [`generate_with_rng`] with the operating system's generator.
///
/// # Errors
///
/// As [`generate_with_rng`].
pub fn generate(
    secret: &MasterSecret,
    passphrase: &Passphrase,
    group_threshold: u8,
    groups: &[GroupSpec],
    options: GenerateOptions,
) -> Result<Vec<Vec<Slip39Share>>, GenerateError> {
    generate_with_rng(
        secret,
        passphrase,
        group_threshold,
        groups,
        options,
        &mut OsRng,
    )
}

fn check_layout(
    group_threshold: u8,
    groups: &[GroupSpec],
    options: GenerateOptions,
) -> Result<(), GenerateError> {
    if options.iteration_exponent > 15 {
        return Err(GenerateError::IterationExponent {
            exponent: options.iteration_exponent,
        });
    }
    if groups.is_empty() || groups.len() > MAX_SHARES {
        return Err(GenerateError::GroupCount {
            groups: groups.len(),
        });
    }
    if group_threshold == 0 || usize::from(group_threshold) > groups.len() {
        return Err(GenerateError::GroupThreshold {
            threshold: group_threshold,
            groups: groups.len(),
        });
    }
    for (i, g) in groups.iter().enumerate() {
        let group = i + 1;
        if g.member_count == 0 || usize::from(g.member_count) > MAX_SHARES {
            return Err(GenerateError::MemberCount {
                group,
                count: g.member_count,
            });
        }
        if g.member_threshold == 0 || g.member_threshold > g.member_count {
            return Err(GenerateError::MemberThreshold {
                group,
                threshold: g.member_threshold,
                count: g.member_count,
            });
        }
        // SLIP-0039, GenerateShares step 1: "If Ti = 1 and Ni > 1 for any i, then abort."
        if g.member_threshold == 1 && g.member_count > 1 {
            return Err(GenerateError::SingleThresholdGroup {
                group,
                count: g.member_count,
            });
        }
    }
    Ok(())
}
