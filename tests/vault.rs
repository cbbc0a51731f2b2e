//! The vault file end to end: create, submit, unseal, edit, save; every refusal of a
//! share or passphrase; keyslots; versions; damage; lost updates; officers and rekeys.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use svault::secret::SecretBytes;
use svault::share::slip39;
use svault::vault::{
    Draft, FormatError, GroupPlan, OfficerPlan, OpenError, Plan, SaveError, Sealed, SubmitError,
    UnsealError, Vault,
};
use zeroize::Zeroizing;

use common::{FAST, edit_header, unseal_with};

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    words: Vec<String>,
}

fn fixture(threshold: u8, names: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.svault");
    let draft = Draft::new(&Plan::simple(threshold, names)).unwrap();
    let words = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut vault = draft
        .write_new(
            &path,
            Some(("scripted", names.iter().map(|n| n.to_string()).collect())),
        )
        .unwrap();
    vault
        .set("db/password", SecretBytes::from_slice(b"hunter2"))
        .unwrap();
    vault
        .set("api/token", SecretBytes::from_slice(b"tok-123"))
        .unwrap();
    vault.save().unwrap();
    Fixture {
        _dir: dir,
        path,
        words,
    }
}

#[test]
fn create_unseal_edit_save_reopen() {
    let f = fixture(2, &["alice", "bob", "carol"]);
    let mut sealed = Vault::open(&f.path).unwrap();
    assert_eq!(sealed.header().officers.len(), 3);
    assert_eq!(
        sealed.header().ceremony.as_ref().unwrap().verified,
        ["alice", "bob", "carol"]
    );
    assert_eq!(sealed.progress().to_string(), "0 of 2, need 2 more");
    assert!(matches!(
        sealed.unseal(),
        Err(UnsealError::NotEnough { .. })
    ));
    assert_eq!(
        sealed.submit_text(&f.words[1]).unwrap().to_string(),
        "1 of 2, need 1 more"
    );
    let p = sealed.submit_text(&f.words[2]).unwrap();
    assert_eq!(p.to_string(), "2 of 2, ready to unseal");
    assert_eq!(p.groups[0].officers, ["bob", "carol"]);
    let mut vault = sealed.unseal().unwrap();
    assert_eq!(vault.get("db/password").unwrap().expose(), b"hunter2");
    let names: Vec<String> = vault.list().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["api/token", "db/password"]);
    assert!(vault.remove("api/token"));
    assert!(!vault.remove("api/token"));
    vault.set("new", SecretBytes::from_slice(b"v")).unwrap();
    assert!(
        vault
            .set("bad name", SecretBytes::from_slice(b"v"))
            .is_err()
    );
    vault.save().unwrap();
    let again = unseal_with(&f.path, &[&f.words[0], &f.words[2]]);
    assert_eq!(again.get("new").unwrap().expose(), b"v");
    assert!(again.get("api/token").is_none());
    assert_eq!(again.get("db/password").unwrap().expose(), b"hunter2");
}

#[test]
fn every_pair_of_three_unseals() {
    let f = fixture(2, &["a", "b", "c"]);
    for (i, j) in [(0, 1), (0, 2), (1, 2), (2, 0)] {
        let v = unseal_with(&f.path, &[&f.words[i], &f.words[j]]);
        assert_eq!(v.get("db/password").unwrap().expose(), b"hunter2");
    }
}

#[test]
fn a_mistyped_share_is_located_before_anything_else() {
    let f = fixture(2, &["a", "b", "c"]);
    let mut sealed = Vault::open(&f.path).unwrap();
    let mut words: Vec<&str> = f.words[0].split(' ').collect();
    words[4] = "zzzz";
    let err = sealed.submit_text(&words.join(" ")).unwrap_err();
    assert!(matches!(err, SubmitError::Parse(_)), "{err}");
    assert!(err.to_string().contains("word 5"), "{err}");
    assert_eq!(sealed.progress().groups[0].have, 0);
}

#[test]
fn a_header_edit_that_keeps_commitments_is_caught_at_unseal() {
    let f = fixture(2, &["alice", "bob", "carol"]);
    edit_header(&f.path, |h| h["officers"][0]["name"] = "mallory".into());
    let mut sealed = Vault::open(&f.path).unwrap();
    sealed.submit_text(&f.words[0]).unwrap();
    sealed.submit_text(&f.words[1]).unwrap();
    let err = sealed.unseal().unwrap_err();
    assert!(
        matches!(err, UnsealError::Authentication { backup: Some(_) }),
        "{err}"
    );
    assert!(err.to_string().contains("changed or damaged"), "{err}");
    assert!(err.to_string().contains(".bak"), "{err}");
}

