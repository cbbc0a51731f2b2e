#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| svault_fuzz::check_combine(data));
