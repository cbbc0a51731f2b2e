#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::SigningKey;

use super::*;

const NOW: u64 = 1_800_000_000;
const ID: [u8; 16] = [0x3f; 16];
const SPLIT: u16 = 4242;

fn key(officer: usize) -> SigningKey {
    SigningKey::from_bytes(&[u8::try_from(officer).unwrap() + 1; 32])
}

const NAMES: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

/// A 3-of-8 vault; officers listed in `keyless` have no drill key.
fn roster(keyless: &[usize]) -> Roster {
    Roster {
        vault_id: ID,
        split: SPLIT,
        retired_splits: vec![17],
        group_threshold: 1,
        groups: vec![RosterGroup {
            name: "officers".into(),
            threshold: 3,
        }],
        officers: NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| RosterOfficer {
                name: (*n).into(),
                group: 0,
                key: (!keyless.contains(&i)).then(|| key(i).verifying_key().to_bytes()),
            })
            .collect(),
    }
}

fn drill(officer: usize, age_days: u64) -> DrillRecord {
    DrillRecord::sign(
        ID,
        SPLIT,
        NAMES[officer],
        DrillKind::Share,
        NOW - age_days * DAY,
        &key(officer),
    )
    .unwrap()
}

fn file(records: &[DrillRecord]) -> Vec<u8> {
    records
        .iter()
        .flat_map(|r| r.to_line().into_bytes())
        .collect()
}

fn run(roster: &Roster, bytes: &[u8]) -> Health {
    check(roster, bytes, NOW, &Policy::default())
}

/// Fresh drills of officers 0..n.
fn base(n: usize) -> Vec<DrillRecord> {
    (0..n).map(|i| drill(i, 1)).collect()
}

#[test]
fn fresh_drills_count_and_old_ones_do_not() {
    let mut records = base(4);
    records.push(drill(4, 181));
    records.push(drill(5, 180));
    let h = run(&roster(&[]), &file(&records));
    assert_eq!(h.verified_records, 6);
    assert_eq!(h.rejected, 0);
    assert_eq!(h.quorum.verified, 5);
    assert_eq!(h.quorum.margin, 2);
    assert_eq!(h.quorum.threshold, 3);
    assert!(!h.officers[4].fresh);
    assert_eq!(h.officers[4].last_drill, Some(NOW - 181 * DAY));
    assert!(h.officers[5].fresh);
    assert_eq!(h.officers[6].last_drill, None);
    let stale: Vec<&str> = h.stale().map(|o| o.name.as_str()).collect();
    assert_eq!(stale, ["erin", "grace", "heidi"]);
    // A shorter maximum age.
    let h = check(
        &roster(&[]),
        &file(&records),
        NOW,
        &Policy { max_age_days: 0 },
    );
    assert_eq!(h.quorum.verified, 0);
    assert_eq!(h.quorum.margin, -3);
}

#[test]
fn the_latest_drill_wins_whatever_the_order() {
    let records = vec![drill(0, 5), drill(0, 1), drill(0, 9)];
    let h = run(&roster(&[]), &file(&records));
    assert_eq!(h.officers[0].last_drill, Some(NOW - DAY));
    assert_eq!(h.officers[0].drills, 3);
}

/// Checks one bad line appended after three good records: it is ignored with the named
/// reason, nothing of it is counted, and the good records still count.
fn bad_line(line: &[u8], roster: &Roster) -> Ignored {
    let mut bytes = file(&base(3));
    bytes.extend_from_slice(line);
    let h = run(roster, &bytes);
    assert_eq!(h.verified_records, 3, "only the good records count");
    assert_eq!(h.quorum.verified, 3);
    assert_eq!(h.quorum.margin, 0);
    assert_eq!(h.ignored.len(), 1, "{:?}", h.ignored);
    assert_eq!(h.ignored[0].line, 4);
    for o in &h.officers[3..] {
        assert_eq!(o.last_drill, None, "{}", o.name);
    }
    h.ignored[0].clone()
}

#[test]
fn a_damaged_line_is_ignored() {
    let mut line = drill(3, 0).to_line().into_bytes();
    line[40] = b'#';
    let i = bad_line(&line, &roster(&[]));
    assert_eq!(i.reason.name(), "damaged");
    assert!(i.reason.is_rejection());
    assert!(i.to_string().starts_with("line 4: damaged: "), "{i}");
}

#[test]
fn a_truncated_last_line_is_ignored() {
    let line = drill(3, 0).to_line();
    let i = bad_line(&line.as_bytes()[..line.len() - 20], &roster(&[]));
    assert_eq!(
        i.reason,
        Reason::Damaged {
            detail: LineError::Truncated.to_string()
        }
    );
}

