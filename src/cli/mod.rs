//! The `svault` command line: argument types (clap derive), dispatch, exit statuses
//! and error reporting. Each subcommand lives in its own module and only drives the
//! library; no cryptography is done here.
//!
//! Conventions every subcommand follows:
//!
//! - output goes to stdout in one write at the very end, so a failure leaves stdout
//!   empty;
//! - every line on stderr starts with `svault: `, and an error is printed with its
//!   whole chain of causes, joined by `: `;
//! - text that came from the input is sanitised before it is printed (control and
//!   bidirectional-formatting characters are escaped), and no secret is ever part of a
//!   message;
//! - a closed stdout (broken pipe) ends the program quietly.

use std::error::Error as StdError;
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod agent;
mod bao;
mod ceremony;
mod health;
pub mod quorum;
mod shamir;
mod sheet;
mod vault_cmds;

/// The documented exit statuses, shown at the end of `svault --help`.
const EXIT_STATUSES: &str = "\
Exit status:
  0  success (also when stdout is closed early, e.g. piped into `head`); for `exec`,
     the command's own status
  1  check or integrity failure: a share or passphrase refused, too few shares, a
     damaged vault or one from a newer version, a missing credential, bad input
     (`shamir` also uses 1 for a file it cannot read)
  2  usage or I/O error: unknown option, missing or conflicting arguments; a vault,
     share or passphrase file that cannot be read or written; a failing terminal
  3  inconsistent share set: `shamir check` (or `combine --threshold`) found shares
     that do not agree, or could not tell which one is wrong

No colour is ever printed, so NO_COLOR needs nothing.";

/// `svault --version`: the crate version and the commit it was built from (`unknown`
/// outside a git checkout; see build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SVAULT_COMMIT"),
    ")"
);

/// A credential vault whose master key exists only as Shamir shares held by officers.
///
/// Errors go to stderr, every line starting with `svault: `; the exit status says
/// what happened (see below).
#[derive(Debug, Parser)]
#[command(
    name = "svault",
    version = VERSION,
    about = "A credential vault whose master key exists only as Shamir shares",
    after_help = "Exit status: 0 success, 1 failure, 2 usage error, 3 inconsistent share set (--help for more)",
    after_long_help = EXIT_STATUSES
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Split a secret into shares, combine shares, or check a share set — without any
    /// vault file.
    ///
    /// A general Shamir tool (like `ssss`) over GF(256), speaking SLIP-0039 words and
    /// HashiCorp Vault / OpenBao unseal keys (hex or base64). It is also the way back to
    /// a vault's master key if the vault file or this program's other commands are ever
    /// lost: any SLIP-0039 tool, or Vault's own code, can do the same.
    #[command(after_long_help = EXIT_STATUSES)]
    Shamir(shamir::Args),
    /// Serve a vault over a Unix socket: sealed until officers submit their shares,
    /// then credentials to the callers the policy allows (docs/AGENT.md).
    Agent(agent::AgentArgs),
    /// Submit your share (or keyslot passphrase) to a running agent, or --reset.
    Unseal(agent::UnsealArgs),
    /// Make a running agent wipe its key and credentials from memory.
    Seal(agent::SealArgs),
    /// The drill: check one officer's share (or keyslot passphrase) against the vault
    /// alone, no quorum needed.
    Verify(vault_cmds::VerifyArgs),
    /// A vault's header (no key needed): format version, id, threshold, officers,
    /// keyslots, ceremony record; or a running agent's state with --socket.
    Status(vault_cmds::StatusArgs),
    /// The quorum margin from the officers' signed drill records: exit 1 when it is
    /// below --min-margin, naming who must drill (docs/HEALTH.md).
    Health(health::HealthArgs),
    /// Print a credential's value (quorum needed), or ask a running agent with --socket.
    Get(vault_cmds::GetArgs),
    /// Set a credential from stdin or a hidden prompt (quorum needed).
    Set(vault_cmds::SetArgs),
    /// Remove a credential (quorum needed).
    Rm(vault_cmds::RmArgs),
    /// List credential names and metadata, never values (quorum needed), or ask a
    /// running agent with --socket.
    List(vault_cmds::ListArgs),
    /// Run a command (no shell) with credentials in its environment; its exit status is
    /// passed through.
    Exec(vault_cmds::ExecArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(vault_cmds::CompletionsArgs),
    /// Print the manual page (roff).
    Man(vault_cmds::ManArgs),
    /// Create a vault: split a new master secret and verify every share with the
    /// officer who will hold it (the ceremony); nothing is written unless all pass.
    Init(ceremony::InitArgs),
    /// Add an officer with a new share on the same polynomial, after a quorum.
    AddOfficer(ceremony::AddOfficerArgs),
    /// Replace the master secret and every share (a new ceremony), after a quorum.
    Rekey(ceremony::RekeyArgs),
    /// OpenBao clusters: a verified unseal-key ceremony, checked unseal, drills.
    Bao(bao::BaoArgs),
}