#[test]
fn a_split_parameter_mismatch_is_named() {
    let f = fixture(2, &["a", "b", "c"]);
    edit_header(&f.path, |h| h["split"]["iteration_exponent"] = 3.into());
    let mut sealed = Vault::open(&f.path).unwrap();
    let err = sealed.submit_text(&f.words[0]).unwrap_err();
    assert!(
        matches!(
            err,
            SubmitError::SplitMismatch {
                field: "iteration exponent"
            }
        ),
        "{err}"
    );
}

#[test]
fn a_member_the_vault_does_not_have_is_named() {
    let f = fixture(2, &["a", "b", "c"]);
    let mut vault = unseal_with(&f.path, &[&f.words[0], &f.words[1]]);
    // A new member made in memory but never saved: the file has no such officer.
    let issued = vault.add_officer(0, "dave", None).unwrap();
    let mut sealed = Vault::open(&f.path).unwrap();
    let err = sealed.submit(issued.share).unwrap_err();
    assert!(
        matches!(
            err,
            SubmitError::NoSuchMember {
                group: 0,
                member: 3
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("member 4 of group 1"), "{err}");
}

#[test]
fn an_added_officer_works_with_the_old_shares() {
    let f = fixture(2, &["a", "b", "c"]);
    let mut vault = unseal_with(&f.path, &[&f.words[0], &f.words[1]]);
    let dave = vault
        .add_officer(0, "dave", None)
        .unwrap()
        .share
        .to_words()
        .to_string();
    vault.save().unwrap();
    let v = unseal_with(&f.path, &[&dave, &f.words[2]]);
    assert_eq!(v.get("db/password").unwrap().expose(), b"hunter2");
    assert_eq!(v.header().officers.len(), 4);
    // The original shares are unchanged and still work together.
    let v = unseal_with(&f.path, &[&f.words[2], &f.words[0]]);
    assert_eq!(v.get("db/password").unwrap().expose(), b"hunter2");
}

fn keyslot_fixture(passphrase: &[u8]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slots.svault");
    let plan = Plan {
        group_threshold: 1,
        groups: vec![GroupPlan {
            name: "officers".into(),
            member_threshold: 2,
            officers: vec![
                OfficerPlan {
                    name: "alice".into(),
                    keyslot: Some(Zeroizing::new(passphrase.to_vec())),
                },
                OfficerPlan {
                    name: "bob".into(),
                    keyslot: None,
                },
                OfficerPlan {
                    name: "carol".into(),
                    keyslot: None,
                },
            ],
        }],
        secret_bytes: 16,
        slot_params: FAST,
    };
    let draft = Draft::new(&plan).unwrap();
    let words = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut vault = draft.write_new(&path, None).unwrap();
    vault.set("k", SecretBytes::from_slice(b"v")).unwrap();
    vault.save().unwrap();
    Fixture {
        _dir: dir,
        path,
        words,
    }
}

#[test]
fn keyslot_passphrases_are_byte_exact_at_every_length() {
    for len in [1usize, 8, 9, 72, 73, 1000] {
        let passphrase: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let f = keyslot_fixture(&passphrase);
        let mut sealed = Vault::open(&f.path).unwrap();
        if len > 1 {
            let err = sealed
                .submit_passphrase("alice", &passphrase[..len - 1])
                .unwrap_err();
            assert!(
                matches!(&err, SubmitError::WrongPassphrase { officer } if officer == "alice"),
                "{len}: {err}"
            );
            assert_eq!(
                err.to_string(),
                "the passphrase does not open alice's keyslot; no other slot is affected, try again"
            );
            let mut longer = passphrase.clone();
            longer.push(b'x');
            assert!(sealed.submit_passphrase("alice", &longer).is_err(), "{len}");
        }
        if len >= 9 {
            assert!(
                sealed.submit_passphrase("alice", &passphrase[..8]).is_err(),
                "{len}: truncated to 8"
            );
        }
        sealed.submit_passphrase("alice", &passphrase).unwrap();
        sealed.submit_text(&f.words[2]).unwrap();
        assert_eq!(
            sealed.unseal().unwrap().get("k").unwrap().expose(),
            b"v",
            "{len}"
        );
    }
}

#[test]
fn keyslot_refusals_name_the_officer() {
    let f = keyslot_fixture(b"pass");
    let mut sealed = Vault::open(&f.path).unwrap();
    assert!(
        matches!(sealed.submit_passphrase("bob", b"pass").unwrap_err(), SubmitError::NoSlot { officer } if officer == "bob")
    );
    assert!(
        matches!(sealed.submit_passphrase("zed", b"pass").unwrap_err(), SubmitError::NoSuchOfficer { name } if name == "zed")
    );
    // Alice's slot and her paper share are the same officer: not twice.
    sealed.submit_passphrase("alice", b"pass").unwrap();
    assert!(matches!(
        sealed.submit_text(&f.words[0]).unwrap_err(),
        SubmitError::AlreadySubmitted { .. }
    ));
}

#[test]
fn a_newer_format_version_is_refused_and_the_file_untouched() {
    let f = fixture(2, &["a", "b", "c"]);
    let mut bytes = fs::read(&f.path).unwrap();
    let prefix = b"svault-vault 2\n";
    assert!(bytes.starts_with(prefix));
    bytes.splice(..prefix.len(), b"svault-vault 3\n".iter().copied());
    fs::write(&f.path, &bytes).unwrap();
    let modified = fs::metadata(&f.path).unwrap().modified().unwrap();
    let err = Vault::open(&f.path).unwrap_err();
    assert!(
        matches!(
            &err,
            OpenError::Format {
                source: FormatError::NewerVersion {
                    found: 3,
                    supported: 2
                },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("format version 3"), "{err}");
    assert!(err.to_string().contains("up to 2"), "{err}");
    assert_eq!(fs::read(&f.path).unwrap(), bytes);
    assert_eq!(fs::metadata(&f.path).unwrap().modified().unwrap(), modified);
}

#[test]
fn not_a_vault_and_missing_files_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x");
    assert!(matches!(
        Vault::open(&path).unwrap_err(),
        OpenError::Io { .. }
    ));
    fs::write(&path, b"hello").unwrap();
    assert!(matches!(
        Vault::open(&path).unwrap_err(),
        OpenError::Format {
            source: FormatError::NotAVault,
            ..
        }
    ));
}

/// What opening and unsealing damaged bytes gives: an error, or the credential.
fn try_read(bytes: Vec<u8>, words: &[String]) -> Result<Vec<u8>, String> {
    let mut sealed = Sealed::from_bytes(bytes).map_err(|e| e.to_string())?;
    for w in &words[..2] {
        sealed.submit_text(w).map_err(|e| e.to_string())?;
    }
    let vault = sealed.unseal().map_err(|e| e.to_string())?;
    Ok(vault
        .get("db/password")
        .map(|v| v.expose().to_vec())
        .unwrap_or_default())
}

#[test]
fn every_single_bit_flip_and_truncation_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.svault");
    let mut plan = Plan::simple(2, &["a", "b"]);
    plan.secret_bytes = 16;
    let draft = Draft::new(&plan).unwrap();
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut vault = draft.write_new(&path, None).unwrap();
    vault
        .set("db/password", SecretBytes::from_slice(b"hunter2"))
        .unwrap();
    vault.save().unwrap();
    let good = fs::read(&path).unwrap();
    assert_eq!(try_read(good.clone(), &words).unwrap(), b"hunter2");
    // Every bit position, on both cores: each flip must be refused somewhere between
    // parsing and authentication, and never yield a credential.
    let bits: Vec<usize> = (0..good.len() * 8).collect();
    std::thread::scope(|scope| {
        for half in bits.chunks(bits.len().div_ceil(2)) {
            let (good, words) = (&good, &words);
            scope.spawn(move || {
                for &bit in half {
                    let mut bad = good.clone();
                    bad[bit / 8] ^= 1 << (bit % 8);
                    if let Ok(value) = try_read(bad, words) {
                        panic!("bit {bit} flipped and the vault still opened (value {value:?})");
                    }
                }
            });
        }
    });
    for cut in 0..good.len() {
        let err = try_read(good[..cut].to_vec(), &words).unwrap_err();
        assert!(!err.is_empty(), "cut at {cut}");
    }
    eprintln!(
        "{} single-bit flips and {} truncations of a {}-byte vault tried; 0 gave a credential",
        bits.len(),
        good.len(),
        good.len()
    );
}

#[test]
fn a_second_writer_cannot_lose_the_first_writers_update() {
    let f = fixture(2, &["a", "b", "c"]);
    let mut first = unseal_with(&f.path, &[&f.words[0], &f.words[1]]);
    let mut second = unseal_with(&f.path, &[&f.words[1], &f.words[2]]);
    first
        .set("db/password", SecretBytes::from_slice(b"from-first"))
        .unwrap();
    first.save().unwrap();
    second
        .set("db/password", SecretBytes::from_slice(b"from-second"))
        .unwrap();
    let before = fs::read(&f.path).unwrap();
    let err = second.save().unwrap_err();
    assert!(matches!(err, SaveError::ChangedSinceOpen { .. }), "{err}");
    assert_eq!(fs::read(&f.path).unwrap(), before);
    let v = unseal_with(&f.path, &[&f.words[0], &f.words[2]]);
    assert_eq!(v.get("db/password").unwrap().expose(), b"from-first");
}

#[test]
fn write_new_never_replaces_an_existing_file() {
    let f = fixture(2, &["a", "b"]);
    let before = fs::read(&f.path).unwrap();
    let err = Draft::new(&Plan::simple(2, &["x", "y"]))
        .unwrap()
        .write_new(&f.path, None)
        .unwrap_err();
    assert!(matches!(err, SaveError::Io { .. }), "{err}");
    assert_eq!(fs::read(&f.path).unwrap(), before);
}

#[test]
fn groups_report_progress_per_group() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.svault");
    let officers = common::officers;
    let plan = Plan {
        group_threshold: 2,
        groups: vec![
            GroupPlan {
                name: "ops".into(),
                member_threshold: 2,
                officers: officers(&["o1", "o2", "o3"]),
            },
            GroupPlan {
                name: "board".into(),
                member_threshold: 1,
                officers: officers(&["b1"]),
            },
            GroupPlan {
                name: "legal".into(),
                member_threshold: 2,
                officers: officers(&["l1", "l2"]),
            },
        ],
        secret_bytes: 16,
        slot_params: FAST,
    };
    let draft = Draft::new(&plan).unwrap();
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    draft.write_new(&path, None).unwrap();
    let mut sealed = Vault::open(&path).unwrap();
    sealed.submit_text(&words[0]).unwrap();
    let p = sealed.submit_text(&words[3]).unwrap();
    assert_eq!(
        p.to_string(),
        "group ops: 1 of 2, group board: 1 of 1 (complete), group legal: 0 of 2; 1 of 2 groups complete, need 1 more"
    );
    sealed.submit_text(&words[5]).unwrap();
    assert!(!sealed.progress().is_complete());
    sealed.submit_text(&words[2]).unwrap();
    assert!(sealed.progress().is_complete());
    assert!(sealed.unseal().is_ok());
    // Shares of a SLIP-0039 tool's own making are plain SLIP-0039: recover directly.
    let master = slip39::recover_text(
        &[&words[3], &words[4], &words[5]],
        &slip39::Passphrase::empty(),
    )
    .unwrap();
    assert_eq!(master.len(), 16);
}

#[test]
fn a_payload_swapped_in_from_another_vault_is_refused() {
    let a = fixture(2, &["a", "b", "c"]);
    let b = fixture(2, &["a", "b", "c"]);
    let split = |bytes: &[u8]| {
        let first = bytes.iter().position(|&c| c == b'\n').unwrap() + 1;
        first + bytes[first..].iter().position(|&c| c == b'\n').unwrap() + 1
    };
    let (bytes_a, bytes_b) = (fs::read(&a.path).unwrap(), fs::read(&b.path).unwrap());
    let mut swapped = bytes_a[..split(&bytes_a)].to_vec();
    swapped.extend_from_slice(&bytes_b[split(&bytes_b)..]);
    fs::write(&a.path, &swapped).unwrap();
    let mut sealed = Vault::open(&a.path).unwrap();
    sealed.submit_text(&a.words[0]).unwrap();
    sealed.submit_text(&a.words[1]).unwrap();
    let err = sealed.unseal().unwrap_err();
    assert!(matches!(err, UnsealError::Authentication { .. }), "{err}");
    assert_eq!(fs::read(&a.path).unwrap(), swapped, "nothing was changed");
}

/// How far a tampered file got: refused at open, at a share or passphrase (named), at
/// unseal, or opened with this credential.
fn tampered_outcome(path: &Path, words: &[String]) -> Result<Vec<u8>, (&'static str, String)> {
    let mut sealed = Vault::open(path).map_err(|e| ("open", e.to_string()))?;
    sealed
        .submit_passphrase("alice", b"pass")
        .map_err(|e| ("entry", e.to_string()))?;
    sealed
        .submit_text(&words[1])
        .map_err(|e| ("entry", e.to_string()))?;
    let vault = sealed.unseal().map_err(|e| ("unseal", e.to_string()))?;
    Ok(vault
        .get("k")
        .map(|v| v.expose().to_vec())
        .unwrap_or_default())
}

#[test]
fn every_header_field_edit_is_refused_and_never_gives_a_credential() {
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 20] = [
        ("officer name", |h| {
            h["officers"][1]["name"] = "mallory".into()
        }),
        ("officer order", |h| {
            h["officers"].as_array_mut().unwrap().swap(1, 2);
        }),
        ("officer member index", |h| {
            h["officers"][1]["member"] = 5.into()
        }),
        ("member threshold down", |h| {
            h["split"]["groups"][0]["member_threshold"] = 1.into();
        }),
        ("member threshold up", |h| {
            h["split"]["groups"][0]["member_threshold"] = 3.into();
        }),
        ("group threshold", |h| {
            h["split"]["group_threshold"] = 2.into()
        }),
        ("split identifier", |h| h["split"]["identifier"] = 1.into()),
        ("commitment digest", |h| {
            h["officers"][1]["commitment"]["digest"] = "00".repeat(32).into();
        }),
        ("commitment salt", |h| {
            h["officers"][1]["commitment"]["salt"] = "00".repeat(16).into();
        }),
        ("keyslot memory", |h| {
            h["officers"][0]["slot"]["memory_kib"] = 128.into();
        }),
        ("keyslot iterations", |h| {
            h["officers"][0]["slot"]["iterations"] = 2.into();
        }),
        ("keyslot salt", |h| {
            h["officers"][0]["slot"]["salt"] = "00".repeat(16).into();
        }),
        ("keyslot removed", |h| {
            h["officers"][0]["slot"] = serde_json::Value::Null
        }),
        ("vault id", |h| h["vault_id"] = "00".repeat(16).into()),
        ("payload salt", |h| {
            h["payload"]["salt"] = "00".repeat(32).into()
        }),
        ("created time", |h| h["created"] = 1.into()),
        ("generation raised", |h| {
            h["generation"] = (h["generation"].as_u64().unwrap() + 1).into()
        }),
        ("generation lowered", |h| {
            h["generation"] = (h["generation"].as_u64().unwrap() - 1).into()
        }),
        ("drill keys swapped", |h| {
            let a = h["officers"][0]["drill_key"].take();
            let b = h["officers"][1]["drill_key"].take();
            h["officers"][0]["drill_key"] = b;
            h["officers"][1]["drill_key"] = a;
        }),
        ("drill key removed", |h| {
            h["officers"][1]["drill_key"] = serde_json::Value::Null
        }),
    ];
    let f = keyslot_fixture(b"pass");
    let good = fs::read(&f.path).unwrap();
    assert_eq!(tampered_outcome(&f.path, &f.words).unwrap(), b"v");
    let mut refused_at = std::collections::BTreeMap::new();
    for (field, edit) in edits {
        fs::write(&f.path, &good).unwrap();
        edit_header(&f.path, edit);
        let tampered = fs::read(&f.path).unwrap();
        assert_ne!(tampered, good, "{field}: the edit changed nothing");
        let (stage, message) = match tampered_outcome(&f.path, &f.words) {
            Ok(value) => panic!("{field}: the edited vault opened and gave {value:?}"),
            Err(refusal) => refusal,
        };
        assert!(!message.is_empty(), "{field}");
        assert_eq!(
            fs::read(&f.path).unwrap(),
            tampered,
            "{field}: file changed"
        );
        eprintln!("{field}: refused at {stage}: {message}");
        *refused_at.entry(stage).or_insert(0) += 1;
    }
    // The version line too: a newer one is refused at open, an older one likewise (a
    // format-1 line over a format-2 header: it has fields format 1 never had).
    for version in [
        &b"svault-vault 3\n"[..],
        b"svault-vault 1\n",
        b"svault-vault 0\n",
    ] {
        let mut bytes = good.clone();
        bytes.splice(..version.len(), version.iter().copied());
        fs::write(&f.path, &bytes).unwrap();
        assert_eq!(tampered_outcome(&f.path, &f.words).unwrap_err().0, "open");
        *refused_at.entry("open").or_insert(0) += 1;
    }
    let tried: usize = refused_at.values().sum();
    eprintln!("{tried} header edits, 0 credentials given; refused at: {refused_at:?}");
}
