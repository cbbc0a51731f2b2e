//! Drills files: the fuzzer's bytes are a whole `VAULT.drills`, checked against a fixed
//! two-officer roster whose drill keys are known. No input panics; every non-empty line
//! is counted exactly once (verified, rejected or not counted); a line that parses
//! writes back as a line that parses to the same record; an officer's last drill is
//! always the date of a line that verifies under that officer's own key, for this vault
//! and split; and the Prometheus text has one sample per officer.
#![no_main]

use ed25519_dalek::SigningKey;
use svault::health::{self, DrillRecord, Policy, Roster, RosterGroup, RosterOfficer, prometheus};

const NOW: u64 = 1_800_000_000;
const ID: [u8; 16] = [0x3f; 16];
const SPLIT: u16 = 4242;

fn key(seed: u8) -> ed25519_dalek::VerifyingKey {
    SigningKey::from_bytes(&[seed; 32]).verifying_key()
}

fn roster() -> Roster {
    Roster {
        vault_id: ID,
        split: SPLIT,
        retired_splits: vec![17],
        group_threshold: 1,
        groups: vec![RosterGroup {
            name: "officers".into(),
            threshold: 1,
        }],
        officers: vec![
            RosterOfficer {
                name: "alice".into(),
                group: 0,
                key: Some(key(1).to_bytes()),
            },
            RosterOfficer {
                name: "bob".into(),
                group: 0,
                key: Some(key(2).to_bytes()),
            },
            RosterOfficer {
                name: "carol".into(),
                group: 0,
                key: None,
            },
        ],
    }
}

fn check(data: &[u8]) {
    let roster = roster();
    let h = health::check(&roster, data, NOW, &Policy::default());
    let lines = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(h.verified_records + h.rejected + h.not_counted, lines);
    let mut parsed = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(record) = DrillRecord::parse(line) {
            let again = record.to_line();
            assert_eq!(again.matches('\n').count(), 1);
            let back = DrillRecord::parse(again.trim_end().as_bytes()).expect("re-parses");
            assert_eq!(back, record);
            parsed.push(record);
        }
    }
    for (o, officer) in h.officers.iter().zip(&roster.officers) {
        if let Some(t) = o.last_drill {
            let k = officer
                .key
                .map(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).expect("key"));
            let k = k.expect("only an officer with a key has a drill");
            assert!(parsed.iter().any(|r| r.officer == o.name
                && r.time == t
                && r.vault_id == ID
                && r.split == SPLIT
                && r.verifies_under(&k)));
        }
    }
    let text = prometheus::render(&h, "3f");
    assert_eq!(text.matches("svault_officer_drill_key{").count(), 3);
    assert!(
        text.lines()
            .all(|l| l.starts_with('#') || l.starts_with("svault_"))
    );
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));
