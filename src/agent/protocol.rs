//! The agent's wire protocol (specified in `docs/AGENT.md`): one JSON object per line,
//! requests and responses alike, each at most [`MAX_REQUEST`] bytes (requests) or
//! [`MAX_RESPONSE`] bytes (responses) including the newline, each carrying `"v": 1`.
//!
//! Secrets in transit (share words, keyslot passphrases, credential values) are held in
//! wiped buffers: the line buffers, the parsed fields ([`SecretText`], [`SecretBytes`])
//! and the encoded responses. A response never repeats a submitted secret: refusals of
//! share text are rephrased without the words (see [`describe_parse_error`]).
//!
//! [`Request::parse`] never panics, whatever the bytes; it is fuzzed
//! (`fuzz/fuzz_targets/agent_request.rs`).

use std::fmt;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use base64ct::{Base64, Encoding as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, Zeroizing};

use crate::secret::SecretBytes;
use crate::share::slip39::ParseError;

/// The protocol version this build speaks (the `"v"` field).
pub const VERSION: u32 = 1;

/// The longest request line the agent reads, newline included (64 KiB). A longer one
/// is answered with `too_large` and the connection is closed.
pub const MAX_REQUEST: usize = 64 * 1024;

/// The longest response line a [`Client`](super::Client) reads (16 MiB).
pub const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// A secret string (share words, a passphrase, a base64 value): wiped on drop, never
/// shown by `Debug`, no `Clone`, no `Display`.
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    /// Takes over `text` (wiped on drop).
    pub fn new(text: String) -> SecretText {
        SecretText(Zeroizing::new(text))
    }

    /// Copies `text`.
    pub fn copied(text: &str) -> SecretText {
        SecretText::new(text.to_owned())
    }

    /// The text. Named so that every use is visible in review.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretText(<{} bytes>)", self.0.len())
    }
}

impl Serialize for SecretText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SecretText, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SecretText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretText, E> {
                Ok(SecretText::copied(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<SecretText, E> {
                Ok(SecretText::new(v))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A request from a client. `Debug` shows no secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum Request {
    /// `{"v":1,"op":"status"}`: sealed or not, progress, who submitted and when.
    Status,
    /// `{"v":1,"op":"submit","share":"WORDS"}`: one officer's SLIP-0039 share.
    SubmitShare(SecretText),
    /// `{"v":1,"op":"submit","officer":"NAME","passphrase":"…"}`: open the officer's
    /// keyslot and submit the share inside.
    SubmitKeyslot {
        /// The officer whose keyslot to open.
        officer: String,
        /// Their passphrase.
        passphrase: SecretText,
    },
    /// `{"v":1,"op":"reset"}`: discard the submitted shares.
    Reset,
    /// `{"v":1,"op":"seal"}`: wipe the key and the credentials from memory.
    Seal,
    /// `{"v":1,"op":"get","name":"NAME"}`: one credential's value.
    Get {
        /// The credential.
        name: String,
    },
    /// `{"v":1,"op":"list"}`: the names (and lengths, dates) the caller may read.
    List,
    /// `{"v":1,"op":"set","name":"NAME","value":"BASE64"}`: set and save.
    Set {
        /// The credential.
        name: String,
        /// The new value.
        value: SecretBytes,
    },
    /// `{"v":1,"op":"rm","name":"NAME"}`: remove and save.
    Remove {
        /// The credential.
        name: String,
    },
}

/// The wire form of a request: every field any request may have.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    v: Option<u32>,
    op: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    share: Option<SecretText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    officer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    passphrase: Option<SecretText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<SecretText>,
}

/// Why a line is not a valid request (or response). No message quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The line is longer than the limit.
    #[error("the request is longer than {max} bytes; send one request per line")]
    TooLarge {
        /// The limit, newline included.
        max: usize,
    },
    /// The line is not a JSON object of the documented shape.
    #[error("the request is not valid: {0}; see docs/AGENT.md")]
    Malformed(String),
    /// The `"v"` field is missing or names another version.
    #[error("protocol version {got} is not supported; this agent speaks version 1")]
    UnsupportedVersion {
        /// The version asked for (0 when missing).
        got: u32,
    },
    /// The operation is unknown.
    #[error(
        "unknown operation '{0}'; the operations are status, submit, reset, seal, get, list, set and rm"
    )]
    UnknownOp(String),
    /// A field the operation needs is missing.
    #[error("'{op}' needs the field '{field}'")]
    MissingField {
        /// The operation.
        op: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A field the operation does not take was given.
    #[error("'{op}' does not take the field '{field}'")]
    UnexpectedField {
        /// The operation.
        op: &'static str,
        /// The extra field.
        field: &'static str,
    },
    /// A credential value is not valid base64.
    #[error("the value is not valid base64 (standard alphabet, with padding)")]
    BadValue,
}

/// A JSON error described without quoting the input (which may hold a secret).
fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("at column {}", e.column());
    match e.classify() {
        Category::Syntax => format!("not valid JSON {at}"),
        Category::Eof => "the JSON object is incomplete".into(),
        Category::Io => "it could not be read".into(),
        // serde quotes strings it cannot use between double quotes; field names (which
        // are not secret) between backticks. Keep only messages without a quoted value.
        Category::Data => {
            let text = e.to_string();
            if text.contains('"') || text.len() > 300 {
                format!("a field has the wrong type or value {at}")
            } else {
                text
            }
        }
    }
}

