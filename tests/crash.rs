//! Crash safety: a writer killed with SIGKILL at a random instant never leaves a vault
//! that fails to open, nor one holding anything but the last acknowledged value or the
//! one being written. Three writers, each looping `set` on a counter:
//!
//! - `library`: this test binary re-run as a child (`crash_writer_child`, active only
//!   with `SVAULT_CRASH_VAULT` set) that unseals once, then sets and saves forever;
//! - `cli`: one `svault set` process per round, killed at a random point of its run;
//! - `agent`: `svault agent`, with a client looping `set` through the socket.
//!
//! Rounds per writer: `SVAULT_CRASH_ROUNDS` (default 100; `scripts/crash-campaign` runs
//! 1,000). Each writer prints one line of counts; a loss fails the test after the count.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use svault::agent::Client;
use svault::secret::SecretBytes;
use svault::vault::{Draft, Plan, Vault};

fn rounds() -> usize {
    std::env::var("SVAULT_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100)
}

/// A 2-of-2 vault holding `counter` = 0 and some bulk, so that a save takes long enough
/// to be interrupted midway.
struct Fixture {
    dir: tempfile::TempDir,
    path: PathBuf,
    words: Vec<String>,
}

impl Fixture {
    fn new(bulk: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crash.svault");
        let mut plan = Plan::simple(2, &["a", "b"]);
        plan.secret_bytes = 16;
        let draft = Draft::new(&plan).unwrap();
        let words = draft
            .issued()
            .iter()
            .map(|i| i.share.to_words().to_string())
            .collect();
        let mut vault = draft.write_new(&path, None).unwrap();
        vault.set("counter", SecretBytes::from_slice(b"0")).unwrap();
        vault
            .set("bulk", SecretBytes::new(vec![7u8; bulk]))
            .unwrap();
        vault.save().unwrap();
        Fixture { dir, path, words }
    }

    /// The counter as stored. The vault must open and unseal.
    fn stored(&self) -> Result<u64, String> {
        let mut sealed = Vault::open(&self.path).map_err(|e| format!("does not open: {e}"))?;
        for w in &self.words {
            sealed
                .submit_text(w)
                .map_err(|e| format!("refuses a share: {e}"))?;
        }
        let vault = sealed
            .unseal()
            .map_err(|e| format!("does not unseal: {e}"))?;
        let value = vault.get("counter").ok_or("has no counter")?;
        std::str::from_utf8(value.expose())
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| "holds a counter that is not a number".into())
    }

    fn share_files(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (i, w) in self.words.iter().enumerate() {
            let file = self.dir.path().join(format!("share{i}"));
            std::fs::write(&file, format!("{w}\n")).unwrap();
            args.push("--share-file".into());
            args.push(file.display().to_string());
        }
        args
    }
}

/// What the kills found. `lost` counts rounds after which the vault did not open, or
/// held neither the last acknowledged value nor the one in flight.
#[derive(Default)]
struct Tally {
    kills: usize,
    old: usize,
    new: usize,
    lost: Vec<String>,
}

impl Tally {
    /// Checks the vault after a kill; `acknowledged` is the last value the writer
    /// reported as saved (the next one may or may not have landed).
    fn check(&mut self, round: usize, fixture: &Fixture, acknowledged: u64) {
        self.kills += 1;
        match fixture.stored() {
            Ok(found) if found == acknowledged => self.old += 1,
            Ok(found) if found == acknowledged + 1 => self.new += 1,
            Ok(found) => self.lost.push(format!(
                "round {round}: the vault holds {found}, the last acknowledged value was {acknowledged}"
            )),
            Err(e) => self.lost.push(format!("round {round}: the vault {e}")),
        }
    }

    fn report(self, writer: &str, extra: &str) {
        eprintln!(
            "crash/{writer}: {} SIGKILLs, {} losses; the vault held the acknowledged value {} times, the one in flight {} times{extra}",
            self.kills,
            self.lost.len(),
            self.old,
            self.new,
        );
        assert!(self.lost.is_empty(), "{}", self.lost.join("\n"));
    }
}

fn kill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The library writer: unseal once, then set and save forever, reporting each save.
#[test]
fn crash_writer_child() {
    let Ok(path) = std::env::var("SVAULT_CRASH_VAULT") else {
        return;
    };
    let words: Vec<String> = std::env::var("SVAULT_CRASH_WORDS")
        .unwrap()
        .split('|')
        .map(String::from)
        .collect();
    let mut sealed = Vault::open(&path).unwrap();
    for w in &words {
        sealed.submit_text(w).unwrap();
    }
    let mut vault = sealed.unseal().unwrap();
    let mut n: u64 = std::str::from_utf8(vault.get("counter").unwrap().expose())
        .unwrap()
        .parse()
        .unwrap();
    println!("ready {n}");
    loop {
        n += 1;
        vault
            .set("counter", SecretBytes::new(n.to_string().into_bytes()))
            .unwrap();
        vault.save().unwrap();
        println!("saved {n}");
    }
}

