//! Who may ask the agent for what: an allow-list by the caller's uid and gid (read from
//! the socket with `SO_PEERCRED`), per credential name or name prefix, and the systemd
//! `(unit, credential id)` pairs served on the credential socket.
//!
//! The file format (documented in `docs/AGENT.md`) is one rule per line:
//!
//! ```text
//! # comment
//! read    db/password   uid=1000
//! read    app/*         user=www-data group=app gid=1005
//! write   app/*         uid=0
//! control               uid=0 group=wheel
//! unseal                  group=officers uid=1001
//! systemd myapp.service db-password db/password
//! ```
//!
//! `read` allows `get` (and shows the name in `list`), `write` allows `set` and `rm`,
//! `control` allows `seal` and `reset`, `unseal` allows submitting shares and keyslot
//! passphrases. A pattern is an exact name, a prefix ending in `*`, or `*` alone.
//! The agent's own uid and uid 0 always have `control` and `unseal` (they can stop
//! the process anyway); otherwise uid 0 has no special rights, and without a
//! `control` or `unseal` line nobody else has that right. Without a policy file, the
//! agent's own uid may do everything and nobody else may read or write; with a socket
//! group, whoever the socket's mode lets connect may also submit shares.

use std::fmt;
use std::path::{Path, PathBuf};

/// A caller, as the kernel reports it for a Unix socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Its user id.
    pub uid: u32,
    /// Its (effective, primary) group id. Supplementary groups are not seen.
    pub gid: u32,
    /// Its process id.
    pub pid: i32,
}

/// A parsed policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: Vec<Rule>,
    control: Vec<Principal>,
    unseal: Vec<Principal>,
    systemd: Vec<SystemdRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

#[derive(Debug, Clone)]
struct Rule {
    access: Access,
    pattern: Pattern,
    who: Vec<Principal>,
}

#[derive(Debug, Clone)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn parse(text: &str) -> Pattern {
        match text.strip_suffix('*') {
            Some(prefix) => Pattern::Prefix(prefix.to_owned()),
            None => Pattern::Exact(text.to_owned()),
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Pattern::Exact(exact) => exact == name,
            Pattern::Prefix(prefix) => name.starts_with(prefix.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Principal {
    Uid(u32),
    Gid(u32),
    /// Whoever the socket's mode lets connect (no policy file, a socket group).
    Connected,
}

impl Principal {
    fn admits(self, peer: &Peer) -> bool {
        match self {
            Principal::Uid(uid) => peer.uid == uid,
            Principal::Gid(gid) => peer.gid == gid,
            Principal::Connected => true,
        }
    }
}

#[derive(Debug, Clone)]
struct SystemdRule {
    unit: String,
    id: String,
    name: String,
}

/// A policy file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read the policy file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The file could be changed by someone other than its owner or root, or is not a
    /// plain file the agent can trust.
    #[error(
        "refusing the policy file {}: {reason}; fix it (e.g. chown root: FILE; chmod 0644 FILE) and start again",
        path.display()
    )]
    Unsafe {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A line is not a rule.
    #[error("policy line {line}: {reason}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong, and what is expected.
        reason: String,
    },
}

impl Policy {
    /// The policy used without a file: `uid` may read, write and control everything;
    /// with `group_socket` (the socket is shared with a group), everyone who can
    /// connect may also submit shares and keyslot passphrases.
    pub fn owner_only(uid: u32, group_socket: bool) -> Policy {
        let who = vec![Principal::Uid(uid)];
        Policy {
            rules: vec![
                Rule {
                    access: Access::Read,
                    pattern: Pattern::Prefix(String::new()),
                    who: who.clone(),
                },
                Rule {
                    access: Access::Write,
                    pattern: Pattern::Prefix(String::new()),
                    who,
                },
            ],
            control: Vec::new(),
            unseal: if group_socket {
                vec![Principal::Connected]
            } else {
                Vec::new()
            },
            systemd: Vec::new(),
        }
    }

