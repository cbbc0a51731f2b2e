//! File-system attacks on a vault save: a symbolic link planted at `VAULT.lock`, a
//! vault reached through a symbolic link, a vault with another owner and mode, and a
//! vault others may write.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use svault::secret::SecretBytes;
use svault::vault::{Draft, Plan, Unsealed, Vault};

mod common;

/// A 2-of-3 vault at `path` holding `db/password = old`; returns two share texts.
fn make(path: &Path) -> Vec<String> {
    let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"])).unwrap();
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut unsealed = draft.write_new(path, None).unwrap();
    unsealed
        .set("db/password", SecretBytes::from_slice(b"old"))
        .unwrap();
    unsealed.save().unwrap();
    words[..2].to_vec()
}

fn value(path: &Path, words: &[String]) -> Vec<u8> {
    let unsealed: Unsealed = common::unseal_with(path, words);
    unsealed.get("db/password").unwrap().expose().to_vec()
}

#[test]
fn a_symlink_planted_at_the_lock_path_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.svault");
    let words = make(&path);
    let mut unsealed = common::unseal_with(&path, &words);
    // The attack: the lock path points at a file a privileged writer would create.
    let victim = dir.path().join("victim");
    fs::remove_file(dir.path().join("v.svault.lock")).unwrap();
    symlink(&victim, dir.path().join("v.svault.lock")).unwrap();
    unsealed
        .set("db/password", SecretBytes::from_slice(b"new"))
        .unwrap();
    let err = unsealed.save().unwrap_err().to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert!(err.contains("v.svault.lock"), "{err}");
    assert!(!victim.exists(), "the link's target was created");
    // An existing victim is not changed either.
    fs::write(&victim, b"precious").unwrap();
    assert!(unsealed.save().is_err());
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert_eq!(value(&path, &words), b"old");
}

#[test]
fn a_symlinked_vault_stays_a_link_and_its_target_gets_the_new_value() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("real");
    fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("v.svault");
    let words = make(&real);
    let link = dir.path().join("link.svault");
    symlink(&real, &link).unwrap();
    let mut unsealed = common::unseal_with(&link, &words);
    unsealed
        .set("db/password", SecretBytes::from_slice(b"new"))
        .unwrap();
    unsealed.save().unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_link(&link).unwrap(), real);
    assert_eq!(value(&real, &words), b"new");
    assert_eq!(value(&link, &words), b"new");
    // The backup and the lock live beside the real file, not beside the link.
    assert!(real_dir.join("v.svault.bak").exists());
    assert!(real_dir.join("v.svault.lock").exists());
    assert!(!dir.path().join("link.svault.bak").exists());
    assert!(!dir.path().join("link.svault.lock").exists());
}

#[test]
fn a_save_keeps_the_vaults_owner_group_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.svault");
    let words = make(&path);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let root = nix::unistd::geteuid().is_root();
    if root {
        std::os::unix::fs::chown(&path, Some(4321), Some(8765)).unwrap();
    }
    let mut unsealed = common::unseal_with(&path, &words);
    unsealed
        .set("db/password", SecretBytes::from_slice(b"new"))
        .unwrap();
    unsealed.save().unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    if root {
        assert_eq!((meta.uid(), meta.gid()), (4321, 8765));
    }
    assert_eq!(value(&path, &words), b"new");
}

#[test]
fn a_vault_others_can_write_is_refused_and_left_unchanged() {
    for mode in [0o666, 0o620] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svault");
        let words = make(&path);
        let mut unsealed = common::unseal_with(&path, &words);
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let before = fs::read(&path).unwrap();
        let err = Vault::open(&path).unwrap_err().to_string();
        assert!(
            err.contains("v.svault") && err.contains("writable by"),
            "{err}"
        );
        assert!(err.contains("chmod go-w"), "{err}");
        unsealed
            .set("db/password", SecretBytes::from_slice(b"new"))
            .unwrap();
        let err = unsealed.save().unwrap_err().to_string();
        assert!(err.contains("writable by"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, mode);
    }
}
