//! The agent itself: a sealed vault behind a Unix socket, unsealed by officers'
//! submissions, serving credentials to the callers the policy allows, and to systemd's
//! `LoadCredential=` on a second socket.
//!
//! Threads: one accept loop per socket, one thread per connection (at most
//! [`Config::max_connections`] at once; more are answered `busy`), one janitor that
//! discards expired progress, and [`Config::keyslot_workers`] keyslot workers. The
//! vault state sits behind one `RwLock`: `get`, `list` and `status` share it;
//! submissions, `seal`, `reset`, `set` and `rm` take it alone. A keyslot's Argon2id
//! runs outside the lock, on a worker, after the throttle admitted it
//! ([`super::limits`]).

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::audit::{Audit, Coalesced};
use super::generation::{self, StateError};
use super::limits::{Deriver, QueueRefusal, Throttle};
use super::policy::{Peer, Policy};
use super::protocol::{
    AgentStatus, Entry, ErrorCode, GroupStatus, HealthStatus, LineReader, MAX_REQUEST,
    OfficerDrill, ReadError, Request, Response, SecretText, Submission, describe_parse_error,
};
use crate::health::{self, DrillKind};
use crate::secret::SecretBytes;
use crate::share::slip39::{self, Slip39Share};
use crate::vault::format::to_hex;
use crate::vault::{Header, OpenError, Progress, Sealed, SubmitError, Unsealed, Vault};

/// How the agent is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The vault file.
    pub vault: PathBuf,
    /// The socket officers and clients connect to.
    pub socket: PathBuf,
    /// When set, the socket is made mode 0660 with this group; otherwise 0600.
    pub socket_group: Option<u32>,
    /// The socket systemd's `LoadCredential=` connects to (mode 0600), if any.
    pub systemd_socket: Option<PathBuf>,
    /// Who may ask for what; `None` means [`Policy::owner_only`] for the agent's uid
    /// (with everyone who can connect allowed to unseal when there is a socket group).
    pub policy: Option<Policy>,
    /// Submitted shares are discarded this long after the first of them was accepted,
    /// unless the vault was unsealed by then.
    pub expire: Option<Duration>,
    /// How long a connection may stay idle between requests before it is closed.
    pub idle_timeout: Duration,
    /// How long a request may take to arrive once its first byte has.
    pub request_timeout: Duration,
    /// The most connections served at once (both sockets together).
    pub max_connections: usize,
    /// Disable core dumps and lock memory (best effort; see [`harden_process`]).
    pub harden: bool,
    /// Threads deriving keyslot keys (Argon2id) at once; at least 1.
    pub keyslot_workers: usize,
    /// Keyslot derivations waiting for a worker; one more is answered `busy`.
    pub keyslot_queue: usize,
    /// The memory, in bytes, all keyslot derivations together may use at once. A
    /// keyslot that needs more than this is refused.
    pub keyslot_memory: u64,
    /// Where the agent remembers the highest vault generation it has served
    /// ([`super::generation`]); `None`: beside the socket. The command sets it from
    /// `$STATE_DIRECTORY`.
    pub state_dir: Option<PathBuf>,
    /// How old a drill may be and still count (docs/HEALTH.md).
    pub drill_policy: health::Policy,
    /// The smallest quorum margin that is not a warning.
    pub min_margin: i64,
    /// How often the quorum's health is checked besides at start, `status` and unseal
    /// (drills age past the maximum with no event); `None`: never.
    pub health_interval: Option<Duration>,
}

impl Config {
    /// Defaults: socket mode 0600, no systemd socket, owner-only policy, progress
    /// expiring after 15 minutes, 60 s idle and 10 s request timeouts, 1024
    /// connections, process hardening on, one keyslot worker with a queue of 4 and a
    /// 256 MiB derivation budget; drills count for 180 days, a margin below 1 is a
    /// warning, health checked hourly.
    pub fn new(vault: impl Into<PathBuf>, socket: impl Into<PathBuf>) -> Config {
        Config {
            vault: vault.into(),
            socket: socket.into(),
            socket_group: None,
            systemd_socket: None,
            policy: None,
            expire: Some(Duration::from_secs(15 * 60)),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(10),
            max_connections: 1024,
            harden: true,
            keyslot_workers: 1,
            keyslot_queue: 4,
            keyslot_memory: 256 << 20,
            state_dir: None,
            drill_policy: health::Policy::default(),
            min_margin: 1,
            health_interval: Some(Duration::from_secs(3600)),
        }
    }
}

/// The agent could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The vault could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Another process answers on the socket.
    #[error(
        "another process (an agent already running?) answers on {}; stop it first, or choose another --socket",
        path.display()
    )]
    InUse {
        /// The socket path.
        path: PathBuf,
    },
    /// Something other than a socket is at the socket path.
    #[error(
        "{} exists and is not a socket; refusing to replace it: choose another --socket",
        path.display()
    )]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// A socket could not be set up.
    #[error("cannot {action} the socket {}: {source}", path.display())]
    Socket {
        /// The socket path.
        path: PathBuf,
        /// What failed ("bind", "chmod", ...).
        action: &'static str,
        /// The system's reason.
        source: io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(io::Error),
    /// The file remembering the highest generation served cannot be read.
    #[error(transparent)]
    Generation(#[from] StateError),
}

/// What [`harden_process`] achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hardening {
    /// Core dumps are off (RLIMIT_CORE 0 and not dumpable).
    pub core_dumps_disabled: bool,
    /// All present and future memory is locked (not swapped out).
    pub memory_locked: bool,
    /// Why something could not be done (empty when all was).
    pub notes: Vec<String>,
}

/// Disables core dumps (`RLIMIT_CORE` 0, `PR_SET_DUMPABLE` 0, which also keeps other
/// processes of the same uid from reading this one's memory through ptrace or
/// `/proc/PID/mem`) and locks memory with `mlockall` when the process may lock without
/// limit (root, or `RLIMIT_MEMLOCK` unlimited; with a finite limit a later allocation
/// could fail, so it is not attempted). Best effort: what was not done is in `notes`.
pub fn harden_process() -> Hardening {
    use nix::sys::mman::{MlockAllFlags, mlockall};
    use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit, setrlimit};
    let mut notes = Vec::new();
    let rlimit = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    if let Err(e) = rlimit {
        notes.push(format!("cannot set RLIMIT_CORE to 0: {e}"));
    }
    let dumpable = nix::sys::prctl::set_dumpable(false);
    if let Err(e) = dumpable {
        notes.push(format!("cannot clear the dumpable flag: {e}"));
    }
    let core_dumps_disabled = rlimit.is_ok() && dumpable.is_ok();
    let unlimited = nix::unistd::geteuid().is_root()
        || getrlimit(Resource::RLIMIT_MEMLOCK).is_ok_and(|(soft, _)| soft == RLIM_INFINITY);
    let memory_locked = if unlimited {
        match mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE) {
            Ok(()) => true,
            Err(e) => {
                notes.push(format!("mlockall failed: {e}; memory may be swapped out"));
                false
            }
        }
    } else {
        notes.push(
            "memory not locked: RLIMIT_MEMLOCK is limited; run as root or with LimitMEMLOCK=infinity to lock it"
                .into(),
        );
        false
    };
    Hardening {
        core_dumps_disabled,
        memory_locked,
        notes,
    }
}