impl Request {
    /// Parses one request line (without its newline; a trailing `\r` is allowed).
    ///
    /// # Errors
    ///
    /// [`ProtocolError`] for anything but a well-formed version-1 request. Never
    /// panics; no error quotes a secret field.
    pub fn parse(line: &[u8]) -> Result<Request, ProtocolError> {
        if line.len() >= MAX_REQUEST {
            return Err(ProtocolError::TooLarge { max: MAX_REQUEST });
        }
        let raw: RawRequest = serde_json::from_slice(line)
            .map_err(|e| ProtocolError::Malformed(describe_json_error(&e)))?;
        let version = raw.v.unwrap_or(0);
        if version != VERSION {
            return Err(ProtocolError::UnsupportedVersion { got: version });
        }
        let Some(op) = raw.op.as_deref() else {
            return Err(ProtocolError::Malformed("the field 'op' is missing".into()));
        };
        let op: &'static str = match op {
            "status" => "status",
            "submit" => "submit",
            "reset" => "reset",
            "seal" => "seal",
            "get" => "get",
            "list" => "list",
            "set" => "set",
            "rm" => "rm",
            other => {
                let shown: String = other
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
                    .take(40)
                    .collect();
                return Err(ProtocolError::UnknownOp(shown));
            }
        };
        let present = [
            ("share", raw.share.is_some()),
            ("officer", raw.officer.is_some()),
            ("passphrase", raw.passphrase.is_some()),
            ("name", raw.name.is_some()),
            ("value", raw.value.is_some()),
        ];
        let allowed: &[&str] = match op {
            "submit" => &["share", "officer", "passphrase"],
            "get" | "rm" => &["name"],
            "set" => &["name", "value"],
            _ => &[],
        };
        if let Some((field, _)) = present
            .iter()
            .find(|(field, given)| *given && !allowed.contains(field))
        {
            return Err(ProtocolError::UnexpectedField { op, field });
        }
        let need = |field: &'static str, value: Option<String>| {
            value.ok_or(ProtocolError::MissingField { op, field })
        };
        Ok(match op {
            "status" => Request::Status,
            "reset" => Request::Reset,
            "seal" => Request::Seal,
            "list" => Request::List,
            "get" => Request::Get {
                name: need("name", raw.name)?,
            },
            "rm" => Request::Remove {
                name: need("name", raw.name)?,
            },
            "set" => {
                let name = need("name", raw.name)?;
                let encoded = raw
                    .value
                    .ok_or(ProtocolError::MissingField { op, field: "value" })?;
                let value =
                    Base64::decode_vec(encoded.expose()).map_err(|_| ProtocolError::BadValue)?;
                Request::Set {
                    name,
                    value: SecretBytes::new(value),
                }
            }
            _ => match (raw.share, raw.officer, raw.passphrase) {
                (Some(share), None, None) => Request::SubmitShare(share),
                (None, Some(officer), Some(passphrase)) => Request::SubmitKeyslot {
                    officer,
                    passphrase,
                },
                (Some(_), _, _) => {
                    return Err(ProtocolError::Malformed(
                        "give either 'share' or 'officer' with 'passphrase', not both".into(),
                    ));
                }
                (None, None, _) => {
                    return Err(ProtocolError::MissingField { op, field: "share" });
                }
                (None, Some(_), None) => {
                    return Err(ProtocolError::MissingField {
                        op,
                        field: "passphrase",
                    });
                }
            },
        })
    }

    /// The request as one line, newline included, in a wiped buffer.
    ///
    /// # Errors
    ///
    /// Only if JSON encoding fails, which it does not for these types.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, ProtocolError> {
        let mut raw = RawRequest {
            v: Some(VERSION),
            op: None,
            share: None,
            officer: None,
            passphrase: None,
            name: None,
            value: None,
        };
        // Escaping can grow a string up to six times; size the buffer once so that no
        // reallocation leaves a copy of a secret behind.
        let mut secret_len = 0;
        let op = match self {
            Request::Status => "status",
            Request::Reset => "reset",
            Request::Seal => "seal",
            Request::List => "list",
            Request::SubmitShare(words) => {
                secret_len = words.expose().len();
                raw.share = Some(SecretText::copied(words.expose()));
                "submit"
            }
            Request::SubmitKeyslot {
                officer,
                passphrase,
            } => {
                secret_len = passphrase.expose().len();
                raw.officer = Some(officer.clone());
                raw.passphrase = Some(SecretText::copied(passphrase.expose()));
                "submit"
            }
            Request::Get { name } => {
                raw.name = Some(name.clone());
                "get"
            }
            Request::Remove { name } => {
                raw.name = Some(name.clone());
                "rm"
            }
            Request::Set { name, value } => {
                let encoded = Zeroizing::new(Base64::encode_string(value.expose()));
                secret_len = encoded.len();
                raw.name = Some(name.clone());
                raw.value = Some(SecretText::copied(&encoded));
                "set"
            }
        };
        raw.op = Some(op.to_owned());
        let name_len =
            raw.name.as_ref().map_or(0, String::len) + raw.officer.as_ref().map_or(0, String::len);
        let mut out = Zeroizing::new(Vec::with_capacity(
            128 + secret_len.saturating_mul(6) + name_len.saturating_mul(6),
        ));
        serde_json::to_writer(&mut *out, &raw)
            .map_err(|e| ProtocolError::Malformed(describe_json_error(&e)))?;
        out.push(b'\n');
        Ok(out)
    }
}

