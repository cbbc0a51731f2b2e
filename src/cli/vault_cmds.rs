//! The day-to-day commands on a vault file: `verify` (the drill), `status`, `get`,
//! `set`, `rm`, `list`, `exec`; and `completions` and `man`. `status`, `get`, `list`
//! and `exec` go to a running agent instead with `--socket PATH` (or `SVAULT_SOCKET`
//! when no VAULT is given).

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::quorum::{self, QuorumArgs};
use super::{Failure, agent, health, sanitize};
use svault::health::DrillKind;
use svault::prompt::{Console, read_passphrase_file, read_share_file};
use svault::secret::SecretBytes;
use svault::share::slip39::{self, Slip39Share};
use svault::vault::format::{Header, Officer, VERSION, to_hex};
use svault::vault::{Sealed, Unsealed, share_fingerprint, valid_name};

type Output = Result<Zeroizing<String>, Failure>;

fn nothing() -> Output {
    Ok(Zeroizing::new(String::new()))
}

/// The agent to use instead of a file: `--socket`, or `SVAULT_SOCKET` when no vault
/// file is named. `None`: use the file.
fn agent_socket(socket: &Option<PathBuf>, vault: &Option<PathBuf>) -> Option<PathBuf> {
    if socket.is_some() {
        return socket.clone();
    }
    if vault.is_some() {
        return None;
    }
    std::env::var_os("SVAULT_SOCKET").map(PathBuf::from)
}

fn require_vault(vault: Option<PathBuf>) -> Result<PathBuf, Failure> {
    vault.ok_or_else(|| {
        Failure::usage("give the vault file (or --socket PATH, or set SVAULT_SOCKET, for an agent)")
    })
}

/// Writes bytes to stdout now (for values that need not be text). A closed stdout
/// ends quietly.
fn emit(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::io("cannot write to stdout").because(e)),
    }
}

