//! Attacks through the vault header and the agent's answers, run against the real
//! binary: keyslot costs that would exhaust memory or time, terminal escapes in header
//! strings and in an agent's progress text, and ceremonies whose keyslots alone would
//! meet the threshold or whose passphrases are easy to guess.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use svault::agent::{AgentStatus, Response};
use svault::vault::{Draft, FormatError, OpenError, Plan, Vault};

const ERIN_PASS: &str = "tangerine vortex quiltwork";

fn svault(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(args)
        .env_remove("SVAULT_SOCKET")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// No byte a terminal would act on: ESC, BEL, C1 CSI (UTF-8 `c2 9b`), DEL.
fn assert_no_terminal_controls(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{what} holds a control character: {text:?}"
    );
}

/// A 2-of-3 vault (alice, bob, erin; erin with a keyslot) at `dir/v`, and its shares.
fn vault(dir: &Path) -> (PathBuf, Vec<String>) {
    let path = dir.join("v");
    let mut plan = Plan::simple(2, &["alice", "bob", "erin"]);
    plan.slot_params = common::FAST;
    plan.groups[0].officers[2].keyslot = Some(zeroize::Zeroizing::new(ERIN_PASS.into()));
    let draft = Draft::new(&plan).unwrap();
    let words = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    draft
        .write_new(&path, Some(("scripted", vec!["alice".into()])))
        .unwrap();
    (path, words)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Edits the header of a fresh vault, then runs every command that reads it: each must
/// refuse with status 1 (not a signal: no abort), print nothing on stdout, never a
/// control character on stderr, name what `expect` says, and leave the file as it was.
fn refused_everywhere(edit: impl Fn(&mut serde_json::Value), expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (path, words) = vault(dir.path());
    common::edit_header(&path, edit);
    let before = fs::read(&path).unwrap();
    let share = dir.path().join("alice.share");
    fs::write(&share, format!("{}\n", words[0])).unwrap();
    let pass = dir.path().join("erin.pass");
    fs::write(&pass, ERIN_PASS).unwrap();
    let pf = format!("erin={}", s(&pass));
    let runs: [Vec<&str>; 5] = [
        vec!["status", s(&path)],
        vec!["status", s(&path), "--json"],
        vec!["verify", s(&path), "--share-file", s(&share)],
        vec![
            "verify",
            s(&path),
            "--keyslot",
            "erin",
            "--passphrase-file",
            &pf,
        ],
        vec![
            "get",
            s(&path),
            "x",
            "--share-file",
            s(&share),
            "--keyslot",
            "erin",
            "--passphrase-file",
            &pf,
        ],
    ];
    for args in runs {
        let o = svault(&args);
        assert_eq!(o.status.signal(), None, "{args:?} was killed: {o:?}");
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?} printed {:?}", o.stdout);
        let err = stderr(&o);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_no_terminal_controls(&o.stderr, "stderr");
        assert_eq!(
            fs::read(&path).unwrap(),
            before,
            "{args:?} changed the file"
        );
    }
}

#[test]
fn keyslot_asking_for_4_tib_is_refused_naming_the_officer_without_an_abort() {
    refused_everywhere(
        |h| h["officers"][2]["slot"]["memory_kib"] = 4_294_967_295u32.into(),
        "erin's keyslot asks for 4294967295 KiB of memory, outside the accepted 8 KiB",
    );
    // The library says the same, as a variant of its own.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = vault(dir.path());
    common::edit_header(&path, |h| {
        h["officers"][2]["slot"]["memory_kib"] = 4_294_967_295u32.into()
    });
    match Vault::open(&path).unwrap_err() {
        OpenError::Format {
            source: FormatError::SlotCost { officer, .. },
            ..
        } => assert_eq!(officer, "erin"),
        other => panic!("{other}"),
    }
}

#[test]
fn keyslot_asking_for_20000_passes_is_refused() {
    refused_everywhere(
        |h| h["officers"][2]["slot"]["iterations"] = 20_000.into(),
        "erin's keyslot asks for 20000 passes, outside the accepted 1 to 64 passes",
    );
}

#[test]
fn keyslot_lanes_and_memory_below_the_floor_are_refused() {
    refused_everywhere(
        |h| h["officers"][2]["slot"]["parallelism"] = 17.into(),
        "erin's keyslot asks for 17 lanes",
    );
    refused_everywhere(
        |h| h["officers"][2]["slot"]["parallelism"] = 0.into(),
        "erin's keyslot asks for 0 lanes",
    );
    refused_everywhere(
        |h| {
            h["officers"][2]["slot"]["parallelism"] = 4.into();
            h["officers"][2]["slot"]["memory_kib"] = 31.into();
        },
        "erin's keyslot asks for 31 KiB of memory, outside the accepted 32 KiB",
    );
}

