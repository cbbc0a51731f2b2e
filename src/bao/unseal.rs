//! Submitting checked keys to a node and following it until it is unsealed.

use std::time::Duration;

use subtle::ConstantTimeEq;

use super::key::{self, Accepted};
use super::node::{Node, NodeError, SealStatus};
use super::record::Record;

/// How long a node may take to unseal after its threshold-th key.
pub const UNSEAL_WAIT: Duration = Duration::from_secs(30);

/// Where a node stands after the keys were submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still sealed: `progress` of `threshold` keys.
    Progress {
        /// Keys the node holds now.
        progress: u8,
        /// Keys it needs.
        threshold: u8,
    },
    /// Unsealed by this run.
    Unsealed,
    /// It was already unsealed; nothing was sent.
    AlreadyUnsealed,
}

/// Why a node was not unsealed. Every variant names the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnsealError {
    /// Talking to the node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The node is not initialised or has not joined the cluster (after waiting).
    #[error(
        "{node}: not initialised (or not yet joined to the cluster) after {seconds} s; nothing \
         was sent. Start it, or check its retry_join settings"
    )]
    NotInitialised {
        /// The node.
        node: String,
        /// How long it was waited for.
        seconds: u64,
    },
    /// The node's threshold differs from RECORD's: another cluster, or another split.
    #[error(
        "{node}: the node needs {node_threshold} keys but the record says {record_threshold}: \
         this record is not for this cluster (or its split was replaced); nothing was sent"
    )]
    ThresholdMismatch {
        /// The node.
        node: String,
        /// `t` from the node.
        node_threshold: u8,
        /// RECORD's threshold.
        record_threshold: u8,
    },
    /// The node refused the combination at its threshold.
    #[error(
        "{node}: the node refused the combined keys ({message}) and discarded its progress. \
         Every key svault sent was checked against the record; {before} key(s) the node held \
         before this run were not, so one of them was wrong — submit a threshold of keys again"
    )]
    Rejected {
        /// The node.
        node: String,
        /// Progress before this run.
        before: u8,
        /// OpenBao's message.
        message: String,
    },
    /// The node unsealed into a cluster other than RECORD's.
    #[error("{node}: unsealed, but its cluster id is {found}, not the record's {expected}")]
    OtherCluster {
        /// The node.
        node: String,
        /// Its cluster id.
        found: String,
        /// RECORD's.
        expected: String,
    },
}

/// Waits up to `wait` for `node` to report itself initialised.
///
/// # Errors
///
/// [`UnsealError::NotInitialised`], or the node's error if it never answered.
pub fn wait_initialised(node: &Node, wait: Duration) -> Result<SealStatus, UnsealError> {
    node.wait_for("initialisation", wait, |s| s.initialized)
        .map_err(|e| match e {
            NodeError::Timeout { node, seconds, .. } => {
                UnsealError::NotInitialised { node, seconds }
            }
            other => UnsealError::Node(other),
        })
}

/// Submits `keys` (checked against `record` by [`key::check_all`]) to `node`: waits up
/// to `wait_init` for it to be initialised, checks its threshold against RECORD, sends
/// keys until it has its threshold, then waits for it to unseal and checks its cluster
/// id. An unsealed node gets nothing.
///
/// # Errors
///
/// [`UnsealError`].
pub fn unseal_node(
    node: &Node,
    record: &Record,
    keys: &[Accepted],
    wait_init: Duration,
) -> Result<Outcome, UnsealError> {
    match submit_node(node, record, keys, wait_init)? {
        Submitted::Reached => finish_node(node, record),
        Submitted::Done(outcome) => Ok(outcome),
    }
}

/// Where a node stands after [`submit_node`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// It took its threshold-th key and is unsealing: [`finish_node`] waits for it.
    Reached,
    /// Nothing more to wait for (still short of its threshold, or already unsealed).
    Done(Outcome),
}

