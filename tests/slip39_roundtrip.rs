//! SLIP-0039 end to end through the public API: generate, write words, parse, recover;
//! passphrases byte-exact at every length.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use svault::share::slip39::{
    self, GenerateOptions, GroupSpec, MasterSecret, Passphrase, PassphraseError, RecoverError,
    Slip39Share,
};

const FAST: GenerateOptions = GenerateOptions {
    iteration_exponent: 0,
    extendable: true,
};

fn secret(len: usize, seed: u8) -> MasterSecret {
    MasterSecret::new(
        (0..len)
            .map(|i| (i as u8).wrapping_mul(71) ^ seed)
            .collect(),
    )
    .unwrap()
}

fn words_of(groups: &[Vec<Slip39Share>]) -> Vec<Vec<String>> {
    groups
        .iter()
        .map(|g| g.iter().map(|s| s.to_words().to_string()).collect())
        .collect()
}

/// A handful of layouts through the full API, passphrase layer included (the whole
/// space of small layouts is covered below the passphrase layer by a unit test).
#[test]
fn layouts_round_trip_with_passphrase() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let pass = Passphrase::new(b"officer of the watch".to_vec()).unwrap();
    let layouts: [(u8, &[(u8, u8)]); 5] = [
        (1, &[(1, 1)]),
        (1, &[(3, 5)]),
        (2, &[(1, 1), (2, 3), (3, 4)]),
        (3, &[(2, 2), (1, 1), (4, 4), (2, 3)]),
        (4, &[(1, 1), (1, 1), (1, 1), (1, 1)]),
    ];
    for (i, (gt, specs)) in layouts.iter().enumerate() {
        let specs: Vec<GroupSpec> = specs.iter().map(|&(t, n)| GroupSpec::new(t, n)).collect();
        let ms = secret(if i % 2 == 0 { 16 } else { 32 }, i as u8);
        let options = GenerateOptions {
            iteration_exponent: 0,
            extendable: i % 2 == 0,
        };
        let groups = slip39::generate_with_rng(&ms, &pass, *gt, &specs, options, &mut rng).unwrap();
        let words = words_of(&groups);
        // The last gt groups, the last `threshold` members of each.
        let mut typed: Vec<&str> = Vec::new();
        for g in specs.len() - usize::from(*gt)..specs.len() {
            let t = usize::from(specs[g].member_threshold);
            typed.extend(words[g][words[g].len() - t..].iter().map(String::as_str));
        }
        let back = slip39::recover_text(&typed, &pass).unwrap();
        assert_eq!(back.as_bytes(), ms.as_bytes(), "layout {i}");
        let shares = slip39::parse_all(&typed).unwrap();
        assert_eq!(shares[0].extendable(), i % 2 == 0);
        assert_eq!(shares[0].group_threshold(), *gt);
        assert_eq!(shares[0].group_count(), specs.len() as u8);
        slip39::check_complete(&shares).unwrap();
    }
}

#[test]
fn os_rng_generation_and_identifier_is_random() {
    let ms = secret(16, 9);
    let a = slip39::generate(&ms, &Passphrase::empty(), 1, &[GroupSpec::new(1, 1)], FAST).unwrap();
    let b = slip39::generate(&ms, &Passphrase::empty(), 1, &[GroupSpec::new(1, 1)], FAST).unwrap();
    // Extendable: the identifier is not in the encryption, so both decrypt the same.
    for g in [a, b] {
        assert_eq!(
            slip39::recover(&g[0], &Passphrase::empty())
                .unwrap()
                .as_bytes(),
            ms.as_bytes()
        );
    }
}

#[test]
fn secret_lengths() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for len in [16usize, 18, 20, 24, 32, 48, 64] {
        let ms = secret(len, 3);
        let g = slip39::generate_with_rng(
            &ms,
            &Passphrase::empty(),
            1,
            &[GroupSpec::new(2, 2)],
            FAST,
            &mut rng,
        )
        .unwrap();
        let words = words_of(&g);
        assert_eq!(g[0][0].word_count(), words[0][0].split(' ').count());
        let back = slip39::recover_text(&words[0], &Passphrase::empty()).unwrap();
        assert_eq!(back.as_bytes(), ms.as_bytes(), "{len} bytes");
    }
    assert_eq!(secret(16, 0).len(), 16);
}

