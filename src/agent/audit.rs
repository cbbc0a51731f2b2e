//! The agent's audit log: one JSON object per line, to stderr or a file.
//!
//! Every line has `"ts"` (seconds since the Unix epoch) and `"event"`; the other fields
//! depend on the event (see `docs/AGENT.md`). No line ever holds a secret: officers,
//! members, credential names, uids and pids, results and refusal reasons only.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::policy::Peer;

/// Where audit lines go.
pub struct Audit {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Audit")
    }
}

impl Audit {
    /// Lines to the process's stderr.
    pub fn stderr() -> Audit {
        Audit::to_writer(io::stderr())
    }

    /// Lines appended to `path` (created with mode 0600 if missing). The path is opened
    /// without following a symbolic link, and an existing file is used only if it is a
    /// regular file with one link, owned by this process's uid or root: a link planted
    /// at the path cannot make the agent create or append to another file.
    ///
    /// # Errors
    ///
    /// The system's error when the file cannot be opened; `InvalidInput` saying what is
    /// wrong when it is a symbolic link or not a file the agent may trust.
    pub fn file(path: impl AsRef<Path>) -> io::Result<Audit> {
        use nix::fcntl::OFlag;
        use std::os::unix::fs::MetadataExt;
        let path = path.as_ref();
        let refuse = |reason: String| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{reason}; refusing to write the audit log there"),
            )
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
            .open(path)
            .map_err(|e| {
                if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) {
                    refuse(format!("{} is a symbolic link", path.display()))
                } else {
                    e
                }
            })?;
        let meta = file.metadata()?;
        let own = nix::unistd::geteuid().as_raw();
        if !meta.file_type().is_file() {
            return Err(refuse(format!("{} is not a regular file", path.display())));
        }
        if meta.nlink() != 1 {
            return Err(refuse(format!(
                "{} has {} hard links",
                path.display(),
                meta.nlink()
            )));
        }
        if meta.uid() != own && meta.uid() != 0 {
            return Err(refuse(format!(
                "{} is owned by uid {}, not by the agent's uid {own} or root",
                path.display(),
                meta.uid()
            )));
        }
        Ok(Audit::to_writer(file))
    }

    /// Lines to any writer (tests, a pipe).
    pub fn to_writer(writer: impl Write + Send + 'static) -> Audit {
        Audit {
            out: Mutex::new(Box::new(writer)),
        }
    }

    /// Writes one event. `fields` must hold no secret; callers pass names, numbers and
    /// messages only. A failing log is not allowed to stop the agent.
    pub(crate) fn event(&self, event: &str, fields: Value) {
        let mut line = Map::new();
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        line.insert("ts".into(), ts.into());
        line.insert("event".into(), event.into());
        if let Value::Object(fields) = fields {
            line.extend(fields);
        }
        let Ok(mut text) = serde_json::to_vec(&Value::Object(line)) else {
            return;
        };
        text.push(b'\n');
        // A poisoned lock only means another thread panicked mid-write; keep logging.
        let mut out = match self.out.lock() {
            Ok(out) => out,
            Err(poisoned) => poisoned.into_inner(),
        };
        let _ = out.write_all(&text).and_then(|()| out.flush());
    }
}

/// Refusals of one kind (`bad_request`, or a throttled keyslot `submit`) per caller uid
/// in each [`REFUSAL_WINDOW`]: the first [`REFUSALS_LOGGED`] get a line each; the rest
/// are counted and written as one `suppressed` line (`"of"`: the event, `"counts"` by
/// error or result) when that uid's next window begins, or when the agent stops. So a
/// flooding client costs the log a few lines a second, and no refusal goes uncounted.
pub(crate) struct Coalesced {
    event: &'static str,
    windows: Mutex<HashMap<u32, Window>>,
}

/// The length of one counting window.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(1);
/// Refusals of one kind logged one line each per uid and window.
pub const REFUSALS_LOGGED: u32 = 10;

struct Window {
    started: Instant,
    logged: u32,
    suppressed: BTreeMap<&'static str, u64>,
}

impl Window {
    fn new(started: Instant) -> Window {
        Window {
            started,
            logged: 0,
            suppressed: BTreeMap::new(),
        }
    }
}

impl Coalesced {
    /// Coalesces lines of `event`.
    pub(crate) fn new(event: &'static str) -> Coalesced {
        Coalesced {
            event,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Logs (or counts) one refusal of `peer`: `key` is its error or result (also the
    /// line's `key_field`), `fields` makes the rest of the line. A refusal beyond the
    /// window's quota only increments a count: `fields` is not even called, so a
    /// flood costs no allocation and no write. Returns whether a line was written.
    pub(crate) fn record(
        &self,
        audit: &Audit,
        peer: &Peer,
        key_field: &str,
        key: &'static str,
        fields: impl FnOnce() -> Value,
    ) -> bool {
        let now = Instant::now();
        let mut windows = match self.windows.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        let window = windows.entry(peer.uid).or_insert_with(|| Window::new(now));
        if now.duration_since(window.started) >= REFUSAL_WINDOW {
            let old = std::mem::replace(window, Window::new(now));
            self.write_suppressed(audit, peer.uid, &old.suppressed);
        }
        if window.logged < REFUSALS_LOGGED {
            window.logged += 1;
            drop(windows);
            let mut line = Map::new();
            line.insert("uid".into(), peer.uid.into());
            line.insert("pid".into(), peer.pid.into());
            line.insert(key_field.into(), key.into());
            if let Value::Object(fields) = fields() {
                line.extend(fields);
            }
            audit.event(self.event, Value::Object(line));
            true
        } else {
            *window.suppressed.entry(key).or_default() += 1;
            false
        }
    }

    /// Writes every count not yet written.
    pub(crate) fn flush(&self, audit: &Audit) {
        let windows = match self.windows.lock() {
            Ok(mut w) => std::mem::take(&mut *w),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for (uid, window) in windows {
            self.write_suppressed(audit, uid, &window.suppressed);
        }
    }

    fn write_suppressed(&self, audit: &Audit, uid: u32, counts: &BTreeMap<&'static str, u64>) {
        if counts.is_empty() {
            return;
        }
        audit.event(
            "suppressed",
            serde_json::json!({
                "of": self.event, "uid": uid, "counts": counts,
                "total": counts.values().sum::<u64>(),
            }),
        );
    }
}
