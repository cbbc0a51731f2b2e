//! `svault::boot` in each mode — a systemd-style credentials directory, an agent
//! (sealed at first, unsealed while boot waits), share and keyslot passphrase files,
//! officers at a (scripted) console — and the refusal that lists every missing name.
//! Then the example service `examples/boot_service.rs` run in each mode, the terminal
//! one through a pseudo-terminal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use svault::agent::{Agent, Audit, Client, Config};
use svault::boot::{Boot, Source, systemd_id};
use svault::prompt::ScriptedConsole;
use svault::secret::SecretBytes;
use svault::vault::{Draft, GroupPlan, OfficerPlan, Plan};
use zeroize::Zeroizing;

const NEEDED: [&str; 2] = ["db/password", "api/token"];
const CAROL_PASS: &str = "carol's long passphrase";

struct Setup {
    dir: tempfile::TempDir,
    vault: PathBuf,
    words: Vec<String>,
}

impl Setup {
    /// A 2-of-3 vault holding both credentials; carol also has a keyslot.
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("app.svault");
        let plan = Plan {
            group_threshold: 1,
            groups: vec![GroupPlan {
                name: "officers".into(),
                member_threshold: 2,
                officers: ["alice", "bob", "carol"]
                    .iter()
                    .map(|n| OfficerPlan {
                        name: (*n).to_owned(),
                        keyslot: (*n == "carol")
                            .then(|| Zeroizing::new(CAROL_PASS.as_bytes().to_vec())),
                    })
                    .collect(),
            }],
            secret_bytes: 16,
            slot_params: common::FAST,
        };
        let draft = Draft::new(&plan).unwrap();
        let words: Vec<String> = draft
            .issued()
            .iter()
            .map(|i| i.share.to_words().to_string())
            .collect();
        let mut unsealed = draft.write_new(&vault, None).unwrap();
        unsealed
            .set("db/password", SecretBytes::from_slice(b"hunter2"))
            .unwrap();
        unsealed
            .set("api/token", SecretBytes::from_slice(b"tok-123456"))
            .unwrap();
        unsealed.save().unwrap();
        for (i, name) in ["alice", "bob", "carol"].iter().enumerate() {
            std::fs::write(
                dir.path().join(format!("{name}.share")),
                format!("{}\n# {name}\n", words[i]),
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("carol.pass"), format!("{CAROL_PASS}\n")).unwrap();
        Setup { dir, vault, words }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A boot that ignores this process's environment.
    fn boot<'a>(&self) -> Boot<'a> {
        Boot::new(NEEDED).use_environment(false).vault(&self.vault)
    }

    fn start_agent(&self) -> (Agent, PathBuf) {
        let socket = self.path("agent.sock");
        let mut config = Config::new(&self.vault, &socket);
        config.harden = false;
        let agent = Agent::start(config, Audit::to_writer(std::io::sink())).unwrap();
        (agent, socket)
    }
}

fn assert_both(creds: &svault::boot::Credentials, source: Source) {
    assert_eq!(creds.get("db/password").unwrap().expose(), b"hunter2");
    assert_eq!(creds.get("api/token").unwrap().expose(), b"tok-123456");
    assert_eq!(creds.source("db/password"), Some(source));
    assert_eq!(creds.source("api/token"), Some(source));
    let debug = format!("{creds:?}");
    assert!(!debug.contains("hunter2") && !debug.contains("tok-123456"));
}

fn assert_no_secret(s: &Setup, text: &str) {
    for secret in ["hunter2", "tok-123456", CAROL_PASS] {
        assert!(!text.contains(secret), "{secret} shown");
    }
    for words in &s.words {
        assert!(!text.contains(words.as_str()), "share words shown");
    }
}

#[test]
fn systemd_ids_replace_slashes() {
    assert_eq!(systemd_id("db/password").as_deref(), Some("db-password"));
    assert_eq!(systemd_id("a/b/c").as_deref(), Some("a-b-c"));
    assert_eq!(systemd_id(".."), None);
    assert_eq!(systemd_id(""), None);
}

#[test]
fn systemd_credentials_directory() {
    let s = Setup::new();
    let creds_dir = s.path("creds");
    std::fs::create_dir(&creds_dir).unwrap();
    std::fs::write(creds_dir.join("db-password"), "hunter2").unwrap();
    std::fs::write(creds_dir.join("api-token"), "tok-123456").unwrap();
    let creds = s
        .boot()
        .credentials_dir(&creds_dir)
        .sources(&[Source::Systemd])
        .load()
        .unwrap();
    assert_both(&creds, Source::Systemd);

    // One file missing: named, with the LoadCredential= id it should have.
    std::fs::remove_file(creds_dir.join("api-token")).unwrap();
    let err = s
        .boot()
        .credentials_dir(&creds_dir)
        .sources(&[Source::Systemd])
        .load()
        .unwrap_err();
    assert_eq!(err.missing(), ["api/token"]);
    let msg = err.to_string();
    assert!(msg.contains("systemd credentials: "), "{msg}");
    assert!(
        msg.contains("has no file for api/token (LoadCredential=api-token:…)"),
        "{msg}"
    );
    assert_no_secret(&s, &msg);

    // The rest comes from the next source: db/password from systemd, api/token from files.
    let creds = s
        .boot()
        .credentials_dir(&creds_dir)
        .share_file(s.path("alice.share"))
        .share_file(s.path("bob.share"))
        .sources(&[Source::Systemd, Source::ShareFiles])
        .load()
        .unwrap();
    assert_eq!(creds.source("db/password"), Some(Source::Systemd));
    assert_eq!(creds.source("api/token"), Some(Source::ShareFiles));
}

#[test]
fn share_files_and_keyslot_passphrase_files() {
    let s = Setup::new();
    let creds = s
        .boot()
        .share_file(s.path("alice.share"))
        .share_file(s.path("bob.share"))
        .load()
        .unwrap();
    assert_both(&creds, Source::ShareFiles);

    let creds = s
        .boot()
        .share_file(s.path("bob.share"))
        .keyslot("carol", s.path("carol.pass"))
        .sources(&[Source::ShareFiles])
        .load()
        .unwrap();
    assert_both(&creds, Source::ShareFiles);

    // Too few, and nobody to ask.
    let err = s
        .boot()
        .share_file(s.path("bob.share"))
        .sources(&[Source::ShareFiles])
        .load()
        .unwrap_err();
    assert_eq!(err.missing(), ["api/token", "db/password"]);
    let msg = err.to_string();
    assert!(
        msg.contains("share files: not enough shares: 1 of 2, need 1 more"),
        "{msg}"
    );

    // A wrong passphrase names the keyslot.
    std::fs::write(s.path("wrong.pass"), "nope").unwrap();
    let err = s
        .boot()
        .share_file(s.path("bob.share"))
        .keyslot("carol", s.path("wrong.pass"))
        .sources(&[Source::ShareFiles])
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("keyslot of carol"), "{err}");
}

