//! The unseal agent: a long-running process that holds a vault sealed until officers
//! submit their shares over a Unix socket, then serves credentials to the local
//! processes its policy names, and to systemd's `LoadCredential=`.
//!
//! ```text
//! officers ── svault unseal ──┐                        ┌── Client::get ── services
//!                             ▼                        │
//!                  socket (0600/0660) ── Agent ── policy (SO_PEERCRED uid/gid)
//!                                          │ Sealed ─submit─▶ Unsealed (in memory)
//!                  systemd socket ─────────┘  LoadCredential=ID:SOCKET
//! ```
//!
//! - [`protocol`]: the wire format (one JSON object per line, `"v":1`, 64 KiB limit);
//!   specified in `docs/AGENT.md`;
//! - [`server`]: [`Agent`], its sockets, threads, timeouts, expiry and audit events;
//! - [`client`]: [`Client`], used by the `svault` command and by applications;
//! - [`policy`]: who may ask for what; [`audit`]: the JSON-lines audit log;
//! - [`limits`]: the keyslot derivation queue and the guess throttle;
//! - [`generation`]: the highest vault generation served, against rollbacks.
//!
//! The agent adds no cryptography: it drives [`crate::vault`] exactly as a program
//! unsealing its own vault would.

pub mod audit;
pub mod bao;
pub mod client;
pub mod generation;
pub mod limits;
pub mod policy;
pub mod protocol;
pub mod server;

pub use audit::Audit;
pub use client::{Accepted, AgentTrust, Client, ClientError};
pub use policy::{Peer, Policy, PolicyError};
pub use protocol::{AgentStatus, Entry, ErrorCode, HealthStatus, OfficerDrill, Request, Response};
pub use server::{Agent, AgentError, Config, Hardening, harden_process};
