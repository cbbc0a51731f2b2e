//! The agent keeps OpenBao nodes unsealed (`svault agent … --bao-addr URL`): while the
//! vault is unsealed, every node found sealed is unsealed with a fresh split of the
//! unseal key K, which the vault holds as a credential (`bao/unseal-key` by default,
//! 64 lowercase hex characters). Each attempt is an audit line
//! `{"event":"bao_unseal","node":URL,"result":…}`, never with key material. Sealing
//! the agent stops it: K is read from the unsealed vault at each attempt and dropped
//! after it.

use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::json;
use zeroize::Zeroizing;

use super::server::{Agent, Watch};
use crate::bao::record::KEY_LEN;
use crate::bao::unseal::{self, Outcome};
use crate::bao::{Node, NodeError, Tls};

/// The credential that holds K unless `--bao-key` names another.
pub const DEFAULT_KEY_NAME: &str = "bao/unseal-key";

/// How often each node is polled while all is well.
pub const POLL: Duration = Duration::from_secs(2);

/// The longest wait between polls of a node that keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The keeper's thread; dropping it waits for the thread, which ends when the agent
/// stops.
#[derive(Debug)]
pub struct Keeper {
    thread: Option<JoinHandle<()>>,
}

/// What the keeper last saw of a node, so that a repeated state is logged once.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Fine,
    Waiting(&'static str),
    Failed(String),
}

struct Watched {
    url: String,
    node: Node,
    next: Instant,
    backoff: Duration,
    seen: Seen,
}

impl Keeper {
    /// Starts keeping `urls` unsealed with the credential `key_name` of `agent`'s vault.
    ///
    /// # Errors
    ///
    /// [`NodeError::BadAddress`] or [`NodeError::CaCert`] for an unusable address; an
    /// I/O error when the thread cannot start (as [`NodeError::Unreachable`]).
    pub fn start(
        agent: &Agent,
        urls: &[String],
        tls: &Tls,
        key_name: &str,
    ) -> Result<Keeper, NodeError> {
        let now = Instant::now();
        let mut nodes = Vec::new();
        for url in urls {
            nodes.push(Watched {
                url: url.clone(),
                node: Node::new(url, tls)?,
                next: now,
                backoff: POLL,
                seen: Seen::Fine,
            });
        }
        let watch = agent.watch();
        let key_name = key_name.to_owned();
        watch.audit().event(
            "bao_keeper",
            json!({ "nodes": urls, "credential": key_name }),
        );
        let thread = thread::Builder::new()
            .name("svault-bao".into())
            .spawn(move || keep(&watch, &key_name, nodes))
            .map_err(|e| NodeError::Unreachable {
                node: "keeper".into(),
                reason: e.to_string(),
            })?;
        Ok(Keeper {
            thread: Some(thread),
        })
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn keep(watch: &Watch, key_name: &str, mut nodes: Vec<Watched>) {
    while !watch.stopping() {
        let now = Instant::now();
        for watched in nodes.iter_mut().filter(|w| w.next <= now) {
            let seen = visit(watch, key_name, watched);
            watched.backoff = match seen {
                Seen::Failed(_) => (watched.backoff * 2).min(MAX_BACKOFF),
                _ => POLL,
            };
            watched.next = Instant::now() + watched.backoff;
            if seen != watched.seen {
                if let Seen::Waiting(reason) = &seen {
                    watch.audit().event(
                        "bao_unseal",
                        json!({ "node": watched.url, "result": "waiting", "reason": reason }),
                    );
                }
                watched.seen = seen;
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// One poll of one node: unseal it if it is sealed and the vault is unsealed.
fn visit(watch: &Watch, key_name: &str, watched: &Watched) -> Seen {
    let status = match watched.node.seal_status() {
        Ok(status) => status,
        Err(e) => return Seen::Failed(e.to_string()),
    };
    if !status.initialized {
        return Seen::Waiting("node not initialised (not joined yet)");
    }
    if !status.sealed {
        return Seen::Fine;
    }
    let Some(value) = watch.credential(key_name) else {
        return Seen::Waiting("node sealed; the vault is sealed or lacks the credential");
    };
    let secret = match parse_key(&value) {
        Some(secret) => secret,
        None => return Seen::Waiting("the credential is not 64 hex characters"),
    };
    drop(value);
    let started = Instant::now();
    let result = unseal::unseal_with_secret(&watched.node, &secret);
    drop(secret);
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(Outcome::Unsealed) => {
            watch.audit().event(
                "bao_unseal",
                json!({ "node": watched.url, "result": "unsealed", "millis": millis }),
            );
            Seen::Fine
        }
        Ok(Outcome::AlreadyUnsealed) => Seen::Fine,
        Ok(Outcome::Progress {
            progress,
            threshold,
        }) => {
            let reason = format!("still sealed, {progress} of {threshold}");
            audit_failure(watch, watched, &reason);
            Seen::Failed(reason)
        }
        Err(e) => {
            let reason = e.to_string();
            audit_failure(watch, watched, &reason);
            Seen::Failed(reason)
        }
    }
}

fn audit_failure(watch: &Watch, watched: &Watched, reason: &str) {
    watch.audit().event(
        "bao_unseal",
        json!({ "node": watched.url, "result": "failed", "reason": reason }),
    );
}

/// K from the credential's value: 64 lowercase hex characters (a final newline is
/// tolerated). K is secret, so the digits are decoded without branches or tables.
fn parse_key(value: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let text = value.strip_suffix(b"\n").unwrap_or(value);
    if text.len() != 2 * KEY_LEN {
        return None;
    }
    let mut bytes = Zeroizing::new(vec![0u8; KEY_LEN]);
    let mut valid = 1u8;
    for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
        let (high, high_ok) = nibble(pair[0]);
        let (low, low_ok) = nibble(pair[1]);
        *byte = (high << 4) | low;
        valid &= high_ok & low_ok;
    }
    (valid == 1).then_some(bytes)
}

/// A lowercase hex digit's value and 1 if it is one (else 0), without branches.
fn nibble(c: u8) -> (u8, u8) {
    let digit = c.wrapping_sub(b'0');
    let letter = c.wrapping_sub(b'a');
    // (v - n) borrows into the high byte exactly when v < n.
    let is_digit = (u16::from(digit).wrapping_sub(10) >> 8) as u8 & 1;
    let is_letter = (u16::from(letter).wrapping_sub(6) >> 8) as u8 & 1;
    let value =
        (digit & is_digit.wrapping_neg()) | (letter.wrapping_add(10) & is_letter.wrapping_neg());
    (value, is_digit | is_letter)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn the_credential_must_be_64_lowercase_hex() {
        let good = "ab".repeat(32);
        assert_eq!(parse_key(good.as_bytes()).unwrap().len(), 32);
        assert!(parse_key(format!("{good}\n").as_bytes()).is_some());
        assert!(parse_key(good.to_uppercase().as_bytes()).is_none());
        assert!(parse_key(&good.as_bytes()[..62]).is_none());
        assert!(parse_key(b"").is_none());
        for c in 0..=255u8 {
            let expected = (c as char).to_digit(16).filter(|_| !c.is_ascii_uppercase());
            let (value, ok) = nibble(c);
            assert_eq!(ok == 1, expected.is_some(), "{c}");
            if let Some(v) = expected {
                assert_eq!(u32::from(value), v);
            }
        }
    }
}