/// A date for people: `2026-05-01 09:30:00 UTC` (Unix time in, proleptic Gregorian).
pub fn utc(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let rem = seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------- verify

/// Arguments of `svault verify`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Examples:
  svault verify app.svault                          # type your share, echo off
  svault verify app.svault --share-file dave.share
  svault verify app.svault --keyslot erin --passphrase-file erin=/run/erin.pass

A valid share (or passphrase) appends a drill record, signed with the officer's drill
key, to VAULT.drills (docs/HEALTH.md); --no-record only checks. A record that cannot be
written is reported on stderr; the answer still stands.

Exit status: 0 the share (or passphrase) is valid for this vault; 1 it is not, or the
vault is damaged; 2 usage or I/O error.")]
pub struct VerifyArgs {
    /// The vault file.
    vault: PathBuf,
    /// Read the share from FILE (words on the first line, '#' comments after).
    #[arg(long, value_name = "FILE", conflicts_with = "keyslot")]
    share_file: Option<PathBuf>,
    /// Check this officer's keyslot passphrase instead of share words.
    #[arg(long, value_name = "NAME")]
    keyslot: Option<String>,
    /// The keyslot passphrase, from FILE, as NAME=FILE (exactly one trailing newline
    /// is removed); without it the passphrase is asked for with echo off.
    #[arg(long, value_name = "NAME=FILE", requires = "keyslot")]
    passphrase_file: Option<String>,
    /// Check only: do not append a signed drill record to VAULT.drills.
    #[arg(long)]
    no_record: bool,
}

/// The drill: checks one share or keyslot passphrase against the vault alone.
pub fn run_verify(args: VerifyArgs) -> Output {
    verify_with(args, &mut quorum::terminal())
}

fn verify_with(args: VerifyArgs, console: &mut dyn Console) -> Output {
    let sealed = quorum::open(&args.vault)?;
    let (share, how) = if let Some(officer) = &args.keyslot {
        let pass = match &args.passphrase_file {
            Some(spec) => {
                let (name, file) = quorum::parse_passphrase_spec(spec)?;
                if name != *officer {
                    return Err(Failure::usage(format!(
                        "--passphrase-file names '{name}' but --keyslot names '{officer}'"
                    )));
                }
                read_passphrase_file(&file).map_err(quorum::quorum_failure)?
            }
            None => {
                let prompt = format!("passphrase for {officer}'s keyslot:");
                let typed = read_secret(console, &prompt)?;
                Zeroizing::new(typed.as_bytes().to_vec())
            }
        };
        let share = sealed
            .open_slot(officer, &pass)
            .map_err(|e| Failure::new(format!("not valid: {e}")))?;
        (share, DrillKind::Keyslot)
    } else {
        let words = match &args.share_file {
            Some(path) => read_share_file(path).map_err(quorum::quorum_failure)?,
            None => read_secret(console, "your share's words (input is not shown):")?,
        };
        // The words are quoted back only to an officer who typed them at the terminal.
        let typed = args.share_file.is_none() && console.is_interactive();
        let share = slip39::parse(&words).map_err(|e| {
            let why = if typed {
                e.terminal_message()
            } else {
                e.to_string()
            };
            Failure::new(format!("not valid: {why}"))
        })?;
        (share, DrillKind::Share)
    };
    let officer = sealed
        .identify(&share)
        .map_err(|e| Failure::new(format!("not valid: {e}")))?;
    let what = match how {
        DrillKind::Keyslot => "keyslot passphrase",
        _ => "share",
    };
    let mut out = format!(
        "valid: {what} of officer {}\n",
        describe_valid(&sealed, officer, &share)
    );
    if !args.no_record {
        let recorded = sealed
            .drill_key(&share)
            .map_err(|e| Failure::new("the drill was not recorded").because(e))
            .and_then(|(officer, key)| {
                health::record(&args.vault, sealed.header(), &officer.name, how, &key)
            });
        match recorded {
            Ok(path) => out.push_str(&format!("drill recorded in {}\n", path.display())),
            Err(failure) => super::eprint_lines(&format!("warning: {}", super::chain(&failure))),
        }
    }
    Ok(Zeroizing::new(out))
}

/// "dave (member 4 of 8, threshold 3) for vault 3f2a…", with the group when there
/// are several.
fn describe_valid(sealed: &Sealed, officer: &Officer, share: &Slip39Share) -> String {
    let header = sealed.header();
    let split = &header.split;
    let members = header
        .officers
        .iter()
        .filter(|o| o.group == officer.group)
        .count();
    let member = u16::from(officer.member) + 1;
    let id = to_hex(&header.vault_id.0);
    let name = sanitize(&officer.name);
    match split.groups.get(usize::from(officer.group)) {
        Some(group) if split.groups.len() > 1 => format!(
            "{name} (member {member} of {members} in group {}, threshold {}; {} of {} groups needed) for vault {id}",
            sanitize(&group.name),
            share.member_threshold(),
            split.group_threshold,
            split.groups.len()
        ),
        _ => format!(
            "{name} (member {member} of {members}, threshold {}) for vault {id}",
            share.member_threshold()
        ),
    }
}

/// A secret from the terminal with echo off, or the first line of stdin when there is
/// no terminal (scripts, tests).
fn read_secret(console: &mut dyn Console, prompt: &str) -> Result<Zeroizing<String>, Failure> {
    if console.is_interactive() {
        return match console.read_hidden(prompt) {
            Ok(Some(text)) => Ok(text),
            Ok(None) => Err(Failure::new("nothing was entered; run the command again")),
            Err(e) => Err(Failure::io("the terminal failed").because(e)),
        };
    }
    let mut all = Zeroizing::new(Vec::new());
    io::stdin()
        .lock()
        .read_to_end(&mut all)
        .map_err(|e| Failure::io("cannot read stdin").because(e))?;
    let text = std::str::from_utf8(&all).map_err(|_| Failure::new("stdin is not UTF-8 text"))?;
    Ok(Zeroizing::new(
        text.lines().next().unwrap_or_default().to_owned(),
    ))
}

// ---------------------------------------------------------------------------- status

/// Arguments of `svault status`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Without the key, only the header is readable: the credentials' names and count are
encrypted with them, so status never shows them. With --socket (or SVAULT_SOCKET and no
VAULT) it asks a running agent instead.

Examples:
  svault status app.svault
  svault status app.svault --json
  svault status --socket /run/svault.sock")]
pub struct StatusArgs {
    /// The vault file.
    vault: Option<PathBuf>,
    /// Ask the agent on this socket instead (default with no VAULT: $SVAULT_SOCKET).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    drills: health::DrillArgs,
}

/// The header of a vault file, or an agent's state.
pub fn run_status(args: StatusArgs) -> Output {
    if let Some(socket) = agent_socket(&args.socket, &args.vault) {
        return agent::run_status(agent::StatusArgs {
            socket: Some(socket),
            json: args.json,
        });
    }
    let path = require_vault(args.vault)?;
    let sealed = quorum::open(&path)?;
    let version = format_version(&path)?;
    let header = sealed.header();
    // The header is shown even when the drill records cannot be read.
    let drills = health::evaluate(&path, header, &args.drills).map_err(|f| super::chain(&f));
    if args.json {
        return super::json_text(&status_json(&path, version, header, &drills));
    }
    Ok(Zeroizing::new(status_text(&path, version, header, &drills)))
}

/// A drill check, or why the drills file could not be read.
type Drills = Result<svault::health::Health, String>;

/// The file's format version (its first line; the open already checked it).
fn format_version(path: &Path) -> Result<u32, Failure> {
    let mut head = [0u8; 32];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Failure::io(format!("cannot read {}", path.display())).because(e))?;
    let line = head[..n].split(|&b| b == b'\n').next().unwrap_or_default();
    std::str::from_utf8(line)
        .ok()
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Failure::new("the format version line is damaged"))
}

