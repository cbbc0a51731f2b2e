//! Vault headers: the fuzzer's bytes are the header line of the committed format-1
//! vault, framed with its version line and its real payload. Any header is refused with
//! a message or read, never a panic; a header that is read survives a JSON round trip;
//! and with the vault's own shares the payload opens only under the exact header it was
//! sealed with (the header is the payload's associated data).
#![no_main]

use svault::vault::{Header, Sealed};

const VAULT: &[u8] = include_bytes!("../../vectors/vault/v1/vault.svault");
const SHARES: &str = include_str!("../../vectors/vault/v1/shares.txt");

/// The v1 vault split into (version line, header line, sealed payload).
fn parts() -> (&'static [u8], &'static [u8], &'static [u8]) {
    let version_end = VAULT
        .iter()
        .position(|&b| b == b'\n')
        .expect("version line")
        + 1;
    let rest = &VAULT[version_end..];
    let header_end = rest.iter().position(|&b| b == b'\n').expect("header line");
    (
        &VAULT[..version_end],
        &rest[..header_end],
        &rest[header_end + 1..],
    )
}

fn check(data: &[u8]) {
    let (version, header, payload) = parts();
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

    for line in SHARES.lines().take(2) {
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
