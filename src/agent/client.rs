//! A client of the agent: one connection, one request at a time.
//!
//! Before anything is sent, the client checks who it is talking to: the socket's
//! directory must not be writable by others (unless sticky and owned by root, like
//! `/tmp`), and the process listening must run as this process's own uid, as root, or
//! as the uid the caller trusts ([`AgentTrust`], `$SVAULT_AGENT_UID`), by the kernel's
//! word (`SO_PEERCRED`). A listener planted at the path by another user gets nothing:
//! no share, no passphrase, no request.

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{
    AgentStatus, Entry, ErrorCode, LineReader, MAX_RESPONSE, ProtocolError, ReadError, Request,
    Response, SecretText,
};
use crate::secret::SecretBytes;

/// A request through the agent failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The agent's socket could not be reached.
    #[error(
        "cannot connect to the agent at {}: {source}; is `svault agent` running with this --socket?",
        path.display()
    )]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The system's reason.
        source: io::Error,
    },
    /// The socket lies in a directory others may write, where anyone could put their
    /// own listener in its place.
    #[error(
        "refusing the agent socket {}: its directory {} is writable by other users (mode {mode:04o}) and is not a root-owned sticky directory, so anyone could have replaced the socket; nothing was sent: put the socket in a directory only the agent's user (or root) can write, e.g. /run/svault",
        path.display(), dir.display()
    )]
    UnsafeDirectory {
        /// The socket path.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
        /// The directory's mode.
        mode: u32,
    },
    /// The process listening on the socket runs as a uid this client does not trust.
    #[error(
        "refusing the agent at {}: the process listening there runs as uid {uid}, which is neither this user, root, nor $SVAULT_AGENT_UID; nothing was sent: check who started it, and if uid {uid} is the agent's user, set SVAULT_AGENT_UID={uid}",
        path.display()
    )]
    Untrusted {
        /// The socket path.
        path: PathBuf,
        /// The listener's uid.
        uid: u32,
    },
    /// `$SVAULT_AGENT_UID` is not a uid or user name.
    #[error(
        "SVAULT_AGENT_UID is '{0}', which is neither a number nor a known user name; set it to the agent's uid or user, or unset it"
    )]
    BadAgentUid(String),
    /// The connection failed while talking.
    #[error("the connection to the agent failed: {0}")]
    Io(#[from] io::Error),
    /// The agent did not answer in time.
    #[error("the agent did not answer in time")]
    Timeout,
    /// The agent closed the connection without answering.
    #[error("the agent closed the connection without answering")]
    Closed,
    /// The agent's answer could not be read.
    #[error("the agent's answer could not be read: {0}")]
    Protocol(#[from] ProtocolError),
    /// The agent refused the request or it failed there; the message says why.
    #[error("{message}")]
    Agent {
        /// The reason code.
        code: ErrorCode,
        /// The agent's message.
        message: String,
    },
    /// The agent answered with a response of another kind.
    #[error("the agent gave an unexpected answer")]
    Unexpected,
}

impl ClientError {
    /// The agent's reason code, when the agent refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Agent { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// An accepted submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The officer whose share it was.
    pub officer: String,
    /// Their member number in their group, 1-based.
    pub member: u8,
    /// The agent's state afterwards (sealed, or unsealed by this share).
    pub status: AgentStatus,
}

/// The uids a client accepts as the agent's: its own (effective) uid and root always,
/// and at most one more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentTrust {
    also: Option<u32>,
}

impl AgentTrust {
    /// This process's own uid and root.
    pub fn own() -> AgentTrust {
        AgentTrust { also: None }
    }

    /// Also accept an agent running as `uid` (e.g. a dedicated `svault` user).
    pub fn also(uid: u32) -> AgentTrust {
        AgentTrust { also: Some(uid) }
    }

    /// [`AgentTrust::own`], and the uid (a number or a user name) in
    /// `$SVAULT_AGENT_UID` when it is set and not empty.
    ///
    /// # Errors
    ///
    /// [`ClientError::BadAgentUid`].
    pub fn from_env() -> Result<AgentTrust, ClientError> {
        match std::env::var_os("SVAULT_AGENT_UID") {
            Some(v) if !v.is_empty() => {
                let text = v.to_string_lossy().into_owned();
                Self::parse(&text)
                    .map(AgentTrust::also)
                    .ok_or(ClientError::BadAgentUid(text))
            }
            _ => Ok(AgentTrust::own()),
        }
    }

