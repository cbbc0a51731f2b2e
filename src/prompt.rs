//! Talking to the officers at a console, and the quorum flow built on it: gathering
//! enough shares (from files, keyslot passphrases and people typing) to unseal a vault.
//!
//! [`Console`] is what the flow needs from a screen and keyboard: show a line, read a
//! line, read a line with echo off. [`TerminalConsole`] is the real one (the
//! controlling terminal, hidden input through `rpassword`); [`ScriptedConsole`] plays
//! queued answers and records what was shown, for tests and for applications that
//! drive the flow themselves.
//!
//! [`gather_quorum`] first uses the non-interactive sources the caller names
//! ([`QuorumSources`]), then, while shares are still missing and the console is
//! interactive, asks for one share at a time:
//!
//! ```text
//! vault 3f2a…: 3 of 8 officers' shares needed. 0 of 3, need 3 more
//! share (words, or "keyslot NAME"; empty line to stop):
//! accepted: dave (member 4). 1 of 3, need 2 more
//! share (words, or "keyslot NAME"; empty line to stop):
//! refused: word 7 'acadmic' is not in the SLIP-0039 word list…; progress unchanged: 1 of 3, need 2 more
//! ```
//!
//! Share words and passphrases are read with echo off and never shown or logged.
//!
//! ```
//! use svault::prompt::{QuorumSources, ScriptedConsole, gather_quorum};
//! use svault::vault::{Draft, Plan, Vault};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("app.svault");
//! let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"]))?;
//! let words: Vec<String> = draft.issued().iter().map(|i| i.share.to_words().to_string()).collect();
//! draft.write_new(&path, None)?;
//!
//! // bob has a share file; carol types hers at the console.
//! std::fs::write(dir.path().join("bob.share"), format!("{}\n# bob\n", words[1]))?;
//! let sources = QuorumSources {
//!     share_files: vec![dir.path().join("bob.share")],
//!     ..QuorumSources::default()
//! };
//! let mut console = ScriptedConsole::new([words[2].as_str()]);
//! let mut sealed = Vault::open(&path)?;
//! let vault = gather_quorum(&mut sealed, &mut console, &sources)?;
//! assert!(vault.list().is_empty());
//! assert!(console.transcript().contains("accepted: carol (member 3). 2 of 2, ready to unseal"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::share::slip39::{self, Slip39Share, strip_one_line_ending};
use crate::vault::format::to_hex;
use crate::vault::{Officer, Progress, Sealed, SubmitError, UnsealError, Unsealed};

/// A screen and keyboard for one person at a time.
pub trait Console {
    /// Shows one line of text (no secret is ever passed here).
    ///
    /// # Errors
    ///
    /// When the console cannot be written.
    fn say(&mut self, line: &str) -> io::Result<()>;

    /// Shows `prompt` and reads one line, echoed; `None` at end of input. The line
    /// ending is removed.
    ///
    /// # Errors
    ///
    /// When the console cannot be read.
    fn read_line(&mut self, prompt: &str) -> io::Result<Option<String>>;

    /// Shows `prompt` and reads one line with echo off; `None` at end of input. The
    /// line ending is removed; the text is wiped when dropped.
    ///
    /// # Errors
    ///
    /// When the console cannot be read, or echo cannot be turned off.
    fn read_hidden(&mut self, prompt: &str) -> io::Result<Option<Zeroizing<String>>>;

    /// Whether a person can answer (false: the flow must not ask anything).
    fn is_interactive(&self) -> bool;
}

/// The controlling terminal (`/dev/tty`): lines are written to it, hidden input is
/// read from it with echo off (`rpassword`). Interactive only when standard input or
/// standard error is a terminal *and* `/dev/tty` can be opened, so a program run from
/// a script or a test never stops to ask.
///
/// Every line shown has control and bidirectional-formatting characters escaped
/// (officer names and error messages come from files), and starts with the prefix
/// given to [`TerminalConsole::with_prefix`].
#[derive(Debug)]
pub struct TerminalConsole {
    tty: Option<(File, BufReader<File>)>,
    prefix: String,
}

