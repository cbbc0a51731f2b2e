//! Format 2 (FORMAT.md §2.1, §4.1): the generation and the officers' drill keys in the
//! authenticated header; format-1 files opening and upgrading at their next save; every
//! bad value of the new fields refused at open, naming the field, the file unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use svault::secret::SecretBytes;
use svault::share::slip39;
use svault::vault::drill::VerifyingKey;
use svault::vault::format::to_hex;
use svault::vault::{
    Draft, DrillKey, FormatError, GroupPlan, OpenError, Plan, Sealed, SubmitError, UnsealError,
    Vault,
};

use common::{FAST, edit_header, officers, unseal_with};

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    words: Vec<String>,
}

fn fixture(names: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.svault");
    let mut plan = Plan::simple(2, names);
    plan.slot_params = FAST;
    plan.groups[0].officers[0].keyslot = Some(zeroize::Zeroizing::new(b"pass".to_vec()));
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

/// The v1 vector copied into a temporary directory, with its shares.
fn v1_copy() -> (tempfile::TempDir, PathBuf, Vec<String>) {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/vault/v1");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.svault");
    fs::copy(src.join("vault.svault"), &path).unwrap();
    let words = fs::read_to_string(src.join("shares.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (dir, path, words)
}

fn derived(sealed: &Sealed, words: &str, officer: &str) -> VerifyingKey {
    let share = slip39::parse(words).unwrap();
    DrillKey::derive(&share, &sealed.header().vault_id.0, officer).verifying_key()
}

fn version_line(path: &Path) -> String {
    let bytes = fs::read(path).unwrap();
    let end = bytes.iter().position(|&b| b == b'\n').unwrap();
    String::from_utf8(bytes[..end].to_vec()).unwrap()
}

#[test]
fn a_new_vault_is_format_2_with_a_drill_key_per_officer_and_generation_counting_saves() {
    let f = fixture(&["alice", "bob", "carol"]);
    assert_eq!(version_line(&f.path), "svault-vault 2");
    let sealed = Vault::open(&f.path).unwrap();
    assert_eq!(sealed.format_version(), 2);
    // write_new wrote generation 1, the save after set wrote 2.
    assert_eq!(sealed.header().generation, 2);
    for (name, words) in ["alice", "bob", "carol"].iter().zip(&f.words) {
        let stored = sealed.header().drill_key(name).unwrap();
        assert_eq!(stored, derived(&sealed, words, name), "{name}");
    }
    assert!(sealed.header().officers_without_drill_key().is_empty());
    let keys: Vec<_> = sealed
        .header()
        .officers
        .iter()
        .map(|o| o.drill_key.unwrap())
        .collect();
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);

    let mut vault = unseal_with(&f.path, &f.words[1..]);
    assert_eq!(vault.header().generation, 2);
    for expected in 3..6 {
        vault.save().unwrap();
        assert_eq!(vault.header().generation, expected);
        assert_eq!(Vault::open(&f.path).unwrap().header().generation, expected);
    }
}

#[test]
fn the_keyslot_officer_has_the_key_of_the_share_the_slot_seals() {
    let f = fixture(&["alice", "bob", "carol"]);
    let sealed = Vault::open(&f.path).unwrap();
    let share = sealed.open_slot("alice", b"pass").unwrap();
    let (officer, key) = sealed.drill_key(&share).unwrap();
    assert_eq!(officer.name, "alice");
    assert_eq!(
        Some(key.verifying_key()),
        sealed.header().drill_key("alice")
    );
    assert_eq!(key.verifying_key(), derived(&sealed, &f.words[0], "alice"));
}

#[test]
fn drill_key_checks_the_share_first_and_signs_verifiably() {
    let f = fixture(&["alice", "bob", "carol"]);
    let sealed = Vault::open(&f.path).unwrap();
    let (officer, key) = sealed
        .drill_key(&slip39::parse(&f.words[2]).unwrap())
        .unwrap();
    assert_eq!(officer.name, "carol");
    let public = sealed.header().drill_key("carol").unwrap();
    let signature = key.sign(b"a drill record");
    assert!(public.verify_strict(b"a drill record", &signature).is_ok());
    assert!(
        sealed
            .header()
            .drill_key("bob")
            .unwrap()
            .verify_strict(b"a drill record", &signature)
            .is_err()
    );
    // The secret half never shows.
    let shown = format!("{key:?}");
    assert!(shown.contains(&to_hex(&key.public_bytes())), "{shown}");

    // A share of another vault is refused before any key is derived.
    let other = fixture(&["alice", "bob", "carol"]);
    let err = sealed
        .drill_key(&slip39::parse(&other.words[0]).unwrap())
        .unwrap_err();
    assert!(matches!(err, SubmitError::OtherVault { .. }), "{err}");
}

#[test]
fn a_header_holding_another_drill_key_is_named_and_fails_to_unseal() {
    let f = fixture(&["alice", "bob", "carol"]);
    // Bob's public key put in carol's place: a valid key, but not carol's. Bob's own
    // entry gets a third, unrelated key so that the header's keys stay distinct.
    let stranger = DrillKey::derive(&slip39::parse(&f.words[1]).unwrap(), &[9; 16], "stranger");
    edit_header(&f.path, |h| {
        h["officers"][2]["drill_key"] = h["officers"][1]["drill_key"].clone();
        h["officers"][1]["drill_key"] = to_hex(&stranger.public_bytes()).into();
    });
    let before = fs::read(&f.path).unwrap();
    let mut sealed = Vault::open(&f.path).unwrap();
    let err = sealed
        .drill_key(&slip39::parse(&f.words[2]).unwrap())
        .unwrap_err();
    assert!(
        matches!(&err, SubmitError::DrillKeyMismatch { officer } if officer == "carol"),
        "{err}"
    );
    assert!(err.to_string().contains("carol's drill key"), "{err}");
    // The header is the payload's associated data: the edit is caught at unseal.
    sealed.submit_text(&f.words[1]).unwrap();
    sealed.submit_text(&f.words[2]).unwrap();
    assert!(matches!(
        sealed.unseal().unwrap_err(),
        UnsealError::Authentication { .. }
    ));
    assert_eq!(fs::read(&f.path).unwrap(), before);
}

#[test]
fn unsealed_drill_keys_are_those_of_the_officers_who_took_part() {
    let f = fixture(&["alice", "bob", "carol"]);
    let mut sealed = Vault::open(&f.path).unwrap();
    sealed.submit_text(&f.words[2]).unwrap();
    sealed.submit_passphrase("alice", b"pass").unwrap();
    let mut vault = sealed.unseal().unwrap();
    let keys = vault.drill_keys();
    let names: Vec<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["carol", "alice"]);
    for (name, key) in &keys {
        assert_eq!(
            Some(key.verifying_key()),
            vault.header().drill_key(name),
            "{name}"
        );
    }
    vault.forget_shares();
    assert!(vault.drill_keys().is_empty());
}

