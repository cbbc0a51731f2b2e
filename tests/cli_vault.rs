//! The day-to-day vault commands end to end: `verify`, `status`, `get`, `set`, `rm`,
//! `list`, `exec`, `completions`, `man`. Arguments and stdin in; stdout, stderr and
//! exit status out, pinned exactly where the text matters. Every row of DESIGN.md's
//! bad-input table these commands can meet has a test here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use svault::secret::SecretBytes;
use svault::vault::format::to_hex;
use svault::vault::{Draft, Plan, Vault};

const NAMES: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];
const ERIN_PASS: &str = "erin's long passphrase";

struct Run {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn out(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }
}

fn svault(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(args)
        .env_remove("SVAULT_SOCKET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    }
    let out = child.wait_with_output().unwrap();
    Run {
        status: out.status.code().unwrap(),
        stdout: out.stdout,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(args: &[&str], stdin: &[u8]) -> String {
    let run = svault(args, stdin);
    assert_eq!(run.status, 0, "{args:?}: stderr: {}", run.stderr);
    assert_eq!(run.stderr, "", "{args:?}");
    run.out()
}

/// Expects `status`, nothing on stdout, every stderr line prefixed; returns stderr.
fn fails(args: &[&str], stdin: &[u8], status: i32) -> String {
    let run = svault(args, stdin);
    assert_eq!(run.status, status, "{args:?}: stderr: {}", run.stderr);
    assert_eq!(run.out(), "", "{args:?}: nothing on stdout on failure");
    assert!(!run.stderr.is_empty());
    for line in run.stderr.lines() {
        assert!(line.starts_with("svault: "), "unprefixed line: {line:?}");
    }
    run.stderr
}

/// A 3-of-8 vault (erin also has a keyslot) with one credential, saved once so a
/// backup exists; share files `NAME.share` beside it and `erin.pass`.
struct Fixture {
    dir: tempfile::TempDir,
    vault: PathBuf,
    id: String,
    words: Vec<String>,
}

impl Fixture {
    /// The vault file's generation, read with the library.
    fn generation(&self) -> u64 {
        Vault::open(&self.vault).unwrap().header().generation
    }

    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("app.svault");
        let mut plan = Plan::simple(3, &NAMES);
        plan.slot_params = common::FAST;
        plan.groups[0].officers[4].keyslot =
            Some(zeroize::Zeroizing::new(ERIN_PASS.as_bytes().to_vec()));
        let draft = Draft::new(&plan).unwrap();
        let id = to_hex(&draft.header().vault_id.0);
        let words: Vec<String> = draft
            .issued()
            .iter()
            .map(|i| i.share.to_words().to_string())
            .collect();
        let mut v = draft
            .write_new(
                &vault,
                Some(("scripted", NAMES.iter().map(|n| n.to_string()).collect())),
            )
            .unwrap();
        v.set("db/password", SecretBytes::from_slice(b"hunter2"))
            .unwrap();
        v.set("api-token", SecretBytes::from_slice(b"tok\x00\xffen"))
            .unwrap();
        v.save().unwrap();
        for (name, w) in NAMES.iter().zip(&words) {
            std::fs::write(
                dir.path().join(format!("{name}.share")),
                format!("{w}\n# {name}'s share\n"),
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("erin.pass"), format!("{ERIN_PASS}\n")).unwrap();
        Fixture {
            dir,
            vault,
            id,
            words,
        }
    }

    fn v(&self) -> &str {
        self.vault.to_str().unwrap()
    }

    fn share(&self, name: &str) -> String {
        self.path(&format!("{name}.share"))
    }

    fn path(&self, file: &str) -> String {
        self.dir.path().join(file).to_str().unwrap().to_owned()
    }

    /// `--share-file` options for these officers.
    fn quorum(&self, names: &[&str]) -> Vec<String> {
        names
            .iter()
            .flat_map(|n| ["--share-file".to_owned(), self.share(n)])
            .collect()
    }
}

fn args<'a>(head: &[&'a str], tail: &'a [String]) -> Vec<&'a str> {
    head.iter()
        .copied()
        .chain(tail.iter().map(String::as_str))
        .collect()
}

fn backup(path: &Path) -> String {
    format!("{}.bak", path.display())
}

// ----------------------------------------------------------------------------- verify

#[test]
fn verify_a_share_file_a_typed_share_and_a_keyslot() {
    let f = Fixture::new();
    // Each drill is recorded (docs/HEALTH.md) on a second line.
    let drills = format!(
        "{}.drills",
        std::fs::canonicalize(&f.vault).unwrap().display()
    );
    let recorded = format!("drill recorded in {drills}\n");
    let expected = format!(
        "valid: share of officer dave (member 4 of 8, threshold 3) for vault {}\n{recorded}",
        f.id
    );
    assert_eq!(
        ok(&["verify", f.v(), "--share-file", &f.share("dave")], b""),
        expected
    );
    // No terminal: the words come from stdin.
    assert_eq!(
        ok(&["verify", f.v()], format!("{}\n", f.words[3]).as_bytes()),
        expected
    );
    assert_eq!(
        ok(
            &[
                "verify",
                f.v(),
                "--keyslot",
                "erin",
                "--passphrase-file",
                &format!("erin={}", f.path("erin.pass"))
            ],
            b""
        ),
        format!(
            "valid: keyslot passphrase of officer erin (member 5 of 8, threshold 3) for vault {}\n{recorded}",
            f.id
        )
    );
    assert_eq!(std::fs::read_to_string(&drills).unwrap().lines().count(), 3);
}

#[test]
fn verify_refuses_a_mistyped_word_naming_its_position() {
    let f = Fixture::new();
    let mut w: Vec<&str> = f.words[1].split(' ').collect();
    w[9] = "qqqq";
    let err = fails(&["verify", f.v()], w.join(" ").as_bytes(), 1);
    assert!(
        err.starts_with("svault: not valid: word 10 is not in the SLIP-0039 word list"),
        "{err}"
    );
    assert!(!err.contains("qqqq"), "{err}");
}

#[test]
fn verify_refuses_a_share_of_another_vault() {
    let f = Fixture::new();
    let other = Fixture::new();
    let err = fails(
        &["verify", f.v(), "--share-file", &other.share("bob")],
        b"",
        1,
    );
    assert!(
        err.starts_with(
            "svault: not valid: this share belongs to another vault (its split identifier is "
        ),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with("check that you have the right vault file")
    );
}

#[test]
fn verify_names_the_officer_of_a_wrong_passphrase() {
    let f = Fixture::new();
    let bad = f.path("bad.pass");
    std::fs::write(&bad, "not it\n").unwrap();
    let err = fails(
        &[
            "verify",
            f.v(),
            "--keyslot",
            "erin",
            "--passphrase-file",
            &format!("erin={bad}"),
        ],
        b"",
        1,
    );
    assert_eq!(
        err,
        "svault: not valid: the passphrase does not open erin's keyslot; no other slot is affected, try again\n"
    );
    // Exactly one trailing newline is removed: two make a wrong passphrase.
    std::fs::write(&bad, format!("{ERIN_PASS}\n\n")).unwrap();
    fails(
        &[
            "verify",
            f.v(),
            "--keyslot",
            "erin",
            "--passphrase-file",
            &format!("erin={bad}"),
        ],
        b"",
        1,
    );
}

// ----------------------------------------------------------------------------- status

#[test]
fn status_shows_the_header_and_no_secret() {
    let f = Fixture::new();
    let out = ok(&["status", f.v()], b"");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("vault: {}", f.v()));
    assert_eq!(lines[1], "format version: 2");
    assert_eq!(lines[2], format!("generation: {}", f.generation()));
    assert_eq!(lines[3], format!("vault id: {}", f.id));
    assert!(lines[4].starts_with("created: ") && lines[4].ends_with(" UTC"));
    assert_eq!(lines[5], "threshold: 3 of 8 officers");
    assert!(
        lines[6].starts_with("split: SLIP-0039 identifier "),
        "{out}"
    );
    assert_eq!(lines[7], "officers:");
    // Each officer's share fingerprint, as the library computes it from the header (the
    // one their sheet shows).
    let sealed = svault::vault::Vault::open(f.v()).unwrap();
    let header = sealed.header();
    let fp = |i: usize| svault::vault::share_fingerprint(header, &header.officers[i]);
    assert_eq!(
        lines[8],
        format!(
            "  alice (group officers, member 1, drill key) fingerprint {}; never drilled",
            fp(0)
        )
    );
    assert_eq!(
        lines[12],
        format!(
            "  erin (group officers, member 5, keyslot, drill key) fingerprint {}; never drilled",
            fp(4)
        )
    );
    assert_ne!(fp(0), fp(4));
    assert_eq!(lines[16], "drill keys: every officer has one");
    assert_eq!(
        lines[17],
        "quorum: 3 of 8 officers needed; 0 have a verified drill in the last 180 days; margin -3 (3 more officers must drill to reach a quorum)"
    );
    assert!(
        lines[18].starts_with("drills: ")
            && lines[18].ends_with(".drills: 0 counted, 0 rejected, 0 not counted"),
        "{out}"
    );
    assert_eq!(lines[19], "keyslots: erin");
    assert!(
        lines[20].starts_with("ceremony: ")
            && lines[20].ends_with(
                ", scripted, verified: alice, bob, carol, dave, erin, frank, grace, heidi"
            )
    );
    assert_eq!(lines[21], "retired splits: none");
    assert_eq!(
        lines[22],
        "credentials: not readable without the key (names and count are encrypted)"
    );
    assert!(!out.contains("db/password") && !out.contains("hunter2"));

    let json: serde_json::Value =
        serde_json::from_str(&ok(&["status", f.v(), "--json"], b"")).unwrap();
    assert_eq!(json["format_version"], 2);
    assert_eq!(json["generation"], f.generation());
    assert_eq!(json["officers"][0]["drill_key"], true);
    assert_eq!(json["officers_without_drill_key"], serde_json::json!([]));
    assert_eq!(json["vault_id"], f.id.as_str());
    assert_eq!(json["split"]["groups"][0]["member_threshold"], 3);
    assert_eq!(json["split"]["groups"][0]["members"], 8);
    assert_eq!(json["officers"][4]["keyslot"], true);
    assert_eq!(json["officers"][4]["fingerprint"], fp(4).as_str());
    assert_eq!(json["credentials"], serde_json::Value::Null);
    assert_eq!(json["credentials_readable"], false);
}

#[test]
fn status_without_vault_or_socket_is_a_usage_error() {
    let err = fails(&["status"], b"", 2);
    assert!(err.contains("give the vault file"), "{err}");
    let err = fails(&["status", "/nonexistent/x.svault"], b"", 2);
    assert!(
        err.starts_with("svault: cannot read /nonexistent/x.svault: "),
        "{err}"
    );
}

// ------------------------------------------------------------------ get / set / rm / list

#[test]
fn get_prints_the_stored_bytes_exactly() {
    let f = Fixture::new();
    let q = f.quorum(&["alice", "dave", "heidi"]);
    assert_eq!(
        ok(&args(&["get", f.v(), "db/password"], &q), b""),
        "hunter2"
    );
    let run = svault(&args(&["get", f.v(), "api-token"], &q), b"");
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout, b"tok\x00\xffen");
    let err = fails(&args(&["get", f.v(), "nope"], &q), b"", 1);
    assert_eq!(
        err,
        format!(
            "svault: {} has no credential named 'nope'; `svault list` shows the names\n",
            f.v()
        )
    );
}