fn status_text(path: &Path, version: u32, header: &Header, drills: &Drills) -> String {
    let split = &header.split;
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("vault: {}", sanitize(&path.display().to_string())));
    if version < VERSION {
        line(format!(
            "format version: {version} (written as format {VERSION} at its next save)"
        ));
    } else {
        line(format!("format version: {version}"));
    }
    line(format!(
        "generation: {}",
        generation_text(header.generation)
    ));
    line(format!("vault id: {}", to_hex(&header.vault_id.0)));
    line(format!("created: {}", utc(header.created)));
    let count = |g: usize| {
        header
            .officers
            .iter()
            .filter(|o| usize::from(o.group) == g)
            .count()
    };
    if let [only] = &split.groups[..] {
        line(format!(
            "threshold: {} of {} officers",
            only.member_threshold,
            count(0)
        ));
    } else {
        line(format!(
            "threshold: {} of {} groups",
            split.group_threshold,
            split.groups.len()
        ));
        for (g, group) in split.groups.iter().enumerate() {
            line(format!(
                "  group {}: {} of {} officers",
                sanitize(&group.name),
                group.member_threshold,
                count(g)
            ));
        }
    }
    line(format!(
        "split: SLIP-0039 identifier {}, {}-bit master secret, made {}",
        split.identifier,
        u16::from(split.secret_bytes) * 8,
        utc(split.created)
    ));
    line("officers:".into());
    for (i, o) in header.officers.iter().enumerate() {
        let group = split
            .groups
            .get(usize::from(o.group))
            .map(|g| sanitize(&g.name))
            .unwrap_or_default();
        let slot = if o.slot.is_some() { ", keyslot" } else { "" };
        let key = if o.drill_key.is_some() {
            ", drill key"
        } else {
            ", no drill key yet"
        };
        let drill = match drills.as_ref().ok().and_then(|h| h.officers.get(i)) {
            Some(oh) => format!("; {}", health::officer_note(oh)),
            None => String::new(),
        };
        line(format!(
            "  {} (group {group}, member {}{slot}{key}) fingerprint {}{drill}",
            sanitize(&o.name),
            u16::from(o.member) + 1,
            share_fingerprint(header, o)
        ));
    }
    let keyless = header.officers_without_drill_key();
    if keyless.is_empty() {
        line("drill keys: every officer has one".into());
    } else {
        line(format!(
            "drill keys: {} {} none yet; {NO_DRILL_KEY_HINT}",
            sanitize(&keyless.join(", ")),
            if keyless.len() == 1 { "has" } else { "have" },
        ));
    }
    match drills {
        Ok(h) => {
            line(format!("quorum: {}", health::summary(h)));
            line(format!(
                "drills: {}: {} counted, {} rejected, {} not counted",
                sanitize(
                    &svault::health::files::drills_path(path)
                        .display()
                        .to_string()
                ),
                h.verified_records,
                h.rejected,
                h.not_counted
            ));
            for l in health::ignored_lines(h) {
                line(format!("  {l}"));
            }
        }
        Err(why) => line(format!("drills: {}", sanitize(why))),
    }
    let slots: Vec<String> = header
        .officers
        .iter()
        .filter(|o| o.slot.is_some())
        .map(|o| sanitize(&o.name))
        .collect();
    line(format!(
        "keyslots: {}",
        if slots.is_empty() {
            "none".into()
        } else {
            slots.join(", ")
        }
    ));
    match &header.ceremony {
        Some(c) => line(format!(
            "ceremony: {}, {}, verified: {}",
            utc(c.date),
            sanitize(&c.method),
            if c.verified.is_empty() {
                "nobody".into()
            } else {
                sanitize(&c.verified.join(", "))
            }
        )),
        None => line("ceremony: no record for the current split".into()),
    }
    if header.retired_splits.is_empty() {
        line("retired splits: none".into());
    } else {
        for r in &header.retired_splits {
            line(format!(
                "retired split: identifier {}, retired {}",
                r.identifier,
                utc(r.retired)
            ));
        }
    }
    line("credentials: not readable without the key (names and count are encrypted)".into());
    if let Some(holders) = header.keyslot_quorum() {
        line(format!(
            "warning: {KEYSLOT_QUORUM_WARNING} ({})",
            sanitize(&holders.join(", "))
        ));
    }
    out
}

