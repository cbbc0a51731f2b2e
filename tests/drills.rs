//! Drill records and the quorum margin end to end: `svault verify` and every unseal
//! record signed drills in `VAULT.drills`; `svault status` and `svault health` count only
//! records that verify under the officer's drill key from the header, name every
//! ignored line with its reason, and never change the vault; the agent records its
//! unseals and reports the margin (docs/HEALTH.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use svault::health::{DrillKind, DrillRecord, files};
use svault::secret::SecretBytes;
use svault::share::slip39;
use svault::vault::format::to_hex;
use svault::vault::{Draft, DrillKey, GroupPlan, Plan, Vault};

const NAMES: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn svault(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(args)
        .env_remove("SVAULT_SOCKET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    Run {
        status: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(args: &[&str]) -> String {
    let run = svault(args);
    assert_eq!(run.status, 0, "{args:?}: {}", run.stderr);
    assert_eq!(run.stderr, "", "{args:?}");
    run.stdout
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A vault written by the library with share files `NAME.share` beside it.
struct Fixture {
    dir: tempfile::TempDir,
    vault: PathBuf,
    words: Vec<String>,
}

impl Fixture {
    fn with_plan(plan: &Plan) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("app.svault");
        let draft = Draft::new(plan).unwrap();
        let words: Vec<String> = draft
            .issued()
            .iter()
            .map(|i| i.share.to_words().to_string())
            .collect();
        for (issued, w) in draft.issued().iter().zip(&words) {
            std::fs::write(dir.path().join(format!("{}.share", issued.officer)), w).unwrap();
        }
        let mut unsealed = draft.write_new(&vault, None).unwrap();
        unsealed
            .set("db/password", SecretBytes::from_slice(b"hunter2"))
            .unwrap();
        unsealed.save().unwrap();
        Fixture { dir, vault, words }
    }

    /// 3 of 8.
    fn new() -> Fixture {
        Fixture::with_plan(&Plan::simple(3, &NAMES))
    }

    fn v(&self) -> &str {
        self.vault.to_str().unwrap()
    }

    fn share(&self, name: &str) -> String {
        self.dir
            .path()
            .join(format!("{name}.share"))
            .display()
            .to_string()
    }

    fn drills(&self) -> PathBuf {
        files::drills_path(&self.vault)
    }

    fn verify(&self, name: &str) -> String {
        ok(&["verify", self.v(), "--share-file", &self.share(name)])
    }

    fn append(&self, line: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.drills())
            .unwrap();
        f.write_all(line.as_bytes()).unwrap();
    }

    fn key(&self, name: &str) -> DrillKey {
        let i = NAMES.iter().position(|n| *n == name).unwrap();
        let sealed = Vault::open(&self.vault).unwrap();
        let (_, key) = sealed
            .drill_key(&slip39::parse(&self.words[i]).unwrap())
            .unwrap();
        key
    }

    fn vault_id(&self) -> [u8; 16] {
        Vault::open(&self.vault).unwrap().header().vault_id.0
    }

    fn split(&self) -> u16 {
        Vault::open(&self.vault).unwrap().header().split.identifier
    }

    fn status_json(&self) -> serde_json::Value {
        serde_json::from_str(&ok(&["status", self.v(), "--json"])).unwrap()
    }
}

/// A forged record for `officer`: signed by a key that is not theirs.
fn forged(vault_id: [u8; 16], split: u16, officer: &str) -> String {
    let forger = ed25519_dalek::SigningKey::from_bytes(&[0xee; 32]);
    DrillRecord::sign(vault_id, split, officer, DrillKind::Share, now(), &forger)
        .unwrap()
        .to_line()
}

#[test]
fn verify_appends_a_signed_record_0600_and_leaves_the_vault_alone() {
    let f = Fixture::new();
    let before = std::fs::read(&f.vault).unwrap();
    let out = f.verify("dave");
    assert!(out.starts_with("valid: share of officer dave"), "{out}");
    assert!(out.contains(&format!("drill recorded in {}", f.drills().display())));
    let mode = std::fs::metadata(f.drills()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(f.drills()).unwrap();
    let record = DrillRecord::parse(text.trim_end().as_bytes()).unwrap();
    assert_eq!(record.officer, "dave");
    assert_eq!(record.kind, DrillKind::Share);
    assert_eq!(record.vault_id, f.vault_id());
    assert!(record.verifies_under(&f.key("dave").verifying_key()));
    assert!(now().abs_diff(record.time) < 60);
    assert_eq!(std::fs::read(&f.vault).unwrap(), before, "vault untouched");

    // --no-record checks only.
    let out = ok(&[
        "verify",
        f.v(),
        "--share-file",
        &f.share("bob"),
        "--no-record",
    ]);
    assert!(out.starts_with("valid: "));
    assert!(!out.contains("recorded"));
    assert_eq!(std::fs::read_to_string(f.drills()).unwrap(), text);
}

#[test]
fn a_keyslot_drill_and_an_unseal_record_drills() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("erin.pass");
    std::fs::write(&pass, "erin's long passphrase\n").unwrap();
    let mut plan = Plan::simple(3, &NAMES);
    plan.slot_params = common::FAST;
    plan.groups[0].officers[4].keyslot =
        Some(zeroize::Zeroizing::new(b"erin's long passphrase".to_vec()));
    let f = Fixture::with_plan(&plan);
    let out = ok(&[
        "verify",
        f.v(),
        "--keyslot",
        "erin",
        "--passphrase-file",
        &format!("erin={}", pass.display()),
    ]);
    assert!(
        out.starts_with("valid: keyslot passphrase of officer erin"),
        "{out}"
    );
    // A quorum command: each of the three officers who took part drilled.
    let value = ok(&[
        "get",
        f.v(),
        "db/password",
        "--share-file",
        &f.share("alice"),
        "--share-file",
        &f.share("carol"),
        "--share-file",
        &f.share("heidi"),
    ]);
    assert_eq!(value, "hunter2");
    let text = std::fs::read_to_string(f.drills()).unwrap();
    let records: Vec<DrillRecord> = text
        .lines()
        .map(|l| DrillRecord::parse(l.as_bytes()).unwrap())
        .collect();
    let got: Vec<(&str, DrillKind)> = records
        .iter()
        .map(|r| (r.officer.as_str(), r.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("erin", DrillKind::Keyslot),
            ("alice", DrillKind::Unseal),
            ("carol", DrillKind::Unseal),
            ("heidi", DrillKind::Unseal),
        ]
    );
    let status = f.status_json();
    assert_eq!(status["quorum"]["verified"], 4);
    assert_eq!(status["quorum"]["margin"], 1);
    assert_eq!(status["officers"][4]["drill_key"], true);
    assert!(status["officers"][4]["last_drill"].as_u64().is_some());
    assert_eq!(status["officers"][1]["last_drill"], serde_json::Value::Null);
}

/// The closing scenario: 3 of 8, two officers never drilled (grace, heidi),
/// and one record forged (claiming that grace drilled).
#[test]
fn three_of_eight_two_never_drilled_one_forged() {
    let f = Fixture::new();
    let before = std::fs::read(&f.vault).unwrap();
    for name in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        f.verify(name);
    }
    f.append(&forged(f.vault_id(), f.split(), "grace"));
    let drills_before = std::fs::read(f.drills()).unwrap();

    let status = ok(&["status", f.v()]);
    print!("{status}");
    assert!(
        officer_line(
            &status,
            "  alice (group officers, member 1, drill key) fingerprint ",
            "; last drill "
        ),
        "{status}"
    );
    assert!(officer_line(
        &status,
        "  grace (group officers, member 7, drill key) fingerprint ",
        "; never drilled"
    ));
    assert!(officer_line(
        &status,
        "  heidi (group officers, member 8, drill key) fingerprint ",
        "; never drilled"
    ));
    assert!(status.contains(
        "quorum: 3 of 8 officers needed; 6 have a verified drill in the last 180 days; margin 3 (3 more officers could be lost)\n"
    ));
    assert!(status.contains("6 counted, 1 rejected, 0 not counted"));
    assert!(status.contains(
        "  rejected: line 7 (grace): forged or damaged: the signature does not verify under grace's drill key\n"
    ));

    let json = f.status_json();
    println!("{}", serde_json::to_string_pretty(&json["quorum"]).unwrap());
    assert_eq!(json["quorum"]["threshold"], 3);
    assert_eq!(json["quorum"]["verified"], 6);
    assert_eq!(json["quorum"]["margin"], 3);
    assert_eq!(json["quorum"]["max_age_days"], 180);
    assert_eq!(json["drills"]["rejected"], 1);
    assert_eq!(json["drills"]["ignored"][0]["reason"], "forged");
    for (i, name) in NAMES.iter().enumerate() {
        assert_eq!(json["officers"][i]["name"], *name);
        assert_eq!(json["officers"][i]["drill_key"], true);
        assert_eq!(
            json["officers"][i]["last_drill"].is_null(),
            i >= 6,
            "{name}"
        );
    }

    let prom = f.dir.path().join("svault.prom");
    let health = ok(&["health", f.v(), "--prometheus", prom.to_str().unwrap()]);
    print!("{health}");
    assert!(health.starts_with(
        "ok: quorum margin 3 (minimum 1): 3 of 8 officers needed; 6 have a verified drill"
    ));
    assert!(!health.contains("frank"), "frank drilled");
    for name in ["grace", "heidi"] {
        assert!(
            health.contains(&format!(
                "{name} has never drilled: ask {name} to run `svault verify {}`",
                f.v()
            )),
            "{health}"
        );
    }
    let text = std::fs::read_to_string(&prom).unwrap();
    print!("{text}");
    let id = to_hex(&f.vault_id());
    assert!(text.contains(&format!("svault_quorum_margin{{vault=\"{id}\"}} 3\n")));
    assert!(text.contains(&format!(
        "svault_drill_records_rejected_total{{vault=\"{id}\"}} 1\n"
    )));
    for (i, name) in NAMES.iter().enumerate() {
        let line = format!(
            "svault_officer_last_drill_timestamp_seconds{{officer=\"{name}\",vault=\"{id}\"}} "
        );
        let value: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(value == 0, i >= 6, "{name}");
        assert!(text.contains(&format!(
            "svault_officer_drill_key{{officer=\"{name}\",vault=\"{id}\"}} 1\n"
        )));
    }

    // A stricter minimum fails, naming who must drill.
    let run = svault(&["health", f.v(), "--min-margin", "4"]);
    eprint!("{}", run.stderr);
    assert_eq!(run.status, 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("svault: quorum margin 3 is below the minimum 4: ")
    );
    assert!(run.stderr.contains(&format!(
        "svault: grace has never drilled: ask grace to run `svault verify {}`\n",
        f.v()
    )));
    assert!(
        run.stderr
            .contains("svault: rejected: line 7 (grace): forged or damaged")
    );
    assert_eq!(std::fs::read(&f.vault).unwrap(), before, "vault untouched");
    assert_eq!(
        std::fs::read(f.drills()).unwrap(),
        drills_before,
        "drills untouched"
    );
}

