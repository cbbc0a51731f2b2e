//! `svault bao …`: verified unseal keys for OpenBao (and Vault) clusters. The library
//! (`svault::bao`) does the work; this module parses arguments, reads key files and
//! prompts, and writes what the ceremony produced (docs/BAO.md).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::io::IsTerminal as _;

use clap::{Args, Subcommand};
use svault::bao::files::{self, Staged};
use svault::bao::init::{self, InitError};
use svault::bao::key::{self, Accepted};
use svault::bao::record::{self, Record};
use svault::bao::rotate::{self, RotateError};
use svault::bao::unseal::{self, Outcome};
use svault::bao::{Node, Tls};
use svault::prompt::Console;
use svault::secret::SecretBytes;
use svault::shamir::Share;
use svault::share::unseal_key;
use zeroize::Zeroizing;

use super::Failure;

/// Operate an OpenBao cluster with svault-verified unseal keys.
#[derive(Debug, Args)]
pub struct BaoArgs {
    #[command(subcommand)]
    command: BaoCommand,
}

#[derive(Debug, Subcommand)]
enum BaoCommand {
    /// Initialise OpenBao with one key per officer, verified by svault; write RECORD.
    Init(InitArgs),
    /// The drill, offline: is this key file an officer's key of RECORD?
    Verify(VerifyArgs),
    /// Check keys against RECORD, then submit them to every node given.
    Unseal(UnsealArgs),
    /// RECORD's officers and threshold, and each node's seal status.
    Status(StatusArgs),
    /// A new officer's key on the same polynomial, from a threshold of keys; the other
    /// keys are unchanged.
    AddOfficer(AddOfficerArgs),
    /// Rotate OpenBao's unseal key into a new verified split; the old split is kept in
    /// RECORD as retired, so an old key is named.
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  svault bao rotate cluster.record --addr http://127.0.0.1:8200 --token-file root.token \\
      --key-file alice.key --key-file bob.key --shares-out new-keys/
  svault bao rotate cluster.record --addr http://127.0.0.1:8200 --token-file root.token \\
      --key-file alice.key --key-file bob.key     # new keys typed back at the terminal

OpenBao's new keys are combined in memory and never printed or stored. The new keys
take effect only when OpenBao has accepted a threshold of the officers' read-back
keys (sys/rotate/root/verify); any failure before that cancels the rotation and the
old keys keep unsealing the cluster.")]
struct RotateArgs {
    /// The RECORD file (replaced; the old split is kept as retired). With --adopt, the
    /// RECORD to create.
    record: PathBuf,
    #[command(flatten)]
    nodes: NodeArgs,
    /// File holding a token allowed to use sys/rotate/root (line 1).
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// A threshold of officers' current key files (repeatable), each checked against
    /// RECORD before it is sent.
    #[arg(long = "key-file", value_name = "FILE", required = true)]
    key_files: Vec<PathBuf>,
    /// Keys needed after the rotation (default: RECORD's threshold).
    #[arg(long, value_name = "T")]
    threshold: Option<u8>,
    /// An officer of the new split (repeatable; default: RECORD's officers).
    #[arg(long = "officer", value_name = "NAME")]
    officers: Vec<String>,
    /// Directory for the new key files, DIR/NAME.key (new files, mode 0600); without
    /// it, each officer is shown their new key at the terminal and types it back (echo
    /// off).
    #[arg(long, value_name = "DIR")]
    shares_out: Option<PathBuf>,
    /// For a cluster whose keys svault never saw (OpenBao's own): RECORD is created,
    /// the --key-file keys are OpenBao's current keys (checked by OpenBao alone), and
    /// --threshold and --officer are required.
    #[arg(long)]
    adopt: bool,
    /// Also replace the unseal key held in this svault vault (for `svault agent
    /// --bao-addr`) with the new one; its quorum is gathered first.
    #[arg(long, value_name = "VAULT")]
    vault: Option<PathBuf>,
    /// The credential that holds the unseal key in --vault.
    #[arg(long, value_name = "NAME", default_value = svault::agent::bao::DEFAULT_KEY_NAME)]
    name: String,
    #[command(flatten)]
    quorum: super::quorum::QuorumArgs,
}

#[derive(Debug, Args)]
struct AddOfficerArgs {
    /// The RECORD file (replaced with the new officer added).
    record: PathBuf,
    /// The new officer's name.
    name: String,
    /// A threshold of officers' key files (repeatable), each checked against RECORD.
    #[arg(long = "key-file", value_name = "FILE", required = true)]
    key_files: Vec<PathBuf>,
    /// Directory for the new key file, DIR/NAME.key (a new file, mode 0600).
    #[arg(long, value_name = "DIR")]
    shares_out: PathBuf,
}

/// Which nodes, and how to reach them.
#[derive(Debug, Args)]
struct NodeArgs {
    /// A node's address (repeatable); default $BAO_ADDR, then $VAULT_ADDR.
    #[arg(long = "addr", value_name = "URL")]
    addrs: Vec<String>,
    /// PEM file of the CA that signed the nodes' certificates; default $BAO_CACERT, then
    /// $VAULT_CACERT.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
}

impl NodeArgs {
    fn nodes(&self) -> Result<Vec<Node>, Failure> {
        let addrs: Vec<String> = if self.addrs.is_empty() {
            env_first(&["BAO_ADDR", "VAULT_ADDR"]).into_iter().collect()
        } else {
            self.addrs.clone()
        };
        if addrs.is_empty() {
            return Err(Failure::usage(
                "no node given: pass --addr URL (or set BAO_ADDR)",
            ));
        }
        let ca = self
            .ca_cert
            .clone()
            .or_else(|| env_first(&["BAO_CACERT", "VAULT_CACERT"]).map(PathBuf::from));
        let tls = match ca {
            Some(path) => Tls::ca_file(&path).map_err(|e| Failure::io(e.to_string()))?,
            None => Tls::system(),
        };
        addrs
            .iter()
            .map(|a| Node::new(a, &tls).map_err(|e| Failure::usage(e.to_string())))
            .collect()
    }
}

fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
}