/// How an officer without a drill key gets one (`status`).
const NO_DRILL_KEY_HINT: &str = "an officer gains one when their share (or keyslot) is among those entered for a command that saves the vault (`svault set`, `svault rm`, `svault add-officer`), and every officer gains one at `svault rekey`";

/// A header's generation as `status` shows it.
fn generation_text(generation: u64) -> String {
    if generation == 0 {
        "none (a format-1 file; generations start at its next save)".into()
    } else {
        generation.to_string()
    }
}

/// What `status` says of a vault whose keyslot holders alone meet the threshold.
const KEYSLOT_QUORUM_WARNING: &str = "keyslot holders alone can unseal this vault: the file and their passphrases open it (and every backup of it) without any share; rekey, or drop keyslots, to end this";

fn status_json(path: &Path, version: u32, header: &Header, drills: &Drills) -> serde_json::Value {
    let split = &header.split;
    let mut value = serde_json::json!({
        "vault": path.display().to_string(),
        "format_version": version,
        "generation": header.generation,
        "vault_id": to_hex(&header.vault_id.0),
        "created": header.created,
        "split": {
            "identifier": split.identifier,
            "secret_bits": u16::from(split.secret_bytes) * 8,
            "group_threshold": split.group_threshold,
            "created": split.created,
            "groups": split.groups.iter().enumerate().map(|(g, group)| serde_json::json!({
                "name": group.name,
                "member_threshold": group.member_threshold,
                "members": header.officers.iter().filter(|o| usize::from(o.group) == g).count(),
            })).collect::<Vec<_>>(),
        },
        "officers": header.officers.iter().map(|o| serde_json::json!({
            "name": o.name,
            "group": o.group,
            "member": o.member,
            "keyslot": o.slot.is_some(),
            "fingerprint": share_fingerprint(header, o),
            "drill_key": o.drill_key.is_some(),
        })).collect::<Vec<_>>(),
        "officers_without_drill_key": header.officers_without_drill_key(),
        "ceremony": header.ceremony.as_ref().map(|c| serde_json::json!({
            "date": c.date,
            "method": c.method,
            "verified": c.verified,
        })),
        "retired_splits": header.retired_splits.iter().map(|r| serde_json::json!({
            "identifier": r.identifier,
            "retired": r.retired,
        })).collect::<Vec<_>>(),
        "credentials": serde_json::Value::Null,
        "credentials_readable": false,
        "keyslot_quorum": header.keyslot_quorum(),
        "warnings": header.keyslot_quorum().map(|_| vec![KEYSLOT_QUORUM_WARNING]).unwrap_or_default(),
    });
    match drills {
        Ok(h) => {
            let (officers, extra) =
                health::json_parts(h, &svault::health::files::drills_path(path));
            if let Some(list) = value["officers"].as_array_mut() {
                for (o, more) in list.iter_mut().zip(officers) {
                    if let (Some(o), serde_json::Value::Object(more)) = (o.as_object_mut(), more) {
                        o.extend(more);
                    }
                }
            }
            if let (Some(v), serde_json::Value::Object(extra)) = (value.as_object_mut(), extra) {
                v.extend(extra);
            }
        }
        Err(why) => {
            value["quorum"] = serde_json::Value::Null;
            value["drills"] = serde_json::json!({ "error": why });
        }
    }
    value
}

