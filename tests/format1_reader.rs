//! A format-1 reader meets a format-2 file (DESIGN invariant 5, FORMAT.md §6): it
//! refuses it at the version line, naming both versions, and changes nothing.
//!
//! `format1/format.rs` is the released format-1 framing and header code, verbatim;
//! this test runs its refusal path on the committed format-2 vector and on a freshly
//! written format-2 file. The same check against the program built from the last
//! format-1 commit is `scripts/check-old-reader`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers
#![allow(dead_code, unused_imports, missing_docs, clippy::all)] // the old module as it was

#[path = "format1/format.rs"]
mod format1;

use std::fs;
use std::path::PathBuf;

use svault::secret::SecretBytes;
use svault::vault::{Draft, Plan, Vault};

fn refused_by_format1(bytes: &[u8]) -> String {
    match format1::frame(bytes) {
        Ok(_) => panic!("the format-1 reader framed a format-2 file"),
        Err(e) => {
            assert_eq!(
                e,
                format1::FormatError::NewerVersion {
                    found: 2,
                    supported: 1
                }
            );
            e.to_string()
        }
    }
}

#[test]
fn the_format_1_reader_refuses_format_2_naming_both_versions_and_changes_nothing() {
    assert_eq!(
        format1::VERSION,
        1,
        "format1/format.rs is not the format-1 reader"
    );
    let vector = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/vault/v2/vault.svault");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.svault");
    fs::copy(&vector, &path).unwrap();
    let before = fs::read(&path).unwrap();
    let message = refused_by_format1(&fs::read(&path).unwrap());
    assert_eq!(
        message,
        "this vault uses format version 2, but this program reads versions up to 1; upgrade svault (the file was not changed)"
    );
    assert_eq!(fs::read(&path).unwrap(), before);

    // A file this program writes now, too.
    let fresh = dir.path().join("fresh.svault");
    let mut vault = Draft::new(&Plan::simple(2, &["a", "b", "c"]))
        .unwrap()
        .write_new(&fresh, None)
        .unwrap();
    vault.set("k", SecretBytes::from_slice(b"v")).unwrap();
    vault.save().unwrap();
    let bytes = fs::read(&fresh).unwrap();
    refused_by_format1(&bytes);
    assert_eq!(fs::read(&fresh).unwrap(), bytes);
    assert_eq!(Vault::open(&fresh).unwrap().format_version(), 2);
}

/// The other direction: what the format-1 reader wrote, this program reads.
#[test]
fn the_format_1_reader_reads_the_format_1_vector_and_so_does_this_program() {
    let vector = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/vault/v1/vault.svault");
    let bytes = fs::read(&vector).unwrap();
    let framed = format1::frame(&bytes).unwrap();
    let old = format1::parse_header(&framed).unwrap();
    let new = Vault::open(&vector).unwrap();
    assert_eq!(new.format_version(), 1);
    assert_eq!(
        serde_json::to_value(&old).unwrap()["officers"][0]["name"],
        new.header().officers[0].name.as_str()
    );
}
