//! SLIP-0039 codec latency: parsing one 33-word share (words, checksum, fields) and
//! the one-word hint search on a share with one wrong word.
//!
//! Goals: parse < 10 µs; hint search < 10 ms. Run with `cargo bench --bench slip39`.

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