// ------------------------------------------------------------------------ get / set

/// How every quorum command gets the master secret (the start of their long help).
macro_rules! quorum_help {
    () => {
        "The master secret comes from the officers: --share-file F (repeatable), --keyslot NAME
with --passphrase-file NAME=FILE, and then, at a terminal, shares typed one at a time
with echo off (the result shown after each; an empty line stops)."
    };
}

/// Arguments of `svault get`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = GET_HELP)]
pub struct GetArgs {
    /// The vault file (omit with --socket).
    vault: Option<PathBuf>,
    /// The credential's name.
    name: Option<String>,
    /// Ask the agent on this socket instead.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    #[command(flatten)]
    quorum: QuorumArgs,
}

const GET_HELP: &str = "\
Prints the stored bytes exactly; a newline is added only when stdout is a terminal.

The master secret comes from the officers: --share-file F (repeatable), --keyslot NAME
with --passphrase-file NAME=FILE, and then, at a terminal, shares typed one at a time
with echo off (the result shown after each; an empty line stops). With --socket, a
running agent answers instead.

Examples:
  svault get app.svault db/password --share-file a.share --share-file b.share --share-file c.share
  svault get app.svault db/password        # officers type their shares
  svault get --socket /run/svault.sock db/password";

/// VAULT NAME, or just NAME with --socket (clap fills VAULT first).
fn vault_and_name(
    vault: Option<PathBuf>,
    name: Option<String>,
    socket: &Option<PathBuf>,
) -> Result<(Option<PathBuf>, String), Failure> {
    match (vault, name) {
        (Some(v), Some(n)) => Ok((Some(v), n)),
        // One argument with an agent in reach (--socket or SVAULT_SOCKET): it is the name.
        (Some(v), None) if socket.is_some() || std::env::var_os("SVAULT_SOCKET").is_some() => {
            Ok((None, v.to_string_lossy().into_owned()))
        }
        _ => Err(Failure::usage(
            "give the vault file and the credential's name",
        )),
    }
}

