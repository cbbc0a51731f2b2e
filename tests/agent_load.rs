//! The agent under load and faults, over its real Unix socket: valid clients loop `get`
//! of random credentials (every answer checked, every latency recorded) while other
//! clients send malformed, oversized and dripping requests and hold silent connections
//! open; child processes running as other uids keep 1,000 keyslot guesses going at
//! once against a second, sealed agent in the same process (so that guesses cost
//! Argon2id, 64 MiB each, and its memory counts here), and try to seal and reset the
//! unsealed one. Runs SVAULT_LOAD_SECONDS (default 3); `scripts/agent-load` runs it
//! long in release mode. Prints one `agent-load:` line of measured figures to stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rand::Rng;
use svault::agent::limits::FREE_FAILURES;
use svault::agent::protocol::MAX_REQUEST;
use svault::agent::{Agent, Audit, Client, Config, Response};
use svault::secret::SecretBytes;
use svault::vault::{Draft, GroupPlan, OfficerPlan, Plan, SlotParams};
use zeroize::Zeroizing;

const CREDENTIALS: usize = 50;
const VALID_CLIENTS: usize = 8;
/// Silent connections the crowd holds open at once.
const CROWD: usize = 100;
/// Shorter than the 10 s / 60 s defaults so that both fire within a 3 s run.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
const IDLE_TIMEOUT: Duration = Duration::from_secs(1);
/// The pause between a dripping client's bytes.
const DRIP: Duration = Duration::from_millis(20);
/// A bound on any single wait, so that a stuck agent fails the test instead of hanging it.
const STUCK: Duration = Duration::from_secs(15);
/// Every value starts with it, so that a value in a reply or the audit log is visible.
const MARK: &str = "LOADSECRET";
/// The hostile uids (one child process each; the socket's group is `GROUP`).
const HOSTILE_UIDS: [u32; 4] = [65534, 65533, 65532, 65531];
const GROUP: u32 = 65534;
/// Keyslot guesses kept going at once, over all hostile uids (SVAULT_LOAD_GUESSES
/// overrides it; 0 runs without the hostile uids, for comparison).
const GUESSES_AT_ONCE: usize = 1000;
/// The pause between one hostile connection's guesses (it does not wait as told).
const GUESS_PAUSE: Duration = Duration::from_millis(100);
/// The keyslots' Argon2id cost: the default.
const SLOT: SlotParams = SlotParams {
    memory_kib: 64 * 1024,
    iterations: 3,
    parallelism: 1,
};
/// The derivation budget of the sealed agent (which has the default single worker).
const KEYSLOT_MEMORY: u64 = 128 << 20;
/// What the process may grow by beyond the budget: connection threads, buffers.
const RSS_MARGIN: u64 = 96 << 20;

/// Outcome label → count.
type Tally = BTreeMap<String, u64>;

struct Fixture {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    audit: PathBuf,
    creds: Vec<(String, Vec<u8>)>,
    agent: Option<Agent>,
    /// The same vault served sealed, for the keyslot guesses.
    sealed_socket: PathBuf,
    sealed_audit: PathBuf,
    sealed: Option<Agent>,
}

