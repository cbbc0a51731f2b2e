//! SLIP-0039 codec latency: parsing one 33-word share (words, checksum, fields), its
//! word conversion alone (the constant-time scan of the whole list that `parse` uses,
//! against the binary search it replaced), writing a share back as words, and the
//! one-word hint search on a share with one wrong word.
//!
//! Goals: parse < 100 µs (it runs once per submission); hint search < 10 ms. Run with `cargo bench --bench slip39`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use svault::share::slip39;

/// Vector 20 of SLIP-0039: a valid 33-word share.
const SHARE: &str = "theory painting academic academic armed sweater year military elder discuss acne \
                     wildlife boring employer fused large satoshi bundle carbon diagnose anatomy hamster \
                     leaves tracks paces beyond phantom capital marvel lips brave detect luck";

fn with_word(position: usize, word: &str) -> String {
    let mut words: Vec<&str> = SHARE.split(' ').collect();
    words[position] = word;
    words.join(" ")
}

fn bench(c: &mut Criterion) {
    assert!(slip39::parse(SHARE).is_ok());
    c.bench_function("slip39 parse 33-word share", |b| {
        b.iter(|| slip39::parse(black_box(SHARE)).unwrap())
    });

    // Text to word values only: the constant-time scan (every word compared with all
    // 1,024 list words by masks) against the binary search it replaced.
    let ct = slip39::gate::values_constant_time(SHARE).unwrap();
    assert_eq!(
        Some(&ct[..]),
        slip39::gate::values_by_binary_search(SHARE).as_deref()
    );
    c.bench_function(
        "slip39 words to values, 33 words, constant-time scan",
        |b| b.iter(|| slip39::gate::values_constant_time(black_box(SHARE)).unwrap()),
    );
    c.bench_function(
        "slip39 words to values, 33 words, binary search (old)",
        |b| b.iter(|| slip39::gate::values_by_binary_search(black_box(SHARE)).unwrap()),
    );

    // The share back to words (constant time: the vault's commitment hashes these).
    let share = slip39::parse(SHARE).unwrap();
    c.bench_function("slip39 to_words, 33-word share", |b| {
        b.iter(|| black_box(&share).to_words())
    });

    // A known word substituted at position 17: checksum fails, every position and
    // word is searched for a unique repair.
    let substituted = with_word(16, "zero");
    assert!(matches!(
        slip39::parse(&substituted),
        Err(slip39::ParseError::InvalidChecksum {
            suggestion: Some(_)
        })
    ));
    c.bench_function("slip39 hint search, one substituted word", |b| {
        b.iter(|| slip39::parse(black_box(&substituted)).unwrap_err())
    });

    // A misspelt word at position 17: 1024 words tried there, plus nearest by spelling.
    let typo = with_word(16, "satoshy");
    assert!(matches!(
        slip39::parse(&typo),
        Err(slip39::ParseError::UnknownWord {
            suggestion: Some(_),
            ..
        })
    ));
    c.bench_function("slip39 hint search, one misspelt word", |b| {
        b.iter(|| slip39::parse(black_box(&typo)).unwrap_err())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
