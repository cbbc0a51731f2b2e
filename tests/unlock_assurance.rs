//! Unlock assurance: the ways an unlock goes wrong in real life, each caught at split
//! time or at entry with the culprit named, and each leaving the vault and the progress
//! of the unlock as they were.
//!
//! 1. a mistyped re-entry during the ceremony
//! 2. two officers' shares swapped
//! 3. a share from an older split, after a rekey
//! 4. a share of another vault
//! 5. a duplicated share
//! 6. a keyslot passphrase truncated to 8 characters
//! 7. the same passphrase typed in NFD instead of NFC (accepted: not a failure at all)
//! 8. a corrupted header field
//! 9. a set of Vault/OpenBao unseal keys with one altered

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::{edit_header, unseal_with};

use std::fs;
use std::path::PathBuf;

use svault::ceremony::{self, Mismatch};
use svault::secret::SecretBytes;
use svault::share::unseal_key::{self, CheckError, Format, KeyRef};
use svault::vault::{Draft, GroupPlan, Plan, SubmitError, UnsealError, Vault};
use zeroize::Zeroizing;

const OFFICERS: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// A 2-of-4 vault made by the ceremony; `passphrase` gives dave a keyslot.
struct Fixture {
    dir: tempfile::TempDir,
    path: PathBuf,
    words: Vec<String>,
}

impl Fixture {
    fn new(passphrase: Option<&str>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.svault");
        let mut officers = common::officers(&OFFICERS);
        officers[3].keyslot = passphrase.map(|p| Zeroizing::new(p.as_bytes().to_vec()));
        let plan = Plan {
            group_threshold: 1,
            groups: vec![GroupPlan {
                name: "officers".into(),
                member_threshold: 2,
                officers,
            }],
            secret_bytes: 16,
            slot_params: common::FAST,
        };
        let draft = Draft::new(&plan).unwrap();
        let words: Vec<String> = draft
            .issued()
            .iter()
            .map(|i| i.share.to_words().to_string())
            .collect();
        let verified = (0..OFFICERS.len())
            .map(|n| ceremony::verify_entry_among(draft.issued(), n, &words[n]).unwrap())
            .collect();
        let proven = ceremony::prove_set(draft.header(), verified).unwrap();
        let mut staged = ceremony::stage_new(draft, proven, &path, "scripted").unwrap();
        if let Some(p) = passphrase {
            staged.check_keyslot("dave", p.as_bytes()).unwrap();
        }
        staged.commit().unwrap();
        let mut vault = unseal_with(&path, &words[..2]);
        vault
            .set("db/password", SecretBytes::from_slice(b"hunter2"))
            .unwrap();
        vault.save().unwrap();
        Fixture { dir, path, words }
    }

    fn bytes(&self) -> Vec<u8> {
        fs::read(&self.path).unwrap()
    }

    /// Unseals with shares `a` and `b` and reads the credential.
    fn read(&self, a: usize, b: usize) -> Vec<u8> {
        let vault = unseal_with(&self.path, &[&self.words[a], &self.words[b]]);
        vault.get("db/password").unwrap().expose().to_vec()
    }
}

fn with_word_replaced(words: &str, position: usize) -> String {
    let mut list: Vec<&str> = words.split(' ').collect();
    list[position - 1] = if list[position - 1] == "acid" {
        "academic"
    } else {
        "acid"
    };
    list.join(" ")
}