/// A 2-of-5 vault with distinct values (erin and frank have keyslots at the default
/// cost), served by an in-process agent (so that its timeouts can be shortened) and
/// unsealed by two officers' shares, and by a second agent that stays sealed. Both
/// sockets are reachable by the group `GROUP`, with no policy file.
fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let vault = dir.path().join("load.svault");
    let plan = Plan {
        group_threshold: 1,
        groups: vec![GroupPlan {
            name: "officers".into(),
            member_threshold: 2,
            officers: ["alice", "bob", "carol", "erin", "frank"]
                .iter()
                .map(|n| OfficerPlan {
                    name: (*n).to_owned(),
                    keyslot: ["erin", "frank"]
                        .contains(n)
                        .then(|| Zeroizing::new(format!("{n}'s passphrase").into_bytes())),
                })
                .collect(),
        }],
        secret_bytes: 16,
        slot_params: SLOT,
    };
    let draft = Draft::new(&plan).unwrap();
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut vault_file = draft.write_new(&vault, None).unwrap();
    let mut rng = rand::thread_rng();
    let creds: Vec<(String, Vec<u8>)> = (0..CREDENTIALS)
        .map(|i| {
            // Distinct, of varied length, binary after the mark.
            let mut tail = vec![0u8; i * 7];
            rng.fill(&mut tail[..]);
            let value = [format!("{MARK}-{i:02}-").into_bytes(), tail].concat();
            (format!("load/{i:02}"), value)
        })
        .collect();
    for (name, value) in &creds {
        vault_file
            .set(name, SecretBytes::from_slice(value))
            .unwrap();
    }
    vault_file.save().unwrap();
    drop(vault_file);

    let socket = dir.path().join("agent.sock");
    let audit = dir.path().join("audit.log");
    let mut config = Config::new(&vault, &socket);
    config.harden = false;
    config.request_timeout = REQUEST_TIMEOUT;
    config.idle_timeout = IDLE_TIMEOUT;
    config.socket_group = Some(GROUP);
    let agent = Agent::start(config, Audit::file(&audit).unwrap()).unwrap();
    let mut officer = Client::connect(&socket).unwrap();
    assert!(officer.submit_share(&words[0]).unwrap().status.sealed);
    assert!(!officer.submit_share(&words[2]).unwrap().status.sealed);

    let sealed_socket = dir.path().join("sealed.sock");
    let sealed_audit = dir.path().join("sealed.log");
    let mut config = Config::new(&vault, &sealed_socket);
    config.harden = false;
    config.socket_group = Some(GROUP);
    config.max_connections = 2 * GUESSES_AT_ONCE;
    config.keyslot_memory = KEYSLOT_MEMORY;
    let sealed = Agent::start(config, Audit::file(&sealed_audit).unwrap()).unwrap();
    Fixture {
        _dir: dir,
        socket,
        audit,
        creds,
        agent: Some(agent),
        sealed_socket,
        sealed_audit,
        sealed: Some(sealed),
    }
}

// ---------------------------------------------------------------------------------
// Raw connections, for clients that break the protocol.

struct Raw {
    stream: UnixStream,
    buf: Vec<u8>,
}

enum Next {
    Line(Vec<u8>),
    Closed,
    Nothing,
}

impl Raw {
    fn connect(socket: &Path) -> Raw {
        let stream = UnixStream::connect(socket).unwrap();
        stream.set_write_timeout(Some(STUCK)).unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes everything, or stops quietly where the agent has closed the connection.
    fn send(&mut self, bytes: &[u8]) -> bool {
        match self.stream.write_all(bytes) {
            Ok(()) => true,
            Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => {
                false
            }
            Err(e) => panic!("writing to the agent: {e}"),
        }
    }

    /// The next reply line, the end of the connection, or nothing within `wait`.
    fn next(&mut self, wait: Duration) -> Next {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                return Next::Line(self.buf.drain(..=i).collect());
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(n) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                Ok(_) => break,
                // After the reply, when the agent closed with our bytes unread.
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Next::Nothing;
                }
                Err(e) => panic!("reading from the agent: {e}"),
            }
        }
        assert!(self.buf.is_empty(), "a reply cut short");
        Next::Closed
    }

    /// How the agent refused: its error code, or "closed" without a reply.
    fn refusal(&mut self) -> String {
        match self.next(STUCK) {
            Next::Line(line) => error_code(&line),
            Next::Closed => "closed".into(),
            Next::Nothing => panic!("no answer within {STUCK:?}"),
        }
    }

    fn expect_closed(&mut self) {
        assert!(
            matches!(self.next(STUCK), Next::Closed),
            "the agent kept a refused connection open"
        );
    }
}

/// The error code of a reply line; anything but an error fails the test.
fn error_code(line: &[u8]) -> String {
    assert!(
        !String::from_utf8_lossy(line).contains(MARK),
        "a refusal quotes a secret"
    );
    match Response::parse(line.strip_suffix(b"\n").unwrap()) {
        Ok(Response::Error { code, .. }) => code.as_str().into(),
        // Response's Debug shows no value.
        Ok(other) => panic!("a bad request was answered {other:?}"),
        Err(e) => panic!("an unreadable reply: {e}"),
    }
}