#[derive(Debug, Args)]
#[command(after_long_help = "\
Example:
  svault bao init cluster.record --addr http://127.0.0.1:8200 --addr http://127.0.0.1:8210 \\
      --threshold 2 --officer alice --officer bob --officer carol \\
      --shares-out keys/ --root-token-out root.token

OpenBao's own keys are combined in memory and never printed or stored. Nothing is
written unless every key file was read back and matched and a threshold of the new
keys unsealed the first node.")]
struct InitArgs {
    /// The RECORD file to create (public JSON; it must not exist).
    record: PathBuf,
    #[command(flatten)]
    nodes: NodeArgs,
    /// How many officers' keys unseal the cluster.
    #[arg(long, value_name = "T")]
    threshold: u8,
    /// An officer (repeatable); each gets DIR/NAME.key.
    #[arg(long = "officer", value_name = "NAME", required = true)]
    officers: Vec<String>,
    /// Directory for the key files (new files, mode 0600); without it, each officer is
    /// shown their key at the terminal and types it back (echo off).
    #[arg(long, value_name = "DIR")]
    shares_out: Option<PathBuf>,
    /// Where to put OpenBao's root token (a new file, mode 0600).
    #[arg(long, value_name = "FILE")]
    root_token_out: Option<PathBuf>,
    /// How long to wait for the other nodes to report initialised, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    wait: u64,
    /// Also store the unseal key K (64 hex characters) and the root token
    /// (`bao/root-token`) in this svault vault, for `svault agent --bao-addr`; its quorum
    /// is gathered first.
    #[arg(long, value_name = "VAULT")]
    vault: Option<PathBuf>,
    /// The credential that holds K in --vault.
    #[arg(long, value_name = "NAME", default_value = svault::agent::bao::DEFAULT_KEY_NAME)]
    name: String,
    #[command(flatten)]
    quorum: super::quorum::QuorumArgs,
}

/// The credential that holds the root token with `--vault`.
const ROOT_TOKEN_NAME: &str = "bao/root-token";

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The RECORD file.
    record: PathBuf,
    /// The key file to check.
    #[arg(long, value_name = "FILE")]
    key_file: PathBuf,
}