/// The reason code of an error response (`"error"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is not valid JSON of the documented shape.
    Malformed,
    /// The request line is too long (the connection is then closed).
    TooLarge,
    /// The request names a protocol version this agent does not speak.
    UnsupportedVersion,
    /// The request did not arrive in time (the connection is then closed).
    Timeout,
    /// The agent has too many connections, or its keyslot queue is full; try again
    /// (after `retry_after_ms` when given).
    Busy,
    /// Too many keyslot guesses from this caller or for this officer: wait
    /// `retry_after_ms` before the next one.
    RateLimited,
    /// A share or passphrase was refused; the message says why. Progress is unchanged.
    Refused,
    /// The shares matched their commitments but the vault did not open.
    UnsealFailed,
    /// The vault is sealed: officers must submit shares first.
    Sealed,
    /// The policy does not allow this caller this request.
    Denied,
    /// No credential has that name.
    NotFound,
    /// The name or value is not acceptable.
    Invalid,
    /// The vault file could not be saved; nothing changed.
    SaveFailed,
    /// The request cannot be done in the agent's current state.
    Conflict,
    /// An error code from a newer agent.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Busy => "busy",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Refused => "refused",
            ErrorCode::UnsealFailed => "unseal_failed",
            ErrorCode::Sealed => "sealed",
            ErrorCode::Denied => "denied",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Invalid => "invalid",
            ErrorCode::SaveFailed => "save_failed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl From<&ProtocolError> for ErrorCode {
    fn from(e: &ProtocolError) -> ErrorCode {
        match e {
            ProtocolError::TooLarge { .. } => ErrorCode::TooLarge,
            ProtocolError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            _ => ErrorCode::Malformed,
        }
    }
}