#[test]
fn officers_at_a_console_with_a_share_file_counted() {
    let s = Setup::new();
    let mut console = ScriptedConsole::new([s.words[2].as_str()]);
    let creds = s
        .boot()
        .share_file(s.path("alice.share"))
        .console(&mut console)
        .sources(&[Source::ShareFiles, Source::Terminal])
        .load()
        .unwrap();
    assert_eq!(creds.source("db/password"), Some(Source::Terminal));
    assert_eq!(creds.get("api/token").unwrap().expose(), b"tok-123456");
    let transcript = console.transcript().to_owned();
    assert!(
        transcript.contains("accepted: carol (member 3). 2 of 2, ready to unseal"),
        "{transcript}"
    );
    assert_eq!(console.reads(), (1, 0), "the share was read with echo off");
    assert_no_secret(&s, &transcript);

    // Two officers type theirs; a mistyped share is refused and typed again.
    let mut bad: Vec<&str> = s.words[0].split(' ').collect();
    bad[5] = "qqqq";
    let bad = bad.join(" ");
    let mut console = ScriptedConsole::new([bad.as_str(), &s.words[0], &s.words[1]]);
    let creds = s
        .boot()
        .console(&mut console)
        .sources(&[Source::Terminal])
        .load()
        .unwrap();
    assert_both(&creds, Source::Terminal);
    assert!(console.transcript().contains("refused: word 6 'qqqq'"));

    // The officer stops early: nothing is returned.
    let mut console = ScriptedConsole::new([s.words[0].as_str(), ""]);
    let err = s
        .boot()
        .console(&mut console)
        .sources(&[Source::Terminal])
        .load()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("terminal: stopped before the threshold"),
        "{err}"
    );
}

