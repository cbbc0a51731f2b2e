//! `svault shamir` end to end: arguments and stdin in; stdout, stderr and exit status
//! out, pinned exactly where the text matters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use svault::share::slip39::{self, GenerateOptions, GroupSpec, MasterSecret, Passphrase};

const SECRET: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn svault(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A usage error ends the program before it reads stdin.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    }
    let out = child.wait_with_output().unwrap();
    Run {
        status: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs and expects success with nothing on stderr; returns stdout.
fn ok(args: &[&str], stdin: &str) -> String {
    let run = svault(args, stdin);
    assert_eq!(run.status, 0, "{args:?}: stderr: {}", run.stderr);
    assert_eq!(run.stderr, "", "{args:?}");
    run.stdout
}

/// Runs and expects `status`, nothing on stdout, and every stderr line prefixed.
fn fails(args: &[&str], stdin: &str, status: i32) -> String {
    let run = svault(args, stdin);
    assert_eq!(run.status, status, "{args:?}: stderr: {}", run.stderr);
    assert_eq!(run.stdout, "", "{args:?}: nothing on stdout on failure");
    assert!(!run.stderr.is_empty());
    for line in run.stderr.lines() {
        assert!(line.starts_with("svault: "), "unprefixed line: {line:?}");
    }
    run.stderr
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.is_empty()).collect()
}

fn pick(shares: &[&str], which: &[usize]) -> String {
    which.iter().map(|&i| format!("{}\n", shares[i])).collect()
}

#[test]
fn slip39_round_trip() {
    let out = ok(
        &["shamir", "split", "-t", "3", "-n", "5"],
        &format!("  {SECRET}\n\n"),
    );
    let shares = lines(&out);
    assert_eq!(shares.len(), 5);
    assert!(shares.iter().all(|s| s.split(' ').count() == 33), "{out}");
    for which in [[0, 1, 2], [4, 2, 0], [1, 3, 4]] {
        let input = pick(&shares, &which);
        assert_eq!(ok(&["shamir", "combine"], &input), format!("{SECRET}\n"));
        assert_eq!(
            ok(&["shamir", "combine", "--format", "slip39"], &input),
            format!("{SECRET}\n")
        );
    }
    assert_eq!(
        ok(&["shamir", "check"], &out),
        "group 1: consistent: all 5 shares give the same group secret (any 3 of them; digest checked)\n"
    );
    assert_eq!(
        ok(&["shamir", "check", "--threshold", "3"], &out),
        ok(&["shamir", "check"], &out)
    );
}

#[test]
fn hex_and_base64_round_trips_and_detection() {
    for format in ["hex", "base64"] {
        let out = ok(
            &[
                "shamir",
                "split",
                "--threshold",
                "2",
                "--shares",
                "4",
                "--format",
                format,
            ],
            SECRET,
        );
        let keys = lines(&out);
        assert_eq!(keys.len(), 4);
        if format == "hex" {
            // 32 value bytes and the x byte; x = 1..=4 here.
            for (i, key) in keys.iter().enumerate() {
                assert_eq!(key.len(), 66);
                assert!(key.ends_with(&format!("{:02x}", i + 1)), "{key}");
            }
        } else {
            assert!(keys.iter().all(|k| k.len() == 44), "{out}");
        }
        let input = pick(&keys, &[3, 1]);
        assert_eq!(ok(&["shamir", "combine"], &input), format!("{SECRET}\n"));
        assert_eq!(
            ok(&["shamir", "combine", "-f", format, "-t", "2"], &input),
            format!("{SECRET}\n")
        );
        assert_eq!(
            ok(&["shamir", "check", "-t", "2"], &out),
            "consistent: all 4 keys lie on one polynomial, so any 2 of them give the same secret\n"
        );
    }
}

#[test]
fn hex_and_base64_keys_of_one_split_mix() {
    // Secret 0x42, threshold 2, a₁ = 3: f(1) = 0x41, f(2) = 0x44 (see the unit tests).
    assert_eq!(ok(&["shamir", "combine"], "4101\nRAI=\n"), "42\n");
    assert_eq!(ok(&["shamir", "combine"], "\n\nRAI=\n\n4101\n"), "42\n");
}

