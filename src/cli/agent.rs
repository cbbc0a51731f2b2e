//! `svault agent`, `unseal`, `seal`, and the agent-backed `status`, `get`, `list` and
//! `exec`: thin drivers of `svault::agent` (see `docs/AGENT.md`).

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{Failure, eprint_lines};
use svault::agent::{Agent, AgentStatus, Audit, Client, Config, Policy};
use svault::share::slip39;

/// The socket from `--socket`, or else `SVAULT_SOCKET`.
fn socket_path(socket: Option<PathBuf>) -> Result<PathBuf, Failure> {
    socket
        .or_else(|| std::env::var_os("SVAULT_SOCKET").map(PathBuf::from))
        .ok_or_else(|| Failure::usage("no agent socket: give --socket PATH or set SVAULT_SOCKET"))
}

fn connect(socket: Option<PathBuf>) -> Result<Client, Failure> {
    let path = socket_path(socket)?;
    Client::connect(&path).map_err(|e| Failure::new("cannot reach the agent").because(e))
}

/// Arguments of `svault agent`.
#[derive(Debug, clap::Args)]
pub struct AgentArgs {
    /// The vault file to serve.
    vault: PathBuf,
    /// The socket to listen on (created mode 0600, or 0660 with --socket-group).
    #[arg(long, value_name = "PATH")]
    socket: PathBuf,
    /// Make the socket mode 0660 with this group (a name or a number).
    #[arg(long, value_name = "GROUP")]
    socket_group: Option<String>,
    /// Who may read, write, unseal and control (see docs/AGENT.md); without it only the
    /// agent's own uid (and root) may, and with --socket-group the group may unseal.
    /// Refused if it is a link, or if anyone but its owner (root or this uid) may
    /// write it.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Also serve systemd's LoadCredential= on this socket.
    #[arg(long, value_name = "PATH")]
    systemd_socket: Option<PathBuf>,
    /// Append the audit log (JSON lines) to this file instead of stderr.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Discard submitted shares this many seconds after the first, unless unsealed.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    expire: u64,
    /// Keep this OpenBao node unsealed while the vault is (repeatable; docs/BAO.md).
    #[arg(long = "bao-addr", value_name = "URL")]
    bao_addrs: Vec<String>,
    /// The credential holding OpenBao's unseal key.
    #[arg(long, value_name = "NAME", default_value = svault::agent::bao::DEFAULT_KEY_NAME)]
    bao_key: String,
    /// PEM file of the CA for https --bao-addr nodes.
    #[arg(long, value_name = "FILE")]
    bao_ca_cert: Option<PathBuf>,
    /// Memory all keyslot derivations (Argon2id) together may use at once, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    keyslot_memory: u64,
    /// Keyslots opened at once (1 or 2); more wait in a short queue, then get `busy`.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=2))]
    keyslot_workers: u8,
    /// A drill older than this many days does not count (docs/HEALTH.md).
    #[arg(long, value_name = "DAYS", default_value_t = svault::health::DEFAULT_MAX_AGE_DAYS)]
    drill_max_age: u64,
    /// Log a `quorum_health` warning when the quorum margin drops below N.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    min_margin: i64,
    /// Check the quorum's health every SECS seconds too (0: only at start, status and unseal).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    health_interval: u64,
}

