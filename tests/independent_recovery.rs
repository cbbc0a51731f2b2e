//! docs/RECOVERY.md, followed with independent tools: a vault svault made is recovered
//! by `scripts/recover.py` (SLIP-0039 by `shamir-mnemonic`, HKDF from Python's standard
//! library, XChaCha20-Poly1305 by PyNaCl), and gives the same credentials.
//! Needs `python3` with `shamir-mnemonic` and `pynacl`; CI installs them. Elsewhere
//! the test says what is missing and passes only when `CI` is unset.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::process::Command;

use svault::secret::SecretBytes;
use svault::vault::{Draft, GroupPlan, Plan};

fn tools_present() -> bool {
    Command::new("python3")
        .args(["-c", "import shamir_mnemonic, nacl.bindings"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn recovery_with_independent_tools_gives_the_same_credentials() {
    if !tools_present() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have python3 with shamir-mnemonic and pynacl (pip install shamir-mnemonic pynacl)"
        );
        eprintln!("skipped: python3 with shamir-mnemonic and pynacl is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.svault");
    let officers = common::officers;
    // Two groups, so the two-level SLIP-0039 path is exercised too.
    let plan = Plan {
        group_threshold: 2,
        groups: vec![
            GroupPlan {
                name: "ops".into(),
                member_threshold: 2,
                officers: officers(&["alice", "bob", "carol"]),
            },
            GroupPlan {
                name: "board".into(),
                member_threshold: 1,
                officers: officers(&["dave"]),
            },
        ],
        secret_bytes: 32,
        slot_params: common::FAST,
    };
    let draft = Draft::new(&plan).unwrap();
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut vault = draft.write_new(&path, None).unwrap();
    let values: [(&str, &[u8]); 4] = [
        ("api/token", b"tok-0123456789"),
        ("binary", &[0, 159, 146, 150, 255]),
        ("db/password", b"correct horse battery staple"),
        ("empty", b""),
    ];
    for (name, value) in values {
        vault.set(name, SecretBytes::from_slice(value)).unwrap();
    }
    vault.save().unwrap();
    let mut share_files = Vec::new();
    for (i, w) in [&words[2], &words[0], &words[3]].iter().enumerate() {
        let file = dir.path().join(format!("share{i}"));
        std::fs::write(
            &file,
            format!("{w}\n# a comment line, as share files have\n"),
        )
        .unwrap();
        share_files.push(file);
    }
    let out = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/recover.py"))
        .arg(&path)
        .args(&share_files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: String = values
        .iter()
        .map(|(name, value)| match std::str::from_utf8(value) {
            Ok(text) => format!("{name} = {text}\n"),
            Err(_) => format!(
                "{name} = hex:{}\n",
                value.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
        })
        .collect();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}
