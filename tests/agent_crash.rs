//! The agent killed with SIGKILL while it writes through `set`: the vault file always
//! opens, holding the last acknowledged value or the one being written.
//! Rounds: `SVAULT_AGENT_CRASH_ROUNDS` (default 40).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use svault::agent::Client;
use svault::secret::SecretBytes;
use svault::vault::{Draft, Plan, Vault};

fn stored(path: &Path, words: &[String]) -> u64 {
    let mut sealed =
        Vault::open(path).unwrap_or_else(|e| panic!("vault does not open after SIGKILL: {e}"));
    for w in words {
        sealed.submit_text(w).unwrap();
    }
    let vault = sealed
        .unseal()
        .unwrap_or_else(|e| panic!("vault does not unseal after SIGKILL: {e}"));
    std::str::from_utf8(vault.get("counter").unwrap().expose())
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn sigkill_during_writes_through_the_agent_leaves_the_old_or_the_new_value() {
    let rounds: usize = std::env::var("SVAULT_AGENT_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(40);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.svault");
    let socket = dir.path().join("agent.sock");
    let mut plan = Plan::simple(2, &["a", "b"]);
    plan.secret_bytes = 16;
    let draft = Draft::new(&plan).unwrap();
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut vault = draft.write_new(&path, None).unwrap();
    vault.set("counter", SecretBytes::from_slice(b"0")).unwrap();
    vault
        .set("bulk", SecretBytes::new(vec![7u8; 256 * 1024]))
        .unwrap();
    vault.save().unwrap();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut in_flight_seen = 0;
    for round in 0..rounds {
        let mut agent = Command::new(env!("CARGO_BIN_EXE_svault"))
            .arg("agent")
            .arg(&path)
            .arg("--socket")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut client = loop {
            if let Ok(mut c) = Client::connect(&socket)
                && c.status().is_ok()
            {
                break c;
            }
            thread::sleep(Duration::from_millis(5));
        };
        for w in &words {
            client.submit_share(w).unwrap();
        }
        let start = stored(&path, &words);
        let acknowledged = Arc::new(AtomicU64::new(start));
        let writer = {
            let acknowledged = Arc::clone(&acknowledged);
            thread::spawn(move || {
                let mut n = start;
                loop {
                    n += 1;
                    let value = SecretBytes::new(n.to_string().into_bytes());
                    if client.set("counter", &value).is_err() {
                        return; // the agent was killed
                    }
                    acknowledged.store(n, Ordering::SeqCst);
                }
            })
        };
        thread::sleep(Duration::from_micros(rng.gen_range(2_000..300_000)));
        agent.kill().unwrap();
        agent.wait().unwrap();
        writer.join().unwrap();
        let acked = acknowledged.load(Ordering::SeqCst);
        let found = stored(&path, &words);
        assert!(
            found == acked || found == acked + 1,
            "round {round}: the vault holds {found}, the last acknowledged write was {acked}"
        );
        if found == acked + 1 {
            in_flight_seen += 1;
        }
    }
    let total = stored(&path, &words);
    assert!(
        total >= rounds as u64,
        "only {total} writes landed in {rounds} rounds: the test is not exercising writes"
    );
    eprintln!(
        "{total} writes; {rounds} SIGKILLs of the agent; {in_flight_seen} landed after the rename, before the reply"
    );
}