/// The agent's state as `status` reports it. Nothing in it is secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    /// Whether the vault is sealed.
    pub sealed: bool,
    /// Progress as a person reads it ("2 of 3, need 1 more"), or "unsealed".
    pub progress: String,
    /// Per group: shares entered against its threshold.
    pub groups: Vec<GroupStatus>,
    /// The accepted submissions, oldest first (kept while unsealed, to say who opened it).
    pub submissions: Vec<Submission>,
    /// When the first share of the current progress was accepted, or (unsealed) when the
    /// vault was unsealed; seconds since the Unix epoch.
    pub since: Option<u64>,
    /// When the current progress will be discarded unless the vault is unsealed first.
    pub expires_at: Option<u64>,
    /// How many credentials the vault holds (unsealed only).
    pub credentials: Option<usize>,
    /// The vault the agent serves: its id (hex), empty from an agent before this field.
    #[serde(default)]
    pub vault_id: String,
    /// The generation of the vault file the agent has open (0: a format-1 file).
    #[serde(default)]
    pub generation: u64,
    /// The highest generation the agent remembers serving (it refuses an older file);
    /// `None` when its generation file cannot be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_served: Option<u64>,
    /// The quorum's health from the drill records (docs/HEALTH.md); in `status` replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
}

/// The quorum's health as the agent reports it: the figures of `svault health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// How many more officers could be lost while those with a recent verified drill
    /// still form a quorum; negative: how many more must drill.
    pub margin: i64,
    /// The agent's minimum; a warning is logged when the margin is below it.
    pub min_margin: i64,
    /// Officers needed (one group) or groups needed (several).
    pub threshold: u32,
    /// Officers with a recent verified drill (one group), or groups meeting their
    /// threshold with such officers (several).
    pub verified: u32,
    /// How old a drill may be and still count, in days.
    pub max_age_days: u64,
    /// Drill records rejected (forged, damaged, copied …).
    pub rejected: usize,
    /// Per officer, in header order.
    pub officers: Vec<OfficerDrill>,
    /// Why the drill records could not be read (then no drill counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One officer's drill state in [`HealthStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficerDrill {
    /// The officer.
    pub name: String,
    /// Their latest verified drill (Unix seconds), if any.
    pub last_drill: Option<u64>,
    /// Whether the header holds their drill public key.
    pub drill_key: bool,
}

/// One group's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    /// The group's name.
    pub name: String,
    /// Shares entered.
    pub have: u8,
    /// The group's threshold.
    pub need: u8,
    /// The officers whose shares were entered.
    pub officers: Vec<String>,
}

/// One accepted submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The officer.
    pub officer: String,
    /// Their group, 1-based.
    pub group: u8,
    /// Their member number in the group, 1-based.
    pub member: u8,
    /// When it was accepted (seconds since the Unix epoch).
    pub at: u64,
}

/// A credential's name and public metadata (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The name.
    pub name: String,
    /// Value length in bytes.
    pub len: usize,
    /// When it was first set (seconds since the Unix epoch).
    pub created: u64,
    /// When it was last set.
    pub updated: u64,
}

/// A response from the agent. `Debug` shows no secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum Response {
    /// `"kind":"status"`: the answer to `status`, `reset` and `seal`.
    Status(AgentStatus),
    /// `"kind":"accepted"`: a submission was accepted (the status says whether that
    /// unsealed the vault).
    Accepted {
        /// The officer the share belongs to.
        officer: String,
        /// Their member number in their group, 1-based.
        member: u8,
        /// The agent's state after the submission.
        status: AgentStatus,
    },
    /// `"kind":"value"`: a credential's value.
    Value(SecretBytes),
    /// `"kind":"list"`: the credentials the caller may read.
    List(Vec<Entry>),
    /// `"kind":"saved"`: `set` or `rm` was saved to the vault file.
    Saved {
        /// For `rm`: whether the credential existed. For `set`: always true.
        existed: bool,
    },
    /// `"ok":false`: the request was refused or failed.
    Error {
        /// The reason code.
        code: ErrorCode,
        /// A plain-language message naming the officer or share and what to do next.
        message: String,
        /// For `busy` and `rate_limited`: how long to wait before trying again.
        retry_after: Option<Duration>,
    },
}

/// The wire form of a response: every field any response may have.
#[derive(Serialize, Deserialize)]
struct RawResponse {
    v: u32,
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<ErrorCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    officer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<AgentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<SecretText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entries: Option<Vec<Entry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    existed: Option<bool>,
}

impl RawResponse {
    fn ok(kind: &str) -> RawResponse {
        RawResponse {
            v: VERSION,
            ok: true,
            kind: Some(kind.to_owned()),
            error: None,
            message: None,
            retry_after_ms: None,
            officer: None,
            member: None,
            status: None,
            value: None,
            entries: None,
            existed: None,
        }
    }
}