/// Passphrases are used byte for byte: no truncation at any length (PBKDF2's HMAC key
/// is hashed beyond 64 bytes, bcrypt-style limits sit at 72), and a one-byte-shorter
/// prefix never gives the same secret.
#[test]
fn passphrases_are_byte_exact() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let ms = secret(16, 4);
    for len in [1usize, 8, 9, 63, 64, 72, 73, 1000] {
        let bytes: Vec<u8> = (0..len).map(|i| b' ' + (i * 7 % 95) as u8).collect();
        let pass = Passphrase::new(bytes.clone()).unwrap();
        let g = slip39::generate_with_rng(&ms, &pass, 1, &[GroupSpec::new(1, 1)], FAST, &mut rng)
            .unwrap();
        assert_eq!(
            slip39::recover(&g[0], &pass).unwrap().as_bytes(),
            ms.as_bytes(),
            "len {len}"
        );
        let prefix = Passphrase::new(bytes[..len - 1].to_vec()).unwrap();
        assert_ne!(
            slip39::recover(&g[0], &prefix).unwrap().as_bytes(),
            ms.as_bytes(),
            "prefix of {len}"
        );
        let mut longer = bytes.clone();
        longer.push(b'x');
        let longer = Passphrase::new(longer).unwrap();
        assert_ne!(
            slip39::recover(&g[0], &longer).unwrap().as_bytes(),
            ms.as_bytes(),
            "extension of {len}"
        );
        // A passphrase file with its trailing newline reads as the same passphrase.
        let mut file = bytes.clone();
        file.extend_from_slice(b"\r\n");
        let from_file = Passphrase::from_file_bytes(file).unwrap();
        assert_eq!(
            slip39::recover(&g[0], &from_file).unwrap().as_bytes(),
            ms.as_bytes()
        );
    }
    // The empty passphrase is a passphrase like any other.
    let g = slip39::generate_with_rng(
        &ms,
        &Passphrase::empty(),
        1,
        &[GroupSpec::new(1, 1)],
        FAST,
        &mut rng,
    )
    .unwrap();
    assert_ne!(
        slip39::recover(&g[0], &Passphrase::new(b" ".to_vec()).unwrap())
            .unwrap()
            .as_bytes(),
        ms.as_bytes()
    );
    assert_eq!(
        slip39::recover(&g[0], &Passphrase::new(Vec::new()).unwrap())
            .unwrap()
            .as_bytes(),
        ms.as_bytes()
    );
}

#[test]
fn passphrase_characters_are_printable_ascii_only() {
    for (bytes, position) in [
        (b"caf\xc3\xa9".to_vec(), 4usize),
        (b"tab\there".to_vec(), 4),
        (b"two\nlines".to_vec(), 4),
        (b"\x7f".to_vec(), 1),
    ] {
        let err = Passphrase::new(bytes).unwrap_err();
        assert!(
            matches!(err, PassphraseError::InvalidCharacter { position: p, .. } if p == position)
        );
        let msg = err.to_string();
        assert!(msg.contains("printable ASCII"), "{msg}");
    }
    assert!(Passphrase::new(b" !~".to_vec()).is_ok());
    // Only one line ending is stripped from a file.
    assert!(Passphrase::from_file_bytes(b"pw\n\n".to_vec()).is_err());
    assert_eq!(slip39::strip_one_line_ending(b"pw\n".to_vec()), b"pw");
}

#[test]
fn more_than_threshold_is_refused_with_a_count() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let ms = secret(16, 5);
    let g = slip39::generate_with_rng(
        &ms,
        &Passphrase::empty(),
        1,
        &[GroupSpec::new(2, 3)],
        FAST,
        &mut rng,
    )
    .unwrap();
    let words = words_of(&g);
    let err = slip39::recover_text(&words[0], &Passphrase::empty()).unwrap_err();
    assert_eq!(
        err,
        RecoverError::TooManyMembers {
            group: 1,
            have: 3,
            need: 2
        }
    );
    assert!(err.to_string().contains("leave out 1 of them"), "{err}");
}
