//! Vault/OpenBao unseal key parsing: any text is refused or read, never a panic; what
//! is read encodes back to the same text (hex in lower case), and any share encodes to
//! text that reads back as the same share.
#![no_main]

use svault::shamir::Share;
use svault::share::unseal_key::{self, Format};

fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for format in [Format::Hex, Format::Base64] {
        if let Ok(share) = unseal_key::parse_as(&text, format) {
            assert_ne!(share.x(), 0, "x = 0 is refused");
            assert!(!share.y().is_empty(), "at least one value byte");
            let encoded = unseal_key::encode(&share, format);
            let expected = match format {
                Format::Hex => text.trim().to_ascii_lowercase(),
                _ => text.trim().to_string(),
            };
            assert_eq!(*encoded, expected, "{format} reads back as written");
        }
    }
    let _ = unseal_key::parse(&text);

    // The input's bytes as a share: both encodings read back exactly.
    if let Some((&x, y)) = data.split_last()
        && x != 0
        && !y.is_empty()
    {
        let share = Share::new(x, y.to_vec());
        for format in [Format::Hex, Format::Base64] {
            let encoded = unseal_key::encode(&share, format);
            if format == Format::Hex {
                assert_eq!(unseal_key::detect(&encoded), Format::Hex);
            }
            let back = unseal_key::parse_as(&encoded, format).expect("encoded keys parse");
            assert_eq!(back.x(), x);
            assert_eq!(back.y(), y);
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));