impl Response {
    /// An error response.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Response {
        Response::Error {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A `busy` or `rate_limited` answer: try again after `wait`.
    pub fn retry_after(code: ErrorCode, message: impl Into<String>, wait: Duration) -> Response {
        Response::Error {
            code,
            message: message.into(),
            retry_after: Some(wait),
        }
    }

    /// The response as one line, newline included, in a wiped buffer sized once (so a
    /// value leaves no copy behind).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut secret_len = 0;
        let raw = match self {
            Response::Status(status) => RawResponse {
                status: Some(status.clone()),
                ..RawResponse::ok("status")
            },
            Response::Accepted {
                officer,
                member,
                status,
            } => RawResponse {
                officer: Some(officer.clone()),
                member: Some(*member),
                status: Some(status.clone()),
                ..RawResponse::ok("accepted")
            },
            Response::Value(value) => {
                let encoded = SecretText(Zeroizing::new(Base64::encode_string(value.expose())));
                secret_len = encoded.expose().len();
                RawResponse {
                    value: Some(encoded),
                    ..RawResponse::ok("value")
                }
            }
            Response::List(entries) => RawResponse {
                entries: Some(entries.clone()),
                ..RawResponse::ok("list")
            },
            Response::Saved { existed } => RawResponse {
                existed: Some(*existed),
                ..RawResponse::ok("saved")
            },
            Response::Error {
                code,
                message,
                retry_after,
            } => RawResponse {
                ok: false,
                kind: None,
                error: Some(*code),
                message: Some(message.clone()),
                retry_after_ms: retry_after
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                ..RawResponse::ok("error")
            },
        };
        let mut out = Zeroizing::new(Vec::with_capacity(256 + secret_len));
        if serde_json::to_writer(&mut *out, &raw).is_err() {
            // Not reachable for these types; answer with a fixed error rather than panic.
            out.clear();
            out.extend_from_slice(
                br#"{"v":1,"ok":false,"error":"malformed","message":"the agent could not encode its answer"}"#,
            );
        }
        out.push(b'\n');
        out
    }

    /// Parses one response line (without its newline).
    ///
    /// # Errors
    ///
    /// [`ProtocolError`] when the line is not a version-1 response.
    pub fn parse(line: &[u8]) -> Result<Response, ProtocolError> {
        if line.len() >= MAX_RESPONSE {
            return Err(ProtocolError::TooLarge { max: MAX_RESPONSE });
        }
        let raw: RawResponse = serde_json::from_slice(line)
            .map_err(|e| ProtocolError::Malformed(describe_json_error(&e)))?;
        if raw.v != VERSION {
            return Err(ProtocolError::UnsupportedVersion { got: raw.v });
        }
        let missing = |field: &'static str| ProtocolError::MissingField {
            op: "response",
            field,
        };
        if !raw.ok {
            return Ok(Response::Error {
                code: raw.error.unwrap_or(ErrorCode::Unknown),
                message: raw.message.unwrap_or_default(),
                retry_after: raw.retry_after_ms.map(Duration::from_millis),
            });
        }
        Ok(match raw.kind.as_deref() {
            Some("status") => Response::Status(raw.status.ok_or_else(|| missing("status"))?),
            Some("accepted") => Response::Accepted {
                officer: raw.officer.ok_or_else(|| missing("officer"))?,
                member: raw.member.ok_or_else(|| missing("member"))?,
                status: raw.status.ok_or_else(|| missing("status"))?,
            },
            Some("value") => {
                let encoded = raw.value.ok_or_else(|| missing("value"))?;
                let bytes =
                    Base64::decode_vec(encoded.expose()).map_err(|_| ProtocolError::BadValue)?;
                Response::Value(SecretBytes::new(bytes))
            }
            Some("list") => Response::List(raw.entries.ok_or_else(|| missing("entries"))?),
            Some("saved") => Response::Saved {
                existed: raw.existed.unwrap_or(true),
            },
            _ => return Err(missing("kind")),
        })
    }
}

/// A share-text refusal as the agent answers and logs it: the error's `Display`,
/// which names word positions only, never a word or a suggested correction. (The
/// `svault unseal` client checks the words itself first and shows the full hint on the
/// officer's own terminal.)
pub fn describe_parse_error(e: &ParseError) -> String {
    e.to_string()
}

/// Reads newline-terminated lines from a stream into a wiped buffer that grows by
/// copying (never by reallocating in place), up to a limit, before a deadline.
pub(crate) struct LineReader {
    buf: Zeroizing<Vec<u8>>,
    filled: usize,
    /// Length of the line handed out by the last [`LineReader::read_line`], consumed by
    /// the next call.
    pending: usize,
    max: usize,
}