impl TerminalConsole {
    /// The controlling terminal, if this process has one and is used interactively.
    pub fn new() -> TerminalConsole {
        let wanted = io::stdin().is_terminal() || io::stderr().is_terminal();
        let tty = if wanted {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .and_then(|f| Ok((f.try_clone()?, BufReader::new(f))))
                .ok()
        } else {
            None
        };
        TerminalConsole {
            tty,
            prefix: String::new(),
        }
    }

    /// A console that can never ask: every read finds end of input.
    pub fn none() -> TerminalConsole {
        TerminalConsole {
            tty: None,
            prefix: String::new(),
        }
    }

    /// Starts every line shown with `prefix` (e.g. `"svault: "`).
    pub fn with_prefix(mut self, prefix: &str) -> TerminalConsole {
        self.prefix = prefix.to_owned();
        self
    }

    fn show(&mut self, text: &str, newline: bool) -> io::Result<()> {
        let mut out = format!("{}{}", self.prefix, sanitize(text));
        if newline {
            out.push('\n');
        }
        match &mut self.tty {
            Some((w, _)) => {
                w.write_all(out.as_bytes())?;
                w.flush()
            }
            None => {
                let mut e = io::stderr().lock();
                e.write_all(out.as_bytes())?;
                e.flush()
            }
        }
    }
}

impl Default for TerminalConsole {
    fn default() -> TerminalConsole {
        TerminalConsole::new()
    }
}

impl Console for TerminalConsole {
    fn say(&mut self, line: &str) -> io::Result<()> {
        self.show(line, true)
    }

    fn read_line(&mut self, prompt: &str) -> io::Result<Option<String>> {
        if self.tty.is_none() {
            return Ok(None);
        }
        self.show(prompt, false)?;
        let Some((_, reader)) = &mut self.tty else {
            return Ok(None);
        };
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        Ok(Some(trim_line_ending(&line).to_owned()))
    }

    fn read_hidden(&mut self, prompt: &str) -> io::Result<Option<Zeroizing<String>>> {
        if self.tty.is_none() {
            return Ok(None);
        }
        let shown = format!("{}{}", self.prefix, sanitize(prompt));
        let text = Zeroizing::new(rpassword::prompt_password(shown)?);
        Ok(Some(Zeroizing::new(trim_line_ending(&text).to_owned())))
    }

    fn is_interactive(&self) -> bool {
        self.tty.is_some()
    }
}

/// Whether an officer is typing at this process's terminal and reading its messages
/// there: standard input and standard error are both terminals. Only then may a
/// share-text error show its words ([`slip39::ParseError::terminal_message`]); with a
/// pipe, a file or a redirected stderr (a log, a journal) it gives positions only.
pub fn officer_at_terminal() -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal()
}

fn trim_line_ending(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// A console that plays queued answers and records everything shown, for tests and
/// for driving the flow from another user interface. Reads past the last answer find
/// end of input.
#[derive(Default)]
pub struct ScriptedConsole {
    answers: VecDeque<Zeroizing<String>>,
    transcript: String,
    hidden_reads: usize,
    visible_reads: usize,
    interactive: bool,
}

impl std::fmt::Debug for ScriptedConsole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedConsole")
            .field("answers_left", &self.answers.len())
            .field("transcript", &self.transcript)
            .finish()
    }
}

impl ScriptedConsole {
    /// An interactive console that will answer with `answers`, in order.
    pub fn new<I, S>(answers: I) -> ScriptedConsole
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ScriptedConsole {
            answers: answers
                .into_iter()
                .map(|a| Zeroizing::new(a.as_ref().to_owned()))
                .collect(),
            interactive: true,
            ..ScriptedConsole::default()
        }
    }

    /// A console nobody sits at: [`Console::is_interactive`] is false.
    pub fn non_interactive() -> ScriptedConsole {
        ScriptedConsole::default()
    }

    /// Everything shown so far: prompts and lines, each line ending in a newline.
    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    /// How many answers were read with echo off, and how many echoed.
    pub fn reads(&self) -> (usize, usize) {
        (self.hidden_reads, self.visible_reads)
    }

    /// Answers not yet read.
    pub fn answers_left(&self) -> usize {
        self.answers.len()
    }
}

impl Console for ScriptedConsole {
    fn say(&mut self, line: &str) -> io::Result<()> {
        self.transcript.push_str(line);
        self.transcript.push('\n');
        Ok(())
    }