#[test]
fn scenario_1_a_mistyped_reentry_in_the_ceremony_is_located_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.svault");
    let draft = Draft::new(&Plan::simple(2, &OFFICERS[..3])).unwrap();
    let typed: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();

    // Bob copies word 7 wrongly: named by position, words never shown.
    let typo = with_word_replaced(&typed[1], 7);
    let err = ceremony::verify_entry_among(draft.issued(), 1, &typo).unwrap_err();
    assert_eq!(err, Mismatch::Words { positions: vec![7] });
    assert_eq!(err.to_string(), "word 7 does not match the issued share");
    assert!(
        !path.exists(),
        "nothing is written while a share is unverified"
    );

    // He corrects his copy; the ceremony completes and his corrected copy unseals.
    let verified = (0..3)
        .map(|n| ceremony::verify_entry_among(draft.issued(), n, &typed[n]).unwrap())
        .collect();
    let proven = ceremony::prove_set(draft.header(), verified).unwrap();
    ceremony::stage_new(draft, proven, &path, "scripted")
        .unwrap()
        .commit()
        .unwrap();
    unseal_with(&path, &typed[1..]);
}

#[test]
fn scenario_2_swapped_shares_are_named_at_the_ceremony_and_at_entry() {
    let draft = Draft::new(&Plan::simple(2, &OFFICERS[..3])).unwrap();
    let bobs = draft.issued()[1].share.to_words().to_string();
    // At the ceremony, Alice types Bob's sheet: not a typo, a swap, and whose it is.
    let err = ceremony::verify_entry_among(draft.issued(), 0, &bobs).unwrap_err();
    assert_eq!(
        err,
        Mismatch::AnotherOfficer {
            officer: "bob".into()
        }
    );
    assert!(err.to_string().contains("issued to bob"), "{err}");

    // At entry, a swapped share still counts, as its owner's: the progress says whose,
    // and the owner's own entry is refused as a duplicate naming him.
    let f = Fixture::new(None);
    let before = f.bytes();
    let mut sealed = Vault::open(&f.path).unwrap();
    assert_eq!(
        sealed
            .identify(&svault::share::slip39::parse(&f.words[1]).unwrap())
            .unwrap()
            .name,
        "bob"
    );
    sealed.submit_text(&f.words[1]).unwrap();
    let err = sealed.submit_text(&f.words[1]).unwrap_err();
    assert!(
        matches!(&err, SubmitError::AlreadySubmitted { officer } if officer == "bob"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "bob's share was already entered; progress is unchanged"
    );
    assert_eq!(sealed.progress().to_string(), "1 of 2, need 1 more");
    assert_eq!(f.bytes(), before);
}

#[test]
fn scenario_3_a_share_of_an_older_split_is_named_after_a_rekey() {
    let f = Fixture::new(None);
    let mut vault = unseal_with(&f.path, &f.words[..2]);
    let issued = vault.rekey(&Plan::simple(2, &OFFICERS)).unwrap();
    vault.save().unwrap();
    let new: Vec<String> = issued
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let before = f.bytes();

    let mut sealed = Vault::open(&f.path).unwrap();
    sealed.submit_text(&new[2]).unwrap();
    let err = sealed.submit_text(&f.words[0]).unwrap_err();
    assert!(matches!(err, SubmitError::OlderSplit { .. }), "{err}");
    assert!(err.to_string().contains("older split"), "{err}");
    assert_eq!(sealed.progress().to_string(), "1 of 2, need 1 more");
    sealed.submit_text(&new[0]).unwrap();
    let vault = sealed.unseal().unwrap();
    assert_eq!(vault.get("db/password").unwrap().expose(), b"hunter2");
    assert_eq!(f.bytes(), before);
}

#[test]
fn scenario_4_a_share_of_another_vault_is_named() {
    let (a, b) = (Fixture::new(None), Fixture::new(None));
    let before = a.bytes();
    let mut sealed = Vault::open(&a.path).unwrap();
    sealed.submit_text(&a.words[0]).unwrap();
    let err = sealed.submit_text(&b.words[1]).unwrap_err();
    assert!(matches!(err, SubmitError::OtherVault { .. }), "{err}");
    assert!(
        err.to_string().contains("belongs to another vault"),
        "{err}"
    );
    assert_eq!(sealed.progress().to_string(), "1 of 2, need 1 more");
    sealed.submit_text(&a.words[2]).unwrap();
    assert!(sealed.unseal().is_ok());
    assert_eq!(a.bytes(), before);
}

#[test]
fn scenario_5_a_duplicated_share_is_named_and_progress_kept() {
    let f = Fixture::new(None);
    let mut sealed = Vault::open(&f.path).unwrap();
    sealed.submit_text(&f.words[2]).unwrap();
    // The same share again, typed differently (upper case, prefixes, extra spaces).
    let retyped: String = f.words[2]
        .split(' ')
        .map(|w| w.get(..4).unwrap_or(w).to_uppercase())
        .collect::<Vec<_>>()
        .join("   ");
    let err = sealed.submit_text(&retyped).unwrap_err();
    assert!(
        matches!(&err, SubmitError::AlreadySubmitted { officer } if officer == "carol"),
        "{err}"
    );
    assert_eq!(sealed.progress().to_string(), "1 of 2, need 1 more");
    let err = sealed.unseal().unwrap_err();
    assert!(matches!(err, UnsealError::NotEnough { .. }), "{err}");
    // Officers who lose track start over; the share is then accepted again.
    sealed.reset();
    assert_eq!(sealed.progress().to_string(), "0 of 2, need 2 more");
    sealed.submit_text(&retyped).unwrap();
    assert_eq!(sealed.progress().to_string(), "1 of 2, need 1 more");
}

const PASSPHRASE: &str = "correct horse battery staple";

#[test]
fn scenario_6_a_passphrase_truncated_to_8_characters_is_refused_naming_the_officer() {
    let f = Fixture::new(Some(PASSPHRASE));
    let before = f.bytes();
    let mut sealed = Vault::open(&f.path).unwrap();
    let err = sealed
        .submit_passphrase("dave", &PASSPHRASE.as_bytes()[..8])
        .unwrap_err();
    assert!(
        matches!(&err, SubmitError::WrongPassphrase { officer } if officer == "dave"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the passphrase does not open dave's keyslot; no other slot is affected, try again"
    );
    assert_eq!(sealed.progress().to_string(), "0 of 2, need 2 more");
    sealed
        .submit_passphrase("dave", PASSPHRASE.as_bytes())
        .unwrap();
    sealed.submit_text(&f.words[0]).unwrap();
    assert!(sealed.unseal().is_ok());
    assert_eq!(f.bytes(), before);
}

#[test]
fn scenario_6b_the_ceremony_refuses_a_keyslot_checked_with_a_truncated_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.svault");
    let mut officers = common::officers(&OFFICERS[..2]);
    officers[1].keyslot = Some(Zeroizing::new(PASSPHRASE.as_bytes().to_vec()));
    let plan = Plan {
        group_threshold: 1,
        groups: vec![GroupPlan {
            name: "officers".into(),
            member_threshold: 2,
            officers,
        }],
        secret_bytes: 16,
        slot_params: common::FAST,
    };
    let draft = Draft::new(&plan).unwrap();
    let verified = draft
        .issued()
        .iter()
        .map(|i| ceremony::verify_entry(i, &i.share.to_words()).unwrap())
        .collect();
    let proven = ceremony::prove_set(draft.header(), verified).unwrap();
    let mut staged = ceremony::stage_new(draft, proven, &path, "scripted").unwrap();
    let err = staged
        .check_keyslot("bob", &PASSPHRASE.as_bytes()[..8])
        .unwrap_err();
    assert!(err.to_string().contains("bob"), "{err}");
    assert_eq!(staged.keyslots_pending(), vec!["bob".to_string()]);
    drop(staged);
    assert!(!path.exists(), "an unchecked keyslot never becomes a vault");
}

#[test]
fn scenario_7_the_same_passphrase_in_nfd_opens_the_keyslot_made_in_nfc() {
    // "Crème brûlée à la française", composed (NFC) when the slot was made, decomposed
    // (NFD, as some platforms type it) at the unlock.
    let nfc = "Cr\u{e8}me br\u{fb}l\u{e9}e \u{e0} la fran\u{e7}aise";
    let nfd = "Cre\u{300}me bru\u{302}le\u{301}e a\u{300} la franc\u{327}aise";
    assert_ne!(nfc.as_bytes(), nfd.as_bytes());
    let f = Fixture::new(Some(nfc));
    let mut sealed = Vault::open(&f.path).unwrap();
    // A look-alike that is a different text is still refused, naming the officer.
    let err = sealed
        .submit_passphrase("dave", "Creme brulee a la francaise".as_bytes())
        .unwrap_err();
    assert!(matches!(&err, SubmitError::WrongPassphrase { officer } if officer == "dave"));
    sealed.submit_passphrase("dave", nfd.as_bytes()).unwrap();
    assert_eq!(sealed.progress().to_string(), "1 of 2, need 1 more");
    sealed.submit_text(&f.words[1]).unwrap();
    assert!(sealed.unseal().is_ok());
}

#[test]
fn scenario_8_a_corrupted_header_field_is_named_or_refused_with_the_backup() {
    // A commitment damaged: the officer whose share no longer matches is named, the
    // others still unseal.
    let f = Fixture::new(None);
    assert_eq!(f.read(0, 1), b"hunter2");
    edit_header(&f.path, |h| {
        let digest = h["officers"][1]["commitment"]["digest"].as_str().unwrap();
        let flipped = if digest.starts_with('0') { "1" } else { "0" };
        h["officers"][1]["commitment"]["digest"] = format!("{flipped}{}", &digest[1..]).into();
    });
    let damaged = f.bytes();
    let mut sealed = Vault::open(&f.path).unwrap();
    let err = sealed.submit_text(&f.words[1]).unwrap_err();
    assert!(
        matches!(&err, SubmitError::CommitmentMismatch { officer } if officer == "bob"),
        "{err}"
    );
    assert!(err.to_string().contains("bob"), "{err}");
    // Alice and Carol's shares still match; the header is authenticated with the
    // payload, so the damaged commitment is caught there too, pointing to the backup.
    sealed.submit_text(&f.words[0]).unwrap();
    sealed.submit_text(&f.words[2]).unwrap();
    let err = sealed.unseal().unwrap_err();
    assert!(
        matches!(err, UnsealError::Authentication { backup: Some(_) }),
        "{err}"
    );
    assert!(err.to_string().contains(".bak"), "{err}");
    assert_eq!(f.bytes(), damaged, "nothing was changed");

    // The backup beside it is the previous good file.
    let backup = svault::vault::backup_path(&f.path);
    fs::copy(&backup, &f.path).unwrap();
    unseal_with(&f.path, &f.words[..2]);
    drop(f.dir);
}

#[test]
fn scenario_9_one_altered_vault_unseal_key_is_named() {
    let secret = [0x5au8; 32];
    let keys = unseal_key::split(&secret, 3, 5).unwrap();
    let mut text: Vec<String> = keys
        .iter()
        .map(|k| unseal_key::encode(k, Format::Hex).to_string())
        .collect();
    // Key 4 altered in one hex digit, as a mistyped copy would be.
    let digit = text[3].chars().nth(10).unwrap();
    let other = if digit == '0' { '1' } else { '0' };
    text[3].replace_range(10..11, &other.to_string());
    let parsed: Vec<_> = text.iter().map(|t| unseal_key::parse(t).unwrap()).collect();
    let err = unseal_key::check_set(&parsed, 3).unwrap_err();
    match &err {
        CheckError::Deviating {
            deviants, unique, ..
        } => {
            assert_eq!(deviants, &[KeyRef { position: 4, x: 4 }]);
            assert!(*unique);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("key 4"), "{err}");
    // Without it, any three of the others give the secret.
    let good: Vec<_> = [0, 1, 2, 4]
        .iter()
        .map(|&i| unseal_key::parse(&text[i]).unwrap())
        .collect();
    assert_eq!(*unseal_key::combine(&good[1..]).unwrap(), secret);
}
