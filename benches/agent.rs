//! The agent over a real Unix socket: `get` round-trip latency (criterion, plus p50/p99
//! from 20,000 timed requests), requests per second with many clients, 1,000
//! concurrent connections, good clients' latency among malformed and slow ones, and
//! the cost of refusing a throttled keyslot guess (`rate_limited`, before any Argon2id).
//!
//! `cargo bench --bench agent`. The audit log goes to a sink for the latency and
//! throughput figures and to a file for one comparison run (each `get` is one audit
//! line, written and flushed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use criterion::Criterion;
use svault::agent::{Agent, Audit, Client, Config, ErrorCode};
use svault::secret::SecretBytes;
use svault::vault::{Draft, Plan};

struct Fixture {
    _dir: tempfile::TempDir,
    socket: std::path::PathBuf,
    audit: std::path::PathBuf,
    agent: Option<Agent>,
}

fn fixture(file_audit: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("app.svault");
    let socket = dir.path().join("agent.sock");
    let audit = dir.path().join("audit.log");
    let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"])).unwrap();
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut u = draft.write_new(&vault, None).unwrap();
    u.set("db/password", SecretBytes::from_slice(&[b'x'; 32]))
        .unwrap();
    for i in 0..100 {
        u.set(&format!("app/cred{i}"), SecretBytes::from_slice(b"v"))
            .unwrap();
    }
    u.save().unwrap();
    let mut config = Config::new(&vault, &socket);
    config.harden = false;
    config.request_timeout = Duration::from_millis(200);
    let sink = if file_audit {
        Audit::file(&audit).unwrap()
    } else {
        Audit::to_writer(std::io::sink())
    };
    let agent = Agent::start(config, sink).unwrap();
    let mut c = Client::connect(&socket).unwrap();
    c.submit_share(&words[0]).unwrap();
    c.submit_share(&words[2]).unwrap();
    Fixture {
        _dir: dir,
        socket,
        audit,
        agent: Some(agent),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn latency(socket: &Path, n: usize) -> (Duration, Duration, Duration) {
    let mut c = Client::connect(socket).unwrap();
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let v = c.get("db/password").unwrap();
        samples.push(t.elapsed());
        assert_eq!(v.len(), 32);
    }
    samples.sort();
    (
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        percentile(&samples, 0.999),
    )
}

/// Requests per second with `clients` threads, each on its own connection.
fn throughput(socket: &Path, clients: usize, for_time: Duration) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (stop, count, barrier) = (stop.clone(), count.clone(), barrier.clone());
            let socket = socket.to_owned();
            thread::spawn(move || {
                let mut c = Client::connect(&socket).unwrap();
                barrier.wait();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(c.get("db/password").unwrap().len(), 32);
                    n += 1;
                }
                count.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    barrier.wait();
    let t = Instant::now();
    thread::sleep(for_time);
    stop.store(true, Ordering::Relaxed);
    for th in threads {
        th.join().unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64()
}

/// 1,000 connections open at once, each asking once; returns the errors.
fn thousand_connections(socket: &Path) -> usize {
    let mut clients: Vec<Client> = (0..1000)
        .map(|_| Client::connect(socket).unwrap())
        .collect();
    let mut errors = 0;
    for c in &mut clients {
        match c.get("db/password") {
            Ok(v) if v.len() == 32 => {}
            _ => errors += 1,
        }
    }
    errors
}

/// Good clients' latency while other threads send malformed lines, oversized lines
/// and half requests that stall until the timeout. Returns (good p50, good p99,
/// wrong answers, good requests, bad requests).
fn under_abuse(socket: &Path) -> (Duration, Duration, usize, usize, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let bad = Arc::new(AtomicU64::new(0));
    let mut abusers = Vec::new();
    for kind in 0..6 {
        let (stop, bad) = (stop.clone(), bad.clone());
        let socket = socket.to_owned();
        abusers.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = UnixStream::connect(&socket) else {
                    continue;
                };
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                match kind % 3 {
                    0 => {
                        let _ = s.write_all(b"{\"v\":1,\"op\":\"get\",\"name\":[}\n");
                    }
                    1 => {
                        let _ = s.write_all(&vec![b'A'; 70 * 1024]);
                    }
                    _ => {
                        let _ = s.write_all(b"{\"v\":1,\"op\":\"ge");
                    }
                }
                let mut reply = Vec::new();
                let mut buf = [0u8; 512];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || buf[..n].contains(&b'\n') {
                        reply.extend_from_slice(&buf[..n]);
                        break;
                    }
                    reply.extend_from_slice(&buf[..n]);
                }
                assert!(reply.starts_with(b"{\"v\":1,\"ok\":false"), "bad reply");
                bad.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    thread::sleep(Duration::from_millis(300));
    let mut good = Client::connect(socket).unwrap();
    let mut samples = Vec::new();
    let mut wrong = 0;
    for _ in 0..10_000 {
        let t = Instant::now();
        match good.get("db/password") {
            Ok(v) if v.expose() == [b'x'; 32] => {}
            _ => wrong += 1,
        }
        samples.push(t.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    for a in abusers {
        a.join().unwrap();
    }
    samples.sort();
    (
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        wrong,
        samples.len(),
        bad.load(Ordering::Relaxed),
    )
}

fn main() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard.min(65536), hard);
    }
    let mut f = fixture(false);
    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut c = Client::connect(&f.socket).unwrap();
        criterion.bench_function("agent get round trip (one client)", |b| {
            b.iter(|| c.get("db/password").unwrap())
        });
    }
    {
        // The same vault served sealed: a guess past the free failures is refused by the
        // throttle alone (an unknown officer: no keyslot is derived even before that).
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("sealed.sock");
        let mut config = Config::new(f._dir.path().join("app.svault"), &socket);
        config.harden = false;
        let sealed = Agent::start(config, Audit::to_writer(std::io::sink())).unwrap();
        let mut c = Client::connect(&socket).unwrap();
        while c.submit_keyslot("zed", "guess").unwrap_err().code() != Some(ErrorCode::RateLimited) {
        }
        criterion.bench_function(
            "agent keyslot guess refused rate_limited (one client)",
            |b| {
                b.iter(|| {
                    // Once a wait has passed, one guess is let through (and refused:
                    // no such officer) before the next, doubled, wait.
                    let e = c.submit_keyslot("zed", "guess").unwrap_err();
                    assert!(matches!(
                        e.code(),
                        Some(ErrorCode::RateLimited | ErrorCode::Refused)
                    ));
                })
            },
        );
        drop(sealed);
    }
    let (p50, p99, p999) = latency(&f.socket, 20_000);
    println!("get latency, one client, 20,000 requests: p50 {p50:?}  p99 {p99:?}  p99.9 {p999:?}");
    for clients in [1, 2, 8, 64] {
        let rps = throughput(&f.socket, clients, Duration::from_secs(3));
        println!("get throughput, {clients} clients: {rps:.0} requests/s");
    }
    let errors = thousand_connections(&f.socket);
    println!("1,000 concurrent connections, one get each: {errors} errors");
    let (p50, p99, wrong, n, bad) = under_abuse(&f.socket);
    println!(
        "under abuse (6 threads of malformed, oversized and stalled requests): good client p50 {p50:?} p99 {p99:?}, {wrong} wrong answers of {n}, {bad} bad requests answered"
    );
    f.agent.take();
    let mut f = fixture(true);
    let rps = throughput(&f.socket, 8, Duration::from_secs(3));
    let lines = std::fs::read_to_string(&f.audit).unwrap().lines().count();
    println!(
        "get throughput, 8 clients, audit log to a file: {rps:.0} requests/s ({lines} audit lines)"
    );
    f.agent.take();
    criterion.final_summary();
}