/// Prints a credential's value.
pub fn run_get(args: GetArgs) -> Output {
    let (vault, name) = vault_and_name(args.vault, args.name, &args.socket)?;
    if let Some(socket) = agent_socket(&args.socket, &vault) {
        return agent::run_get(agent::GetArgs {
            socket: Some(socket),
            name,
        });
    }
    let path = require_vault(vault)?;
    let unsealed = quorum::unseal(&path, &args.quorum)?;
    let value = unsealed.get(&name).ok_or_else(|| missing(&name, &path))?;
    emit(value.expose())?;
    if io::stdout().is_terminal() {
        emit(b"\n")?;
    }
    nothing()
}

fn missing(name: &str, path: &Path) -> Failure {
    Failure::new(format!(
        "{} has no credential named '{}'; `svault list` shows the names",
        path.display(),
        sanitize(name)
    ))
}

/// Arguments of `svault set`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
The value is read from stdin, exactly as given (printf '%s' avoids a trailing
newline), or, when stdin is a terminal, typed twice with echo off. It is never taken
from the command line.

The master secret comes from the officers: --share-file F (repeatable), --keyslot NAME
with --passphrase-file NAME=FILE, and then, at a terminal, shares typed one at a time
with echo off.

Examples:
  printf '%s' \"$PW\" | svault set app.svault db/password --share-file a.share --share-file b.share --share-file c.share
  svault set app.svault api/token          # officers type shares, then the value")]
pub struct SetArgs {
    /// The vault file.
    vault: PathBuf,
    /// The credential's name (1 to 255 bytes, no spaces or control characters).
    name: String,
    #[command(flatten)]
    quorum: QuorumArgs,
}

/// Sets a credential from stdin or a hidden prompt, and saves.
pub fn run_set(args: SetArgs) -> Output {
    if !valid_name(&args.name) {
        return Err(Failure::usage(format!(
            "'{}' is not a valid credential name: use 1 to 255 bytes without spaces or control characters",
            sanitize(&args.name)
        )));
    }
    let mut console = quorum::terminal();
    let mut unsealed = quorum::unseal_with(&args.vault, &args.quorum, &mut console)?;
    let value = if io::stdin().is_terminal() {
        let prompt = format!("value for {} (input is not shown):", args.name);
        let first = read_secret(&mut console, &prompt)?;
        let again = read_secret(&mut console, "the same value again:")?;
        if *first != *again {
            return Err(Failure::new(
                "the two values differ; nothing was saved, run the command again",
            ));
        }
        SecretBytes::new(first.as_bytes().to_vec())
    } else {
        let mut bytes = Vec::with_capacity(4096);
        io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::io("cannot read the value from stdin").because(e))?;
        SecretBytes::new(bytes)
    };
    let len = value.len();
    unsealed
        .set(&args.name, value)
        .map_err(|e| Failure::usage(e.to_string()))?;
    save(&mut unsealed)?;
    Ok(Zeroizing::new(format!(
        "saved {} ({len} bytes)\n",
        sanitize(&args.name)
    )))
}

fn save(unsealed: &mut Unsealed) -> Result<(), Failure> {
    unsealed.save().map_err(|e| match e {
        svault::vault::SaveError::Io { .. } => Failure::io(format!("{e}; nothing was changed")),
        _ => Failure::new(e.to_string()),
    })
}

/// `svault rm --help`: the quorum options and an example.
const RM_HELP: &str = concat!(
    quorum_help!(),
    "\n\n",
    "Examples:\n",
    "  # Three officers at this terminal:\n",
    "  svault rm app.svault old/api-token\n",
    "  # Scripted:\n",
    "  svault rm app.svault old/api-token --share-file a.share --share-file b.share --share-file c.share"
);

/// `svault list --help`: the quorum options and examples.
const LIST_HELP: &str = concat!(
    quorum_help!(),
    "\n\n",
    "Examples:\n",
    "  svault list app.svault --share-file a.share --share-file b.share --share-file c.share\n",
    "  svault list app.svault --json --keyslot erin --passphrase-file erin=/run/erin.pass ...\n",
    "  svault list --socket /run/svault.sock      # from a running, unsealed agent"
);

