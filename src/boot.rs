//! Using svault in your application: one call that gets an application its credentials
//! at startup, whichever way they come.
//!
//! [`Boot`] takes the names the application needs and tries, in this order (the
//! default; restrict or reorder it with [`Boot::sources`]):
//!
//! 1. [`Source::Systemd`] — systemd credentials already loaded for this unit, one file
//!    per name in `$CREDENTIALS_DIRECTORY` (or [`Boot::credentials_dir`]). systemd
//!    credential ids cannot contain `/`, so the name `db/password` is read from the
//!    file `db-password` (every `/` becomes `-`; `LoadCredential=db-password:…`, as in
//!    `docs/AGENT.md`). The file's bytes are the value, unchanged.
//! 2. [`Source::Agent`] — a running `svault agent`, at [`Boot::socket`] or
//!    `$SVAULT_SOCKET`, trusted only if it runs as this process's uid, root, or
//!    [`Boot::agent_uid`] / `$SVAULT_AGENT_UID` (see [`crate::agent::AgentTrust`]). While the agent is still sealed, boot waits (logging the
//!    progress, e.g. "waiting for officers: 2 of 3, need 1 more") for at most
//!    [`Boot::agent_wait`], then gives up on this source.
//! 3. [`Source::ShareFiles`] — the vault at [`Boot::vault`], opened with the share
//!    files ([`Boot::share_file`]) and keyslot passphrase files ([`Boot::keyslot`])
//!    the caller names (automation, tests).
//! 4. [`Source::Terminal`] — officers at this process's terminal (or the console given
//!    to [`Boot::console`]), through the same prompt flow as the `svault` command
//!    ([`gather_quorum`]: progress, each share checked on entry, the culprit named,
//!    echo off). Shares already accepted from share files count towards the quorum.
//!
//! Each source is asked only for the names still missing; a source that is not set up
//! (no `$CREDENTIALS_DIRECTORY`, no socket, no share files, no terminal) is skipped.
//! [`Boot::load`] returns every name, or a [`BootError`] listing **every** missing name
//! and, for each source, what was tried and why it did not give them. Nothing is
//! returned partially: on error, the values already read are wiped.
//!
//! ```
//! use svault::boot::{Boot, Source};
//! use svault::secret::SecretBytes;
//! use svault::vault::{Draft, Plan};
//!
//! # let dir = tempfile::tempdir()?;
//! # let vault = dir.path().join("app.svault");
//! # let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"]))?;
//! # let words: Vec<String> = draft.issued().iter().map(|i| i.share.to_words().to_string()).collect();
//! # let mut unsealed = draft.write_new(&vault, None)?;
//! # unsealed.set("db/password", SecretBytes::from_slice(b"hunter2"))?;
//! # unsealed.save()?;
//! # std::fs::write(dir.path().join("alice.share"), &words[0])?;
//! # std::fs::write(dir.path().join("bob.share"), &words[1])?;
//! # let (alice, bob) = (dir.path().join("alice.share"), dir.path().join("bob.share"));
//! // Two officers' share files open the vault (no systemd, agent or terminal here).
//! let creds = Boot::new(["db/password"])
//!     .vault(&vault)
//!     .share_file(&alice)
//!     .share_file(&bob)
//!     .sources(&[Source::ShareFiles])
//!     .load()?;
//! assert_eq!(creds.get("db/password").map(SecretBytes::len), Some(7));
//!
//! // A name the vault does not hold: the application must refuse to start.
//! let err = Boot::new(["db/password", "api/token"])
//!     .vault(&vault)
//!     .share_file(&alice)
//!     .share_file(&bob)
//!     .sources(&[Source::ShareFiles])
//!     .load()
//!     .unwrap_err();
//! assert_eq!(err.missing(), ["api/token"]);
//! assert!(err.to_string().starts_with("missing credentials: api/token"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What an operator sees when a credential is missing (each source, then why):
//!
//! ```text
//! missing credentials: api/token, db/password
//!   systemd credentials: $CREDENTIALS_DIRECTORY is not set (not started by systemd with LoadCredential=)
//!   agent: cannot connect to the agent at /run/svault/app.sock: No such file or directory (os error 2); is `svault agent` running with this --socket?
//!   share files: no share files or keyslot passphrase files were given
//!   terminal: no terminal to ask officers at
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::agent::{AgentTrust, Client, ClientError, ErrorCode};
use crate::prompt::{Console, QuorumSources, ScriptedConsole, TerminalConsole, gather_quorum};
use crate::secret::SecretBytes;
use crate::vault::{Sealed, Unsealed, Vault};