/// A running agent. Dropping it (or [`Agent::stop`]) stops accepting, wipes the key
/// and credentials from memory and removes its sockets.
pub struct Agent {
    shared: Arc<Shared>,
    listeners: Vec<(UnixListener, BoundSocket)>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field(
                "sockets",
                &self
                    .listeners
                    .iter()
                    .map(|(_, b)| &b.path)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

struct BoundSocket {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

struct Shared {
    state: RwLock<State>,
    audit: Audit,
    /// `bad_request` lines, coalesced per uid.
    bad_requests: Coalesced,
    /// Throttled keyslot submissions (`rate_limited`, `busy`), coalesced per uid.
    throttled: Coalesced,
    /// Denied `seal` and `reset` (`control` lines), coalesced per uid.
    denied_control: Coalesced,
    throttle: Throttle,
    deriver: Deriver,
    policy: Policy,
    own_uid: u32,
    expire: Option<Duration>,
    idle_timeout: Duration,
    request_timeout: Duration,
    max_connections: usize,
    connections: AtomicUsize,
    stop: AtomicBool,
    drill_policy: health::Policy,
    min_margin: i64,
    /// Whether the last health check found the margin below the minimum (`None`:
    /// no check yet), so that a warning is logged when it drops, not at every check.
    below_minimum: Mutex<Option<bool>>,
}

struct State {
    vault_path: PathBuf,
    sealed: Sealed,
    /// A second copy of the sealed vault, for opening keyslots (Argon2id) without
    /// holding the lock. It never holds submitted shares.
    opener: Arc<Sealed>,
    unsealed: Option<Unsealed>,
    /// Who submitted what (public record); the caller's uid is kept for `reset`.
    submissions: Vec<(Submission, u32)>,
    /// When the first share of the current progress was accepted.
    started: Option<(Instant, u64)>,
    unsealed_at: Option<u64>,
    /// Progress as it stood when the vault was unsealed.
    last_progress: Option<Progress>,
    /// The file remembering the highest generation of this vault served.
    generation_file: PathBuf,
    /// That generation (0: none yet), or why it cannot be read.
    served: Result<u64, String>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[derive(Clone, Copy)]
enum Kind {
    Agent,
    Systemd,
}

impl Agent {
    /// Opens the vault (sealed), binds the sockets and starts serving.
    ///
    /// # Errors
    ///
    /// [`AgentError::Open`] when the vault cannot be read; [`AgentError::InUse`] when
    /// another process answers on a socket path; [`AgentError::NotASocket`];
    /// [`AgentError::Socket`]; [`AgentError::Thread`].
    pub fn start(config: Config, audit: Audit) -> Result<Agent, AgentError> {
        if config.harden {
            let h = harden_process();
            audit.event(
                "hardening",
                json!({
                    "core_dumps_disabled": h.core_dumps_disabled,
                    "memory_locked": h.memory_locked,
                    "notes": h.notes,
                }),
            );
        }
        let sealed = Vault::open(&config.vault)?;
        let opener = Arc::new(Vault::open(&config.vault)?);
        let generation_file = generation::state_path(
            config.state_dir.as_deref(),
            &config.socket,
            &sealed.header().vault_id.0,
        );
        let served = generation::read(&generation_file)?.unwrap_or(0);
        let own_uid = nix::unistd::geteuid().as_raw();
        let policy = config
            .policy
            .clone()
            .unwrap_or_else(|| Policy::owner_only(own_uid, config.socket_group.is_some()));
        let deriver = Deriver::start(
            config.keyslot_workers,
            config.keyslot_queue,
            config.keyslot_memory,
        )
        .map_err(AgentError::Thread)?;
        let mut listeners = Vec::new();
        let mode = if config.socket_group.is_some() {
            0o660
        } else {
            0o600
        };
        listeners.push(bind_socket(
            &config.socket,
            mode,
            config.socket_group,
            &audit,
        )?);
        if let Some(path) = &config.systemd_socket {
            listeners.push(bind_socket(path, 0o600, None, &audit)?);
        }
        let shared = Arc::new(Shared {
            state: RwLock::new(State {
                vault_path: config.vault.clone(),
                sealed,
                opener,
                unsealed: None,
                submissions: Vec::new(),
                started: None,
                unsealed_at: None,
                last_progress: None,
                generation_file: generation_file.clone(),
                served: Ok(served),
            }),
            audit,
            bad_requests: Coalesced::new("bad_request"),
            throttled: Coalesced::new("submit"),
            denied_control: Coalesced::new("control"),
            throttle: Throttle::default(),
            deriver,
            policy,
            own_uid,
            expire: config.expire,
            idle_timeout: config.idle_timeout,
            request_timeout: config.request_timeout,
            max_connections: config.max_connections.max(1),
            connections: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            drill_policy: config.drill_policy,
            min_margin: config.min_margin,
            below_minimum: Mutex::new(None),
        });
        let mut agent = Agent {
            shared: Arc::clone(&shared),
            listeners: Vec::new(),
            threads: Vec::new(),
        };
        for (i, (listener, bound)) in listeners.into_iter().enumerate() {
            let kind = if i == 0 { Kind::Agent } else { Kind::Systemd };
            let accept = listener.try_clone().map_err(|source| AgentError::Socket {
                path: bound.path.clone(),
                action: "use",
                source,
            })?;
            let shared = Arc::clone(&shared);
            agent.listeners.push((listener, bound));
            let thread = thread::Builder::new()
                .name("svault-accept".into())
                .spawn(move || accept_loop(&shared, &accept, kind))
                .map_err(AgentError::Thread)?;
            agent.threads.push(thread);
        }
        if let Some(expire) = config.expire {
            let shared = Arc::clone(&shared);
            let tick = (expire / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
            let thread = thread::Builder::new()
                .name("svault-janitor".into())
                .spawn(move || {
                    while !shared.stop.load(Ordering::SeqCst) {
                        thread::sleep(tick);
                        drop(shared.write());
                    }
                })
                .map_err(AgentError::Thread)?;
            agent.threads.push(thread);
        }
        if let Some(interval) = config.health_interval {
            let shared = Arc::clone(&shared);
            let tick = interval.clamp(Duration::from_millis(10), Duration::from_millis(200));
            let thread = thread::Builder::new()
                .name("svault-health".into())
                .spawn(move || {
                    let mut last = Instant::now();
                    while !shared.stop.load(Ordering::SeqCst) {
                        thread::sleep(tick);
                        if last.elapsed() >= interval {
                            last = Instant::now();
                            let (header, vault) = health_inputs(&shared.read());
                            health_of(&shared, &header, &vault);
                        }
                    }
                })
                .map_err(AgentError::Thread)?;
            agent.threads.push(thread);
        }
        shared.audit.event(
            "start",
            json!({
                "vault": config.vault.display().to_string(),
                "socket": config.socket.display().to_string(),
                "systemd_socket": config.systemd_socket.as_ref().map(|p| p.display().to_string()),
                "expire_secs": config.expire.map(|d| d.as_secs()),
                "sealed": true,
                "generation_file": generation_file.display().to_string(),
                "generation_served": served,
            }),
        );
        if let Some(message) = rollback_refusal(&shared.read()) {
            shared.audit.event(
                "rollback",
                json!({ "result": "refused", "reason": message }),
            );
        }
        let (header, vault) = health_inputs(&shared.read());
        health_of(&shared, &header, &vault);
        Ok(agent)
    }

    /// The agent's state, as `status` reports it.
    pub fn status(&self) -> AgentStatus {
        full_status(&self.shared)
    }

    /// How many submitted shares the agent holds in memory: those entered towards the
    /// threshold while sealed, and none once unsealed (they are wiped at the unseal;
    /// only the public record of who submitted stays). A count, never a share.
    pub fn shares_held(&self) -> usize {
        let state = self.shared.read();
        let pending = state
            .sealed
            .progress()
            .groups
            .iter()
            .map(|g| usize::from(g.have))
            .sum::<usize>();
        pending
            + state
                .unsealed
                .as_ref()
                .map_or(0, Unsealed::known_share_count)
    }

    /// Stops the agent: see the type's documentation.
    pub fn stop(self) {
        drop(self);
    }
}

impl Agent {
    /// A handle on the running agent for the OpenBao keeper ([`super::bao`]).
    pub(crate) fn watch(&self) -> Watch {
        Watch(Arc::clone(&self.shared))
    }
}

/// What [`super::bao`] may see of a running agent: one credential while unsealed, the
/// audit log, and whether the agent is stopping.
pub(crate) struct Watch(Arc<Shared>);

impl Watch {
    pub(crate) fn credential(&self, name: &str) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        let state = self.0.read();
        let value = state.unsealed.as_ref()?.get(name)?;
        Some(zeroize::Zeroizing::new(value.expose().to_vec()))
    }

    pub(crate) fn audit(&self) -> &Audit {
        &self.0.audit
    }

    pub(crate) fn stopping(&self) -> bool {
        self.0.stop.load(Ordering::SeqCst)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for (listener, _) in &self.listeners {
            // Wakes the accept loop: accept() fails on a shut-down listener.
            let _ =
                nix::sys::socket::shutdown(listener.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        {
            let mut state = self.shared.write();
            let was_unsealed = state.unsealed.take().is_some();
            state.sealed.reset();
            state.submissions.clear();
            state.started = None;
            if was_unsealed {
                self.shared
                    .audit
                    .event("seal", json!({ "reason": "agent stopped" }));
            }
        }
        for (_, bound) in &self.listeners {
            // Remove the socket only if it is still the one this agent bound.
            if std::fs::symlink_metadata(&bound.path)
                .is_ok_and(|m| m.dev() == bound.dev && m.ino() == bound.ino)
            {
                let _ = std::fs::remove_file(&bound.path);
            }
        }
        self.shared.bad_requests.flush(&self.shared.audit);
        self.shared.throttled.flush(&self.shared.audit);
        self.shared.denied_control.flush(&self.shared.audit);
        self.shared.audit.event("stop", json!({}));
    }
}

/// Binds a listening socket at `path` with `mode` (and `group`), atomically: bound
/// under a temporary name, given its mode, then renamed into place, so it is never
/// reachable with looser permissions. A stale socket (nobody answers) is replaced; a
/// live one, or anything that is not a socket, is refused.
fn bind_socket(
    path: &Path,
    mode: u32,
    group: Option<u32>,
    audit: &Audit,
) -> Result<(UnixListener, BoundSocket), AgentError> {
    let err = |action, source| AgentError::Socket {
        path: path.to_owned(),
        action,
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(AgentError::NotASocket {
                path: path.to_owned(),
            });
        }
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(AgentError::InUse {
                    path: path.to_owned(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                audit.event(
                    "stale_socket",
                    json!({ "socket": path.display().to_string(), "action": "replaced" }),
                );
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(err("check", e)),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(err("check", e)),
    }
    let (listener, meta) = bind_privately(path, mode, group).map_err(|(a, e)| err(a, e))?;
    Ok((
        listener,
        BoundSocket {
            path: path.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
        },
    ))
}

/// Binds the socket inside a fresh directory of its own (mode 0700, random name, beside
/// `path` so that the rename stays on one file system), where nobody else can reach it
/// or put a link in its place; gives it its group (without following links) and mode
/// there; checks with `lstat` that it is a socket of this uid with that group and mode;
/// then renames it into place and removes the directory.
fn bind_privately(
    path: &Path,
    mode: u32,
    group: Option<u32>,
) -> Result<(UnixListener, std::fs::Metadata), (&'static str, io::Error)> {
    use nix::fcntl::{AtFlags, OFlag};
    use nix::sys::stat::{FchmodatFlags, Mode};
    use std::os::unix::fs::OpenOptionsExt;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let private = parent.join(format!(".{file_name}.{:016x}", rand::random::<u64>()));
    nix::unistd::mkdir(&private, Mode::S_IRWXU)
        .map_err(|e| ("create a directory for", e.into()))?;
    let result = (|| {
        let own = nix::unistd::geteuid().as_raw();
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags((OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW).bits())
            .open(&private)
            .map_err(|e| ("open the directory for", e))?;
        let dir_meta = dir.metadata().map_err(|e| ("check", e))?;
        if dir_meta.uid() != own || dir_meta.mode() & 0o077 != 0 {
            return Err((
                "check",
                io::Error::other("the private directory is not this process's alone"),
            ));
        }
        let inner = private.join("socket");
        let listener = UnixListener::bind(&inner).map_err(|e| ("bind", e))?;
        if let Some(gid) = group {
            nix::unistd::fchownat(
                &dir,
                "socket",
                None,
                Some(nix::unistd::Gid::from_raw(gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(|e| ("give its group to", e.into()))?;
        }
        // Inside a 0700 directory of this uid: the name cannot be swapped for a link.
        nix::sys::stat::fchmodat(
            &dir,
            "socket",
            Mode::from_bits_truncate(mode),
            FchmodatFlags::FollowSymlink,
        )
        .map_err(|e| ("chmod", e.into()))?;
        let meta = std::fs::symlink_metadata(&inner).map_err(|e| ("check", e))?;
        let expected_gid = group.unwrap_or(meta.gid());
        if !meta.file_type().is_socket()
            || meta.uid() != own
            || meta.gid() != expected_gid
            || meta.mode() & 0o7777 != mode
        {
            return Err((
                "check",
                io::Error::other(format!(
                    "the bound socket is not as made (uid {}, gid {}, mode {:04o})",
                    meta.uid(),
                    meta.gid(),
                    meta.mode() & 0o7777
                )),
            ));
        }
        std::fs::rename(&inner, path).map_err(|e| ("move into place", e))?;
        let placed = std::fs::symlink_metadata(path).map_err(|e| ("check", e))?;
        if placed.dev() != meta.dev() || placed.ino() != meta.ino() {
            return Err((
                "check",
                io::Error::other("another file took the socket's place"),
            ));
        }
        Ok((listener, placed))
    })();
    let _ = std::fs::remove_file(private.join("socket"));
    let _ = std::fs::remove_dir(&private);
    result
}

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        let state = match self.state.read() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        if self.expired(&state) {
            drop(state);
            drop(self.write());
            return match self.state.read() {
                Ok(state) => state,
                Err(poisoned) => poisoned.into_inner(),
            };
        }
        state
    }

    /// The state, alone; expired progress is discarded first.
    fn write(&self) -> RwLockWriteGuard<'_, State> {
        let mut state = match self.state.write() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        if self.expired(&state) {
            let officers = officers_of(&state);
            state.sealed.reset();
            state.submissions.clear();
            state.started = None;
            self.audit.event("expire", json!({ "discarded": officers }));
        }
        state
    }

    fn expired(&self, state: &State) -> bool {
        match (self.expire, state.started, &state.unsealed) {
            (Some(expire), Some((at, _)), None) => at.elapsed() >= expire,
            _ => false,
        }
    }
}

struct ConnectionSlot(Arc<Shared>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &UnixListener, kind: Kind) {
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                shared
                    .audit
                    .event("accept_error", json!({ "error": e.to_string() }));
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let count = shared.connections.fetch_add(1, Ordering::SeqCst);
        let slot = ConnectionSlot(Arc::clone(shared));
        if count >= shared.max_connections {
            drop(slot);
            shared.audit.event("busy", json!({ "connections": count }));
            if let Kind::Agent = kind {
                let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                let busy = Response::error(
                    ErrorCode::Busy,
                    "the agent is serving too many connections; try again shortly",
                );
                let _ = (&stream).write_all(&busy.encode());
            }
            continue;
        }
        let spawned = thread::Builder::new()
            .name("svault-conn".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let shared = &slot.0;
                match kind {
                    Kind::Agent => serve(shared, &stream),
                    Kind::Systemd => serve_systemd(shared, &stream),
                }
            });
        if let Err(e) = spawned {
            shared
                .audit
                .event("thread_error", json!({ "error": e.to_string() }));
        }
    }
}

fn peer_of(stream: &UnixStream) -> io::Result<Peer> {
    let cred = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(io::Error::from)?;
    Ok(Peer {
        uid: cred.uid(),
        gid: cred.gid(),
        pid: cred.pid(),
    })
}

/// Serves one client connection: requests in, responses out, until it closes, sends
/// something too long, or is too slow.
fn serve(shared: &Shared, stream: &UnixStream) {
    let Ok(peer) = peer_of(stream) else {
        return;
    };
    let _ = stream.set_write_timeout(Some(shared.request_timeout));
    let mut reader = LineReader::new(MAX_REQUEST);
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let (response, close) =
            match reader.read_line(
                stream,
                Some(shared.idle_timeout),
                Some(shared.request_timeout),
            ) {
                Ok(None) | Err(ReadError::Idle) | Err(ReadError::Io(_)) => return,
                Ok(Some(line)) => match Request::parse(line) {
                    Ok(request) => (handle(shared, &peer, request), false),
                    Err(e) => {
                        let code = ErrorCode::from(&e);
                        let message = e.to_string();
                        let logged = shared.bad_requests.record(
                            &shared.audit,
                            &peer,
                            "error",
                            code.as_str(),
                            || json!({ "message": message }),
                        );
                        if !logged {
                            // Beyond the log's quota for this uid: answered late.
                            hold(shared, FLOOD_HOLD);
                        }
                        (Response::error(code, message), false)
                    }
                },
                Err(ReadError::TooLarge) => {
                    shared
                        .bad_requests
                        .record(&shared.audit, &peer, "error", "too_large", || json!({}));
                    let message = format!(
                        "the request is longer than {MAX_REQUEST} bytes; the connection is closed"
                    );
                    (Response::error(ErrorCode::TooLarge, message), true)
                }
                Err(ReadError::Timeout) => {
                    shared
                        .bad_requests
                        .record(&shared.audit, &peer, "error", "timeout", || json!({}));
                    let message = format!(
                        "the request did not arrive within {} s; the connection is closed",
                        shared.request_timeout.as_secs_f32()
                    );
                    (Response::error(ErrorCode::Timeout, message), true)
                }
                Err(ReadError::Truncated) => {
                    shared
                        .bad_requests
                        .record(&shared.audit, &peer, "error", "truncated", || json!({}));
                    return;
                }
            };
        let mut out = stream;
        if out.write_all(&response.encode()).is_err() {
            return;
        }
        if close {
            linger(stream, shared.request_timeout);
            return;
        }
        if let Some(wait) = hold_for(&response) {
            hold(shared, wait);
        }
    }
}

/// The longest a connection's next request is left unread after a `rate_limited` or
/// `busy` answer.
pub(crate) const HOLD_MAX: Duration = Duration::from_secs(1);

/// How late a malformed request is answered once its uid is past the audit log's quota
/// (more than `REFUSALS_LOGGED` bad requests in a second): a client sending garbage as
/// fast as it can gets at most 20 answers a second per connection, and the agent's
/// thread sleeps meanwhile.
pub(crate) const FLOOD_HOLD: Duration = Duration::from_millis(50);

/// How long to leave a connection's next request unread after `response`: the wait a
/// `rate_limited` or `busy` answer asks for, at most [`HOLD_MAX`]. A client that
/// ignores the wait and asks again at once is then answered no faster than that: a
/// guessing flood costs the agent at most one refusal per connection per second (and
/// connections are capped), its threads asleep in between, instead of as many
/// refusals as the clients can send. A client that waits as told never notices.
fn hold_for(response: &Response) -> Option<Duration> {
    match response {
        Response::Error {
            code: ErrorCode::RateLimited | ErrorCode::Busy,
            retry_after: Some(wait),
            ..
        } => Some((*wait).min(HOLD_MAX)),
        _ => None,
    }
}

/// Sleeps for `wait`, or until the agent stops.
fn hold(shared: &Shared, wait: Duration) {
    let until = Instant::now() + wait;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || shared.stop.load(Ordering::SeqCst) {
            return;
        }
        thread::sleep(left.min(Duration::from_millis(100)));
    }
}

/// Before closing a connection that may still be sending: stop writing, then read and
/// discard what arrives (for at most a second and 1 MiB), so that closing does not
/// reset the connection before the client has read the error reply.
fn linger(mut stream: &UnixStream, timeout: Duration) {
    use std::io::Read;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let deadline = Instant::now() + timeout.min(Duration::from_secs(1));
    let mut sink = [0u8; 4096];
    let mut total = 0usize;
    while total < 1 << 20 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}

fn handle(shared: &Shared, peer: &Peer, request: Request) -> Response {
    match request {
        Request::Status => Response::Status(full_status(shared)),
        Request::SubmitShare(words) => submit_words(shared, peer, &words),
        Request::SubmitKeyslot {
            officer,
            passphrase,
        } => submit_keyslot(shared, peer, &officer, passphrase),
        Request::Reset => reset(shared, peer),
        Request::Seal => seal(shared, peer),
        Request::Get { name } => get(shared, peer, &name),
        Request::List => list(shared, peer),
        Request::Set { name, value } => set(shared, peer, &name, value),
        Request::Remove { name } => remove(shared, peer, &name),
        // Request is non_exhaustive for other crates only; every variant is above.
    }
}

/// The `status` reply: the state and the quorum's health.
fn full_status(shared: &Shared) -> AgentStatus {
    let (mut status, header, vault) = {
        let state = shared.read();
        let (header, vault) = health_inputs(&state);
        (status_of(&state, shared.expire), header, vault)
    };
    // Checked outside the lock: every record's signature is verified.
    status.health = Some(health_of(shared, &header, &vault));
    status
}

/// What a health check needs, copied so that the check runs without the state lock:
/// the current header (the unsealed one, which has every drill key derived at the
/// unseal, when unsealed) and the vault's path.
fn health_inputs(state: &State) -> (Header, PathBuf) {
    let header = match &state.unsealed {
        Some(u) => u.header(),
        None => state.sealed.header(),
    };
    (header.clone(), state.vault_path.clone())
}

/// Reads the drill records and computes the quorum's health against `header`; logs a
/// `quorum_health` event at the first check and whenever the margin crosses the
/// minimum (`"warning": true` when it drops below).
fn health_of(shared: &Shared, header: &Header, vault: &Path) -> HealthStatus {
    let path = health::files::drills_path(vault);
    let (bytes, error) = match health::files::read(&path) {
        Ok(bytes) => (bytes, None),
        Err(e) => (
            Vec::new(),
            Some(format!(
                "cannot read the drill records {}: {e}",
                path.display()
            )),
        ),
    };
    let roster = health::Roster::from_header(header);
    let h = health::check(&roster, &bytes, now(), &shared.drill_policy);
    let below = h.quorum.margin < shared.min_margin;
    let mut last = shared
        .below_minimum
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *last != Some(below) {
        let stale: Vec<&str> = h.stale().map(|o| o.name.as_str()).collect();
        shared.audit.event(
            "quorum_health",
            json!({
                "warning": below,
                "margin": h.quorum.margin,
                "min_margin": shared.min_margin,
                "threshold": h.quorum.threshold,
                "verified": h.quorum.verified,
                "max_age_days": h.quorum.max_age_days,
                "stale": stale,
                "rejected": h.rejected,
                "error": error,
            }),
        );
        *last = Some(below);
    }
    HealthStatus {
        margin: h.quorum.margin,
        min_margin: shared.min_margin,
        threshold: h.quorum.threshold,
        verified: h.quorum.verified,
        max_age_days: h.quorum.max_age_days,
        rejected: h.rejected,
        officers: h
            .officers
            .iter()
            .map(|o| OfficerDrill {
                name: o.name.clone(),
                last_drill: o.last_drill,
                drill_key: o.drill_key,
            })
            .collect(),
        error,
    }
}

/// Records an `agent` drill for every officer whose share took part in the unseal;
/// each result goes to the audit log.
fn record_drills(shared: &Shared, vault: &Path, unsealed: &Unsealed) {
    for (officer, key) in unsealed.drill_keys() {
        let result = health::record(
            vault,
            unsealed.header(),
            &officer,
            DrillKind::Agent,
            now(),
            &key,
        );
        shared.audit.event(
            "drill",
            match result {
                Ok(_) => json!({ "officer": officer, "result": "recorded" }),
                Err(e) => {
                    json!({ "officer": officer, "result": "failed", "reason": e.to_string() })
                }
            },
        );
    }
}

fn status_of(state: &State, expire: Option<Duration>) -> AgentStatus {
    let sealed = state.unsealed.is_none();
    // Unsealed, the open vault's header is current: saves through the agent advance it.
    let header = state
        .unsealed
        .as_ref()
        .map_or_else(|| state.sealed.header(), Unsealed::header);
    let progress = if sealed {
        state.sealed.progress()
    } else {
        state
            .last_progress
            .clone()
            .unwrap_or_else(|| state.sealed.progress())
    };
    AgentStatus {
        sealed,
        progress: if sealed {
            progress.to_string()
        } else {
            "unsealed".into()
        },
        groups: progress
            .groups
            .iter()
            .map(|g| GroupStatus {
                name: g.name.clone(),
                have: g.have,
                need: g.need,
                officers: g.officers.clone(),
            })
            .collect(),
        submissions: state.submissions.iter().map(|(s, _)| s.clone()).collect(),
        since: if sealed {
            state.started.map(|(_, at)| at)
        } else {
            state.unsealed_at
        },
        expires_at: match (sealed, state.started, expire) {
            (true, Some((_, at)), Some(expire)) => Some(at.saturating_add(expire.as_secs())),
            _ => None,
        },
        credentials: state.unsealed.as_ref().map(|u| u.list().len()),
        vault_id: to_hex(&header.vault_id.0),
        generation: header.generation,
        generation_served: state.served.as_ref().ok().copied(),
        health: None,
    }
}

fn officers_of(state: &State) -> Vec<String> {
    state
        .submissions
        .iter()
        .map(|(s, _)| s.officer.clone())
        .collect()
}

fn refused(shared: &Shared, peer: &Peer, officer: Option<&str>, message: String) -> Response {
    shared.audit.event(
        "submit",
        json!({ "uid": peer.uid, "pid": peer.pid, "officer": officer, "result": "refused", "reason": message }),
    );
    Response::error(ErrorCode::Refused, message)
}

fn already_unsealed(shared: &Shared, peer: &Peer) -> Response {
    shared.audit.event(
        "submit",
        json!({ "uid": peer.uid, "pid": peer.pid, "result": "refused", "reason": "already unsealed" }),
    );
    Response::error(
        ErrorCode::Conflict,
        "the vault is already unsealed; no share is needed (nothing was checked or kept)",
    )
}

/// The agent's own uid and root may always unseal and control: they can stop the
/// agent, or read its memory, anyway.
fn is_owner_or_root(shared: &Shared, peer: &Peer) -> bool {
    peer.uid == shared.own_uid || peer.uid == 0
}

fn may_unseal(shared: &Shared, peer: &Peer) -> bool {
    is_owner_or_root(shared, peer) || shared.policy.may_unseal(peer)
}

fn may_control(shared: &Shared, peer: &Peer) -> bool {
    is_owner_or_root(shared, peer) || shared.policy.may_control(peer)
}

/// `None` when `peer` has the `unseal` right; otherwise the logged refusal.
fn unseal_denied(shared: &Shared, peer: &Peer) -> Option<Response> {
    if may_unseal(shared, peer) {
        return None;
    }
    shared.audit.event(
        "submit",
        json!({ "uid": peer.uid, "pid": peer.pid, "result": "denied", "reason": "no unseal right" }),
    );
    Some(Response::error(
        ErrorCode::Denied,
        format!(
            "uid {} may not submit shares: the agent's policy gives it no unseal right; ask the vault's administrator for an 'unseal' line",
            peer.uid
        ),
    ))
}

fn submit_words(shared: &Shared, peer: &Peer, words: &SecretText) -> Response {
    if let Some(denied) = unseal_denied(shared, peer) {
        return denied;
    }
    {
        let state = shared.read();
        if state.unsealed.is_some() {
            drop(state);
            return already_unsealed(shared, peer);
        }
        if let Some(message) = rollback_refusal(&state) {
            drop(state);
            return refused(shared, peer, None, message);
        }
    }
    match slip39::parse(words.expose()) {
        Ok(share) => accept(shared, peer, share),
        Err(e) => refused(shared, peer, None, describe_parse_error(&e)),
    }
}

/// One refusal for a wrong passphrase, an unknown officer and an officer without a
/// keyslot alike, so that the answer does not tell which names exist.
fn no_keyslot_opened(officer: &str) -> String {
    format!(
        "the passphrase does not open {officer}'s keyslot (or there is no such keyslot); check the officer name and the passphrase"
    )
}

fn submit_keyslot(shared: &Shared, peer: &Peer, officer: &str, passphrase: SecretText) -> Response {
    if let Some(denied) = unseal_denied(shared, peer) {
        return denied;
    }
    let opener = {
        let state = shared.read();
        if state.unsealed.is_some() {
            drop(state);
            return already_unsealed(shared, peer);
        }
        if let Some(message) = rollback_refusal(&state) {
            drop(state);
            return refused(shared, peer, Some(officer), message);
        }
        Arc::clone(&state.opener)
    };
    let slot = opener
        .header()
        .officer_named(officer)
        .and_then(|(_, o)| o.slot.as_ref().map(|slot| (o.name.as_str(), slot)));
    let known = opener
        .header()
        .officer_named(officer)
        .map(|(_, o)| o.name.as_str());
    // Cheap refusals first: the throttle, then the queue; Argon2id only after both.
    let ticket = match shared.throttle.admit(peer.uid, known) {
        Ok(ticket) => ticket,
        Err(wait) => {
            let secs = wait.as_secs_f64().ceil();
            shared.throttled.record(
                &shared.audit,
                peer,
                "result",
                "rate_limited",
                || json!({ "officer": officer, "retry_after_ms": u64::try_from(wait.as_millis()).unwrap_or(u64::MAX) }),
            );
            return Response::retry_after(
                ErrorCode::RateLimited,
                format!(
                    "too many keyslot guesses from uid {} or for {officer}'s keyslot; try again in {secs} s",
                    peer.uid
                ),
                wait,
            );
        }
    };
    let Some((name, slot)) = slot else {
        // Unknown officer, or no keyslot: counted as a failed guess, answered alike.
        ticket.finish(true);
        return refused(shared, peer, Some(officer), no_keyslot_opened(officer));
    };
    let answer = match shared.deriver.submit(
        Arc::clone(&opener),
        name,
        passphrase,
        u64::from(slot.memory_kib),
    ) {
        Ok(answer) => answer,
        Err(QueueRefusal::Full) => {
            drop(ticket);
            shared.throttled.record(
                &shared.audit,
                peer,
                "result",
                "busy",
                || json!({ "officer": officer }),
            );
            return Response::retry_after(
                ErrorCode::Busy,
                "the agent is opening other keyslots; try again shortly",
                Duration::from_secs(1),
            );
        }
        Err(QueueRefusal::TooBig {
            need_kib,
            budget_kib,
        }) => {
            drop(ticket);
            return refused(
                shared,
                peer,
                Some(officer),
                format!(
                    "{officer}'s keyslot needs {} MiB to open, more than the agent's keyslot memory budget of {} MiB; restart the agent with a larger --keyslot-memory",
                    need_kib / 1024,
                    budget_kib / 1024
                ),
            );
        }
    };
    match answer.recv() {
        Ok(Ok(share)) => {
            ticket.finish(false);
            accept(shared, peer, share)
        }
        Ok(Err(SubmitError::WrongPassphrase { .. })) => {
            ticket.finish(true);
            refused(shared, peer, Some(officer), no_keyslot_opened(officer))
        }
        Ok(Err(e)) => {
            drop(ticket);
            refused(shared, peer, Some(officer), submit_message(&e))
        }
        Err(_) => {
            drop(ticket);
            Response::error(
                ErrorCode::Busy,
                "the agent stopped before the keyslot was opened; try again",
            )
        }
    }
}

/// A submission refusal as the officer reads it; share text errors without words.
fn submit_message(e: &SubmitError) -> String {
    match e {
        SubmitError::Parse(parse) => describe_parse_error(parse),
        other => other.to_string(),
    }
}

/// Why the vault file may not be unsealed: it is older than a generation this agent
/// has already served (a rollback), or the agent cannot tell. `None`: it may.
fn rollback_refusal(state: &State) -> Option<String> {
    let file = state.sealed.header().generation;
    match &state.served {
        Err(reason) => Some(reason.clone()),
        Ok(served) if file < *served => Some(format!(
            "{} is generation {file}, older than generation {served}, which this agent has already served: it is an older copy of the vault (a restored backup or a rollback), and is refused; put the current file back, or, if this copy must be used, remove {} (the agent's memory of the generation) and restart the agent",
            state.vault_path.display(),
            state.generation_file.display()
        )),
        Ok(_) => None,
    }
}

/// Remembers `generation` as served when it is newer than what was remembered. A
/// failure to write is logged; the vault stays as it is.
fn remember_generation(shared: &Shared, state: &mut State, generation: u64) {
    if state
        .served
        .as_ref()
        .is_ok_and(|served| generation <= *served)
    {
        return;
    }
    match generation::write(&state.generation_file, generation) {
        Ok(()) => state.served = Ok(generation),
        Err(e) => {
            // Kept in memory: this run still refuses older files.
            state.served = Ok(generation);
            shared
                .audit
                .event("generation_error", json!({ "error": e.to_string() }));
        }
    }
}

fn accept(shared: &Shared, peer: &Peer, share: Slip39Share) -> Response {
    let mut state = shared.write();
    if state.unsealed.is_some() {
        drop(state);
        return already_unsealed(shared, peer);
    }
    if let Some(message) = rollback_refusal(&state) {
        drop(state);
        return refused(shared, peer, None, message);
    }
    let (officer, group, member) = match state.sealed.identify(&share) {
        Ok(o) => (o.name.clone(), o.group, o.member),
        Err(e) => {
            drop(state);
            return refused(shared, peer, None, submit_message(&e));
        }
    };
    let progress = match state.sealed.submit(share) {
        Ok(progress) => progress,
        Err(e) => {
            drop(state);
            return refused(shared, peer, Some(&officer), submit_message(&e));
        }
    };
    let at = now();
    if state.started.is_none() {
        state.started = Some((Instant::now(), at));
    }
    state.submissions.push((
        Submission {
            officer: officer.clone(),
            group: group.saturating_add(1),
            member: member.saturating_add(1),
            at,
        },
        peer.uid,
    ));
    shared.audit.event(
        "submit",
        json!({
            "uid": peer.uid, "pid": peer.pid, "officer": officer,
            "group": group.saturating_add(1), "member": member.saturating_add(1),
            "result": "accepted", "progress": progress.to_string(),
        }),
    );
    if progress.is_complete() {
        let officers = officers_of(&state);
        match state.sealed.unseal() {
            Ok(mut unsealed) => {
                // Each officer who took part has shown their share works.
                record_drills(shared, &state.vault_path, &unsealed);
                // Nothing needs a share once unsealed: wipe every copy now. Only the
                // public record of who submitted stays, for status.
                unsealed.forget_shares();
                // Authenticated now: the payload opened under this header.
                let generation = unsealed.header().generation;
                remember_generation(shared, &mut state, generation);
                state.sealed.reset();
                state.unsealed = Some(unsealed);
                state.last_progress = Some(progress);
                state.unsealed_at = Some(now());
                state.started = None;
                shared.audit.event(
                    "unseal",
                    json!({ "result": "unsealed", "officers": officers }),
                );
            }
            Err(e) => {
                state.sealed.reset();
                state.submissions.clear();
                state.started = None;
                let message = format!(
                    "the shares were accepted but the vault did not open: {e}; progress was discarded"
                );
                shared.audit.event(
                    "unseal",
                    json!({ "result": "failed", "officers": officers, "reason": message }),
                );
                return Response::error(ErrorCode::UnsealFailed, message);
            }
        }
    }
    let status = status_of(&state, shared.expire);
    if !status.sealed {
        // The drills just recorded may lift the margin: checked outside the lock.
        let (header, vault) = health_inputs(&state);
        drop(state);
        health_of(shared, &header, &vault);
    }
    Response::Accepted {
        officer,
        member: member.saturating_add(1),
        status,
    }
}

fn control_denied(shared: &Shared, peer: &Peer, op: &'static str) -> Response {
    shared.denied_control.record(
        &shared.audit,
        peer,
        "op",
        op,
        || json!({ "allowed": false }),
    );
    Response::error(
        ErrorCode::Denied,
        format!(
            "uid {} may not {op}: only the agent's own uid, root and the policy's control lines may",
            peer.uid
        ),
    )
}

/// A controller discards all progress; a caller with only the `unseal` right
/// discards its own submissions and nobody else's.
fn reset(shared: &Shared, peer: &Peer) -> Response {
    let controller = may_control(shared, peer);
    if !controller && !may_unseal(shared, peer) {
        return control_denied(shared, peer, "reset");
    }
    let mut state = shared.write();
    if state.unsealed.is_some() {
        return Response::error(
            ErrorCode::Conflict,
            "the vault is unsealed, so there is no progress to discard; use seal to lock it",
        );
    }
    let discarded: Vec<String> = if controller {
        let officers = officers_of(&state);
        state.sealed.reset();
        state.submissions.clear();
        officers
    } else {
        let (own, others): (Vec<_>, Vec<_>) = std::mem::take(&mut state.submissions)
            .into_iter()
            .partition(|(_, uid)| *uid == peer.uid);
        state.submissions = others;
        for (s, _) in &own {
            state.sealed.withdraw(&s.officer);
        }
        own.into_iter().map(|(s, _)| s.officer).collect()
    };
    if state.submissions.is_empty() {
        state.started = None;
    }
    shared.audit.event(
        "reset",
        json!({
            "uid": peer.uid, "pid": peer.pid, "allowed": true,
            "scope": if controller { "all" } else { "own" }, "discarded": discarded,
        }),
    );
    Response::Status(status_of(&state, shared.expire))
}

fn seal(shared: &Shared, peer: &Peer) -> Response {
    if !may_control(shared, peer) {
        return control_denied(shared, peer, "seal");
    }
    let mut state = shared.write();
    let was_unsealed = state.unsealed.take().is_some();
    // The file may have been changed through the agent: read it again.
    let reopened = Vault::open(&state.vault_path).and_then(|s| {
        let opener = Vault::open(&state.vault_path)?;
        Ok((s, opener))
    });
    match reopened {
        Ok((sealed, opener)) => {
            if sealed.header().vault_id != state.sealed.header().vault_id {
                // Another vault now at the path: its own generation file counts.
                let dir = state
                    .generation_file
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                state.generation_file =
                    generation::state_path(Some(&dir), Path::new(""), &sealed.header().vault_id.0);
                state.served = generation::read(&state.generation_file)
                    .map(|g| g.unwrap_or(0))
                    .map_err(|e| e.to_string());
            }
            state.sealed = sealed;
            state.opener = Arc::new(opener);
        }
        Err(e) => {
            state.sealed.reset();
            shared
                .audit
                .event("reopen_error", json!({ "error": e.to_string() }));
        }
    }
    state.submissions.clear();
    state.started = None;
    state.unsealed_at = None;
    state.last_progress = None;
    shared.audit.event(
        "seal",
        json!({ "uid": peer.uid, "pid": peer.pid, "allowed": true, "was_unsealed": was_unsealed }),
    );
    Response::Status(status_of(&state, shared.expire))
}

fn credential_event(shared: &Shared, peer: &Peer, op: &str, name: &str, result: &str) {
    shared.audit.event(
        "credential",
        json!({
            "op": op, "uid": peer.uid, "gid": peer.gid, "pid": peer.pid, "name": name,
            "allowed": result != "denied", "result": result,
        }),
    );
}

fn denied(shared: &Shared, peer: &Peer, op: &str, name: &str) -> Response {
    credential_event(shared, peer, op, name, "denied");
    Response::error(
        ErrorCode::Denied,
        format!(
            "uid {} (gid {}) may not {op} '{name}': the agent's policy does not allow it; ask the vault's administrator for a rule",
            peer.uid, peer.gid
        ),
    )
}

const SEALED: &str = "the vault is sealed: officers must submit their shares first (svault unseal)";

fn get(shared: &Shared, peer: &Peer, name: &str) -> Response {
    if !shared.policy.may_read(peer, name) {
        return denied(shared, peer, "get", name);
    }
    let state = shared.read();
    let Some(vault) = &state.unsealed else {
        drop(state);
        credential_event(shared, peer, "get", name, "sealed");
        return Response::error(ErrorCode::Sealed, SEALED);
    };
    match vault.get(name) {
        Some(value) => {
            let value = SecretBytes::from_slice(value.expose());
            drop(state);
            credential_event(shared, peer, "get", name, "served");
            Response::Value(value)
        }
        None => {
            drop(state);
            credential_event(shared, peer, "get", name, "not_found");
            Response::error(
                ErrorCode::NotFound,
                format!("the vault has no credential named '{name}'"),
            )
        }
    }
}

fn list(shared: &Shared, peer: &Peer) -> Response {
    if !shared.policy.may_read_any(peer) {
        return denied(shared, peer, "list", "*");
    }
    let state = shared.read();
    let Some(vault) = &state.unsealed else {
        drop(state);
        credential_event(shared, peer, "list", "*", "sealed");
        return Response::error(ErrorCode::Sealed, SEALED);
    };
    let entries: Vec<Entry> = vault
        .list()
        .into_iter()
        .filter(|c| shared.policy.may_read(peer, &c.name))
        .map(|c| Entry {
            name: c.name,
            len: c.len,
            created: c.created,
            updated: c.updated,
        })
        .collect();
    drop(state);
    credential_event(shared, peer, "list", "*", "served");
    Response::List(entries)
}

fn set(shared: &Shared, peer: &Peer, name: &str, value: SecretBytes) -> Response {
    if !shared.policy.may_write(peer, name) {
        return denied(shared, peer, "set", name);
    }
    let mut state = shared.write();
    let Some(vault) = state.unsealed.as_mut() else {
        drop(state);
        credential_event(shared, peer, "set", name, "sealed");
        return Response::error(ErrorCode::Sealed, SEALED);
    };
    let previous = vault.get(name).map(|v| SecretBytes::from_slice(v.expose()));
    if let Err(e) = vault.set(name, value) {
        drop(state);
        credential_event(shared, peer, "set", name, "invalid");
        return Response::error(ErrorCode::Invalid, e.to_string());
    }
    match vault.save() {
        Ok(()) => {
            let generation = vault.header().generation;
            remember_generation(shared, &mut state, generation);
            drop(state);
            credential_event(shared, peer, "set", name, "saved");
            Response::Saved { existed: true }
        }
        Err(e) => {
            // Put memory back as the file still is.
            match previous {
                Some(old) => {
                    let _ = vault.set(name, old);
                }
                None => {
                    vault.remove(name);
                }
            }
            drop(state);
            credential_event(shared, peer, "set", name, "save_failed");
            Response::error(ErrorCode::SaveFailed, e.to_string())
        }
    }
}

fn remove(shared: &Shared, peer: &Peer, name: &str) -> Response {
    if !shared.policy.may_write(peer, name) {
        return denied(shared, peer, "rm", name);
    }
    let mut state = shared.write();
    let Some(vault) = state.unsealed.as_mut() else {
        drop(state);
        credential_event(shared, peer, "rm", name, "sealed");
        return Response::error(ErrorCode::Sealed, SEALED);
    };
    let previous = vault.get(name).map(|v| SecretBytes::from_slice(v.expose()));
    let Some(previous) = previous else {
        drop(state);
        credential_event(shared, peer, "rm", name, "not_found");
        return Response::Saved { existed: false };
    };
    vault.remove(name);
    match vault.save() {
        Ok(()) => {
            let generation = vault.header().generation;
            remember_generation(shared, &mut state, generation);
            drop(state);
            credential_event(shared, peer, "rm", name, "saved");
            Response::Saved { existed: true }
        }
        Err(e) => {
            let _ = vault.set(name, previous);
            drop(state);
            credential_event(shared, peer, "rm", name, "save_failed");
            Response::error(ErrorCode::SaveFailed, e.to_string())
        }
    }
}

/// systemd's `LoadCredential=ID:SOCKET` connects from an abstract address ending in
/// `/unit/UNIT/ID` and reads until end of file. `(UNIT, ID)` is mapped to a credential
/// by the policy's `systemd` rules; only root (systemd) or the agent's own uid is
/// served. Anything unknown is closed without data, and logged.
fn serve_systemd(shared: &Shared, stream: &UnixStream) {
    let Ok(peer) = peer_of(stream) else {
        return;
    };
    let address = stream.peer_addr().ok();
    let abstract_name = address
        .as_ref()
        .and_then(|a| a.as_abstract_name())
        .and_then(|n| std::str::from_utf8(n).ok());
    let unit_id = abstract_name.and_then(|n| {
        let (_, tail) = n.rsplit_once("/unit/")?;
        let (unit, id) = tail.split_once('/')?;
        (!id.contains('/')).then_some((unit, id))
    });
    let log = |unit: Option<&str>, id: Option<&str>, name: Option<&str>, result: &str| {
        shared.audit.event(
            "systemd",
            json!({
                "uid": peer.uid, "pid": peer.pid, "unit": unit, "id": id, "name": name,
                "allowed": result == "served", "result": result,
            }),
        );
    };
    if peer.uid != 0 && peer.uid != shared.own_uid {
        log(None, None, None, "denied: caller is not root");
        return;
    }
    let Some((unit, id)) = unit_id else {
        log(None, None, None, "denied: no /unit/UNIT/ID peer address");
        return;
    };
    let Some(name) = shared.policy.systemd_credential(unit, id) else {
        log(Some(unit), Some(id), None, "denied: no systemd rule");
        return;
    };
    let value = {
        let state = shared.read();
        match &state.unsealed {
            None => Err("sealed"),
            Some(vault) => vault
                .get(name)
                .map(|v| SecretBytes::from_slice(v.expose()))
                .ok_or("not_found"),
        }
    };
    match value {
        Ok(value) => {
            let _ = stream.set_write_timeout(Some(shared.request_timeout));
            let mut out = stream;
            let result = if out.write_all(value.expose()).is_ok() {
                "served"
            } else {
                "write_failed"
            };
            log(Some(unit), Some(id), Some(name), result);
        }
        Err(result) => log(Some(unit), Some(id), Some(name), result),
    }
}
