//! SLIP-0039 share text: any text is refused (with a message) or read, never a panic;
//! what is read writes back as words that read as the same share.
#![no_main]

use svault::share::slip39;

fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match slip39::parse(&text) {
        Ok(share) => {
            let words = share.to_words();
            let again = slip39::parse(&words).expect("written words parse");
            assert_eq!(*again.to_words(), *words, "words read back as written");
            assert_eq!(again.identifier(), share.identifier());
            assert_eq!(again.member_index(), share.member_index());
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));