/// Vault picks random distinct x. This set is built by hand: threshold 2, the
/// coefficient 1 for every byte, so the key at x holds (secret byte ^ x) per byte.
#[test]
fn vault_style_keys_with_random_x_combine_and_check() {
    let secret: Vec<u8> = (0u8..32).collect();
    let key = |x: u8| -> String {
        let mut text: String = secret.iter().map(|b| format!("{:02x}", b ^ x)).collect();
        text.push_str(&format!("{x:02x}"));
        text
    };
    let keys: Vec<String> = [0x9c, 0x2f, 0xe0, 0x77].into_iter().map(key).collect();
    let all = keys.join("\n");
    for pair in [[0, 1], [3, 2], [1, 3]] {
        let input = format!("{}\n{}\n", keys[pair[0]], keys[pair[1]]);
        assert_eq!(ok(&["shamir", "combine"], &input), format!("{SECRET}\n"));
    }
    assert_eq!(
        ok(&["shamir", "combine", "-t", "2"], &all),
        format!("{SECRET}\n")
    );
    assert!(ok(&["shamir", "check", "-t", "2"], &all).starts_with("consistent: all 4 keys"));
}

#[test]
fn groups() {
    let out = ok(
        &[
            "shamir",
            "split",
            "--group",
            "2/3",
            "--group",
            "3/5",
            "--group-threshold",
            "2",
        ],
        SECRET,
    );
    let blocks: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(
        blocks.len(),
        2,
        "groups are separated by one blank line: {out}"
    );
    let first = lines(blocks[0]);
    let second = lines(blocks[1]);
    assert_eq!((first.len(), second.len()), (3, 5));
    let input = format!("{}\n{}", pick(&first, &[2, 0]), pick(&second, &[4, 1, 3]));
    assert_eq!(ok(&["shamir", "combine"], &input), format!("{SECRET}\n"));
    assert_eq!(
        ok(&["shamir", "check"], &out),
        "group 1: consistent: all 3 shares give the same group secret (any 2 of them; digest checked)\n\
         group 2: consistent: all 5 shares give the same group secret (any 3 of them; digest checked)\n"
    );
    // One group alone is not enough.
    let err = fails(&["shamir", "combine"], &pick(&first, &[0, 1]), 1);
    assert_eq!(
        err,
        "svault: the shares do not combine: shares from 1 group(s) were given but 2 groups are \
         needed: add shares from 1 more group(s)\n"
    );
    // --group-threshold needs --group.
    fails(
        &[
            "shamir",
            "split",
            "--group-threshold",
            "2",
            "-t",
            "2",
            "-n",
            "3",
        ],
        SECRET,
        2,
    );
}

#[test]
fn passphrase_file_with_and_without_newline() {
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with");
    let without = dir.path().join("without");
    let two = dir.path().join("two");
    std::fs::write(&with, "TREZOR\n").unwrap();
    std::fs::write(&without, "TREZOR").unwrap();
    std::fs::write(&two, "TREZOR\n\n").unwrap();
    let with = with.to_str().unwrap();
    let without = without.to_str().unwrap();

    let out = ok(
        &[
            "shamir",
            "split",
            "-t",
            "2",
            "-n",
            "3",
            "--passphrase-file",
            with,
        ],
        SECRET,
    );
    let shares = lines(&out);
    let input = pick(&shares, &[0, 2]);
    for file in [with, without] {
        assert_eq!(
            ok(&["shamir", "combine", "--passphrase-file", file], &input),
            format!("{SECRET}\n")
        );
    }
    // Without the passphrase SLIP-0039 gives *a* secret, but not this one.
    let other = ok(&["shamir", "combine"], &input);
    assert_ne!(other, format!("{SECRET}\n"));
    // Only one newline is stripped; a second is refused, by position and kind.
    let err = fails(
        &[
            "shamir",
            "combine",
            "--passphrase-file",
            two.to_str().unwrap(),
        ],
        &input,
        1,
    );
    assert!(
        err.contains("character 7 of the passphrase is a line break"),
        "{err}"
    );
    assert!(!err.contains("TREZOR"), "no secret in errors: {err}");
    let missing = dir.path().join("missing");
    let err = fails(
        &[
            "shamir",
            "combine",
            "--passphrase-file",
            missing.to_str().unwrap(),
        ],
        &input,
        1,
    );
    assert!(
        err.starts_with("svault: cannot read the passphrase file"),
        "{err}"
    );
    // Hex keys take no passphrase.
    fails(
        &[
            "shamir",
            "split",
            "-t",
            "2",
            "-n",
            "3",
            "-f",
            "hex",
            "--passphrase-file",
            with,
        ],
        SECRET,
        2,
    );
}