#[test]
fn sigkill_of_a_library_writer_leaves_the_old_or_the_new_value() {
    let fixture = Fixture::new(64 * 1024);
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let exe = std::env::current_exe().unwrap();
    let mut tally = Tally::default();
    for round in 0..rounds() {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_writer_child", "--nocapture"])
            .args(["--test-threads=1", "-q"])
            .env("SVAULT_CRASH_VAULT", &fixture.path)
            .env("SVAULT_CRASH_WORDS", fixture.words.join("|"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready: u64 = loop {
            let line = lines.next().expect("child output").unwrap();
            if let Some(n) = line.strip_prefix("ready ") {
                break n.parse().unwrap();
            }
        };
        thread::sleep(Duration::from_micros(rng.gen_range(0..40_000)));
        kill(&mut child);
        let acknowledged = lines
            .map_while(Result::ok)
            .filter_map(|l| l.strip_prefix("saved ").and_then(|n| n.parse().ok()))
            .last()
            .unwrap_or(ready);
        tally.check(round, &fixture, acknowledged);
    }
    tally.report("library", "");
}

#[test]
fn sigkill_of_svault_set_leaves_the_old_or_the_new_value() {
    let fixture = Fixture::new(256 * 1024);
    let quorum = fixture.share_files();
    let set = |value: u64| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_svault"))
            .arg("set")
            .arg(&fixture.path)
            .arg("counter")
            .args(&quorum)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // The child may already be dead when the value is written; that is the point.
        let _ = stdin.write_all(value.to_string().as_bytes());
        drop(stdin);
        child
    };

    // How long one `svault set` takes here, so that kills spread over its whole run.
    let mut acknowledged = 0;
    let started = Instant::now();
    for _ in 0..3 {
        acknowledged += 1;
        assert!(set(acknowledged).wait().unwrap().success());
    }
    let run = started.elapsed() / 3;
    assert_eq!(fixture.stored(), Ok(acknowledged));

    let mut rng = ChaCha8Rng::seed_from_u64(0xc11);
    let mut tally = Tally::default();
    let mut finished_first = 0;
    // Runs that finish before their kill do not count as rounds: go on until `rounds()`
    // kills have landed (bounded, in case runs got much faster than measured).
    let mut round = 0;
    while tally.kills < rounds() && round < 10 * rounds() {
        round += 1;
        let mut child = set(acknowledged + 1);
        let deadline = Instant::now() + run.mul_f64(rng.gen_range(0.0..1.0));
        let exited = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            thread::sleep(Duration::from_micros(200));
        };
        match exited {
            Some(status) => {
                // It finished before its kill: the value must be there.
                assert!(status.success(), "round {round}: svault set failed");
                finished_first += 1;
                acknowledged += 1;
                match fixture.stored() {
                    Ok(found) if found == acknowledged => {}
                    other => tally.lost.push(format!(
                        "round {round}: svault set succeeded with {acknowledged}, the vault then held {other:?}"
                    )),
                }
            }
            None => {
                kill(&mut child);
                tally.check(round, &fixture, acknowledged);
                acknowledged = fixture.stored().unwrap_or(acknowledged);
            }
        }
    }
    let kills = tally.kills;
    tally.report(
        "cli",
        &format!(
            "; {finished_first} more runs finished before their kill (one run takes about {} ms)",
            run.as_millis()
        ),
    );
    assert_eq!(
        kills,
        rounds(),
        "too few runs were still going at their kill"
    );
}

#[test]
fn sigkill_of_the_agent_during_writes_leaves_the_old_or_the_new_value() {
    let fixture = Fixture::new(256 * 1024);
    let socket = fixture.dir.path().join("agent.sock");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut tally = Tally::default();
    let mut writes = 0;
    for round in 0..rounds() {
        let mut agent = Command::new(env!("CARGO_BIN_EXE_svault"))
            .arg("agent")
            .arg(&fixture.path)
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
        for w in &fixture.words {
            client.submit_share(w).unwrap();
        }
        let start = fixture.stored().unwrap();
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
        // On a loaded machine the first save can take longer than the whole random window;
        // so every other round waits (up to 30 s) for one acknowledged write before its
        // window starts, and the test exercises writes whatever the machine's speed. The
        // other rounds keep kills that can land in the first write.
        if round % 2 == 0 {
            let deadline = Instant::now() + Duration::from_secs(30);
            while acknowledged.load(Ordering::SeqCst) == start && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
        }
        thread::sleep(Duration::from_micros(rng.gen_range(2_000..150_000)));
        kill(&mut agent);
        writer.join().unwrap();
        let acked = acknowledged.load(Ordering::SeqCst);
        writes += acked - start;
        tally.check(round, &fixture, acked);
    }
    assert!(
        writes >= tally.kills as u64 / 2,
        "only {writes} writes were acknowledged in {} rounds: the test is not exercising writes",
        tally.kills
    );
    tally.report("agent", &format!("; {writes} writes acknowledged"));
}
