//! Vault headers: the fuzzer's first byte picks the committed format-1 or format-2
//! vault (even: 2, odd: 1), the rest is a header line, framed with that vault's version
//! line and its real payload. Any header is refused with
//! a message or read, never a panic; a header that is read survives a JSON round trip;
//! and with the vault's own shares the payload opens only under the exact header it was
//! sealed with (the header is the payload's associated data).
#![no_main]

use svault::vault::{Header, Sealed};

const VAULTS: [(&[u8], &str); 2] = [
    (
        include_bytes!("../../vectors/vault/v2/vault.svault"),
        include_str!("../../vectors/vault/v2/shares.txt"),
    ),
    (
        include_bytes!("../../vectors/vault/v1/vault.svault"),
        include_str!("../../vectors/vault/v1/shares.txt"),
    ),
];

/// A vault split into (version line, header line, sealed payload).
fn parts(vault: &'static [u8]) -> (&'static [u8], &'static [u8], &'static [u8]) {
    let version_end = vault
        .iter()
        .position(|&b| b == b'\n')
        .expect("version line")
        + 1;
    let rest = &vault[version_end..];
    let header_end = rest.iter().position(|&b| b == b'\n').expect("header line");
    (
        &vault[..version_end],
        &rest[..header_end],
        &rest[header_end + 1..],
    )
}

fn check(input: &[u8]) {
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    let (vault, shares) = VAULTS[usize::from(pick & 1)];
    let (version, header, payload) = parts(vault);
    let mut file = Vec::with_capacity(version.len() + data.len() + 1 + payload.len());
    file.extend_from_slice(version);
    file.extend_from_slice(data);
    file.push(b'\n');
    file.extend_from_slice(payload);

    let mut sealed = match Sealed::from_bytes(file) {
        Ok(sealed) => sealed,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    let json = serde_json::to_string(sealed.header()).expect("a header serialises");
    let again: Header = serde_json::from_str(&json).expect("a serialised header reads back");
    assert_eq!(&again, sealed.header(), "JSON round trip");
    let _ = sealed.progress().to_string();
    let _ = sealed.header().officers_without_drill_key();
    for officer in &sealed.header().officers {
        // A header that was read holds only keys that decode (FORMAT.md §2).
        assert_eq!(officer.drill_key.is_some(), officer.drill_key().is_some());
    }

    for line in shares.lines().take(2) {
        if sealed.submit_text(line).is_err() {
            return;
        }
    }
    if sealed.unseal().is_ok() {
        assert_eq!(
            data, header,
            "the payload opened under a header it was not sealed with"
        );
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));
