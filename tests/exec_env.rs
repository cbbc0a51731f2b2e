//! `svault exec` turns credential names into environment variables the same way from
//! the vault file and from the agent: two names giving one variable, or a name giving
//! a variable that changes how programs load or run (`ld/preload`, `path`, `bash_env`,
//! `node_options`, ...), refuse the whole command, the program is not run; an explicit
//! `--env` allows it. The program runs with core dumps disabled.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use svault::agent::{Agent, Audit, Client, Config};
use svault::secret::SecretBytes;
use svault::vault::{Draft, Plan};

struct Fixture {
    dir: tempfile::TempDir,
    vault: PathBuf,
    shares: Vec<String>,
}

/// A 2-of-2 vault holding `names` (each value `v-NAME`), with share files.
fn fixture(names: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("app.svault");
    let draft = Draft::new(&Plan::simple(2, &["alice", "bob"])).unwrap();
    let words: Vec<String> = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut unsealed = draft.write_new(&vault, None).unwrap();
    for n in names {
        unsealed
            .set(n, SecretBytes::from_slice(format!("v-{n}").as_bytes()))
            .unwrap();
    }
    unsealed.save().unwrap();
    let mut shares = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let p = dir.path().join(format!("{i}.share"));
        std::fs::write(&p, w).unwrap();
        shares.push(p.to_str().unwrap().to_owned());
    }
    Fixture { dir, vault, shares }
}

impl Fixture {
    fn marker(&self) -> PathBuf {
        self.dir.path().join("ran")
    }

    /// `svault exec` from the file, or through `agent` when given; the program
    /// creates the marker file and prints `script`'s output.
    fn exec(&self, agent: Option<&Path>, env: &[&str], script: &str) -> (i32, String, String) {
        // Started with core dumps allowed, so that the program's limit of 0 is svault's.
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "ulimit -c unlimited && exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_svault"))
            .arg("exec")
            .env_remove("SVAULT_SOCKET");
        match agent {
            Some(socket) => {
                cmd.arg("--socket").arg(socket);
            }
            None => {
                cmd.arg(&self.vault);
                for s in &self.shares {
                    cmd.args(["--share-file", s]);
                }
            }
        }
        for e in env {
            cmd.args(["--env", e]);
        }
        let script = format!(": > '{}'; {script}", self.marker().display());
        let out = cmd.args(["--", "/bin/sh", "-c", &script]).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

/// An unsealed agent serving `f`'s vault.
fn agent(f: &Fixture) -> (Agent, PathBuf) {
    let socket = f.dir.path().join("agent.sock");
    let mut config = Config::new(&f.vault, &socket);
    config.harden = false;
    let agent = Agent::start(config, Audit::file(f.dir.path().join("audit")).unwrap()).unwrap();
    let mut client = Client::connect(&socket).unwrap();
    let words: Vec<String> = f
        .shares
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    for w in &words {
        client.submit_share(w).unwrap();
    }
    assert!(!client.status().unwrap().sealed);
    (agent, socket)
}

/// Both paths: the file, then the agent.
fn both(names: &[&str], check: impl Fn(&Fixture, Option<&Path>)) {
    let f = fixture(names);
    check(&f, None);
    let (_agent, socket) = agent(&f);
    check(&f, Some(&socket));
}

#[test]
fn colliding_names_refuse_the_whole_exec_on_both_paths() {
    both(&["db/password", "db_password"], |f, agent| {
        let (code, out, err) = f.exec(agent, &[], "printf %s \"$DB_PASSWORD\"");
        assert_eq!((code, out.as_str()), (1, ""), "{agent:?}: {err}");
        assert!(
            err.contains("credentials 'db/password' and 'db_password' would both be $DB_PASSWORD"),
            "{agent:?}: {err}"
        );
        assert!(err.contains("nothing was run"), "{err}");
        assert!(!f.marker().exists(), "{agent:?}: the program ran");
        // Named explicitly, each gets its own variable.
        let (code, out, err) = f.exec(
            agent,
            &["A=db/password", "B=db_password"],
            "printf '%s %s' \"$A\" \"$B\"",
        );
        assert_eq!(
            (code, out.as_str()),
            (0, "v-db/password v-db_password"),
            "{err}"
        );
        std::fs::remove_file(f.marker()).unwrap();
    });
}

#[test]
fn names_that_change_how_programs_run_refuse_the_whole_exec_on_both_paths() {
    for (name, var) in [
        ("ld/preload", "LD_PRELOAD"),
        ("path", "PATH"),
        ("bash_env", "BASH_ENV"),
        ("node_options", "NODE_OPTIONS"),
        ("env", "ENV"),
        ("pythonpath", "PYTHONPATH"),
        ("home", "HOME"),
        ("svault/agent_uid", "SVAULT_AGENT_UID"),
    ] {
        both(&["api/token", name], |f, agent| {
            let (code, out, err) = f.exec(agent, &[], "printf %s \"$API_TOKEN\"");
            assert_eq!((code, out.as_str()), (1, ""), "{name} {agent:?}: {err}");
            assert!(
                err.contains(&format!("credential '{name}' would set ${var}"))
                    && err.contains(&format!("--env {var}={name}")),
                "{name} {agent:?}: {err}"
            );
            assert!(!f.marker().exists(), "{name} {agent:?}: the program ran");
            // The explicit choice is allowed (the value is checked, not used: a bogus
            // LD_PRELOAD only makes the loader complain).
            let (code, out, err) = f.exec(
                agent,
                &[&format!("{var}={name}"), "T=api/token"],
                &format!("printf '%s %s' \"${var}\" \"$T\""),
            );
            assert_eq!(code, 0, "{name} {agent:?}: {err}");
            assert_eq!(out, format!("v-{name} v-api/token"), "{name} {agent:?}");
            std::fs::remove_file(f.marker()).unwrap();
        });
    }
}

#[test]
fn exec_runs_its_program_with_core_dumps_disabled() {
    // Without svault in between, the same start allows core dumps.
    let out = Command::new("/bin/sh")
        .args([
            "-c",
            "ulimit -c unlimited && exec \"$0\" \"$@\"",
            "/bin/sh",
            "-c",
        ])
        .arg("ulimit -c")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "unlimited\n");
    both(&["api/token"], |f, agent| {
        let (code, out, err) = f.exec(agent, &[], "ulimit -c; printf %s \"$API_TOKEN\"");
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, "0\nv-api/token", "{agent:?}");
    });
}
