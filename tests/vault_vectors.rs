//! Compatibility forever: every released format version's vault file, with its shares
//! and expected contents, opens with the current code (`vectors/vault/v*/`).
//!
//! Each directory holds `vault.svault`, `shares.txt` (one share per line; the first
//! `threshold` lines unseal it) and `expected.txt` (`name = value`, one per line).
//! `SVAULT_WRITE_VECTOR=v2 cargo test --test vault_vectors` writes a new directory
//! (for a new format version only: released ones are never rewritten).
//!
//! Beyond opening, each version's own fields are checked: `v1` has no generation and
//! no drill keys; `v2` (and later) has a generation and every officer's drill key,
//! derived from the share in `shares.txt` (FORMAT.md §4.1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::fs;
use std::path::PathBuf;

use svault::secret::SecretBytes;
use svault::share::slip39;
use svault::vault::{Draft, DrillKey, Plan, Vault};

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/vault")
}

#[test]
fn every_released_version_opens() {
    if let Ok(version) = std::env::var("SVAULT_WRITE_VECTOR") {
        write(&version);
    }
    let mut opened = 0;
    for entry in fs::read_dir(vectors()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let shares = fs::read_to_string(dir.join("shares.txt")).unwrap();
        let expected = fs::read_to_string(dir.join("expected.txt")).unwrap();
        let mut sealed = Vault::open(dir.join("vault.svault")).unwrap();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let version: u32 = name.trim_start_matches('v').parse().unwrap();
        assert_eq!(sealed.format_version(), version, "{name}");
        let header = sealed.header();
        if version == 1 {
            assert_eq!(header.generation, 0, "{name}");
            assert_eq!(
                header.officers_without_drill_key().len(),
                header.officers.len()
            );
        } else {
            assert!(header.generation >= 1, "{name}");
            for (officer, words) in header.officers.iter().zip(shares.lines()) {
                let share = slip39::parse(words).unwrap();
                let key = DrillKey::derive(&share, &header.vault_id.0, &officer.name);
                assert_eq!(officer.drill_key(), Some(key.verifying_key()), "{name}");
            }
        }
        let threshold = usize::from(sealed.header().split.groups[0].member_threshold);
        for line in shares.lines().take(threshold) {
            sealed.submit_text(line).unwrap();
        }
        let vault = sealed.unseal().unwrap();
        let mut count = 0;
        for line in expected.lines() {
            let (name, value) = line.split_once(" = ").unwrap();
            assert_eq!(
                vault.get(name).unwrap().expose(),
                value.as_bytes(),
                "{}: {name}",
                dir.display()
            );
            count += 1;
        }
        assert_eq!(vault.list().len(), count, "{}", dir.display());
        opened += 1;
    }
    assert!(
        opened >= 2,
        "the v1 and v2 vault vectors were not both found"
    );
}

fn write(version: &str) {
    let dir = vectors().join(version);
    fs::create_dir_all(&dir).unwrap();
    let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"])).unwrap();
    let shares: String = draft
        .issued()
        .iter()
        .map(|i| format!("{}\n", i.share.to_words().as_str()))
        .collect();
    let mut vault = draft
        .write_new(
            dir.join("vault.svault"),
            Some((
                "scripted",
                vec!["alice".into(), "bob".into(), "carol".into()],
            )),
        )
        .unwrap();
    let values = [
        ("api/token", "tok-0123456789"),
        ("db/password", "correct horse battery staple"),
        ("empty", ""),
    ];
    for (name, value) in values {
        vault
            .set(name, SecretBytes::from_slice(value.as_bytes()))
            .unwrap();
    }
    vault.save().unwrap();
    let _ = fs::remove_file(dir.join("vault.svault.bak"));
    let _ = fs::remove_file(dir.join("vault.svault.lock"));
    fs::write(dir.join("shares.txt"), shares).unwrap();
    let expected: String = values.iter().map(|(n, v)| format!("{n} = {v}\n")).collect();
    fs::write(dir.join("expected.txt"), expected).unwrap();
}