/// One bad line after three good drills: status and health ignore it with `reason`,
/// count none of it, and change neither the vault nor the drills file.
fn bad_line(f: &Fixture, line: &str, reason: &str, message: &str) {
    let before = std::fs::read(&f.vault).unwrap();
    for name in ["alice", "bob", "carol"] {
        f.verify(name);
    }
    f.append(line);
    let drills = std::fs::read(f.drills()).unwrap();
    let json = f.status_json();
    assert_eq!(json["quorum"]["verified"], 3);
    assert_eq!(json["quorum"]["margin"], 0);
    assert_eq!(json["drills"]["verified"], 3);
    let ignored = json["drills"]["ignored"].as_array().unwrap();
    assert_eq!(ignored.len(), 1, "{ignored:?}");
    assert_eq!(ignored[0]["reason"], reason);
    assert_eq!(ignored[0]["line"], 4);
    for i in 3..8 {
        assert!(json["officers"][i]["last_drill"].is_null());
    }
    let run = svault(&["health", f.v()]);
    assert_eq!(run.status, 1, "margin 0 is below 1");
    assert!(run.stderr.contains(message), "{}", run.stderr);
    assert_eq!(std::fs::read(&f.vault).unwrap(), before, "vault untouched");
    assert_eq!(
        std::fs::read(f.drills()).unwrap(),
        drills,
        "drills untouched"
    );
}

