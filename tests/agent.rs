//! The unseal agent end to end over real Unix sockets in a temporary directory:
//! officers unsealing from separate processes, refusals by name with progress kept,
//! clients and their policy (a child process dropped to another uid), seal, reset,
//! expiry, systemd's `LoadCredential=` exactly as systemd connects, and malformed,
//! oversized and slow clients beside a good one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use svault::agent::{Agent, AgentError, Audit, Client, Config, ErrorCode, Policy};
use svault::secret::SecretBytes;
use svault::vault::{Draft, GroupPlan, OfficerPlan, Plan, Vault};
use zeroize::Zeroizing;

use common::FAST;

const OFFICERS: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
const ERIN_PASS: &str = "erin's long passphrase";

struct Setup {
    dir: tempfile::TempDir,
    vault: PathBuf,
    socket: PathBuf,
    audit: PathBuf,
    words: Vec<String>,
}

/// A 3-of-5 vault; erin also has a passphrase keyslot.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("app.svault");
    let plan = Plan {
        group_threshold: 1,
        groups: vec![GroupPlan {
            name: "officers".into(),
            member_threshold: 3,
            officers: OFFICERS
                .iter()
                .map(|n| OfficerPlan {
                    name: (*n).to_owned(),
                    keyslot: (*n == "erin").then(|| Zeroizing::new(ERIN_PASS.as_bytes().to_vec())),
                })
                .collect(),
        }],
        secret_bytes: 16,
        slot_params: FAST,
    };
    let draft = Draft::new(&plan).unwrap();
    let words = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut unsealed = draft.write_new(&vault, None).unwrap();
    unsealed
        .set("db/password", SecretBytes::from_slice(b"hunter2"))
        .unwrap();
    unsealed
        .set("api/token", SecretBytes::from_slice(b"tok-123"))
        .unwrap();
    unsealed.save().unwrap();
    Setup {
        socket: dir.path().join("agent.sock"),
        audit: dir.path().join("audit.log"),
        dir,
        vault,
        words,
    }
}

fn config(s: &Setup) -> Config {
    let mut config = Config::new(&s.vault, &s.socket);
    config.harden = false;
    config
}

fn start(s: &Setup, config: Config) -> Agent {
    Agent::start(config, Audit::file(&s.audit).unwrap()).unwrap()
}

/// Whether some audit line has all these fields with these values.
fn has_event(log: &str, fields: serde_json::Value) -> bool {
    let want = fields.as_object().unwrap();
    log.lines().any(|line| {
        let got: serde_json::Value = serde_json::from_str(line).unwrap();
        want.iter().all(|(k, v)| got.get(k) == Some(v))
    })
}

fn audit_log(s: &Setup) -> String {
    std::fs::read_to_string(&s.audit).unwrap()
}

