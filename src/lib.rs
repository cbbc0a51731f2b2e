//! svault: a credential vault whose master key exists only as Shamir shares held by officers.
#![deny(unsafe_code)]

pub mod gf256;
pub mod shamir;
pub mod share;
