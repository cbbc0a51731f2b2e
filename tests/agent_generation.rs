//! The agent against rollbacks (FORMAT.md §2.1): it remembers the highest vault
//! generation it has served, in a private file that survives restarts, and refuses to
//! unseal an older copy of the vault, naming both generations; the file is never
//! changed by the refusal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use svault::agent::{Agent, AgentError, Audit, Client, ClientError, Config, ErrorCode};
use svault::secret::SecretBytes;
use svault::vault::format::to_hex;
use svault::vault::{Draft, Plan, Vault};

struct Setup {
    dir: tempfile::TempDir,
    vault: PathBuf,
    socket: PathBuf,
    state: PathBuf,
    words: Vec<String>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("app.svault");
    let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"])).unwrap();
    let words = draft
        .issued()
        .iter()
        .map(|i| i.share.to_words().to_string())
        .collect();
    let mut unsealed = draft.write_new(&vault, None).unwrap();
    unsealed
        .set("db/password", SecretBytes::from_slice(b"hunter2"))
        .unwrap();
    unsealed.save().unwrap();
    let state = dir.path().join("state");
    fs::create_dir(&state).unwrap();
    Setup {
        socket: dir.path().join("agent.sock"),
        dir,
        vault,
        state,
        words,
    }
}

fn start(s: &Setup, state_dir: Option<&Path>) -> Result<Agent, AgentError> {
    let mut config = Config::new(&s.vault, &s.socket);
    config.harden = false;
    config.state_dir = state_dir.map(Path::to_path_buf);
    Agent::start(config, Audit::file(s.dir.path().join("audit.log")).unwrap())
}

fn generation_file(dir: &Path, vault: &Path) -> PathBuf {
    let id = Vault::open(vault).unwrap().header().vault_id.0;
    dir.join(format!("svault-{}.generation", to_hex(&id)))
}

fn unseal(s: &Setup, shares: &[usize]) -> Result<(), ClientError> {
    let mut client = Client::connect(&s.socket).unwrap();
    for &i in shares {
        client.submit_share(&s.words[i])?;
    }
    Ok(())
}

fn generation_of(path: &Path) -> u64 {
    Vault::open(path).unwrap().header().generation
}

#[test]
fn an_older_copy_is_refused_after_a_newer_one_was_served_even_after_a_restart() {
    let s = setup();
    let old = fs::read(&s.vault).unwrap();
    assert_eq!(generation_of(&s.vault), 2);
    let file = generation_file(&s.state, &s.vault);

    let agent = start(&s, Some(&s.state)).unwrap();
    unseal(&s, &[0, 1]).unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), "2\n");
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A save through the agent makes generation 3, remembered at once.
    let mut client = Client::connect(&s.socket).unwrap();
    client
        .set("api/token", &SecretBytes::from_slice(b"tok"))
        .unwrap();
    assert_eq!(generation_of(&s.vault), 3);
    assert_eq!(fs::read_to_string(&file).unwrap(), "3\n");
    let status = client.status().unwrap();
    assert_eq!((status.generation, status.generation_served), (3, Some(3)));
    let id = Vault::open(&s.vault).unwrap().header().vault_id.0;
    assert_eq!(status.vault_id, to_hex(&id));

    // The old copy (generation 2) is put back; seal makes the agent read the file again.
    fs::write(&s.vault, &old).unwrap();
    client.seal().unwrap();
    let err = unseal(&s, &[2]).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Refused), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("is generation 2, older than generation 3"),
        "{message}"
    );
    assert_eq!(fs::read(&s.vault).unwrap(), old, "the vault was changed");
    assert_eq!(fs::read_to_string(&file).unwrap(), "3\n");
    let status = client.status().unwrap();
    assert_eq!(status.progress, "0 of 2, need 2 more");
    // The agent has the old copy open and says so beside what it served.
    assert_eq!((status.generation, status.generation_served), (2, Some(3)));
    agent.stop();

    // A restarted agent remembers: the old copy is refused again.
    let agent = start(&s, Some(&s.state)).unwrap();
    let err = unseal(&s, &[0]).unwrap_err();
    assert!(
        err.to_string()
            .contains("generation 2, older than generation 3"),
        "{err}"
    );
    let log = fs::read_to_string(s.dir.path().join("audit.log")).unwrap();
    assert!(
        log.lines().any(|l| l.contains("\"rollback\"")),
        "no rollback line in the audit log"
    );
    agent.stop();
    assert_eq!(fs::read(&s.vault).unwrap(), old);
}