#[test]
fn set_rm_and_list() {
    let f = Fixture::new();
    let q = f.quorum(&["bob", "carol", "grace"]);
    assert_eq!(
        ok(&args(&["set", f.v(), "smtp/pass"], &q), b"s3cret\n"),
        "saved smtp/pass (7 bytes)\n"
    );
    assert_eq!(ok(&args(&["get", f.v(), "smtp/pass"], &q), b""), "s3cret\n");
    let list = ok(&args(&["list", f.v()], &q), b"");
    let names: Vec<&str> = list
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(names, ["api-token", "db/password", "smtp/pass"]);
    assert!(
        list.lines()
            .nth(1)
            .unwrap()
            .starts_with("db/password\t7 bytes\tupdated ")
    );
    assert!(!list.contains("hunter2"));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&args(&["list", f.v(), "--json"], &q), b"")).unwrap();
    assert_eq!(json[1]["name"], "db/password");
    assert_eq!(json[1]["len"], 7);
    assert_eq!(
        ok(&args(&["rm", f.v(), "smtp/pass"], &q), b""),
        "removed smtp/pass\n"
    );
    fails(&args(&["get", f.v(), "smtp/pass"], &q), b"", 1);
    fails(&args(&["rm", f.v(), "smtp/pass"], &q), b"", 1);
    let err = fails(&args(&["set", f.v(), "has space"], &q), b"x", 2);
    assert!(err.contains("is not a valid credential name"), "{err}");
}