    fn read_line(&mut self, prompt: &str) -> io::Result<Option<String>> {
        self.transcript.push_str(prompt);
        self.transcript.push('\n');
        self.visible_reads += 1;
        Ok(self.answers.pop_front().map(|a| a.to_string()))
    }

    fn read_hidden(&mut self, prompt: &str) -> io::Result<Option<Zeroizing<String>>> {
        self.transcript.push_str(prompt);
        self.transcript.push('\n');
        self.hidden_reads += 1;
        Ok(self.answers.pop_front())
    }

    fn is_interactive(&self) -> bool {
        self.interactive
    }
}

/// Escapes what a terminal would interpret rather than show: control characters
/// (escape sequences could rewrite the screen) and bidirectional-formatting characters
/// (which could make a message read differently from what it says).
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if crate::vault::format::is_terminal_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Where the quorum's shares come from before anyone is asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuorumSources {
    /// Share files: the first line holds the share's words; any further non-empty
    /// line must start with `#` (a comment), so a file holds exactly one share.
    pub share_files: Vec<PathBuf>,
    /// Keyslot officers, each with the file holding their passphrase (exactly one
    /// trailing `\n` or `\r\n` is removed), or `None` to ask for it at the console.
    pub keyslots: Vec<(String, Option<PathBuf>)>,
}

/// Gathering the quorum failed. Messages name the file, officer or share concerned
/// and end with what to do next; none carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuorumError {
    /// A share or passphrase file could not be read.
    #[error("cannot read {}: {source}; check the path and its permissions", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// A share file holds something besides one share.
    #[error(
        "{}: line {line} is neither empty nor a '#' comment; a share file holds one share on its first line"
    , path.display())]
    ShareFileFormat {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// A share from a file, or a keyslot, was refused.
    #[error("{what} was refused: {error}")]
    Refused {
        /// "share file F" or "keyslot of NAME".
        what: String,
        /// Why.
        error: SubmitError,
    },
    /// A keyslot's passphrase was needed, but there is nobody to ask.
    #[error(
        "no passphrase for {officer}'s keyslot: give --passphrase-file {officer}=FILE, or run at a terminal to type it"
    )]
    NoPassphrase {
        /// The officer.
        officer: String,
    },
    /// Too few shares, and nobody to ask for more.
    #[error(
        "not enough shares: {progress}; give more --share-file (or --keyslot) options, or run at a terminal to type shares"
    )]
    NotEnough {
        /// The progress.
        progress: String,
    },
    /// The person at the console stopped before the threshold.
    #[error("stopped before the threshold: {progress}; nothing was opened, run the command again")]
    GaveUp {
        /// The progress.
        progress: String,
    },
    /// The console failed.
    #[error("the terminal failed: {0}")]
    Console(#[source] io::Error),
    /// Every share matched its commitment but the vault did not open.
    #[error(transparent)]
    Unseal(#[from] UnsealError),
}

/// Reads a share file: the first line's words (later lines are `#` comments).
///
/// # Errors
///
/// [`QuorumError::Read`], [`QuorumError::ShareFileFormat`].
pub fn read_share_file(path: &Path) -> Result<Zeroizing<String>, QuorumError> {
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| QuorumError::Read {
                path: path.to_owned(),
                source,
            })?,
        );
    let mut lines = text.lines();
    let first = Zeroizing::new(lines.next().unwrap_or_default().trim().to_owned());
    for (i, line) in lines.enumerate() {
        let line = line.trim_start();
        if !line.is_empty() && !line.starts_with('#') {
            return Err(QuorumError::ShareFileFormat {
                path: path.to_owned(),
                line: i + 2,
            });
        }
    }
    Ok(first)
}