#[test]
fn a_format_1_vault_opens_and_upgrades_at_its_next_save_with_keys_for_who_took_part() {
    let (_dir, path, words) = v1_copy();
    assert_eq!(version_line(&path), "svault-vault 1");
    let sealed = Vault::open(&path).unwrap();
    assert_eq!(sealed.format_version(), 1);
    assert_eq!(sealed.header().generation, 0);
    assert_eq!(
        sealed.header().officers_without_drill_key(),
        ["alice", "bob", "carol"]
    );
    let expect_alice = derived(&sealed, &words[0], "alice");
    let expect_carol = derived(&sealed, &words[2], "carol");

    // An unseal alone writes nothing.
    let before = fs::read(&path).unwrap();
    let mut vault = unseal_with(&path, &[&words[0], &words[2]]);
    assert_eq!(fs::read(&path).unwrap(), before);
    // In memory the header has gained the two keys; the save writes them.
    assert_eq!(vault.header().officers_without_drill_key(), ["bob"]);
    vault.save().unwrap();

    assert_eq!(version_line(&path), "svault-vault 2");
    let sealed = Vault::open(&path).unwrap();
    assert_eq!(sealed.format_version(), 2);
    assert_eq!(sealed.header().generation, 1);
    assert_eq!(sealed.header().drill_key("alice"), Some(expect_alice));
    assert_eq!(sealed.header().drill_key("carol"), Some(expect_carol));
    assert_eq!(sealed.header().drill_key("bob"), None);
    assert_eq!(sealed.header().officers_without_drill_key(), ["bob"]);
    // The upgraded file still holds the vector's credentials, and bob's next turn
    // gives him his key.
    let mut vault = unseal_with(&path, &[&words[1], &words[0]]);
    assert_eq!(
        vault.get("db/password").unwrap().expose(),
        b"correct horse battery staple"
    );
    vault.save().unwrap();
    let sealed = Vault::open(&path).unwrap();
    assert_eq!(sealed.header().generation, 2);
    assert!(sealed.header().officers_without_drill_key().is_empty());
    assert_eq!(
        sealed.header().drill_key("bob"),
        Some(derived(&sealed, &words[1], "bob"))
    );
    // The backup beside it is the previous save: format 2, generation 1.
    let backup = Vault::open(svault::vault::backup_path(&path)).unwrap();
    assert_eq!(backup.header().generation, 1);
}