    fn parse(text: &str) -> Option<u32> {
        match text.parse::<u32>() {
            Ok(uid) => Some(uid),
            Err(_) => nix::unistd::User::from_name(text)
                .ok()
                .flatten()
                .map(|u| u.uid.as_raw()),
        }
    }

    /// Whether an agent running as `uid` is trusted.
    pub fn accepts(&self, uid: u32) -> bool {
        uid == 0 || uid == nix::unistd::geteuid().as_raw() || self.also == Some(uid)
    }
}

/// Refuses a socket whose directory others may write (unless sticky and root-owned).
fn check_directory(path: &Path) -> Result<(), ClientError> {
    use std::os::unix::fs::MetadataExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // A missing directory is left to connect() to report.
    let Ok(meta) = std::fs::metadata(dir) else {
        return Ok(());
    };
    let mode = meta.mode() & 0o7777;
    let sticky_root = mode & 0o1000 != 0 && meta.uid() == 0;
    if mode & 0o022 != 0 && !sticky_root {
        return Err(ClientError::UnsafeDirectory {
            path: path.to_owned(),
            dir: dir.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// Connects and checks the listener's uid with `SO_PEERCRED` before anything is sent.
fn connect_checked(path: &Path, trust: AgentTrust) -> Result<UnixStream, ClientError> {
    check_directory(path)?;
    let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
        path: path.to_owned(),
        source,
    })?;
    let cred = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(io::Error::from)?;
    let uid = cred.uid();
    if !trust.accepts(uid) {
        return Err(ClientError::Untrusted {
            path: path.to_owned(),
            uid,
        });
    }
    Ok(stream)
}

/// A connection to an agent.
pub struct Client {
    path: PathBuf,
    trust: AgentTrust,
    stream: UnixStream,
    reader: LineReader,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the agent's socket, trusting an agent that runs as this process's
    /// uid, root, or `$SVAULT_AGENT_UID` ([`AgentTrust::from_env`]). Answers are
    /// awaited for at most 60 s (see [`Client::set_timeout`]).
    ///
    /// # Errors
    ///
    /// As [`Client::connect_trusting`], and [`ClientError::BadAgentUid`].
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        Client::connect_trusting(path, AgentTrust::from_env()?)
    }

    /// Connects to the agent's socket, trusting the uids in `trust` (the environment is
    /// not read).
    ///
    /// # Errors
    ///
    /// [`ClientError::UnsafeDirectory`] and [`ClientError::Untrusted`] (nothing was
    /// sent), [`ClientError::Connect`].
    ///
    /// # Security
    ///
    /// The check is the kernel's `SO_PEERCRED` of the listening process, read before
    /// the first byte is written; every reconnection is checked again.
    pub fn connect_trusting(
        path: impl AsRef<Path>,
        trust: AgentTrust,
    ) -> Result<Client, ClientError> {
        let path = path.as_ref().to_owned();
        let stream = connect_checked(&path, trust)?;
        let timeout = Some(Duration::from_secs(60));
        stream.set_write_timeout(timeout)?;
        Ok(Client {
            path,
            trust,
            stream,
            reader: LineReader::new(MAX_RESPONSE),
            timeout,
        })
    }

    /// How long to wait for an answer (`None`: forever).
    ///
    /// # Errors
    ///
    /// The system's error.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<(), ClientError> {
        self.stream.set_write_timeout(timeout)?;
        self.timeout = timeout;
        Ok(())
    }

    /// Sends one request and reads its response. An agent's refusal is a
    /// [`Response::Error`], not an `Err`. When the agent had closed an idle
    /// connection, the request is sent once more on a new one (the agent closes idle
    /// connections only between requests, so nothing was done twice).
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`], [`ClientError::Timeout`], [`ClientError::Closed`],
    /// [`ClientError::Protocol`].
    pub fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        let line = request.encode()?;
        match self.exchange(&line) {
            Err(ClientError::Closed) => {}
            Err(ClientError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ) => {}
            other => return other,
        }
        let fresh = Client::connect_trusting(&self.path, self.trust)?;
        self.stream = fresh.stream;
        self.reader = fresh.reader;
        self.stream.set_write_timeout(self.timeout)?;
        self.exchange(&line)
    }

    fn exchange(&mut self, line: &[u8]) -> Result<Response, ClientError> {
        (&self.stream).write_all(line)?;
        match self
            .reader
            .read_line(&self.stream, self.timeout, self.timeout)
        {
            Ok(Some(line)) => Ok(Response::parse(line)?),
            Ok(None) | Err(ReadError::Truncated) => Err(ClientError::Closed),
            Err(ReadError::Idle | ReadError::Timeout) => Err(ClientError::Timeout),
            Err(ReadError::TooLarge) => Err(ProtocolError::TooLarge { max: MAX_RESPONSE }.into()),
            Err(ReadError::Io(e)) => Err(e.into()),
        }
    }

    /// Sends a request; an error response becomes [`ClientError::Agent`].
    fn call(&mut self, request: &Request) -> Result<Response, ClientError> {
        match self.request(request)? {
            Response::Error { code, message, .. } => Err(ClientError::Agent { code, message }),
            other => Ok(other),
        }
    }

    fn status_call(&mut self, request: &Request) -> Result<AgentStatus, ClientError> {
        match self.call(request)? {
            Response::Status(status) => Ok(status),
            _ => Err(ClientError::Unexpected),
        }
    }

    fn submit(&mut self, request: &Request) -> Result<Accepted, ClientError> {
        match self.call(request)? {
            Response::Accepted {
                officer,
                member,
                status,
            } => Ok(Accepted {
                officer,
                member,
                status,
            }),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Sealed or unsealed, progress, who submitted and when.
    ///
    /// # Errors
    ///
    /// As [`Client::request`].
    pub fn status(&mut self) -> Result<AgentStatus, ClientError> {
        self.status_call(&Request::Status)
    }

    /// Submits one officer's share words.
    ///
    /// # Errors
    ///
    /// [`ClientError::Agent`] with [`ErrorCode::Refused`] and the reason (naming the
    /// officer or word position) when the share is refused; progress is unchanged.
    pub fn submit_share(&mut self, words: &str) -> Result<Accepted, ClientError> {
        self.submit(&Request::SubmitShare(SecretText::copied(words)))
    }

    /// Submits an officer's keyslot passphrase.
    ///
    /// # Errors
    ///
    /// As [`Client::submit_share`].
    pub fn submit_keyslot(
        &mut self,
        officer: &str,
        passphrase: &str,
    ) -> Result<Accepted, ClientError> {
        self.submit(&Request::SubmitKeyslot {
            officer: officer.to_owned(),
            passphrase: SecretText::copied(passphrase),
        })
    }

    /// Discards the submitted shares.
    ///
    /// # Errors
    ///
    /// As [`Client::request`]; [`ErrorCode::Conflict`] when unsealed.
    pub fn reset(&mut self) -> Result<AgentStatus, ClientError> {
        self.status_call(&Request::Reset)
    }

    /// Seals the vault: the agent wipes the key and credentials from memory.
    ///
    /// # Errors
    ///
    /// As [`Client::request`].
    pub fn seal(&mut self) -> Result<AgentStatus, ClientError> {
        self.status_call(&Request::Seal)
    }

    /// A credential's value.
    ///
    /// # Errors
    ///
    /// [`ClientError::Agent`] with [`ErrorCode::Denied`], [`ErrorCode::Sealed`] or
    /// [`ErrorCode::NotFound`].
    pub fn get(&mut self, name: &str) -> Result<SecretBytes, ClientError> {
        match self.call(&Request::Get {
            name: name.to_owned(),
        })? {
            Response::Value(value) => Ok(value),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// The credentials this caller may read (names and metadata).
    ///
    /// # Errors
    ///
    /// As [`Client::get`].
    pub fn list(&mut self) -> Result<Vec<Entry>, ClientError> {
        match self.call(&Request::List)? {
            Response::List(entries) => Ok(entries),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Sets a credential; the agent saves the vault file atomically.
    ///
    /// # Errors
    ///
    /// As [`Client::get`], and [`ErrorCode::Invalid`], [`ErrorCode::SaveFailed`].
    pub fn set(&mut self, name: &str, value: &SecretBytes) -> Result<(), ClientError> {
        match self.call(&Request::Set {
            name: name.to_owned(),
            value: SecretBytes::from_slice(value.expose()),
        })? {
            Response::Saved { .. } => Ok(()),
            _ => Err(ClientError::Unexpected),
        }
    }

    /// Removes a credential; returns whether it existed.
    ///
    /// # Errors
    ///
    /// As [`Client::set`].
    pub fn rm(&mut self, name: &str) -> Result<bool, ClientError> {
        match self.call(&Request::Remove {
            name: name.to_owned(),
        })? {
            Response::Saved { existed } => Ok(existed),
            _ => Err(ClientError::Unexpected),
        }
    }
}