#[test]
fn a_damaged_line_is_ignored() {
    let f = Fixture::new();
    let good = DrillRecord::sign(
        f.vault_id(),
        f.split(),
        "dave",
        DrillKind::Share,
        now(),
        &f.key("dave"),
    )
    .unwrap()
    .to_line();
    let damaged = good.replacen("\"time\":", "\"time\":x", 1);
    bad_line(
        &f,
        &damaged,
        "damaged",
        "line 4: damaged: the line is not a drill record",
    );
}

#[test]
fn a_truncated_line_is_ignored() {
    let f = Fixture::new();
    let good = DrillRecord::sign(
        f.vault_id(),
        f.split(),
        "dave",
        DrillKind::Share,
        now(),
        &f.key("dave"),
    )
    .unwrap()
    .to_line();
    bad_line(
        &f,
        &good[..good.len() / 2],
        "damaged",
        "line 4: damaged: the line is cut short",
    );
}

#[test]
fn a_record_for_an_officer_the_vault_lacks_is_ignored() {
    let f = Fixture::new();
    let line = DrillRecord::sign(
        f.vault_id(),
        f.split(),
        "mallory",
        DrillKind::Share,
        now(),
        &f.key("dave"),
    )
    .unwrap()
    .to_line();
    bad_line(
        &f,
        &line,
        "unknown-officer",
        "line 4 (mallory): names an officer this vault does not have",
    );
}

