//! One OpenBao node over HTTP(S): `sys/seal-status`, `sys/init`, `sys/unseal`,
//! `sys/rotate/root/*`. A blocking client with timeouts; loopback addresses never go
//! through a proxy. Unseal keys and tokens travel only in request bodies and headers
//! built in wiped buffers, and never appear in an error.

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use ureq::Agent;
use ureq::config::Config;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::record::KEY_LEN;
use crate::shamir::Share;
use crate::share::unseal_key::{self, Format};

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to a node; every variant names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The address is not an http(s) URL.
    #[error("{node}: not an http:// or https:// address")]
    BadAddress {
        /// The address as given.
        node: String,
    },
    /// The CA certificate file could not be used.
    #[error("cannot use the CA certificate {path}: {reason}")]
    CaCert {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// No answer: refused, unreachable, timed out, or a TLS failure.
    #[error(
        "{node}: cannot reach the node ({reason}); check the address, that it runs, and for https the CA certificate (--ca-cert)"
    )]
    Unreachable {
        /// The node.
        node: String,
        /// The client's reason (no secrets: addresses and protocol errors only).
        reason: String,
    },
    /// The node answered with an error status.
    #[error("{node}: {what} failed with HTTP {status}: {message}")]
    Http {
        /// The node.
        node: String,
        /// The operation.
        what: String,
        /// HTTP status.
        status: u16,
        /// OpenBao's `errors`, joined.
        message: String,
    },
    /// The answer was not what OpenBao sends.
    #[error("{node}: unexpected answer to {what}: {reason}")]
    BadAnswer {
        /// The node.
        node: String,
        /// The operation.
        what: String,
        /// Why.
        reason: String,
    },
    /// A bounded wait ran out.
    #[error("{node}: {what} within {seconds} s")]
    Timeout {
        /// The node.
        node: String,
        /// What did not happen.
        what: String,
        /// The bound.
        seconds: u64,
    },
}

/// How to reach nodes over TLS.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    ca_pem: Option<(String, Vec<u8>)>,
}

impl Tls {
    /// The system's web roots (or plain http).
    pub fn system() -> Tls {
        Tls::default()
    }

    /// Trust only the CA certificate(s) in this PEM file.
    ///
    /// # Errors
    ///
    /// [`NodeError::CaCert`] when it cannot be read.
    pub fn ca_file(path: &Path) -> Result<Tls, NodeError> {
        let pem = fs::read(path).map_err(|e| NodeError::CaCert {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Tls {
            ca_pem: Some((path.display().to_string(), pem)),
        })
    }
}

/// `sys/seal-status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct SealStatus {
    /// Whether `sys/init` has been done (a follower: once it has joined).
    #[serde(default)]
    pub initialized: bool,
    /// Whether the node is sealed.
    #[serde(default)]
    pub sealed: bool,
    /// Threshold.
    #[serde(default)]
    pub t: u8,
    /// Number of keys OpenBao made at init.
    #[serde(default)]
    pub n: u8,
    /// Keys submitted so far.
    #[serde(default)]
    pub progress: u8,
    /// The unseal attempt's nonce.
    #[serde(default)]
    pub nonce: String,
    /// Shown once unsealed.
    #[serde(default)]
    pub cluster_id: Option<String>,
    /// Shown once unsealed.
    #[serde(default)]
    pub cluster_name: Option<String>,
}

/// OpenBao's answer to `sys/init`: its own keys and the root token, wiped on drop.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct InitAnswer {
    keys: Vec<String>,
    #[serde(default)]
    keys_base64: Vec<String>,
    root_token: String,
}

/// `sys/rotate/root/init` as OpenBao reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct RotationStatus {
    /// Whether a rotation is under way.
    #[serde(default)]
    pub started: bool,
    /// The rotation's nonce (public).
    #[serde(default)]
    pub nonce: String,
    /// The new threshold.
    #[serde(default)]
    pub t: u8,
    /// The new number of keys.
    #[serde(default)]
    pub n: u8,
    /// Current keys submitted so far.
    #[serde(default)]
    pub progress: u8,
    /// Current keys needed.
    #[serde(default)]
    pub required: u8,
    /// Whether the new keys must be verified before they take effect.
    #[serde(default)]
    pub verification_required: bool,
}