/// `get NAME` padded with JSON whitespace to `len` bytes, newline included.
fn padded_get(name: &str, len: usize) -> Vec<u8> {
    let mut line = format!(r#"{{"v":1,"op":"get","name":"{name}"}}"#).into_bytes();
    line.resize(len - 1, b' ');
    line.push(b'\n');
    line
}

/// Counts a refusal, which must be one of `allowed`.
fn count(tally: &mut Tally, got: String, allowed: &[&str]) {
    assert!(
        allowed.contains(&got.as_str()),
        "got {got}, want {allowed:?}"
    );
    *tally.entry(got).or_default() += 1;
}

// ---------------------------------------------------------------------------------
// The clients. Each loops until `stop`, finishing the attempt under way.

#[derive(Default)]
struct Valid {
    gets: u64,
    errors: u64,
    wrong: u64,
    micros: Vec<u32>,
    first_error: Option<String>,
}

fn valid_client(f: &Fixture, stop: &AtomicBool) -> Valid {
    let mut rng = rand::thread_rng();
    let mut out = Valid::default();
    let mut client = Client::connect(&f.socket).unwrap();
    while !stop.load(Ordering::Relaxed) {
        // A fresh connection now and then, so that accepting is under load too.
        if out.gets % 64 == 63 {
            match Client::connect(&f.socket) {
                Ok(c) => client = c,
                Err(e) => {
                    out.errors += 1;
                    out.first_error.get_or_insert(e.to_string());
                }
            }
        }
        let (name, want) = &f.creds[rng.gen_range(0..f.creds.len())];
        let t = Instant::now();
        let got = client.get(name);
        out.micros
            .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        out.gets += 1;
        match got {
            Ok(v) if v.expose() == want.as_slice() => {}
            Ok(_) => out.wrong += 1,
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e.to_string());
            }
        }
    }
    out
}

/// Bad request lines and the error each must get; the connection stays open after.
const BAD_LINES: &[(&[u8], &str)] = &[
    (b"\n", "malformed"),
    (b"{\"v\":1,\"op\":\"get\",\"name\":\n", "malformed"),
    (
        b"{\"v\":1,\"op\":\"get\",\"name\":\"load/01\"} trailing\n",
        "malformed",
    ),
    (b"[\"get\",\"load/01\"]\n", "malformed"),
    (b"{\"v\":1,\"op\":\"fly\"}\n", "malformed"),
    (
        b"{\"v\":1,\"op\":\"get\",\"name\":\"load/01\",\"uid\":0}\n",
        "malformed",
    ),
    (b"{\"v\":1,\"op\":\"get\",\"name\":1}\n", "malformed"),
    (b"{\"v\":1,\"op\":\"get\"}\n", "malformed"),
    // A secret in a misplaced request must not be echoed (MARK).
    (
        b"{\"v\":1,\"op\":\"submit\",\"share\":\"LOADSECRET w\",\"x\":1}\n",
        "malformed",
    ),
    (
        b"{\"v\":2,\"op\":\"get\",\"name\":\"load/01\"}\n",
        "unsupported_version",
    ),
    (
        b"{\"op\":\"get\",\"name\":\"load/01\"}\n",
        "unsupported_version",
    ),
];