#[test]
fn keyslot_officer_joins_the_quorum() {
    let f = Fixture::new();
    let pass = format!("erin={}", f.path("erin.pass"));
    let q = f.quorum(&["alice", "bob"]);
    let mut a = args(&["get", f.v(), "db/password"], &q);
    a.extend(["--keyslot", "erin", "--passphrase-file", &pass]);
    assert_eq!(ok(&a, b""), "hunter2");
}

/// Every one of the 56 three-officer subsets of the 3-of-8 opens the vault; erin's
/// through her keyslot.
#[test]
fn every_three_officer_subset_can_get() {
    let f = Fixture::new();
    let pass = format!("erin={}", f.path("erin.pass"));
    let mut count = 0;
    for a in 0..8 {
        for b in a + 1..8 {
            for c in b + 1..8 {
                let mut argv: Vec<String> = vec!["get".into(), f.v().into(), "db/password".into()];
                for i in [a, b, c] {
                    if NAMES[i] == "erin" {
                        argv.extend([
                            "--keyslot".into(),
                            "erin".into(),
                            "--passphrase-file".into(),
                            pass.clone(),
                        ]);
                    } else {
                        argv.extend(["--share-file".into(), f.share(NAMES[i])]);
                    }
                }
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                assert_eq!(ok(&argv, b""), "hunter2", "{a} {b} {c}");
                count += 1;
            }
        }
    }
    assert_eq!(count, 56);
}