#[test]
fn agent_waited_for_while_sealed() {
    let s = Setup::new();
    let (agent, socket) = s.start_agent();
    Client::connect(&socket)
        .unwrap()
        .submit_share(&s.words[0])
        .unwrap();
    let second = s.words[1].clone();
    let officer_socket = socket.clone();
    let officer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        Client::connect(&officer_socket)
            .unwrap()
            .submit_share(&second)
            .unwrap();
    });
    let mut lines = Vec::new();
    let mut log = |l: &str| lines.push(l.to_owned());
    let creds = s
        .boot()
        .socket(&socket)
        .agent_wait(Duration::from_secs(20))
        .agent_poll(Duration::from_millis(50))
        .log(&mut log)
        .load()
        .unwrap();
    officer.join().unwrap();
    assert_both(&creds, Source::Agent);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("is sealed; waiting for officers: 1 of 2, need 1 more (giving up in"),
        "{lines:?}"
    );

    // A name the agent's vault does not hold.
    let err = Boot::new(["db/password", "no/such"])
        .use_environment(false)
        .socket(&socket)
        .sources(&[Source::Agent])
        .load()
        .unwrap_err();
    assert_eq!(err.missing(), ["no/such"]);
    assert!(
        err.to_string()
            .contains("agent: the agent's vault holds no no/such"),
        "{err}"
    );
    agent.stop();
}

#[test]
fn agent_still_sealed_gives_up_then_next_source() {
    let s = Setup::new();
    let (agent, socket) = s.start_agent();
    let mut quiet = |_: &str| {};
    let err = s
        .boot()
        .socket(&socket)
        .agent_wait(Duration::from_millis(300))
        .agent_poll(Duration::from_millis(50))
        .log(&mut quiet)
        .sources(&[Source::Agent])
        .load()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("is still sealed after 0 s (0 of 2, need 2 more)"),
        "{msg}"
    );
    assert!(msg.contains("svault unseal --socket"), "{msg}");

    // Then the share files open the vault directly.
    let mut quiet = |_: &str| {};
    let creds = s
        .boot()
        .socket(&socket)
        .agent_wait(Duration::ZERO)
        .log(&mut quiet)
        .share_file(s.path("alice.share"))
        .share_file(s.path("carol.share"))
        .load()
        .unwrap();
    assert_both(&creds, Source::ShareFiles);
    agent.stop();
}

#[test]
fn refusal_lists_every_missing_name_and_every_source() {
    let s = Setup::new();
    let mut nobody = ScriptedConsole::non_interactive();
    let err = Boot::new(["db/password", "api/token", "smtp/password", "queue/key"])
        .use_environment(false)
        .vault(&s.vault)
        .credentials_dir(s.path("no-such-dir"))
        .socket(s.path("no-agent.sock"))
        .share_file(s.path("alice.share"))
        .share_file(s.path("bob.share"))
        .console(&mut nobody)
        .load()
        .unwrap_err();
    assert_eq!(err.missing(), ["queue/key", "smtp/password"]);
    let msg = err.to_string();
    assert!(
        msg.starts_with("missing credentials: queue/key, smtp/password\n"),
        "{msg}"
    );
    let sources: Vec<Source> = err.attempts().iter().map(|a| a.source).collect();
    assert_eq!(sources, Source::DEFAULT_ORDER);
    assert!(
        msg.contains("  systemd credentials: the credentials directory ")
            && msg.contains("no-such-dir does not exist"),
        "{msg}"
    );
    assert!(
        msg.contains("  agent: cannot connect to the agent at"),
        "{msg}"
    );
    assert!(
        msg.contains("  share files: ")
            && msg.contains("was opened but holds no queue/key, smtp/password"),
        "{msg}"
    );
    assert_no_secret(&s, &msg);
}