/// Malformed requests, each on a new connection: one bad line; random garbage; a
/// truncated request then close; or every bad line pipelined before a valid `get`.
/// Returns the refusals and the values served after the pipelined bad lines.
fn malformed_client(f: &Fixture, stop: &AtomicBool) -> (Tally, u64) {
    let mut rng = rand::thread_rng();
    let (mut tally, mut served) = (Tally::new(), 0);
    while !stop.load(Ordering::Relaxed) {
        let mut raw = Raw::connect(&f.socket);
        match rng.gen_range(0..BAD_LINES.len() + 3) {
            i if i < BAD_LINES.len() => {
                let (line, want) = BAD_LINES[i];
                raw.send(line);
                count(&mut tally, raw.refusal(), &[want]);
            }
            i if i == BAD_LINES.len() => {
                // 0xff never starts valid JSON; no newline inside, so one line.
                let mut garbage = vec![0xff];
                garbage.extend((0..rng.gen_range(0..512)).map(|_| rng.gen_range(0..=255u8)));
                garbage.retain(|&b| b != b'\n');
                garbage.push(b'\n');
                raw.send(&garbage);
                count(&mut tally, raw.refusal(), &["malformed"]);
            }
            i if i == BAD_LINES.len() + 1 => {
                raw.send(br#"{"v":1,"op":"get","name":"load/01""#);
                raw.stream.shutdown(std::net::Shutdown::Write).unwrap();
                // Closed without a reply; a timeout reply if the agent's thread was
                // starved past the request timeout between the data and the end.
                count(&mut tally, raw.refusal(), &["closed", "timeout"]);
            }
            _ => {
                let (name, want) = &f.creds[rng.gen_range(0..f.creds.len())];
                let mut lines: Vec<u8> = BAD_LINES.iter().flat_map(|(l, _)| *l).copied().collect();
                lines.extend(padded_get(name, 64));
                raw.send(&lines);
                for (_, code) in BAD_LINES {
                    count(&mut tally, raw.refusal(), &[code]);
                }
                let Next::Line(line) = raw.next(STUCK) else {
                    panic!("no answer to a valid get after bad lines");
                };
                match Response::parse(line.strip_suffix(b"\n").unwrap()).unwrap() {
                    Response::Value(v) => assert!(v.expose() == want.as_slice(), "wrong value"),
                    other => panic!("{other:?}"),
                }
                served += 1;
            }
        }
    }
    (tally, served)
}

/// Oversized requests: exactly the limit without a newline, a `get` one byte over the
/// limit, and 4 MiB; then the client floods on until the agent closes the connection.
fn oversized_client(socket: &Path, stop: &AtomicBool) -> Tally {
    let mut rng = rand::thread_rng();
    let mut tally = Tally::new();
    let flood = vec![b'x'; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let mut raw = Raw::connect(socket);
        let request = match rng.gen_range(0..3) {
            0 => vec![b'a'; MAX_REQUEST],
            1 => padded_get("load/01", MAX_REQUEST + 1),
            _ => padded_get("load/01", 4 << 20),
        };
        let mut sent = 0;
        if raw.send(&request) {
            // The agent reads and discards at most 1 MiB before closing (docs/AGENT.md).
            while raw.send(&flood) {
                sent += flood.len();
                assert!(sent < 64 << 20, "the agent read 64 MiB past its limit");
            }
        }
        let got = raw.refusal();
        // A timeout if the agent's thread was starved between reads of the line.
        assert!(got == "too_large" || got == "timeout", "got {got}");
        raw.expect_closed();
        *tally.entry(got).or_default() += 1;
    }
    tally
}

/// A request sent one byte at a time with pauses and never finished (no newline): the
/// agent must answer `timeout`, no sooner than its request timeout, and close.
fn drip_client(socket: &Path, stop: &AtomicBool) -> (Tally, Vec<Duration>) {
    let request = br#"{"v":1,"op":"get","name":"load/01"}"#;
    let (mut tally, mut waited) = (Tally::new(), Vec::new());
    while !stop.load(Ordering::Relaxed) {
        let mut raw = Raw::connect(socket);
        let first = Instant::now();
        let mut sent = 0;
        let got = loop {
            if sent < request.len() && raw.send(&request[sent..=sent]) {
                sent += 1;
            } else {
                sent = request.len();
            }
            // The pause is a wait for the reply.
            match raw.next(if sent < request.len() { DRIP } else { STUCK }) {
                Next::Line(line) => break error_code(&line),
                Next::Closed => break "closed".into(),
                Next::Nothing if sent < request.len() => {}
                Next::Nothing => panic!("no answer to a stalled request within {STUCK:?}"),
            }
        };
        assert_eq!(got, "timeout");
        let after = first.elapsed();
        assert!(after >= REQUEST_TIMEOUT, "timed out after only {after:?}");
        raw.expect_closed();
        waited.push(after);
        *tally.entry(got).or_default() += 1;
    }
    (tally, waited)
}

/// CROWD connections at once that send nothing: each must be closed without a reply,
/// no sooner than the idle timeout.
fn silent_crowd(socket: &Path, stop: &AtomicBool) -> (Tally, Vec<Duration>) {
    let (mut tally, mut held) = (Tally::new(), Vec::new());
    while !stop.load(Ordering::Relaxed) {
        let crowd: Vec<(Instant, Raw)> = (0..CROWD)
            .map(|_| (Instant::now(), Raw::connect(socket)))
            .collect();
        for (at, mut raw) in crowd {
            let got = raw.refusal();
            assert_eq!(got, "closed", "a silent connection got a reply");
            let after = at.elapsed();
            assert!(after >= IDLE_TIMEOUT, "closed after only {after:?}");
            held.push(after);
            *tally.entry(got).or_default() += 1;
        }
    }
    (tally, held)
}

// ---------------------------------------------------------------------------------
// Hostile clients of other uids, each a child process (this test binary run again as
// that uid, in `hostile_child`): keyslot guesses at the sealed agent, and seal/reset at
// the unsealed one.

const CHILD: &str = "SVAULT_LOAD_CHILD";

#[test]
fn hostile_child() {
    let Ok(role) = std::env::var(CHILD) else {
        return;
    };
    let socket = PathBuf::from(std::env::var("SVAULT_LOAD_SOCKET").unwrap());
    let seconds: f64 = std::env::var("SVAULT_LOAD_SECONDS")
        .unwrap()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let tally = match role.as_str() {
        "keyslot" => {
            let connections: usize = std::env::var("SVAULT_LOAD_CONNECTIONS")
                .unwrap()
                .parse()
                .unwrap();
            keyslot_guesses(&socket, deadline, connections)
        }
        "control" => control_attempts(&socket, deadline),
        other => panic!("unknown role {other}"),
    };
    for (k, v) in tally {
        println!("RESULT {k} {v}");
    }
}

/// `connections` connections at once, each guessing erin's or frank's passphrase every
/// `GUESS_PAUSE` until `deadline`, whatever the answer says about waiting.
fn keyslot_guesses(socket: &Path, deadline: Instant, connections: usize) -> Tally {
    thread::scope(|s| {
        let handles: Vec<_> = (0..connections)
            .map(|i| {
                thread::Builder::new()
                    .stack_size(128 * 1024)
                    .spawn_scoped(s, move || {
                        let officer = if i % 2 == 0 { "erin" } else { "frank" };
                        let mut tally = Tally::new();
                        let mut raw = Raw::connect(socket);
                        let mut n = 0u64;
                        while Instant::now() < deadline {
                            n += 1;
                            let line = format!(
                                "{{\"v\":1,\"op\":\"submit\",\"officer\":\"{officer}\",\"passphrase\":\"guess {i} {n}\"}}\n"
                            );
                            if !raw.send(line.as_bytes()) {
                                *tally.entry("closed".into()).or_default() += 1;
                                raw = Raw::connect(socket);
                                continue;
                            }
                            let got = raw.refusal();
                            if got == "closed" {
                                raw = Raw::connect(socket);
                            }
                            *tally.entry(got).or_default() += 1;
                            thread::sleep(GUESS_PAUSE);
                        }
                        tally
                    })
                    .unwrap()
            })
            .collect();
        let mut total = Tally::new();
        for h in handles {
            add(&mut total, &h.join().unwrap());
        }
        total
    })
}

/// `seal` and `reset` in a loop on one connection: "seal denied", "reset conflict", ...
fn control_attempts(socket: &Path, deadline: Instant) -> Tally {
    let mut tally = Tally::new();
    let mut raw = Raw::connect(socket);
    while Instant::now() < deadline {
        for op in ["seal", "reset"] {
            raw.send(format!("{{\"v\":1,\"op\":\"{op}\"}}\n").as_bytes());
            let got = raw.refusal();
            *tally.entry(format!("{op} {got}")).or_default() += 1;
        }
        thread::sleep(Duration::from_millis(2));
    }
    tally
}

/// Runs `hostile_child` as `uid` (group `GROUP`) and reads its tally.
fn run_hostile(uid: u32, role: &str, socket: &Path, seconds: f64, connections: usize) -> Tally {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hostile_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, role)
        .env("SVAULT_LOAD_SOCKET", socket)
        .env("SVAULT_LOAD_SECONDS", seconds.to_string())
        .env("SVAULT_LOAD_CONNECTIONS", connections.to_string())
        .uid(uid)
        .gid(GROUP)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "hostile child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut tally = Tally::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        // The first line follows libtest's "test hostile_child ... " on the same line.
        if let Some((_, rest)) = line.split_once("RESULT ") {
            let (k, v) = rest.rsplit_once(' ').unwrap();
            *tally.entry(k.to_owned()).or_default() += v.parse::<u64>().unwrap();
        }
    }
    tally
}

