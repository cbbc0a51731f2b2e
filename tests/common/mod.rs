//! Helpers shared by the integration tests (each test file that needs them says
//! `mod common;`, so not every file uses every helper).
#![allow(dead_code)]

use std::fs;
use std::path::Path;

use svault::vault::{OfficerPlan, SlotParams, Unsealed, Vault};

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

/// Rewrites the header JSON of the vault file at `path` with `edit`, keeping the
/// version line and the payload bytes as they were.
pub fn edit_header(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let bytes = fs::read(path).unwrap();
    let first = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let end = first + bytes[first..].iter().position(|&b| b == b'\n').unwrap();
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[first..end]).unwrap();
    edit(&mut header);
    let mut out = bytes[..first].to_vec();
    out.extend_from_slice(&serde_json::to_vec(&header).unwrap());
    out.extend_from_slice(&bytes[end..]);
    fs::write(path, out).unwrap();
}

/// Opens the vault at `path`, submits `words` (each one share) and unseals it.
pub fn unseal_with<S: AsRef<str>>(path: &Path, words: &[S]) -> Unsealed {
    let mut sealed = Vault::open(path).unwrap();
    for w in words {
        sealed.submit_text(w.as_ref()).unwrap();
    }
    sealed.unseal().unwrap()
}
