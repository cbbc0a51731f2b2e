//! Walks the 45 official SLIP-0039 vectors in `vectors/slip39/vectors.json`.
//!
//! Valid vectors must recover the given master secret with the passphrase "TREZOR";
//! each invalid vector must fail with the error its description names.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use svault::share::slip39::{self, ParseError, Passphrase, RecoverError};

/// The error kind a vector's description promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Checksum,
    Padding,
    Length,
    Identifier,
    IterationExponent,
    GroupThreshold,
    GroupCount,
    GroupThresholdOverCount,
    DuplicateMember,
    MemberThreshold,
    Digest,
    TooFewGroups,
    TooFewMembers,
}

fn expected_kind(description: &str) -> Kind {
    let d = description.to_lowercase();
    let table: [(&str, Kind); 14] = [
        ("invalid checksum", Kind::Checksum),
        ("invalid padding", Kind::Padding),
        ("insufficient length", Kind::Length),
        ("invalid master secret length", Kind::Length),
        ("different identifiers", Kind::Identifier),
        ("different iteration exponents", Kind::IterationExponent),
        ("mismatching group thresholds", Kind::GroupThreshold),
        ("mismatching group counts", Kind::GroupCount),
        (
            "greater group threshold than group counts",
            Kind::GroupThresholdOverCount,
        ),
        ("duplicate member indices", Kind::DuplicateMember),
        ("mismatching member thresholds", Kind::MemberThreshold),
        ("invalid digest", Kind::Digest),
        ("insufficient number of groups", Kind::TooFewGroups),
        ("insufficient number of members", Kind::TooFewMembers),
    ];
    if let Some((_, kind)) = table.iter().find(|(key, _)| d.contains(key)) {
        return *kind;
    }
    // "Basic sharing 2-of-3" vectors with a single share: one member short.
    if d.contains("basic sharing") {
        return Kind::TooFewMembers;
    }
    panic!("no expected error kind for invalid vector {description:?}");
}

fn kind_of(err: &RecoverError) -> Option<Kind> {
    Some(match err {
        RecoverError::Parse { error, .. } => match error {
            ParseError::InvalidChecksum { .. } => Kind::Checksum,
            ParseError::InvalidPadding => Kind::Padding,
            ParseError::WrongLength { .. } => Kind::Length,
            ParseError::GroupThresholdExceedsCount { .. } => Kind::GroupThresholdOverCount,
            _ => return None,
        },
        RecoverError::IdentifierMismatch { .. } => Kind::Identifier,
        RecoverError::IterationExponentMismatch { .. } => Kind::IterationExponent,
        RecoverError::GroupThresholdMismatch { .. } => Kind::GroupThreshold,
        RecoverError::GroupCountMismatch { .. } => Kind::GroupCount,
        RecoverError::DuplicateMember { .. } => Kind::DuplicateMember,
        RecoverError::MemberThresholdMismatch { .. } => Kind::MemberThreshold,
        RecoverError::DigestMismatch { .. } => Kind::Digest,
        RecoverError::TooFewGroups { .. } => Kind::TooFewGroups,
        RecoverError::TooFewMembers { .. } => Kind::TooFewMembers,
        _ => return None,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn official_vectors() {
    let text = include_str!("../vectors/slip39/vectors.json");
    let vectors: serde_json::Value = serde_json::from_str(text).expect("vectors.json parses");
    let vectors = vectors.as_array().expect("a list of vectors");
    assert_eq!(vectors.len(), 45);
    let trezor = Passphrase::new(b"TREZOR".to_vec()).unwrap();

    let (mut valid, mut invalid) = (0, 0);
    for v in vectors {
        let description = v[0].as_str().unwrap();
        let shares: Vec<&str> = v[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let expected = v[2].as_str().unwrap();
        let result = slip39::recover_text(&shares, &trezor);
        if expected.is_empty() {
            let err = match result {
                Ok(_) => panic!("{description}: recovered a secret from invalid shares"),
                Err(e) => e,
            };
            let want = expected_kind(description);
            assert_eq!(
                kind_of(&err),
                Some(want),
                "{description}: got {err:?} ({err})"
            );
            invalid += 1;
        } else {
            let secret = result.unwrap_or_else(|e| panic!("{description}: {e}"));
            assert_eq!(hex(secret.as_bytes()), expected, "{description}");
            // The words survive a parse/print round trip exactly.
            for s in &shares {
                assert_eq!(
                    &slip39::parse(s).unwrap().to_words()[..],
                    *s,
                    "{description}"
                );
            }
            valid += 1;
        }
    }
    assert_eq!((valid, invalid), (15, 30));
}