/// OpenBao wraps the answers of `sys/rotate/*` in `data`.
#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

/// The answer to `sys/rotate/root/update`; at the threshold it holds the new keys,
/// wiped on drop.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct UpdateAnswer {
    #[serde(default)]
    complete: bool,
    #[serde(default)]
    progress: u8,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    verification_required: bool,
    #[serde(default)]
    verification_nonce: String,
}

#[derive(Deserialize)]
struct VerifyAnswer {
    #[serde(default)]
    complete: bool,
    #[serde(default)]
    progress: u8,
}

/// Where a rotation stands after a current key.
pub enum RotationUpdate {
    /// Current keys held so far.
    Progress(u8),
    /// The threshold was reached: OpenBao's new keys (never printed or stored by
    /// svault) and the nonce for `sys/rotate/root/verify`.
    Complete {
        /// The new keys, parsed.
        keys: Vec<Share>,
        /// The verification nonce (public).
        verification_nonce: String,
    },
}

impl std::fmt::Debug for RotationUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RotationUpdate::Progress(p) => write!(f, "Progress({p})"),
            RotationUpdate::Complete { keys, .. } => write!(f, "Complete({} keys)", keys.len()),
        }
    }
}

/// Where a rotation's verification stands after a new key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationVerify {
    /// New keys held so far.
    Progress(u8),
    /// Verified: the new keys are now the cluster's keys.
    Complete,
}

/// `{"key": HEX}`, or with a nonce `{"key": HEX, "nonce": NONCE}`, in a wiped buffer.
fn key_body(key: &Share, nonce: Option<&str>) -> Zeroizing<String> {
    let hex = unseal_key::encode(key, Format::Hex);
    let nonce = nonce.map(|n| serde_json::Value::from(n).to_string());
    let extra = nonce.as_ref().map_or(0, String::len);
    let mut body = Zeroizing::new(String::with_capacity(hex.len() + extra + 24));
    body.push_str("{\"key\":\"");
    body.push_str(&hex);
    body.push('"');
    if let Some(nonce) = &nonce {
        body.push_str(",\"nonce\":");
        body.push_str(nonce);
    }
    body.push('}');
    body
}

/// The result of `sys/init`: the keys OpenBao made and the root token. Neither is ever
/// printed or stored by svault; the keys are combined to K and dropped.
pub struct Initialised {
    /// OpenBao's keys, parsed.
    pub keys: Vec<Share>,
    /// The root token, wiped on drop.
    pub root_token: Zeroizing<String>,
}

impl std::fmt::Debug for Initialised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Initialised({} keys)", self.keys.len())
    }
}

/// One node.
#[derive(Debug, Clone)]
pub struct Node {
    url: String,
    agent: Agent,
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<String>,
}

impl Node {
    /// A client for the node at `url` (`http://` or `https://`).
    ///
    /// # Errors
    ///
    /// [`NodeError::BadAddress`], [`NodeError::CaCert`].
    pub fn new(url: &str, tls: &Tls) -> Result<Node, NodeError> {
        let url = url.trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err(NodeError::BadAddress { node: url });
        }
        let mut tls_config = TlsConfig::builder();
        if let Some((path, pem)) = &tls.ca_pem {
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<_, _>>()
                .map_err(|e| NodeError::CaCert {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(NodeError::CaCert {
                    path: path.clone(),
                    reason: "no PEM certificate in the file".into(),
                });
            }
            tls_config = tls_config.root_certs(RootCerts::new_with_certs(&certs));
        }
        let proxy = if is_loopback(&url) {
            None
        } else {
            ureq::Proxy::try_from_env()
        };
        let agent = Config::builder()
            .http_status_as_error(false)
            .proxy(proxy)
            .max_redirects(0)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .tls_config(tls_config.build())
            .build()
            .new_agent();
        Ok(Node { url, agent })
    }

