//! No word of a share in any non-interactive output (regression for "share words reach
//! logs").
//!
//! A share is mistyped two ways — a word with a letter dropped (an unknown word, whose
//! nearest list words and the one correct word the parser finds) and a list word
//! replaced by another (a checksum failure, whose correction the parser finds) — and fed
//! to every path that has no officer's terminal: the library's submission and
//! `BootError`, `svault shamir combine` and `check` on a pipe, `svault verify` from a
//! file and a pipe, `svault get --share-file`, the agent's refusal reply and audit log,
//! `svault unseal` from a file and a pipe, and boot through the agent.
//!
//! Forbidden in what comes out: the typed word, every list word of the share (typo
//! included), the nearest words and the correction the parser computed. A list word may
//! appear only if it is message vocabulary, which is decided by difference: it must
//! also appear in the same path's output for an unrelated share mistyped the same way
//! (so "check" in "check it against the written share" is fine, but any word the share
//! brought is not). Each output must also name the position, so the check is not
//! passed by an empty or unrelated message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use svault::agent::{Agent, Audit, Client, Config};
use svault::boot::{Boot, Source};
use svault::secret::SecretBytes;
use svault::share::slip39::{self, ParseError};
use svault::vault::{Draft, Plan, Vault};

const WORDLIST: &str = include_str!("../vectors/slip39/wordlist.txt");

fn list() -> Vec<&'static str> {
    WORDLIST.split_whitespace().collect()
}

/// A vault of three officers (two needed), its share files and an agent socket path.
struct Fixture {
    dir: tempfile::TempDir,
    vault: PathBuf,
    words: Vec<String>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::Builder::new().prefix("leak").tempdir().unwrap();
        let vault = dir.path().join("app.svault");
        let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"])).unwrap();
        let words: Vec<String> = draft
            .issued()
            .iter()
            .map(|i| i.share.to_words().to_string())
            .collect();
        let mut unsealed = draft.write_new(&vault, None).unwrap();
        unsealed
            .set("db/password", SecretBytes::from_slice(b"hunter2"))
            .unwrap();
        unsealed.save().unwrap();
        for (name, w) in ["alice", "bob", "carol"].iter().zip(&words) {
            std::fs::write(dir.path().join(format!("{name}.share")), format!("{w}\n")).unwrap();
        }
        Fixture { dir, vault, words }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn s(p: &Path) -> &str {
        p.to_str().unwrap()
    }
}

/// A mistyped copy of bob's share and the words an error must not show.
struct Bad {
    text: String,
    /// 1-based position of the changed word.
    position: usize,
    forbidden: BTreeSet<String>,
}

#[derive(Clone, Copy, Debug)]
enum Typo {
    /// A letter dropped: not a list word.
    Unknown,
    /// Another list word: the checksum fails.
    WrongWord,
}

fn mistype(share: &str, position: usize, typo: Typo) -> Bad {
    let list = list();
    let mut words: Vec<String> = share.split(' ').map(str::to_owned).collect();
    let original = words[position - 1].clone();
    let typed = match typo {
        Typo::Unknown => original
            .chars()
            .enumerate()
            .filter(|&(i, _)| i != 1)
            .map(|(_, c)| c)
            .collect::<String>(),
        Typo::WrongWord => {
            let at = list.iter().position(|w| *w == original).unwrap();
            list[(at + 517) % list.len()].to_owned()
        }
    };
    words[position - 1] = typed.clone();
    let text = words.join(" ");
    let mut forbidden: BTreeSet<String> = share.split(' ').map(str::to_owned).collect();
    forbidden.insert(typed.to_lowercase());
    // Everything the parser itself would offer as a hint.
    match slip39::parse(&text) {
        Err(ParseError::UnknownWord {
            word,
            nearest,
            suggestion,
            ..
        }) => {
            assert!(matches!(typo, Typo::Unknown));
            forbidden.insert(word.to_lowercase());
            forbidden.extend(nearest.iter().map(|w| w.to_string()));
            let s = suggestion.expect("a one-word typo has a unique correction");
            forbidden.insert(s.replacement.to_owned());
        }
        Err(ParseError::InvalidChecksum { suggestion }) => {
            assert!(matches!(typo, Typo::WrongWord));
            let s = suggestion.expect("one wrong word has a unique correction");
            assert_eq!(s.replacement, original);
            forbidden.insert(s.replacement.to_owned());
        }
        other => panic!("{typo:?}: {other:?}"),
    }
    Bad {
        text,
        position,
        forbidden,
    }
}