#[test]
fn mistyped_word_is_located() {
    let out = ok(&["shamir", "split", "-t", "2", "-n", "3"], SECRET);
    let shares = lines(&out);
    let mut words: Vec<&str> = shares[1].split(' ').collect();
    words[6] = "zzzz";
    let typo = words.join(" ");
    let input = format!("{}\n\n{typo}\n", shares[0]);
    let err = fails(&["shamir", "combine"], &input, 1);
    assert!(
        err.starts_with(
            "svault: line 3 is not a valid SLIP-0039 share: word 7 is not in the SLIP-0039 word list"
        ),
        "{err}"
    );
    // Not typed at a terminal: positions only, never the word.
    assert!(!err.contains("zzzz"), "{err}");
    assert_eq!(err.lines().count(), 1);
    let err = fails(&["shamir", "check"], &input, 1);
    assert!(
        err.starts_with("svault: line 3 is not a valid SLIP-0039 share"),
        "{err}"
    );
}

#[test]
fn check_names_a_bad_hex_key() {
    let out = ok(
        &["shamir", "split", "-t", "2", "-n", "4", "-f", "hex"],
        SECRET,
    );
    let mut keys: Vec<String> = lines(&out).into_iter().map(String::from).collect();
    // Damage one value digit of the third key.
    let damaged = if keys[2].starts_with('0') { "1" } else { "0" };
    keys[2].replace_range(0..1, damaged);
    let input = keys.join("\n");
    let err = fails(&["shamir", "check", "-t", "2"], &input, 3);
    assert_eq!(
        err,
        "svault: inconsistent key set: the key on line 3 (x = 3) does not agree with the other 3 \
         keys; a threshold of keys including it gives a different secret. Compare it with the \
         written copy, or leave it out\n"
    );
    // combine --threshold checks before combining.
    assert!(fails(&["shamir", "combine", "-t", "2"], &input, 3).contains("line 3 (x = 3)"));
    // Three keys at threshold 2 with one bad: every pair fits a line.
    let three = keys[..3].join("\n");
    let err = fails(&["shamir", "check", "-t", "2"], &three, 3);
    assert!(err.contains("cannot be named"), "{err}");
}

#[test]
fn check_names_a_bad_slip39_share() {
    // Two splits of different secrets that share an identifier (the same generator
    // seed draws it first), so the foreign share passes every field check and only its
    // value is wrong.
    let split = |secret: u8| {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let secret = MasterSecret::new(vec![secret; 16]).unwrap();
        let groups = slip39::generate_with_rng(
            &secret,
            &Passphrase::empty(),
            1,
            &[GroupSpec::new(3, 5)],
            GenerateOptions::default(),
            &mut rng,
        )
        .unwrap();
        groups
            .into_iter()
            .next()
            .unwrap()
            .iter()
            .map(|s| s.to_words().to_string())
            .collect::<Vec<_>>()
    };
    let good = split(1);
    let other = split(2);
    let mut set = good.clone();
    set[3] = other[3].clone();
    let input = set.join("\n");
    let err = fails(&["shamir", "check"], &input, 3);
    assert_eq!(
        err,
        "svault: inconsistent share set: group 1: the share on line 4 (member 4) does not agree \
         with the other 4 shares, which pass the digest check: compare it with the written copy\n"
    );
    assert!(ok(&["shamir", "check"], &good.join("\n")).contains("consistent: all 5 shares"));
    // Combining it in fails the digest.
    let err = fails(&["shamir", "combine"], &pick_owned(&set, &[0, 3, 4]), 1);
    assert!(err.contains("integrity check (digest)"), "{err}");
}

fn pick_owned(shares: &[String], which: &[usize]) -> String {
    which.iter().map(|&i| format!("{}\n", shares[i])).collect()
}

