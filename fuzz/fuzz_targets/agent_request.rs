//! The agent's request parser on arbitrary bytes: it never panics; whatever it
//! accepts re-encodes to a line that parses to the same request; no error message
//! quotes the input's string values (which may be secrets); the response parser
//! never panics either, and what it accepts (`retry_after_ms` included) re-encodes to
//! a line that parses to the same response.
#![no_main]

use svault::agent::protocol::{Request, Response};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    match Request::parse(data) {
        Ok(request) => {
            let line = request.encode().expect("an accepted request encodes");
            assert_eq!(line.last(), Some(&b'\n'));
            let again = Request::parse(&line[..line.len() - 1]).expect("re-parses");
            assert_eq!(format!("{again:?}"), format!("{request:?}"));
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.len() < 600, "long error: {message}");
            assert!(!message.contains('"'), "quotes a value: {message}");
        }
    }
    if let Ok(response) = Response::parse(data) {
        let line = response.encode();
        let again = Response::parse(&line[..line.len() - 1]).expect("a response re-parses");
        assert_eq!(format!("{again:?}"), format!("{response:?}"));
    }
});