#[derive(Debug, Args)]
struct UnsealArgs {
    /// The RECORD file.
    record: PathBuf,
    #[command(flatten)]
    nodes: NodeArgs,
    /// A key file (repeatable); without any, keys are asked for with echo off.
    #[arg(long = "key-file", value_name = "FILE")]
    key_files: Vec<PathBuf>,
    /// How long to wait for a node to report initialised (joined), in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    wait: u64,
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// The RECORD file.
    record: PathBuf,
    #[command(flatten)]
    nodes: NodeArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `svault bao …`.
pub fn run(args: BaoArgs) -> Result<Zeroizing<String>, Failure> {
    match args.command {
        BaoCommand::Init(args) => run_init(args),
        BaoCommand::Verify(args) => run_verify(args),
        BaoCommand::Unseal(args) => run_unseal(args),
        BaoCommand::Status(args) => run_status(args),
        BaoCommand::AddOfficer(args) => run_add_officer(args),
        BaoCommand::Rotate(args) => run_rotate(args),
    }
}

fn load_record(path: &Path) -> Result<Record, Failure> {
    Record::load(path).map_err(|e| match e {
        record::RecordError::Read { .. } => Failure::io(e.to_string()),
        other => Failure::new(other.to_string()),
    })
}

fn init_failure(error: InitError) -> Failure {
    match error {
        InitError::Plan(_) => Failure::usage(error.to_string()),
        other => {
            let text = error_chain(&other);
            Failure::new(text)
        }
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = e.source();
    }
    line
}

fn must_not_exist(path: &Path, what: &str) -> Result<(), Failure> {
    if path.symlink_metadata().is_ok() {
        return Err(Failure::usage(format!(
            "{what} {} already exists; nothing was sent (svault never writes over it)",
            path.display()
        )));
    }
    Ok(())
}

/// DIR/NAME.key for each officer when the keys go to `dir` (none at the terminal),
/// checked before anything is sent: `dir` is a directory and no key file exists yet.
fn new_key_paths(dir: Option<&Path>, officers: &[String]) -> Result<Vec<PathBuf>, Failure> {
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    if !dir.is_dir() {
        return Err(Failure::io(format!(
            "{} is not a directory; create it first (nothing was sent)",
            dir.display()
        )));
    }
    let paths: Vec<PathBuf> = officers
        .iter()
        .map(|o| dir.join(format!("{o}.key")))
        .collect();
    for path in &paths {
        must_not_exist(path, "the key file")?;
    }
    Ok(paths)
}

fn run_init(args: InitArgs) -> Result<Zeroizing<String>, Failure> {
    let stdin_terminal = std::io::stdin().is_terminal();
    run_init_with(args, &mut super::quorum::terminal(), stdin_terminal)
}

/// `svault bao init` with a given console; without `--shares-out` each officer is shown
/// their key on it and types it back (only when `stdin_terminal`).
fn run_init_with(
    args: InitArgs,
    console: &mut dyn Console,
    stdin_terminal: bool,
) -> Result<Zeroizing<String>, Failure> {
    init::check_openbao_plan(args.threshold, &args.officers).map_err(init_failure)?;
    let dir = args.shares_out.as_deref();
    if dir.is_none() && !(stdin_terminal && console.is_interactive()) {
        return Err(Failure::usage(
            "no terminal for the ceremony: give --shares-out DIR (each officer's key is \
             written there, read back and verified); nothing was sent",
        ));
    }
    if args.root_token_out.is_none() && args.vault.is_none() {
        return Err(Failure::usage(
            "--root-token-out FILE or --vault VAULT is needed: OpenBao's root token is shown \
             once, and svault prints it nowhere",
        ));
    }
    let nodes = args.nodes.nodes()?;
    // Everything that could stop the writing is checked before OpenBao is touched.
    must_not_exist(&args.record, "the record")?;
    if let Some(path) = &args.root_token_out {
        must_not_exist(path, "the root token file")?;
    }
    let key_paths = new_key_paths(dir, &args.officers)?;

    // The vault's quorum is gathered before OpenBao is touched.
    let mut vault = match &args.vault {
        Some(path) => {
            let unsealed = super::quorum::unseal(path, &args.quorum)?;
            for name in [args.name.as_str(), ROOT_TOKEN_NAME] {
                if unsealed.get(name).is_some() {
                    return Err(Failure::usage(format!(
                        "{} already holds a credential {name}; nothing was sent (remove it \
                         first, or choose --name)",
                        path.display()
                    )));
                }
            }
            Some(unsealed)
        }
        None => None,
    };

    let first = &nodes[0];
    let fresh = init::start(first, args.threshold, &args.officers).map_err(init_failure)?;
    let mut staged = Staged::new();
    let mut verified: Vec<Accepted> = Vec::new();
    if dir.is_none() {
        let count = fresh.issued().len();
        for (n, issued) in fresh.issued().iter().enumerate() {
            let officer = issued.officer.as_str();
            let verify = |read| fresh.verify(officer, read).map_err(|e| e.to_string());
            let accepted = interactive_key(console, officer, &issued.key, (n, count), &verify)
                .map_err(|e| {
                    init_failure(InitError::ReadBack {
                        officer: officer.to_owned(),
                        reason: e.reason(),
                    })
                })?;
            verified.push(accepted);
        }
    }
    for (issued, path) in fresh.issued().iter().zip(&key_paths) {
        let text = key::file_text(&issued.officer, &issued.key, None);
        let tmp = staged.add(path, text.as_bytes(), 0o600).map_err(|e| {
            init_failure(InitError::ReadBack {
                officer: issued.officer.clone(),
                reason: format!("cannot write {}: {e}", path.display()),
            })
        })?;
        let read = key::read_file(&tmp).map_err(|e| {
            init_failure(InitError::ReadBack {
                officer: issued.officer.clone(),
                reason: e.to_string(),
            })
        })?;
        verified.push(fresh.verify(&issued.officer, read).map_err(init_failure)?);
    }
    let proven = fresh.prove(first, &verified).map_err(init_failure)?;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: initialised and unsealed with the new keys",
        first.name()
    );
    let mut warnings = Vec::new();
    for node in &nodes[1..] {
        match unseal::unseal_node(
            node,
            &proven.record,
            &verified,
            Duration::from_secs(args.wait),
        ) {
            Ok(outcome) => {
                let _ = writeln!(out, "{}: {}", node.name(), describe(&outcome));
            }
            Err(e) => warnings.push(e.to_string()),
        }
    }

