//! Writing RECORD, key files and the root token: new files appear whole or not at all,
//! and are never written over.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::RngCore;
use rand::rngs::OsRng;

/// A hidden file beside `path`, created new with `mode`, holding `bytes`, synced.
fn write_temporary(path: &Path, bytes: &[u8], mode: u32) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let mut tag = [0u8; 6];
    OsRng.fill_bytes(&mut tag);
    let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = path.with_file_name(format!(".{}.{tag}.tmp", name.to_string_lossy()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

fn sync_directory(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Writes a new file at `path` with `mode`; fails if one exists.
pub fn create_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let tmp = write_temporary(path, bytes, mode)?;
    // link() refuses to replace an existing file, unlike rename().
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    linked?;
    sync_directory(path)
}

/// Replaces `path` with `bytes` by renaming a complete new file over it.
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let tmp = write_temporary(path, bytes, mode)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_directory(path)
}

/// Files written under hidden names, to be linked to their real names (or, for a
/// replacement, renamed over them) only when every step has passed; dropped before
/// [`Staged::commit`], they are removed.
#[derive(Debug, Default)]
pub struct Staged {
    files: Vec<(PathBuf, PathBuf)>,
    replacements: Vec<(PathBuf, PathBuf)>,
}

/// A [`Staged::commit_or_keep`] that stopped: the file that failed, why, and every
/// staged file still under its hidden name (hidden name, real name).
#[derive(Debug)]
pub struct Kept {
    /// The file that could not be written.
    pub path: PathBuf,
    /// Why.
    pub error: io::Error,
    /// Staged files not yet at their real names: (hidden, real).
    pub left: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// Nothing staged yet.
    pub fn new() -> Staged {
        Staged::default()
    }

    /// Stages `bytes` for `path` (mode `mode`) and returns the staged file's path, to be
    /// read back. Fails at once if `path` already exists.
    pub fn add(&mut self, path: &Path, bytes: &[u8], mode: u32) -> io::Result<PathBuf> {
        if path.symlink_metadata().is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the file already exists; nothing is written over",
            ));
        }
        let tmp = write_temporary(path, bytes, mode)?;
        self.files.push((tmp.clone(), path.to_path_buf()));
        Ok(tmp)
    }

    /// Stages `bytes` to replace the existing file `path` (renamed over it at commit,
    /// after every new file is linked).
    pub fn add_replacement(&mut self, path: &Path, bytes: &[u8], mode: u32) -> io::Result<PathBuf> {
        let tmp = write_temporary(path, bytes, mode)?;
        self.replacements.push((tmp.clone(), path.to_path_buf()));
        Ok(tmp)
    }

    /// Links every staged file to its real name, then renames every replacement over
    /// its file. If a link fails, the ones already linked are removed again and the
    /// error returned.
    pub fn commit(mut self) -> Result<(), (PathBuf, io::Error)> {
        let mut done: Vec<PathBuf> = Vec::new();
        for (tmp, path) in &self.files {
            if let Err(e) = fs::hard_link(tmp, path).and_then(|()| sync_directory(path)) {
                for linked in &done {
                    let _ = fs::remove_file(linked);
                }
                return Err((path.clone(), e));
            }
            done.push(path.clone());
        }
        for (tmp, _) in self.files.drain(..) {
            let _ = fs::remove_file(tmp);
        }
        for (tmp, path) in std::mem::take(&mut self.replacements) {
            if let Err(e) = fs::rename(&tmp, &path).and_then(|()| sync_directory(&path)) {
                let _ = fs::remove_file(&tmp);
                return Err((path, e));
            }
        }
        Ok(())
    }

    /// Like [`Staged::commit`], for when the staged files are the only copy of
    /// something that already took effect elsewhere: on a failure nothing is removed,
    /// and the files still under their hidden names are returned, to be named to the
    /// user.
    pub fn commit_or_keep(mut self) -> Result<(), Kept> {
        let files = std::mem::take(&mut self.files);
        let replacements = std::mem::take(&mut self.replacements);
        let mut left: Vec<(PathBuf, PathBuf)> =
            files.iter().chain(&replacements).cloned().collect();
        for (tmp, path) in &files {
            if let Err(error) = fs::hard_link(tmp, path).and_then(|()| sync_directory(path)) {
                return Err(Kept {
                    path: path.clone(),
                    error,
                    left,
                });
            }
            left.retain(|(t, _)| t != tmp);
            let _ = fs::remove_file(tmp);
        }
        for (tmp, path) in &replacements {
            if let Err(error) = fs::rename(tmp, path).and_then(|()| sync_directory(path)) {
                return Err(Kept {
                    path: path.clone(),
                    error,
                    left,
                });
            }
            left.retain(|(t, _)| t != tmp);
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (tmp, _) in self.files.drain(..).chain(self.replacements.drain(..)) {
            let _ = fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn staged_files_appear_only_at_commit_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("record");
        fs::write(&old, "old").unwrap();
        let new = dir.path().join("a.key");
        let mut staged = Staged::new();
        let tmp = staged.add(&new, b"key", 0o600).unwrap();
        let tmp_record = staged.add_replacement(&old, b"new", 0o644).unwrap();
        assert!(!new.exists());
        assert_eq!(fs::read_to_string(&old).unwrap(), "old");
        drop(staged);
        assert!(!tmp.exists() && !tmp_record.exists() && !new.exists());
        assert_eq!(fs::read_to_string(&old).unwrap(), "old");

        let mut staged = Staged::new();
        staged.add(&new, b"key", 0o600).unwrap();
        staged.add_replacement(&old, b"new", 0o644).unwrap();
        staged.commit_or_keep().unwrap();
        assert_eq!(fs::read_to_string(&new).unwrap(), "key");
        assert_eq!(fs::read_to_string(&old).unwrap(), "new");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "hidden files left"
        );
    }

    #[test]
    fn commit_or_keep_leaves_the_hidden_files_when_a_name_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.key");
        let second = dir.path().join("b.key");
        let mut staged = Staged::new();
        staged.add(&first, b"a", 0o600).unwrap();
        staged.add(&second, b"b", 0o600).unwrap();
        // Someone creates b.key between staging and commit.
        fs::write(&second, "other").unwrap();
        let kept = staged.commit_or_keep().unwrap_err();
        assert_eq!(kept.path, second);
        assert_eq!(kept.left.len(), 1);
        assert_eq!(fs::read_to_string(&kept.left[0].0).unwrap(), "b");
        assert_eq!(fs::read_to_string(&first).unwrap(), "a");
        assert_eq!(fs::read_to_string(&second).unwrap(), "other");
    }
}
