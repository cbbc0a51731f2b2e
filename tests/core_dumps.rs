//! Every command that handles a share, a passphrase or the master secret disables core
//! dumps before it reads anything (issue "security hardening II", item 11): each
//! ceremony is started with core dumps allowed (`ulimit -c unlimited`), and while it
//! waits for its officer's input it is inspected from outside, through `/proc`:
//! `RLIMIT_CORE` must be 0 and the process not dumpable. A non-dumpable process's
//! files under `/proc/PID` belong to root, whatever its uid, so the command runs under an
//! unprivileged uid (`nobody` when the test runs as root; if `nobody` cannot reach the
//! binary, as root, where only `RLIMIT_CORE` can be checked) for that to tell. A control
//! (`sleep`, started the same way) shows that the check sees an ordinary process as
//! dumpable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NOBODY: u32 = 65534;
const SVAULT: &str = env!("CARGO_BIN_EXE_svault");

/// A scratch directory the command's uid owns, with a 2-of-3 vault.
struct Scene {
    dir: tempfile::TempDir,
    /// The uid the commands run as: ours, or `nobody` when we are root.
    uid: u32,
    vault: PathBuf,
}

impl Scene {
    fn new() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v.svault");
        let out = dir.path().join("shares");
        let o = Command::new(SVAULT)
            .args(["init", vault.to_str().unwrap(), "--threshold", "2"])
            .args([
                "--officer",
                "alice",
                "--officer",
                "bob",
                "--officer",
                "carol",
            ])
            .args([
                "--secret-bits",
                "128",
                "--shares-out",
                out.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let uid = nix::unistd::geteuid().as_raw();
        let uid = if uid == 0 && nobody_can_run_svault() {
            for entry in walk(dir.path()) {
                std::os::unix::fs::chown(&entry, Some(NOBODY), Some(NOBODY)).unwrap();
            }
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
            NOBODY
        } else {
            if uid == 0 {
                eprintln!(
                    "nobody cannot run {SVAULT} (a private target directory?): running as root, where only RLIMIT_CORE can be checked"
                );
            }
            uid
        };
        Scene { dir, uid, vault }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `program args` started by a shell that first allows core dumps
    /// (`ulimit -c unlimited`) and writes its pid to `pidfile`, then execs it (same pid).
    fn command(&self, program: &str, args: &[&str], pidfile: &Path) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.args([
            "-c",
            "echo $$ > \"$0\" && ulimit -c unlimited && exec \"$@\"",
            pidfile.to_str().unwrap(),
            program,
        ])
        .args(args)
        .current_dir(self.dir.path())
        .env("HOME", self.dir.path());
        if self.uid != nix::unistd::geteuid().as_raw() {
            cmd.uid(self.uid).gid(self.uid);
        }
        cmd
    }
}

/// Whether uid `nobody` can execute the binary (the target directory may be private).
fn nobody_can_run_svault() -> bool {
    Command::new(SVAULT)
        .arg("--version")
        .uid(NOBODY)
        .gid(NOBODY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Every path under `dir`, `dir` included.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_owned()];
    if dir.is_dir() {
        for entry in fs::read_dir(dir).unwrap() {
            out.extend(walk(&entry.unwrap().path()));
        }
    }
    out
}

fn read_pid(pidfile: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = fs::read_to_string(pidfile)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid written");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What `/proc` shows of a process: its core-size limit (soft, hard) and the owner of
/// its `/proc/PID/status` (root when it is not dumpable).
fn seen(pid: u32) -> ((String, String), u32) {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = line["Max core file size".len()..]
        .split_whitespace()
        .collect();
    let owner = fs::metadata(format!("/proc/{pid}/status")).unwrap().uid();
    ((fields[0].to_owned(), fields[1].to_owned()), owner)
}

/// `RLIMIT_CORE` 0 and, when the command runs as another uid than root (so that the
/// owner tells), not dumpable.
fn assert_hardened(scene: &Scene, what: &str, pid: u32) {
    let (core, owner) = seen(pid);
    assert_eq!(core, ("0".into(), "0".into()), "{what}: RLIMIT_CORE");
    if scene.uid != 0 {
        assert_eq!(
            owner, 0,
            "{what}: /proc/{pid}/status owned by {owner}: still dumpable"
        );
    }
}

/// Waits until `pid` runs the svault binary and sleeps (blocked reading its input).
fn wait_blocked(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let svault = fs::canonicalize(SVAULT).unwrap();
    loop {
        let exe = fs::read_link(format!("/proc/{pid}/exe")).ok();
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .chars()
            .next();
        if exe.as_deref() == Some(svault.as_path()) && state == Some('S') {
            return;
        }
        assert!(Instant::now() < deadline, "{pid} never blocked in svault");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `svault args` on a pseudo-terminal until it shows `prompt`, then checks it.
fn at_prompt(scene: &Scene, args: &[&str], prompt: &str) {
    let pidfile = scene.path(&format!("{}.pid", args[0]));
    let cmd = scene.command(SVAULT, args, &pidfile);
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    p.exp_string(prompt)
        .unwrap_or_else(|e| panic!("{args:?}: no prompt {prompt:?}: {e}"));
    let pid = read_pid(&pidfile);
    assert_hardened(scene, &format!("svault {}", args.join(" ")), pid);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// Runs `svault args` with its stdin an open, empty pipe; checks it while it waits.
fn reading_stdin(scene: &Scene, args: &[&str]) {
    let pidfile = scene.path(&format!("{}-{}.pid", args[0], args[1]));
    let mut child = scene
        .command(SVAULT, args, &pidfile)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = read_pid(&pidfile);
    wait_blocked(pid);
    assert_hardened(scene, &format!("svault {}", args.join(" ")), pid);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_check_sees_an_ordinary_process_as_dumpable() {
    let scene = Scene::new();
    let pidfile = scene.path("sleep.pid");
    let mut child: Child = scene.command("sleep", &["30"], &pidfile).spawn().unwrap();
    let pid = read_pid(&pidfile);
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| !p.to_string_lossy().contains("sleep"))
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let (core, owner) = seen(pid);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(core, ("unlimited".into(), "unlimited".into()));
    assert_eq!(
        owner, scene.uid,
        "a dumpable process's /proc files are its own"
    );
}

#[test]
fn ceremonies_run_with_core_dumps_disabled() {
    let scene = Scene::new();
    let vault = scene.vault.to_str().unwrap();
    let new = scene.path("new.svault");
    at_prompt(
        &scene,
        &[
            "init",
            new.to_str().unwrap(),
            "--threshold",
            "2",
            "--officer",
            "dave",
            "--officer",
            "erin",
            "--secret-bits",
            "128",
        ],
        "Press Enter",
    );
    at_prompt(&scene, &["verify", vault], "your share's words");
    at_prompt(&scene, &["add-officer", vault, "frank"], "share (words");
    at_prompt(&scene, &["rekey", vault], "share (words");
    at_prompt(&scene, &["get", vault, "any"], "share (words");
    reading_stdin(
        &scene,
        &["shamir", "split", "--threshold", "2", "--shares", "3"],
    );
    reading_stdin(&scene, &["shamir", "combine"]);
}

#[test]
fn unseal_typing_a_share_runs_with_core_dumps_disabled() {
    let scene = Scene::new();
    let socket = scene.path("agent.sock");
    let pidfile = scene.path("agent.pid");
    let mut agent = scene
        .command(
            SVAULT,
            &[
                "agent",
                scene.vault.to_str().unwrap(),
                "--socket",
                socket.to_str().unwrap(),
                "--audit-log",
                scene.path("audit.log").to_str().unwrap(),
            ],
            &pidfile,
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "the agent never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    at_prompt(
        &scene,
        &["unseal", "--socket", socket.to_str().unwrap()],
        "enter your share words",
    );
    agent.kill().unwrap();
    agent.wait().unwrap();
}
