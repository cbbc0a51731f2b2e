//! The main job end to end on a throwaway vault in a temporary directory: the
//! split/verify ceremony for five officers at threshold 3 (a mistyped re-entry caught),
//! the drill (every share checked against the file alone), a credential stored, an
//! unseal by three officers with a stranger's share named and refused, the credential
//! read back, and the vault's status.
//!
//! Run: `cargo run --release --example quickstart`

use std::process::ExitCode;

use svault::ceremony;
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

    // 1. The ceremony, scripted: a 256-bit master secret split 3-of-5; every officer
    //    types their share back (here: their copy is exact), the re-entered set is
    //    proven consistent and proven to unseal the real file; only then does it exist.
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
    let mut typo: Vec<&str> = words[1].split(' ').collect();
    typo[6] = if typo[6] == "acid" { "acne" } else { "acid" };
    if let Err(mismatch) = ceremony::verify_entry(&draft.issued()[1], &typo.join(" ")) {
        println!("ceremony: bob mistypes a word: {mismatch}");
    }
    let mut verified = Vec::new();
    for (issued, typed) in draft.issued().iter().zip(&words) {
        verified.push(ceremony::verify_entry(issued, typed)?);
    }
    let proven = ceremony::prove_set(draft.header(), verified)?;
    let written = ceremony::stage_new(draft, proven, &path, "scripted")?.commit()?;
    println!(
        "ceremony: every share re-entered and proven; wrote {}",
        written.display()
    );

    let mut sealed = Vault::open(&path)?;
    for w in &words[..3] {
        sealed.submit_text(w)?;
    }
    let mut vault = sealed.unseal()?;
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