    if let Some(unsealed) = vault.as_mut() {
        let hex = secret_hex(&proven.secret);
        let stored = unsealed
            .set(&args.name, SecretBytes::new(hex.as_bytes().to_vec()))
            .and_then(|()| {
                unsealed.set(
                    ROOT_TOKEN_NAME,
                    SecretBytes::new(proven.root_token.as_bytes().to_vec()),
                )
            });
        stored.map_err(|e| Failure::usage(e.to_string()))?;
        unsealed.save().map_err(|e| {
            Failure::io(format!(
                "cannot save the vault: {}; nothing was written",
                error_chain(&e)
            ))
        })?;
    }
    if let Some(path) = &args.root_token_out {
        let mut token = Zeroizing::new(proven.root_token.to_string());
        token.push('\n');
        files::create_new(path, token.as_bytes(), 0o600).map_err(|e| {
            Failure::io(format!(
                "cannot write the root token to {}: {e}; nothing else was written",
                path.display()
            ))
        })?;
    }
    record::write_new(&args.record, &proven.record).map_err(|e| Failure::io(error_chain(&e)))?;
    staged.commit().map_err(|(path, e)| {
        Failure::io(format!("cannot write the key file {}: {e}", path.display()))
    })?;
    if key_paths.is_empty() {
        for officer in &args.officers {
            let _ = writeln!(out, "officer {officer}: key verified (typed back)");
        }
    }
    for (officer, path) in args.officers.iter().zip(&key_paths) {
        let _ = writeln!(out, "officer {officer}: key verified, {}", path.display());
    }
    let _ = writeln!(out, "record written: {}", args.record.display());
    if let Some(path) = &args.vault {
        let _ = writeln!(
            out,
            "unseal key stored as {} and root token as {ROOT_TOKEN_NAME} in {}",
            args.name,
            path.display()
        );
    }
    for warning in &warnings {
        super::eprint_lines(&format!(
            "warning: {warning}; run `svault bao unseal` for it"
        ));
    }
    Ok(Zeroizing::new(out))
}

