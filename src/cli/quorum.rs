//! The options every command that needs the master secret shares: `--share-file F`
//! (repeatable), `--keyslot NAME`, `--passphrase-file NAME=FILE`; and the one call
//! that opens a vault and gathers its quorum with them (prompting at a terminal for
//! whatever is still missing).

use std::path::{Path, PathBuf};

use svault::prompt::{Console, QuorumError, QuorumSources, TerminalConsole, gather_quorum};
use svault::vault::{FormatError, OpenError, Sealed, UnsealError, Unsealed, Vault};

use super::Failure;

/// How the officers' shares are supplied. Without any of these options, shares are
/// asked for at the terminal, one at a time, with echo off.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct QuorumArgs {
    /// A file holding one officer's share: its words on the first line, any further
    /// lines starting with '#' (repeatable).
    #[arg(long = "share-file", value_name = "FILE")]
    pub share_files: Vec<PathBuf>,
    /// Open this officer's passphrase keyslot (repeatable); the passphrase comes from
    /// --passphrase-file NAME=FILE, or is asked for at the terminal.
    #[arg(long = "keyslot", value_name = "NAME")]
    pub keyslots: Vec<String>,
    /// The passphrase of NAME's keyslot, read from FILE (exactly one trailing newline
    /// is removed); implies --keyslot NAME (repeatable).
    #[arg(long = "passphrase-file", value_name = "NAME=FILE")]
    pub passphrase_files: Vec<String>,
}

/// Splits `NAME=FILE`.
pub fn parse_passphrase_spec(spec: &str) -> Result<(String, PathBuf), Failure> {
    match spec.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => {
            Ok((name.to_owned(), PathBuf::from(file)))
        }
        _ => Err(Failure::usage(format!(
            "--passphrase-file takes NAME=FILE, e.g. --passphrase-file erin=/run/erin.pass, not '{spec}'"
        ))),
    }
}

impl QuorumArgs {
    /// The sources these options name, in the order: share files, then keyslots (in
    /// the order of --keyslot, then those named only by --passphrase-file).
    ///
    /// # Errors
    ///
    /// A usage failure for a malformed or repeated `NAME=FILE`.
    pub fn sources(&self) -> Result<QuorumSources, Failure> {
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        for spec in &self.passphrase_files {
            let (name, file) = parse_passphrase_spec(spec)?;
            if files.iter().any(|(n, _)| *n == name) {
                return Err(Failure::usage(format!(
                    "--passphrase-file names '{name}' twice; give one file per officer"
                )));
            }
            files.push((name, file));
        }
        let mut keyslots: Vec<(String, Option<PathBuf>)> = Vec::new();
        for name in &self.keyslots {
            if keyslots.iter().any(|(n, _)| n == name) {
                continue;
            }
            let file = files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| f.clone());
            keyslots.push((name.clone(), file));
        }
        for (name, file) in files {
            if !keyslots.iter().any(|(n, _)| *n == name) {
                keyslots.push((name, Some(file)));
            }
        }
        Ok(QuorumSources {
            share_files: self.share_files.clone(),
            keyslots,
        })
    }
}

/// The terminal console the CLI uses: lines prefixed `svault: `, as on stderr.
pub fn terminal() -> TerminalConsole {
    TerminalConsole::new().with_prefix("svault: ")
}

/// Opens the vault at `path`.
///
/// # Errors
///
/// An I/O failure (status 2) when it cannot be read; a failure (status 1) when it is
/// damaged or from a newer version, naming the field or offset and the backup.
pub fn open(path: &Path) -> Result<Sealed, Failure> {
    Vault::open(path).map_err(open_failure)
}

/// The failure for a vault that does not open.
pub fn open_failure(error: OpenError) -> Failure {
    match error {
        OpenError::Io { .. } => Failure::io(format!(
            "{error}; check the vault's path (status shows a vault without any share)"
        )),
        // A newer version is no damage: the message says to upgrade, not to restore.
        OpenError::Format {
            source: FormatError::NewerVersion { .. },
            ..
        } => Failure::new(error.to_string()),
        OpenError::Format { backup: None, .. } => Failure::new(format!(
            "{error}; nothing was changed: restore the vault from a backup"
        )),
        _ => Failure::new(format!("{error}; nothing was changed")),
    }
}

/// The failure for a quorum that could not be gathered.
pub fn quorum_failure(error: QuorumError) -> Failure {
    match error {
        QuorumError::Read { .. } | QuorumError::Console(_) => Failure::io(error.to_string()),
        QuorumError::Unseal(UnsealError::Authentication { .. }) => {
            Failure::new(format!("{error}; nothing was changed"))
        }
        _ => Failure::new(error.to_string()),
    }
}

/// Opens the vault at `path` and gathers its quorum: the files named by `args`, then
/// shares typed at the terminal (when there is one).
///
/// # Errors
///
/// As [`open`] and [`quorum_failure`].
pub fn unseal(path: &Path, args: &QuorumArgs) -> Result<Unsealed, Failure> {
    unseal_with(path, args, &mut terminal())
}

/// As [`unseal`], with a given console.
///
/// # Errors
///
/// As [`unseal`].
pub fn unseal_with(
    path: &Path,
    args: &QuorumArgs,
    console: &mut dyn Console,
) -> Result<Unsealed, Failure> {
    let sources = args.sources()?;
    let mut sealed = open(path)?;
    let unsealed = gather_quorum(&mut sealed, console, &sources).map_err(quorum_failure)?;
    // Every officer who took part has shown their share works: a drill each.
    super::health::record_unseal(path, &unsealed);
    Ok(unsealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_files_imply_keyslots_and_pair_with_them() {
        let args = QuorumArgs {
            share_files: vec!["a.share".into()],
            keyslots: vec!["erin".into(), "bob".into()],
            passphrase_files: vec!["erin=/run/e".into(), "fay=/run/f".into()],
        };
        let s = args.sources().unwrap();
        assert_eq!(s.share_files, vec![PathBuf::from("a.share")]);
        assert_eq!(
            s.keyslots,
            vec![
                ("erin".into(), Some(PathBuf::from("/run/e"))),
                ("bob".into(), None),
                ("fay".into(), Some(PathBuf::from("/run/f"))),
            ]
        );
        let bad = QuorumArgs {
            passphrase_files: vec!["erin".into()],
            ..QuorumArgs::default()
        };
        assert_eq!(
            bad.sources().unwrap_err().status(),
            super::super::Status::Usage
        );
    }
}
