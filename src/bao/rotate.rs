//! `svault bao rotate`: OpenBao's root-key rotation with verification, its new keys
//! combined to the new unseal key K′ in memory and dropped, K′ re-split one key per
//! officer, every key read back, and the set proven to OpenBao through
//! `sys/rotate/root/verify` with the officers' own keys. Only then is RECORD replaced,
//! the old split kept as retired.
//!
//! ```text
//! start(node, token, record, old keys, plan) ──rotate/root/init, update, combine, re-split──▶ Rotating
//!   Rotating::issued() ──each key written, read back──▶ Rotating::verify(officer, read) ──▶ Accepted
//!   Rotating::prove(accepted) ──rotate/root/verify with the officers' keys──▶ Rotated { record, … }
//! ```
//!
//! Until [`Rotating::prove`] has succeeded the rotation has not taken effect: every
//! failure from [`start`] on cancels it (`DELETE sys/rotate/root/init`), and so does
//! dropping a [`Rotating`], so the old keys keep unsealing the cluster.

use zeroize::Zeroizing;

use super::init::{InitError, check_openbao_plan};
use super::key::{self, Accepted, Issued};
use super::node::{Node, NodeError, RotationUpdate, RotationVerify};
use super::record::{Cluster, KEY_LEN, OfficerEntry, Record, RetiredSplit, today};
use super::unseal::same_secret;
use crate::shamir::Share;
use crate::share::unseal_key;

/// Why the rotation stopped. Every variant says whether anything reached OpenBao; none
/// leaves a rotation under way that svault started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// The plan or the inputs are wrong (nothing was sent).
    #[error("{0}; nothing was sent")]
    Plan(String),
    /// The node cannot rotate now (nothing was sent).
    #[error("{node}: {reason}; nothing was sent")]
    NotReady {
        /// The node.
        node: String,
        /// Why, and what to do.
        reason: String,
    },
    /// Another rotation is under way (nothing was sent; it was left alone).
    #[error(
        "{node}: a rotation is already under way (started by someone else, or left by an \
         interrupted run); nothing was sent. If nobody is rotating, cancel it with \
         `bao operator rotate-keys -cancel` and run this again"
    )]
    InProgress {
        /// The node.
        node: String,
    },
    /// Talking to the node failed before the rotation started.
    #[error("{0}; nothing was started")]
    Node(#[from] NodeError),
    /// The rotation was started, then failed; it was cancelled.
    #[error(
        "{reason}. The rotation was cancelled: the old keys still unseal the cluster, and \
         nothing was written"
    )]
    Cancelled {
        /// What failed (never a key).
        reason: String,
    },
    /// The rotation was started, then failed, and cancelling it failed too.
    #[error(
        "{reason}. Cancelling the rotation failed as well ({cancel}): cancel it with \
         `bao operator rotate-keys -cancel`. Until new keys are verified the old keys \
         still unseal the cluster; nothing was written"
    )]
    CancelFailed {
        /// What failed.
        reason: String,
        /// Why the cancel failed.
        cancel: String,
    },
}

/// The new split: its threshold and its officers (by default, RECORD's).
#[derive(Clone, Debug)]
pub struct Plan {
    /// Keys needed after the rotation.
    pub threshold: u8,
    /// One key per officer.
    pub officers: Vec<String>,
}

/// Checks the new split, as for `bao init` ([`check_openbao_plan`]).
///
/// # Errors
///
/// [`RotateError::Plan`].
pub fn check_rotation_plan(plan: &Plan) -> Result<(), RotateError> {
    check_openbao_plan(plan.threshold, &plan.officers).map_err(|e| match e {
        InitError::Plan(text) => RotateError::Plan(text),
        other => RotateError::Plan(other.to_string()),
    })
}