#[test]
fn a_record_signed_by_another_officers_key_is_ignored() {
    let f = Fixture::new();
    // dave's name, signed with erin's drill key (made from erin's real share).
    let line = DrillRecord::sign(
        f.vault_id(),
        f.split(),
        "dave",
        DrillKind::Share,
        now(),
        &f.key("erin"),
    )
    .unwrap()
    .to_line();
    bad_line(
        &f,
        &line,
        "signed-by-other",
        "line 4 (dave): signed by another officer: the signature is erin's drill key, not dave's",
    );
}

#[test]
fn a_record_copied_from_another_vault_is_ignored() {
    let f = Fixture::new();
    let other = Fixture::new();
    other.verify("dave");
    let copied = std::fs::read_to_string(other.drills()).unwrap();
    bad_line(
        &f,
        &copied,
        "other-vault",
        &format!(
            "line 4 (dave): copied from another vault: it names vault {}, not this one",
            to_hex(&other.vault_id())
        ),
    );
}

#[test]
fn a_record_from_a_clock_in_the_future_is_ignored() {
    let f = Fixture::new();
    let line = DrillRecord::sign(
        f.vault_id(),
        f.split(),
        "dave",
        DrillKind::Share,
        now() + 86_400,
        &f.key("dave"),
    )
    .unwrap()
    .to_line();
    bad_line(&f, &line, "future", "line 4 (dave): dated in the future");
}

#[test]
fn a_forged_record_is_ignored() {
    let f = Fixture::new();
    bad_line(
        &f,
        &forged(f.vault_id(), f.split(), "dave"),
        "forged",
        "line 4 (dave): forged or damaged",
    );
}

#[test]
fn a_drills_file_that_is_a_link_is_refused_and_nothing_written_through_it() {
    let f = Fixture::new();
    let target = f.dir.path().join("elsewhere");
    std::fs::write(&target, b"keep\n").unwrap();
    std::os::unix::fs::symlink(&target, f.drills()).unwrap();
    let run = svault(&["verify", f.v(), "--share-file", &f.share("dave")]);
    assert_eq!(run.status, 0, "the share is valid all the same");
    assert!(run.stdout.starts_with("valid: "));
    assert!(
        run.stderr.contains("warning: the drill was not recorded"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("symbolic link"));
    assert_eq!(std::fs::read(&target).unwrap(), b"keep\n");
    let run = svault(&["health", f.v()]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("symbolic link"));
}

#[test]
fn a_group_vault_counts_per_group() {
    // 2 of 3 groups: ops 2 of 3, board 2 of 2, dr 2 of 3.
    let group = |name: &str, threshold: u8, officers: &[&str]| GroupPlan {
        name: name.into(),
        member_threshold: threshold,
        officers: common::officers(officers),
    };
    let plan = Plan {
        group_threshold: 2,
        groups: vec![
            group("ops", 2, &["alice", "bob", "carol"]),
            group("board", 2, &["dave", "erin"]),
            group("dr", 2, &["frank", "grace", "heidi"]),
        ],
        secret_bytes: 16,
        slot_params: common::FAST,
    };
    let f = Fixture::with_plan(&plan);
    for name in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        f.verify(name);
    }
    let json = f.status_json();
    let q = &json["quorum"];
    assert_eq!(q["threshold"], 2);
    assert_eq!(q["verified"], 2, "ops and board are complete");
    assert_eq!(
        q["margin"], 0,
        "losing dave (or erin) leaves one complete group"
    );
    let groups: Vec<(String, i64)> = q["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_owned(),
                g["margin"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [("ops".into(), 1), ("board".into(), 0), ("dr".into(), -1)]
    );
    let status = ok(&["status", f.v()]);
    assert!(status.contains(
        "quorum: 2 of 3 groups needed, 2 have enough officers with a verified drill in the last 180 days (ops: 3 of 2 needed have drilled; board: 2 of 2 needed have drilled; dr: 1 of 2 needed have drilled); margin 0"
    ), "{status}");
    let run = svault(&["health", f.v()]);
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("ask grace to run"), "{}", run.stderr);
    f.verify("grace");
    let out = ok(&["health", f.v()]);
    assert!(out.starts_with("ok: quorum margin 1 (minimum 1)"), "{out}");
}