// ----------------------------------------------------------------------- bad input table

#[test]
fn duplicate_share_is_refused_and_names_the_officer() {
    let f = Fixture::new();
    let q = f.quorum(&["alice", "dave", "dave"]);
    let err = fails(&args(&["get", f.v(), "db/password"], &q), b"", 1);
    assert_eq!(
        err,
        format!(
            "svault: the share in {} was refused: dave's share was already entered; progress is unchanged\n",
            f.share("dave")
        )
    );
}

#[test]
fn too_few_shares_say_how_many_more() {
    let f = Fixture::new();
    let q = f.quorum(&["alice", "dave"]);
    let err = fails(&args(&["get", f.v(), "db/password"], &q), b"", 1);
    assert_eq!(
        err,
        "svault: not enough shares: 2 of 3, need 1 more; give more --share-file (or --keyslot) options, or run at a terminal to type shares\n"
    );
}

#[test]
fn mistyped_share_file_is_located() {
    let f = Fixture::new();
    let mut w: Vec<&str> = f.words[2].split(' ').collect();
    w[4] = "zebrax";
    let typo = f.path("typo.share");
    std::fs::write(&typo, w.join(" ")).unwrap();
    let mut q = f.quorum(&["alice", "bob"]);
    q.extend(["--share-file".into(), typo.clone()]);
    let err = fails(&args(&["get", f.v(), "db/password"], &q), b"", 1);
    assert!(
        err.starts_with(&format!(
            "svault: the share in {typo} was refused: word 5 is not in the SLIP-0039 word list"
        )),
        "{err}"
    );
    assert!(!err.contains("zebra"), "{err}");
}

