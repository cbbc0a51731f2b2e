//! Helpers shared by the integration tests (each test file that needs them says
//! `mod common;`, so not every file uses every helper).
#![allow(dead_code)]

use svault::vault::{OfficerPlan, SlotParams};

/// Cheap Argon2id for tests (the default costs half a second per slot).
pub const FAST: SlotParams = SlotParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// Officers without keyslots, in member order.
pub fn officers(names: &[&str]) -> Vec<OfficerPlan> {
    names
        .iter()
        .map(|n| OfficerPlan {
            name: (*n).into(),
            keyslot: None,
        })
        .collect()
}