#[test]
fn duplicate_shares() {
    let out = ok(
        &["shamir", "split", "-t", "2", "-n", "3", "-f", "hex"],
        SECRET,
    );
    let keys = lines(&out);
    let input = pick(&keys, &[0, 0]);
    assert_eq!(
        fails(&["shamir", "combine"], &input, 1),
        "svault: line 2 repeats the key on line 1: each key counts once; leave one out\n"
    );
    assert_eq!(
        fails(&["shamir", "check", "-t", "2"], &pick(&keys, &[0, 1, 0]), 1),
        "svault: line 3 repeats the key on line 1: each key counts once; leave one out\n"
    );

    let out = ok(&["shamir", "split", "-t", "2", "-n", "3"], SECRET);
    let shares = lines(&out);
    let err = fails(&["shamir", "combine"], &pick(&shares, &[1, 1]), 1);
    assert!(
        err.starts_with(
            "svault: the shares do not combine: share 2 and share 1 are both member 2 of group 1"
        ),
        "{err}"
    );
    assert_eq!(
        fails(&["shamir", "check"], &pick(&shares, &[0, 1, 1]), 1),
        "svault: line 3 repeats the share on line 2: each share counts once; leave one out\n"
    );
}

#[test]
fn too_few_shares() {
    let out = ok(&["shamir", "split", "-t", "3", "-n", "5"], SECRET);
    let shares = lines(&out);
    assert_eq!(
        fails(&["shamir", "combine"], &pick(&shares, &[0, 4]), 1),
        "svault: the shares do not combine: need 1 more share(s) from group 1: 2 of the 3 it needs were given\n"
    );
    let out = ok(
        &["shamir", "split", "-t", "3", "-n", "5", "-f", "base64"],
        SECRET,
    );
    let keys = lines(&out);
    assert_eq!(
        fails(&["shamir", "combine", "-t", "3"], &pick(&keys, &[0, 4]), 1),
        "svault: need 1 more key(s): 2 of the 3 needed were given\n"
    );
    assert!(
        fails(&["shamir", "combine"], &pick(&keys, &[2]), 1).contains("only one key was given")
    );
    assert!(fails(&["shamir", "combine"], "\n \n", 1).contains("no shares on stdin"));
}

#[test]
fn bad_input_and_usage() {
    // Secret errors name a position, never a character of the secret.
    let err = fails(
        &["shamir", "split", "-t", "2", "-n", "3", "-f", "hex"],
        "00q1\n",
        1,
    );
    assert!(
        err.contains("character 3 is not a hex digit") && !err.contains('q'),
        "{err}"
    );
    let err = fails(&["shamir", "split", "-t", "2", "-n", "3"], "00112233", 1);
    assert!(err.contains("SLIP-0039 needs at least 16 bytes and an even number of bytes"));
    let err = fails(
        &["shamir", "split", "-t", "1", "-n", "3", "-f", "hex"],
        SECRET,
        1,
    );
    assert!(err.contains("threshold of at least 2"), "{err}");
    // Untrusted input is escaped before it reaches the terminal.
    let err = fails(&["shamir", "combine", "-f", "base64"], "QQ\u{1b}[2J\n", 1);
    assert!(
        err.contains(r"'\u{1b}'") && !err.contains('\u{1b}'),
        "{err:?}"
    );
    let err = fails(&["shamir", "combine"], "4101\nacademic acid acne\n", 1);
    assert!(err.contains("line 2 holds words"), "{err}");
    // Usage errors: clap's and ours, status 2, prefixed.
    fails(&["shamir", "split", "-n", "3"], SECRET, 2);
    fails(&["shamir", "frobnicate"], "", 2);
    fails(&["shamir", "split", "-t", "0", "-n", "3"], SECRET, 2);
    fails(
        &[
            "shamir", "split", "-t", "2", "-n", "3", "-f", "hex", "--group", "2/3",
        ],
        SECRET,
        2,
    );
    fails(&["shamir", "check", "-f", "hex"], "4101\n", 2);
    fails(&["shamir", "check"], "4101\n4402\n", 2);
    fails(&["shamir", "combine", "-f", "slip39", "-t", "2"], "", 2);
}

#[test]
fn help_documents_exit_statuses() {
    for args in [
        &["--help"][..],
        &["shamir", "--help"],
        &["shamir", "check", "--help"],
    ] {
        let out = ok(args, "");
        assert!(out.contains("Exit status:"), "{args:?}");
        assert!(out.contains("3  inconsistent share set"), "{args:?}");
    }
    assert!(ok(&["-h"], "").contains("3 inconsistent share set"));
}

#[test]
fn broken_pipe_exits_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(["shamir", "split", "-t", "2", "-n", "200", "-f", "hex"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of stdout before the program writes anything.
    drop(child.stdout.take());
    child
        .stdin
        .take()
        .unwrap()
        .write_all(SECRET.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "");
}
