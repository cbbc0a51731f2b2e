//! The quorum margin: how many more officers could be lost while the officers with a
//! recent verified drill still form a quorum.
//!
//! For one group of threshold `t` with `v` such officers the margin is `v − t`. Below
//! quorum it is negative: `−k` means `k` more officers must drill before the drilled
//! officers alone can open the vault. A margin of 0 means exactly a quorum: losing any
//! one of them leaves too few.
//!
//! With groups (SLIP-0039: `G` of the groups must each meet their own threshold), a
//! group with `v ≥ t` is complete and stops being so after `v − t + 1` of its drilled
//! officers are lost. With `C ≥ G` complete groups, the cheapest way to fall below
//! quorum is to break the `C − G + 1` cheapest complete groups, so the margin is that
//! sum minus one. With `C < G`, it is minus the fewest officers who must still drill:
//! the `G − C` smallest shortfalls `t − v` among the incomplete groups, summed.

/// One group's drilled officers against its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCount {
    /// The group's member threshold.
    pub threshold: u8,
    /// Officers of the group with a recent verified drill.
    pub verified: u32,
}

impl GroupCount {
    /// This group alone: `verified − threshold`.
    pub fn margin(&self) -> i64 {
        i64::from(self.verified) - i64::from(self.threshold)
    }

    fn complete(&self) -> bool {
        self.verified >= u32::from(self.threshold)
    }
}

/// The margin of a vault needing `group_threshold` of `groups` (see the module docs).
/// A `group_threshold` of 0 or above the number of groups (never in a valid header)
/// is counted as the number of groups.
pub fn margin(group_threshold: u8, groups: &[GroupCount]) -> i64 {
    let needed = match usize::from(group_threshold) {
        0 => groups.len(),
        n => n.min(groups.len()),
    };
    let mut break_costs: Vec<i64> = groups
        .iter()
        .filter(|g| g.complete())
        .map(|g| g.margin() + 1)
        .collect();
    let complete = break_costs.len();
    if complete >= needed {
        break_costs.sort_unstable();
        let to_break = complete - needed + 1;
        return break_costs.iter().take(to_break).sum::<i64>() - 1;
    }
    let mut shortfalls: Vec<i64> = groups
        .iter()
        .filter(|g| !g.complete())
        .map(|g| -g.margin())
        .collect();
    shortfalls.sort_unstable();
    -shortfalls.iter().take(needed - complete).sum::<i64>()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    fn g(threshold: u8, verified: u32) -> GroupCount {
        GroupCount {
            threshold,
            verified,
        }
    }

    #[test]
    fn one_group() {
        assert_eq!(margin(1, &[g(3, 5)]), 2);
        assert_eq!(margin(1, &[g(3, 3)]), 0);
        assert_eq!(margin(1, &[g(3, 1)]), -2);
        assert_eq!(margin(1, &[g(3, 0)]), -3);
    }

    #[test]
    fn groups() {
        // 2 of 3 groups, all complete: two must break. The cheapest are the second
        // (1 officer) and the first or third (3 each): 4 losses break it, 3 do not.
        assert_eq!(margin(2, &[g(2, 4), g(2, 2), g(1, 3)]), 3);
        // Only the two groups needed are complete: lose one officer of the thinner.
        assert_eq!(margin(2, &[g(2, 3), g(2, 2), g(3, 0)]), 0);
        // One group short by 1, another by 3: 1 more officer is enough.
        assert_eq!(margin(2, &[g(2, 2), g(2, 1), g(3, 0)]), -1);
        // Both groups short.
        assert_eq!(margin(2, &[g(2, 0), g(2, 1)]), -3);
    }

    /// Brute force from the definition: for a non-negative margin, the largest `k` such
    /// that every way of losing `k` drilled officers leaves a quorum; for a negative
    /// one, minus the fewest undrilled officers whose drills would give a quorum.
    fn reference(gt: u8, groups: &[GroupCount]) -> i64 {
        let quorum = |v: &[u32]| {
            groups
                .iter()
                .zip(v)
                .filter(|(g, v)| **v >= u32::from(g.threshold))
                .count()
                >= usize::from(gt)
        };
        let verified: Vec<u32> = groups.iter().map(|g| g.verified).collect();
        // Every vector of per-group losses (or gains) of total `k`.
        fn vectors(limits: &[u32], k: u32) -> Vec<Vec<u32>> {
            match limits {
                [] => {
                    if k == 0 {
                        vec![vec![]]
                    } else {
                        vec![]
                    }
                }
                [first, rest @ ..] => (0..=k.min(*first))
                    .flat_map(|here| {
                        vectors(rest, k - here).into_iter().map(move |mut v| {
                            v.insert(0, here);
                            v
                        })
                    })
                    .collect(),
            }
        }
        if quorum(&verified) {
            let total: u32 = verified.iter().sum();
            let mut k = 0;
            while k < total {
                let all_hold = vectors(&verified, k + 1).iter().all(|loss| {
                    let left: Vec<u32> = verified.iter().zip(loss).map(|(v, l)| v - l).collect();
                    quorum(&left)
                });
                if !all_hold {
                    break;
                }
                k += 1;
            }
            i64::from(k)
        } else {
            let room: Vec<u32> = groups.iter().map(|g| 16 - g.verified).collect();
            for k in 1..=64 {
                let some = vectors(&room, k).iter().any(|gain| {
                    let now: Vec<u32> = verified.iter().zip(gain).map(|(v, a)| v + a).collect();
                    quorum(&now)
                });
                if some {
                    return -i64::from(k);
                }
            }
            panic!("no quorum reachable")
        }
    }

    proptest! {
        #[test]
        fn matches_the_definition(
            groups in prop::collection::vec((1u8..=4, 0u32..=5), 1..=4),
            gt_pick in 0usize..4,
        ) {
            let groups: Vec<GroupCount> = groups.into_iter().map(|(t, v)| g(t, v)).collect();
            let gt = u8::try_from(gt_pick % groups.len() + 1).unwrap();
            prop_assert_eq!(margin(gt, &groups), reference(gt, &groups));
        }
    }
}
