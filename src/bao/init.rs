//! `svault bao init`: OpenBao's `sys/init`, its keys combined to K in memory and
//! dropped, K re-split one key per officer, every key read back and verified, the set
//! proven by unsealing the node, and only then RECORD.
//!
//! ```text
//! start(node, threshold, officers) ──sys/init, combine, re-split──▶ Fresh
//!   Fresh::issued() ──each key written, read back──▶ Fresh::verify(officer, read) ──▶ Accepted
//!   Fresh::prove(node, accepted) ──unseal with a threshold, cluster id──▶ Proven { record, … }
//! ```

use std::time::Duration;

use zeroize::Zeroizing;

use super::key::{self, Accepted, Issued, SplitError};
use super::node::{Node, NodeError};
use super::record::{Cluster, KEY_LEN, OfficerEntry, Record};
use super::unseal::{self, Outcome, UnsealError};
use crate::share::unseal_key;

/// Why the ceremony stopped. From [`InitError::Node`] on, OpenBao may already be
/// initialised: the message says so.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The plan itself is wrong (nothing was sent).
    #[error("{0}; nothing was sent")]
    Plan(String),
    /// The node is already initialised (nothing was sent).
    #[error(
        "{node}: OpenBao is already initialised; nothing was sent. To move an existing \
         cluster to svault keys, use `svault bao rotate`"
    )]
    AlreadyInitialised {
        /// The node.
        node: String,
    },
    /// Talking to the node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// OpenBao's own keys did not combine consistently (never expected).
    #[error(
        "{node}: the keys OpenBao returned do not agree with each other ({reason}); svault \
         stored nothing. Re-create this node's storage and start again"
    )]
    OpenBaoKeys {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
    /// The re-split failed.
    #[error("re-splitting the unseal key failed; nothing was written")]
    Split(#[from] SplitError),
    /// A key read back is not the one issued.
    #[error(
        "officer {officer}: the key read back is not the key issued ({reason}); nothing was \
         written. OpenBao is initialised but its keys exist only in this process: re-create \
         the node's storage and run the ceremony again"
    )]
    ReadBack {
        /// The officer.
        officer: String,
        /// Why (never the key).
        reason: String,
    },
    /// The end-to-end proof failed.
    #[error(
        "the new keys did not unseal the node; nothing was written. Re-create the node's \
         storage and run the ceremony again"
    )]
    Proof(#[from] UnsealError),
}

/// OpenBao initialised; K re-split, keys not yet verified.
pub struct Fresh {
    node: String,
    secret: Zeroizing<Vec<u8>>,
    root_token: Zeroizing<String>,
    threshold: u8,
    issued: Vec<Issued>,
}

impl std::fmt::Debug for Fresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fresh({}, {:?})", self.node, self.issued)
    }
}

/// Checks the plan: 1..=255 officers, distinct non-empty names, a threshold among them.
///
/// # Errors
///
/// [`InitError::Plan`].
pub fn check_plan(threshold: u8, officers: &[String]) -> Result<(), InitError> {
    if officers.is_empty() || officers.len() > 255 {
        return Err(InitError::Plan(format!(
            "{} officers were named; name 1 to 255",
            officers.len()
        )));
    }
    if threshold == 0 || usize::from(threshold) > officers.len() {
        return Err(InitError::Plan(format!(
            "threshold {threshold} with {} officers: it must be 1 to {}",
            officers.len(),
            officers.len()
        )));
    }
    for (i, name) in officers.iter().enumerate() {
        let usable = !name.trim().is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !name.starts_with('.');
        if !usable {
            return Err(InitError::Plan(format!(
                "officer name {:?} cannot name a key file: use letters, digits, '-', '_' or '.'",
                crate::prompt::sanitize(name)
            )));
        }
        if officers[..i].contains(name) {
            return Err(InitError::Plan(format!("officer {name} is named twice")));
        }
    }
    Ok(())
}

/// [`check_plan`] for a split OpenBao will use: also a threshold of at least 2. At 1,
/// OpenBao makes a single key that is K itself, and takes a single key as K, a layout
/// svault's keys (`y ‖ x`) do not have.
///
/// # Errors
///
/// [`InitError::Plan`].
pub fn check_openbao_plan(threshold: u8, officers: &[String]) -> Result<(), InitError> {
    check_plan(threshold, officers)?;
    if threshold < 2 {
        return Err(InitError::Plan(
            "a threshold of 1 cannot be used: OpenBao then takes its single key as the unseal \
             key itself; choose 2 or more"
                .into(),
        ));
    }
    Ok(())
}