/// No share word, passphrase or value in the audit log.
fn assert_no_secrets(s: &Setup, log: &str) {
    for words in &s.words {
        // Any three consecutive words of a share: a single word may appear by chance
        // ("member", "group", "memory" are SLIP-0039 words and start log messages).
        let list: Vec<&str> = words.split(' ').collect();
        for triple in list.windows(3) {
            assert!(!log.contains(&triple.join(" ")), "share words in the log");
        }
        assert!(!log.contains(words.as_str()));
    }
    for secret in ["hunter2", "tok-123", ERIN_PASS, "new-value"] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

// ---------------------------------------------------------------------------------
// A helper run in a child process (this test binary, run again): it connects to the
// agent and prints one line per result. With SVAULT_TEST_UID it runs as that uid.

const CHILD: &str = "SVAULT_AGENT_TEST_CHILD";

#[test]
fn child_helper() {
    let Ok(action) = std::env::var(CHILD) else {
        return;
    };
    let socket = std::env::var("SVAULT_TEST_SOCKET").unwrap();
    let mut client = Client::connect(&socket).unwrap();
    match action.as_str() {
        "submit" => {
            let words = std::env::var("SVAULT_TEST_WORDS").unwrap();
            match client.submit_share(&words) {
                Ok(a) => println!("RESULT accepted {} {}", a.officer, a.status.progress),
                Err(e) => println!("RESULT refused {e}"),
            }
        }
        "get" => {
            for name in std::env::var("SVAULT_TEST_NAMES").unwrap().split(',') {
                match client.get(name) {
                    Ok(v) => println!(
                        "RESULT {name} value {}",
                        String::from_utf8_lossy(v.expose())
                    ),
                    Err(e) => println!("RESULT {name} error {:?} {e}", e.code()),
                }
            }
            match client.list() {
                Ok(entries) => {
                    let names: Vec<String> = entries.into_iter().map(|e| e.name).collect();
                    println!("RESULT list {}", names.join(","));
                }
                Err(e) => println!("RESULT list error {:?}", e.code()),
            }
        }
        "seal" => match client.seal() {
            Ok(st) => println!("RESULT seal ok {}", st.progress),
            Err(e) => println!("RESULT seal error {:?} {e}", e.code()),
        },
        "reset" => match client.reset() {
            Ok(st) => println!("RESULT reset ok {}", st.progress),
            Err(e) => println!("RESULT reset error {:?} {e}", e.code()),
        },
        "keyslot" => {
            // SVAULT_TEST_COUNT guesses at once, each on its own connection.
            let officer = std::env::var("SVAULT_TEST_OFFICER").unwrap();
            let count: usize = std::env::var("SVAULT_TEST_COUNT").unwrap().parse().unwrap();
            let codes: Vec<String> = thread::scope(|scope| {
                let handles: Vec<_> = (0..count)
                    .map(|i| {
                        let (socket, officer) = (&socket, &officer);
                        scope.spawn(move || {
                            let mut c = Client::connect(socket).unwrap();
                            match c.submit_keyslot(officer, &format!("guess {i}")) {
                                Ok(_) => "accepted".to_owned(),
                                Err(e) => e.code().unwrap().as_str().to_owned(),
                            }
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for code in codes {
                println!("RESULT {code}");
            }
            // Then one guess at a time at SVAULT_TEST_THEN, until one is rate_limited.
            if let Ok(then) = std::env::var("SVAULT_TEST_THEN") {
                for _ in 0..10 {
                    let code = match client.submit_keyslot(&then, "one more guess") {
                        Ok(_) => "accepted".to_owned(),
                        Err(e) => e.code().unwrap().as_str().to_owned(),
                    };
                    println!("RESULT then {code}");
                    if code == "rate_limited" {
                        break;
                    }
                }
            }
        }
        other => panic!("unknown child action {other}"),
    }
}

fn run_child(socket: &Path, action: &str, envs: &[(&str, &str)], uid: Option<u32>) -> Vec<String> {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_helper", "--nocapture", "--test-threads=1"])
        .env(CHILD, action)
        .env("SVAULT_TEST_SOCKET", socket);
    for (k, v) in envs {
        command.env(k, v);
    }
    if let Some(uid) = uid {
        command.uid(uid).gid(uid);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("RESULT ").map(|(_, r)| r.to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------

#[test]
fn three_officers_unseal_from_three_processes_with_refusals_between() {
    let s = setup();
    let agent = start(&s, config(&s));
    let submit = |i: usize| {
        run_child(
            &s.socket,
            "submit",
            &[("SVAULT_TEST_WORDS", &s.words[i])],
            None,
        )
    };

    assert_eq!(submit(0), ["accepted alice 1 of 3, need 2 more"]);

    let mut client = Client::connect(&s.socket).unwrap();
    // A share of another vault: refused, progress kept.
    let other = Draft::new(&Plan::simple(2, &["x", "y"])).unwrap();
    let foreign = other.issued()[0].share.to_words().to_string();
    let e = client.submit_share(&foreign).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Refused));
    assert!(e.to_string().contains("another vault"), "{e}");
    // A mistyped word: refused by position, the word is not repeated.
    let mut typo: Vec<&str> = s.words[1].split(' ').collect();
    typo[4] = "zzzzq";
    let e = client.submit_share(&typo.join(" ")).unwrap_err();
    assert!(e.to_string().contains("word 5"), "{e}");
    assert!(!e.to_string().contains("zzzzq"), "{e}");
    // alice again: a duplicate.
    let e = client.submit_share(&s.words[0]).unwrap_err();
    assert!(
        e.to_string().contains("alice's share was already entered"),
        "{e}"
    );
    // erin's keyslot with a wrong passphrase names erin.
    let e = client.submit_keyslot("erin", "wrong").unwrap_err();
    assert!(e.to_string().contains("erin's keyslot"), "{e}");
    let status = client.status().unwrap();
    assert!(status.sealed);
    assert_eq!(status.progress, "1 of 3, need 2 more");
    assert_eq!(status.submissions.len(), 1);
    assert_eq!(status.submissions[0].officer, "alice");
    assert!(status.since.is_some() && status.expires_at.is_some());
    // Sealed: no values.
    assert_eq!(
        client.get("db/password").unwrap_err().code(),
        Some(ErrorCode::Sealed)
    );

    assert_eq!(submit(1), ["accepted bob 2 of 3, need 1 more"]);
    let accepted = client.submit_keyslot("erin", ERIN_PASS).unwrap();
    assert_eq!((accepted.officer.as_str(), accepted.member), ("erin", 5));
    assert!(!accepted.status.sealed);
    assert_eq!(
        submit(2),
        ["refused the vault is already unsealed; no share is needed (nothing was checked or kept)"]
    );

    assert_eq!(client.get("db/password").unwrap().expose(), b"hunter2");
    let names: Vec<String> = client.list().unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["api/token", "db/password"]);
    let status = client.status().unwrap();
    let who: Vec<&str> = status
        .submissions
        .iter()
        .map(|s| s.officer.as_str())
        .collect();
    assert_eq!(who, ["alice", "bob", "erin"]);
    assert_eq!(status.credentials, Some(2));
    drop(agent);

    let log = audit_log(&s);
    assert_no_secrets(&s, &log);
    assert!(log.contains(r#""event":"submit""#));
    assert!(log.contains(r#""officer":"alice""#) && log.contains(r#""result":"refused""#));
    assert!(
        log.contains(r#""event":"unseal","officers":["alice","bob","erin"],"result":"unsealed""#),
        "{log}"
    );
    assert!(log.contains(r#""event":"credential""#) && log.contains(r#""name":"db/password""#));
    for line in log.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert!(!s.socket.exists(), "the socket is removed on stop");
}

fn unseal(s: &Setup) -> Client {
    let mut client = Client::connect(&s.socket).unwrap();
    for w in &s.words[..3] {
        client.submit_share(w).unwrap();
    }
    client
}

#[test]
fn another_uid_is_refused_by_policy() {
    const NOBODY: u32 = 65534;
    let s = setup();
    std::fs::set_permissions(s.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut config = config(&s);
    config.socket_group = Some(NOBODY);
    config.policy = Some(
        Policy::parse(&format!(
            "read api/* uid={NOBODY}\nread * uid=0\nwrite * uid=0\n"
        ))
        .unwrap(),
    );
    let agent = start(&s, config);
    let mode = std::fs::metadata(&s.socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
    let _client = unseal(&s);
    let out = run_child(
        &s.socket,
        "get",
        &[("SVAULT_TEST_NAMES", "api/token,db/password")],
        Some(NOBODY),
    );
    assert_eq!(out[0], "api/token value tok-123");
    assert!(
        out[1].starts_with("db/password error Some(Denied) uid 65534"),
        "{out:?}"
    );
    assert!(out[1].contains("may not get 'db/password'"), "{out:?}");
    assert_eq!(out[2], "list api/token");
    // Root (this process) reads both.
    let mut root = Client::connect(&s.socket).unwrap();
    assert_eq!(root.get("db/password").unwrap().expose(), b"hunter2");
    drop(agent);
    let log = audit_log(&s);
    assert!(
        log.contains(&format!(
            r#""allowed":false,"event":"credential","gid":{NOBODY},"name":"db/password","op":"get""#
        )),
        "{log}"
    );
    assert_no_secrets(&s, &log);
}

#[test]
fn seal_wipes_reset_discards_and_progress_expires() {
    let s = setup();
    let mut config = config(&s);
    config.expire = Some(Duration::from_secs(1));
    let agent = start(&s, config);
    let mut client = unseal(&s);
    assert_eq!(client.get("api/token").unwrap().expose(), b"tok-123");
    // Reset while unsealed is refused (use seal).
    assert_eq!(
        client.reset().unwrap_err().code(),
        Some(ErrorCode::Conflict)
    );
    let status = client.seal().unwrap();
    assert!(status.sealed && status.submissions.is_empty());
    assert_eq!(
        client.get("api/token").unwrap_err().code(),
        Some(ErrorCode::Sealed)
    );
    assert!(agent.status().sealed);

    // Reset discards progress.
    client.submit_share(&s.words[3]).unwrap();
    let status = client.reset().unwrap();
    assert_eq!(status.progress, "0 of 3, need 3 more");
    // dave can enter again after the reset.
    client.submit_share(&s.words[3]).unwrap();

    // Expiry: one second after the first share, progress is gone.
    thread::sleep(Duration::from_millis(1300));
    let status = client.status().unwrap();
    assert_eq!(status.progress, "0 of 3, need 3 more");
    assert!(status.submissions.is_empty());
    drop(agent);
    let log = audit_log(&s);
    assert!(
        log.contains(r#""discarded":["dave"],"event":"expire""#),
        "{log}"
    );
    assert!(log.contains(r#""event":"seal""#) && log.contains(r#""event":"reset""#));
}

#[test]
fn writes_through_the_agent_are_saved_to_the_file() {
    let s = setup();
    let agent = start(&s, config(&s));
    let mut client = unseal(&s);
    client
        .set("new/cred", &SecretBytes::from_slice(b"new-value"))
        .unwrap();
    assert!(client.rm("api/token").unwrap());
    assert!(!client.rm("api/token").unwrap());
    assert_eq!(
        client
            .set("bad name", &SecretBytes::from_slice(b"x"))
            .unwrap_err()
            .code(),
        Some(ErrorCode::Invalid)
    );
    // The file, opened independently, has the changes.
    let mut sealed = Vault::open(&s.vault).unwrap();
    for w in &s.words[2..5] {
        sealed.submit_text(w).unwrap();
    }
    let vault = sealed.unseal().unwrap();
    assert_eq!(vault.get("new/cred").unwrap().expose(), b"new-value");
    assert!(vault.get("api/token").is_none());
    // After a seal the agent reads the new file and unseals it.
    client.seal().unwrap();
    let mut client = unseal(&s);
    assert_eq!(client.get("new/cred").unwrap().expose(), b"new-value");
    drop(agent);
    assert_no_secrets(&s, &audit_log(&s));
}

/// Connects as systemd does for `LoadCredential=ID:SOCKET`: the client socket is bound
/// to an abstract address ending in `/unit/UNIT/ID`; the credential is read to EOF.
fn systemd_load(path: &Path, unit: &str, id: &str) -> Vec<u8> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, bind, connect, socket};
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    let name = format!("{:016x}/unit/{unit}/{id}", rand_u64());
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &UnixAddr::new_abstract(name.as_bytes()).unwrap(),
    )
    .unwrap();
    connect(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &UnixAddr::new(path).unwrap(),
    )
    .unwrap();
    let mut stream = UnixStream::from(fd);
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    out
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::Instant::now())
}

#[test]
fn systemd_load_credential() {
    let s = setup();
    let systemd = s.dir.path().join("creds.sock");
    let mut config = config(&s);
    config.systemd_socket = Some(systemd.clone());
    config.policy =
        Some(Policy::parse("systemd myapp.service dbpw db/password\nread * uid=0\n").unwrap());
    let agent = start(&s, config);
    // Sealed: nothing.
    assert_eq!(systemd_load(&systemd, "myapp.service", "dbpw"), b"");
    let _client = unseal(&s);
    assert_eq!(systemd_load(&systemd, "myapp.service", "dbpw"), b"hunter2");
    // Unknown pairs: closed without data.
    assert_eq!(systemd_load(&systemd, "other.service", "dbpw"), b"");
    assert_eq!(systemd_load(&systemd, "myapp.service", "token"), b"");
    // A plain connection (no abstract address): nothing.
    let mut plain = UnixStream::connect(&systemd).unwrap();
    let mut out = Vec::new();
    plain.read_to_end(&mut out).unwrap();
    assert!(out.is_empty());
    drop(agent);
    let log = audit_log(&s);
    assert!(
        has_event(
            &log,
            serde_json::json!({
                "event": "systemd", "unit": "myapp.service", "id": "dbpw", "name": "db/password",
                "uid": 0, "allowed": true, "result": "served",
            })
        ),
        "{log}"
    );
    assert!(
        has_event(
            &log,
            serde_json::json!({
                "event": "systemd", "unit": "other.service", "allowed": false,
                "result": "denied: no systemd rule",
            })
        ),
        "{log}"
    );
    assert_no_secrets(&s, &log);
}

fn raw_exchange(stream: &mut UnixStream, bytes: &[u8]) -> String {
    stream.write_all(bytes).unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8];
    while stream.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

#[test]
fn malformed_oversized_and_slow_clients_do_not_disturb_a_good_one() {
    let s = setup();
    let mut config = config(&s);
    config.request_timeout = Duration::from_millis(500);
    let agent = start(&s, config);
    let mut good = unseal(&s);

    // Malformed: an error reply, and the same connection keeps working.
    let mut bad = UnixStream::connect(&s.socket).unwrap();
    let reply = raw_exchange(&mut bad, b"{not json\n");
    assert!(reply.contains(r#""error":"malformed""#), "{reply}");
    let reply = raw_exchange(&mut bad, b"{\"v\":7,\"op\":\"status\"}\n");
    assert!(
        reply.contains(r#""error":"unsupported_version""#),
        "{reply}"
    );
    let reply = raw_exchange(&mut bad, b"\xff\xfe\x00\n");
    assert!(reply.contains(r#""error":"malformed""#), "{reply}");
    let reply = raw_exchange(
        &mut bad,
        b"{\"v\":1,\"op\":\"get\",\"name\":\"api/token\"}\n",
    );
    assert!(reply.contains(r#""kind":"value""#), "{reply}");

    // Slow: half a request, then nothing. It holds only its own connection.
    let mut slow = UnixStream::connect(&s.socket).unwrap();
    slow.write_all(b"{\"v\":1,\"op\":").unwrap();
    // Oversized: more than 64 KiB without a newline.
    let mut big = UnixStream::connect(&s.socket).unwrap();
    let reply = raw_exchange(&mut big, &vec![b'a'; 70 * 1024]);
    assert!(reply.contains(r#""error":"too_large""#), "{reply}");
    let mut rest = Vec::new();
    big.read_to_end(&mut rest).unwrap();

    // Meanwhile the good client is served.
    for _ in 0..50 {
        assert_eq!(good.get("db/password").unwrap().expose(), b"hunter2");
    }
    // The slow one times out and is closed.
    let mut line = String::new();
    slow.read_to_string(&mut line).unwrap();
    assert!(line.contains(r#""error":"timeout""#), "{line}");
    assert_eq!(good.get("db/password").unwrap().expose(), b"hunter2");
    drop(agent);
    let log = audit_log(&s);
    for code in ["malformed", "unsupported_version", "too_large", "timeout"] {
        assert!(
            log.contains(&format!(r#""error":"{code}""#)),
            "{code}: {log}"
        );
    }
}

#[test]
fn busy_agent_answers_busy_and_idle_connections_reconnect() {
    let s = setup();
    let mut config = config(&s);
    config.max_connections = 2;
    config.idle_timeout = Duration::from_millis(300);
    let agent = start(&s, config);
    let mut a = Client::connect(&s.socket).unwrap();
    let mut b = Client::connect(&s.socket).unwrap();
    a.status().unwrap();
    b.status().unwrap();
    let mut c = UnixStream::connect(&s.socket).unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    assert!(reply.contains(r#""error":"busy""#), "{reply}");
    // After the idle timeout the agent closes a and b; the client reconnects.
    thread::sleep(Duration::from_millis(600));
    assert!(a.status().unwrap().sealed);
    drop(agent);
}

#[test]
fn stale_socket_is_replaced_a_live_one_refused() {
    let s = setup();
    // A stale socket: bound, then its listener gone.
    drop(UnixListener::bind(&s.socket).unwrap());
    assert!(s.socket.exists());
    let agent = start(&s, config(&s));
    assert!(Client::connect(&s.socket).unwrap().status().unwrap().sealed);
    // A second agent on the same socket is refused.
    match Agent::start(config(&s), Audit::to_writer(std::io::sink())) {
        Err(e @ AgentError::InUse { .. }) => assert!(e.to_string().contains("another process")),
        other => panic!("{other:?}"),
    }
    drop(agent);
    // Not a socket: refused, left alone.
    std::fs::write(&s.socket, b"precious").unwrap();
    assert!(matches!(
        Agent::start(config(&s), Audit::to_writer(std::io::sink())),
        Err(AgentError::NotASocket { .. })
    ));
    assert_eq!(std::fs::read(&s.socket).unwrap(), b"precious");
    assert!(audit_log(&s).contains(r#""event":"stale_socket""#));
}

#[test]
fn cli_agent_unseal_get_exec_seal_and_sigterm() {
    let s = setup();
    let bin = env!("CARGO_BIN_EXE_svault");
    let mut agent = Command::new(bin)
        .arg("agent")
        .arg(&s.vault)
        .arg("--socket")
        .arg(&s.socket)
        .arg("--audit-log")
        .arg(&s.audit)
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if s.socket.exists() {
            break;
        }
        thread::sleep(Duration::from_millis(25));
    }
    let svault = |args: &[&str]| {
        let out = Command::new(bin)
            .args(args)
            .env("SVAULT_SOCKET", &s.socket)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mut outputs = Vec::new();
    for (i, words) in s.words[..3].iter().enumerate() {
        let file = s.dir.path().join(format!("share{i}"));
        std::fs::write(&file, words).unwrap();
        outputs.push(svault(&["unseal", "--share-file", file.to_str().unwrap()]).1);
    }
    assert_eq!(
        outputs,
        [
            "accepted: alice, member 1. 1 of 3, need 2 more\n",
            "accepted: bob, member 2. 2 of 3, need 1 more\n",
            "accepted: carol, member 3. the vault is unsealed\n",
        ]
    );
    assert_eq!(svault(&["get", "db/password"]).1, "hunter2");
    assert_eq!(svault(&["list"]).1, "api/token\ndb/password\n");
    let (_, out, _) = svault(&[
        "exec",
        "--env",
        "PW=db/password",
        "--",
        "sh",
        "-c",
        "printf %s \"$PW\"",
    ]);
    assert_eq!(out, "hunter2");
    let (_, json, _) = svault(&["status", "--json"]);
    assert!(json.contains("\"sealed\": false"), "{json}");
    assert_eq!(svault(&["seal"]).1, "sealed\n");
    let (code, out, err) = svault(&["get", "db/password"]);
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert!(
        err.starts_with("svault: cannot get 'db/password': the vault is sealed"),
        "{err}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(agent.wait().unwrap().success());
    assert!(!s.socket.exists());
    let log = audit_log(&s);
    assert!(log.contains(r#""event":"hardening""#) && log.contains(r#""event":"stop""#));
    assert_no_secrets(&s, &log);
}

// ---------------------------------------------------------------------------------
// Attacks from issue "security hardening II": each test runs the attack.

const NOBODY: u32 = 65534;

/// A socket that uid `NOBODY` can reach (group `NOBODY`, mode 0660), no policy file.
fn group_config(s: &Setup) -> Config {
    std::fs::set_permissions(s.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut config = config(s);
    config.socket_group = Some(NOBODY);
    config
}

fn count_events(log: &str, fields: serde_json::Value) -> usize {
    let want = fields.as_object().unwrap();
    log.lines()
        .filter(|line| {
            let got: serde_json::Value = serde_json::from_str(line).unwrap();
            want.iter().all(|(k, v)| got.get(k) == Some(v))
        })
        .count()
}

#[test]
fn another_uid_cannot_seal_and_its_reset_discards_only_its_own_shares() {
    let s = setup();
    let agent = start(&s, group_config(&s));
    let mut root = Client::connect(&s.socket).unwrap();
    root.submit_share(&s.words[0]).unwrap();
    // The socket's group may submit shares (officers) without a policy file.
    let out = run_child(
        &s.socket,
        "submit",
        &[("SVAULT_TEST_WORDS", &s.words[1])],
        Some(NOBODY),
    );
    assert_eq!(out, ["accepted bob 2 of 3, need 1 more"]);
    assert_eq!(agent.shares_held(), 2);
    // The attack: seal, then reset, from the other uid.
    let out = run_child(&s.socket, "seal", &[], Some(NOBODY));
    assert!(out[0].starts_with("seal error Some(Denied)"), "{out:?}");
    let out = run_child(&s.socket, "reset", &[], Some(NOBODY));
    assert_eq!(out, ["reset ok 1 of 3, need 2 more"]);
    // alice's share (root's) is intact; only bob's (nobody's) went.
    let status = root.status().unwrap();
    let who: Vec<&str> = status
        .submissions
        .iter()
        .map(|x| x.officer.as_str())
        .collect();
    assert_eq!(who, ["alice"]);
    assert_eq!(agent.shares_held(), 1);
    // bob may enter again, and the agent's own uid still unseals and controls.
    root.submit_share(&s.words[1]).unwrap();
    root.submit_share(&s.words[2]).unwrap();
    let out = run_child(&s.socket, "seal", &[], Some(NOBODY));
    assert!(out[0].starts_with("seal error Some(Denied)"), "{out:?}");
    assert!(
        !root.status().unwrap().sealed,
        "a denied seal sealed the vault"
    );
    assert!(root.seal().unwrap().sealed);
    drop(agent);
    let log = audit_log(&s);
    assert_eq!(
        count_events(
            &log,
            serde_json::json!({"event": "control", "op": "seal", "uid": NOBODY, "allowed": false})
        ),
        2
    );
    assert!(has_event(
        &log,
        serde_json::json!({"event": "reset", "uid": NOBODY, "scope": "own", "discarded": ["bob"]})
    ));

    // With a policy file and no unseal or control line, the other uid may do neither.
    let mut config = group_config(&s);
    config.policy = Some(Policy::parse(&format!("read api/* uid={NOBODY}\n")).unwrap());
    let agent = start(&s, config);
    let mut root = Client::connect(&s.socket).unwrap();
    root.submit_share(&s.words[0]).unwrap();
    let out = run_child(
        &s.socket,
        "submit",
        &[("SVAULT_TEST_WORDS", &s.words[1])],
        Some(NOBODY),
    );
    assert!(out[0].contains("may not submit shares"), "{out:?}");
    let out = run_child(&s.socket, "reset", &[], Some(NOBODY));
    assert!(out[0].starts_with("reset error Some(Denied)"), "{out:?}");
    assert_eq!(root.status().unwrap().progress, "1 of 3, need 2 more");
    // An unseal line gives the right back.
    drop(agent);
    let mut config = group_config(&s);
    config.policy = Some(Policy::parse(&format!("unseal uid={NOBODY}\n")).unwrap());
    let agent = start(&s, config);
    let out = run_child(
        &s.socket,
        "submit",
        &[("SVAULT_TEST_WORDS", &s.words[1])],
        Some(NOBODY),
    );
    assert_eq!(out, ["accepted bob 1 of 3, need 2 more"]);
    drop(agent);
}

/// The keyslot submission as raw protocol: the error code and `retry_after`.
fn keyslot_raw(socket: &Path, officer: &str, pass: &str) -> svault::agent::Response {
    let mut stream = UnixStream::connect(socket).unwrap();
    let line = serde_json::json!({"v": 1, "op": "submit", "officer": officer, "passphrase": pass});
    let reply = raw_exchange(&mut stream, format!("{line}\n").as_bytes());
    svault::agent::Response::parse(reply.trim_end().as_bytes()).unwrap()
}

#[test]
fn keyslot_guess_flood_from_another_uid_is_throttled_and_audited() {
    use svault::agent::Response;
    use svault::agent::limits::FREE_FAILURES;
    let s = setup();
    let mut config = group_config(&s);
    config.keyslot_queue = 2;
    let agent = start(&s, config);
    let mut root = Client::connect(&s.socket).unwrap();

    // The officer-name oracle: an unknown officer and a wrong passphrase are answered
    // alike, and both count as a failed guess.
    let unknown = root.submit_keyslot("zed", "guess").unwrap_err();
    let wrong = root.submit_keyslot("erin", "guess").unwrap_err();
    assert_eq!(unknown.code(), Some(ErrorCode::Refused));
    assert_eq!(
        unknown.to_string().replace("zed", "erin"),
        wrong.to_string(),
        "an unknown officer is told apart from a wrong passphrase"
    );

    // The attack: 200 concurrent guesses at erin's keyslot from another uid, then
    // guesses one at a time at an officer that does not exist.
    const GUESSES: usize = 200;
    let out = run_child(
        &s.socket,
        "keyslot",
        &[
            ("SVAULT_TEST_OFFICER", "erin"),
            ("SVAULT_TEST_COUNT", &GUESSES.to_string()),
            ("SVAULT_TEST_THEN", "zed"),
        ],
        Some(NOBODY),
    );
    let (flood, then): (Vec<&String>, Vec<&String>) =
        out.iter().partition(|c| !c.starts_with("then "));
    assert_eq!(flood.len(), GUESSES);
    let n = |code: &str| flood.iter().filter(|c| **c == code).count();
    let (refused, limited, busy) = (n("refused"), n("rate_limited"), n("busy"));
    assert_eq!(refused + limited + busy, GUESSES, "{out:?}");
    // One guess in flight per uid, three failures free, then a wait that doubles.
    assert!(
        refused <= FREE_FAILURES as usize + 1,
        "{refused} guesses were tried"
    );
    assert!(limited >= GUESSES / 2, "only {limited} rate_limited");
    // An unknown name from that uid is throttled the same way: a few refusals at
    // most, then rate_limited.
    assert_eq!(
        then.last().map(|c| c.as_str()),
        Some("then rate_limited"),
        "{then:?}"
    );
    let then_refused = then.iter().filter(|c| **c == "then refused").count();
    assert!(
        refused + then_refused <= FREE_FAILURES as usize + 1,
        "{out:?}"
    );

    // The real erin waits as told, then opens her keyslot.
    let mut accepted = false;
    for _ in 0..12 {
        match keyslot_raw(&s.socket, "erin", ERIN_PASS) {
            Response::Accepted { officer, .. } => {
                assert_eq!(officer, "erin");
                accepted = true;
                break;
            }
            Response::Error {
                code: ErrorCode::RateLimited,
                retry_after: Some(wait),
                message,
            } => {
                assert!(message.contains("try again in"), "{message}");
                assert!(wait <= svault::agent::limits::MAX_WAIT);
                thread::sleep(wait + Duration::from_millis(20));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(accepted, "erin's keyslot never opened");
    assert_eq!(agent.shares_held(), 1);
    drop(agent);

    // Every refusal is in the audit log, and no passphrase.
    let log = audit_log(&s);
    assert_no_secrets(&s, &log);
    // One line each for the first few refusals a second, then counts (`suppressed`).
    let uid = |result: &str| {
        let single = count_events(
            &log,
            serde_json::json!({"event": "submit", "uid": NOBODY, "result": result}),
        );
        let counted: u64 = log
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["event"] == "suppressed" && e["of"] == "submit" && e["uid"] == NOBODY)
            .map(|e| e["counts"][result].as_u64().unwrap_or(0))
            .sum();
        single + counted as usize
    };
    assert_eq!(uid("rate_limited"), limited + 1);
    assert_eq!(uid("busy"), busy);
    assert_eq!(uid("refused"), refused + then_refused);
    assert!(!log.contains("guess "), "a guessed passphrase in the log");
}

#[test]
fn a_keyslot_bigger_than_the_memory_budget_is_refused_without_deriving() {
    let s = setup();
    let mut config = config(&s);
    config.keyslot_memory = 32 << 10; // erin's keyslot needs 64 KiB
    let agent = start(&s, config);
    let mut root = Client::connect(&s.socket).unwrap();
    let e = root.submit_keyslot("erin", ERIN_PASS).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Refused));
    assert!(e.to_string().contains("keyslot memory budget"), "{e}");
    assert_eq!(agent.shares_held(), 0);
    drop(agent);
}

#[test]
fn shares_are_wiped_once_the_agent_is_unsealed() {
    let s = setup();
    let agent = start(&s, config(&s));
    let mut client = Client::connect(&s.socket).unwrap();
    for (i, w) in s.words[..2].iter().enumerate() {
        client.submit_share(w).unwrap();
        assert_eq!(agent.shares_held(), i + 1);
    }
    let accepted = client.submit_share(&s.words[2]).unwrap();
    assert!(!accepted.status.sealed);
    assert_eq!(agent.shares_held(), 0, "shares kept after unsealing");
    // The public record of who submitted stays, and the vault serves.
    let who: Vec<String> = client
        .status()
        .unwrap()
        .submissions
        .into_iter()
        .map(|x| x.officer)
        .collect();
    assert_eq!(who, ["alice", "bob", "carol"]);
    assert_eq!(client.get("db/password").unwrap().expose(), b"hunter2");
    drop(agent);

    // The library step the agent uses: an unsealed vault keeps its shares until told.
    let mut sealed = Vault::open(&s.vault).unwrap();
    for w in &s.words[..3] {
        sealed.submit_text(w).unwrap();
    }
    let mut vault = sealed.unseal().unwrap();
    assert_eq!(vault.known_share_count(), 3);
    vault.forget_shares();
    assert_eq!(vault.known_share_count(), 0);
    assert!(vault.add_officer(0, "frank", None).is_err());
}

#[test]
fn planted_links_and_writable_policies_are_refused() {
    use std::os::unix::fs::{MetadataExt, symlink};
    let s = setup();
    let target = s.dir.path().join("target");
    std::fs::write(&target, b"precious").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();

    // The audit log path is a link to another file, or to a file not yet there.
    let link = s.dir.path().join("audit-link");
    symlink(&target, &link).unwrap();
    let e = Audit::file(&link).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    let dangling = s.dir.path().join("audit-dangling");
    let created = s.dir.path().join("created-by-root");
    symlink(&created, &dangling).unwrap();
    assert!(Audit::file(&dangling).is_err());
    assert!(!created.exists(), "the agent created a file through a link");
    // A hard link to another file.
    let hard = s.dir.path().join("audit-hard");
    std::fs::hard_link(&target, &hard).unwrap();
    assert!(
        Audit::file(&hard)
            .unwrap_err()
            .to_string()
            .contains("hard links")
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");

    // Policy files others could change: refused, naming what is wrong.
    let policy = s.dir.path().join("app.policy");
    std::fs::write(&policy, "read * uid=0\n").unwrap();
    for (mode, ok) in [(0o664, false), (0o646, false), (0o644, true), (0o600, true)] {
        std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(mode)).unwrap();
        match Policy::load(&policy) {
            Ok(_) => assert!(ok, "mode {mode:o} accepted"),
            Err(e) => {
                assert!(!ok, "mode {mode:o}: {e}");
                assert!(
                    e.to_string().contains("lets its group or others change it"),
                    "{e}"
                );
            }
        }
    }
    let policy_link = s.dir.path().join("link.policy");
    symlink(&policy, &policy_link).unwrap();
    let e = Policy::load(&policy_link).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    std::os::unix::fs::chown(&policy, Some(NOBODY), None).unwrap();
    let e = Policy::load(&policy).unwrap_err();
    assert!(
        e.to_string().contains(&format!("owned by uid {NOBODY}")),
        "{e}"
    );
    // The command refuses to start with it.
    let out = Command::new(env!("CARGO_BIN_EXE_svault"))
        .arg("agent")
        .arg(&s.vault)
        .arg("--socket")
        .arg(&s.socket)
        .arg("--policy")
        .arg(&policy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing the policy file"), "{stderr}");
    assert!(!s.socket.exists());

    // Links planted at the names a socket used to be bound under before its rename:
    // nothing is chowned or chmodded through them.
    let name = s.socket.file_name().unwrap().to_string_lossy().into_owned();
    let planted = s.dir.path().join(format!(".{name}.{}", std::process::id()));
    symlink(&target, &planted).unwrap();
    let before = std::fs::metadata(&target).unwrap();
    let agent = start(&s, group_config(&s));
    let after = std::fs::metadata(&target).unwrap();
    assert_eq!(
        (after.mode(), after.uid(), after.gid()),
        (before.mode(), before.uid(), before.gid())
    );
    let socket = std::fs::symlink_metadata(&s.socket).unwrap();
    assert_eq!((socket.mode() & 0o777, socket.gid()), (0o660, NOBODY));
    // No private directory left behind.
    let leftovers: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with(&format!(".{name}."))
                && *n != planted.file_name().unwrap().to_string_lossy()
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(agent);
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
}

/// Sends `lines` on one connection (from a thread, as fast as the socket takes them)
/// and counts the answers that arrive within `window`; returns them by error code.
fn pipelined_answers(socket: &Path, lines: Vec<u8>, window: Duration) -> Vec<String> {
    let stream = UnixStream::connect(socket).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let _ = writer.write_all(&lines);
    });
    let deadline = std::time::Instant::now() + window;
    let mut reader = std::io::BufReader::new(&stream);
    let mut codes = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        let mut line = String::new();
        match std::io::BufRead::read_line(&mut reader, &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let reply: serde_json::Value = serde_json::from_str(&line).unwrap();
                codes.push(reply["error"].as_str().unwrap_or("ok").to_owned());
            }
        }
    }
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    let _ = sender.join();
    codes
}

/// The flood attacks of the agent load goal, each from one connection that pipelines
/// 2,000 requests without waiting: keyslot guesses that ignore `retry_after`, and
/// malformed lines. The agent leaves the guesser's next request unread for the wait it
/// asked for (at most 1 s), and answers malformed lines 50 ms late once the uid is past
/// the audit log's quota (10 a second), so in 2.5 s each gets a few dozen answers at most
/// (before: all 2,000 within milliseconds, each costing the agent a parse and a
/// refusal); every answer is still audited.
#[test]
fn flooding_clients_are_answered_no_faster_than_their_refusals_allow() {
    use svault::agent::limits::FREE_FAILURES;
    let s = setup();
    let agent = start(&s, config(&s));
    let window = Duration::from_millis(2500);

    let guesses: Vec<u8> = (0..2000)
        .flat_map(|i| {
            format!(
                "{{\"v\":1,\"op\":\"submit\",\"officer\":\"erin\",\"passphrase\":\"guess {i}\"}}\n"
            )
            .into_bytes()
        })
        .collect();
    let answers = pipelined_answers(&s.socket, guesses, window);
    let refused = answers.iter().filter(|c| *c == "refused").count();
    let limited = answers.iter().filter(|c| *c == "rate_limited").count();
    assert_eq!(refused + limited, answers.len(), "{answers:?}");
    assert!(limited > 0, "{answers:?}");
    // Real guesses: the free failures, then one per doubling wait (1 s, 2 s); each
    // rate_limited answer is followed by its wait or a full second of silence.
    assert!(
        refused <= FREE_FAILURES as usize + 2 && limited <= 8,
        "{} answers to a guesser ignoring the waits in {window:?}: {answers:?}",
        answers.len()
    );

    let garbage: Vec<u8> = (0..2000)
        .flat_map(|_| b"{\"v\":1,\"op\":\n".to_vec())
        .collect();
    let answers = pipelined_answers(&s.socket, garbage, window);
    assert!(answers.iter().all(|c| c == "malformed"), "{answers:?}");
    // 10 a second answered at once (and logged: 3 windows of a second begin within
    // 2.5 s), the rest one per 50 ms at most.
    assert!(
        (10..=3 * 10 + 2500 / 50 + 5).contains(&answers.len()),
        "{} malformed lines answered in {window:?}",
        answers.len()
    );
    let answered = answers.len();
    drop(agent);

    // Every refusal answered is in the log, one line or counted in `suppressed`.
    let log = audit_log(&s);
    let total = |of: &str, key: &str, value: &str| -> u64 {
        log.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|e| {
                if e["event"] == of && e[key] == value {
                    1
                } else if e["event"] == "suppressed" && e["of"] == of {
                    e["counts"][value].as_u64().unwrap_or(0)
                } else {
                    0
                }
            })
            .sum()
    };
    assert!(total("submit", "result", "rate_limited") >= limited as u64);
    assert!(total("bad_request", "error", "malformed") >= answered as u64);
}
