//! The main job end to end on a throwaway vault in a temporary directory:
//! split a new master secret 3-of-5 for five officers, check every share against the
//! file (the drill), store a credential, unseal with three officers, read it back, show
//! that a wrong share is named, and print the vault's status.
//!
//! Run: `cargo run --release --example quickstart`

use std::process::ExitCode;

use svault::secret::SecretBytes;
use svault::vault::{Draft, Plan, Vault};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("quickstart: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("app.svault");
    let officers = ["alice", "bob", "carol", "dave", "erin"];

    // 1. The split: a 256-bit master secret, SLIP-0039 shares for five officers.
    let draft = Draft::new(&Plan::simple(3, &officers))?;
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    println!(
        "split 3-of-5; alice's share ({} words): {} …",
        words[0].split(' ').count(),
        first_words(&words[0])
    );
    let mut vault = draft.write_new(
        &path,
        Some(("scripted", officers.iter().map(|s| s.to_string()).collect())),
    )?;
    vault.set(
        "db/password",
        SecretBytes::from_slice(b"correct horse battery staple"),
    )?;
    vault.save()?;

    // 2. The drill: each officer checks their share against the file alone.
    let sealed = Vault::open(&path)?;
    for text in &words {
        let share = svault::share::slip39::parse(text)?;
        let officer = sealed.identify(&share)?;
        println!(
            "verify: valid share of officer {} (member {})",
            officer.name,
            officer.member + 1
        );
    }

    // 3. Boot: three officers unseal; a share from another vault is named on the way.
    let mut sealed = Vault::open(&path)?;
    println!("unseal: {}", sealed.submit_text(&words[4])?);
    let stranger = Draft::new(&Plan::simple(2, &["x", "y"]))?;
    let stranger_words = stranger.issued()[0].share.to_words();
    if let Err(refused) = sealed.submit_text(&stranger_words) {
        println!("unseal: refused: {refused}");
    }
    println!("unseal: {}", sealed.submit_text(&words[1])?);
    println!("unseal: {}", sealed.submit_text(&words[2])?);
    let vault = sealed.unseal()?;
    let value = vault
        .get("db/password")
        .ok_or("the credential is missing")?;
    println!(
        "get db/password: {}",
        String::from_utf8_lossy(value.expose())
    );

    // 4. Status, from the header alone.
    let header = Vault::open(&path)?.header().clone();
    println!(
        "status: vault {}, {} of {} officers, split {}, verified by {:?}",
        svault::vault::format::to_hex(&header.vault_id.0),
        header.split.groups[0].member_threshold,
        header.officers.len(),
        header.split.identifier,
        header.ceremony.map(|c| c.verified).unwrap_or_default()
    );
    Ok(())
}

fn first_words(words: &str) -> String {
    words.split(' ').take(3).collect::<Vec<_>>().join(" ")
}
