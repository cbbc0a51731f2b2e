//! The vault at scale: 100,000 credentials of 100 bytes (a 10 MB payload).
//!
//! - open + submit two shares + unseal + one get (SLIP-0039's PBKDF2 included);
//! - one set + save (temporary file, fsync, backup link, rename, directory fsync);
//! - submitting one share (parse + commitment check) and the commitment check alone;
//! - decrypting the same 10 MB with XChaCha20-Poly1305 (what unseal does) and with the
//!   `age` crate (X25519 recipient), side by side.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use svault::secret::SecretBytes;
use svault::share::slip39;
use svault::vault::{Draft, Plan, Vault};

const CREDENTIALS: usize = 100_000;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.svault");
    let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"])).unwrap();
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut vault = draft.write_new(&path, None).unwrap();
    for i in 0..CREDENTIALS {
        let value = format!("{i:0100}");
        vault
            .set(
                &format!("service-{i:06}/password"),
                SecretBytes::new(value.into_bytes()),
            )
            .unwrap();
    }
    vault.save().unwrap();
    let file_len = std::fs::metadata(&path).unwrap().len();

    let mut group = c.benchmark_group("vault_100k");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    group.bench_function("open_unseal_get", |b| {
        b.iter(|| {
            let mut sealed = Vault::open(&path).unwrap();
            sealed.submit_text(&words[0]).unwrap();
            sealed.submit_text(&words[2]).unwrap();
            let vault = sealed.unseal().unwrap();
            black_box(vault.get("service-054321/password").unwrap().len())
        })
    });
    let mut sealed = Vault::open(&path).unwrap();
    sealed.submit_text(&words[0]).unwrap();
    sealed.submit_text(&words[1]).unwrap();
    let mut vault = sealed.unseal().unwrap();
    let mut n = 0u64;
    group.bench_function("set_and_save_fsynced", |b| {
        b.iter(|| {
            n += 1;
            vault
                .set(
                    "service-000001/password",
                    SecretBytes::new(n.to_string().into_bytes()),
                )
                .unwrap();
            vault.save().unwrap();
        })
    });
    group.finish();

    let sealed = Vault::open(&path).unwrap();
    let share = slip39::parse(&words[1]).unwrap();
    let mut group = c.benchmark_group("submit_one_share");
    group.bench_function("parse_and_commitment_check", |b| {
        b.iter(|| {
            let share = slip39::parse(black_box(&words[1])).unwrap();
            black_box(sealed.identify(&share).unwrap().member)
        })
    });
    group.bench_function("commitment_check", |b| {
        b.iter(|| black_box(sealed.identify(black_box(&share)).unwrap().member))
    });
    group.finish();

    // The same plaintext size as the vault's payload, decrypted two ways.
    let plaintext = vec![0x5au8; usize::try_from(file_len).unwrap()];
    let key = [7u8; 32];
    let nonce = [9u8; 24];
    let cipher = XChaCha20Poly1305::new(&key.into());
    let mut sealed_payload = plaintext.clone();
    cipher
        .encrypt_in_place(XNonce::from_slice(&nonce), b"header", &mut sealed_payload)
        .unwrap();
    let identity = age::x25519::Identity::generate();
    let age_file = age::encrypt(&identity.to_public(), &plaintext).unwrap();
    let mut group = c.benchmark_group("decrypt_payload");
    group
        .throughput(Throughput::Bytes(file_len))
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("svault_xchacha20poly1305", |b| {
        b.iter(|| {
            let mut buffer = sealed_payload.clone();
            cipher
                .decrypt_in_place(XNonce::from_slice(&nonce), b"header", &mut buffer)
                .unwrap();
            black_box(buffer.len())
        })
    });
    group.bench_function("age_x25519", |b| {
        b.iter(|| black_box(age::decrypt(&identity, &age_file).unwrap().len()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