#[test]
fn terminal_escapes_in_any_header_string_are_refused_on_open() {
    let esc = "x\u{1b}]0;owned\u{7}\u{1b}[2J";
    refused_everywhere(
        |h| h["split"]["groups"][0]["name"] = esc.into(),
        "split.groups[0].name is invalid: holds a control",
    );
    refused_everywhere(
        |h| h["officers"][1]["name"] = format!("bob{esc}").into(),
        "officers[1].name is invalid: holds a control",
    );
    refused_everywhere(
        |h| h["officers"][1]["name"] = "bob\u{9b}31m".into(),
        "officers[1].name is invalid: holds a control",
    );
    refused_everywhere(
        |h| h["officers"][1]["name"] = "b\u{202e}ob".into(),
        "bidirectional-formatting",
    );
    refused_everywhere(
        |h| h["ceremony"]["method"] = format!("scripted{esc}").into(),
        "ceremony.method is invalid",
    );
    refused_everywhere(
        |h| h["ceremony"]["verified"][0] = esc.into(),
        "ceremony.verified[0] is invalid",
    );
    // FORMAT.md's other limits on names, now enforced for groups too.
    refused_everywhere(
        |h| h["split"]["groups"][0]["name"] = "a".repeat(65).into(),
        "split.groups[0].name is invalid: is longer than 64 characters",
    );
    refused_everywhere(
        |h| h["split"]["groups"][0]["name"] = "ops/x".into(),
        "holds '=' or '/'",
    );
    refused_everywhere(
        |h| h["officers"][0]["name"] = "a=b".into(),
        "holds '=' or '/'",
    );
    refused_everywhere(
        |h| h["ceremony"]["method"] = "m".repeat(4097).into(),
        "ceremony.method is invalid",
    );
}

// ------------------------------------------------------------------ a hostile agent

/// An "agent" on a Unix socket in `dir` that answers every request line with
/// `response`, for as many connections as come.
fn fake_agent(dir: &Path, response: Response) -> PathBuf {
    let path = dir.join("agent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let line = response.encode().to_vec();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            let mut request = String::new();
            while reader.read_line(&mut request).is_ok_and(|n| n > 0) {
                if writer.write_all(&line).is_err() {
                    break;
                }
                request.clear();
            }
        }
    });
    path
}

fn hostile_status() -> AgentStatus {
    let esc = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m";
    serde_json::from_value(serde_json::json!({
        "sealed": true,
        "progress": format!("1 of 2{esc}, need 1 more"),
        "groups": [{"name": format!("ops{esc}"), "have": 1, "need": 2, "officers": [format!("alice{esc}")]}],
        "submissions": [{"officer": format!("alice{esc}"), "group": 1, "member": 1, "at": 5}],
        "since": 5,
        "expires_at": 905,
        "credentials": null,
    }))
    .unwrap()
}