/// A key in groups of six characters, as it is shown to be written down.
fn grouped(hex: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(hex.len() + hex.len() / 6));
    for (i, c) in hex.chars().enumerate() {
        if i > 0 && i % 6 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Why an officer's key could not be typed back at the terminal.
enum Entry {
    /// The terminal failed.
    Io(std::io::Error),
    /// The officer (or someone) ended the input.
    Interrupted,
}

impl Entry {
    /// The reason, as the ceremony's error states it.
    fn reason(&self) -> String {
        match self {
            Entry::Io(e) => format!("the terminal failed: {e}"),
            Entry::Interrupted => "the ceremony was interrupted".into(),
        }
    }
}

/// Officer `n` of `count` in a ceremony at the terminal: their key is shown, they write it
/// down, the screen is cleared, and they type it back (echo off) until `verify` accepts
/// it (init and rotate pass their own check against what OpenBao issued).
fn interactive_key(
    console: &mut dyn Console,
    officer: &str,
    issued: &Share,
    (n, count): (usize, usize),
    verify: &dyn Fn(Share) -> Result<Accepted, String>,
) -> Result<Accepted, Entry> {
    let shown = key::to_hex(issued);
    super::ceremony::clear(console).map_err(Entry::Io)?;
    console
        .say(&format!(
            "Officer {officer} ({} of {count}): only {officer} may look at the screen now.",
            n + 1
        ))
        .map_err(Entry::Io)?;
    console
        .say("Your OpenBao unseal key (66 hex characters in 11 groups). Write it down:")
        .map_err(Entry::Io)?;
    console
        .say(&format!("  {}", grouped(&shown).as_str()))
        .map_err(Entry::Io)?;
    if console
        .read_line("Press Enter once your copy is written down (the screen will be cleared).")
        .map_err(Entry::Io)?
        .is_none()
    {
        return Err(Entry::Interrupted);
    }
    super::ceremony::clear(console).map_err(Entry::Io)?;
    loop {
        let prompt = format!("{officer}, type your key from your copy (echo is off):");
        let Some(typed) = console.read_hidden(&prompt).map_err(Entry::Io)? else {
            return Err(Entry::Interrupted);
        };
        let compact: Zeroizing<String> = Zeroizing::new(
            typed
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| c.to_ascii_lowercase())
                .collect(),
        );
        let label = format!("{officer}'s typed key");
        let outcome = key::parse_text(&compact, &label)
            .map_err(|e| e.to_string())
            .and_then(|read| verify(read).map_err(|_| String::new()));
        match outcome {
            Ok(accepted) => {
                console
                    .say(&format!("{officer}: your key matches."))
                    .map_err(Entry::Io)?;
                return Ok(accepted);
            }
            Err(reason) => {
                // Shown only on the officer's own terminal: which group to look at.
                let group = compact
                    .bytes()
                    .zip(shown.bytes())
                    .position(|(a, b)| a != b)
                    .map(|i| i / 6 + 1);
                let why = match group {
                    _ if !reason.is_empty() => reason,
                    Some(g) => format!("the key typed differs from the key shown in group {g}"),
                    None => "the key typed differs from the key shown".into(),
                };
                console
                    .say(&format!(
                        "{officer}: {why}; correct your copy and type the whole key again."
                    ))
                    .map_err(Entry::Io)?;
            }
        }
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Progress {
            progress,
            threshold,
        } => format!("{progress} of {threshold}"),
        Outcome::Unsealed => "unsealed".into(),
        Outcome::AlreadyUnsealed => "already unsealed, nothing sent".into(),
    }
}

fn run_verify(args: VerifyArgs) -> Result<Zeroizing<String>, Failure> {
    let record = load_record(&args.record)?;
    let key = key::read_file(&args.key_file).map_err(key_failure)?;
    let name = args.key_file.display().to_string();
    match key::check_all(&record, vec![(name, key)]) {
        Ok(accepted) => {
            let officer = accepted.first().map(Accepted::officer).unwrap_or_default();
            Ok(Zeroizing::new(format!("{officer}\n")))
        }
        // The drill sends nothing: the refusal alone.
        Err(refusals) => Err(Failure::new(
            refusals
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )),
    }
}

fn key_failure(error: key::KeyTextError) -> Failure {
    match error {
        key::KeyTextError::Read { .. } => Failure::io(error_chain(&error)),
        other => Failure::new(other.to_string()),
    }
}

fn refusal_failure(refusals: &[key::Refusal]) -> Failure {
    let lines: Vec<String> = refusals.iter().map(ToString::to_string).collect();
    Failure::new(format!(
        "{}\nno key was sent; the nodes' progress is unchanged",
        lines.join("\n")
    ))
}

fn read_keys(args: &UnsealArgs) -> Result<Vec<(String, Share)>, Failure> {
    let mut keys = Vec::new();
    if !args.key_files.is_empty() {
        for path in &args.key_files {
            keys.push((
                path.display().to_string(),
                key::read_file(path).map_err(key_failure)?,
            ));
        }
        return Ok(keys);
    }
    loop {
        let label = format!("typed key {}", keys.len() + 1);
        let prompt = format!("svault: {label} (hex or base64; empty line to finish): ");
        let text = Zeroizing::new(
            rpassword::prompt_password(prompt)
                .map_err(|e| Failure::io(format!("cannot read a key from the terminal: {e}")))?,
        );
        if text.trim().is_empty() {
            break;
        }
        keys.push((
            label.clone(),
            key::parse_text(&text, &label).map_err(key_failure)?,
        ));
    }
    if keys.is_empty() {
        return Err(Failure::usage(
            "no key given: pass --key-file FILE or type a key",
        ));
    }
    Ok(keys)
}

