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

/// Files written under hidden names, to be linked to their real names only when every
/// step has passed; dropped before [`Staged::commit`], they are removed.
#[derive(Debug, Default)]
pub struct Staged {
    files: Vec<(PathBuf, PathBuf)>,
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

    /// Links every staged file to its real name. If one fails, the ones already linked
    /// are removed again and the error returned.
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
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (tmp, _) in self.files.drain(..) {
            let _ = fs::remove_file(tmp);
        }
    }
}