/// A rotation under way: OpenBao has made new keys (not yet in effect), K′ is re-split
/// for the officers. Dropped without [`Rotating::prove`], it cancels the rotation.
pub struct Rotating {
    node: Node,
    token: Zeroizing<String>,
    record: Record,
    secret: Zeroizing<Vec<u8>>,
    threshold: u8,
    verification_nonce: String,
    issued: Vec<Issued>,
    cluster: Cluster,
    armed: bool,
}

impl std::fmt::Debug for Rotating {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rotating({}, {:?})", self.node.name(), self.issued)
    }
}

/// Cancels the rotation at `node` and turns `reason` into the error to report.
fn cancel(node: &Node, token: &str, reason: String) -> RotateError {
    match node.rotation_cancel(token) {
        Ok(()) => RotateError::Cancelled { reason },
        Err(e) => RotateError::CancelFailed {
            reason,
            cancel: e.to_string(),
        },
    }
}

/// Starts the rotation at `node` with `token`: checks that the node is unsealed, is
/// RECORD's cluster (its id and threshold) and has no rotation under way; starts one
/// with verification required for `plan`; submits a threshold of `old` keys (already
/// checked against `record` by [`key::check_all`]); proves OpenBao's new keys
/// consistent, combines them to K′ and re-splits K′ for `plan.officers`.
///
/// # Errors
///
/// [`RotateError`]; once the rotation was started, it is cancelled before returning.
pub fn start(
    node: &Node,
    token: Zeroizing<String>,
    record: &Record,
    old: &[Accepted],
    plan: &Plan,
) -> Result<Rotating, RotateError> {
    begin(node, token, record, old, plan, false)
}

/// Moves a cluster whose keys svault never saw (OpenBao's own, from `bao operator
/// init`) to a new svault split: as [`start`], with the RECORD made from the keys
/// given. Their format is checked and no key may be given twice, but nothing can
/// check them against anything before OpenBao combines them: if OpenBao refuses them,
/// the rotation is cancelled. Each is named by its label in `keys` (the CLI gives the
/// file's name without extension) in the new RECORD's retired split, so that it is
/// named later as an old key.
///
/// # Errors
///
/// [`RotateError`]; once the rotation was started, it is cancelled before returning.
pub fn adopt(
    node: &Node,
    token: Zeroizing<String>,
    keys: Vec<(String, Share)>,
    plan: &Plan,
) -> Result<Rotating, RotateError> {
    check_rotation_plan(plan)?;
    let mut accepted: Vec<Accepted> = Vec::with_capacity(keys.len());
    let mut entries: Vec<OfficerEntry> = Vec::with_capacity(keys.len());
    for (label, key) in keys {
        if let Some(first) = accepted.iter().find(|a| key::same_key(a.key(), &key)) {
            return Err(RotateError::Plan(format!(
                "{label}: the same key as {} (the same key twice counts once); leave one out",
                first.officer()
            )));
        }
        if let Some(other) = accepted.iter().find(|a| a.key().x() == key.x()) {
            return Err(RotateError::Plan(format!(
                "{label} and {} have the same x = {} but differ: they cannot both be keys \
                 of this cluster; check both copies",
                other.officer(),
                key.x()
            )));
        }
        // Names in a record are distinct: a repeated label gets a number.
        let mut name = label.clone();
        let mut n = 1;
        while accepted.iter().any(|a| a.officer() == name) {
            n += 1;
            name = format!("{label}-{n}");
        }
        entries.push(OfficerEntry::commit(&name, &key));
        accepted.push(key::accepted(&name, key));
    }
    let status = node.seal_status()?;
    if !status.initialized || status.sealed {
        return Err(RotateError::NotReady {
            node: node.name().to_owned(),
            reason: "the node must be initialised and unsealed to rotate".into(),
        });
    }
    if accepted.len() < usize::from(status.t) {
        return Err(RotateError::Plan(format!(
            "{} key(s) were given but the cluster needs {}",
            accepted.len(),
            status.t
        )));
    }
    let base = Record::new(
        status.t,
        Cluster {
            id: status.cluster_id.clone(),
            name: status.cluster_name.clone(),
        },
        entries,
    );
    begin(node, token, &base, &accepted, plan, true)
}