/// A `/proc/self/status` field in KiB ("VmRSS", "VmHWM").
fn memory_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Audit lines of `event` whose `field` is `value`, plus those counted in `suppressed`
/// lines, per value.
fn logged_counts(log: &str, event: &str, field: &str) -> Tally {
    let mut tally = Tally::new();
    for line in log.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        if e["event"] == event {
            if let Some(v) = e[field].as_str() {
                *tally.entry(v.to_owned()).or_default() += 1;
            }
        } else if e["event"] == "suppressed" && e["of"] == event {
            for (k, v) in e["counts"].as_object().unwrap() {
                *tally.entry(k.clone()).or_default() += v.as_u64().unwrap();
            }
        }
    }
    tally
}

// ---------------------------------------------------------------------------------

fn add(into: &mut Tally, from: &Tally) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// "N (label n, ...)".
fn show(t: &Tally) -> String {
    let parts: Vec<String> = t.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!("{} ({})", t.values().sum::<u64>(), parts.join(", "))
}

fn span(d: &[Duration]) -> String {
    let min = d.iter().min().copied().unwrap_or_default();
    let max = d.iter().max().copied().unwrap_or_default();
    format!("{:.2}-{:.2} s", min.as_secs_f64(), max.as_secs_f64())
}

#[test]
fn agent_under_load_and_faults() {
    assert_eq!(MAX_REQUEST, 65_536, "the limit docs/AGENT.md documents");
    let seconds: f64 = std::env::var("SVAULT_LOAD_SECONDS")
        .ok()
        .map_or(3.0, |s| s.parse().expect("SVAULT_LOAD_SECONDS: seconds"));
    let guesses: usize = std::env::var("SVAULT_LOAD_GUESSES")
        .ok()
        .map_or(GUESSES_AT_ONCE, |s| {
            s.parse().expect("SVAULT_LOAD_GUESSES: a count")
        });
    let hostile = guesses > 0;
    let mut f = start();
    let stop = AtomicBool::new(false);
    // Peak RSS from here on ("5" resets VmHWM, Linux 4.0+): the vault's creation ran
    // Argon2id already.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let rss_before = memory_kib("VmRSS");

    let started = Instant::now();
    let (
        valid,
        elapsed,
        malformed,
        piped,
        oversized,
        drip,
        dripped,
        silent,
        held,
        keyslot,
        control,
    ) = thread::scope(|s| {
        let (f, stop) = (&f, &stop);
        let keyslot: Vec<_> = HOSTILE_UIDS
            .iter()
            .filter(|_| hostile)
            .map(|&uid| {
                s.spawn(move || {
                    let each = guesses.div_ceil(HOSTILE_UIDS.len());
                    run_hostile(uid, "keyslot", &f.sealed_socket, seconds, each)
                })
            })
            .collect();
        let control = hostile.then(|| {
            s.spawn(move || run_hostile(HOSTILE_UIDS[0], "control", &f.socket, seconds, 1))
        });
        let valid: Vec<_> = (0..VALID_CLIENTS)
            .map(|_| s.spawn(move || valid_client(f, stop)))
            .collect();
        let malformed: Vec<_> = (0..2)
            .map(|_| s.spawn(move || malformed_client(f, stop)))
            .collect();
        let oversized = s.spawn(move || oversized_client(&f.socket, stop));
        let drips: Vec<_> = (0..2)
            .map(|_| s.spawn(move || drip_client(&f.socket, stop)))
            .collect();
        let silent = s.spawn(move || silent_crowd(&f.socket, stop));
        thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);

        let valid: Vec<Valid> = valid.into_iter().map(|h| h.join().unwrap()).collect();
        let elapsed = started.elapsed();
        let (mut bad, mut piped) = (Tally::new(), 0);
        for (t, n) in malformed.into_iter().map(|h| h.join().unwrap()) {
            add(&mut bad, &t);
            piped += n;
        }
        let (mut drip, mut dripped) = (Tally::new(), Vec::new());
        for (t, d) in drips.into_iter().map(|h| h.join().unwrap()) {
            add(&mut drip, &t);
            dripped.extend(d);
        }
        let (silent, held) = silent.join().unwrap();
        let oversized = oversized.join().unwrap();
        let mut guesses = Tally::new();
        for h in keyslot {
            add(&mut guesses, &h.join().unwrap());
        }
        let control = control.map(|h| h.join().unwrap()).unwrap_or_default();
        (
            valid, elapsed, bad, piped, oversized, drip, dripped, silent, held, guesses, control,
        )
    });
    let rss_peak = memory_kib("VmHWM");

    let gets: u64 = valid.iter().map(|v| v.gets).sum();
    let errors: u64 = valid.iter().map(|v| v.errors).sum();
    let wrong: u64 = valid.iter().map(|v| v.wrong).sum();
    let first_error = valid.iter().find_map(|v| v.first_error.clone());
    let mut micros: Vec<u32> = valid.into_iter().flat_map(|v| v.micros).collect();
    micros.sort_unstable();
    let pct = |p: usize| micros[(micros.len() * p / 100).min(micros.len() - 1)];

    // After the storm: every value still right, and a request exactly at the limit served.
    let mut client = Client::connect(&f.socket).unwrap();
    for (name, want) in &f.creds {
        assert!(
            client.get(name).unwrap().expose() == want.as_slice(),
            "{name}"
        );
    }
    let status = client.status().unwrap();
    assert!(!status.sealed && status.credentials == Some(CREDENTIALS));
    let mut raw = Raw::connect(&f.socket);
    raw.send(&padded_get("load/01", MAX_REQUEST));
    let Next::Line(line) = raw.next(STUCK) else {
        panic!("no answer to a request at the limit")
    };
    assert!(
        matches!(Response::parse(line.strip_suffix(b"\n").unwrap()).unwrap(),
            Response::Value(v) if v.expose() == f.creds[1].1.as_slice()),
        "a request of exactly {MAX_REQUEST} bytes is not served"
    );

    // The vault stayed unsealed through the control attempts; then stop both agents,
    // which writes the last counts of coalesced refusals.
    assert!(!f.agent.as_ref().unwrap().status().sealed);
    drop(f.sealed.take());
    drop(f.agent.take());

    // The audit log agrees: a bad_request line, or a count in a `suppressed` line, per
    // refusal seen (a truncated request is logged as such), one served get per value
    // received, and no value in it.
    let log = std::fs::read_to_string(&f.audit).unwrap();
    assert!(!log.contains(MARK), "a value in the audit log");
    let logged_bad = logged_counts(&log, "bad_request", "error");
    let logged_control = logged_counts(&log, "control", "op");
    let logged_served = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "credential" && e["op"] == "get" && e["result"] == "served")
        .count() as u64;
    let sealed_log = std::fs::read_to_string(&f.sealed_audit).unwrap();
    assert!(
        !sealed_log.contains("guess "),
        "a guessed passphrase in the log"
    );
    let logged_guesses = logged_counts(&sealed_log, "submit", "result");
    let mut seen_bad = Tally::new();
    for t in [&malformed, &oversized, &drip] {
        add(&mut seen_bad, t);
    }
    if let Some(n) = seen_bad.remove("closed") {
        seen_bad.insert("truncated".into(), n);
    }
    // Values received: the valid clients', the pipelined gets, the final checks.
    let received = gets - errors + piped + CREDENTIALS as u64 + 1;

    let derived = keyslot.get("refused").copied().unwrap_or(0);
    let summary_hostile = format!(
        "; keyslot guesses from {} uids, {guesses} at once, every {} ms each: {}; \
         control from uid {}: {}; rss {} MiB before, peak {} MiB (keyslot budget {} MiB)",
        HOSTILE_UIDS.len(),
        GUESS_PAUSE.as_millis(),
        show(&keyslot),
        HOSTILE_UIDS[0],
        show(&control),
        rss_before / 1024,
        rss_peak / 1024,
        KEYSLOT_MEMORY >> 20,
    );
    let summary = format!(
        "agent-load: {:.1} s, {VALID_CLIENTS} valid clients: {gets} gets, {:.0} req/s, p50 {} µs, p99 {} µs, \
         {errors} errors, {wrong} wrong answers; malformed {}; oversized {}; slow: drip {} after {}, \
         silent {} after {}; audit: bad_request {}, served {logged_served}; timeouts {} s request, {} s idle",
        elapsed.as_secs_f64(),
        gets as f64 / elapsed.as_secs_f64(),
        pct(50),
        pct(99),
        show(&malformed),
        show(&oversized),
        show(&drip),
        span(&dripped),
        show(&silent),
        span(&held),
        show(&logged_bad),
        REQUEST_TIMEOUT.as_secs_f64(),
        IDLE_TIMEOUT.as_secs_f64(),
    );
    eprintln!("{summary}{summary_hostile}");

    assert_eq!(wrong, 0, "wrong answers");
    assert_eq!(errors, 0, "valid-client errors, first: {first_error:?}");
    for (what, t) in [
        ("malformed", &malformed),
        ("oversized", &oversized),
        ("drip", &drip),
        ("silent", &silent),
    ] {
        assert!(t.values().sum::<u64>() > 0, "no {what} attempt completed");
    }
    assert_eq!(
        logged_bad, seen_bad,
        "audit bad_request events vs refusals seen"
    );
    assert_eq!(
        logged_served, received,
        "audit served gets vs values received"
    );

    if !hostile {
        return;
    }
    // The keyslot flood: refused cheaply, wrong passphrases tried only as the throttle
    // allows (per officer: the free failures, then one per doubling wait), every
    // refusal in the sealed agent's log, and memory within the budget.
    for code in keyslot.keys() {
        assert!(
            ["refused", "rate_limited", "busy"].contains(&code.as_str()),
            "a guess got {code}"
        );
    }
    assert!(
        keyslot.get("rate_limited").copied().unwrap_or(0) > 0,
        "{keyslot:?}"
    );
    let doublings = (seconds + 1.0).log2().ceil() as u64 + 2;
    assert!(
        derived <= 2 * (u64::from(FREE_FAILURES) + doublings),
        "{derived} guesses were tried in {seconds} s"
    );
    for code in ["refused", "rate_limited", "busy"] {
        assert_eq!(
            logged_guesses.get(code).copied().unwrap_or(0),
            keyslot.get(code).copied().unwrap_or(0),
            "audited {code} guesses"
        );
    }
    assert!(
        (rss_peak.saturating_sub(rss_before)) * 1024 < KEYSLOT_MEMORY + RSS_MARGIN,
        "peak RSS grew by {} MiB",
        (rss_peak - rss_before) / 1024
    );
    // The control attempts: every seal denied, every reset a conflict (unsealed).
    let attempts: u64 = control.values().sum();
    assert!(attempts > 0);
    assert_eq!(
        control.get("seal denied").copied().unwrap_or(0)
            + control.get("reset conflict").copied().unwrap_or(0),
        attempts,
        "{control:?}"
    );
    assert_eq!(
        logged_control.get("seal").copied().unwrap_or(0),
        control.get("seal denied").copied().unwrap_or(0)
    );
}