/// Reads a passphrase file, removing exactly one trailing line ending.
///
/// # Errors
///
/// [`QuorumError::Read`].
pub fn read_passphrase_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, QuorumError> {
    let bytes = std::fs::read(path).map_err(|source| QuorumError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(Zeroizing::new(strip_one_line_ending(bytes)))
}

/// How an accepted share is described: "dave (member 4)", or with the group's name
/// when the vault has several groups.
pub fn describe_officer(sealed: &Sealed, officer: &Officer) -> String {
    let groups = &sealed.header().split.groups;
    let member = u16::from(officer.member) + 1;
    match groups.get(usize::from(officer.group)) {
        Some(g) if groups.len() > 1 => {
            format!("{} (group {}, member {member})", officer.name, g.name)
        }
        _ => format!("{} (member {member})", officer.name),
    }
}

/// Identifies and submits one share; returns who it belonged to and the progress.
fn submit_share(
    sealed: &mut Sealed,
    share: Slip39Share,
) -> Result<(String, Progress), SubmitError> {
    let who = describe_officer(sealed, sealed.identify(&share)?);
    let progress = sealed.submit(share)?;
    Ok((who, progress))
}

/// Opens a keyslot (one key derivation) and submits the share inside.
fn submit_keyslot(
    sealed: &mut Sealed,
    officer: &str,
    passphrase: &[u8],
) -> Result<(String, Progress), SubmitError> {
    let share = sealed.open_slot(officer, passphrase)?;
    submit_share(sealed, share)
}

/// Gathers shares until the vault can be unsealed, then unseals it.
///
/// In order: each share file in `sources`, each keyslot in `sources` (its passphrase
/// from its file, or asked for with echo off), then — while the threshold is not met
/// and `console` is interactive — one share at a time from the console, echo off. An
/// answer `keyslot NAME` asks for NAME's passphrase instead; an empty answer or end of
/// input stops. After each console answer the result is shown: `accepted: dave
/// (member 4). 2 of 3, need 1 more`, or `refused: <why>; progress unchanged: …`.
/// A share or keyslot from `sources` that is refused ends the flow with an error
/// naming it (a script should not carry on past a bad input).
///
/// # Errors
///
/// [`QuorumError`]: a file unreadable or refused, too few shares with nobody to ask,
/// the person stopping early, the console failing, or the unseal failing.
///
/// # Security
///
/// Share words and passphrases are read with echo off, kept in wiped buffers, and
/// never passed to [`Console::say`] or put in an error.
pub fn gather_quorum(
    sealed: &mut Sealed,
    console: &mut dyn Console,
    sources: &QuorumSources,
) -> Result<Unsealed, QuorumError> {
    for path in &sources.share_files {
        let refused = |error: SubmitError| QuorumError::Refused {
            what: format!("the share in {}", path.display()),
            error,
        };
        let words = read_share_file(path)?;
        let share = slip39::parse(&words).map_err(|e| refused(e.into()))?;
        submit_share(sealed, share).map_err(refused)?;
    }
    for (officer, file) in &sources.keyslots {
        let passphrase = match file {
            Some(path) => read_passphrase_file(path)?,
            None => {
                if !console.is_interactive() {
                    return Err(QuorumError::NoPassphrase {
                        officer: officer.clone(),
                    });
                }
                let prompt = format!("passphrase for {officer}'s keyslot:");
                match console.read_hidden(&prompt).map_err(QuorumError::Console)? {
                    Some(p) => Zeroizing::new(p.as_bytes().to_vec()),
                    None => {
                        return Err(QuorumError::GaveUp {
                            progress: sealed.progress().to_string(),
                        });
                    }
                }
            }
        };
        submit_keyslot(sealed, officer, &passphrase).map_err(|error| QuorumError::Refused {
            what: format!("the keyslot of {officer}"),
            error,
        })?;
    }
    if !sealed.progress().is_complete() {
        if !console.is_interactive() {
            return Err(QuorumError::NotEnough {
                progress: sealed.progress().to_string(),
            });
        }
        prompt_for_shares(sealed, console)?;
    }
    Ok(sealed.unseal()?)
}

/// The interactive part of [`gather_quorum`].
fn prompt_for_shares(sealed: &mut Sealed, console: &mut dyn Console) -> Result<(), QuorumError> {
    let say =
        |console: &mut dyn Console, line: &str| console.say(line).map_err(QuorumError::Console);
    let header = sealed.header();
    let id: String = to_hex(&header.vault_id.0).chars().take(8).collect();
    let split = &header.split;
    let intro = if let [only] = &split.groups[..] {
        let count = header.officers.len();
        format!(
            "vault {id}…: shares of {} of its {count} officers are needed. {}",
            only.member_threshold,
            sealed.progress()
        )
    } else {
        format!(
            "vault {id}…: {} of its {} groups are needed. {}",
            split.group_threshold,
            split.groups.len(),
            sealed.progress()
        )
    };
    say(console, &intro)?;
    while !sealed.progress().is_complete() {
        let answer = console
            .read_hidden("share (words, or \"keyslot NAME\"; empty line to stop):")
            .map_err(QuorumError::Console)?;
        let Some(answer) = answer.filter(|a| !a.trim().is_empty()) else {
            return Err(QuorumError::GaveUp {
                progress: sealed.progress().to_string(),
            });
        };
        // A refusal is shown on this console only; a share-text error there may quote
        // the typed word and the correction (the officer's own terminal).
        let result = match answer.trim().strip_prefix("keyslot ") {
            Some(name) => {
                let name = name.trim().to_owned();
                let prompt = format!("passphrase for {name}'s keyslot:");
                match console.read_hidden(&prompt).map_err(QuorumError::Console)? {
                    Some(pass) => {
                        submit_keyslot(sealed, &name, pass.as_bytes()).map_err(|e| e.to_string())
                    }
                    None => {
                        return Err(QuorumError::GaveUp {
                            progress: sealed.progress().to_string(),
                        });
                    }
                }
            }
            None => match slip39::parse(&answer) {
                Ok(share) => submit_share(sealed, share).map_err(|e| e.to_string()),
                Err(e) => Err(e.terminal_message()),
            },
        };
        match result {
            Ok((who, progress)) => say(console, &format!("accepted: {who}. {progress}"))?,
            Err(error) => say(
                console,
                &format!(
                    "refused: {error}; progress unchanged: {}",
                    sealed.progress()
                ),
            )?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{Draft, Plan, SlotParams, Vault};

    struct Fixture {
        dir: tempfile::TempDir,
        path: PathBuf,
        words: Vec<String>,
    }

    fn fixture(threshold: u8, names: &[&str], slot: Option<&str>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svault");
        let mut plan = Plan::simple(threshold, names);
        plan.slot_params = SlotParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        if let Some(name) = slot {
            for o in &mut plan.groups[0].officers {
                if o.name == name {
                    o.keyslot = Some(Zeroizing::new(b"correct horse".to_vec()));
                }
            }
        }
        let draft = Draft::new(&plan).unwrap();
        let words = draft
            .issued()
            .iter()
            .map(|i| i.share.to_words().to_string())
            .collect();
        let mut v = draft.write_new(&path, None).unwrap();
        v.set("db", crate::secret::SecretBytes::from_slice(b"pw"))
            .unwrap();
        v.save().unwrap();
        Fixture { dir, path, words }
    }

    fn typo(words: &str) -> String {
        let mut w: Vec<String> = words.split(' ').map(str::to_owned).collect();
        w[6] = "zzzz".into();
        w.join(" ")
    }

    #[test]
    fn prompts_until_the_threshold_with_refusals_kept_out_of_progress() {
        let f = fixture(3, &["alice", "bob", "carol", "dave"], None);
        let mut sealed = Vault::open(&f.path).unwrap();
        let mut console = ScriptedConsole::new([
            f.words[3].clone(),
            typo(&f.words[0]),
            f.words[3].clone(),
            f.words[0].clone(),
            f.words[1].clone(),
        ]);
        let vault = gather_quorum(&mut sealed, &mut console, &QuorumSources::default()).unwrap();
        assert_eq!(vault.get("db").unwrap().expose(), b"pw");
        let t = console.transcript();
        assert!(t.contains("shares of 3 of its 4 officers are needed. 0 of 3, need 3 more"));
        assert!(
            t.contains("accepted: dave (member 4). 1 of 3, need 2 more\n"),
            "{t}"
        );
        assert!(
            t.contains("refused: word 7 'zzzz' is not in the SLIP-0039 word list"),
            "{t}"
        );
        assert!(t.contains(
            "refused: dave's share was already entered; progress is unchanged; progress unchanged: 1 of 3, need 2 more\n"
        ), "{t}");
        assert!(t.contains("accepted: alice (member 1). 2 of 3, need 1 more\n"));
        assert!(t.contains("accepted: bob (member 2). 3 of 3, ready to unseal\n"));
        assert_eq!(console.reads(), (5, 0), "every answer read with echo off");
        for w in &f.words {
            assert!(!t.contains(w.as_str()), "share words never shown");
        }
    }

    #[test]
    fn files_first_then_prompt_and_empty_line_gives_up() {
        let f = fixture(3, &["alice", "bob", "carol"], None);
        let file = f.dir.path().join("bob.share");
        std::fs::write(&file, format!("{}\n# bob's share\n\n", f.words[1])).unwrap();
        let sources = QuorumSources {
            share_files: vec![file],
            keyslots: vec![],
        };
        let mut sealed = Vault::open(&f.path).unwrap();
        let mut console = ScriptedConsole::new([f.words[0].as_str(), ""]);
        let err = gather_quorum(&mut sealed, &mut console, &sources).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stopped before the threshold: 2 of 3, need 1 more; nothing was opened, run the command again"
        );
        assert!(console.transcript().contains("2 of 3, need 1 more"));
    }

    #[test]
    fn not_interactive_and_short_says_how_many_more() {
        let f = fixture(3, &["alice", "bob", "carol"], None);
        let file = f.dir.path().join("a.share");
        std::fs::write(&file, &f.words[0]).unwrap();
        let sources = QuorumSources {
            share_files: vec![file],
            keyslots: vec![],
        };
        let mut sealed = Vault::open(&f.path).unwrap();
        let mut console = ScriptedConsole::non_interactive();
        let err = gather_quorum(&mut sealed, &mut console, &sources).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("not enough shares: 1 of 3, need 2 more; give more --share-file"),
            "{err}"
        );
        assert_eq!(console.transcript(), "");
    }

    #[test]
    fn share_file_with_two_shares_is_refused_by_line() {
        let f = fixture(2, &["alice", "bob"], None);
        let file = f.dir.path().join("two.share");
        std::fs::write(&file, format!("{}\n{}\n", f.words[0], f.words[1])).unwrap();
        let sources = QuorumSources {
            share_files: vec![file],
            keyslots: vec![],
        };
        let mut sealed = Vault::open(&f.path).unwrap();
        let err = gather_quorum(
            &mut sealed,
            &mut ScriptedConsole::non_interactive(),
            &sources,
        )
        .unwrap_err();
        assert!(
            matches!(err, QuorumError::ShareFileFormat { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn keyslot_from_file_and_from_prompt() {
        let f = fixture(2, &["alice", "bob", "carol"], Some("carol"));
        let pass = f.dir.path().join("carol.pass");
        std::fs::write(&pass, "correct horse\n").unwrap();
        let sources = QuorumSources {
            share_files: vec![],
            keyslots: vec![("carol".into(), Some(pass.clone()))],
        };
        let mut sealed = Vault::open(&f.path).unwrap();
        let mut console = ScriptedConsole::new([f.words[0].as_str()]);
        assert!(gather_quorum(&mut sealed, &mut console, &sources).is_ok());

        // Typed at the prompt: a wrong passphrase names the officer, then the right one.
        let mut sealed = Vault::open(&f.path).unwrap();
        let mut console = ScriptedConsole::new([
            "keyslot carol",
            "wrong",
            "keyslot carol",
            "correct horse",
            f.words[1].as_str(),
        ]);
        gather_quorum(&mut sealed, &mut console, &QuorumSources::default()).unwrap();
        let t = console.transcript();
        assert!(
            t.contains("refused: the passphrase does not open carol's keyslot"),
            "{t}"
        );
        assert!(
            t.contains("accepted: carol (member 3). 1 of 2, need 1 more"),
            "{t}"
        );
        assert!(!t.contains("correct horse"));

        // Two trailing newlines: only one is stripped, so the passphrase is wrong.
        std::fs::write(&pass, "correct horse\n\n").unwrap();
        let mut sealed = Vault::open(&f.path).unwrap();
        let err = gather_quorum(
            &mut sealed,
            &mut ScriptedConsole::non_interactive(),
            &sources,
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "the keyslot of carol was refused: the passphrase does not open carol's keyslot"
            ),
            "{err}"
        );
    }

    #[test]
    fn sanitize_escapes_controls() {
        assert_eq!(sanitize("a\u{1b}[2Jb\u{202e}"), r"a\u{1b}[2Jb\u{202e}");
    }
}
