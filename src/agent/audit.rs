//! The agent's audit log: one JSON object per line, to stderr or a file.
//!
//! Every line has `"ts"` (seconds since the Unix epoch) and `"event"`; the other fields
//! depend on the event (see `docs/AGENT.md`). No line ever holds a secret: officers,
//! members, credential names, uids and pids, results and refusal reasons only.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

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

    /// Lines appended to `path` (created with mode 0600 if missing).
    ///
    /// # Errors
    ///
    /// The system's error when the file cannot be opened.
    pub fn file(path: impl AsRef<Path>) -> io::Result<Audit> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
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
