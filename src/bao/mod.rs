//! svault for OpenBao (and HashiCorp Vault) clusters: officers hold unseal keys that
//! svault made and verified, every key is checked against a public RECORD before it is
//! sent, and a wrong key is named instead of spoiling the unseal (`docs/BAO.md`).
//!
//! ```text
//! init::start(node) ─ sys/init, combine to K, re-split ─▶ init::Fresh
//!     ─ read back, verify ─▶ Fresh::prove(node) ─ unseal ─▶ init::Proven { Record }
//! key::read_file / key::parse_text ─▶ key::check_all(Record) ─▶ [key::Accepted]
//!     ─▶ unseal::unseal_node(node) ─▶ unseal::Outcome
//! ```
//!
//! - [`record`]: RECORD, salted commitments, named matches;
//! - [`key`]: re-split of K at fresh x, the key file, the check against RECORD;
//! - [`node`]: the HTTP client for one node;
//! - [`init`]: the ceremony; [`unseal`]: submitting keys and following a node;
//! - [`rotate`]: OpenBao's root-key rotation into a new verified split.

pub mod files;
pub mod init;
pub mod key;
pub mod node;
pub mod record;
pub mod rotate;
pub mod unseal;

pub use files::Staged;
pub use key::{Accepted, Refusal};
pub use node::{Node, NodeError, SealStatus, Tls};
pub use record::Record;
pub use unseal::{Outcome, UnsealError};