    /// Reads and parses a policy file. The file decides who reads which credential, so
    /// it must be one only its owner can change: it is opened without following a
    /// symbolic link and refused unless it is a regular file owned by root or this
    /// process's uid that neither its group nor others may write.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Io`], [`PolicyError::Unsafe`] saying what is wrong with the
    /// file, or [`PolicyError::Syntax`] naming the line.
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        use nix::fcntl::OFlag;
        use std::io::Read;
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let path = path.as_ref();
        let io = |source| PolicyError::Io {
            path: path.to_owned(),
            source,
        };
        let unsafe_file = |reason: String| PolicyError::Unsafe {
            path: path.to_owned(),
            reason,
        };
        let mut file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
            .open(path)
        {
            Ok(file) => file,
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => {
                return Err(unsafe_file(
                    "it is a symbolic link; name the file itself".into(),
                ));
            }
            Err(e) => return Err(io(e)),
        };
        let meta = file.metadata().map_err(io)?;
        let own = nix::unistd::geteuid().as_raw();
        if !meta.file_type().is_file() {
            return Err(unsafe_file("it is not a regular file".into()));
        }
        if meta.uid() != 0 && meta.uid() != own {
            return Err(unsafe_file(format!(
                "it is owned by uid {}, neither root nor the agent's uid {own}",
                meta.uid()
            )));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(unsafe_file(format!(
                "its mode {:04o} lets its group or others change it",
                meta.mode() & 0o7777
            )));
        }
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io)?;
        Policy::parse(&text)
    }

    /// Parses policy text (see the module documentation).
    ///
    /// # Errors
    ///
    /// [`PolicyError::Syntax`] naming the first bad line and what is wrong.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let mut policy = Policy::default();
        for (i, line) in text.lines().enumerate() {
            let syntax = |reason: String| PolicyError::Syntax {
                line: i + 1,
                reason,
            };
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let rest: Vec<&str> = words.collect();
            match keyword {
                "read" | "write" => {
                    let access = if keyword == "read" {
                        Access::Read
                    } else {
                        Access::Write
                    };
                    let [pattern, principals @ ..] = &rest[..] else {
                        return Err(syntax(format!(
                            "'{keyword}' needs a credential name or prefix* and at least one uid=, gid=, user= or group="
                        )));
                    };
                    if principals.is_empty() {
                        return Err(syntax(format!(
                            "'{keyword} {pattern}' names nobody: add uid=, gid=, user= or group="
                        )));
                    }
                    let who = principals
                        .iter()
                        .map(|p| parse_principal(p))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(syntax)?;
                    policy.rules.push(Rule {
                        access,
                        pattern: Pattern::parse(pattern),
                        who,
                    });
                }
                "control" => {
                    if rest.is_empty() {
                        return Err(syntax(
                            "'control' names nobody: add uid=, gid=, user= or group=".into(),
                        ));
                    }
                    let who = rest
                        .iter()
                        .map(|p| parse_principal(p))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(syntax)?;
                    policy.control.extend(who);
                }
                "unseal" => {
                    if rest.is_empty() {
                        return Err(syntax(
                            "'unseal' names nobody: add uid=, gid=, user= or group=".into(),
                        ));
                    }
                    let who = rest
                        .iter()
                        .map(|p| parse_principal(p))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(syntax)?;
                    policy.unseal.extend(who);
                }
                "systemd" => {
                    let [unit, id, name] = &rest[..] else {
                        return Err(syntax(
                            "'systemd' takes three words: UNIT CREDENTIAL-ID NAME, e.g. 'systemd myapp.service db-password db/password'".into(),
                        ));
                    };
                    if unit.contains('/') || id.contains('/') {
                        return Err(syntax("a unit name or credential id has no '/'".into()));
                    }
                    policy.systemd.push(SystemdRule {
                        unit: (*unit).to_owned(),
                        id: (*id).to_owned(),
                        name: (*name).to_owned(),
                    });
                }
                other => {
                    return Err(syntax(format!(
                        "unknown rule '{other}'; the rules are read, write, control, unseal and systemd"
                    )));
                }
            }
        }
        Ok(policy)
    }

    /// Whether `peer` may read the credential `name`.
    pub fn may_read(&self, peer: &Peer, name: &str) -> bool {
        self.allows(Access::Read, peer, name)
    }

    /// Whether `peer` may set or remove the credential `name`.
    pub fn may_write(&self, peer: &Peer, name: &str) -> bool {
        self.allows(Access::Write, peer, name)
    }

    /// Whether `peer` may read some credential (so `list` is not refused outright).
    pub fn may_read_any(&self, peer: &Peer) -> bool {
        self.rules
            .iter()
            .any(|r| r.access == Access::Read && r.who.iter().any(|p| p.admits(peer)))
    }

    /// Whether `peer` is named by a `control` line (may seal the vault and discard
    /// everyone's progress). The agent also allows its own uid and root.
    pub fn may_control(&self, peer: &Peer) -> bool {
        self.control.iter().any(|p| p.admits(peer))
    }

    /// Whether `peer` is named by an `unseal` line (may submit shares and keyslot
    /// passphrases). The agent also allows its own uid and root.
    pub fn may_unseal(&self, peer: &Peer) -> bool {
        self.unseal.iter().any(|p| p.admits(peer))
    }

    /// The credential served to systemd for `unit`'s `LoadCredential=` id `id`.
    pub fn systemd_credential(&self, unit: &str, id: &str) -> Option<&str> {
        self.systemd
            .iter()
            .find(|r| r.unit == unit && r.id == id)
            .map(|r| r.name.as_str())
    }

    fn allows(&self, access: Access, peer: &Peer, name: &str) -> bool {
        self.rules.iter().any(|r| {
            r.access == access && r.pattern.matches(name) && r.who.iter().any(|p| p.admits(peer))
        })
    }
}