#[test]
fn rekey_and_add_officer_keep_counting_and_give_drill_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.svault");
    let plan = Plan {
        group_threshold: 1,
        groups: vec![GroupPlan {
            name: "ops".into(),
            member_threshold: 2,
            officers: officers(&["alice", "bob"]),
        }],
        secret_bytes: 16,
        slot_params: FAST,
    };
    let draft = Draft::new(&plan).unwrap();
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    drop(draft.write_new(&path, None).unwrap());
    let mut vault = unseal_with(&path, &words);
    let added = vault.add_officer(0, "carol", None).unwrap();
    vault.save().unwrap();
    let sealed = Vault::open(&path).unwrap();
    assert_eq!(sealed.header().generation, 2);
    let carol = DrillKey::derive(&added.share, &sealed.header().vault_id.0, "carol");
    assert_eq!(
        sealed.header().drill_key("carol"),
        Some(carol.verifying_key())
    );

    let mut vault = unseal_with(&path, &words);
    let issued = vault
        .rekey(&Plan::simple(2, &["dave", "erin", "frank"]))
        .unwrap();
    assert_eq!(vault.header().generation, 2, "a rekey keeps the count");
    vault.save().unwrap();
    let sealed = Vault::open(&path).unwrap();
    assert_eq!(sealed.header().generation, 3);
    for i in issued {
        let key = DrillKey::derive(&i.share, &sealed.header().vault_id.0, &i.officer);
        assert_eq!(
            sealed.header().drill_key(&i.officer),
            Some(key.verifying_key())
        );
    }
}

/// A point not on the curve: the first `y` (little-endian, below 256) whose
/// decompression fails.
fn not_a_point() -> [u8; 32] {
    (2u8..=255)
        .map(|y| {
            let mut b = [0u8; 32];
            b[0] = y;
            b
        })
        .find(|b| VerifyingKey::from_bytes(b).is_err())
        .unwrap()
}