fn run_unseal(args: UnsealArgs) -> Result<Zeroizing<String>, Failure> {
    let record = load_record(&args.record)?;
    let nodes = args.nodes.nodes()?;
    let keys = read_keys(&args)?;
    let accepted = key::check_all(&record, keys).map_err(|r| refusal_failure(&r))?;
    let mut out = String::new();
    let mut failures = Vec::new();
    // Keys to every node first, then the wait for each: the nodes unseal in parallel.
    let mut lines: Vec<Option<String>> = Vec::with_capacity(nodes.len());
    let mut reached = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        match unseal::submit_node(node, &record, &accepted, Duration::from_secs(args.wait)) {
            Ok(unseal::Submitted::Done(outcome)) => {
                lines.push(Some(format!("{}: {}", node.name(), describe(&outcome))));
            }
            Ok(unseal::Submitted::Reached) => {
                lines.push(None);
                reached.push(i);
            }
            Err(e) => {
                lines.push(None);
                failures.push(e.to_string());
            }
        }
    }
    for i in reached {
        let node = &nodes[i];
        match unseal::finish_node(node, &record) {
            Ok(outcome) => lines[i] = Some(format!("{}: {}", node.name(), describe(&outcome))),
            Err(e) => failures.push(e.to_string()),
        }
    }
    for line in lines.into_iter().flatten() {
        let _ = writeln!(out, "{line}");
    }
    if failures.is_empty() {
        Ok(Zeroizing::new(out))
    } else {
        Err(Failure::new(format!("{out}{}", failures.join("\n"))))
    }
}

fn run_status(args: StatusArgs) -> Result<Zeroizing<String>, Failure> {
    let record = load_record(&args.record)?;
    let nodes = args.nodes.nodes()?;
    let mut rows = Vec::new();
    for node in &nodes {
        rows.push((node.name().to_owned(), node.seal_status()));
    }
    let out = if args.json {
        let officers: Vec<_> = record
            .officers
            .iter()
            .map(|o| serde_json::json!({ "name": o.name, "x": o.x }))
            .collect();
        let nodes: Vec<_> = rows
            .iter()
            .map(|(name, status)| match status {
                Ok(s) => serde_json::json!({
                    "node": name, "initialized": s.initialized, "sealed": s.sealed,
                    "progress": s.progress, "threshold": s.t,
                }),
                Err(e) => serde_json::json!({ "node": name, "error": e.to_string() }),
            })
            .collect();
        let mut text = serde_json::json!({
            "threshold": record.threshold,
            "officers": officers,
            "cluster_id": record.cluster.id,
            "nodes": nodes,
        })
        .to_string();
        text.push('\n');
        text
    } else {
        let mut text = String::new();
        let names: Vec<&str> = record.officers.iter().map(|o| o.name.as_str()).collect();
        let _ = writeln!(
            text,
            "threshold {} of {} officers: {}",
            record.threshold,
            names.len(),
            names.join(", ")
        );
        if let Some(id) = &record.cluster.id {
            let _ = writeln!(text, "cluster {id}");
        }
        for (name, status) in &rows {
            let _ = match status {
                Ok(s) if !s.initialized => writeln!(text, "{name}: not initialised"),
                Ok(s) if s.sealed => writeln!(text, "{name}: sealed, {} of {}", s.progress, s.t),
                Ok(_) => writeln!(text, "{name}: unsealed"),
                Err(e) => writeln!(text, "{name}: {e}"),
            };
        }
        text
    };
    if rows.iter().any(|(_, s)| s.is_err()) {
        return Err(Failure::new(out));
    }
    Ok(Zeroizing::new(out))
}

/// Starts the agent's OpenBao keeper when `--bao-addr` was given.
pub fn start_keeper(
    agent: &svault::agent::Agent,
    addrs: &[String],
    ca_cert: Option<&Path>,
    key_name: &str,
) -> Result<Option<svault::agent::bao::Keeper>, Failure> {
    if addrs.is_empty() {
        return Ok(None);
    }
    let tls = match ca_cert {
        Some(path) => Tls::ca_file(path).map_err(|e| Failure::io(e.to_string()))?,
        None => Tls::system(),
    };
    svault::agent::bao::Keeper::start(agent, addrs, &tls, key_name)
        .map(Some)
        .map_err(|e| Failure::usage(e.to_string()))
}