    /// The address as given (without a trailing `/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address without the scheme, for messages ("127.0.0.1:8200").
    pub fn name(&self) -> &str {
        self.url.split_once("://").map_or(&self.url, |(_, r)| r)
    }

    fn request(
        &self,
        what: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<Zeroizing<String>, NodeError> {
        let url = format!("{}/v1/{path}", self.url);
        let result = match (method, body) {
            ("GET", _) => {
                let mut request = self.agent.get(&url);
                if let Some(token) = token {
                    request = request.header("X-Vault-Token", token);
                }
                request.call()
            }
            ("DELETE", _) => {
                let mut request = self.agent.delete(&url);
                if let Some(token) = token {
                    request = request.header("X-Vault-Token", token);
                }
                request.call()
            }
            (_, body) => {
                let mut request = self.agent.put(&url).content_type("application/json");
                if let Some(token) = token {
                    request = request.header("X-Vault-Token", token);
                }
                request.send(body.unwrap_or("{}"))
            }
        };
        let mut response = result.map_err(|e| NodeError::Unreachable {
            node: self.name().to_owned(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = Zeroizing::new(
            response
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_string()
                .map_err(|e| NodeError::Unreachable {
                    node: self.name().to_owned(),
                    reason: e.to_string(),
                })?,
        );
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<ErrorBody>(&text)
                .map(|b| b.errors.join("; "))
                .unwrap_or_default();
            let message = if message.is_empty() {
                String::from("no error message")
            } else {
                crate::prompt::sanitize(&message)
            };
            return Err(NodeError::Http {
                node: self.name().to_owned(),
                what: what.to_owned(),
                status,
                message,
            });
        }
        Ok(text)
    }

    /// OpenBao's hex keys, each a 33-byte key (32 value bytes and x); `label` names
    /// them in the error ("key 2 is not hex").
    fn parse_keys(
        &self,
        what: &str,
        label: &str,
        hexes: &[String],
    ) -> Result<Vec<Share>, NodeError> {
        let mut keys = Vec::with_capacity(hexes.len());
        for (i, hex) in hexes.iter().enumerate() {
            let key = unseal_key::parse_as(hex, Format::Hex)
                .map_err(|_| self.bad(what, format!("{label} {} is not hex", i + 1)))?;
            if key.y().len() != KEY_LEN {
                return Err(self.bad(what, format!("{label} {} is not a 33-byte key", i + 1)));
            }
            keys.push(key);
        }
        Ok(keys)
    }

    fn bad(&self, what: &str, reason: impl ToString) -> NodeError {
        NodeError::BadAnswer {
            node: self.name().to_owned(),
            what: what.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// Which of `nodes` is the cluster's active node, as this node reports it (`GET
    /// sys/leader`). A standby forwards requests to the active node, but while it has
    /// lost sight of it (an election, a restart) it answers "active cluster node not
    /// found" without acting, and a multi-step operation such as a rotation fails
    /// half-way; sent to the active node itself, nothing is forwarded. `self` when it is
    /// active, when the answer names no leader, or when the leader is not among `nodes`.
    pub fn active_among<'a>(&'a self, nodes: &'a [Node]) -> &'a Node {
        #[derive(Deserialize)]
        struct Leader {
            #[serde(default)]
            is_self: bool,
            #[serde(default)]
            leader_address: String,
        }
        let Ok(text) = self.request("asking for the leader", "GET", "sys/leader", None, None)
        else {
            return self;
        };
        let Ok(leader) = serde_json::from_str::<Leader>(&text) else {
            return self;
        };
        let address = leader.leader_address.trim_end_matches('/');
        if leader.is_self || address.is_empty() {
            return self;
        }
        nodes.iter().find(|n| n.url == address).unwrap_or(self)
    }

    /// `GET sys/seal-status`.
    ///
    /// # Errors
    ///
    /// [`NodeError`].
    pub fn seal_status(&self) -> Result<SealStatus, NodeError> {
        let what = "reading the seal status";
        let text = self.request(what, "GET", "sys/seal-status", None, None)?;
        serde_json::from_str(&text).map_err(|e| self.bad(what, e))
    }

    /// `PUT sys/init` with `shares` keys and `threshold`.
    ///
    /// # Errors
    ///
    /// [`NodeError`], also when the answer's keys are not 33-byte keys.
    pub fn init(&self, shares: u8, threshold: u8) -> Result<Initialised, NodeError> {
        let what = "sys/init";
        let body = json!({ "secret_shares": shares, "secret_threshold": threshold }).to_string();
        let text = self.request(what, "PUT", "sys/init", None, Some(&body))?;
        let answer: InitAnswer = serde_json::from_str(&text).map_err(|e| self.bad(what, e))?;
        let keys = self.parse_keys(what, "key", &answer.keys)?;
        if keys.len() != usize::from(shares) || answer.root_token.is_empty() {
            return Err(self.bad(what, "wrong number of keys or no root token"));
        }
        let _ = answer.keys_base64.len();
        Ok(Initialised {
            keys,
            root_token: Zeroizing::new(answer.root_token.clone()),
        })
    }

    /// `PUT sys/unseal` with one key; the node's status after it.
    ///
    /// # Errors
    ///
    /// [`NodeError`]; at the threshold, a wrong combination is [`NodeError::Http`]
    /// (OpenBao then discards its progress).
    pub fn submit(&self, key: &Share) -> Result<SealStatus, NodeError> {
        let what = "sys/unseal";
        let body = key_body(key, None);
        let text = self.request(what, "PUT", "sys/unseal", None, Some(&body))?;
        serde_json::from_str(&text).map_err(|e| self.bad(what, e))
    }

    /// `PUT sys/unseal {"reset": true}`: discards the progress.
    ///
    /// # Errors
    ///
    /// [`NodeError`].
    pub fn reset(&self) -> Result<SealStatus, NodeError> {
        let what = "resetting the unseal progress";
        let text = self.request(what, "PUT", "sys/unseal", None, Some("{\"reset\":true}"))?;
        serde_json::from_str(&text).map_err(|e| self.bad(what, e))
    }

    /// `GET sys/rotate/root/init`: the rotation under way, if any.
    ///
    /// # Errors
    ///
    /// [`NodeError`].
    pub fn rotation(&self, token: &str) -> Result<RotationStatus, NodeError> {
        let what = "reading the rotation status (sys/rotate/root/init)";
        let text = self.request(what, "GET", "sys/rotate/root/init", Some(token), None)?;
        self.data(what, &text)
    }

    /// `PUT sys/rotate/root/init` for `shares` new keys with `threshold`, with
    /// `require_verification`: the new keys take effect only once a threshold of keys
    /// combining to the new unseal key are submitted to [`Node::rotation_verify`].
    ///
    /// # Errors
    ///
    /// [`NodeError`].
    pub fn rotation_start(
        &self,
        token: &str,
        shares: u8,
        threshold: u8,
    ) -> Result<RotationStatus, NodeError> {
        let what = "starting the rotation (sys/rotate/root/init)";
        let body = json!({
            "secret_shares": shares,
            "secret_threshold": threshold,
            "require_verification": true,
        })
        .to_string();
        let text = self.request(
            what,
            "PUT",
            "sys/rotate/root/init",
            Some(token),
            Some(&body),
        )?;
        self.data(what, &text)
    }

    /// `PUT sys/rotate/root/update` with one current key: progress, or (at the
    /// threshold) the new keys OpenBao made and the verification nonce.
    ///
    /// # Errors
    ///
    /// [`NodeError`]; a wrong combination at the threshold is [`NodeError::Http`].
    pub fn rotation_update(
        &self,
        token: &str,
        key: &Share,
        nonce: &str,
    ) -> Result<RotationUpdate, NodeError> {
        let what = "sys/rotate/root/update";
        let body = key_body(key, Some(nonce));
        let text = self.request(
            what,
            "PUT",
            "sys/rotate/root/update",
            Some(token),
            Some(&body),
        )?;
        let answer: UpdateAnswer = self.data(what, &text)?;
        if !answer.complete {
            return Ok(RotationUpdate::Progress(answer.progress));
        }
        if !answer.verification_required || answer.verification_nonce.is_empty() {
            return Err(self.bad(what, "the rotation completed without verification"));
        }
        let keys = self.parse_keys(what, "new key", &answer.keys)?;
        Ok(RotationUpdate::Complete {
            keys,
            verification_nonce: answer.verification_nonce.clone(),
        })
    }

    /// `PUT sys/rotate/root/verify` with one new key: progress, or done (the rotation
    /// has then taken effect).
    ///
    /// # Errors
    ///
    /// [`NodeError`]; keys that do not combine to the new unseal key are
    /// [`NodeError::Http`] at the threshold.
    pub fn rotation_verify(
        &self,
        token: &str,
        key: &Share,
        nonce: &str,
    ) -> Result<RotationVerify, NodeError> {
        let what = "sys/rotate/root/verify";
        let body = key_body(key, Some(nonce));
        let text = self.request(
            what,
            "PUT",
            "sys/rotate/root/verify",
            Some(token),
            Some(&body),
        )?;
        let answer: VerifyAnswer = self.data(what, &text)?;
        Ok(if answer.complete {
            RotationVerify::Complete
        } else {
            RotationVerify::Progress(answer.progress)
        })
    }

    /// `DELETE sys/rotate/root/init`: cancels the rotation; the current keys stay valid.
    ///
    /// # Errors
    ///
    /// [`NodeError`].
    pub fn rotation_cancel(&self, token: &str) -> Result<(), NodeError> {
        let what = "cancelling the rotation (DELETE sys/rotate/root/init)";
        self.request(what, "DELETE", "sys/rotate/root/init", Some(token), None)?;
        Ok(())
    }

    fn data<T: serde::de::DeserializeOwned>(&self, what: &str, text: &str) -> Result<T, NodeError> {
        serde_json::from_str::<Data<T>>(text)
            .map(|d| d.data)
            .map_err(|e| self.bad(what, e))
    }

    /// Polls the seal status until `done` holds, at most `limit`; `what` says what is
    /// awaited, for the timeout's message.
    ///
    /// # Errors
    ///
    /// [`NodeError::Timeout`], or the last error if the node never answered.
    pub fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&SealStatus) -> bool,
    ) -> Result<SealStatus, NodeError> {
        let start = Instant::now();
        loop {
            let last = self.seal_status();
            if let Ok(status) = &last
                && done(status)
            {
                return last;
            }
            if start.elapsed() >= limit {
                return match last {
                    Err(e) => Err(e),
                    Ok(_) => Err(NodeError::Timeout {
                        node: self.name().to_owned(),
                        what: what.to_owned(),
                        seconds: limit.as_secs(),
                    }),
                };
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn key_bodies_are_json_with_and_without_a_nonce() {
        let key = Share::new(7, vec![0xab; 32]);
        let hex = unseal_key::encode(&key, Format::Hex);
        let plain: serde_json::Value = serde_json::from_str(&key_body(&key, None)).unwrap();
        assert_eq!(plain, json!({ "key": &*hex }));
        let with: serde_json::Value = serde_json::from_str(&key_body(&key, Some("n\"1"))).unwrap();
        assert_eq!(with, json!({ "key": &*hex, "nonce": "n\"1" }));
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://127.0.0.1:8200",
            "http://127.3.4.5:1/x",
            "https://localhost:8200",
            "http://[::1]:8200/",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "http://10.0.0.1:8200",
            "https://bao.example:8200",
            "http://[fe80::1]:1",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }

    #[test]
    fn bad_addresses_are_named() {
        let error = Node::new("ftp://x", &Tls::system()).unwrap_err();
        assert_eq!(
            error,
            NodeError::BadAddress {
                node: "ftp://x".into()
            }
        );
    }

    #[test]
    fn a_closed_port_is_unreachable_and_named() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let node = Node::new(&format!("http://127.0.0.1:{port}"), &Tls::system()).unwrap();
        let error = node.seal_status().unwrap_err();
        assert!(matches!(error, NodeError::Unreachable { .. }), "{error:?}");
        assert!(error.to_string().starts_with(&format!("127.0.0.1:{port}:")));
    }
}