/// Each edit of a new field is refused at open, naming the field, with the file as it
/// was (the open never writes).
#[test]
fn bad_new_fields_are_refused_at_open_naming_the_field_and_the_file_unchanged() {
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let identity = {
        // The neutral element (y = 1): a point of small order.
        let mut b = [0u8; 32];
        b[0] = 1;
        to_hex(&b)
    };
    let off_curve = to_hex(&not_a_point());
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "drill key 31 bytes",
            Box::new(|h| {
                let k = h["officers"][1]["drill_key"].as_str().unwrap()[..62].to_owned();
                h["officers"][1]["drill_key"] = k.into();
            }),
            "expected 64 hex digits",
        ),
        (
            "drill key 33 bytes",
            Box::new(|h| {
                let k = format!("{}00", h["officers"][1]["drill_key"].as_str().unwrap());
                h["officers"][1]["drill_key"] = k.into();
            }),
            "expected 64 hex digits",
        ),
        (
            "drill key huge",
            Box::new(|h| h["officers"][1]["drill_key"] = "ab".repeat(100_000).into()),
            "expected 64 hex digits",
        ),
        (
            "drill key upper-case hex",
            Box::new(|h| {
                let k = h["officers"][1]["drill_key"]
                    .as_str()
                    .unwrap()
                    .to_uppercase();
                h["officers"][1]["drill_key"] = k.into();
            }),
            "expected lowercase hex",
        ),
        (
            "drill key a number",
            Box::new(|h| h["officers"][1]["drill_key"] = 7.into()),
            "invalid type",
        ),
        (
            "drill key off the curve",
            Box::new(move |h| h["officers"][1]["drill_key"] = off_curve.clone().into()),
            "officers[1].drill_key is invalid: is not an Ed25519 public key",
        ),
        (
            "drill key of small order",
            Box::new(move |h| h["officers"][1]["drill_key"] = identity.clone().into()),
            "officers[1].drill_key is invalid: is a small-order Ed25519 point",
        ),
        (
            "drill key shared by two officers",
            Box::new(|h| h["officers"][2]["drill_key"] = h["officers"][0]["drill_key"].clone()),
            "officers[2].drill_key is invalid: is another officer's drill key too",
        ),
        (
            "generation missing",
            Box::new(|h| {
                h.as_object_mut().unwrap().remove("generation");
            }),
            "generation is invalid: is missing or 0",
        ),
        (
            "generation 0",
            Box::new(|h| h["generation"] = 0.into()),
            "generation is invalid: is missing or 0",
        ),
        (
            "generation negative",
            Box::new(|h| h["generation"] = (-1).into()),
            "the header is damaged",
        ),
        (
            "generation a string",
            Box::new(|h| h["generation"] = "3".into()),
            "invalid type",
        ),
        (
            "unknown new field",
            Box::new(|h| h["officers"][0]["drill_record"] = 1.into()),
            "unknown field",
        ),
    ];
    for (what, edit, expect) in cases {
        let f = fixture(&["alice", "bob", "carol"]);
        edit_header(&f.path, edit);
        let before = fs::read(&f.path).unwrap();
        let err = match Vault::open(&f.path) {
            Ok(_) => panic!("{what}: the edited header was accepted"),
            Err(err) => err,
        };
        assert!(matches!(err, OpenError::Format { .. }), "{what}: {err}");
        assert!(err.to_string().contains(expect), "{what}: {err}");
        assert_eq!(fs::read(&f.path).unwrap(), before, "{what}: file changed");
    }
}

/// Generations JSON cannot hold in 64 bits, written into the header's text.
#[test]
fn generations_past_64_bits_are_refused_with_the_byte_offset() {
    for bad in [
        "18446744073709551616",
        "1e3",
        "2.0",
        "99999999999999999999999",
    ] {
        let f = fixture(&["alice", "bob", "carol"]);
        let bytes = fs::read(&f.path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let at = text.find("\"generation\":2,").unwrap() + "\"generation\":".len();
        let mut edited = bytes[..at].to_vec();
        edited.extend_from_slice(bad.as_bytes());
        edited.extend_from_slice(&bytes[at + 1..]);
        fs::write(&f.path, &edited).unwrap();
        let err = Vault::open(&f.path).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::Format {
                    source: FormatError::Header { .. },
                    ..
                }
            ),
            "{bad}: {err}"
        );
        assert!(
            err.to_string().contains("the header is damaged at byte"),
            "{bad}: {err}"
        );
        assert_eq!(fs::read(&f.path).unwrap(), edited, "{bad}: file changed");
    }
}