/// Runs the agent until SIGTERM, SIGINT or SIGHUP; then seals and removes its sockets.
pub fn run_agent(args: AgentArgs) -> Result<Zeroizing<String>, Failure> {
    use nix::sys::signal::{SigSet, Signal};
    // Block the stop signals in every thread (threads inherit the mask), and wait for
    // them here: no signal handler, no unsafe code.
    let mut signals = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        signals.add(s);
    }
    signals
        .thread_block()
        .map_err(|e| Failure::new("cannot block signals").because(e))?;
    let mut config = Config::new(&args.vault, &args.socket);
    config.state_dir = svault::agent::generation::state_directory_from_env();
    config.systemd_socket = args.systemd_socket;
    config.expire = (args.expire > 0).then(|| Duration::from_secs(args.expire));
    config.keyslot_memory = args.keyslot_memory.saturating_mul(1 << 20);
    config.keyslot_workers = usize::from(args.keyslot_workers);
    config.drill_policy = svault::health::Policy {
        max_age_days: args.drill_max_age,
    };
    config.min_margin = args.min_margin;
    config.health_interval =
        (args.health_interval > 0).then(|| Duration::from_secs(args.health_interval));
    if let Some(group) = &args.socket_group {
        config.socket_group = Some(resolve_group(group)?);
    }
    if let Some(path) = &args.policy {
        config.policy = Some(Policy::load(path).map_err(|e| Failure::new(e.to_string()))?);
    }
    let audit = match &args.audit_log {
        Some(path) => Audit::file(path).map_err(|e| {
            Failure::new(format!("cannot open the audit log {}", path.display())).because(e)
        })?,
        None => Audit::stderr(),
    };
    let agent = Agent::start(config, audit)
        .map_err(|e| Failure::new("the agent could not start").because(e))?;
    eprint_lines(&format!(
        "agent serving {} on {} (sealed)",
        args.vault.display(),
        args.socket.display()
    ));
    let keeper = super::bao::start_keeper(
        &agent,
        &args.bao_addrs,
        args.bao_ca_cert.as_deref(),
        &args.bao_key,
    )?;
    let signal = signals.wait();
    agent.stop();
    drop(keeper);
    if let Ok(signal) = signal {
        eprint_lines(&format!("stopped by {signal:?}; the vault is sealed"));
    }
    Ok(Zeroizing::new(String::new()))
}

fn resolve_group(group: &str) -> Result<u32, Failure> {
    if let Ok(gid) = group.parse() {
        return Ok(gid);
    }
    match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        _ => Err(Failure::usage(format!(
            "there is no group named '{group}' on this system"
        ))),
    }
}

/// Arguments of `svault unseal`.
#[derive(Debug, clap::Args)]
pub struct UnsealArgs {
    /// The agent's socket (default: $SVAULT_SOCKET).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Read the share words from this file instead of prompting.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["keyslot", "reset"])]
    share_file: Option<PathBuf>,
    /// Open this officer's passphrase keyslot instead of entering share words.
    #[arg(
        long,
        value_name = "NAME",
        requires = "passphrase_file",
        conflicts_with = "reset"
    )]
    keyslot: Option<String>,
    /// The keyslot passphrase, read from FILE (first line), as NAME=FILE.
    #[arg(long, value_name = "NAME=FILE")]
    passphrase_file: Option<String>,
    /// Discard the shares submitted so far instead of submitting one.
    #[arg(long)]
    reset: bool,
}

/// Submits one share (or keyslot passphrase), or resets the progress.
pub fn run_unseal(args: UnsealArgs) -> Result<Zeroizing<String>, Failure> {
    if args.reset {
        let status = connect(args.socket)?
            .reset()
            .map_err(|e| Failure::new("reset refused").because(e))?;
        return Ok(Zeroizing::new(format!(
            "progress discarded: {}\n",
            status.progress
        )));
    }
    let mut client = connect(args.socket)?;
    let accepted = if let Some(officer) = &args.keyslot {
        let spec = args.passphrase_file.unwrap_or_default();
        let (name, file) = spec.split_once('=').ok_or_else(|| {
            Failure::usage(
                "--passphrase-file takes NAME=FILE, e.g. --passphrase-file erin=/run/pass",
            )
        })?;
        if name != officer {
            return Err(Failure::usage(format!(
                "--passphrase-file names '{name}' but --keyslot names '{officer}'"
            )));
        }
        let bytes = Zeroizing::new(std::fs::read(file).map_err(|e| {
            Failure::new(format!("cannot read the passphrase file {file}")).because(e)
        })?);
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Failure::new("the passphrase file is not UTF-8 text"))?;
        let pass = text.strip_suffix('\n').unwrap_or(text);
        let pass = pass.strip_suffix('\r').unwrap_or(pass);
        client.submit_keyslot(officer, pass)
    } else {
        let (words, typed) = match &args.share_file {
            // The share file format of `svault init --shares-out`: the words, then
            // comment lines; read by the same function as every other command.
            Some(path) => (
                svault::prompt::read_share_file(path)
                    .map_err(|e| Failure::new("the share was not sent").because(e))?,
                false,
            ),
            None => (prompt_share()?, svault::prompt::officer_at_terminal()),
        };
        // Check the words here first: the full hint (which word, a correction) is shown
        // only when the officer typed them at this terminal; a share file, a pipe or a
        // redirected stderr get positions only. The agent never repeats words.
        if let Err(e) = slip39::parse(&words) {
            return Err(if typed {
                Failure::new(format!("the share was not sent: {}", e.terminal_message()))
            } else {
                Failure::new("the share was not sent").because(e)
            });
        }
        client.submit_share(words.trim())
    };
    let accepted = accepted.map_err(|e| Failure::new("the agent refused the share").because(e))?;
    let state = if accepted.status.sealed {
        accepted.status.progress.clone()
    } else {
        "the vault is unsealed".into()
    };
    Ok(Zeroizing::new(format!(
        "accepted: {}, member {}. {state}\n",
        accepted.officer, accepted.member
    )))
}