/// A process exit status. The numbers are part of the interface: scripts rely on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Everything worked (or stdout was closed early).
    Success = 0,
    /// Bad input, a refused operation, an unreadable file.
    Failure = 1,
    /// The command line itself is wrong (clap's own status for usage errors).
    Usage = 2,
    /// A share set is not consistent: some shares do not agree with the others.
    Inconsistent = 3,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// Why a command failed: a message (without secrets), the status to exit with, and
/// the underlying cause, if any.
#[derive(Debug)]
pub struct Failure {
    status: Status,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Failure {
    /// A failure (status 1) with this message.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            status: Status::Failure,
            message: message.into(),
            source: None,
        }
    }

    /// A usage error (status 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            status: Status::Usage,
            ..Failure::new(message)
        }
    }

    /// An input or output error (status 2, like a usage error): a file that cannot be
    /// read or written, a terminal that fails.
    pub fn io(message: impl Into<String>) -> Failure {
        Failure {
            status: Status::Usage,
            ..Failure::new(message)
        }
    }

    /// An inconsistent share set (status 3).
    pub fn inconsistent(message: impl Into<String>) -> Failure {
        Failure {
            status: Status::Inconsistent,
            ..Failure::new(message)
        }
    }

    /// The same failure, caused by `source`.
    pub fn because(mut self, source: impl StdError + Send + Sync + 'static) -> Failure {
        self.source = Some(Box::new(source));
        self
    }

    /// The status to exit with.
    pub fn status(&self) -> Status {
        self.status
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// Runs the command line and returns the exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return report_clap(&error).into(),
    };
    // Everything printed is sanitised line by line, except the bytes of a credential
    // (`get`) and what is generated from this program's own definitions.
    let raw = matches!(
        cli.command,
        Command::Get(_) | Command::Completions(_) | Command::Man(_)
    );
    if handles_secrets(&cli.command) {
        vault_cmds::harden();
    }
    let result = match cli.command {
        Command::Shamir(args) => shamir::run(args),
        Command::Agent(args) => agent::run_agent(args),
        Command::Unseal(args) => agent::run_unseal(args),
        Command::Seal(args) => agent::run_seal(args),
        Command::Verify(args) => vault_cmds::run_verify(args),
        Command::Status(args) => vault_cmds::run_status(args),
        Command::Health(args) => health::run_health(args),
        Command::Get(args) => vault_cmds::run_get(args),
        Command::Set(args) => vault_cmds::run_set(args),
        Command::Rm(args) => vault_cmds::run_rm(args),
        Command::List(args) => vault_cmds::run_list(args),
        Command::Exec(args) => vault_cmds::run_exec(args),
        Command::Completions(args) => vault_cmds::run_completions(args),
        Command::Man(args) => vault_cmds::run_man(args),
        Command::Init(args) => ceremony::run_init(args),
        Command::AddOfficer(args) => ceremony::run_add_officer(args),
        Command::Rekey(args) => ceremony::run_rekey(args),
        Command::Bao(args) => bao::run(args),
    };
    match result {
        Ok(output) if raw => write_stdout(output.as_bytes()).into(),
        Ok(output) => write_stdout(sanitize_lines(&output).as_bytes()).into(),
        Err(failure) => {
            report(&failure);
            failure.status().into()
        }
    }
}

/// Whether a command may hold a share, a passphrase, the master secret or a
/// credential: the ceremonies (`init`, `add-officer`, `rekey`), `shamir`, `verify`,
/// `unseal`, the quorum commands (`get`, `set`, `rm`, `list` from a file), `exec` and
/// `bao`. These disable core dumps before reading anything (`vault_cmds::harden`).
/// The agent hardens itself (`svault::agent::Config::harden`); `status`, `seal`,
/// `completions` and `man` see no secret.
fn handles_secrets(command: &Command) -> bool {
    !matches!(
        command,
        Command::Agent(_)
            | Command::Status(_)
            | Command::Seal(_)
            | Command::Completions(_)
            | Command::Man(_)
    )
}

/// Writes the command's output; a closed stdout ends quietly.
fn write_stdout(bytes: &[u8]) -> Status {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Status::Success,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Status::Success,
        Err(e) => {
            report(&Failure::new("cannot write to stdout").because(e));
            Status::Failure
        }
    }
}