/// Where credentials can come from, in the default order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// Files in systemd's `$CREDENTIALS_DIRECTORY` (`LoadCredential=`).
    Systemd,
    /// A running `svault agent`.
    Agent,
    /// The vault opened with share files and keyslot passphrase files.
    ShareFiles,
    /// The vault opened by officers at the terminal (or the given console).
    Terminal,
}

impl Source {
    /// The default order: systemd, agent, share files, terminal.
    pub const DEFAULT_ORDER: [Source; 4] = [
        Source::Systemd,
        Source::Agent,
        Source::ShareFiles,
        Source::Terminal,
    ];

    /// The source's name as shown in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Systemd => "systemd credentials",
            Source::Agent => "agent",
            Source::ShareFiles => "share files",
            Source::Terminal => "terminal",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The file name in `$CREDENTIALS_DIRECTORY` that holds credential `name`: every `/`
/// becomes `-` (`db/password` → `db-password`). `None` for a name that cannot be a file
/// name there (empty, `.`, `..`, or holding a NUL).
pub fn systemd_id(name: &str) -> Option<String> {
    let id = name.replace('/', "-");
    if id.is_empty() || id == "." || id == ".." || id.contains('\0') {
        None
    } else {
        Some(id)
    }
}

/// Every credential asked for, each with the source it came from.
pub struct Credentials {
    values: BTreeMap<String, (SecretBytes, Source)>,
}

impl Credentials {
    /// The value of `name`, if it was asked for.
    pub fn get(&self, name: &str) -> Option<&SecretBytes> {
        self.values.get(name).map(|(v, _)| v)
    }

    /// Takes the value of `name` out.
    pub fn take(&mut self, name: &str) -> Option<SecretBytes> {
        self.values.remove(name).map(|(v, _)| v)
    }

    /// Which source gave `name`.
    pub fn source(&self, name: &str) -> Option<Source> {
        self.values.get(name).map(|(_, s)| *s)
    }

    /// The names held, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// How many credentials are held.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when none are held.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.values.iter().map(|(k, (v, s))| (k, (v, s))))
            .finish()
    }
}

/// What one source did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The source.
    pub source: Source,
    /// In plain language: why it was skipped, how it failed, or what it lacked.
    pub outcome: String,
}

/// Some credentials could not be obtained. Nothing was returned; values read were wiped.
/// The message lists every missing name, then each source and why it did not give them.
/// It holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootError {
    missing: Vec<String>,
    attempts: Vec<Attempt>,
}

impl BootError {
    /// The names no source gave, sorted.
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

    /// Each source tried (or skipped), in order, with why it did not give them.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "missing credentials: {}", self.missing.join(", "))?;
        if self.attempts.is_empty() {
            write!(f, "\n  no source was enabled")?;
        }
        for a in &self.attempts {
            write!(f, "\n  {}: {}", a.source, a.outcome)?;
        }
        Ok(())
    }
}

impl std::error::Error for BootError {}

/// Gets an application its credentials at startup; see the [module docs](self).
pub struct Boot<'a> {
    names: Vec<String>,
    vault: Option<PathBuf>,
    socket: Option<PathBuf>,
    agent_uid: Option<u32>,
    credentials_dir: Option<PathBuf>,
    use_env: bool,
    share_files: Vec<PathBuf>,
    keyslots: Vec<(String, PathBuf)>,
    console: Option<&'a mut dyn Console>,
    sources: Vec<Source>,
    agent_wait: Duration,
    agent_poll: Duration,
    log: Option<&'a mut dyn FnMut(&str)>,
}

impl fmt::Debug for Boot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Boot")
            .field("names", &self.names)
            .field("vault", &self.vault)
            .field("socket", &self.socket)
            .field("credentials_dir", &self.credentials_dir)
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

