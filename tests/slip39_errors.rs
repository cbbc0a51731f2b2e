//! Every SLIP-0039 error: the variant, the facts it names (share, word, group,
//! member) and a message that says what to do. Also the one-word hints, and the
//! exhaustive check that every single-word substitution is caught and located.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use svault::share::slip39::{
    self, GenerateError, GenerateOptions, GroupSpec, MasterSecret, ParseError, Passphrase,
    RecoverError, Slip39Share, Suggestion,
};

const FAST: GenerateOptions = GenerateOptions {
    iteration_exponent: 0,
    extendable: true,
};

/// The official vector's shares, by number (1-based).
fn vector(n: usize) -> Vec<String> {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../vectors/slip39/vectors.json")).unwrap();
    all[n - 1][1]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Vector 20: a valid 33-word share (256-bit secret, not extendable).
fn share33() -> String {
    vector(20).remove(0)
}

fn recover_err(texts: &[String]) -> RecoverError {
    match slip39::recover_text(texts, &Passphrase::new(b"TREZOR".to_vec()).unwrap()) {
        Ok(_) => panic!("shares were accepted"),
        Err(e) => e,
    }
}

fn parse_err(text: &str) -> ParseError {
    match slip39::parse(text) {
        Ok(_) => panic!("share was accepted: {text}"),
        Err(e) => e,
    }
}

fn replace_word(text: &str, position: usize, word: &str) -> String {
    let mut words: Vec<&str> = text.split(' ').collect();
    words[position - 1] = word;
    words.join(" ")
}

fn seeded_split(
    seed: u64,
    secret_len: usize,
    secret_seed: u8,
    gt: u8,
    specs: &[(u8, u8)],
    options: GenerateOptions,
) -> Vec<Vec<String>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let ms = MasterSecret::new((0..secret_len).map(|i| i as u8 ^ secret_seed).collect()).unwrap();
    let specs: Vec<GroupSpec> = specs.iter().map(|&(t, n)| GroupSpec::new(t, n)).collect();
    let groups =
        slip39::generate_with_rng(&ms, &Passphrase::empty(), gt, &specs, options, &mut rng)
            .unwrap();
    groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|s: &Slip39Share| s.to_words().to_string())
                .collect()
        })
        .collect()
}

// ---- parse errors ----

#[test]
fn empty() {
    assert_eq!(parse_err(""), ParseError::Empty);
    assert_eq!(parse_err(" \n\t "), ParseError::Empty);
    assert!(
        ParseError::Empty
            .to_string()
            .contains("enter all of its words")
    );
}

#[test]
fn wrong_length() {
    let s = share33();
    let words: Vec<&str> = s.split(' ').collect();
    for n in [1usize, 19, 21, 32] {
        let err = parse_err(&words[..n.min(33)].join(" "));
        assert_eq!(err, ParseError::WrongLength { words: n });
        assert!(err.to_string().contains(&format!("has {n} words")), "{err}");
    }
    let mut longer = words.clone();
    longer.push("academic");
    assert_eq!(
        parse_err(&longer.join(" ")),
        ParseError::WrongLength { words: 34 }
    );
}