fn begin(
    node: &Node,
    token: Zeroizing<String>,
    record: &Record,
    old: &[Accepted],
    plan: &Plan,
    adopted: bool,
) -> Result<Rotating, RotateError> {
    check_rotation_plan(plan)?;
    if old.len() < usize::from(record.threshold) {
        return Err(RotateError::Plan(format!(
            "{} key(s) were given but the record's threshold is {}; give {} officers' \
             current keys",
            old.len(),
            record.threshold,
            record.threshold
        )));
    }
    let not_ready = |reason: String| RotateError::NotReady {
        node: node.name().to_owned(),
        reason,
    };
    let status = node.seal_status()?;
    if !status.initialized || status.sealed {
        return Err(not_ready(
            "the node must be initialised and unsealed to rotate; unseal it first \
             (svault bao unseal)"
                .into(),
        ));
    }
    if status.t != record.threshold {
        return Err(not_ready(format!(
            "the node needs {} keys but the record says {}: this record is not for this \
             cluster, or its keys were changed outside svault",
            status.t, record.threshold
        )));
    }
    if let (Some(expected), Some(found)) = (&record.cluster.id, &status.cluster_id)
        && expected != found
    {
        return Err(not_ready(format!(
            "its cluster id is {found}, not the record's {expected}: this record is for \
             another cluster"
        )));
    }
    if node.rotation(&token)?.started {
        return Err(RotateError::InProgress {
            node: node.name().to_owned(),
        });
    }
    // check_plan bounds the count to 255.
    let count = u8::try_from(plan.officers.len()).unwrap_or(u8::MAX);
    let started = node.rotation_start(&token, count, plan.threshold)?;
    // From here on every failure cancels the rotation.
    match advance(
        node,
        &token,
        record,
        old,
        plan,
        count,
        &started.nonce,
        adopted,
    ) {
        Ok((secret, verification_nonce, issued)) => Ok(Rotating {
            node: node.clone(),
            token,
            record: record.clone(),
            secret,
            threshold: plan.threshold,
            verification_nonce,
            issued,
            cluster: Cluster {
                id: status
                    .cluster_id
                    .clone()
                    .or_else(|| record.cluster.id.clone()),
                name: status
                    .cluster_name
                    .clone()
                    .or_else(|| record.cluster.name.clone()),
            },
            armed: true,
        }),
        Err(reason) => Err(cancel(node, &token, reason)),
    }
}

type Advanced = (Zeroizing<Vec<u8>>, String, Vec<Issued>);