fn run_add_officer(args: AddOfficerArgs) -> Result<Zeroizing<String>, Failure> {
    let mut record = load_record(&args.record)?;
    init::check_plan(1, std::slice::from_ref(&args.name)).map_err(init_failure)?;
    let path = args.shares_out.join(format!("{}.key", args.name));
    must_not_exist(&path, "the key file")?;
    let mut keys = Vec::new();
    for file in &args.key_files {
        keys.push((
            file.display().to_string(),
            key::read_file(file).map_err(key_failure)?,
        ));
    }
    let accepted = key::check_all(&record, keys).map_err(|r| refusal_failure(&r))?;
    let issued =
        key::extend(&record, &accepted, &args.name).map_err(|e| Failure::new(e.to_string()))?;
    let mut staged = Staged::new();
    let text = key::file_text(&issued.officer, &issued.key, record.cluster.id.as_deref());
    let tmp = staged
        .add(&path, text.as_bytes(), 0o600)
        .map_err(|e| Failure::io(format!("cannot write {}: {e}", path.display())))?;
    let read = key::read_file(&tmp).map_err(key_failure)?;
    if !key::same_key(&issued.key, &read) {
        return Err(Failure::new(format!(
            "the key read back from {} differs from the key made; nothing was written",
            path.display()
        )));
    }
    record
        .officers
        .push(record::OfficerEntry::commit(&issued.officer, &read));
    staged
        .commit()
        .map_err(|(p, e)| Failure::io(format!("cannot write the key file {}: {e}", p.display())))?;
    record::replace(&args.record, &record).map_err(|e| Failure::io(error_chain(&e)))?;
    Ok(Zeroizing::new(format!(
        "officer {}: key verified, {} (x = {}); record updated: {}\n",
        args.name,
        path.display(),
        read.x(),
        args.record.display()
    )))
}

fn rotate_failure(error: RotateError) -> Failure {
    match error {
        RotateError::Plan(_) => Failure::usage(error.to_string()),
        other => Failure::new(other.to_string()),
    }
}

/// The unseal key K as the vault credential holds it: 64 lowercase hex characters
/// (the encoder is constant time; the x byte it appends is cut off).
fn secret_hex(secret: &[u8]) -> Zeroizing<String> {
    let mut hex = unseal_key::encode(&Share::new(1, secret.to_vec()), unseal_key::Format::Hex);
    hex.truncate(2 * secret.len());
    hex
}

fn read_token(path: &Path) -> Result<Zeroizing<String>, Failure> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        Failure::io(format!(
            "cannot read the token file {}: {e}; nothing was sent",
            path.display()
        ))
    })?);
    let token = Zeroizing::new(text.lines().next().unwrap_or("").trim().to_owned());
    if token.is_empty() || token.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Failure::usage(format!(
            "the token file {} has no token on line 1; nothing was sent",
            path.display()
        )));
    }
    Ok(token)
}

fn run_rotate(args: RotateArgs) -> Result<Zeroizing<String>, Failure> {
    let stdin_terminal = std::io::stdin().is_terminal();
    run_rotate_with(args, &mut super::quorum::terminal(), stdin_terminal)
}

