//! The agent's memory of the highest vault generation it has served (FORMAT.md §2.1),
//! so that an older copy of the vault file put in its place (a rollback: a restored
//! backup, a replayed file) is refused instead of unsealed.
//!
//! One small file per vault, `svault-<vault id>.generation`, in `$STATE_DIRECTORY`
//! (systemd's `StateDirectory=`) when that is set, else beside the agent's socket. It
//! holds the generation in decimal and a newline. It is read without following a
//! symbolic link and must be a regular file of at most 32 bytes; it is replaced
//! atomically (a new file made with mode 0600 and `O_EXCL | O_NOFOLLOW`, synced,
//! renamed over the old one, the directory synced), so a crash leaves the old or the
//! new number, never a torn one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest state file accepted: a u64 in decimal and a newline fit easily.
const MAX_LEN: u64 = 32;

/// Where the state file of the vault `vault_id` lives: in `state_dir` when given,
/// else in the directory of `socket`.
pub fn state_path(state_dir: Option<&Path>, socket: &Path, vault_id: &[u8; 16]) -> PathBuf {
    let dir = match state_dir {
        Some(dir) => dir.to_owned(),
        None => match socket.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        },
    };
    dir.join(format!(
        "svault-{}.generation",
        crate::vault::format::to_hex(vault_id)
    ))
}

/// `$STATE_DIRECTORY` as systemd sets it (the first of a colon-separated list), if set
/// and not empty.
pub fn state_directory_from_env() -> Option<PathBuf> {
    let value = std::env::var_os("STATE_DIRECTORY")?;
    let text = value.to_string_lossy();
    let first = text.split(':').next().unwrap_or_default();
    (!first.is_empty()).then(|| PathBuf::from(first))
}

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Reading or writing failed.
    #[error("cannot {action} the agent's generation file {}: {source}", path.display())]
    Io {
        /// The state file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The system's reason.
        source: io::Error,
    },
    /// The file is there but is not what the agent writes.
    #[error(
        "the agent's generation file {} is not what the agent writes ({reason}); it remembers the newest vault generation served, to refuse rolled-back copies: check the vault file is the current one, then remove the generation file",
        path.display()
    )]
    Damaged {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Reads the remembered generation; `Ok(None)` when there is no file yet.
///
/// # Errors
///
/// [`StateError::Io`] when it cannot be read (a symbolic link is refused);
/// [`StateError::Damaged`] when it is not a regular file of a decimal number.
pub fn read(path: &Path) -> Result<Option<u64>, StateError> {
    let io = |action, source| StateError::Io {
        path: path.to_owned(),
        action,
        source,
    };
    let damaged = |reason| StateError::Damaged {
        path: path.to_owned(),
        reason,
    };
    let mut file = match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("open", e)),
    };
    let meta = file.metadata().map_err(|e| io("inspect", e))?;
    if !meta.is_file() {
        return Err(damaged("it is not a regular file"));
    }
    if meta.size() > MAX_LEN {
        return Err(damaged("it is longer than 32 bytes"));
    }
    let mut text = String::new();
    (&mut file)
        .take(MAX_LEN + 1)
        .read_to_string(&mut text)
        .map_err(|_| damaged("it is not text"))?;
    let digits = text.strip_suffix('\n').unwrap_or(&text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(damaged("it does not hold a decimal number"));
    }
    digits
        .parse()
        .map(Some)
        .map_err(|_| damaged("its number is larger than 64 bits"))
}

/// Replaces the file with `generation`, atomically.
///
/// # Errors
///
/// [`StateError::Io`]; the old file is then as it was.
pub fn write(path: &Path, generation: u64) -> Result<(), StateError> {
    let io = |action, source| StateError::Io {
        path: path.to_owned(),
        action,
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tag: [u8; 8] = rand::random();
    let temp = dir.join(format!(
        ".{name}.tmp-{}",
        crate::vault::format::to_hex(&tag)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&temp)
            .map_err(|e| io("create", e))?;
        file.write_all(format!("{generation}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io("write", e))?;
        fs::rename(&temp, path).map_err(|e| io("replace", e))?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_private_and_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svault-x.generation");
        assert_eq!(read(&path).unwrap(), None);
        write(&path, 7).unwrap();
        assert_eq!(read(&path).unwrap(), Some(7));
        write(&path, u64::MAX).unwrap();
        assert_eq!(read(&path).unwrap(), Some(u64::MAX));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn damaged_files_are_refused_and_left_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g");
        for (bytes, why) in [
            (&b""[..], "decimal number"),
            (b"\n", "decimal number"),
            (b"-1\n", "decimal number"),
            (b"12 \n", "decimal number"),
            (b"18446744073709551616\n", "larger than 64 bits"),
            (&[b'1'; 40][..], "longer than 32 bytes"),
            (b"\xff\xfe", "not text"),
        ] {
            fs::write(&path, bytes).unwrap();
            let err = read(&path).unwrap_err();
            assert!(
                matches!(err, StateError::Damaged { .. }),
                "{bytes:?}: {err}"
            );
            assert!(err.to_string().contains(why), "{bytes:?}: {err}");
            assert_eq!(fs::read(&path).unwrap(), bytes);
        }
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        assert!(read(&path).is_err());
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, b"3\n").unwrap();
        let path = dir.path().join("g");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(matches!(read(&path), Err(StateError::Io { .. })));
        // Writing replaces the link itself; the file it pointed to is untouched.
        write(&path, 9).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"3\n");
        assert!(
            !fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(read(&path).unwrap(), Some(9));
    }

    #[test]
    fn the_path_is_in_the_state_directory_or_beside_the_socket() {
        let id = [0xab; 16];
        let hex = "ab".repeat(16);
        assert_eq!(
            state_path(
                Some(Path::new("/var/lib/svault")),
                Path::new("/run/a.sock"),
                &id
            ),
            PathBuf::from(format!("/var/lib/svault/svault-{hex}.generation"))
        );
        assert_eq!(
            state_path(None, Path::new("/run/svault/a.sock"), &id),
            PathBuf::from(format!("/run/svault/svault-{hex}.generation"))
        );
        assert_eq!(
            state_path(None, Path::new("a.sock"), &id),
            PathBuf::from(format!("./svault-{hex}.generation"))
        );
    }
}