#[test]
fn share_of_another_vault_is_refused_before_combining() {
    let f = Fixture::new();
    let other = Fixture::new();
    let mut q = f.quorum(&["alice", "bob"]);
    q.extend(["--share-file".into(), other.share("carol")]);
    let err = fails(&args(&["get", f.v(), "db/password"], &q), b"", 1);
    assert!(
        err.contains("was refused: this share belongs to another vault"),
        "{err}"
    );
}

#[test]
fn wrong_keyslot_passphrase_names_the_officer() {
    let f = Fixture::new();
    let bad = f.path("bad.pass");
    std::fs::write(&bad, "nope").unwrap();
    let pass = format!("erin={bad}");
    let q = f.quorum(&["alice", "bob"]);
    let mut a = args(&["get", f.v(), "db/password"], &q);
    a.extend(["--passphrase-file", &pass]);
    let err = fails(&a, b"", 1);
    assert_eq!(
        err,
        "svault: the keyslot of erin was refused: the passphrase does not open erin's keyslot; no other slot is affected, try again\n"
    );
}

#[test]
fn damaged_header_is_refused_with_the_offset_and_the_backup() {
    let f = Fixture::new();
    let mut bytes = std::fs::read(&f.vault).unwrap();
    let at = bytes.iter().position(|&b| b == b'{').unwrap();
    bytes[at] = b'[';
    std::fs::write(&f.vault, &bytes).unwrap();
    let q = f.quorum(&["alice", "bob", "carol"]);
    let err = fails(&args(&["get", f.v(), "db/password"], &q), b"", 1);
    assert!(
        err.starts_with(&format!(
            "svault: {}: the header is damaged at byte ",
            f.v()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "; the previous version is kept at {}; nothing was changed",
            backup(&f.vault)
        )),
        "{err}"
    );
    assert_eq!(std::fs::read(&f.vault).unwrap(), bytes, "file untouched");
    fails(&["status", f.v()], b"", 1);
}

#[test]
fn damaged_payload_fails_authentication_and_points_to_the_backup() {
    let f = Fixture::new();
    let mut bytes = std::fs::read(&f.vault).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 1;
    std::fs::write(&f.vault, &bytes).unwrap();
    let q = f.quorum(&["alice", "bob", "carol"]);
    let err = fails(&args(&["get", f.v(), "db/password"], &q), b"", 1);
    assert_eq!(
        err,
        format!(
            "svault: authentication failed — the file was changed or damaged; the previous version is kept at {}; nothing was changed\n",
            backup(&f.vault)
        )
    );
}

#[test]
fn truncated_file_is_refused() {
    let f = Fixture::new();
    let bytes = std::fs::read(&f.vault).unwrap();
    // The end of the header line (the second newline); the payload after it is
    // random bytes, so searching it for a '}' would find one by chance.
    let first = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let header_end = first + bytes[first..].iter().position(|&b| b == b'\n').unwrap() + 1;
    std::fs::write(&f.vault, &bytes[..header_end + 10]).unwrap();
    let err = fails(&["status", f.v()], b"", 1);
    assert!(
        err.starts_with(&format!(
            "svault: {}: the file is truncated: it ends at byte {} inside the payload; the previous version is kept at {}",
            f.v(),
            header_end + 10,
            backup(&f.vault)
        )),
        "{err}"
    );
}

#[test]
fn newer_format_version_is_refused_and_the_file_untouched() {
    let f = Fixture::new();
    let mut bytes = std::fs::read(&f.vault).unwrap();
    assert!(bytes.starts_with(b"svault-vault 2\n"));
    bytes[13] = b'7';
    std::fs::write(&f.vault, &bytes).unwrap();
    let q = f.quorum(&["alice", "bob", "carol"]);
    for a in [
        args(&["set", f.v(), "x"], &q),
        args(&["get", f.v(), "db/password"], &q),
        vec!["status", f.v()],
        vec!["verify", f.v(), "--share-file", &f.share("dave")],
    ] {
        let err = fails(&a, b"value", 1);
        assert!(
            err.contains("this vault uses format version 7, but this program reads versions up to 2; upgrade svault (the file was not changed)"),
            "{err}"
        );
        assert!(
            !err.contains("restore"),
            "a newer file is not damaged: {err}"
        );
    }
    assert_eq!(std::fs::read(&f.vault).unwrap(), bytes);
}

