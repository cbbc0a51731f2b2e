//! The drills file on disk: where it is, reading it, appending one record.
//!
//! `VAULT.drills` sits beside the real vault file (a symbolic link at the vault's path
//! is resolved first, as a save does), so the command line and the agent find the same
//! one. It is only ever appended to: opened with `O_APPEND | O_NOFOLLOW`, created with
//! mode 0600, one `write` of one whole line, then `fsync`. The vault file itself is
//! never opened for writing here.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::record::DrillRecord;

/// The largest drills file read, in bytes (about 200 000 records).
pub const MAX_FILE: u64 = 64 << 20;

/// Where the drills of the vault at `vault` are kept: the real vault file's path with
/// `.drills` appended. A vault path that cannot be resolved (missing) is used as given.
pub fn drills_path(vault: &Path) -> PathBuf {
    let real = std::fs::canonicalize(vault).unwrap_or_else(|_| vault.to_owned());
    let mut name = real.file_name().map(OsString::from).unwrap_or_default();
    name.push(".drills");
    real.with_file_name(name)
}

fn refused(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is {what}; svault keeps drill records only in a regular file: move it away and drill again",
            path.display()
        ),
    )
}

fn nofollow_error(path: &Path, e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(nix::libc::ELOOP) {
        refused(path, "a symbolic link")
    } else {
        e
    }
}

/// Reads the drills file; a missing file reads as empty (no drill yet).
///
/// # Errors
///
/// The system's error; `InvalidInput` for a symbolic link, something other than a
/// regular file, or a file larger than [`MAX_FILE`].
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(nofollow_error(path, e)),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refused(path, "not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is {} bytes, more than the {MAX_FILE} svault reads; keep its last lines and archive the rest",
                path.display(),
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_FILE + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Appends `record` to the drills file at `path`, creating it with mode 0600: one
/// write of the whole line (preceded by a newline when the file's last line was cut
/// short, so a damaged line never swallows a good one), then fsync (and, for a new
/// file, fsync of its directory).
///
/// # Errors
///
/// The system's error; `InvalidInput` when the path is a symbolic link, not a regular
/// file, has more than one hard link, or belongs to another user (other than root):
/// a link planted there cannot make a privileged writer append elsewhere.
pub fn append(path: &Path, record: &DrillRecord) -> io::Result<()> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| nofollow_error(path, e))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refused(path, "not a regular file"));
    }
    if meta.nlink() != 1 {
        return Err(refused(path, "a file with more than one hard link"));
    }
    let own = nix::unistd::geteuid().as_raw();
    if meta.uid() != own && meta.uid() != 0 {
        return Err(refused(path, "owned by another user"));
    }
    let mut line = Vec::with_capacity(400);
    if meta.len() > 0 {
        let mut last = [0u8];
        file.read_exact_at(&mut last, meta.len() - 1)?;
        if last[0] != b'\n' {
            line.push(b'\n');
        }
    }
    line.extend_from_slice(record.to_line().as_bytes());
    write_once(&file, &line)?;
    file.sync_all()?;
    if meta.len() == 0 {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// One `write` call for the whole line (a short write, which only a full disk causes,
/// is an error: the reader sees a cut line and ignores it).
fn write_once(mut file: &File, bytes: &[u8]) -> io::Result<()> {
    let written = file.write(bytes)?;
    if written != bytes.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!(
                "only {written} of {} bytes of the drill record were written (is the disk full?)",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::health::record::DrillKind;
    use ed25519_dalek::SigningKey;
    use std::os::unix::fs::PermissionsExt;

    fn record(officer: &str) -> DrillRecord {
        DrillRecord::sign(
            [1; 16],
            5,
            officer,
            DrillKind::Share,
            1_000,
            &SigningKey::from_bytes(&[2; 32]),
        )
        .unwrap()
    }

    #[test]
    fn append_creates_0600_and_adds_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svault.drills");
        assert_eq!(read(&path).unwrap(), b"");
        append(&path, &record("alice")).unwrap();
        append(&path, &record("bob")).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = String::from_utf8(read(&path).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            DrillRecord::parse(lines[1].as_bytes()).unwrap().officer,
            "bob"
        );
    }

    #[test]
    fn a_cut_last_line_does_not_swallow_the_next_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.drills");
        std::fs::write(&path, b"{\"v\":1,\"vault_").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        append(&path, &record("alice")).unwrap();
        let bytes = read(&path).unwrap();
        let lines: Vec<_> = crate::health::record::lines(&bytes).collect();
        assert_eq!(lines.len(), 2);
        assert!(DrillRecord::parse(lines[0].1.clone().unwrap()).is_err());
        assert!(DrillRecord::parse(lines[1].1.clone().unwrap()).is_ok());
    }

    #[test]
    fn links_are_refused_and_their_targets_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"keep\n").unwrap();
        let link = dir.path().join("v.drills");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = append(&link, &record("alice")).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(
            read(&link)
                .unwrap_err()
                .to_string()
                .contains("symbolic link")
        );
        let hard = dir.path().join("w.drills");
        std::fs::hard_link(&target, &hard).unwrap();
        let e = append(&hard, &record("alice")).unwrap_err();
        assert!(e.to_string().contains("hard link"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep\n");
    }

    #[test]
    fn the_path_is_beside_the_real_vault() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.svault");
        std::fs::write(&real, b"x").unwrap();
        let link = dir.path().join("app.svault");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let want = std::fs::canonicalize(dir.path())
            .unwrap()
            .join("real.svault.drills");
        assert_eq!(drills_path(&link), want);
        assert_eq!(drills_path(&real), want);
    }
}
