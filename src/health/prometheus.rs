//! The quorum's health as a node_exporter textfile (Prometheus text exposition format
//! 0.0.4), and writing it so that the collector never reads half a file.
//!
//! Every sample carries `vault="<vault id>"`, so that several vaults on one host can
//! each write their own file into the collector's directory.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{DAY, Health};

/// A label value escaped as the exposition format requires: `\` as `\\`, `"` as `\"`,
/// a line feed as `\n`.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `# HELP` and `# TYPE` lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The textfile for `health` of the vault whose id (hex) is `vault_id`.
pub fn render(health: &Health, vault_id: &str) -> String {
    let vault = escape_label(vault_id);
    let q = &health.quorum;
    let mut out = String::new();
    let vault_wide: [(&str, &str, &str, i128); 5] = [
        (
            "svault_quorum_margin",
            "gauge",
            "How many more officers could be lost while those with a recent verified drill still form a quorum (negative: how many more must drill).",
            i128::from(q.margin),
        ),
        (
            "svault_quorum_threshold",
            "gauge",
            "Officers needed (one group), or groups needed (several).",
            i128::from(q.threshold),
        ),
        (
            "svault_quorum_verified",
            "gauge",
            "Officers with a recent verified drill (one group), or groups whose such officers meet their threshold (several).",
            i128::from(q.verified),
        ),
        (
            "svault_drill_max_age_seconds",
            "gauge",
            "How old a drill may be and still count.",
            i128::from(q.max_age_days.saturating_mul(DAY)),
        ),
        (
            "svault_drill_records_rejected_total",
            "counter",
            "Lines of the drills file refused: damaged, forged, signed by another officer, for another vault or officer, dated in the future, or repeated.",
            i128::try_from(health.rejected).unwrap_or(i128::MAX),
        ),
    ];
    for (name, kind, help, value) in vault_wide {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name}{{vault=\"{vault}\"}} {value}");
    }
    family(
        &mut out,
        "svault_officer_last_drill_timestamp_seconds",
        "gauge",
        "The officer's latest verified drill (Unix seconds); 0 when never drilled.",
    );
    for o in &health.officers {
        let _ = writeln!(
            out,
            "svault_officer_last_drill_timestamp_seconds{{officer=\"{}\",vault=\"{vault}\"}} {}",
            escape_label(&o.name),
            o.last_drill.unwrap_or(0)
        );
    }
    family(
        &mut out,
        "svault_officer_drill_key",
        "gauge",
        "1 when the header holds the officer's drill public key, 0 when not yet.",
    );
    for o in &health.officers {
        let _ = writeln!(
            out,
            "svault_officer_drill_key{{officer=\"{}\",vault=\"{vault}\"}} {}",
            escape_label(&o.name),
            u8::from(o.drill_key)
        );
    }
    if q.groups.len() > 1 {
        family(
            &mut out,
            "svault_group_margin",
            "gauge",
            "The group's officers with a recent verified drill minus its threshold.",
        );
        for g in &q.groups {
            let _ = writeln!(
                out,
                "svault_group_margin{{group=\"{}\",vault=\"{vault}\"}} {}",
                escape_label(&g.name),
                g.margin
            );
        }
    }
    out
}

/// Writes `text` to `path` atomically: a new temporary file beside it (mode 0644, so
/// the collector can read it), fsync, rename over `path`, fsync of the directory.
///
/// # Errors
///
/// The system's error; nothing is left at `path` half-written.
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = None;
    for _ in 0..16 {
        let mut tag = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut tag);
        // node_exporter reads only files ending in .prom: the temporary one is not.
        let tmp = dir.join(format!(
            ".{name}.tmp-{}",
            crate::vault::format::to_hex(&tag)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&tmp);
        let mut file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let done = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::rename(&tmp, path))
            .and_then(|()| File::open(dir)?.sync_all());
        if done.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        return done;
    }
    Err(last.unwrap_or_else(|| io::Error::other("no temporary name was free")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_label("zoë"), "zoë");
    }

    #[test]
    fn write_replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svault.prom");
        write_atomic(&path, "a 1\n").unwrap();
        write_atomic(&path, "b 2\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "b 2\n");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
    }
}
