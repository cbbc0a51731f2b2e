//! Putting bytes on disk so that a crash at any instant leaves the old file or the new
//! one, never a mix: write a temporary file in the same directory, fsync it, keep the
//! previous version as `PATH.bak` (a hard link, so there is no instant without a vault
//! at PATH), rename the new file over PATH, fsync the directory. Writers are serialised
//! by an advisory lock on `PATH.lock`.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
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

/// An exclusive advisory lock on `PATH.lock`, released on drop.
pub(crate) struct WriteLock {
    _file: File,
}

impl WriteLock {
    /// Waits for the lock.
    pub(crate) fn acquire(path: &Path) -> io::Result<WriteLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(lock_path(path))?;
        file.lock()?;
        Ok(WriteLock { _file: file })
    }
}

/// Creates a new temporary file beside `path` (mode 0600), writes `bytes`, fsyncs.
fn write_temporary(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
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
                let written = file.write_all(bytes).and_then(|()| file.sync_all());
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

fn sync_directory(path: &Path) -> io::Result<()> {
    File::open(directory(path))?.sync_all()
}

/// Replaces the file at `path` with `bytes` atomically, keeping the previous version
/// as `PATH.bak`. The caller holds the [`WriteLock`].
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = write_temporary(path, bytes)?;
    let result = (|| {
        let backup = backup_path(path);
        match fs::remove_file(&backup) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if fs::hard_link(path, &backup).is_err() {
            // A file system without hard links: copy, then rename into place.
            let copy = write_temporary(&backup, &fs::read(path)?)?;
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

/// Writes a new file at `path`, failing if one exists; the file appears complete or
/// not at all.
pub(crate) fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = write_temporary(path, bytes)?;
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
        replace(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read(backup_path(&path)).unwrap(), b"one");
        replace(&path, b"three").unwrap();
        assert_eq!(fs::read(backup_path(&path)).unwrap(), b"two");
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }
}