/// Initialises OpenBao at `node` with one key per officer, combines its keys to K
/// (proving them consistent first), and re-splits K for the officers.
///
/// # Errors
///
/// [`InitError`].
pub fn start(node: &Node, threshold: u8, officers: &[String]) -> Result<Fresh, InitError> {
    check_openbao_plan(threshold, officers)?;
    let status = node.seal_status()?;
    if status.initialized {
        return Err(InitError::AlreadyInitialised {
            node: node.name().to_owned(),
        });
    }
    // check_plan bounds the count to 255.
    let count = u8::try_from(officers.len()).unwrap_or(u8::MAX);
    let initialised = node.init(count, threshold)?;
    let openbao_error = |reason: String| InitError::OpenBaoKeys {
        node: node.name().to_owned(),
        reason,
    };
    if initialised.keys.len() > usize::from(threshold) {
        unseal_key::check_set(&initialised.keys, threshold)
            .map_err(|e| openbao_error(e.to_string()))?;
    }
    let secret = unseal_key::combine(&initialised.keys[..usize::from(threshold)])
        .map_err(|e| openbao_error(e.to_string()))?;
    if secret.len() != KEY_LEN {
        return Err(openbao_error(format!(
            "the unseal key has {} bytes",
            secret.len()
        )));
    }
    let issued = key::split(&secret, threshold, officers)?;
    Ok(Fresh {
        node: node.name().to_owned(),
        secret,
        root_token: initialised.root_token.clone(),
        threshold,
        issued,
    })
}

/// The ceremony's result: RECORD to write, the root token, and K (for `--vault`).
pub struct Proven {
    /// RECORD, with the cluster's id.
    pub record: Record,
    /// OpenBao's root token.
    pub root_token: Zeroizing<String>,
    /// The unseal key K.
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Proven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proven({:?})", self.record.officers)
    }
}

impl Fresh {
    /// The keys to hand out, one per officer.
    pub fn issued(&self) -> &[Issued] {
        &self.issued
    }

    /// Checks a key read back (from the file written, or typed by the officer) against
    /// the one issued to `officer`.
    ///
    /// # Errors
    ///
    /// [`InitError::ReadBack`].
    pub fn verify(&self, officer: &str, read: crate::shamir::Share) -> Result<Accepted, InitError> {
        let Some(issued) = self.issued.iter().find(|i| i.officer == officer) else {
            return Err(InitError::ReadBack {
                officer: officer.to_owned(),
                reason: "no key was issued to this officer".into(),
            });
        };
        if !key::same_key(&issued.key, &read) {
            return Err(InitError::ReadBack {
                officer: officer.to_owned(),
                reason: "it differs from the key issued".into(),
            });
        }
        Ok(key::accepted(officer, read))
    }

    /// The end-to-end proof: the verified keys (one per officer) combine to K, and a
    /// threshold of them unseals `node`. Returns RECORD with commitments to the
    /// verified keys and the cluster's id.
    ///
    /// # Errors
    ///
    /// [`InitError::ReadBack`] when an officer's verified key is missing;
    /// [`InitError::Proof`].
    pub fn prove(self, node: &Node, verified: &[Accepted]) -> Result<Proven, InitError> {
        for issued in &self.issued {
            if !verified.iter().any(|a| a.officer() == issued.officer) {
                return Err(InitError::ReadBack {
                    officer: issued.officer.clone(),
                    reason: "the key was not verified".into(),
                });
            }
        }
        let entries: Vec<OfficerEntry> = verified
            .iter()
            .map(|a| OfficerEntry::commit(a.officer(), a.key()))
            .collect();
        let keys: Vec<crate::shamir::Share> = verified
            .iter()
            .map(|a| crate::shamir::Share::new(a.key().x(), a.key().y().to_vec()))
            .collect();
        let back = unseal_key::combine(&keys[..usize::from(self.threshold)]).map_err(|e| {
            InitError::Split(SplitError::Plan {
                officers: keys.len(),
                threshold: self.threshold,
                source: e,
            })
        })?;
        if !unseal::same_secret(&back, &self.secret) {
            return Err(InitError::Split(SplitError::Unproven));
        }
        let mut record = Record::new(self.threshold, Cluster::default(), entries);
        let outcome = unseal::unseal_node(node, &record, verified, Duration::from_secs(10))?;
        if outcome != Outcome::Unsealed {
            return Err(InitError::Proof(UnsealError::Node(NodeError::BadAnswer {
                node: node.name().to_owned(),
                what: "the unseal proof".into(),
                reason: format!("{outcome:?} after a threshold of keys"),
            })));
        }
        let status = node.seal_status()?;
        record.cluster = Cluster {
            id: status.cluster_id,
            name: status.cluster_name,
        };
        Ok(Proven {
            record,
            root_token: self.root_token.clone(),
            secret: self.secret.clone(),
        })
    }
}