/// The first half of [`unseal_node`]: waits for `node` to be initialised, checks its
/// threshold against RECORD and sends keys until it has its threshold, without
/// waiting for it to unseal. Submitting to every node first and then waiting for all
/// ([`finish_node`]) lets the nodes of a cluster that restarted unseal in parallel.
///
/// # Errors
///
/// [`UnsealError`].
pub fn submit_node(
    node: &Node,
    record: &Record,
    keys: &[Accepted],
    wait_init: Duration,
) -> Result<Submitted, UnsealError> {
    let before = wait_initialised(node, wait_init)?;
    if !before.sealed {
        return Ok(Submitted::Done(Outcome::AlreadyUnsealed));
    }
    if before.t != record.threshold {
        return Err(UnsealError::ThresholdMismatch {
            node: node.name().to_owned(),
            node_threshold: before.t,
            record_threshold: record.threshold,
        });
    }
    submit_keys(node, keys.iter().map(Accepted::key), &before)
}

/// The second half of [`unseal_node`]: waits (up to [`UNSEAL_WAIT`]) for a node that
/// took its threshold-th key to report itself unsealed, then checks its cluster id.
///
/// # Errors
///
/// [`UnsealError`].
pub fn finish_node(node: &Node, record: &Record) -> Result<Outcome, UnsealError> {
    node.wait_for("unsealing after its threshold of keys", UNSEAL_WAIT, |s| {
        !s.sealed
    })?;
    check_cluster(node, record)?;
    Ok(Outcome::Unsealed)
}

fn submit_until_unsealed<'a>(
    node: &Node,
    keys: impl Iterator<Item = &'a crate::shamir::Share>,
    before: &SealStatus,
) -> Result<Outcome, UnsealError> {
    match submit_keys(node, keys, before)? {
        Submitted::Done(outcome) => Ok(outcome),
        Submitted::Reached => {
            node.wait_for("unsealing after its threshold of keys", UNSEAL_WAIT, |s| {
                !s.sealed
            })?;
            Ok(Outcome::Unsealed)
        }
    }
}

fn submit_keys<'a>(
    node: &Node,
    keys: impl Iterator<Item = &'a crate::shamir::Share>,
    before: &SealStatus,
) -> Result<Submitted, UnsealError> {
    let mut status = before.clone();
    let mut reached = false;
    for key in keys {
        status = node.submit(key).map_err(|e| match e {
            NodeError::Http {
                node,
                status: 400,
                message,
                ..
            } => UnsealError::Rejected {
                node,
                before: before.progress,
                message,
            },
            other => UnsealError::Node(other),
        })?;
        // A leader answers its threshold-th key unsealed; a follower answers it
        // "sealed, progress 0" and unseals about a second later.
        if !status.sealed || status.progress == 0 {
            reached = true;
            break;
        }
    }
    if !reached {
        return Ok(Submitted::Done(Outcome::Progress {
            progress: status.progress,
            threshold: status.t,
        }));
    }
    Ok(Submitted::Reached)
}

fn check_cluster(node: &Node, record: &Record) -> Result<(), UnsealError> {
    let (Some(expected), Ok(status)) = (&record.cluster.id, node.seal_status()) else {
        return Ok(());
    };
    match status.cluster_id {
        Some(found) if &found != expected => Err(UnsealError::OtherCluster {
            node: node.name().to_owned(),
            found,
            expected: expected.clone(),
        }),
        _ => Ok(()),
    }
}

/// Unseals `node` with a fresh split of the unseal key `secret` (the agent's way): as
/// many fresh keys as the node's threshold, at random x. Progress left by others is
/// discarded first, so that their keys cannot spoil the combination.
///
/// # Errors
///
/// [`UnsealError`]; [`UnsealError::NotInitialised`] at once for a node that is not
/// initialised.
pub fn unseal_with_secret(node: &Node, secret: &[u8]) -> Result<Outcome, UnsealError> {
    let mut before = node.seal_status()?;
    if !before.initialized {
        return Err(UnsealError::NotInitialised {
            node: node.name().to_owned(),
            seconds: 0,
        });
    }
    if !before.sealed {
        return Ok(Outcome::AlreadyUnsealed);
    }
    if before.progress > 0 {
        before = node.reset()?;
    }
    let names: Vec<String> = (0..before.t).map(|i| format!("agent{i}")).collect();
    let keys = key::split(secret, before.t, &names).map_err(|e| NodeError::BadAnswer {
        node: node.name().to_owned(),
        what: "seal status".into(),
        reason: e.to_string(),
    })?;
    submit_until_unsealed(node, keys.iter().map(|i| &i.key), &before)
}

/// Whether two byte strings are equal, in constant time (K against K).
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}