fn tokens(text: &str) -> BTreeSet<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Fails if `output` holds a forbidden word that the control output (same path, an
/// unrelated share mistyped the same way) does not also hold, or does not name the
/// position.
fn assert_clean(path: &str, typo: Typo, bad: &Bad, output: &str, control: &str) {
    let vocabulary = tokens(control);
    let leaked: Vec<&String> = tokens(output)
        .iter()
        .filter_map(|t| bad.forbidden.get(t))
        .filter(|t| !vocabulary.contains(*t))
        .collect();
    assert!(
        leaked.is_empty(),
        "{path} ({typo:?}): share words {leaked:?} in its output:\n{output}"
    );
    assert!(
        output.contains(&format!("word {}", bad.position)),
        "{path} ({typo:?}): the position is not named:\n{output}"
    );
}

fn svault(args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(args)
        .env_remove("SVAULT_SOCKET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One path: given a fixture and a mistyped share of it, everything it printed,
/// returned, logged or wrote.
type PathRun = fn(&Fixture, &Bad) -> String;

fn lib_submit(f: &Fixture, bad: &Bad) -> String {
    let mut sealed = Vault::open(&f.vault).unwrap();
    let e = sealed.submit_text(&bad.text).unwrap_err();
    format!("{e}\n{e:?}")
}

fn lib_boot_share_files(f: &Fixture, bad: &Bad) -> String {
    let file = f.path("bad.share");
    std::fs::write(&file, format!("{}\n", bad.text)).unwrap();
    let mut log = String::new();
    let mut logger = |line: &str| {
        log.push_str(line);
        log.push('\n');
    };
    let e = Boot::new(["db/password"])
        .vault(&f.vault)
        .share_file(f.path("alice.share"))
        .share_file(&file)
        .sources(&[Source::ShareFiles])
        .use_environment(false)
        .log(&mut logger)
        .load()
        .unwrap_err();
    format!("{e}\n{e:?}\n{log}")
}

fn cli_shamir_combine(f: &Fixture, bad: &Bad) -> String {
    svault(
        &["shamir", "combine"],
        &format!("{}\n{}\n", f.words[0], bad.text),
    )
}

fn cli_shamir_check(f: &Fixture, bad: &Bad) -> String {
    let input = format!("{}\n{}\n{}\n", f.words[0], bad.text, f.words[2]);
    svault(&["shamir", "check"], &input)
}

fn cli_verify_file(f: &Fixture, bad: &Bad) -> String {
    let file = f.path("bad.share");
    std::fs::write(&file, format!("{}\n", bad.text)).unwrap();
    svault(
        &[
            "verify",
            Fixture::s(&f.vault),
            "--share-file",
            Fixture::s(&file),
        ],
        "",
    )
}

fn cli_verify_pipe(f: &Fixture, bad: &Bad) -> String {
    svault(
        &["verify", Fixture::s(&f.vault)],
        &format!("{}\n", bad.text),
    )
}

fn cli_get_share_files(f: &Fixture, bad: &Bad) -> String {
    let file = f.path("bad.share");
    std::fs::write(&file, format!("{}\n", bad.text)).unwrap();
    let alice = f.path("alice.share");
    svault(
        &[
            "get",
            Fixture::s(&f.vault),
            "db/password",
            "--share-file",
            Fixture::s(&alice),
            "--share-file",
            Fixture::s(&file),
        ],
        "",
    )
}

/// Starts an agent on the fixture's vault (sealed), runs `run` against it, and returns
/// what `run` saw plus the agent's audit log.
fn with_agent(f: &Fixture, run: impl FnOnce(&Path) -> String) -> String {
    let socket = f.path("agent.sock");
    let audit = f.path("audit.log");
    let _ = std::fs::remove_file(&audit);
    let mut config = Config::new(&f.vault, &socket);
    config.harden = false;
    let agent = Agent::start(config, Audit::file(&audit).unwrap()).unwrap();
    let seen = run(&socket);
    agent.stop();
    format!("{seen}\n{}", std::fs::read_to_string(&audit).unwrap())
}

fn agent_reply_and_audit(f: &Fixture, bad: &Bad) -> String {
    with_agent(f, |socket| {
        let mut client = Client::connect(socket).unwrap();
        let e = client.submit_share(&bad.text).unwrap_err();
        format!("{e}\n{e:?}")
    })
}

fn cli_unseal_share_file(f: &Fixture, bad: &Bad) -> String {
    with_agent(f, |socket| {
        let file = f.path("bad.share");
        std::fs::write(&file, format!("{}\n", bad.text)).unwrap();
        svault(
            &[
                "unseal",
                "--socket",
                Fixture::s(socket),
                "--share-file",
                Fixture::s(&file),
            ],
            "",
        )
    })
}

fn cli_unseal_pipe(f: &Fixture, bad: &Bad) -> String {
    with_agent(f, |socket| {
        svault(
            &["unseal", "--socket", Fixture::s(socket)],
            &format!("{}\n", bad.text),
        )
    })
}

/// The bad share reaches the agent (refused there), then a service boots through the
/// sealed agent: its `BootError` and log lines.
fn boot_via_agent(f: &Fixture, bad: &Bad) -> String {
    with_agent(f, |socket| {
        let mut client = Client::connect(socket).unwrap();
        let refusal = client.submit_share(&bad.text).unwrap_err();
        let mut log = String::new();
        let mut logger = |line: &str| {
            log.push_str(line);
            log.push('\n');
        };
        let e = Boot::new(["db/password"])
            .socket(socket)
            .sources(&[Source::Agent])
            .use_environment(false)
            .agent_wait(Duration::from_millis(200))
            .log(&mut logger)
            .load()
            .unwrap_err();
        format!("{refusal}\n{e}\n{e:?}\n{log}")
    })
}

#[test]
fn no_share_word_in_any_non_interactive_output() {
    let paths: [(&str, PathRun); 11] = [
        ("library Sealed::submit_text", lib_submit),
        ("library BootError (share files)", lib_boot_share_files),
        ("svault shamir combine (pipe)", cli_shamir_combine),
        ("svault shamir check (pipe)", cli_shamir_check),
        ("svault verify --share-file", cli_verify_file),
        ("svault verify (pipe)", cli_verify_pipe),
        ("svault get --share-file", cli_get_share_files),
        ("agent reply and audit log", agent_reply_and_audit),
        ("svault unseal --share-file", cli_unseal_share_file),
        ("svault unseal (pipe)", cli_unseal_pipe),
        ("boot via the agent", boot_via_agent),
    ];
    let (f, control) = (Fixture::new(), Fixture::new());
    for typo in [Typo::Unknown, Typo::WrongWord] {
        // A value word of bob's share (past the four header words).
        let bad = mistype(&f.words[1], 9, typo);
        let other = mistype(&control.words[1], 9, typo);
        for (name, run) in &paths {
            let output = run(&f, &bad);
            let control_output = run(&control, &other);
            assert_clean(name, typo, &bad, &output, &control_output);
        }
    }
}