/// Arguments of `svault rm`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = RM_HELP)]
pub struct RmArgs {
    /// The vault file.
    vault: PathBuf,
    /// The credential's name.
    name: String,
    #[command(flatten)]
    quorum: QuorumArgs,
}

/// Removes a credential and saves.
pub fn run_rm(args: RmArgs) -> Output {
    let mut unsealed = quorum::unseal(&args.vault, &args.quorum)?;
    if !unsealed.remove(&args.name) {
        return Err(missing(&args.name, &args.vault));
    }
    save(&mut unsealed)?;
    Ok(Zeroizing::new(format!(
        "removed {}\n",
        sanitize(&args.name)
    )))
}

/// Arguments of `svault list`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = LIST_HELP)]
pub struct ListArgs {
    /// The vault file (omit with --socket).
    vault: Option<PathBuf>,
    /// Ask the agent on this socket instead.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Print names and metadata as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    quorum: QuorumArgs,
}

/// Names and metadata of every credential; never values.
pub fn run_list(args: ListArgs) -> Output {
    if let Some(socket) = agent_socket(&args.socket, &args.vault) {
        return agent::run_list(agent::ListArgs {
            socket: Some(socket),
        });
    }
    let path = require_vault(args.vault)?;
    let unsealed = quorum::unseal(&path, &args.quorum)?;
    let entries = unsealed.list();
    if args.json {
        let value: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name, "len": e.len, "created": e.created, "updated": e.updated,
                })
            })
            .collect();
        return super::json_text(&value);
    }
    let mut out = String::new();
    for e in entries {
        out.push_str(&format!(
            "{}\t{} bytes\tupdated {}\n",
            sanitize(&e.name),
            e.len,
            utc(e.updated)
        ));
    }
    Ok(Zeroizing::new(out))
}

// ----------------------------------------------------------------------------- exec

/// Arguments of `svault exec`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Runs CMD directly (no shell) with credentials in its environment; svault is replaced
by CMD, so CMD's exit status is the command's. Without --env, every credential whose
name gives a valid variable name is set: the name upper-cased, every character other
than a letter or digit turned into '_' (db/password -> DB_PASSWORD); names that would
start with a digit are skipped. Nothing is run when two names give the same variable,
or when a name gives a variable that changes how programs load or run (LD_*, PATH,
HOME, BASH_ENV, ENV, IFS, PYTHON*, PERL5*, NODE_OPTIONS, RUBYOPT, GCONV_PATH,
SVAULT_*, ...): name such a variable with --env VAR=NAME if it is meant. The same
rules apply with --socket.

Examples:
  svault exec app.svault --share-file a.share --share-file b.share --share-file c.share -- ./server
  svault exec app.svault --env PGPASSWORD=db/password -- psql -h db")]
pub struct ExecArgs {
    /// The vault file (omit with --socket).
    vault: Option<PathBuf>,
    /// Ask the agent on this socket instead.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Set environment variable VAR to credential NAME (repeatable).
    #[arg(long = "env", value_name = "VAR=NAME")]
    env: Vec<String>,
    #[command(flatten)]
    quorum: QuorumArgs,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<OsString>,
}

/// A refused `--env` or name mapping: nothing is run.
pub(super) fn env_failure(error: svault::env::EnvError) -> Failure {
    use svault::env::EnvError;
    let usage = matches!(error, EnvError::Spec(_) | EnvError::Twice { .. });
    let message = sanitize(&error.to_string());
    if usage {
        Failure::usage(message)
    } else {
        Failure::new(message)
    }
}

/// Core dumps off and the process not dumpable (nor traceable by its own uid) before
/// any secret is read: every command that handles one calls this first (see
/// `handles_secrets` in the CLI's dispatch), through `svault::agent::harden_process`,
/// the one place that does it. Best effort: a refusal by the OS does not stop the
/// command. `exec`'s program inherits `RLIMIT_CORE` 0 (the dumpable flag is reset by
/// exec).
pub(super) fn harden() {
    let _ = svault::agent::harden_process();
}