/// `svault bao rotate` with a given console; without `--shares-out` each officer is shown
/// their new key on it and types it back (only when `stdin_terminal`).
fn run_rotate_with(
    args: RotateArgs,
    console: &mut dyn Console,
    stdin_terminal: bool,
) -> Result<Zeroizing<String>, Failure> {
    if args.shares_out.is_none() && !(stdin_terminal && console.is_interactive()) {
        return Err(Failure::usage(
            "no terminal for the ceremony: give --shares-out DIR (each officer's new key is \
             written there, read back and verified); nothing was sent",
        ));
    }
    let record = if args.adopt {
        must_not_exist(&args.record, "the record")?;
        if args.threshold.is_none() || args.officers.is_empty() {
            return Err(Failure::usage(
                "--adopt needs --threshold T and --officer NAME for the new split; nothing \
                 was sent",
            ));
        }
        None
    } else {
        Some(load_record(&args.record)?)
    };
    let (record_threshold, record_officers, cluster_id) = match &record {
        Some(r) => (
            r.threshold,
            r.officers.iter().map(|o| o.name.clone()).collect(),
            r.cluster.id.clone(),
        ),
        None => (0, Vec::new(), None),
    };
    let plan = rotate::Plan {
        threshold: args.threshold.unwrap_or(record_threshold),
        officers: if args.officers.is_empty() {
            record_officers
        } else {
            args.officers.clone()
        },
    };
    rotate::check_rotation_plan(&plan).map_err(rotate_failure)?;
    let token = read_token(&args.token_file)?;
    let nodes = args.nodes.nodes()?;
    let key_paths = new_key_paths(args.shares_out.as_deref(), &plan.officers)?;
    let mut keys = Vec::new();
    for file in &args.key_files {
        let label = if record.is_some() {
            file.display().to_string()
        } else {
            // Adopted keys are named in the retired split by their file's name.
            file.file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| file.display().to_string())
        };
        keys.push((label, key::read_file(file).map_err(key_failure)?));
    }
    // Every key is checked against RECORD before anything is sent.
    let (old, adopted) = match &record {
        Some(record) => (
            key::check_all(record, keys).map_err(|r| refusal_failure(&r))?,
            Vec::new(),
        ),
        None => (Vec::new(), keys),
    };
    // The vault's quorum is gathered before OpenBao is touched.
    let mut vault = match &args.vault {
        Some(path) => Some(super::quorum::unseal(path, &args.quorum)?),
        None => None,
    };

    // The rotation goes to the active node when it is among the nodes given.
    let node = nodes[0].active_among(&nodes);
    let rotating = match &record {
        Some(record) => rotate::start(node, token, record, &old, &plan),
        None => rotate::adopt(node, token, adopted, &plan),
    }
    .map_err(rotate_failure)?;
    let mut staged = Staged::new();
    let mut verified: Vec<Accepted> = Vec::new();
    let mut failed = None;
    if args.shares_out.is_none() {
        let count = rotating.issued().len();
        for (n, issued) in rotating.issued().iter().enumerate() {
            let officer = issued.officer.as_str();
            let verify = |read| rotating.verify(officer, read);
            match interactive_key(console, officer, &issued.key, (n, count), &verify) {
                Ok(accepted) => verified.push(accepted),
                Err(e) => {
                    failed = Some(format!("{officer}: {}", e.reason()));
                    break;
                }
            }
        }
    }
    for (issued, path) in rotating.issued().iter().zip(&key_paths) {
        let text = key::file_text(&issued.officer, &issued.key, cluster_id.as_deref());
        let read = staged
            .add(path, text.as_bytes(), 0o600)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
            .and_then(|tmp| key::read_file(&tmp).map_err(|e| e.to_string()))
            .and_then(|read| rotating.verify(&issued.officer, read));
        match read {
            Ok(accepted) => verified.push(accepted),
            Err(reason) => {
                failed = Some(reason);
                break;
            }
        }
    }
    // The new RECORD is staged too, so that a full disk stops the run while the
    // rotation can still be cancelled.
    let new_text = rotating.record(&verified).to_json();
    let staged_record = if args.adopt {
        staged.add(&args.record, new_text.as_bytes(), 0o644)
    } else {
        staged.add_replacement(&args.record, new_text.as_bytes(), 0o644)
    };
    if failed.is_none()
        && let Err(e) = staged_record
    {
        failed = Some(format!(
            "cannot stage the new record beside {}: {e}",
            args.record.display()
        ));
    }
    if let Some(reason) = failed {
        drop(staged);
        return Err(rotate_failure(rotating.abort(reason)));
    }
    let secret = rotating.prove(&verified).map_err(rotate_failure)?;

    // The rotation has taken effect: from here on nothing may be lost.
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: rotated; OpenBao verified the officers' new keys (sys/rotate/root/verify)",
        node.name()
    );
    if let Err(kept) = staged.commit_or_keep() {
        let left: Vec<String> = kept
            .left
            .iter()
            .map(|(hidden, real)| format!("{} -> {}", hidden.display(), real.display()))
            .collect();
        return Err(Failure::io(format!(
            "{}: the rotation has taken effect, but {} could not be written: {}. The new \
             keys and record are kept under hidden names; move each to its name: {}",
            node.name(),
            kept.path.display(),
            kept.error,
            left.join(", ")
        )));
    }
    if key_paths.is_empty() {
        for officer in &plan.officers {
            let _ = writeln!(out, "officer {officer}: key verified (typed back)");
        }
    }
    for (officer, path) in plan.officers.iter().zip(&key_paths) {
        let _ = writeln!(out, "officer {officer}: key verified, {}", path.display());
    }
    match &record {
        Some(record) => {
            let _ = writeln!(
                out,
                "record replaced: {} (the split of {} kept as retired)",
                args.record.display(),
                record.created
            );
        }
        None => {
            let _ = writeln!(
                out,
                "record written: {} (the keys given kept as retired)",
                args.record.display()
            );
        }
    }
    if let (Some(unsealed), Some(path)) = (vault.as_mut(), &args.vault) {
        let hex = secret_hex(&secret);
        let stored = unsealed
            .set(&args.name, SecretBytes::new(hex.as_bytes().to_vec()))
            .map_err(|e| e.to_string())
            .and_then(|()| unsealed.save().map_err(|e| error_chain(&e)));
        if let Err(e) = stored {
            return Err(Failure::io(format!(
                "{out}the rotation took effect and the new keys and record are in place, \
                 but the vault {} could not be updated: {e}. Its {} still holds the old \
                 unseal key, which the agent can no longer use: combine a threshold of the \
                 new keys (`svault shamir combine`) and store the result as that credential \
                 (`svault set`)",
                path.display(),
                args.name
            )));
        }
        let _ = writeln!(
            out,
            "unseal key replaced as {} in {}",
            args.name,
            path.display()
        );
    }
    Ok(Zeroizing::new(out))
}