/// Reads one line from the terminal with echo off (or from stdin when it is not one).
fn prompt_share() -> Result<Zeroizing<String>, Failure> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let mut line = Zeroizing::new(String::with_capacity(1024));
    let saved = if stdin.is_terminal() {
        eprint_lines("enter your share words (input is not shown):");
        let _ = std::io::stderr().flush();
        let saved = tcgetattr(&stdin).ok();
        if let Some(original) = &saved {
            let mut quiet = original.clone();
            quiet.local_flags.remove(LocalFlags::ECHO);
            let _ = tcsetattr(&stdin, SetArg::TCSAFLUSH, &quiet);
        }
        saved
    } else {
        None
    };
    let read = stdin.lock().read_line(&mut line);
    if let Some(original) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSAFLUSH, original);
        eprintln!();
    }
    read.map_err(|e| Failure::new("cannot read the share").because(e))?;
    Ok(line)
}

/// Arguments of `svault seal`.
#[derive(Debug, clap::Args)]
pub struct SealArgs {
    /// The agent's socket (default: $SVAULT_SOCKET).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
}

/// Seals the agent: it wipes the key and credentials from memory.
pub fn run_seal(args: SealArgs) -> Result<Zeroizing<String>, Failure> {
    connect(args.socket)?
        .seal()
        .map_err(|e| Failure::new("seal refused").because(e))?;
    Ok(Zeroizing::new("sealed\n".into()))
}

/// Arguments of `svault status` against an agent.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The agent's socket (default: $SVAULT_SOCKET).
    #[arg(long, value_name = "PATH")]
    pub(super) socket: Option<PathBuf>,
    /// Print the status as JSON (the protocol's status object).
    #[arg(long)]
    pub(super) json: bool,
}

/// Sealed or unsealed, progress, who submitted and when.
pub fn run_status(args: StatusArgs) -> Result<Zeroizing<String>, Failure> {
    let status = connect(args.socket)?
        .status()
        .map_err(|e| Failure::new("no status").because(e))?;
    if args.json {
        return super::json_text(&status);
    }
    Ok(Zeroizing::new(describe_status(&status)))
}

fn describe_status(status: &AgentStatus) -> String {
    let mut out = String::new();
    if status.sealed {
        out.push_str(&format!("sealed: {}\n", status.progress));
    } else {
        out.push_str("unsealed");
        if let Some(n) = status.credentials {
            out.push_str(&format!(", {n} credentials"));
        }
        if let Some(at) = status.since {
            out.push_str(&format!(", since {at} (Unix time)"));
        }
        out.push('\n');
    }
    for s in &status.submissions {
        out.push_str(&format!(
            "  {} (group {}, member {}) at {}\n",
            s.officer, s.group, s.member, s.at
        ));
    }
    if let Some(at) = status.expires_at {
        out.push_str(&format!("progress expires at {at} (Unix time)\n"));
    }
    if !status.vault_id.is_empty() {
        let served = match status.generation_served {
            Some(0) => "none served yet".to_owned(),
            Some(g) => format!("highest served {g}"),
            None => "its generation file is unreadable".to_owned(),
        };
        out.push_str(&format!(
            "vault {}, generation {} ({served})\n",
            status.vault_id, status.generation
        ));
    }
    if let Some(h) = &status.health {
        let warn = if h.margin < h.min_margin {
            format!(" — below the minimum {}", h.min_margin)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "quorum: margin {}{warn}; {} verified of {} needed, drills within {} days; {} rejected records\n",
            h.margin, h.verified, h.threshold, h.max_age_days, h.rejected
        ));
        for o in &h.officers {
            let drill = o.last_drill.map_or_else(
                || "never drilled".to_owned(),
                |t| format!("last drill {}", super::vault_cmds::utc(t)),
            );
            let key = if o.drill_key {
                ""
            } else {
                ", no drill key yet"
            };
            out.push_str(&format!("  {}: {drill}{key}\n", o.name));
        }
        if let Some(e) = &h.error {
            out.push_str(&format!("drills: {e}\n"));
        }
    }
    out
}