#[test]
fn agent_status_text_with_escapes_is_printed_sanitised() {
    let dir = tempfile::tempdir().unwrap();
    let socket = fake_agent(dir.path(), Response::Status(hostile_status()));
    for json in [false, true] {
        let mut args = vec!["status", "--socket", s(&socket)];
        if json {
            args.push("--json");
        }
        let o = svault(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_no_terminal_controls(&o.stdout, "status stdout");
        let out = String::from_utf8(o.stdout).unwrap();
        if json {
            // Still JSON, holding exactly what the agent sent.
            let back: AgentStatus = serde_json::from_str(&out).unwrap();
            assert_eq!(back, hostile_status());
        } else {
            assert!(out.contains(r"1 of 2\u{1b}]0;owned\u{7}"), "{out}");
            assert!(out.contains(r"alice\u{1b}"), "{out}");
        }
    }
}

#[test]
fn agent_unseal_reply_with_escapes_is_printed_sanitised() {
    let dir = tempfile::tempdir().unwrap();
    let (_, words) = vault(dir.path());
    let share = dir.path().join("alice.share");
    fs::write(&share, format!("{}\n", words[0])).unwrap();
    let socket = fake_agent(
        dir.path(),
        Response::Accepted {
            officer: "alice\u{1b}[2J\u{7}".into(),
            member: 1,
            status: hostile_status(),
        },
    );
    let o = svault(&["unseal", "--socket", s(&socket), "--share-file", s(&share)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_no_terminal_controls(&o.stdout, "unseal stdout");
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with(r"accepted: alice\u{1b}[2J\u{7}, member 1."),
        "{out}"
    );
}

// ------------------------------------------------------------------------ ceremonies

fn write_pass(dir: &Path, name: &str, pass: &str) -> String {
    let file = dir.join(format!("{name}.pass"));
    fs::write(&file, format!("{pass}\n")).unwrap();
    format!("{name}={}", s(&file))
}

#[test]
fn keyslot_holders_forming_a_quorum_are_refused_unless_allowed_and_status_warns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, e) = (
        write_pass(d, "alice", "umbrella gazetteer frolic"),
        write_pass(d, "erin", ERIN_PASS),
    );
    let v = d.join("v");
    let init = |extra: &[&str], out: &str| {
        let mut args = vec!["init", s(&v), "--threshold", "2"];
        args.extend([
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--officer",
            "erin",
        ]);
        args.extend(["--passphrase-file", &a, "--passphrase-file", &e]);
        let out = d.join(out);
        args.extend(["--shares-out", s(&out)]);
        args.extend(extra);
        svault(&args)
    };
    let o = init(&[], "o1");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("keyslot holders alone would meet the threshold (alice, erin)"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--allow-keyslot-quorum"));
    assert!(!v.exists() && !d.join("o1").exists(), "nothing written");

    let o = init(&["--allow-keyslot-quorum"], "o2");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let status = svault(&["status", s(&v)]);
    let text = String::from_utf8(status.stdout).unwrap();
    assert!(
        text.contains("warning: keyslot holders alone can unseal this vault")
            && text.contains("(alice, erin)"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&svault(&["status", s(&v), "--json"]).stdout).unwrap();
    assert_eq!(json["keyslot_quorum"], serde_json::json!(["alice", "erin"]));

    // Rekey keeps the keyslots: refused again without the option; the file is unchanged.
    let before = fs::read(&v).unwrap();
    let bob = d.join("o2").join("bob.share");
    let rekey = |extra: &[&str], out: &str| {
        let mut args = vec!["rekey", s(&v), "--share-file", s(&bob)];
        args.extend(["--passphrase-file", &a]);
        args.extend(["--new-passphrase-file", &a, "--new-passphrase-file", &e]);
        let out = d.join(out);
        args.extend(["--shares-out", s(&out)]);
        args.extend(extra);
        svault(&args)
    };
    let o = rekey(&[], "r1");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("keyslot holders alone would meet the threshold"));
    assert_eq!(fs::read(&v).unwrap(), before);
    let o = rekey(&["--allow-keyslot-quorum"], "r2");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn group_vault_whose_keyslot_holders_meet_the_group_threshold_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = write_pass(d, "alice", "umbrella gazetteer frolic");
    let e = write_pass(d, "erin", ERIN_PASS);
    let x = write_pass(d, "x", "saxophone meridian pebble");
    let y = write_pass(d, "y", "lighthouse cinnamon ferret");
    let v = d.join("v");
    // ops 1-of-1, board 2-of-2, audit 2-of-2; any 2 groups.
    let init = |keyslots: &[&str], out: &str| {
        let mut args = vec!["init", s(&v), "--group", "ops=1", "--group", "board=2"];
        args.extend(["--group", "audit=2", "--group-threshold", "2"]);
        args.extend(["--officer", "ops/alice", "--officer", "board/erin"]);
        args.extend(["--officer", "board/zed", "--officer", "audit/x"]);
        args.extend(["--officer", "audit/y"]);
        args.extend(keyslots);
        let out = d.join(out);
        args.extend(["--shares-out", s(&out)]);
        svault(&args)
    };
    // alice completes ops, x and y complete audit: two groups, the group threshold.
    let all = [
        "--passphrase-file",
        &a,
        "--passphrase-file",
        &x,
        "--passphrase-file",
        &y,
    ];
    let o = init(&all, "o1");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("(alice, x, y)"), "{}", stderr(&o));
    assert!(!v.exists() && !d.join("o1").exists());
    // alice and erin complete only ops: allowed, and status has no warning.
    let o = init(&["--passphrase-file", &a, "--passphrase-file", &e], "o2");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(svault(&["status", s(&v)]).stdout).unwrap();
    assert!(!text.contains("warning"), "{text}");

    // Adding frank to board with a keyslot would complete board too: refused.
    let before = fs::read(&v).unwrap();
    let share = |n: &str| d.join("o2").join(format!("{n}.share"));
    let (sa, se, sz) = (share("alice"), share("erin"), share("zed"));
    let p = d.join("erin.pass");
    let add = |extra: &[&str], out: &str| {
        let mut args = vec!["add-officer", s(&v), "frank", "--group", "board"];
        args.extend(["--share-file", s(&sa), "--share-file", s(&se)]);
        args.extend(["--share-file", s(&sz), "--new-passphrase-file", s(&p)]);
        let out = d.join(out);
        args.extend(["--shares-out", s(&out)]);
        args.extend(extra);
        svault(&args)
    };
    let o = add(&[], "a1");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(alice, erin, frank)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read(&v).unwrap(), before);
    // With the option it is added, and status warns.
    let o = add(&["--allow-keyslot-quorum"], "a2");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(svault(&["status", s(&v)]).stdout).unwrap();
    assert!(text.contains("warning: keyslot holders alone"), "{text}");
}

#[test]
fn weak_keyslot_passphrase_is_refused_with_zxcvbn_reason_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v = d.join("v");
    for weak in ["password1", "erin2026", "qwertyuiop"] {
        let e = write_pass(d, "erin", weak);
        let o = svault(&[
            "init",
            s(&v),
            "--threshold",
            "2",
            "--officer",
            "alice",
            "--officer",
            "erin",
            "--passphrase-file",
            &e,
            "--shares-out",
            s(&d.join("o")),
        ]);
        assert_eq!(o.status.code(), Some(1), "{weak}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("erin's keyslot passphrase is too easy to guess (strength "),
            "{err}"
        );
        // zxcvbn's own feedback is the reason; the passphrase is never shown.
        assert!(
            err.contains("Add another word or two") || err.contains("guess"),
            "{err}"
        );
        assert!(!err.contains(weak), "{err}");
        assert!(!v.exists() && !d.join("o").exists(), "nothing written");
    }
}
