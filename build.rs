//! Records the commit the program is built from, for `svault --version`.
//!
//! `SVAULT_COMMIT` is the abbreviated hash of the checked-out commit when the crate is
//! built from its own git checkout, and `unknown` otherwise (a source tarball, a crate
//! vendored inside another repository, no `git` on the PATH). Local, uncommitted
//! changes are not marked: the hash names the commit, not the working tree.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = commit(&dir).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=SVAULT_COMMIT={commit}");
}

/// The checked-out commit, if `dir` is the top of a git checkout; also asks cargo to
/// run this again when HEAD moves.
fn commit(dir: &Path) -> Option<String> {
    // Only the crate's own repository counts: a crate copied into another project's
    // checkout must not report that project's commit.
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let hash = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    // HEAD names a branch; the branch's ref file (or packed-refs) moves on commit.
    let mut watched = vec![git(dir, &["rev-parse", "--git-path", "HEAD"])?];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.extend(git(dir, &["rev-parse", "--git-path", &branch]));
    }
    watched.extend(git(dir, &["rev-parse", "--git-path", "packed-refs"]));
    for path in watched {
        let path = dir.join(path);
        // A path that does not exist would make cargo rerun this on every build.
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    Some(hash)
}

/// The trimmed stdout of a successful `git ARGS` run in `dir`.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}