/// The old keys in, the new keys out, combined and re-split. Errors are the reason
/// for the cancel.
#[allow(clippy::too_many_arguments)]
fn advance(
    node: &Node,
    token: &str,
    record: &Record,
    old: &[Accepted],
    plan: &Plan,
    count: u8,
    nonce: &str,
    adopted: bool,
) -> Result<Advanced, String> {
    let mut answer = None;
    for accepted in &old[..usize::from(record.threshold)] {
        match node.rotation_update(token, accepted.key(), nonce) {
            Ok(RotationUpdate::Progress(_)) => {}
            Ok(complete @ RotationUpdate::Complete { .. }) => {
                answer = Some(complete);
                break;
            }
            Err(NodeError::Http {
                node,
                status,
                message,
                ..
            }) => {
                let why = if adopted {
                    "At least one of the keys given is not a current key of this cluster \
                     (mistyped, or another cluster's); OpenBao cannot say which"
                } else {
                    "Each key matched the record, so the record's split is not this \
                     cluster's current one: were its keys changed outside svault?"
                };
                return Err(format!(
                    "{node}: OpenBao refused the current keys at its threshold (HTTP {status}: \
                     {message}). {why}"
                ));
            }
            Err(other) => return Err(other.to_string()),
        }
    }
    let Some(RotationUpdate::Complete {
        keys,
        verification_nonce,
    }) = answer
    else {
        return Err(format!(
            "{}: OpenBao did not finish the rotation after {} current keys",
            node.name(),
            record.threshold
        ));
    };
    let openbao_error = |reason: String| {
        format!(
            "{}: the new keys OpenBao returned do not agree with each other ({reason})",
            node.name()
        )
    };
    if keys.len() != usize::from(count) {
        return Err(openbao_error(format!(
            "{} keys, {count} were asked for",
            keys.len()
        )));
    }
    if keys.len() > usize::from(plan.threshold) {
        unseal_key::check_set(&keys, plan.threshold).map_err(|e| openbao_error(e.to_string()))?;
    }
    let secret = unseal_key::combine(&keys[..usize::from(plan.threshold)])
        .map_err(|e| openbao_error(e.to_string()))?;
    drop(keys);
    if secret.len() != KEY_LEN {
        return Err(openbao_error(format!(
            "the new unseal key has {} bytes",
            secret.len()
        )));
    }
    let issued = key::split(&secret, plan.threshold, &plan.officers)
        .map_err(|e| format!("re-splitting the new unseal key failed: {e}"))?;
    Ok((secret, verification_nonce, issued))
}

impl Rotating {
    /// The keys to hand out, one per officer.
    pub fn issued(&self) -> &[Issued] {
        &self.issued
    }

    /// Checks a key read back against the one issued to `officer`.
    ///
    /// # Errors
    ///
    /// A plain reason (never the key); the caller cancels with [`Rotating::abort`].
    pub fn verify(&self, officer: &str, read: Share) -> Result<Accepted, String> {
        let Some(issued) = self.issued.iter().find(|i| i.officer == officer) else {
            return Err(format!(
                "officer {officer}: no key was issued to this officer"
            ));
        };
        if !key::same_key(&issued.key, &read) {
            return Err(format!(
                "officer {officer}: the key read back differs from the key issued"
            ));
        }
        Ok(key::accepted(officer, read))
    }

    /// Cancels the rotation because of `reason` (a step outside this module failed).
    pub fn abort(mut self, reason: String) -> RotateError {
        self.armed = false;
        cancel(&self.node, &self.token, reason)
    }

    /// The new RECORD for the verified keys (one per officer): fresh commitments, the
    /// cluster as the node reported it, and the old split retired as of today. It is
    /// to be staged before [`Rotating::prove`] and written only after it.
    pub fn record(&self, verified: &[Accepted]) -> Record {
        let entries: Vec<OfficerEntry> = verified
            .iter()
            .map(|a| OfficerEntry::commit(a.officer(), a.key()))
            .collect();
        let mut record = Record::new(self.threshold, self.cluster.clone(), entries);
        record.retired.push(RetiredSplit {
            retired: today(),
            threshold: self.record.threshold,
            officers: self.record.officers.clone(),
        });
        record.retired.extend(self.record.retired.iter().cloned());
        record
    }

    /// The proof: the verified keys (one per officer) are proven consistent and to
    /// combine to K′, and a threshold of them, submitted to `sys/rotate/root/verify`,
    /// are accepted by OpenBao — which then makes them the cluster's keys. Returns K′
    /// (for `--vault`).
    ///
    /// # Errors
    ///
    /// [`RotateError::Cancelled`] (or [`RotateError::CancelFailed`]) for any failure:
    /// the rotation has then not taken effect.
    pub fn prove(mut self, verified: &[Accepted]) -> Result<Zeroizing<Vec<u8>>, RotateError> {
        if let Err(reason) = self.check_and_submit(verified) {
            return Err(self.abort(reason));
        }
        // Verified: the rotation took effect, nothing may cancel it now.
        self.armed = false;
        Ok(self.secret.clone())
    }

