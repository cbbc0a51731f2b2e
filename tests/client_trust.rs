//! The client checks who listens on the agent's socket before it sends anything: a
//! listener planted by another user (a child of this test dropped to another uid)
//! receives no byte from `svault unseal`, `get`, `exec` or `Boot`, run as a third uid
//! or as root; a socket in a directory others can write is refused before connecting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::io::Read;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use svault::agent::{AgentTrust, Client, ClientError};
use svault::boot::{Boot, Source};
use svault::vault::{Draft, Plan};

/// The planted listener's uid, and the client's when it is not root.
const ATTACKER: u32 = 65533;
const VICTIM: u32 = 65534;

const FAKE: &str = "SVAULT_FAKE_AGENT_SOCKET";

/// Run again as a child: listens at `$SVAULT_FAKE_AGENT_SOCKET`, reads every
/// connection until it closes or goes quiet for a second, and after each one rewrites
/// `SOCKET.count` with the number of connections and of bytes received.
#[test]
fn fake_agent_helper() {
    let Ok(socket) = std::env::var(FAKE) else {
        return;
    };
    let listener = UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (mut connections, mut bytes) = (0usize, 0usize);
    for stream in listener.incoming() {
        let mut stream = stream.unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            bytes += n;
        }
        connections += 1;
        let tmp = format!("{socket}.count.tmp");
        std::fs::write(&tmp, format!("{connections} {bytes}")).unwrap();
        std::fs::rename(&tmp, format!("{socket}.count")).unwrap();
    }
}

struct Planted {
    dir: tempfile::TempDir,
    socket: PathBuf,
    child: Child,
}

impl Planted {
    /// A listener running as `ATTACKER` in a directory it owns (mode 0755).
    fn start() -> Planted {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let sockdir = dir.path().join("run");
        std::fs::create_dir(&sockdir).unwrap();
        chown(&sockdir, Some(ATTACKER), Some(ATTACKER)).unwrap();
        let socket = sockdir.join("agent.sock");
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "fake_agent_helper",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(FAKE, &socket)
            .uid(ATTACKER)
            .gid(ATTACKER)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !socket.exists() {
            assert!(started.elapsed() < Duration::from_secs(20), "no listener");
            std::thread::sleep(Duration::from_millis(20));
        }
        Planted { dir, socket, child }
    }

    /// (connections, bytes) the listener has seen, once `expect` connections closed.
    fn seen(&self, expect: usize) -> (usize, usize) {
        let count = PathBuf::from(format!("{}.count", self.socket.display()));
        let started = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&count) {
                let (c, b) = text.split_once(' ').unwrap();
                let seen = (c.parse().unwrap(), b.parse().unwrap());
                if seen.0 >= expect {
                    return seen;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "listener silent"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `svault ARGS` as `uid` (None: as this process, root) with `envs`.
    fn svault(&self, uid: Option<u32>, args: &[&str], envs: &[(&str, &str)]) -> (i32, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_svault"));
        cmd.args(args)
            .env_remove("SVAULT_AGENT_UID")
            .env("SVAULT_SOCKET", &self.socket);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        if let Some(uid) = uid {
            cmd.uid(uid).gid(uid);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    /// A share file the victim uid can read.
    fn share_file(&self) -> PathBuf {
        let file = self.dir.path().join("share");
        let draft = Draft::new(&Plan::simple(2, &["alice", "bob"])).unwrap();
        std::fs::write(&file, &*draft.issued()[0].share.to_words()).unwrap();
        chown(&file, Some(VICTIM), Some(VICTIM)).unwrap();
        file
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_listener_of_another_uid_receives_nothing_from_unseal_get_and_exec() {
    let planted = Planted::start();
    let share = planted.share_file();
    let share = share.to_str().unwrap();
    let marker = planted.dir.path().join("ran");
    let marker_cmd = format!(": > {}", marker.display());
    let runs: [&[&str]; 3] = [
        &["unseal", "--share-file", share],
        &["get", "db/password"],
        &["exec", "--", "/bin/sh", "-c", &marker_cmd],
    ];
    let mut expected = 0;
    // The client as a third uid, then as root: neither trusts uid ATTACKER.
    for uid in [Some(VICTIM), None] {
        for args in runs {
            let (code, err) = planted.svault(uid, args, &[]);
            assert_eq!(code, 1, "{args:?} as {uid:?}: {err}");
            assert!(
                err.contains("refusing the agent at")
                    && err.contains(&format!("runs as uid {ATTACKER}"))
                    && err.contains("nothing was sent"),
                "{args:?} as {uid:?}: {err}"
            );
            expected += 1;
            assert_eq!(planted.seen(expected), (expected, 0), "{args:?} as {uid:?}");
        }
    }
    assert!(!marker.exists(), "exec ran its program");
    // The control: told to trust that uid, the same client does send the share.
    let (code, _) = planted.svault(
        Some(VICTIM),
        &["unseal", "--share-file", share],
        &[("SVAULT_AGENT_UID", &ATTACKER.to_string())],
    );
    assert_ne!(code, 0, "the fake agent never answers");
    let (connections, bytes) = planted.seen(expected + 1);
    assert!(connections > expected && bytes > 0, "{connections} {bytes}");
}

#[test]
fn boot_and_the_library_refuse_a_listener_of_another_uid() {
    let planted = Planted::start();
    let err = Boot::new(["db/password"])
        .socket(&planted.socket)
        .use_environment(false)
        .sources(&[Source::Agent])
        .agent_wait(Duration::ZERO)
        .load()
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("runs as uid {ATTACKER}")), "{err}");
    assert_eq!(planted.seen(1), (1, 0));
    match Client::connect_trusting(&planted.socket, AgentTrust::own()) {
        Err(ClientError::Untrusted { uid, .. }) => assert_eq!(uid, ATTACKER),
        other => panic!("{other:?}"),
    }
    assert_eq!(planted.seen(2), (2, 0));
    // Trusted explicitly, the library talks to it (and the fake never answers).
    let err = Boot::new(["db/password"])
        .socket(&planted.socket)
        .use_environment(false)
        .agent_uid(ATTACKER)
        .sources(&[Source::Agent])
        .agent_wait(Duration::ZERO)
        .load()
        .unwrap_err()
        .to_string();
    assert!(!err.contains("runs as uid"), "{err}");
    let (_, bytes) = planted.seen(3);
    assert!(bytes > 0);
}

/// Whether a listener at `socket` in `dir` (mode `mode`) is connected to.
fn connect_in(mode: u32) -> (Result<Client, ClientError>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let socket: PathBuf = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    let result = Client::connect_trusting(&socket, AgentTrust::own());
    let accepted = listener.accept().is_ok();
    (result, accepted)
}

#[test]
fn a_socket_in_a_directory_others_can_write_is_refused_before_connecting() {
    for mode in [0o777, 0o770, 0o1777] {
        let (result, accepted) = connect_in(mode);
        // 01777 owned by root (this test's tempdir as root) is like /tmp: allowed.
        let allowed = mode == 0o1777 && nix::unistd::geteuid().is_root();
        match result {
            Err(ClientError::UnsafeDirectory { mode: m, .. }) if !allowed => {
                assert_eq!(m, mode);
                assert!(!accepted, "{mode:o}: connected anyway");
            }
            Ok(_) if allowed => assert!(accepted),
            other => panic!("{mode:o}: {other:?}"),
        }
    }
    let (result, accepted) = connect_in(0o755);
    assert!(result.is_ok() && accepted);
}