#[test]
fn officers_without_a_drill_key_are_named_and_their_drills_wait() {
    let f = Fixture::new();
    // As a format-1 vault's officers are until their share takes part in an unseal
    // that saves: no drill key in the header. (Editing the header breaks the payload's
    // authentication, but status, verify and health read the header only.)
    common::edit_header(&f.vault, |h| {
        for o in h["officers"].as_array_mut().unwrap().iter_mut().skip(6) {
            o.as_object_mut().unwrap().remove("drill_key");
        }
    });
    let out = f.verify("grace");
    assert!(out.contains("drill recorded"), "{out}");
    let json = f.status_json();
    assert_eq!(json["officers"][6]["drill_key"], false);
    assert_eq!(json["officers"][6]["last_drill"], serde_json::Value::Null);
    assert_eq!(json["drills"]["not_counted"], 1);
    assert_eq!(json["drills"]["rejected"], 0);
    assert_eq!(json["drills"]["ignored"][0]["reason"], "no-drill-key");
    let status = ok(&["status", f.v()]);
    assert!(
        officer_line(
            &status,
            "  grace (group officers, member 7, no drill key yet) fingerprint ",
            "; never drilled"
        ),
        "{status}"
    );
    assert!(
        status.contains("drill keys: grace, heidi have none yet; "),
        "{status}"
    );
    assert!(
        status.contains(
            "  not counted: line 1 (grace): cannot be checked yet: grace has no drill key in the header"
        ),
        "{status}"
    );
    let prom = f.dir.path().join("x.prom");
    let run = svault(&["health", f.v(), "--prometheus", prom.to_str().unwrap()]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains("heidi has never drilled and has no drill key yet: ask heidi to run"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(text.contains("svault_officer_drill_key{officer=\"heidi\","));
    assert!(text.lines().any(
        |l| l.starts_with("svault_officer_drill_key{officer=\"heidi\",") && l.ends_with(" 0")
    ));
}

#[test]
fn the_agent_records_its_unseals_and_reports_the_margin() {
    use svault::agent::{Agent, Audit, Client, Config};
    let f = Fixture::new();
    f.verify("alice");
    let socket = f.dir.path().join("agent.sock");
    let audit = f.dir.path().join("audit.log");
    let mut config = Config::new(&f.vault, &socket);
    config.harden = false;
    config.min_margin = 1;
    config.health_interval = None;
    let agent = Agent::start(config, Audit::file(&audit).unwrap()).unwrap();
    let health = agent.status().health.unwrap();
    assert_eq!(
        (health.margin, health.verified, health.threshold),
        (-2, 1, 3)
    );
    assert_eq!(health.min_margin, 1);
    assert_eq!(health.officers.len(), 8);
    assert!(health.officers[0].last_drill.is_some());
    assert!(health.officers.iter().all(|o| o.drill_key));

    let mut client = Client::connect(&socket).unwrap();
    for i in [1, 2, 3] {
        client.submit_share(&f.words[i]).unwrap();
    }
    let status = client.status().unwrap();
    assert!(!status.sealed);
    let health = status.health.unwrap();
    assert_eq!((health.margin, health.verified), (1, 4));
    let text = std::fs::read_to_string(f.drills()).unwrap();
    let kinds: Vec<(String, DrillKind)> = text
        .lines()
        .map(|l| DrillRecord::parse(l.as_bytes()).unwrap())
        .map(|r| (r.officer, r.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("alice".into(), DrillKind::Share),
            ("bob".into(), DrillKind::Agent),
            ("carol".into(), DrillKind::Agent),
            ("dave".into(), DrillKind::Agent),
        ]
    );
    drop(client);
    agent.stop();
    let log = std::fs::read_to_string(&audit).unwrap();
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["event"] == "quorum_health")
        .collect();
    assert_eq!(events.len(), 2, "{log}");
    assert_eq!(events[0]["warning"], true);
    assert_eq!(events[0]["margin"], -2);
    assert_eq!(events[0]["stale"].as_array().unwrap().len(), 7);
    assert_eq!(events[1]["warning"], false, "recovered after the unseal");
    assert_eq!(events[1]["margin"], 1);
    for words in &f.words {
        assert!(!log.contains(words.as_str()));
    }
}

/// Whether `status` has an officer line starting with `prefix` (name, group, member,
/// markers and the fingerprint label) and containing `note` after the fingerprint.
fn officer_line(status: &str, prefix: &str, note: &str) -> bool {
    status
        .lines()
        .any(|l| l.starts_with(prefix) && l[prefix.len()..].contains(note))
}