impl<'a> Boot<'a> {
    /// Asks for `names` (kept sorted; duplicates are ignored). Defaults: every source in
    /// [`Source::DEFAULT_ORDER`], `$CREDENTIALS_DIRECTORY` and `$SVAULT_SOCKET` read,
    /// the agent waited for up to 2 minutes, progress logged to standard error.
    pub fn new<I, S>(names: I) -> Boot<'a>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut names: Vec<String> = names.into_iter().map(|s| s.as_ref().to_owned()).collect();
        names.sort();
        names.dedup();
        Boot {
            names,
            vault: None,
            socket: None,
            agent_uid: None,
            credentials_dir: None,
            use_env: true,
            share_files: Vec::new(),
            keyslots: Vec::new(),
            console: None,
            sources: Source::DEFAULT_ORDER.to_vec(),
            agent_wait: Duration::from_secs(120),
            agent_poll: Duration::from_millis(500),
            log: None,
        }
    }

    /// The vault file (for [`Source::ShareFiles`] and [`Source::Terminal`]).
    pub fn vault(mut self, path: impl Into<PathBuf>) -> Self {
        self.vault = Some(path.into());
        self
    }

    /// The agent's socket (instead of `$SVAULT_SOCKET`).
    pub fn socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.socket = Some(path.into());
        self
    }

    /// Also trust an agent running as `uid` (instead of `$SVAULT_AGENT_UID`); one
    /// running as this process's uid or as root is always trusted, any other refused
    /// before anything is asked.
    pub fn agent_uid(mut self, uid: u32) -> Self {
        self.agent_uid = Some(uid);
        self
    }

    /// The systemd credentials directory (instead of `$CREDENTIALS_DIRECTORY`).
    pub fn credentials_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.credentials_dir = Some(path.into());
        self
    }

    /// Whether `$CREDENTIALS_DIRECTORY`, `$SVAULT_SOCKET` and `$SVAULT_AGENT_UID` are
    /// read (default true).
    pub fn use_environment(mut self, yes: bool) -> Self {
        self.use_env = yes;
        self
    }

    /// A share file: the share's words on the first line, `#` comments after.
    pub fn share_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.share_files.push(path.into());
        self
    }

    /// An officer's keyslot, with the file holding the passphrase (one trailing line
    /// ending is removed).
    pub fn keyslot(mut self, officer: &str, passphrase_file: impl Into<PathBuf>) -> Self {
        self.keyslots
            .push((officer.to_owned(), passphrase_file.into()));
        self
    }

    /// The console officers use (instead of the controlling terminal).
    pub fn console(mut self, console: &'a mut dyn Console) -> Self {
        self.console = Some(console);
        self
    }

    /// The sources to try, in this order (default [`Source::DEFAULT_ORDER`]).
    pub fn sources(mut self, sources: &[Source]) -> Self {
        self.sources = sources.to_vec();
        self
    }

    /// How long to wait for a sealed agent to be unsealed (default 2 minutes; zero:
    /// do not wait).
    pub fn agent_wait(mut self, wait: Duration) -> Self {
        self.agent_wait = wait;
        self
    }

    /// How often a sealed agent is asked again while waiting (default 0.5 s).
    pub fn agent_poll(mut self, every: Duration) -> Self {
        self.agent_poll = every;
        self
    }

    /// Where progress lines go (default: standard error, prefixed `svault: `). They
    /// never hold a secret.
    pub fn log(mut self, log: &'a mut dyn FnMut(&str)) -> Self {
        self.log = Some(log);
        self
    }

    /// Gets every name, trying the sources in order for the names still missing.
    ///
    /// # Errors
    ///
    /// [`BootError`], listing every missing name and what each source did.
    pub fn load(mut self) -> Result<Credentials, BootError> {
        let mut found: BTreeMap<String, (SecretBytes, Source)> = BTreeMap::new();
        let mut attempts = Vec::new();
        // The vault, shared by the share-file and terminal sources: shares accepted
        // from files count when officers then type theirs.
        let mut vault = VaultState::NotOpened;
        let sources = self.sources.clone();
        for source in sources {
            let missing: Vec<String> = self
                .names
                .iter()
                .filter(|n| !found.contains_key(*n))
                .cloned()
                .collect();
            if missing.is_empty() {
                break;
            }
            let mut got = Vec::new();
            let outcome = match source {
                Source::Systemd => self.try_systemd(&missing, &mut got),
                Source::Agent => self.try_agent(&missing, &mut got),
                Source::ShareFiles => self.try_share_files(&mut vault, &missing, &mut got),
                Source::Terminal => self.try_terminal(&mut vault, &missing, &mut got),
            };
            for (name, value) in got {
                found.insert(name, (value, source));
            }
            if let Err(outcome) = outcome {
                attempts.push(Attempt { source, outcome });
            }
        }
        let missing: Vec<String> = self
            .names
            .iter()
            .filter(|n| !found.contains_key(*n))
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(Credentials { values: found })
        } else {
            // `found` is dropped here: its values are wiped.
            Err(BootError { missing, attempts })
        }
    }

    fn say(&mut self, line: &str) {
        match self.log.as_mut() {
            Some(log) => log(line),
            None => eprintln!("svault: {line}"),
        }
    }

    /// The path set on the builder, else the environment variable `var` when the
    /// environment is used and the variable is set and not empty.
    fn given_or_env(&self, given: Option<&PathBuf>, var: &str) -> Option<PathBuf> {
        given.cloned().or_else(|| {
            std::env::var_os(var)
                .filter(|v| self.use_env && !v.is_empty())
                .map(PathBuf::from)
        })
    }

    fn try_systemd(
        &mut self,
        missing: &[String],
        got: &mut Vec<(String, SecretBytes)>,
    ) -> Result<(), String> {
        let Some(dir) = self.given_or_env(self.credentials_dir.as_ref(), "CREDENTIALS_DIRECTORY")
        else {
            return Err(
                "$CREDENTIALS_DIRECTORY is not set (not started by systemd with LoadCredential=)"
                    .into(),
            );
        };
        if !dir.is_dir() {
            return Err(format!(
                "the credentials directory {} does not exist",
                dir.display()
            ));
        }
        let mut problems = Vec::new();
        let mut absent = Vec::new();
        for name in missing {
            let Some(id) = systemd_id(name) else {
                problems.push(format!("{name} cannot be a systemd credential id"));
                continue;
            };
            let path = dir.join(&id);
            match std::fs::read(&path) {
                Ok(bytes) => got.push((name.clone(), SecretBytes::new(bytes))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    absent.push(format!("{name} (LoadCredential={id}:…)"));
                }
                Err(e) => problems.push(format!("cannot read {}: {e}", path.display())),
            }
        }
        if !absent.is_empty() {
            problems.insert(
                0,
                format!("{} has no file for {}", dir.display(), absent.join(", ")),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn try_agent(
        &mut self,
        missing: &[String],
        got: &mut Vec<(String, SecretBytes)>,
    ) -> Result<(), String> {
        let Some(socket) = self.given_or_env(self.socket.as_ref(), "SVAULT_SOCKET") else {
            return Err("no socket given and $SVAULT_SOCKET is not set".into());
        };
        let trust = match self.agent_uid {
            Some(uid) => AgentTrust::also(uid),
            None if self.use_env => AgentTrust::from_env().map_err(|e| e.to_string())?,
            None => AgentTrust::own(),
        };
        let mut client = Client::connect_trusting(&socket, trust).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut last_progress = String::new();
        loop {
            let status = client.status().map_err(|e| agent_error(&socket, &e))?;
            if !status.sealed {
                break;
            }
            let waited = started.elapsed();
            if waited >= self.agent_wait {
                return Err(format!(
                    "the agent at {} is still sealed after {} s ({}); officers must run `svault unseal --socket {}`",
                    socket.display(),
                    waited.as_secs(),
                    status.progress,
                    socket.display()
                ));
            }
            if status.progress != last_progress {
                let left = self.agent_wait.saturating_sub(waited);
                self.say(&format!(
                    "the agent at {} is sealed; waiting for officers: {} (giving up in {} s)",
                    socket.display(),
                    status.progress,
                    left.as_secs()
                ));
                last_progress = status.progress;
            }
            std::thread::sleep(
                self.agent_poll
                    .min(self.agent_wait.saturating_sub(started.elapsed())),
            );
        }
        let mut absent = Vec::new();
        let mut problems = Vec::new();
        for name in missing {
            match client.get(name) {
                Ok(value) => got.push((name.clone(), value)),
                Err(e) if e.code() == Some(ErrorCode::NotFound) => absent.push(name.clone()),
                Err(e) if e.code() == Some(ErrorCode::Denied) => problems.push(format!(
                    "the agent's policy does not let this process read {name}"
                )),
                Err(e) => problems.push(format!("{name}: {}", agent_error(&socket, &e))),
            }
        }
        if !absent.is_empty() {
            problems.insert(
                0,
                format!("the agent's vault holds no {}", absent.join(", ")),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn try_share_files(
        &mut self,
        vault: &mut VaultState,
        missing: &[String],
        got: &mut Vec<(String, SecretBytes)>,
    ) -> Result<(), String> {
        if self.share_files.is_empty() && self.keyslots.is_empty() {
            return Err("no share files or keyslot passphrase files were given".into());
        }
        let quorum = QuorumSources {
            share_files: self.share_files.clone(),
            keyslots: self
                .keyslots
                .iter()
                .map(|(o, p)| (o.clone(), Some(p.clone())))
                .collect(),
        };
        let mut nobody = ScriptedConsole::non_interactive();
        self.unseal_with(vault, &mut nobody, &quorum)?;
        read_vault(vault, missing, got)
    }

    fn try_terminal(
        &mut self,
        vault: &mut VaultState,
        missing: &[String],
        got: &mut Vec<(String, SecretBytes)>,
    ) -> Result<(), String> {
        if !matches!(vault, VaultState::Unsealed(_)) {
            let mut terminal = None;
            let mut console = self.console.take();
            let c: &mut dyn Console = match console.as_mut() {
                Some(c) => &mut **c,
                None => terminal.insert(TerminalConsole::new().with_prefix("svault: ")),
            };
            let result = if c.is_interactive() {
                self.unseal_with(vault, c, &QuorumSources::default())
            } else {
                Err("no terminal to ask officers at".to_owned())
            };
            self.console = console;
            result?;
        }
        read_vault(vault, missing, got)
    }

    /// Opens the vault (once) and runs the prompt flow on it.
    fn unseal_with(
        &self,
        vault: &mut VaultState,
        console: &mut dyn Console,
        quorum: &QuorumSources,
    ) -> Result<(), String> {
        if let VaultState::Unsealed(_) = vault {
            return Ok(());
        }
        if matches!(vault, VaultState::NotOpened) {
            let Some(path) = &self.vault else {
                return Err("no vault file was given".into());
            };
            *vault = VaultState::Sealed(Box::new(Vault::open(path).map_err(|e| e.to_string())?));
        }
        let VaultState::Sealed(sealed) = vault else {
            return Ok(());
        };
        let unsealed = gather_quorum(sealed, console, quorum).map_err(|e| e.to_string())?;
        *vault = VaultState::Unsealed(Box::new(unsealed));
        Ok(())
    }
}

enum VaultState {
    NotOpened,
    Sealed(Box<Sealed>),
    Unsealed(Box<Unsealed>),
}

fn read_vault(
    vault: &VaultState,
    missing: &[String],
    got: &mut Vec<(String, SecretBytes)>,
) -> Result<(), String> {
    let VaultState::Unsealed(unsealed) = vault else {
        return Err("the vault is not open".into());
    };
    let mut absent = Vec::new();
    for name in missing {
        match unsealed.get(name) {
            Some(v) => got.push((name.clone(), SecretBytes::from_slice(v.expose()))),
            None => absent.push(name.as_str()),
        }
    }
    if absent.is_empty() {
        Ok(())
    } else {
        let path = unsealed
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the vault".into());
        Err(format!(
            "{path} was opened but holds no {}",
            absent.join(", ")
        ))
    }
}

fn agent_error(socket: &Path, e: &ClientError) -> String {
    match e.code() {
        Some(ErrorCode::Sealed) => format!("the agent at {} was sealed again", socket.display()),
        _ => format!("the agent at {}: {e}", socket.display()),
    }
}