    fn check_and_submit(&self, verified: &[Accepted]) -> Result<(), String> {
        for issued in &self.issued {
            if !verified.iter().any(|a| a.officer() == issued.officer) {
                return Err(format!(
                    "officer {}: the key was not verified",
                    issued.officer
                ));
            }
        }
        let keys: Vec<Share> = verified
            .iter()
            .map(|a| Share::new(a.key().x(), a.key().y().to_vec()))
            .collect();
        if keys.len() > usize::from(self.threshold) {
            unseal_key::check_set(&keys, self.threshold)
                .map_err(|e| format!("the new keys do not prove consistent: {e}"))?;
        }
        let back = unseal_key::combine(&keys[..usize::from(self.threshold)])
            .map_err(|e| format!("the new keys do not combine: {e}"))?;
        if !same_secret(&back, &self.secret) {
            return Err("the new keys do not combine to the new unseal key".into());
        }
        let nonce = &self.verification_nonce;
        for (i, accepted) in verified[..usize::from(self.threshold)].iter().enumerate() {
            match self
                .node
                .rotation_verify(&self.token, accepted.key(), nonce)
            {
                Ok(RotationVerify::Complete) => return Ok(()),
                Ok(RotationVerify::Progress(_)) => {}
                Err(NodeError::Http {
                    node,
                    status,
                    message,
                    ..
                }) => {
                    return Err(format!(
                        "{node}: OpenBao refused the officers' new keys at verification \
                         (HTTP {status}: {message}) after {} of them",
                        i + 1
                    ));
                }
                Err(other) => return Err(other.to_string()),
            }
        }
        Err(format!(
            "{}: OpenBao did not complete the verification after {} new keys",
            self.node.name(),
            self.threshold
        ))
    }
}

impl Drop for Rotating {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.node.rotation_cancel(&self.token);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn plan(threshold: u8, officers: &[&str]) -> Plan {
        Plan {
            threshold,
            officers: officers.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn plans_are_checked_before_anything_is_sent() {
        check_rotation_plan(&plan(2, &["a", "b", "c"])).unwrap();
        let one = check_rotation_plan(&plan(1, &["a"]))
            .unwrap_err()
            .to_string();
        assert!(
            one.contains("threshold of 1") && one.ends_with("nothing was sent"),
            "{one}"
        );
        let twice = check_rotation_plan(&plan(2, &["a", "a"]))
            .unwrap_err()
            .to_string();
        assert!(twice.contains("named twice"), "{twice}");
        assert_eq!(twice.matches("nothing was sent").count(), 1, "{twice}");
        let high = check_rotation_plan(&plan(3, &["a", "b"]))
            .unwrap_err()
            .to_string();
        assert!(high.contains("threshold 3"), "{high}");
    }

    #[test]
    fn too_few_old_keys_are_refused_before_the_node_is_asked() {
        // A closed port: any request would fail as unreachable, so a plan error shows
        // that nothing was sent.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let node = Node::new(
            &format!("http://127.0.0.1:{port}"),
            &super::super::Tls::system(),
        )
        .unwrap();
        let k = [5u8; KEY_LEN];
        let names = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let issued = key::split(&k, 2, &names).unwrap();
        let entries = issued
            .iter()
            .map(|i| OfficerEntry::commit(&i.officer, &i.key))
            .collect();
        let record = Record::new(2, Cluster::default(), entries);
        let one = vec![key::accepted(
            "a",
            Share::new(issued[0].key.x(), issued[0].key.y().to_vec()),
        )];
        let error = start(
            &node,
            Zeroizing::new("t".into()),
            &record,
            &one,
            &plan(2, &["a", "b", "c"]),
        )
        .unwrap_err();
        assert!(matches!(error, RotateError::Plan(_)), "{error:?}");
        assert!(error.to_string().contains("threshold is 2"), "{error}");
    }
}