#[test]
fn unreadable_share_file_is_an_io_error() {
    let f = Fixture::new();
    let err = fails(
        &[
            "get",
            f.v(),
            "db/password",
            "--share-file",
            "/nonexistent/a.share",
        ],
        b"",
        2,
    );
    assert!(
        err.starts_with("svault: cannot read /nonexistent/a.share: "),
        "{err}"
    );
    fails(&["get", f.v()], b"", 2);
    fails(&["verify"], b"", 2);
}

// ------------------------------------------------------------------------------- exec

#[test]
fn exec_passes_credentials_in_the_environment_and_the_status_back() {
    let f = Fixture::new();
    let q = f.quorum(&["carol", "frank", "heidi"]);
    let mut a = args(&["exec", f.v()], &q);
    a.extend([
        "--",
        "sh",
        "-c",
        "printf '%s|%s' \"$DB_PASSWORD\" \"${API_TOKEN:+set}\"",
    ]);
    // api-token holds a NUL byte, which no environment can carry.
    let err = fails(&a, b"", 1);
    assert_eq!(
        err,
        "svault: 'api-token' holds a NUL byte, so it cannot go in the environment; nothing was run\n"
    );

    let mut a = args(&["exec", f.v(), "--env", "PGPASSWORD=db/password"], &q);
    a.extend(["--", "sh", "-c", "printf %s \"$PGPASSWORD\"; exit 7"]);
    let run = svault(&a, b"");
    assert_eq!(run.status, 7, "{}", run.stderr);
    assert_eq!(run.out(), "hunter2");

    let mut a = args(&["exec", f.v(), "--env", "1X=db"], &q);
    a.extend(["--", "true"]);
    let err = fails(&a, b"", 2);
    assert!(err.contains("--env takes VAR=NAME"), "{err}");
}

#[test]
fn exec_default_names_every_credential() {
    let f = Fixture::new();
    let q = f.quorum(&["carol", "frank", "heidi"]);
    ok(&args(&["rm", f.v(), "api-token"], &q), b"");
    ok(&args(&["set", f.v(), "9lives"], &q), b"skipped");
    let mut a = args(&["exec", f.v()], &q);
    a.extend([
        "--",
        "sh",
        "-c",
        "printf '%s' \"$DB_PASSWORD\"; env | grep -c lives || true",
    ]);
    assert_eq!(ok(&a, b""), "hunter20\n");
}

// ---------------------------------------------------------------- completions and man

#[test]
fn completions_and_man_page_are_generated() {
    let bash = ok(&["completions", "bash"], b"");
    assert!(
        bash.contains("svault") && bash.contains("--share-file"),
        "{bash}"
    );
    assert!(ok(&["completions", "zsh"], b"").contains("#compdef svault"));
    let man = ok(&["man"], b"");
    assert!(
        man.starts_with(".ie") || man.contains(".TH svault"),
        "{}",
        &man[..200]
    );
    assert!(man.contains("verify"));
    fails(&["completions", "tcsh"], b"", 2);
}