/// A format-1 version line over a header with format-2 fields, or a format-1 header
/// given format-2 fields, is refused: format 1 never had them.
#[test]
fn format_2_fields_in_a_format_1_file_are_refused_and_the_file_unchanged() {
    let (_dir, path, _) = v1_copy();
    let good = fs::read(&path).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit, &str); 3] = [
        (
            "generation",
            |h| h["generation"] = 4.into(),
            "generation is invalid: appears in a format-1 header",
        ),
        (
            "drill key",
            |h| {
                let key = DrillKey::derive(
                    &slip39::parse(
                        fs::read_to_string(
                            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                                .join("vectors/vault/v1/shares.txt"),
                        )
                        .unwrap()
                        .lines()
                        .next()
                        .unwrap(),
                    )
                    .unwrap(),
                    &[0; 16],
                    "alice",
                );
                h["officers"][0]["drill_key"] = to_hex(&key.public_bytes()).into();
            },
            "officers[0].drill_key is invalid: appears in a format-1 header",
        ),
        (
            "both",
            |h| {
                h["generation"] = 1.into();
                h["officers"][1]["drill_key"] = "11".repeat(32).into();
            },
            "appears in a format-1 header",
        ),
    ];
    for (what, edit, expect) in cases {
        fs::write(&path, &good).unwrap();
        edit_header(&path, edit);
        let before = fs::read(&path).unwrap();
        let err = Vault::open(&path).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::Format {
                    source: FormatError::Field { .. },
                    ..
                }
            ),
            "{what}: {err}"
        );
        assert!(err.to_string().contains(expect), "{what}: {err}");
        assert_eq!(fs::read(&path).unwrap(), before, "{what}: file changed");
    }
}

fn svault(args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(args)
        .env_remove("SVAULT_SOCKET")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// `svault status` on a format-1 vault: the version and what its next save does, no
/// generation, who has no drill key and how to get one; after `svault set` with two
/// officers' shares, format 2 with their keys and a generation.
#[test]
fn status_tells_who_has_no_drill_key_and_how_to_get_one() {
    let (dir, path, words) = v1_copy();
    let p = path.to_str().unwrap();
    let out = svault(&["status", p], b"");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("format version: 1 (written as format 2 at its next save)\n"),
        "{text}"
    );
    assert!(
        text.contains("generation: none (a format-1 file; generations start at its next save)\n"),
        "{text}"
    );
    assert!(
        text.contains("  bob (group officers, member 2, no drill key yet)\n"),
        "{text}"
    );
    assert!(
        text.contains("drill keys: alice, bob, carol have none yet; an officer gains one when their share (or keyslot) is among those entered for a command that saves the vault (`svault set`, `svault rm`, `svault add-officer`), and every officer gains one at `svault rekey`\n"),
        "{text}"
    );

    let share = |i: usize| {
        let f = dir.path().join(format!("{i}.share"));
        fs::write(&f, format!("{}\n", words[i])).unwrap();
        f
    };
    let (a, c) = (share(0), share(2));
    let out = svault(
        &[
            "set",
            p,
            "new/name",
            "--share-file",
            a.to_str().unwrap(),
            "--share-file",
            c.to_str().unwrap(),
        ],
        b"value\n",
    );
    assert!(out.status.success(), "{out:?}");

    let out = svault(&["status", p, "--json"], b"");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["format_version"], 2);
    assert_eq!(json["generation"], 1);
    assert_eq!(json["officers"][0]["drill_key"], true);
    assert_eq!(json["officers"][1]["drill_key"], false);
    assert_eq!(json["officers"][2]["drill_key"], true);
    assert_eq!(
        json["officers_without_drill_key"],
        serde_json::json!(["bob"])
    );
    let text = String::from_utf8(svault(&["status", p], b"").stdout).unwrap();
    assert!(
        text.contains("format version: 2\ngeneration: 1\n"),
        "{text}"
    );
    assert!(text.contains("drill keys: bob has none yet;"), "{text}");
}