/// Prints clap's help or version on stdout (status 0), or its usage error on stderr
/// with each line prefixed like every other error (status 2).
fn report_clap(error: &clap::Error) -> Status {
    use clap::error::ErrorKind;
    let text = error.render().to_string();
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            if !error.use_stderr() =>
        {
            write_stdout(text.as_bytes())
        }
        _ => {
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            eprint_lines(text.trim_end());
            Status::Usage
        }
    }
}

/// Prints `error` and its causes on one line, joined by `: `, each cause once (a
/// cause whose text the message already includes is skipped).
pub fn report(error: &(dyn StdError + 'static)) {
    eprint_lines(&chain(error));
}

/// `error` and its causes, joined by `: `, skipping a cause already quoted.
pub(crate) fn chain(error: &(dyn StdError + 'static)) -> String {
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

/// Prints each line of `text` on stderr, sanitised and prefixed with `svault: `.
pub fn eprint_lines(text: &str) {
    let mut out = String::new();
    for line in text.lines() {
        if !line.trim().is_empty() {
            out.push_str("svault: ");
            out.push_str(&sanitize(line));
            out.push('\n');
        }
    }
    // Nothing sensible is left to do when stderr itself cannot be written.
    let _ = io::stderr().lock().write_all(out.as_bytes());
}

/// Escapes what a terminal would interpret rather than show: control characters
/// (escape sequences could rewrite the screen) and bidirectional-formatting characters
/// (which could make a message read differently from what it says).
pub fn sanitize(text: &str) -> String {
    svault::prompt::sanitize(text)
}

/// [`sanitize`] applied to each line of `text`, its line breaks and column tabs kept: the form every
/// command's output takes on stdout (text from a vault header or an agent included).
pub fn sanitize_lines(text: &str) -> zeroize::Zeroizing<String> {
    let mut out = zeroize::Zeroizing::new(String::with_capacity(text.len()));
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        // Tabs separate the columns the commands print themselves; a tab in the
        // input was already escaped by the command.
        for (i, field) in body.split('\t').enumerate() {
            if i > 0 {
                out.push('\t');
            }
            out.push_str(&sanitize(field));
        }
        out.push_str(newline);
    }
    out
}

/// `value` as pretty JSON with a newline, every character a terminal would act on
/// written as a `\uXXXX` escape: the same data, and nothing for the sanitiser to
/// change, so the output stays valid JSON.
pub fn json_text(value: &impl serde::Serialize) -> Result<zeroize::Zeroizing<String>, Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new("cannot encode the output as JSON").because(e))?;
    let mut out = zeroize::Zeroizing::new(String::with_capacity(text.len() + 1));
    for c in text.chars() {
        // serde_json escapes newlines inside strings, so a raw one is layout.
        if c != '\n' && svault::vault::format::is_terminal_control(c) {
            // Every such character is in the Basic Multilingual Plane: one escape.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sanitize_escapes_terminal_controls() {
        assert_eq!(sanitize("a\u{1b}[2Jb"), r"a\u{1b}[2Jb");
        assert_eq!(sanitize("tab\there"), r"tab\there");
        assert_eq!(sanitize("x\u{202e}y"), r"x\u{202e}y");
        assert_eq!(sanitize("café 'zzzz'"), "café 'zzzz'");
    }

    #[test]
    fn output_lines_are_sanitised_and_json_stays_json() {
        let text = "progress: 1 of 2\u{1b}]0;owned\u{7}\nname \u{9b}31m\n";
        let shown = sanitize_lines(text);
        assert!(!shown.contains(['\u{1b}', '\u{7}', '\u{9b}']));
        assert_eq!(shown.lines().count(), 2);
        assert!(shown.ends_with('\n'));
        let value = serde_json::json!({ "name": "a\u{1b}[2J\u{9b}\u{202e}b\u{7f}" });
        let json = json_text(&value).unwrap();
        assert!(
            !json
                .chars()
                .any(|c| c != '\n' && svault::vault::format::is_terminal_control(c))
        );
        assert_eq!(
            *sanitize_lines(&json),
            *json,
            "nothing left for the sanitiser"
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, value, "the same data");
    }

    #[test]
    fn causes_are_joined_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("inner")]
        struct Inner;
        let failure = Failure::new("outer").because(Inner);
        assert_eq!(chain(&failure), "outer: inner");
        let quoted = Failure::new("outer: inner").because(Inner);
        assert_eq!(chain(&quoted), "outer: inner");
        assert_eq!(Status::Inconsistent as u8, 3);
    }
}