#[test]
fn without_a_state_directory_the_file_is_beside_the_socket_and_the_current_file_opens() {
    let s = setup();
    let agent = start(&s, None).unwrap();
    unseal(&s, &[1, 2]).unwrap();
    let file = generation_file(s.dir.path(), &s.vault);
    assert_eq!(fs::read_to_string(&file).unwrap(), "2\n");
    agent.stop();
    // The same generation again is no rollback.
    let agent = start(&s, None).unwrap();
    unseal(&s, &[0, 2]).unwrap();
    agent.stop();
}

#[test]
fn a_damaged_generation_file_stops_the_agent_naming_it_and_nothing_changes() {
    let s = setup();
    let file = generation_file(&s.state, &s.vault);
    let vault = fs::read(&s.vault).unwrap();
    for bad in [&b"three\n"[..], b"", b"99999999999999999999999\n"] {
        fs::write(&file, bad).unwrap();
        let err = match start(&s, Some(&s.state)) {
            Ok(_) => panic!("started with a generation file holding {bad:?}"),
            Err(err) => err,
        };
        assert!(matches!(err, AgentError::Generation(_)), "{err}");
        let message = err.to_string();
        assert!(message.contains(&file.display().to_string()), "{message}");
        assert!(message.contains("generation"), "{message}");
        assert_eq!(fs::read(&file).unwrap(), bad);
        assert_eq!(fs::read(&s.vault).unwrap(), vault);
        assert!(!s.socket.exists(), "the socket was left behind");
    }
}

#[test]
fn a_format_1_vault_upgraded_through_the_agent_cannot_be_rolled_back_to_format_1() {
    let s = setup();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/vault/v1");
    fs::copy(src.join("vault.svault"), &s.vault).unwrap();
    fs::set_permissions(&s.vault, fs::Permissions::from_mode(0o600)).unwrap();
    let old = fs::read(&s.vault).unwrap();
    let words: Vec<String> = fs::read_to_string(src.join("shares.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let file = generation_file(&s.state, &s.vault);
    let agent = start(&s, Some(&s.state)).unwrap();
    let mut client = Client::connect(&s.socket).unwrap();
    client.submit_share(&words[0]).unwrap();
    client.submit_share(&words[1]).unwrap();
    assert!(
        !file.exists(),
        "generation 0 (format 1) is nothing to remember"
    );
    client.set("new", &SecretBytes::from_slice(b"v")).unwrap();
    let sealed = Vault::open(&s.vault).unwrap();
    assert_eq!(sealed.format_version(), 2);
    assert_eq!(sealed.header().generation, 1);
    // The officers who unsealed gained their drill keys with the save.
    assert_eq!(sealed.header().officers_without_drill_key(), ["carol"]);
    assert_eq!(fs::read_to_string(&file).unwrap(), "1\n");

    fs::write(&s.vault, &old).unwrap();
    client.seal().unwrap();
    let err = client.submit_share(&words[2]).unwrap_err();
    assert!(
        err.to_string()
            .contains("is generation 0, older than generation 1"),
        "{err}"
    );
    assert_eq!(fs::read(&s.vault).unwrap(), old);
    agent.stop();
}

/// `svault agent` takes the state directory from `$STATE_DIRECTORY`, as systemd's
/// `StateDirectory=` sets it (the first of a colon-separated list).
#[test]
fn the_command_keeps_its_generation_file_in_state_directory() {
    let s = setup();
    let other = s.dir.path().join("other");
    let mut agent = std::process::Command::new(env!("CARGO_BIN_EXE_svault"))
        .arg("agent")
        .arg(&s.vault)
        .arg("--socket")
        .arg(&s.socket)
        .env(
            "STATE_DIRECTORY",
            format!("{}:{}", s.state.display(), other.display()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut client = loop {
        if let Ok(mut c) = Client::connect(&s.socket)
            && c.status().is_ok()
        {
            break c;
        }
        assert!(agent.try_wait().unwrap().is_none(), "the agent exited");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    client.submit_share(&s.words[0]).unwrap();
    client.submit_share(&s.words[2]).unwrap();
    let file = generation_file(&s.state, &s.vault);
    let content = fs::read_to_string(&file);
    agent.kill().unwrap();
    agent.wait().unwrap();
    assert_eq!(content.unwrap(), "2\n");
    assert!(!generation_file(s.dir.path(), &s.vault).exists());
    assert!(!other.exists());
}