/// Why no line was read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the connection in the middle of a line.
    Truncated,
    /// The line is longer than the limit.
    TooLarge,
    /// No byte of a request arrived in time (the connection was idle).
    Idle,
    /// A line was begun but not finished in time.
    Timeout,
    /// The system's error.
    Io(io::Error),
}

impl LineReader {
    pub(crate) fn new(max: usize) -> LineReader {
        LineReader {
            buf: Zeroizing::new(vec![0; 1024.min(max)]),
            filled: 0,
            pending: 0,
            max,
        }
    }

    /// The next line, without its newline (and a trailing `\r`); `Ok(None)` at a clean
    /// end of stream. Its first byte must arrive within `idle`, and the whole line
    /// within `whole` of its first byte.
    pub(crate) fn read_line(
        &mut self,
        mut stream: &UnixStream,
        idle: Option<Duration>,
        whole: Option<Duration>,
    ) -> Result<Option<&[u8]>, ReadError> {
        self.consume();
        let start = Instant::now();
        let mut deadline = if self.filled > 0 {
            whole.map(|w| start + w)
        } else {
            idle.map(|i| start + i)
        };
        let mut scanned = 0;
        loop {
            if let Some(pos) = self.buf[scanned..self.filled]
                .iter()
                .position(|&b| b == b'\n')
            {
                let end = scanned + pos;
                self.pending = end + 1;
                let line = &self.buf[..end];
                return Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)));
            }
            scanned = self.filled;
            if self.filled >= self.max {
                return Err(ReadError::TooLarge);
            }
            if self.filled == self.buf.len() {
                self.grow();
            }
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(self.late());
                }
                stream.set_read_timeout(Some(left)).map_err(ReadError::Io)?;
            } else {
                stream.set_read_timeout(None).map_err(ReadError::Io)?;
            }
            let end = self.buf.len().min(self.max);
            match stream.read(&mut self.buf[self.filled..end]) {
                Ok(0) if self.filled == 0 => return Ok(None),
                Ok(0) => return Err(ReadError::Truncated),
                Ok(n) => {
                    if self.filled == 0 {
                        deadline = whole.map(|w| Instant::now() + w);
                    }
                    self.filled += n;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(self.late());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
    }

    fn late(&self) -> ReadError {
        if self.filled == 0 {
            ReadError::Idle
        } else {
            ReadError::Timeout
        }
    }

    /// Drops the line handed out last, wiping it.
    fn consume(&mut self) {
        let n = self.pending;
        if n == 0 {
            return;
        }
        self.buf.copy_within(n..self.filled, 0);
        let left = self.filled - n;
        self.buf[left..self.filled].zeroize();
        self.filled = left;
        self.pending = 0;
    }

    /// Doubles the buffer (up to the limit) by copying into a new one; the old one is
    /// wiped as it drops.
    fn grow(&mut self) {
        let size = self.buf.len().saturating_mul(2).clamp(1024, self.max);
        let mut bigger = Zeroizing::new(vec![0; size]);
        bigger[..self.filled].copy_from_slice(&self.buf[..self.filled]);
        self.buf = bigger;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Request, ProtocolError> {
        Request::parse(s.as_bytes())
    }

    #[test]
    fn every_request_round_trips() {
        let requests = [
            Request::Status,
            Request::SubmitShare(SecretText::copied("academic acid")),
            Request::SubmitKeyslot {
                officer: "alice".into(),
                passphrase: SecretText::copied("p\"w\n"),
            },
            Request::Reset,
            Request::Seal,
            Request::Get {
                name: "db/pw".into(),
            },
            Request::List,
            Request::Set {
                name: "db/pw".into(),
                value: SecretBytes::from_slice(b"\x00\xffhunter2"),
            },
            Request::Remove {
                name: "db/pw".into(),
            },
        ];
        for request in requests {
            let line = request.encode().unwrap();
            assert_eq!(line.last(), Some(&b'\n'));
            let back = Request::parse(&line[..line.len() - 1]).unwrap();
            assert_eq!(format!("{back:?}"), format!("{request:?}"));
            if let (Request::Set { value: a, .. }, Request::Set { value: b, .. }) =
                (&back, &request)
            {
                assert_eq!(a.expose(), b.expose());
            }
        }
    }

    #[test]
    fn bad_requests_are_named() {
        assert_eq!(
            parse(r#"{"op":"status"}"#).unwrap_err(),
            ProtocolError::UnsupportedVersion { got: 0 }
        );
        assert_eq!(
            parse(r#"{"v":2,"op":"status"}"#).unwrap_err(),
            ProtocolError::UnsupportedVersion { got: 2 }
        );
        assert!(matches!(
            parse(r#"{"v":1,"op":"fly"}"#),
            Err(ProtocolError::UnknownOp(op)) if op == "fly"
        ));
        assert_eq!(
            parse(r#"{"v":1,"op":"get"}"#).unwrap_err(),
            ProtocolError::MissingField {
                op: "get",
                field: "name"
            }
        );
        assert_eq!(
            parse(r#"{"v":1,"op":"list","name":"x"}"#).unwrap_err(),
            ProtocolError::UnexpectedField {
                op: "list",
                field: "name"
            }
        );
        assert_eq!(
            parse(r#"{"v":1,"op":"set","name":"x","value":"%%%"}"#).unwrap_err(),
            ProtocolError::BadValue
        );
        assert!(matches!(parse("{"), Err(ProtocolError::Malformed(_))));
        assert!(matches!(parse("[]"), Err(ProtocolError::Malformed(_))));
        assert!(matches!(
            parse(r#"{"v":1,"op":"get","name":"x","colour":1}"#),
            Err(ProtocolError::Malformed(m)) if m.contains("colour")
        ));
        let long = vec![b' '; MAX_REQUEST];
        assert_eq!(
            Request::parse(&long).unwrap_err(),
            ProtocolError::TooLarge { max: MAX_REQUEST }
        );
    }

    #[test]
    fn errors_do_not_quote_secrets() {
        // A secret put in the wrong place must not come back in the message.
        let e = parse(r#"{"v":1,"op":"submit","officer":["alice"],"passphrase":"s3cret-pass"}"#)
            .unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let e = parse(r#"{"v":"s3cret words here","op":"status"}"#).unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let submit = parse(r#"{"v":1,"op":"submit","share":"s3cret words"}"#).unwrap();
        assert!(!format!("{submit:?}").contains("s3cret"));
    }

    #[test]
    fn responses_round_trip() {
        let status = AgentStatus {
            sealed: true,
            progress: "1 of 2, need 1 more".into(),
            groups: vec![GroupStatus {
                name: "officers".into(),
                have: 1,
                need: 2,
                officers: vec!["alice".into()],
            }],
            submissions: vec![Submission {
                officer: "alice".into(),
                group: 1,
                member: 1,
                at: 5,
            }],
            since: Some(5),
            expires_at: None,
            credentials: None,
            vault_id: "00112233445566778899aabbccddeeff".into(),
            generation: 7,
            generation_served: Some(8),
            health: None,
        };
        let line = Response::Status(status.clone()).encode();
        match Response::parse(&line[..line.len() - 1]).unwrap() {
            Response::Status(s) => assert_eq!(s, status),
            other => panic!("{other:?}"),
        }
        let line = Response::Value(SecretBytes::from_slice(b"hunter2")).encode();
        match Response::parse(&line[..line.len() - 1]).unwrap() {
            Response::Value(v) => assert_eq!(v.expose(), b"hunter2"),
            other => panic!("{other:?}"),
        }
        let line = Response::error(ErrorCode::Denied, "no").encode();
        assert_eq!(
            &line[..],
            b"{\"v\":1,\"ok\":false,\"error\":\"denied\",\"message\":\"no\"}\n"
        );
        let line =
            Response::retry_after(ErrorCode::RateLimited, "wait", Duration::from_secs(8)).encode();
        assert_eq!(
            &line[..],
            b"{\"v\":1,\"ok\":false,\"error\":\"rate_limited\",\"message\":\"wait\",\"retry_after_ms\":8000}\n"
        );
        match Response::parse(&line[..line.len() - 1]).unwrap() {
            Response::Error {
                code: ErrorCode::RateLimited,
                retry_after,
                ..
            } => assert_eq!(retry_after, Some(Duration::from_secs(8))),
            other => panic!("{other:?}"),
        }
        let future = br#"{"v":1,"ok":false,"error":"melted","message":"m"}"#;
        assert!(matches!(
            Response::parse(future).unwrap(),
            Response::Error {
                code: ErrorCode::Unknown,
                ..
            }
        ));
    }
}