#[test]
fn a_record_for_an_officer_the_vault_lacks_is_ignored() {
    let record = DrillRecord::sign(ID, SPLIT, "mallory", DrillKind::Share, NOW, &key(3)).unwrap();
    let i = bad_line(record.to_line().as_bytes(), &roster(&[]));
    assert_eq!(i.reason, Reason::UnknownOfficer);
    assert_eq!(i.officer.as_deref(), Some("mallory"));
    assert!(i.to_string().contains("does not have"), "{i}");
}

#[test]
fn a_record_signed_by_another_officer_is_ignored() {
    // dave's name, erin's key.
    let record = DrillRecord::sign(ID, SPLIT, "dave", DrillKind::Share, NOW, &key(4)).unwrap();
    let i = bad_line(record.to_line().as_bytes(), &roster(&[]));
    assert_eq!(
        i.reason,
        Reason::SignedByOther {
            signer: "erin".into()
        }
    );
    assert!(
        i.to_string().contains("erin's drill key, not dave's"),
        "{i}"
    );
}

#[test]
fn a_forged_record_is_ignored() {
    let forger = SigningKey::from_bytes(&[0xee; 32]);
    let record = DrillRecord::sign(ID, SPLIT, "dave", DrillKind::Share, NOW, &forger).unwrap();
    let i = bad_line(record.to_line().as_bytes(), &roster(&[]));
    assert_eq!(i.reason, Reason::Forged);
    assert!(i.to_string().contains("forged or damaged"), "{i}");
    // A real record with its date moved forward, too.
    let mut moved = drill(3, 200);
    moved.time = NOW;
    assert_eq!(
        bad_line(moved.to_line().as_bytes(), &roster(&[])).reason,
        Reason::Forged
    );
}

#[test]
fn a_record_copied_from_another_vault_is_ignored() {
    // Signed properly, by dave's key, for another vault.
    let record =
        DrillRecord::sign([0x11; 16], SPLIT, "dave", DrillKind::Share, NOW, &key(3)).unwrap();
    let i = bad_line(record.to_line().as_bytes(), &roster(&[]));
    assert_eq!(
        i.reason,
        Reason::OtherVault {
            vault_id: "11".repeat(16)
        }
    );
    assert!(i.to_string().contains("copied from another vault"), "{i}");
    // Its vault id rewritten to this one: the signature no longer holds.
    let mut relabelled = record.clone();
    relabelled.vault_id = ID;
    assert_eq!(
        bad_line(relabelled.to_line().as_bytes(), &roster(&[])).reason,
        Reason::Forged
    );
}

#[test]
fn a_record_from_the_future_is_ignored() {
    let record = DrillRecord::sign(
        ID,
        SPLIT,
        "dave",
        DrillKind::Share,
        NOW + FUTURE_SKEW + 1,
        &key(3),
    )
    .unwrap();
    let i = bad_line(record.to_line().as_bytes(), &roster(&[]));
    assert_eq!(
        i.reason,
        Reason::Future {
            time: NOW + FUTURE_SKEW + 1
        }
    );
    assert!(i.to_string().contains("dated in the future"), "{i}");
    // Within the allowed skew it counts.
    let near = DrillRecord::sign(
        ID,
        SPLIT,
        "dave",
        DrillKind::Share,
        NOW + FUTURE_SKEW,
        &key(3),
    )
    .unwrap();
    assert_eq!(run(&roster(&[]), &file(&[near])).verified_records, 1);
}

#[test]
fn a_repeated_record_is_ignored() {
    let mut records = base(3);
    records.push(records[1].clone());
    let h = run(&roster(&[]), &file(&records));
    assert_eq!(h.verified_records, 3);
    assert_eq!(h.officers[1].drills, 1);
    assert_eq!(h.ignored[0].reason, Reason::Repeated { first_line: 2 });
}

#[test]
fn splits_and_missing_keys_are_not_counted_nor_rejected() {
    let older = DrillRecord::sign(ID, 17, "dave", DrillKind::Share, NOW, &key(3)).unwrap();
    let never = DrillRecord::sign(ID, 18, "dave", DrillKind::Share, NOW, &key(3)).unwrap();
    let keyless = drill(4, 0);
    let h = run(&roster(&[4]), &file(&[older, never, keyless]));
    assert_eq!(h.verified_records, 0);
    let reasons: Vec<&str> = h.ignored.iter().map(|i| i.reason.name()).collect();
    assert_eq!(reasons, ["older-split", "unknown-split", "no-drill-key"]);
    assert_eq!(h.rejected, 1);
    assert_eq!(h.not_counted, 2);
    assert!(!h.officers[4].drill_key);
    // Once the key is in the header, the same record counts.
    let h = run(&roster(&[]), &file(&[drill(4, 0)]));
    assert_eq!(h.officers[4].last_drill, Some(NOW));
}