fn parse_principal(text: &str) -> Result<Principal, String> {
    let bad = || format!("'{text}' is not uid=NUMBER, gid=NUMBER, user=NAME or group=NAME");
    let (kind, value) = text.split_once('=').ok_or_else(bad)?;
    match kind {
        "uid" => value.parse().map(Principal::Uid).map_err(|_| bad()),
        "gid" => value.parse().map(Principal::Gid).map_err(|_| bad()),
        "user" => match nix::unistd::User::from_name(value) {
            Ok(Some(user)) => Ok(Principal::Uid(user.uid.as_raw())),
            _ => Err(format!("there is no user named '{value}' on this system")),
        },
        "group" => match nix::unistd::Group::from_name(value) {
            Ok(Some(group)) => Ok(Principal::Gid(group.gid.as_raw())),
            _ => Err(format!("there is no group named '{value}' on this system")),
        },
        _ => Err(bad()),
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uid {} (gid {}, pid {})", self.uid, self.gid, self.pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: Peer = Peer {
        uid: 1000,
        gid: 1000,
        pid: 1,
    };
    const OTHER: Peer = Peer {
        uid: 2000,
        gid: 50,
        pid: 2,
    };

    #[test]
    fn rules_by_name_prefix_and_group() {
        let policy = Policy::parse(
            "# test\n\
             read db/password uid=1000   # exact\n\
             read app/* gid=50\n\
             write app/* uid=1000\n\
             systemd myapp.service dbpw db/password\n",
        )
        .unwrap();
        assert!(policy.may_read(&APP, "db/password"));
        assert!(!policy.may_read(&APP, "db/password2"));
        assert!(!policy.may_read(&OTHER, "db/password"));
        assert!(policy.may_read(&OTHER, "app/x"));
        assert!(!policy.may_write(&OTHER, "app/x"));
        assert!(policy.may_write(&APP, "app/x"));
        assert!(!policy.may_read(&APP, "app/x"));
        // Without control or unseal lines, nobody is named.
        assert!(!policy.may_control(&OTHER) && !policy.may_control(&APP));
        assert!(!policy.may_unseal(&OTHER) && !policy.may_unseal(&APP));
        assert_eq!(
            policy.systemd_credential("myapp.service", "dbpw"),
            Some("db/password")
        );
        assert_eq!(policy.systemd_credential("other.service", "dbpw"), None);
    }

    #[test]
    fn control_and_owner_only() {
        let policy = Policy::parse("control uid=0\n").unwrap();
        assert!(!policy.may_control(&APP));
        let owner = Policy::owner_only(1000, false);
        assert!(owner.may_read(&APP, "anything"));
        assert!(owner.may_write(&APP, "anything"));
        assert!(!owner.may_read(&OTHER, "anything"));
        assert!(!owner.may_control(&OTHER) && !owner.may_unseal(&OTHER));
        assert!(policy.may_control(&Peer { uid: 0, ..APP }));
        // A socket shared with a group: whoever connects may submit, not control.
        let group = Policy::owner_only(1000, true);
        assert!(group.may_unseal(&OTHER) && !group.may_control(&OTHER));
        assert!(!group.may_read(&OTHER, "anything"));
        let unseal = Policy::parse("unseal gid=50 uid=1000\n").unwrap();
        assert!(unseal.may_unseal(&OTHER) && unseal.may_unseal(&APP));
        assert!(!unseal.may_unseal(&Peer {
            uid: 3,
            gid: 3,
            pid: 3
        }));
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line) in [
            ("read db/x\n", 1),
            ("\nread db/x uid=abc\n", 2),
            ("grant db/x uid=1\n", 1),
            ("systemd a.service id\n", 1),
            ("control\n", 1),
            ("unseal\n", 1),
            ("read x user=no-such-user-here-zz\n", 1),
        ] {
            match Policy::parse(text) {
                Err(PolicyError::Syntax { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
