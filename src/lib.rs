//! svault: a credential vault whose master key exists only as Shamir shares held by
//! officers.
//!
//! This crate is built up in layers, each owning one step of the data flow
//! (see `docs/` and `SECURITY.md`):
//!
//! - [`gf256`]: arithmetic in GF(2^8) modulo 0x11b, constant time;
//! - [`shamir`]: split, combine, interpolate at any x, and a consistency check that
//!   proves every threshold-subset of a share set gives the same secret;
//! - [`share`]: the text forms officers hold (SLIP-0039 words; Vault/OpenBao keys).
//!
//! ```
//! use svault::shamir::{self, Consistency};
//!
//! // Split a 32-byte key so that any 3 of 5 officers can rebuild it.
//! let key = [0x42u8; 32];
//! let shares = shamir::split(&key, 3, 5)?;
//!
//! // Prove the set before handing it out: any 3 of the 5 give the same key.
//! assert_eq!(shamir::check_consistency(&shares, 3)?, Consistency::Consistent);
//!
//! // Later, three officers come together.
//! let back = shamir::combine(&shares[2..5])?;
//! assert_eq!(&back[..], &key[..]);
//! # Ok::<(), shamir::Error>(())
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod agent;
pub mod bao;
pub mod boot;
pub mod ceremony;
pub mod env;
pub mod gf256;
pub mod health;
pub mod prompt;
pub mod secret;
pub mod shamir;
pub mod share;
pub mod vault;

/// The README's examples, run as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
