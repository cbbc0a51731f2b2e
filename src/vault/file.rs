//! Putting bytes on disk so that a crash at any instant leaves the old file or the new
//! one, never a mix: write a temporary file in the same directory, fsync it, keep the
//! previous version as `PATH.bak` (a hard link, so there is no instant without a vault
//! at PATH), rename the new file over PATH, fsync the directory. Writers are serialised
//! by an advisory lock on `PATH.lock`.
//!
//! A save works on the real file: a symbolic link at the vault's path is resolved
//! once ([`resolve`]) and left in place, and the lock, backup and temporary files live
//! beside the file it points to. The new file gets the old one's owner, group and mode
//! before it is renamed into place. Nothing here follows a symbolic link it did not
//! resolve on purpose: the lock file is opened with `O_NOFOLLOW`, temporary files are
//! created new. A vault file that group or others may write is refused ([`read`]):
//! whoever can write it can put back an older authentic version.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `PATH` with `suffix` appended to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// Where the previous version of a vault is kept.
pub fn backup_path(path: &Path) -> PathBuf {
    beside(path, ".bak")
}

fn lock_path(path: &Path) -> PathBuf {
    beside(path, ".lock")
}

fn directory(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The real file behind `path`: every symbolic link resolved, once, so that the lock,
/// the temporary file, the rename and the backup all act beside that one file.
pub(crate) fn resolve(path: &Path) -> io::Result<PathBuf> {
    fs::canonicalize(path)
}

/// The owner, group and mode a vault file had, given to its replacement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ownership {
    uid: u32,
    gid: u32,
    mode: u32,
}

/// Reads a vault file (following a symbolic link at `path`), refusing one that is not
/// a regular file or that group or others may write; returns the bytes and the file's
/// owner and mode.
pub(crate) fn read(path: &Path) -> io::Result<(Vec<u8>, Ownership)> {
    let mut file = OpenOptions::new()
        .read(true)
        // A FIFO planted at the path must not block the reader.
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the vault file is writable by {} (mode {mode:04o}), so it cannot be trusted to be the current version; check it, then run `chmod go-w` on it",
                if mode & 0o002 != 0 {
                    "everyone"
                } else {
                    "its group"
                }
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok((
        bytes,
        Ownership {
            uid: meta.uid(),
            gid: meta.gid(),
            mode,
        },
    ))
}

/// An exclusive advisory lock on `PATH.lock`, released on drop.
pub(crate) struct WriteLock {
    _file: File,
}

impl WriteLock {
    /// Waits for the lock. `PATH.lock` is opened with `O_NOFOLLOW` and must be a
    /// regular file: a symbolic link planted there is refused, so a privileged writer
    /// cannot be made to create or touch a file elsewhere.
    pub(crate) fn acquire(path: &Path) -> io::Result<WriteLock> {
        let lock = lock_path(path);
        let refused = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the lock file {} is {what}; svault only uses a regular file there: remove it and try again",
                    lock.display()
                ),
            )
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(&lock)
            .map_err(|e| {
                if e.raw_os_error() == Some(nix::libc::ELOOP) {
                    refused("a symbolic link")
                } else {
                    e
                }
            })?;
        if !file.metadata()?.is_file() {
            return Err(refused("not a regular file"));
        }
        file.lock()?;
        Ok(WriteLock { _file: file })
    }
}

/// Creates a new temporary file beside `path` (mode 0600, or the owner and mode of
/// `like`), writes `bytes`, fsyncs.
fn write_temporary(path: &Path, bytes: &[u8], like: Option<Ownership>) -> io::Result<PathBuf> {
    let dir = directory(path);
    for attempt in 0..16u32 {
        let tag: [u8; 8] = super::crypto::random();
        let name = format!(
            ".{}.tmp-{}-{}",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id(),
            tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let tmp = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(mut file) => {
                let written = take_ownership(&file, like)
                    .and_then(|()| file.write_all(bytes))
                    .and_then(|()| file.sync_all());
                if let Err(e) = written {
                    let _ = fs::remove_file(&tmp);
                    return Err(e);
                }
                return Ok(tmp);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 15 => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a temporary file",
    ))
}

/// Gives `file` the owner, group and mode in `like` (owner first: a change of owner
/// may clear mode bits). A save that cannot keep them fails rather than change them.
fn take_ownership(file: &File, like: Option<Ownership>) -> io::Result<()> {
    let Some(like) = like else {
        return Ok(());
    };
    let meta = file.metadata()?;
    if (meta.uid(), meta.gid()) != (like.uid, like.gid) {
        std::os::unix::fs::fchown(file, Some(like.uid), Some(like.gid)).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot give the new file the vault's owner (uid {}, gid {}): {e}; save as that user or as root",
                    like.uid, like.gid
                ),
            )
        })?;
    }
    file.set_permissions(Permissions::from_mode(like.mode))
}

fn sync_directory(path: &Path) -> io::Result<()> {
    File::open(directory(path))?.sync_all()
}

/// Replaces the file at `path` with `bytes` atomically, keeping the previous version
/// as `PATH.bak`; the new file gets the owner, group and mode in `like` (from
/// [`read`]). `path` is the real file ([`resolve`]); the caller holds the
/// [`WriteLock`].
pub(crate) fn replace(path: &Path, bytes: &[u8], like: Ownership) -> io::Result<()> {
    let tmp = write_temporary(path, bytes, Some(like))?;
    let result = (|| {
        let backup = backup_path(path);
        match fs::remove_file(&backup) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if fs::hard_link(path, &backup).is_err() {
            // A file system without hard links: copy, then rename into place.
            let (old, _) = read(path)?;
            let copy = write_temporary(&backup, &old, Some(like))?;
            fs::rename(copy, &backup)?;
        }
        fs::rename(&tmp, path)?;
        sync_directory(path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes `PATH.bak` beside the real file `path` ([`resolve`]) and syncs the
/// directory; returns whether there was one. The caller holds the [`WriteLock`].
pub(crate) fn remove_backup(path: &Path) -> io::Result<bool> {
    match fs::remove_file(backup_path(path)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    sync_directory(path)?;
    Ok(true)
}

/// Writes a new file at `path`, failing if one exists; the file appears complete or
/// not at all.
pub(crate) fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = write_temporary(path, bytes, None)?;
    // link() refuses to replace an existing file, unlike rename().
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    linked?;
    sync_directory(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keeps_a_backup_and_create_new_refuses_to_clobber() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.svault");
        create_new(&path, b"one").unwrap();
        assert_eq!(
            create_new(&path, b"two").unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(fs::read(&path).unwrap(), b"one");
        let _lock = WriteLock::acquire(&path).unwrap();
        let (_, like) = read(&path).unwrap();
        replace(&path, b"two", like).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read(backup_path(&path)).unwrap(), b"one");
        replace(&path, b"three", like).unwrap();
        assert_eq!(fs::read(backup_path(&path)).unwrap(), b"two");
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }
}
