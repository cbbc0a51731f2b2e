//! A client of the agent: one connection, one request at a time.

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

/// A connection to an agent.
pub struct Client {
    path: PathBuf,
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
    /// Connects to the agent's socket. Answers are awaited for at most 60 s (see
    /// [`Client::set_timeout`]).
    ///
    /// # Errors
    ///
    /// [`ClientError::Connect`].
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        let path = path.as_ref().to_owned();
        let stream = UnixStream::connect(&path).map_err(|source| ClientError::Connect {
            path: path.clone(),
            source,
        })?;
        let timeout = Some(Duration::from_secs(60));
        stream.set_write_timeout(timeout)?;
        Ok(Client {
            path,
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
        let fresh = Client::connect(&self.path)?;
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
