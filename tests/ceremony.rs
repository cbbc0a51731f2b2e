//! The ceremony end to end through the `svault` binary: scripted init, share files,
//! sheets with a QR code, keyslots, add-officer and rekey.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use svault::share::slip39;
use svault::vault::{SubmitError, Vault, backup_path};

fn svault(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn words(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const FIVE: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

fn init_five(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let vault = dir.join("app.svault");
    let out = dir.join("shares");
    let mut args = vec![
        "init",
        s(&vault),
        "--threshold",
        "3",
        "--shares-out",
        s(&out),
    ];
    for n in FIVE {
        args.extend(["--officer", n]);
    }
    let o = svault(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (vault, out)
}

#[test]
fn scripted_init_three_of_five_opens_with_any_three() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, out) = init_five(dir.path());
    let mut shares = Vec::new();
    for n in FIVE {
        let path = out.join(format!("{n}.share"));
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let text = fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let first = lines.next().unwrap();
        assert_eq!(first.split(' ').count(), 33, "256-bit by default");
        assert!(slip39::parse(first).is_ok());
        let rest: Vec<&str> = lines.collect();
        assert!(
            !rest.is_empty() && rest.iter().all(|l| l.starts_with('#')),
            "{rest:?}"
        );
        assert!(rest.iter().any(|l| l.contains(&format!("officer {n}"))));
        shares.push(first.to_owned());
    }
    let header = Vault::open(&vault).unwrap().header().clone();
    let record = header.ceremony.unwrap();
    assert_eq!(record.method, "scripted");
    assert_eq!(record.verified, FIVE);
    for a in 0..5 {
        for b in a + 1..5 {
            for c in b + 1..5 {
                let mut sealed = Vault::open(&vault).unwrap();
                for i in [a, b, c] {
                    sealed.submit_text(&shares[i]).unwrap();
                }
                sealed.unseal().unwrap();
            }
        }
    }
    // Never over an existing vault or share file.
    let o = svault(&[
        "init",
        s(&vault),
        "--threshold",
        "2",
        "--officer",
        "x",
        "--officer",
        "y",
        "--shares-out",
        s(&dir.path().join("o2")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
}

/// `svault init` of a 2-of-2 vault in `dir` (files `v`, shares in `o/`) for alice and
/// erin, erin with a keyslot whose passphrase ("horse battery") is in `erin.pass`.
/// Returns the vault, the shares directory and the `erin=FILE` passphrase option.
fn init_with_erin_keyslot(dir: &Path, extra: &[&str]) -> (PathBuf, PathBuf, String) {
    let (vault, out) = (dir.join("v"), dir.join("o"));
    let pass = dir.join("erin.pass");
    fs::write(&pass, "horse battery\n").unwrap();
    let pf = format!("erin={}", s(&pass));
    let mut args = vec!["init", s(&vault), "--threshold", "2"];
    args.extend([
        "--officer",
        "alice",
        "--officer",
        "erin",
        "--passphrase-file",
        &pf,
    ]);
    args.extend(["--shares-out", s(&out)]);
    args.extend(extra);
    let o = svault(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (vault, out, pf)
}

#[test]
fn secret_bits_128_gives_20_words_and_keyslot_from_file() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, out, _) = init_with_erin_keyslot(dir.path(), &["--secret-bits", "128"]);
    assert_eq!(words(&out.join("alice.share")).split(' ').count(), 20);
    let mut sealed = Vault::open(&vault).unwrap();
    sealed.submit_passphrase("erin", b"horse battery").unwrap();
    sealed
        .submit_text(&words(&out.join("alice.share")))
        .unwrap();
    sealed.unseal().unwrap();
    // A keyslot for someone who is not an officer: usage error, nothing written.
    let o = svault(&[
        "init",
        s(&dir.path().join("w")),
        "--threshold",
        "2",
        "--officer",
        "a",
        "--officer",
        "b",
        "--keyslot",
        "zed",
        "--passphrase-file",
        "zed=/nonexistent",
        "--shares-out",
        s(&dir.path().join("o3")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.path().join("w").exists());
}

#[test]
fn rekey_does_not_drop_a_keyslot_silently() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, out, pf) = init_with_erin_keyslot(dir.path(), &[]);
    let alice = out.join("alice.share");
    let rekey = |extra: &[&str], to: &str| {
        let mut args = vec!["rekey", s(&vault), "--share-file", s(&alice)];
        args.extend(["--passphrase-file", &pf, "--shares-out"]);
        let to = dir.path().join(to);
        args.push(s(&to));
        args.extend(extra);
        svault(&args)
    };

    // Scripted, with no new passphrase for erin: refused, naming her; nothing changed.
    let before = fs::read(&vault).unwrap();
    let o = rekey(&[], "r1");
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("erin had a passphrase keyslot"), "{stderr}");
    assert_eq!(fs::read(&vault).unwrap(), before);

    // With a new passphrase file her keyslot is carried into the new split.
    let new_pass = dir.path().join("erin.new");
    fs::write(&new_pass, "staple correct\n").unwrap();
    let npf = format!("erin={}", s(&new_pass));
    let o = rekey(&["--new-passphrase-file", &npf], "r2");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut sealed = Vault::open(&vault).unwrap();
    sealed.submit_passphrase("erin", b"staple correct").unwrap();
    sealed
        .submit_text(&words(&dir.path().join("r2").join("alice.share")))
        .unwrap();
    sealed.unseal().unwrap();

    // --drop-keyslots says to go without.
    let new_alice = dir.path().join("r2").join("alice.share");
    let mut args = vec!["rekey", s(&vault), "--share-file", s(&new_alice)];
    let npf2 = format!("erin={}", s(&new_pass));
    let r3 = dir.path().join("r3");
    args.extend([
        "--passphrase-file",
        &npf2,
        "--drop-keyslots",
        "--shares-out",
        s(&r3),
    ]);
    let o = svault(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sealed = Vault::open(&vault).unwrap();
    assert!(matches!(
        sealed.open_slot("erin", b"staple correct").unwrap_err(),
        SubmitError::NoSlot { .. }
    ));
}

/// Reads the module grid back from the sheet's SVG and decodes it with rqrr.
fn decode_sheet(html: &str) -> String {
    let start = html.find("<svg").unwrap();
    let svg = &html[start..start + html[start..].find("</svg>").unwrap()];
    let vb = svg.split("viewBox=\"0 0 ").nth(1).unwrap();
    let size: usize = vb.split(' ').next().unwrap().parse().unwrap();
    let scale = 4;
    let mut dark = vec![false; size * size];
    for rect in svg.split("<rect x=\"").skip(1) {
        let x: usize = rect.split('"').next().unwrap().parse().unwrap();
        let y: usize = rect
            .split("y=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        dark[y * size + x] = true;
    }
    let px = size * scale;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(px, px, |x, y| {
        if dark[(y / scale) * size + x / scale] {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

#[test]
fn sheets_hold_the_words_and_a_qr_code_of_the_share() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v");
    let sheets = dir.path().join("sheets");
    let out = dir.path().join("o");
    let o = svault(&[
        "init",
        s(&vault),
        "--threshold",
        "2",
        "--officer",
        "alice",
        "--officer",
        "bob",
        "--sheets",
        s(&sheets),
        "--shares-out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for n in ["alice", "bob"] {
        let path = sheets.join(format!("{n}.html"));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let html = fs::read_to_string(&path).unwrap();
        let share = words(&out.join(format!("{n}.share")));
        assert!(html.contains(&format!("svault share sheet of officer {n}")));
        assert!(html.contains(&format!(
            "<li><b>33</b> {}</li>",
            share.split(' ').next_back().unwrap()
        )));
        assert_eq!(decode_sheet(&html), share);
    }
}

#[test]
fn add_officer_then_rekey_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, out) = init_five(dir.path());
    let sf = |n: &str| s(&out.join(format!("{n}.share"))).to_owned();
    let (a, b, c) = (sf("alice"), sf("bob"), sf("carol"));
    let before: Vec<String> = FIVE
        .iter()
        .map(|n| words(&out.join(format!("{n}.share"))))
        .collect();
    let new_out = dir.path().join("frank");
    let o = svault(&[
        "add-officer",
        s(&vault),
        "frank",
        "--share-file",
        &a,
        "--share-file",
        &b,
        "--share-file",
        &c,
        "--shares-out",
        s(&new_out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("added officer frank"));
    let frank = words(&new_out.join("frank.share"));
    // frank plus two old officers unseal; the old shares are unchanged.
    let mut sealed = Vault::open(&vault).unwrap();
    sealed.submit_text(&frank).unwrap();
    sealed.submit_text(&before[3]).unwrap();
    sealed.submit_text(&before[4]).unwrap();
    sealed.unseal().unwrap();
    let record = sealed.header().ceremony.clone().unwrap();
    assert!(record.verified.contains(&"frank".to_owned()));

    let re_out = dir.path().join("rekeyed");
    let o = svault(&[
        "rekey",
        s(&vault),
        "--threshold",
        "2",
        "--officer",
        "alice",
        "--officer",
        "bob",
        "--officer",
        "frank",
        "--share-file",
        &a,
        "--share-file",
        &b,
        "--share-file",
        &c,
        "--shares-out",
        s(&re_out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("old shares still open"), "{stdout}");
    // Old shares are refused by name as an older split.
    let mut sealed = Vault::open(&vault).unwrap();
    let err = sealed.submit_text(&before[0]).unwrap_err();
    assert!(matches!(err, SubmitError::OlderSplit { .. }), "{err}");
    assert!(err.to_string().contains("older split"));
    sealed
        .submit_text(&words(&re_out.join("alice.share")))
        .unwrap();
    sealed
        .submit_text(&words(&re_out.join("frank.share")))
        .unwrap();
    sealed.unseal().unwrap();
    // The backup still opens with the old shares.
    let mut old = Vault::open(backup_path(&vault)).unwrap();
    for w in &before[..3] {
        old.submit_text(w).unwrap();
    }
    old.unseal().unwrap();
}

/// An interrupted interactive ceremony at a real terminal (a pseudo-terminal made by
/// `script`): end of input at the first share writes nothing, and the screen says so.
#[test]
fn interrupted_at_a_terminal_writes_nothing() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("script(1) not installed; skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v");
    let cmd = format!(
        "{} init {} --threshold 2 --officer alice --officer bob",
        env!("CARGO_BIN_EXE_svault"),
        s(&vault)
    );
    // stdin closed at once: the terminal sees end of input at the first prompt.
    let o = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let screen =
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(screen.contains("Officer alice (1 of 2)"), "{screen}");
    assert!(screen.contains("the ceremony was interrupted"), "{screen}");
    assert!(screen.contains("nothing was written"), "{screen}");
    assert!(!vault.exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The shares shown on screen, read back from a terminal transcript: "N word" pairs
/// between "Write them down in order:" and "Press Enter".
fn shown_words(screen: &str) -> String {
    let start = screen
        .rfind("Write them down in order:")
        .expect("share shown");
    let body = &screen[start..];
    let body = &body[..body.find("Press Enter").expect("enter prompt")];
    let tokens: Vec<&str> = body.split_whitespace().collect();
    let mut numbered: Vec<(usize, &str)> = tokens
        .windows(2)
        .filter_map(|w| Some((w[0].parse::<usize>().ok()?, w[1])))
        .filter(|(_, word)| word.chars().all(|c| c.is_ascii_lowercase()))
        .collect();
    numbered.sort();
    numbered
        .iter()
        .map(|(_, w)| *w)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A real interactive ceremony on a pseudo-terminal: each officer reads their share off
/// the screen, bob mistypes a word on re-entry, is told which word, and corrects it;
/// only then is the vault written, and it opens with the shares that were shown.
#[test]
fn interactive_ceremony_on_a_terminal_catches_and_corrects_a_mistyped_word() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.svault");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_svault"));
    cmd.args([
        "init",
        s(&vault),
        "--threshold",
        "2",
        "--officer",
        "alice",
        "--officer",
        "bob",
        "--secret-bits",
        "128",
    ]);
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    let pause = || std::thread::sleep(std::time::Duration::from_millis(300));
    let mut shares = Vec::new();
    for officer in ["alice", "bob"] {
        let screen = p.exp_string("Press Enter").unwrap();
        let words = shown_words(&format!("{screen}Press Enter"));
        assert_eq!(words.split(' ').count(), 20, "{officer}: {words}");
        pause();
        p.send_line("").unwrap();
        p.exp_string(&format!("{officer}, type your share from your copy"))
            .unwrap();
        if officer == "bob" {
            let mut typo: Vec<&str> = words.split(' ').collect();
            typo[4] = if typo[4] == "acid" { "acne" } else { "acid" };
            pause();
            p.send_line(&typo.join(" ")).unwrap();
            p.exp_string("bob: word 5 does not match the issued share")
                .unwrap();
            p.exp_string("bob, type your share from your copy").unwrap();
        }
        pause();
        p.send_line(&words).unwrap();
        p.exp_string(&format!("{officer}: your share matches."))
            .unwrap();
        shares.push(words);
    }
    let rest = p.exp_eof().unwrap();
    assert!(
        rest.contains("every share verified (interactive): alice, bob"),
        "{rest}"
    );
    let mut sealed = Vault::open(&vault).unwrap();
    for w in &shares {
        sealed.submit_text(w).unwrap();
    }
    assert!(sealed.unseal().is_ok());
    assert_eq!(
        sealed.header().ceremony.as_ref().unwrap().method,
        "interactive"
    );
}

/// Runs `svault` with `stdin` as its input.
fn svault_with_input(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Whether `shares` unseal the vault file at `path` (false when it is not a vault).
fn opens_with(path: &Path, shares: &[String]) -> bool {
    let Ok(mut sealed) = Vault::open(path) else {
        return false;
    };
    for w in shares {
        if sealed.submit_text(w).is_err() {
            return false;
        }
    }
    sealed.unseal().is_ok()
}

/// A 3-of-5 vault holding one credential, saved once after `init` (so a `.bak`
/// exists, which the shares open); returns the vault, the share files and the shares.
fn vault_with_a_backup(dir: &Path) -> (PathBuf, Vec<String>, Vec<String>) {
    let (vault, out) = init_five(dir);
    let files: Vec<String> = FIVE
        .iter()
        .map(|n| s(&out.join(format!("{n}.share"))).to_owned())
        .collect();
    let shares: Vec<String> = FIVE
        .iter()
        .map(|n| words(&out.join(format!("{n}.share"))))
        .collect();
    let o = svault_with_input(
        &[
            "set",
            s(&vault),
            "db/password",
            "--share-file",
            &files[0],
            "--share-file",
            &files[1],
            "--share-file",
            &files[2],
        ],
        b"hunter2",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(opens_with(&backup_path(&vault), &shares[..3]));
    (vault, files, shares)
}

/// The rekey of issue "security hardening II" item 11: without `--no-backup` the
/// previous file stays as VAULT.bak, which the revoked shares still open, and the
/// screen (stderr) says so.
#[test]
fn rekey_keeps_a_backup_that_opens_with_the_old_shares_and_warns_on_screen() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, files, old) = vault_with_a_backup(dir.path());
    let new_out = dir.path().join("new");
    let o = svault(&[
        "rekey",
        s(&vault),
        "--share-file",
        &files[0],
        "--share-file",
        &files[1],
        "--share-file",
        &files[2],
        "--shares-out",
        s(&new_out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let backup = backup_path(&fs::canonicalize(&vault).unwrap());
    assert!(
        stderr.contains(&format!(
            "svault: warning: {} still opens with the OLD shares: destroy it once the new shares are verified",
            backup.display()
        )),
        "{stderr}"
    );
    let new: Vec<String> = FIVE
        .iter()
        .map(|n| words(&new_out.join(format!("{n}.share"))))
        .collect();
    assert!(opens_with(&vault, &new[2..]));
    assert!(!opens_with(&vault, &old[..3]), "the old split is revoked");
    assert!(
        opens_with(&backup, &old[..3]),
        "the backup opens with the old shares, as the warning says"
    );
}

/// `svault rekey --no-backup`: no file is left that the old shares open (neither the
/// pre-rekey file nor an older backup), and the vault opens with the new shares, its
/// credential intact.
#[test]
fn rekey_with_no_backup_leaves_nothing_the_old_shares_open() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, files, old) = vault_with_a_backup(dir.path());
    let new_out = dir.path().join("new");
    let o = svault(&[
        "rekey",
        s(&vault),
        "--no-backup",
        "--share-file",
        &files[0],
        "--share-file",
        &files[1],
        "--share-file",
        &files[2],
        "--shares-out",
        s(&new_out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("no backup was kept"), "{stdout}");
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"));
    assert!(!backup_path(&vault).exists());
    for entry in fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert!(
                !opens_with(&path, &old[..3]),
                "{} opens with the old shares",
                path.display()
            );
        }
    }
    let new: Vec<String> = FIVE
        .iter()
        .map(|n| words(&new_out.join(format!("{n}.share"))))
        .collect();
    let mut sealed = Vault::open(&vault).unwrap();
    for w in &new[..3] {
        sealed.submit_text(w).unwrap();
    }
    let unsealed = sealed.unseal().unwrap();
    assert_eq!(unsealed.get("db/password").unwrap().expose(), b"hunter2");
}