/// Arguments of `svault get` against an agent.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// The agent's socket (default: $SVAULT_SOCKET).
    #[arg(long, value_name = "PATH")]
    pub(super) socket: Option<PathBuf>,
    /// The credential.
    pub(super) name: String,
}

/// Prints a credential's value (as stored, no newline added).
pub fn run_get(args: GetArgs) -> Result<Zeroizing<String>, Failure> {
    let value = connect(args.socket)?
        .get(&args.name)
        .map_err(|e| Failure::new(format!("cannot get '{}'", args.name)).because(e))?;
    let text = std::str::from_utf8(value.expose())
        .map_err(|_| Failure::new(format!("'{}' is not text; cannot print it", args.name)))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Arguments of `svault list` against an agent.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The agent's socket (default: $SVAULT_SOCKET).
    #[arg(long, value_name = "PATH")]
    pub(super) socket: Option<PathBuf>,
}

/// Prints the names the caller may read, one per line.
pub fn run_list(args: ListArgs) -> Result<Zeroizing<String>, Failure> {
    let entries = connect(args.socket)?
        .list()
        .map_err(|e| Failure::new("cannot list").because(e))?;
    let mut out = String::new();
    for e in entries {
        out.push_str(&e.name);
        out.push('\n');
    }
    Ok(Zeroizing::new(out))
}

/// Arguments of `svault exec` against an agent.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// The agent's socket (default: $SVAULT_SOCKET).
    #[arg(long, value_name = "PATH")]
    pub(super) socket: Option<PathBuf>,
    /// Set environment variable VAR to credential NAME (repeatable). Without any, every
    /// credential the caller may read is set, its name upper-cased with other
    /// characters than letters and digits turned into '_'.
    #[arg(long = "env", value_name = "VAR=NAME")]
    pub(super) env: Vec<String>,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub(super) command: Vec<OsString>,
}

/// Runs a command with credentials in its environment (replacing this process), with
/// the same name-to-variable rules as the file-based `exec` ([`svault::env`]).
pub fn run_exec(args: ExecArgs) -> Result<Zeroizing<String>, Failure> {
    use std::os::unix::process::CommandExt;
    let explicit = svault::env::explicit(&args.env).map_err(super::vault_cmds::env_failure)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Failure::usage("give the command to run after --"))?;
    let mut client = connect(args.socket)?;
    let bindings = if args.env.is_empty() {
        let entries = client
            .list()
            .map_err(|e| Failure::new("cannot list").because(e))?;
        svault::env::automatic(entries.into_iter().map(|e| e.name))
            .map_err(super::vault_cmds::env_failure)?
    } else {
        explicit
    };
    let mut command = std::process::Command::new(program);
    command.args(rest);
    for b in &bindings {
        let value = client.get(&b.name).map_err(|e| {
            Failure::new(format!("cannot get '{}'", super::sanitize(&b.name))).because(e)
        })?;
        command.env(
            &b.var,
            svault::env::value(&b.name, &value).map_err(super::vault_cmds::env_failure)?,
        );
    }
    let error = command.exec();
    Err(Failure::new(format!(
        "cannot run {}",
        super::sanitize(&program.to_string_lossy())
    ))
    .because(error))
}