/// `svault man --out-dir` writes one page per subcommand (nested ones too), each naming
/// its command, and prints their paths; a directory that does not exist is named and
/// nothing is printed.
#[test]
fn man_out_dir_writes_every_subcommands_page() {
    let dir = tempfile::tempdir().unwrap();
    let listed = ok(&["man", "--out-dir", dir.path().to_str().unwrap()], b"");
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    for name in [
        "svault",
        "svault-agent",
        "svault-shamir",
        "svault-shamir-split",
        "svault-init",
    ] {
        let page = format!("{name}.1");
        assert!(written.contains(&page), "{page} missing from {written:?}");
        let text = std::fs::read_to_string(dir.path().join(&page)).unwrap();
        assert!(
            text.contains(&format!(".TH {name} 1")),
            "{page}: {}",
            &text[..80]
        );
    }
    // No page for clap's `help`, and every written page is listed on stdout.
    assert!(!written.iter().any(|p| p.contains("help")), "{written:?}");
    assert_eq!(listed.lines().count(), written.len(), "{listed}");
    let missing = dir.path().join("absent");
    let err = fails(&["man", "--out-dir", missing.to_str().unwrap()], b"", 2);
    assert!(err.contains("absent") && err.contains("exists"), "{err}");
    assert!(!missing.exists());
}

/// `svault --version` names the crate version and the commit of this checkout (or
/// `unknown` when the tests do not run in a git checkout of the crate).
#[test]
fn version_names_the_commit() {
    let version = ok(&["--version"], b"");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned())
    };
    // As build.rs: only a checkout whose top is the crate itself counts.
    let here = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    let own = git(&["rev-parse", "--show-toplevel"])
        .is_some_and(|top| Path::new(&top).canonicalize().ok() == Some(here));
    let commit = own
        .then(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .flatten()
        .unwrap_or_else(|| "unknown".to_owned());
    assert_eq!(
        version,
        format!("svault {} (commit {commit})\n", env!("CARGO_PKG_VERSION"))
    );
}

// ------------------------------------------------------------------ the prompt, on a pty

/// Officers type their shares at a real terminal: one mistyped word is caught and
/// located, the share typed again is accepted, progress is shown after each, and no
/// word is ever echoed.
#[test]
fn get_at_a_terminal_with_a_mistyped_share_corrected() {
    let f = Fixture::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_svault"));
    cmd.args(["get", f.v(), "db/password"])
        .env_remove("SVAULT_SOCKET");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    let prompt = "share (words, or \"keyslot NAME\"; empty line to stop):";
    let pause = || std::thread::sleep(std::time::Duration::from_millis(300));
    let mut seen = p
        .exp_string("shares of 3 of its 8 officers are needed. 0 of 3, need 3 more")
        .unwrap();
    seen += &p.exp_string(prompt).unwrap();
    pause();
    p.send_line(&f.words[3]).unwrap();
    seen += &p
        .exp_string("accepted: dave (member 4). 1 of 3, need 2 more")
        .unwrap();
    seen += &p.exp_string(prompt).unwrap();
    let mut w: Vec<&str> = f.words[6].split(' ').collect();
    w[7] = "qqqq";
    pause();
    p.send_line(&w.join(" ")).unwrap();
    seen += &p
        .exp_string("refused: word 8 'qqqq' is not in the SLIP-0039 word list")
        .unwrap();
    seen += &p
        .exp_string("progress unchanged: 1 of 3, need 2 more")
        .unwrap();
    seen += &p.exp_string(prompt).unwrap();
    pause();
    p.send_line(&f.words[6]).unwrap();
    seen += &p
        .exp_string("accepted: grace (member 7). 2 of 3, need 1 more")
        .unwrap();
    seen += &p.exp_string(prompt).unwrap();
    pause();
    p.send_line("keyslot erin").unwrap();
    seen += &p.exp_string("passphrase for erin's keyslot:").unwrap();
    pause();
    p.send_line(ERIN_PASS).unwrap();
    seen += &p
        .exp_string("accepted: erin (member 5). 3 of 3, ready to unseal")
        .unwrap();
    seen += &p.exp_string("hunter2").unwrap();
    seen += &p.exp_eof().unwrap();
    for w in &f.words {
        let first_words: String = w.split(' ').skip(4).take(6).collect::<Vec<_>>().join(" ");
        assert!(!seen.contains(&first_words), "share words echoed:\n{seen}");
    }
    assert!(!seen.contains(ERIN_PASS), "passphrase echoed");
    let status = p.process_mut().wait().unwrap();
    assert!(format!("{status:?}").contains(", 0)"), "{status:?}");
}