// ------------------------------------------------------------------ the example service

/// The example, built by `cargo test` beside the test binaries.
fn example() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe
        .parent()?
        .parent()?
        .join("examples")
        .join("boot_service");
    if !path.exists() {
        // `cargo test` builds examples; `cargo test --test boot` alone does not.
        assert!(
            std::env::var_os("CI").is_none(),
            "examples/boot_service is not built: CI runs the full `cargo test`, which builds it"
        );
        return None;
    }
    Some(path)
}

fn service(exe: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("SVAULT_SOCKET");
    cmd
}

fn run(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn example_service_in_each_mode() {
    let Some(exe) = example() else {
        eprintln!("examples/boot_service not built; skipped");
        return;
    };
    let s = Setup::new();
    let started = "started: db/password (7 bytes, from ";

    // systemd-style credentials directory, through the environment.
    let creds_dir = s.path("creds");
    std::fs::create_dir(&creds_dir).unwrap();
    std::fs::write(creds_dir.join("db-password"), "hunter2").unwrap();
    std::fs::write(creds_dir.join("api-token"), "tok-123456").unwrap();
    let mut cmd = service(&exe);
    cmd.env("CREDENTIALS_DIRECTORY", &creds_dir);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "started: db/password (7 bytes, from systemd credentials), api/token (10 bytes, from systemd credentials)\n"
    );

    // Share files.
    let mut cmd = service(&exe);
    cmd.arg("--vault").arg(&s.vault);
    cmd.arg("--share-file").arg(s.path("alice.share"));
    cmd.arg("--keyslot")
        .arg(format!("carol={}", s.path("carol.pass").display()));
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("{started}share files)")), "{out}");

    // The agent, through $SVAULT_SOCKET.
    let (agent, socket) = s.start_agent();
    let mut client = Client::connect(&socket).unwrap();
    client.submit_share(&s.words[1]).unwrap();
    client.submit_share(&s.words[2]).unwrap();
    let mut cmd = service(&exe);
    cmd.env("SVAULT_SOCKET", &socket);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("{started}agent)")), "{out}");
    agent.stop();

    // Missing: refuses to start, naming both credentials and every source.
    let (code, out, err) = run(service(&exe));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.starts_with(
            "boot_service: refusing to start: missing credentials: api/token, db/password\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("  terminal: no terminal to ask officers at"),
        "{err}"
    );

    // One missing from the credentials directory, nothing else set up.
    std::fs::remove_file(creds_dir.join("api-token")).unwrap();
    let mut cmd = service(&exe);
    cmd.env("CREDENTIALS_DIRECTORY", &creds_dir);
    let (code, _, err) = run(cmd);
    assert_eq!(code, 1);
    assert!(err.contains("missing credentials: api/token\n"), "{err}");
    assert_no_secret(&s, &err);
}

/// Officers at a real terminal (a pseudo-terminal): progress, echo off, then started.
#[test]
fn example_service_at_a_terminal() {
    let Some(exe) = example() else {
        eprintln!("examples/boot_service not built; skipped");
        return;
    };
    let s = Setup::new();
    let mut cmd = service(&exe);
    cmd.arg("--vault").arg(&s.vault);
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    let prompt = "share (words, or \"keyslot NAME\"; empty line to stop):";
    let pause = || std::thread::sleep(Duration::from_millis(300));
    let mut seen = p.exp_string("0 of 2, need 2 more").unwrap();
    seen += &p.exp_string(prompt).unwrap();
    pause();
    p.send_line(&s.words[0]).unwrap();
    seen += &p
        .exp_string("accepted: alice (member 1). 1 of 2, need 1 more")
        .unwrap();
    seen += &p.exp_string(prompt).unwrap();
    pause();
    p.send_line(&s.words[2]).unwrap();
    seen += &p
        .exp_string("accepted: carol (member 3). 2 of 2, ready to unseal")
        .unwrap();
    seen += &p
        .exp_string(
            "started: db/password (7 bytes, from terminal), api/token (10 bytes, from terminal)",
        )
        .unwrap();
    p.exp_eof().unwrap();
    assert_no_secret(&s, &seen);
}