/// Runs a command with credentials in its environment, replacing this process.
pub fn run_exec(args: ExecArgs) -> Output {
    use std::os::unix::process::CommandExt;
    if let Some(socket) = agent_socket(&args.socket, &args.vault) {
        return agent::run_exec(agent::ExecArgs {
            socket: Some(socket),
            env: args.env,
            command: args.command,
        });
    }
    let explicit = svault::env::explicit(&args.env).map_err(env_failure)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Failure::usage("give the command to run after --"))?;
    let path = require_vault(args.vault)?;
    let unsealed = quorum::unseal(&path, &args.quorum)?;
    let bindings = if args.env.is_empty() {
        svault::env::automatic(unsealed.list().into_iter().map(|e| e.name)).map_err(env_failure)?
    } else {
        explicit
    };
    let mut command = std::process::Command::new(program);
    command.args(rest);
    for b in &bindings {
        let value = unsealed
            .get(&b.name)
            .ok_or_else(|| missing(&b.name, &path))?;
        command.env(
            &b.var,
            svault::env::value(&b.name, value).map_err(env_failure)?,
        );
    }
    let error = command.exec();
    Err(Failure::io(format!(
        "cannot run {}: check the command's name and PATH",
        sanitize(&program.to_string_lossy())
    ))
    .because(error))
}

// ------------------------------------------------------------------ completions, man

/// Arguments of `svault completions`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Example:
  svault completions bash > /etc/bash_completion.d/svault")]
pub struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Prints a shell completion script made from the command-line definition.
pub fn run_completions(args: CompletionsArgs) -> Output {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut super::Cli::command(), "svault", &mut out);
    String::from_utf8(out)
        .map(Zeroizing::new)
        .map_err(|_| Failure::new("the completion script is not UTF-8"))
}

/// Arguments of `svault man`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Examples:
  svault man > svault.1 && man ./svault.1
  svault man --out-dir man/      # svault.1, svault-agent.1, svault-shamir-split.1, ...")]
pub struct ManArgs {
    /// Write every page (svault.1 and one per subcommand, svault-SUBCOMMAND.1) into
    /// this existing directory instead of printing the main page; prints the names.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Prints the manual page (roff) made from the command-line definition, or writes the
/// pages of every subcommand too.
pub fn run_man(args: ManArgs) -> Output {
    use clap::CommandFactory;
    let Some(dir) = args.out_dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(super::Cli::command())
            .render(&mut out)
            .map_err(|e| Failure::io("cannot render the manual page").because(e))?;
        return String::from_utf8(out)
            .map(Zeroizing::new)
            .map_err(|_| Failure::new("the manual page is not UTF-8"));
    };
    // No `help` subcommand page: `svault help X` is `svault X --help`.
    let mut cli = super::Cli::command().disable_help_subcommand(true);
    cli.build();
    let mut written = String::new();
    write_pages(cli, &dir, &mut written)?;
    Ok(Zeroizing::new(written))
}

/// Writes the page of `cmd` and of each of its visible subcommands, recursively, into
/// `dir`, and appends each file's path to `written`, one a line.
fn write_pages(cmd: clap::Command, dir: &Path, written: &mut String) -> Result<(), Failure> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, written)?;
    }
    let page = clap_mangen::Man::new(cmd);
    let path = dir.join(page.get_filename());
    page.generate_to(dir).map_err(|e| {
        Failure::io(format!(
            "cannot write the manual page {}: check that the directory exists and is writable",
            sanitize(&path.to_string_lossy())
        ))
        .because(e)
    })?;
    written.push_str(&path.to_string_lossy());
    written.push('\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_env_names() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_825_600), "2000-02-29 12:00:00 UTC");
    }
}
