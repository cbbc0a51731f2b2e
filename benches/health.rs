//! Checking drill records: `health::check` over a drills file of 10 000 records for 8
//! officers (about ten years of weekly drills by every officer, plus unseals), where
//! every record is parsed and its Ed25519 signature verified; and one record's parse.
//!
//! Goal: a 10 000-record file checked in under a second, since `svault status`,
//! `svault health` and the agent's `status` read the whole file each time (the agent
//! checks outside its state lock). The cost is one strict Ed25519 verification per
//! record, about 50 µs. Run with `cargo bench --bench health`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use svault::health::{self, DrillKind, DrillRecord, Policy, Roster, RosterGroup, RosterOfficer};

const NOW: u64 = 1_800_000_000;

fn bench(c: &mut Criterion) {
    let keys: Vec<SigningKey> = (1..=8u8)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let names = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    ];
    let roster = Roster {
        vault_id: [7; 16],
        split: 1,
        retired_splits: vec![],
        group_threshold: 1,
        groups: vec![RosterGroup {
            name: "officers".into(),
            threshold: 3,
        }],
        officers: names
            .iter()
            .zip(&keys)
            .map(|(n, k)| RosterOfficer {
                name: (*n).into(),
                group: 0,
                key: Some(k.verifying_key().to_bytes()),
            })
            .collect(),
    };
    let mut file = String::new();
    for i in 0..10_000u64 {
        let o = usize::try_from(i % 8).unwrap();
        let r = DrillRecord::sign(
            [7; 16],
            1,
            names[o],
            DrillKind::Share,
            NOW - i * 3600,
            &keys[o],
        )
        .unwrap();
        file.push_str(&r.to_line());
    }
    let h = health::check(&roster, file.as_bytes(), NOW, &Policy::default());
    assert_eq!(h.verified_records, 10_000);
    let mut group = c.benchmark_group("health");
    group.sample_size(10);
    group.bench_function("check 10000 records", |b| {
        b.iter(|| health::check(&roster, black_box(file.as_bytes()), NOW, &Policy::default()))
    });
    let line = file.lines().next().unwrap().to_owned();
    group.bench_function("parse one record", |b| {
        b.iter(|| DrillRecord::parse(black_box(line.as_bytes())).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