#[test]
fn an_unusable_public_key_is_no_key() {
    let mut r = roster(&[]);
    // Not a point on the curve (y = 2 has no x).
    let mut bad = [0u8; 32];
    bad[0] = 2;
    r.officers[0].key = Some(bad);
    let h = run(&r, &file(&base(1)));
    if VerifyingKey::from_bytes(&bad).is_err() {
        assert!(!h.officers[0].drill_key);
        assert_eq!(h.ignored[0].reason, Reason::NoDrillKey);
    } else {
        assert_eq!(h.ignored[0].reason, Reason::Forged);
    }
}

#[test]
fn garbage_never_counts() {
    let mut bytes = Vec::new();
    for i in 0..300u32 {
        bytes.extend(format!("{{\"v\":{i}}}\n").bytes());
    }
    let h = run(&roster(&[]), &bytes);
    assert_eq!(h.rejected, 300);
    assert_eq!(h.ignored.len(), IGNORED_DETAIL_MAX);
    assert_eq!(h.quorum.margin, -3);
}

/// The scenario: 3 of 8, two officers never drilled, one record forged.
#[test]
fn three_of_eight_with_two_never_drilled_and_one_forged() {
    let mut records: Vec<DrillRecord> = (0..6).map(|i| drill(i, i as u64 * 40)).collect();
    let forger = SigningKey::from_bytes(&[0xee; 32]);
    records.push(DrillRecord::sign(ID, SPLIT, "grace", DrillKind::Share, NOW, &forger).unwrap());
    let h = run(&roster(&[7]), &file(&records));
    // alice..erin within 180 days (0, 40, 80, 120, 160), frank at 200: too old.
    assert_eq!(h.quorum.verified, 5);
    assert_eq!(h.quorum.margin, 2);
    assert_eq!(h.rejected, 1);
    assert_eq!(
        h.officers[6].last_drill, None,
        "grace's forged drill is not counted"
    );
    let text = prometheus::render(&h, "ab");
    assert!(
        text.contains("svault_quorum_margin{vault=\"ab\"} 2\n"),
        "{text}"
    );
    assert!(text.contains("svault_drill_records_rejected_total{vault=\"ab\"} 1\n"));
    assert!(text.contains(
        "svault_officer_last_drill_timestamp_seconds{officer=\"grace\",vault=\"ab\"} 0\n"
    ));
    assert!(text.contains("svault_officer_drill_key{officer=\"heidi\",vault=\"ab\"} 0\n"));
    assert!(text.contains("svault_officer_drill_key{officer=\"alice\",vault=\"ab\"} 1\n"));
    assert_eq!(text.matches("svault_officer_drill_key{").count(), 8);
}

#[test]
fn group_vaults_count_per_group() {
    // 2 of 3 groups: ops 2 of 3 (alice bob carol), board 1 of 2 (dave erin), dr 2 of 3.
    let mut r = roster(&[]);
    r.group_threshold = 2;
    r.groups = vec![
        RosterGroup {
            name: "ops".into(),
            threshold: 2,
        },
        RosterGroup {
            name: "board".into(),
            threshold: 1,
        },
        RosterGroup {
            name: "dr".into(),
            threshold: 2,
        },
    ];
    for (i, o) in r.officers.iter_mut().enumerate() {
        o.group = match i {
            0..=2 => 0,
            3 | 4 => 1,
            _ => 2,
        };
    }
    // ops: alice, bob, carol fresh; board: dave fresh; dr: frank only.
    let records = vec![
        drill(0, 1),
        drill(1, 1),
        drill(2, 1),
        drill(3, 1),
        drill(5, 1),
    ];
    let h = run(&r, &file(&records));
    let g: Vec<(u32, i64)> = h
        .quorum
        .groups
        .iter()
        .map(|g| (g.verified, g.margin))
        .collect();
    assert_eq!(g, [(3, 1), (1, 0), (1, -1)]);
    assert_eq!(h.quorum.threshold, 2);
    assert_eq!(h.quorum.verified, 2);
    // Losing dave breaks board (1 officer), leaving one complete group: margin 0.
    assert_eq!(h.quorum.margin, 0);
    let text = prometheus::render(&h, "ab");
    assert!(
        text.contains("svault_group_margin{group=\"dr\",vault=\"ab\"} -1\n"),
        "{text}"
    );
}
