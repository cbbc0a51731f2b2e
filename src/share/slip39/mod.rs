//! SLIP-0039 word shares: the standard text form of the officers' shares.
//!
//! A hand-written codec for the whole of SLIP-0039 ("Shamir's Secret-Sharing for
//! Mnemonic Codes", SatoshiLabs): 10-bit words from a 1024-word list, the RS1024
//! checksum with its customization strings, the share fields, two-level sharing
//! (groups of members), the digest share, and the four-round Feistel passphrase
//! encryption. Shares made here recover with any SLIP-0039 tool, and the reverse; the
//! 45 official vectors in `vectors/slip39/` are walked by `tests/slip39_vectors.rs`.
//!
//! The data flow reads left to right:
//!
//! ```text
//! share text ──parse──▶ Slip39Share ──recover(shares, &Passphrase)──▶ MasterSecret
//! MasterSecret ──generate(secret, &Passphrase, groups…)──▶ Vec<Vec<Slip39Share>> ──to_words──▶ text
//! ```
//!
//! ```
//! use svault::share::slip39::{self, GenerateOptions, GroupSpec, MasterSecret, Passphrase};
//!
//! let secret = MasterSecret::new(vec![7u8; 16])?;
//! let passphrase = Passphrase::new(b"correct horse".to_vec())?;
//! let options = GenerateOptions { iteration_exponent: 0, extendable: true };
//! // One group of three members, any two of whom can recover.
//! let groups = slip39::generate(&secret, &passphrase, 1, &[GroupSpec::new(2, 3)], options)?;
//! let words: Vec<_> = groups[0].iter().map(|s| s.to_words()).collect();
//!
//! // Later: two officers type their shares.
//! let typed = [words[2].as_str(), words[0].as_str()];
//! let back = slip39::recover_text(&typed, &passphrase)?;
//! assert_eq!(back.as_bytes(), secret.as_bytes());
//!
//! // A typo is located, and the one word that fixes it is suggested (never applied).
//! // The error's text gives positions only; the words are for the officer's terminal.
//! let mut bad: Vec<&str> = words[1].split(' ').collect();
//! bad[6] = "zzzz";
//! let err = slip39::parse(&bad.join(" ")).unwrap_err();
//! assert!(err.to_string().starts_with("word 7 is not in the SLIP-0039 word list"));
//! assert!(!err.to_string().contains("zzzz"));
//! assert!(err.terminal_message().starts_with("word 7 'zzzz' is not in the SLIP-0039 word list"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is public
//!
//! Share *text* is public input to this codec: parsing branches on it to say which
//! word is wrong, and turning a share into words indexes the word list by its bits.
//! Everything inside a share that is secret (its value), the passphrase, every
//! intermediate value and the master secret goes only through constant-time code:
//! shifts and masks, [`crate::shamir::interpolate`], HMAC with a
//! [`subtle::ConstantTimeEq`] digest comparison, and PBKDF2 and XOR. Those values are
//! wiped when dropped and are never shown by `Debug`, `Display` or an error.

mod bits;
mod cipher;
mod ct;
mod error;
mod extend;
mod generate;
mod recover;
mod rs1024;
mod secret;
mod share;
mod sss;
mod words;

pub use error::{
    ExtendError, GenerateError, ParseError, PassphraseError, RecoverError, Suggestion,
};
pub use extend::extend_group;
pub use generate::{GenerateOptions, GroupSpec, generate, generate_with_rng};
pub use recover::{check_complete, parse_all, recover, recover_text};
pub use secret::{MasterSecret, Passphrase, strip_one_line_ending};
pub use share::{Slip39Share, parse};

/// Entry points for the benchmarks (`benches/slip39.rs`) and the constant-time gate
/// (`tests/constant_time.rs`): the two ways of turning share text into word values.
/// Not API.
#[doc(hidden)]
pub mod gate {
    use zeroize::Zeroizing;

    /// Word values by binary search per word (the error path's lookup; not constant
    /// time), when every word is known.
    pub fn values_by_binary_search(text: &str) -> Option<Vec<u16>> {
        super::share::values_by_binary_search(text)
    }

    /// Word values by the constant-time scan that [`parse`](super::parse()) uses,
    /// when every word is known.
    pub fn values_constant_time(text: &str) -> Option<Zeroizing<Vec<u16>>> {
        super::share::values_constant_time(text)
    }
}