#[test]
fn unknown_word_with_nearest_and_unique_suggestion() {
    let s = share33();
    let original = s.split(' ').nth(16).unwrap().to_string();
    // Drop one letter from word 17.
    let typo: String = original
        .chars()
        .enumerate()
        .filter(|&(i, _)| i != 2)
        .map(|(_, c)| c)
        .collect();
    let typed = typo.to_uppercase();
    let err = parse_err(&replace_word(&s, 17, &typed));
    match &err {
        ParseError::UnknownWord {
            position,
            word,
            nearest,
            suggestion,
            also_unknown,
        } => {
            assert_eq!(*position, 17);
            assert_eq!(word, &typed);
            assert!(nearest.contains(&original.as_str()), "{nearest:?}");
            let expected = Suggestion {
                position: 17,
                typed: typed.clone(),
                replacement: leak(&original),
            };
            assert_eq!(suggestion.as_deref(), Some(&expected));
            assert!(also_unknown.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let msg = err.terminal_message();
    assert!(
        msg.starts_with(&format!(
            "word 17 '{typed}' is not in the SLIP-0039 word list"
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "'{original}' is the only word there that makes this share check"
        )),
        "{msg}"
    );
    // Display and Debug: the position and that one change fixes it, no word.
    let shown = err.to_string();
    assert_eq!(
        shown,
        "word 17 is not in the SLIP-0039 word list; changing word 17 alone would make \
         this share check; compare it with the written share"
    );
    let debug = format!("{err:?}");
    for w in [typed.as_str(), &typo, &original] {
        assert!(!shown.to_lowercase().contains(&w.to_lowercase()), "{shown}");
        assert!(!debug.to_lowercase().contains(&w.to_lowercase()), "{debug}");
    }
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

#[test]
fn the_hint_example_from_the_brief() {
    // "academic" is word 3 of vector 20; "acadmic" is not a word.
    let s = share33();
    assert_eq!(s.split(' ').nth(2), Some("academic"));
    let err = parse_err(&replace_word(&s, 3, "acadmic"));
    let ParseError::UnknownWord {
        suggestion: Some(hint),
        nearest,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        hint.to_string(),
        "changing word 3 alone would make this share check"
    );
    assert!(
        err.terminal_message().starts_with(
            "word 3 'acadmic' is not in the SLIP-0039 word list (did you mean \
                          'academic'?); 'academic' is the only word there"
        ),
        "{}",
        err.terminal_message()
    );
    assert!(!format!("{hint:?}").contains("acad"), "{hint:?}");
    assert_eq!(nearest, &vec!["academic"]);
}

#[test]
fn several_unknown_words() {
    let s = share33();
    let text = replace_word(
        &replace_word(&replace_word(&s, 5, "xyzzy"), 9, "plugh"),
        30,
        "42",
    );
    let err = parse_err(&text);
    match &err {
        ParseError::UnknownWord {
            position: 5,
            word,
            suggestion: None,
            also_unknown,
            ..
        } => {
            assert_eq!(word, "xyzzy");
            assert_eq!(also_unknown, &vec![9, 30]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("words 9 and 30 are not in the list either"),
        "{err}"
    );
    // Non-ASCII and too-short tokens are unknown words too, never a panic.
    assert!(matches!(
        parse_err(&replace_word(&s, 1, "académic")),
        ParseError::UnknownWord { position: 1, .. }
    ));
    assert!(matches!(
        parse_err(&replace_word(&s, 2, "aca")),
        ParseError::UnknownWord { position: 2, .. }
    ));
}

#[test]
fn prefixes_case_and_whitespace_are_accepted() {
    let s = share33();
    let prefixed: Vec<String> = s.split(' ').map(|w| w[..4].to_uppercase()).collect();
    let messy = format!("\n  {}  \r\n", prefixed.join(" \t "));
    assert_eq!(&slip39::parse(&messy).unwrap().to_words()[..], s);
}

#[test]
fn checksum_with_unique_hint() {
    // Vector 2: vector 1 with its last word "keyboard" changed to "kidney".
    let err = parse_err(&vector(2)[0]);
    let ParseError::InvalidChecksum {
        suggestion: Some(hint),
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (hint.position, hint.typed.as_str(), hint.replacement),
        (20, "kidney", "keyboard")
    );
    let msg = err.terminal_message();
    assert!(
        msg.contains("word 20 'kidney' is not valid; 'keyboard' would make this share check"),
        "{msg}"
    );
    assert!(
        msg.contains("Compare that word with the written share"),
        "{msg}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("changing word 20 alone would make this share check"),
        "{shown}"
    );
    assert!(
        !shown.contains("kidney") && !shown.contains("keyboard"),
        "{shown}"
    );
}

#[test]
fn checksum_without_hint_when_two_words_are_wrong() {
    let s = share33();
    let words: Vec<&str> = s.split(' ').collect();
    // Swap two neighbouring words: two substitutions, which no single change repairs.
    let mut swapped = words.clone();
    swapped.swap(10, 11);
    assert_ne!(swapped, words);
    let err = parse_err(&swapped.join(" "));
    assert_eq!(err, ParseError::InvalidChecksum { suggestion: None });
    assert!(err.to_string().contains("two words swapped"), "{err}");
}

/// RS1024 detects every single-word substitution; and since no other single change
/// can make the share valid (the code's minimum distance is 4), the hint always names
/// the changed position and the original word. 33 positions × 1023 words.
#[test]
fn every_single_substitution_is_caught_and_located() {
    let s = share33();
    let words: Vec<&str> = s.split(' ').collect();
    let list: Vec<&str> = include_str!("../vectors/slip39/wordlist.txt")
        .split_whitespace()
        .collect();
    let mut checked = 0;
    for pos in 0..words.len() {
        for &w in &list {
            if w == words[pos] {
                continue;
            }
            let mut changed = words.clone();
            changed[pos] = w;
            match slip39::parse(&changed.join(" ")) {
                Err(ParseError::InvalidChecksum {
                    suggestion: Some(hint),
                }) => {
                    assert_eq!(hint.position, pos + 1);
                    assert_eq!(hint.typed, w);
                    assert_eq!(hint.replacement, words[pos]);
                }
                other => panic!("word {} -> {w}: {other:?}", pos + 1),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 33 * 1023);
}

#[test]
fn invalid_padding() {
    let err = parse_err(&vector(3)[0]);
    assert_eq!(err, ParseError::InvalidPadding);
    assert!(err.to_string().contains("padding"));
    assert_eq!(parse_err(&vector(22)[0]), ParseError::InvalidPadding);
}

#[test]
fn group_threshold_exceeds_count() {
    let err = recover_err(&vector(10));
    match &err {
        RecoverError::Parse {
            share,
            error:
                ParseError::GroupThresholdExceedsCount {
                    group_threshold,
                    group_count,
                },
        } => {
            assert!(group_threshold > group_count);
            assert!(
                err.to_string()
                    .starts_with(&format!("share {share}: the share says")),
                "{err}"
            );
        }
        other => panic!("{other:?}"),
    }
}

// ---- recovery errors ----

#[test]
fn parse_error_names_the_share() {
    let mut texts = vector(4);
    texts[1] = replace_word(&texts[1], 7, "qqqq");
    let err = recover_err(&texts);
    assert!(matches!(
        &err,
        RecoverError::Parse {
            share: 2,
            error: ParseError::UnknownWord { position: 7, .. }
        }
    ));
    assert!(
        err.to_string()
            .starts_with("share 2: word 7 is not in the SLIP-0039 word list"),
        "{err}"
    );
}

#[test]
fn no_shares() {
    assert_eq!(
        slip39::recover(&[], &Passphrase::empty()).unwrap_err(),
        RecoverError::NoShares
    );
    let none: [&str; 0] = [];
    assert_eq!(
        slip39::recover_text(&none, &Passphrase::empty()).unwrap_err(),
        RecoverError::NoShares
    );
}

#[test]
fn identifier_mismatch() {
    let err = recover_err(&vector(6));
    assert!(
        matches!(err, RecoverError::IdentifierMismatch { share: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("different set of shares"), "{err}");
    assert!(matches!(
        recover_err(&vector(25)),
        RecoverError::IdentifierMismatch { share: 2, .. }
    ));
}

#[test]
fn extendable_mismatch() {
    // The same seed gives the same identifier; only the flag differs.
    let ext = seeded_split(10, 16, 0, 1, &[(2, 3)], FAST);
    let old = seeded_split(
        10,
        16,
        0,
        1,
        &[(2, 3)],
        GenerateOptions {
            extendable: false,
            ..FAST
        },
    );
    let err = recover_err(&[ext[0][0].clone(), old[0][1].clone()]);
    assert_eq!(
        err,
        RecoverError::ExtendableMismatch {
            share: 2,
            found: false
        }
    );
    assert!(
        err.to_string()
            .contains("share 2 is not extendable but share 1 is"),
        "{err}"
    );
}

#[test]
fn iteration_exponent_mismatch() {
    let err = recover_err(&vector(7));
    assert!(
        matches!(
            err,
            RecoverError::IterationExponentMismatch { share: 2, .. }
        ),
        "{err:?}"
    );
    let a = seeded_split(11, 16, 0, 1, &[(2, 3)], FAST);
    let b = seeded_split(
        11,
        16,
        0,
        1,
        &[(2, 3)],
        GenerateOptions {
            iteration_exponent: 2,
            ..FAST
        },
    );
    let err = recover_err(&[a[0][0].clone(), b[0][1].clone()]);
    assert_eq!(
        err,
        RecoverError::IterationExponentMismatch {
            share: 2,
            expected: 0,
            found: 2
        }
    );
}

#[test]
fn group_threshold_mismatch() {
    let err = recover_err(&vector(8));
    assert!(
        matches!(err, RecoverError::GroupThresholdMismatch { share: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("groups are needed"), "{err}");
}

#[test]
fn group_count_mismatch() {
    let err = recover_err(&vector(9));
    assert!(
        matches!(err, RecoverError::GroupCountMismatch { share: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn length_mismatch() {
    let a = seeded_split(12, 16, 0, 1, &[(2, 3)], FAST);
    let b = seeded_split(12, 32, 0, 1, &[(2, 3)], FAST);
    let err = recover_err(&[a[0][0].clone(), b[0][1].clone()]);
    assert_eq!(
        err,
        RecoverError::LengthMismatch {
            share: 2,
            expected: 20,
            found: 33
        }
    );
}

#[test]
fn member_threshold_mismatch() {
    let err = recover_err(&vector(12));
    assert!(
        matches!(
            err,
            RecoverError::MemberThresholdMismatch {
                share: 2,
                first: 1,
                group: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("group 1 needs"), "{err}");
}

#[test]
fn duplicate_member() {
    let err = recover_err(&vector(11));
    assert_eq!(
        err,
        RecoverError::DuplicateMember {
            share: 2,
            first: 1,
            group: 1,
            member: 3
        }
    );
    assert!(
        err.to_string()
            .contains("share 2 and share 1 are both member 3 of group 1"),
        "{err}"
    );
    // The very same share entered twice.
    let texts = vector(4);
    let err = recover_err(&[texts[0].clone(), texts[0].clone()]);
    assert!(matches!(
        err,
        RecoverError::DuplicateMember {
            share: 2,
            first: 1,
            ..
        }
    ));
}

#[test]
fn too_few_groups() {
    let err = recover_err(&vector(14));
    assert!(
        matches!(err, RecoverError::TooFewGroups { have: 1, .. }),
        "{err:?}"
    );
    assert!(matches!(
        recover_err(&vector(15)),
        RecoverError::TooFewGroups { have: 1, .. }
    ));
    let RecoverError::TooFewGroups { need, .. } = err else {
        unreachable!()
    };
    assert!(
        err.to_string()
            .contains(&format!("add shares from {} more group(s)", need - 1)),
        "{err}"
    );
}

#[test]
fn too_many_groups() {
    let split = seeded_split(13, 16, 0, 2, &[(1, 1), (1, 1), (1, 1)], FAST);
    let all: Vec<String> = split.iter().map(|g| g[0].clone()).collect();
    let err = recover_err(&all);
    assert_eq!(err, RecoverError::TooManyGroups { have: 3, need: 2 });
    assert!(
        err.to_string()
            .contains("leave out the shares of 1 group(s)"),
        "{err}"
    );
}

#[test]
fn too_few_members() {
    let err = recover_err(&vector(5));
    assert_eq!(
        err,
        RecoverError::TooFewMembers {
            group: 1,
            have: 1,
            need: 2
        }
    );
    assert!(
        err.to_string()
            .starts_with("need 1 more share(s) from group 1"),
        "{err}"
    );
    assert!(matches!(
        recover_err(&vector(16)),
        RecoverError::TooFewMembers {
            have: 1,
            need: 2,
            ..
        }
    ));
}

#[test]
fn too_many_members() {
    let split = seeded_split(14, 16, 0, 1, &[(2, 3)], FAST);
    assert_eq!(
        recover_err(&split[0]),
        RecoverError::TooManyMembers {
            group: 1,
            have: 3,
            need: 2
        }
    );
}

#[test]
fn digest_mismatch_in_a_group_and_between_groups() {
    let err = recover_err(&vector(13));
    assert_eq!(err, RecoverError::DigestMismatch { group: Some(1) });
    assert!(err.to_string().contains("of group 1"), "{err}");
    // Two splits with the same identifier (same seed) but different secrets: their
    // group shares fit together field by field but not by digest.
    let a = seeded_split(15, 16, 1, 2, &[(1, 1), (1, 1)], FAST);
    let b = seeded_split(15, 16, 2, 2, &[(1, 1), (1, 1)], FAST);
    let err = recover_err(&[a[0][0].clone(), b[1][0].clone()]);
    assert_eq!(err, RecoverError::DigestMismatch { group: None });
    assert!(err.to_string().contains("try another combination"), "{err}");
}

// ---- generation errors ----

#[test]
fn generation_errors() {
    let ms = MasterSecret::new(vec![1; 16]).unwrap();
    let p = Passphrase::empty();
    let generate = |gt: u8, specs: &[(u8, u8)], options: GenerateOptions| {
        let specs: Vec<GroupSpec> = specs.iter().map(|&(t, n)| GroupSpec::new(t, n)).collect();
        slip39::generate(&ms, &p, gt, &specs, options).unwrap_err()
    };
    assert_eq!(
        MasterSecret::new(vec![0; 15]).unwrap_err(),
        GenerateError::SecretLength { bytes: 15 }
    );
    assert_eq!(
        MasterSecret::new(vec![0; 17]).unwrap_err(),
        GenerateError::SecretLength { bytes: 17 }
    );
    assert_eq!(
        MasterSecret::new(Vec::new()).unwrap_err(),
        GenerateError::SecretLength { bytes: 0 }
    );
    assert_eq!(
        generate(1, &[], FAST),
        GenerateError::GroupCount { groups: 0 }
    );
    assert_eq!(
        generate(1, &[(1, 1); 17], FAST),
        GenerateError::GroupCount { groups: 17 }
    );
    assert_eq!(
        generate(0, &[(1, 1)], FAST),
        GenerateError::GroupThreshold {
            threshold: 0,
            groups: 1
        }
    );
    assert_eq!(
        generate(3, &[(1, 1), (1, 1)], FAST),
        GenerateError::GroupThreshold {
            threshold: 3,
            groups: 2
        }
    );
    assert_eq!(
        generate(1, &[(1, 0)], FAST),
        GenerateError::MemberCount { group: 1, count: 0 }
    );
    assert_eq!(
        generate(1, &[(1, 1), (2, 17)], FAST),
        GenerateError::MemberCount {
            group: 2,
            count: 17
        }
    );
    assert_eq!(
        generate(1, &[(0, 2)], FAST),
        GenerateError::MemberThreshold {
            group: 1,
            threshold: 0,
            count: 2
        }
    );
    assert_eq!(
        generate(1, &[(3, 2)], FAST),
        GenerateError::MemberThreshold {
            group: 1,
            threshold: 3,
            count: 2
        }
    );
    // SLIP-0039 forbids a threshold of 1 with more than one member.
    let err = generate(1, &[(2, 3), (1, 2)], FAST);
    assert_eq!(
        err,
        GenerateError::SingleThresholdGroup { group: 2, count: 2 }
    );
    assert!(err.to_string().contains("give the group 1 member"), "{err}");
    let err = generate(
        1,
        &[(1, 1)],
        GenerateOptions {
            iteration_exponent: 16,
            extendable: true,
        },
    );
    assert_eq!(err, GenerateError::IterationExponent { exponent: 16 });
    // The largest layout the format allows is fine: 16 groups of 16.
    let ok = slip39::generate(&ms, &p, 16, &[GroupSpec::new(16, 16); 16], FAST).unwrap();
    assert_eq!(ok.len(), 16);
    assert!(ok.iter().all(|g| g.len() == 16));
}

#[test]
fn no_secret_in_debug() {
    let ms = MasterSecret::new(vec![0xcd; 16]).unwrap();
    let groups = slip39::generate(
        &ms,
        &Passphrase::new(b"pw".to_vec()).unwrap(),
        1,
        &[GroupSpec::new(2, 2)],
        FAST,
    )
    .unwrap();
    let dbg = format!("{:?} {:?} {ms:?}", groups[0][0], groups[0][1]);
    assert!(dbg.contains("<16 secret bytes>"), "{dbg}");
    assert!(
        !dbg.contains("205") && !dbg.to_lowercase().contains("cd, "),
        "{dbg}"
    );
}

// ---- adding a member ----

#[test]
fn extend_group_adds_a_member_that_recovers() {
    use svault::share::slip39::ExtendError;
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let ms = MasterSecret::new(vec![0x3c; 32]).unwrap();
    let p = Passphrase::new(b"pw".to_vec()).unwrap();
    let specs = [GroupSpec::new(2, 3), GroupSpec::new(3, 3)];
    let groups = slip39::generate_with_rng(&ms, &p, 2, &specs, FAST, &mut rng).unwrap();
    let copy = |s: &Slip39Share| slip39::parse(&s.to_words()).unwrap();
    let new = slip39::extend_group(
        &[
            copy(&groups[1][2]),
            copy(&groups[1][0]),
            copy(&groups[1][1]),
        ],
        7,
    )
    .unwrap();
    assert_eq!(
        (
            new.group_index(),
            new.member_index(),
            new.member_threshold()
        ),
        (1, 7, 3)
    );
    // The new member replaces an original one.
    let shares = [
        copy(&new),
        copy(&groups[1][0]),
        copy(&groups[1][2]),
        copy(&groups[0][1]),
        copy(&groups[0][2]),
    ];
    assert_eq!(
        slip39::recover(&shares, &p).unwrap().as_bytes(),
        ms.as_bytes()
    );
    // Its words are a valid share for any SLIP-0039 tool.
    assert_eq!(
        &slip39::parse(&new.to_words()).unwrap().to_words()[..],
        &new.to_words()[..]
    );

    let two = [copy(&groups[0][0]), copy(&groups[0][1])];
    assert_eq!(
        slip39::extend_group(&two, 1).unwrap_err(),
        ExtendError::MemberIndex { member: 2 }
    );
    assert_eq!(
        slip39::extend_group(&two, 16).unwrap_err(),
        ExtendError::MemberIndex { member: 17 }
    );
    let mixed = [copy(&groups[0][0]), copy(&groups[1][1])];
    assert!(matches!(
        slip39::extend_group(&mixed, 9).unwrap_err(),
        ExtendError::MixedGroups { share: 2, .. }
    ));
    let one = [copy(&groups[0][0])];
    assert_eq!(
        slip39::extend_group(&one, 9).unwrap_err(),
        ExtendError::Shares(RecoverError::TooFewMembers {
            group: 1,
            have: 1,
            need: 2
        })
    );
    let solo =
        slip39::generate_with_rng(&ms, &p, 1, &[GroupSpec::new(1, 1)], FAST, &mut rng).unwrap();
    assert_eq!(
        slip39::extend_group(&solo[0], 3).unwrap_err(),
        ExtendError::ThresholdOne { group: 1 }
    );
}
