//! Vault files: any bytes are refused with a message or read, never a panic; with the
//! shares of the committed format-1 vault, a file that unseals holds exactly that
//! vault's credentials (authentication admits no other contents).
#![no_main]

use svault::vault::Sealed;

const SHARES: &str = include_str!("../../vectors/vault/v1/shares.txt");
const EXPECTED: &str = include_str!("../../vectors/vault/v1/expected.txt");

fn check(data: &[u8]) {
    let mut sealed = match Sealed::from_bytes(data.to_vec()) {
        Ok(sealed) => sealed,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    let _ = sealed.progress().to_string();
    for line in SHARES.lines().take(2) {
        if sealed.submit_text(line).is_err() {
            return;
        }
    }
    if let Ok(vault) = sealed.unseal() {
        let mut count = 0;
        for line in EXPECTED.lines() {
            let (name, value) = line.split_once(" = ").expect("expected.txt format");
            assert_eq!(vault.get(name).map(|v| v.expose()), Some(value.as_bytes()));
            count += 1;
        }
        assert_eq!(vault.list().len(), count);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));
