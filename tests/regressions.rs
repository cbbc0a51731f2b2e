//! One test per bug found, named after it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::process::{Child, Command, Output};
use std::thread;
use std::time::Duration;

fn svault(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_svault"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `svault unseal --share-file` sent the whole file, comment lines included, so the
/// share files `svault init --shares-out` writes were refused ("word 34 '#' …").
#[test]
fn unseal_through_the_agent_reads_share_files_as_init_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let init = svault(
        d,
        &[
            "init",
            "app.svault",
            "--threshold",
            "2",
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--shares-out",
            "shares",
        ],
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let share = std::fs::read_to_string(d.join("shares/alice.share")).unwrap();
    assert!(
        share.lines().nth(1).is_some_and(|l| l.starts_with('#')),
        "share files carry comment lines"
    );
    let _agent = Killed(
        Command::new(env!("CARGO_BIN_EXE_svault"))
            .current_dir(d)
            .args(["agent", "app.svault", "--socket", "a.sock"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..400 {
        if d.join("a.sock").exists() {
            break;
        }
        thread::sleep(Duration::from_millis(25));
    }
    for (file, expect) in [
        ("shares/alice.share", "1 of 2, need 1 more"),
        ("shares/bob.share", "the vault is unsealed"),
    ] {
        let out = svault(d, &["unseal", "--socket", "a.sock", "--share-file", file]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(expect), "{file}: {stdout}");
    }
}
