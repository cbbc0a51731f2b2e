//! `svault init`, `svault add-officer` and `svault rekey`: the split/verify ceremony
//! ([`svault::ceremony`]) at a terminal, or scripted with share files.
//!
//! Interactive (no `--shares-out`, at a terminal): for each officer in turn the screen
//! is cleared, their share is shown (numbered words in columns, with the vault id), they
//! press Enter once it is written down, the screen is cleared again and they type it
//! back from their copy with echo off; a mismatch names the word positions and asks
//! again. Keyslot officers choose a passphrase (typed twice) first and type it once more
//! from memory at the end. Scripted (`--shares-out DIR`): each share is written to
//! `DIR/NAME.share` (new file, mode 0600), read back and checked the same way.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use svault::ceremony::{self, CeremonyError, Verified};
use svault::health::{DrillKind, DrillRecord};
use svault::prompt::{Console, read_passphrase_file, read_share_file};
use svault::share::slip39::{self, Slip39Share};
use svault::vault::drill::DrillKey;
use svault::vault::format::to_hex;
use svault::vault::{
    Draft, GroupPlan, Header, IssuedShare, OfficerPlan, Plan, Sealed, SlotParams, backup_path,
};

use super::Failure;
use super::health::now;
use super::quorum::{self, QuorumArgs, parse_passphrase_spec};

const SECRET_BITS_HELP: &str = "\
Master secret size: 256 (default) gives 33-word shares, 128 gives 20-word shares.
128 bits is far beyond brute force and each officer copies 13 fewer words, so
there are fewer chances to mistype; 256 bits leaves a margin against future
attacks (e.g. quantum search halving the effective strength) at the cost of longer
shares. Both are standard SLIP-0039 and recover with any SLIP-0039 tool.";

/// Create a vault: split a new master secret for the officers and verify every share
/// with the person who will hold it (the ceremony).
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Examples:
  # Interactive, officers taking turns at this terminal:
  svault init app.svault --threshold 3 --officer alice --officer bob \\
      --officer carol --officer dave --officer erin --sheets sheets/
  # Scripted (automation): share files written, read back and verified:
  svault init app.svault --threshold 3 --officer alice --officer bob \\
      --officer carol --officer dave --officer erin --shares-out shares/
  # Two groups: any 2 of ops and the 1 board member:
  svault init app.svault --group ops=2 --group board=1 --group-threshold 2 \\
      --officer ops/alice --officer ops/bob --officer ops/carol --officer board/dave \\
      --shares-out shares/
  # erin also gets a passphrase keyslot (her share is still issued):
  svault init app.svault --threshold 2 --officer alice --officer bob --officer erin \\
      --keyslot erin --passphrase-file erin=erin.pass --shares-out shares/

Nothing is written at VAULT unless every share was re-entered and matched, the set
was proven consistent and a threshold of the re-entered shares unsealed the new file;
an interrupted or failed ceremony leaves nothing there.")]
pub struct InitArgs {
    /// The vault file to create (it must not exist).
    pub vault: PathBuf,
    /// How many officers must come together (one group; not with --group).
    #[arg(long, value_name = "T")]
    pub threshold: Option<u8>,
    /// An officer, in member order (repeatable). With --group, GROUP/NAME.
    #[arg(long = "officer", value_name = "NAME", required = true)]
    pub officers: Vec<String>,
    /// A SLIP-0039 group and its member threshold, NAME=T (repeatable, in group order);
    /// officers are then given as GROUP/NAME.
    #[arg(long = "group", value_name = "NAME=T", conflicts_with = "threshold")]
    pub groups: Vec<String>,
    /// With --group: how many groups must take part.
    #[arg(long, value_name = "G", requires = "groups")]
    pub group_threshold: Option<u8>,
    #[command(flatten)]
    pub issue: IssueArgs,
    /// Give this officer a passphrase keyslot too (repeatable); the passphrase comes
    /// from --passphrase-file NAME=FILE, or is chosen at the terminal.
    #[arg(long = "keyslot", value_name = "NAME")]
    pub keyslots: Vec<String>,
    /// The keyslot passphrase of NAME, read from FILE (one trailing newline removed);
    /// implies --keyslot NAME.
    #[arg(long = "passphrase-file", value_name = "NAME=FILE")]
    pub passphrase_files: Vec<String>,
    /// Master secret size in bits: 256 (33-word shares) or 128 (20-word shares).
    #[arg(long, value_name = "BITS", default_value = "256", long_help = SECRET_BITS_HELP,
          value_parser = ["128", "256"])]
    pub secret_bits: String,
}

/// Where new shares go: files (scripted) or the screen (interactive), and sheets.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct IssueArgs {
    /// Scripted: write each new share to DIR/NAME.share (new files, mode 0600), read
    /// them back and verify them; without it the ceremony runs at the terminal.
    #[arg(long, value_name = "DIR")]
    pub shares_out: Option<PathBuf>,
    /// Also write one printable page per officer, DIR/NAME.html (A4 or Letter, one
    /// page): the numbered words and a QR code of the share, what the share is, its
    /// fingerprint, the drill routine with a drill log, storage instructions, what to do
    /// if it is lost, and signature lines. Print it, check it, then delete the file.
    #[arg(long, value_name = "DIR")]
    pub sheets: Option<PathBuf>,
    /// Accept keyslots that by themselves meet the threshold: the vault file and those
    /// passphrases would then open everything, backups included, with no share on
    /// paper. Refused without this option; `svault status` warns about such a vault.
    #[arg(long)]
    pub allow_keyslot_quorum: bool,
}

/// Add an officer: after a quorum, a new share on the same polynomial (other shares
/// are unchanged), verified as in the ceremony.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Examples:
  svault add-officer app.svault frank --share-file a.share --share-file b.share \\
      --share-file c.share --shares-out shares/
  svault add-officer app.svault frank --group ops      # quorum typed at the terminal")]
pub struct AddOfficerArgs {
    /// The vault.
    pub vault: PathBuf,
    /// The new officer's name.
    pub name: String,
    /// The group to join, by name or number (1-based); needed with several groups.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    #[command(flatten)]
    pub issue: IssueArgs,
    /// Give the new officer a passphrase keyslot, from FILE (one trailing newline
    /// removed); at a terminal, use --new-keyslot to choose it there.
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,
    /// Give the new officer a passphrase keyslot, chosen at the terminal.
    #[arg(long)]
    pub new_keyslot: bool,
    #[command(flatten)]
    pub quorum: QuorumArgs,
}

/// Replace the master secret and every share (a full new ceremony); credentials are
/// kept. The previous file stays as VAULT.bak, which the old shares still open, unless
/// --no-backup is given.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Examples:
  svault rekey app.svault --threshold 3 --officer alice --officer bob --officer carol \\
      --officer frank --share-file a.share --share-file b.share --share-file c.share \\
      --shares-out new-shares/
  svault rekey app.svault        # same officers and threshold, everything at the terminal

Without --officer the current officers, groups and thresholds are kept. The old shares
no longer open VAULT (they are named as an older split); they still open VAULT.bak,
which is kept (with a warning) unless --no-backup is given: destroy it and the old
shares once the new shares are verified.

A keyslot seals its officer's old share, so it cannot be carried over: officers who
had one choose a new passphrase at the terminal; a scripted rekey needs
--new-passphrase-file NAME=FILE for each of them, or --drop-keyslots.")]
pub struct RekeyArgs {
    /// The vault.
    pub vault: PathBuf,
    /// The new threshold (one group).
    #[arg(long, value_name = "T")]
    pub threshold: Option<u8>,
    /// The new officers (one group), in member order (repeatable).
    #[arg(long = "officer", value_name = "NAME")]
    pub officers: Vec<String>,
    #[command(flatten)]
    pub issue: IssueArgs,
    /// A new officer's keyslot passphrase, NAME=FILE (repeatable).
    #[arg(long, value_name = "NAME=FILE")]
    pub new_passphrase_file: Vec<String>,
    /// A new officer gets a keyslot chosen at the terminal (repeatable).
    #[arg(long, value_name = "NAME")]
    pub new_keyslot: Vec<String>,
    /// Officers who had a passphrase keyslot go without one in the new split (by
    /// default they choose a new passphrase at the terminal, or a scripted rekey needs
    /// --new-passphrase-file for each).
    #[arg(long)]
    pub drop_keyslots: bool,
    /// Keep no VAULT.bak: the previous file, which the old shares still open, is
    /// removed once the new vault is saved (by default it is kept, with a warning).
    #[arg(long)]
    pub no_backup: bool,
    #[command(flatten)]
    pub quorum: QuorumArgs,
}

/// How shares are handed out and checked.
enum Mode<'a> {
    /// Files in a directory, read back.
    Scripted(PathBuf),
    /// Officers at the console.
    Interactive(&'a mut dyn Console),
}

impl Mode<'_> {
    fn method(&self) -> &'static str {
        match self {
            Mode::Scripted(_) => "scripted",
            Mode::Interactive(_) => "interactive",
        }
    }
}

/// Files this command created, removed again unless the command succeeds.
#[derive(Default)]
struct Created {
    files: Vec<PathBuf>,
    keep: bool,
}

impl Drop for Created {
    fn drop(&mut self) {
        if !self.keep {
            for f in &self.files {
                let _ = fs::remove_file(f);
            }
        }
    }
}

fn console_failure(e: io::Error) -> Failure {
    Failure::io(format!("the terminal failed: {e}; nothing was written"))
}

fn interrupted(vault: &Path, stage: &str) -> Failure {
    Failure::new(format!(
        "the ceremony was interrupted {stage}; nothing was written: {} was not created or changed and no share file was kept; start the ceremony again",
        vault.display()
    ))
}

fn ceremony_failure(vault: &Path, e: CeremonyError) -> Failure {
    let msg = format!(
        "the ceremony failed; nothing was written at {}",
        vault.display()
    );
    match e {
        CeremonyError::Exists { .. } => Failure::io(e.to_string()),
        CeremonyError::Inconsistent { .. } => Failure::inconsistent(msg).because(e),
        _ => Failure::new(msg).because(e),
    }
}

/// Creates `path` new with mode 0600 and writes `text`.
fn write_new_private(path: &Path, text: &str, created: &mut Created) -> Result<(), Failure> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            Failure::io(format!(
                "cannot create {}: {e}; nothing was written (existing files are never replaced)",
                path.display()
            ))
        })?;
    created.files.push(path.to_owned());
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::io(format!("cannot write {}: {e}", path.display())))
}

fn ensure_dir(dir: &Path) -> Result<(), Failure> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Failure::io(format!("cannot create {}: {e}", dir.display())))
}

/// "2025-03-14" from seconds since the epoch (UTC).
fn date(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Where an issued share sits, as people read it.
fn position(header: &Header, share: &Slip39Share) -> String {
    let groups = &header.split.groups;
    let g = usize::from(share.group_index());
    let count = header
        .officers
        .iter()
        .filter(|o| o.group == share.group_index())
        .count();
    let member = u16::from(share.member_index()) + 1;
    let threshold = share.member_threshold();
    match groups.get(g) {
        Some(group) if groups.len() > 1 => format!(
            "group {} ({} of {} groups needed), member {member} of {count}, threshold {threshold}",
            group.name,
            header.split.group_threshold,
            groups.len()
        ),
        _ => format!("member {member} of {count}, threshold {threshold}"),
    }
}

/// The text of a share file: the words, then `#` lines.
fn share_file_text(header: &Header, issued: &IssuedShare) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::new());
    text.push_str(&issued.share.to_words());
    text.push('\n');
    let _ = writeln!(text, "# svault share of officer {}", issued.officer);
    let _ = writeln!(
        text,
        "# vault {} (SLIP-0039 identifier {})",
        to_hex(&header.vault_id.0),
        issued.share.identifier()
    );
    let _ = writeln!(text, "# {}", position(header, &issued.share));
    let _ = writeln!(text, "# issued {} (UTC)", date(now()));
    let _ = writeln!(
        text,
        "# Keep this file private; check it any time with: svault verify VAULT --share-file FILE"
    );
    text
}

/// Writes the printable sheets of the shares issued for the vault at `vault`.
fn write_sheets(
    dir: &Path,
    vault: &Path,
    header: &Header,
    issued: &[IssuedShare],
    created: &mut Created,
) -> Result<(), Failure> {
    ensure_dir(dir)?;
    // The sheet names the file for years: absolute, so its commands work from anywhere.
    let file = std::path::absolute(vault).unwrap_or_else(|_| vault.to_path_buf());
    let today = date(now());
    let vault_created = date(header.created);
    for i in issued {
        let facts = super::sheet::SheetFacts {
            vault: &file,
            header,
            officer: &i.officer,
            issued: &today,
            created: &vault_created,
        };
        let page = super::sheet::render(&facts, &i.share)
            .map_err(|e| Failure::new(format!("cannot make {}'s sheet: {e}", i.officer)))?;
        write_new_private(&dir.join(format!("{}.html", i.officer)), &page, created)?;
    }
    Ok(())
}

/// Hands out every issued share and has it re-entered; returns the verified shares.
fn issue_and_verify(
    mode: &mut Mode<'_>,
    vault: &Path,
    header: &Header,
    issued: &[IssuedShare],
    created: &mut Created,
    after_write: &mut dyn FnMut(&[PathBuf]),
) -> Result<Vec<Verified>, Failure> {
    match mode {
        Mode::Scripted(dir) => {
            ensure_dir(dir)?;
            let mut paths = Vec::with_capacity(issued.len());
            for i in issued {
                let path = dir.join(format!("{}.share", i.officer));
                write_new_private(&path, &share_file_text(header, i), created)?;
                paths.push(path);
            }
            after_write(&paths);
            // Read every file back: the check is of what the officer will keep.
            let mut verified = Vec::with_capacity(issued.len());
            for (n, (i, path)) in issued.iter().zip(&paths).enumerate() {
                let words = read_share_file(path).map_err(|e| {
                    Failure::io(format!("{e}; nothing was written at {}", vault.display()))
                })?;
                let v = ceremony::verify_entry_among(issued, n, &words).map_err(|m| {
                    Failure::new(format!(
                        "the share file {} of officer {} does not match the share issued to {}: {m}; nothing was written at {} and the share files were removed; run the ceremony again",
                        path.display(),
                        i.officer,
                        i.officer,
                        vault.display()
                    ))
                })?;
                verified.push(v);
            }
            Ok(verified)
        }
        Mode::Interactive(console) => {
            let mut verified = Vec::with_capacity(issued.len());
            for n in 0..issued.len() {
                verified.push(interactive_one(*console, vault, header, issued, n)?);
            }
            clear(*console).map_err(console_failure)?;
            Ok(verified)
        }
    }
}

/// Clears the screen. Through the console's sanitised lines an escape sequence cannot
/// pass, so the terminal is cleared directly and the console shows a marker line.
pub(super) fn clear(console: &mut dyn Console) -> io::Result<()> {
    if console.is_interactive()
        && let Ok(mut tty) = OpenOptions::new().write(true).open("/dev/tty")
    {
        let _ = tty.write_all(b"\x1b[H\x1b[2J\x1b[3J");
        let _ = tty.flush();
    }
    console.say("------------------------------------------------------------ (screen cleared)")
}

/// Numbered words in columns: "  1 academic    12 …".
fn columns(words: &str) -> Vec<String> {
    let list: Vec<&str> = words.split(' ').collect();
    let rows = list.len().div_ceil(3);
    (0..rows)
        .map(|r| {
            let mut line = String::new();
            for c in 0..3 {
                if let Some(w) = list.get(c * rows + r) {
                    let _ = write!(line, "  {:>2} {:<12}", c * rows + r + 1, w);
                }
            }
            line.trim_end().to_owned()
        })
        .collect()
}

fn interactive_one(
    console: &mut dyn Console,
    vault: &Path,
    header: &Header,
    all: &[IssuedShare],
    n: usize,
) -> Result<Verified, Failure> {
    let io = console_failure;
    let count = all.len();
    let Some(issued) = all.get(n) else {
        return Err(Failure::new(format!("no officer number {}", n + 1)));
    };
    let stage = format!("at {}'s share", issued.officer);
    clear(console).map_err(io)?;
    console
        .say(&format!(
            "Officer {} ({} of {count}): only {} may look at the screen now.",
            issued.officer,
            n + 1,
            issued.officer
        ))
        .map_err(io)?;
    console
        .say(&format!(
            "vault {} — {}",
            to_hex(&header.vault_id.0),
            position(header, &issued.share)
        ))
        .map_err(io)?;
    console
        .say(&format!(
            "Your share ({} words). Write them down in order:",
            issued.share.word_count()
        ))
        .map_err(io)?;
    for line in columns(&issued.share.to_words()) {
        console.say(&line).map_err(io)?;
    }
    if console
        .read_line("Press Enter once your copy is written down (the screen will be cleared).")
        .map_err(io)?
        .is_none()
    {
        return Err(interrupted(vault, &stage));
    }
    clear(console).map_err(io)?;
    loop {
        let prompt = format!(
            "{}, type your share from your copy (echo is off):",
            issued.officer
        );
        let Some(typed) = console.read_hidden(&prompt).map_err(io)? else {
            return Err(interrupted(vault, &stage));
        };
        match ceremony::verify_entry_among(all, n, &typed) {
            Ok(v) => {
                console
                    .say(&format!("{}: your share matches.", issued.officer))
                    .map_err(io)?;
                return Ok(v);
            }
            Err(m) => console
                .say(&format!(
                    "{}: {m}; correct your copy and type the whole share again.",
                    issued.officer
                ))
                .map_err(io)?,
        }
    }
}

/// Words an attacker would try first in a passphrase: the vault file's name, every
/// officer and group name (for the strength estimate).
fn guess_context(vault: &Path, names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut words: Vec<String> = names.into_iter().collect();
    if let Some(stem) = vault.file_stem() {
        words.push(stem.to_string_lossy().into_owned());
    }
    words
}

/// The strength check of a keyslot passphrase, as a failure (exit 1) naming the officer
/// with zxcvbn's reason; the passphrase itself is never shown.
fn check_strength(
    vault: &Path,
    officer: &str,
    passphrase: &[u8],
    context: &[String],
) -> Result<(), Failure> {
    let context: Vec<&str> = context.iter().map(String::as_str).collect();
    ceremony::check_passphrase(officer, passphrase, &context).map_err(|e| {
        Failure::new(format!(
            "{e}; choose a stronger passphrase: nothing was written at {}",
            vault.display()
        ))
    })
}

/// A keyslot passphrase chosen at the console: typed twice, and asked again while
/// zxcvbn finds it too easy to guess (its reason is shown).
fn choose_passphrase(
    console: &mut dyn Console,
    vault: &Path,
    officer: &str,
    context: &[String],
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let io = console_failure;
    let stage = format!("at {officer}'s keyslot passphrase");
    loop {
        let Some(first) = console
            .read_hidden(&format!(
                "{officer}, choose a passphrase for your keyslot (echo is off):"
            ))
            .map_err(io)?
        else {
            return Err(interrupted(vault, &stage));
        };
        if first.is_empty() {
            console
                .say("an empty passphrase is not allowed; choose one.")
                .map_err(io)?;
            continue;
        }
        let words: Vec<&str> = context.iter().map(String::as_str).collect();
        if let Err(weak) = ceremony::check_passphrase(officer, first.as_bytes(), &words) {
            console
                .say(&format!("{weak}; choose another."))
                .map_err(io)?;
            continue;
        }
        let Some(second) = console
            .read_hidden(&format!("{officer}, type the passphrase again:"))
            .map_err(io)?
        else {
            return Err(interrupted(vault, &stage));
        };
        if *first == *second {
            return Ok(Zeroizing::new(first.as_bytes().to_vec()));
        }
        console
            .say("the two passphrases differ; choose again.")
            .map_err(io)?;
    }
}

/// Keyslot passphrases typed once more from memory, until each opens its slot (three
/// tries each).
fn check_keyslots_from_memory(
    console: &mut dyn Console,
    vault: &Path,
    pending: &[String],
    mut check: impl FnMut(&str, &[u8]) -> Result<(), CeremonyError>,
) -> Result<(), Failure> {
    let io = console_failure;
    for officer in pending {
        clear(console).map_err(io)?;
        let mut tries = 0;
        loop {
            let Some(p) = console
                .read_hidden(&format!(
                    "{officer}, type your keyslot passphrase from memory:"
                ))
                .map_err(io)?
            else {
                return Err(interrupted(
                    vault,
                    &format!("at {officer}'s passphrase check"),
                ));
            };
            match check(officer, p.as_bytes()) {
                Ok(()) => {
                    console
                        .say(&format!("{officer}: your passphrase opens your keyslot."))
                        .map_err(io)?;
                    break;
                }
                Err(CeremonyError::Keyslot { .. }) if tries < 2 => {
                    tries += 1;
                    console
                        .say(&format!(
                            "{officer}: that passphrase does not open your keyslot; try again."
                        ))
                        .map_err(io)?;
                }
                Err(e) => return Err(ceremony_failure(vault, e)),
            }
        }
    }
    Ok(())
}

/// Chooses scripted or interactive.
fn mode<'a>(issue: &IssueArgs, console: &'a mut dyn Console) -> Result<Mode<'a>, Failure> {
    if let Some(dir) = &issue.shares_out {
        return Ok(Mode::Scripted(dir.clone()));
    }
    if console.is_interactive() {
        return Ok(Mode::Interactive(console));
    }
    Err(Failure::usage(
        "no terminal for the ceremony: give --shares-out DIR to write and verify share files instead",
    ))
}

/// Splits `NAME=T`.
fn parse_group(spec: &str) -> Result<(String, u8), Failure> {
    spec.split_once('=')
        .and_then(|(n, t)| Some((n.to_owned(), t.parse().ok()?)))
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| {
            Failure::usage(format!(
                "--group takes NAME=T, e.g. --group ops=2, not '{spec}'"
            ))
        })
}

fn officer_plan(name: &str) -> OfficerPlan {
    OfficerPlan {
        name: name.to_owned(),
        keyslot: None,
    }
}

/// The plan of `svault init`.
fn init_plan(args: &InitArgs) -> Result<Plan, Failure> {
    let mut plan = if args.groups.is_empty() {
        let t = args.threshold.ok_or_else(|| {
            Failure::usage("give --threshold T (how many officers must come together)")
        })?;
        let names: Vec<&str> = args.officers.iter().map(String::as_str).collect();
        Plan::simple(t, &names)
    } else {
        let mut groups = Vec::new();
        for spec in &args.groups {
            let (name, t) = parse_group(spec)?;
            groups.push(GroupPlan {
                name,
                member_threshold: t,
                officers: Vec::new(),
            });
        }
        for spec in &args.officers {
            let (group, name) = spec.split_once('/').ok_or_else(|| {
                Failure::usage(format!(
                    "with --group, give officers as GROUP/NAME, not '{spec}'"
                ))
            })?;
            let g = groups.iter_mut().find(|g| g.name == group).ok_or_else(|| {
                Failure::usage(format!("officer '{spec}' names no --group '{group}'"))
            })?;
            g.officers.push(officer_plan(name));
        }
        let group_threshold = match (args.group_threshold, groups.len()) {
            (Some(g), _) => g,
            (None, 1) => 1,
            (None, _) => {
                return Err(Failure::usage(
                    "with several --group, give --group-threshold G (how many groups must take part)",
                ));
            }
        };
        Plan {
            group_threshold,
            groups,
            secret_bytes: 32,
            slot_params: SlotParams::default(),
        }
    };
    plan.secret_bytes = if args.secret_bits == "128" { 16 } else { 32 };
    Ok(plan)
}

/// Gives the named officers their keyslot passphrases: from files, or chosen at the
/// console (typed twice).
fn assign_keyslots(
    plan: &mut Plan,
    keyslots: &[String],
    passphrase_files: &[String],
    console: Option<&mut dyn Console>,
    vault: &Path,
) -> Result<(), Failure> {
    let mut wanted: Vec<(String, Option<PathBuf>)> =
        keyslots.iter().map(|k| (k.clone(), None)).collect();
    for spec in passphrase_files {
        let (name, file) = parse_passphrase_spec(spec)?;
        match wanted.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = Some(file),
            None => wanted.push((name, Some(file))),
        }
    }
    let context = guess_context(
        vault,
        plan.groups.iter().flat_map(|g| {
            std::iter::once(g.name.clone()).chain(g.officers.iter().map(|o| o.name.clone()))
        }),
    );
    let mut console = console;
    for (name, file) in wanted {
        let officer = plan
            .groups
            .iter_mut()
            .flat_map(|g| g.officers.iter_mut())
            .find(|o| o.name == name)
            .ok_or_else(|| {
                Failure::usage(format!("--keyslot names '{name}', who is not an officer"))
            })?;
        let passphrase = match (file, console.as_deref_mut()) {
            (Some(path), _) => {
                read_passphrase_file(&path).map_err(|e| Failure::io(e.to_string()))?
            }
            (None, Some(c)) if c.is_interactive() => choose_passphrase(c, vault, &name, &context)?,
            (None, _) => {
                return Err(Failure::usage(format!(
                    "no passphrase for {name}'s keyslot: give --passphrase-file {name}=FILE, or run the ceremony at a terminal"
                )));
            }
        };
        if passphrase.is_empty() {
            return Err(Failure::new(format!(
                "{name}'s keyslot passphrase is empty; choose a passphrase"
            )));
        }
        check_strength(vault, &name, &passphrase, &context)?;
        officer.keyslot = Some(passphrase);
    }
    Ok(())
}

/// Refuses a plan whose keyslot holders (those in `plan` with a passphrase, and the
/// names `keyslots` and `passphrase_files` give one) alone meet the threshold, unless
/// `--allow-keyslot-quorum`; checked before any passphrase is asked for.
fn refuse_keyslot_quorum(
    plan: &Plan,
    keyslots: &[String],
    passphrase_files: &[String],
    allow: bool,
    vault: &Path,
) -> Result<(), Failure> {
    let mut holders: Vec<&str> = keyslots.iter().map(String::as_str).collect();
    holders.extend(
        passphrase_files
            .iter()
            .filter_map(|spec| spec.split_once('=').map(|(n, _)| n)),
    );
    ceremony::check_keyslot_quorum(plan.keyslot_quorum(&holders), allow)
        .map_err(|e| Failure::new(format!("{e}; nothing was written at {}", vault.display())))
}

/// Officers who have a keyslot in `old` and a place in `plan`, but are given no new
/// keyslot by `keyslots` or `passphrase_files` (NAME=FILE).
fn keyslots_lost(
    old: &Header,
    plan: &Plan,
    keyslots: &[String],
    passphrase_files: &[String],
) -> Vec<String> {
    let given = |name: &str| {
        keyslots.iter().any(|k| k == name)
            || passphrase_files
                .iter()
                .any(|spec| spec.split_once('=').map(|(n, _)| n) == Some(name))
    };
    let in_plan = |name: &str| {
        plan.groups
            .iter()
            .flat_map(|g| &g.officers)
            .any(|o| o.name == name)
    };
    old.officers
        .iter()
        .filter(|o| o.slot.is_some() && in_plan(&o.name) && !given(&o.name))
        .map(|o| o.name.clone())
        .collect()
}

/// Passphrases of keyslot officers given by file, for the scripted check.
fn file_passphrases(plan: &Plan) -> Vec<(String, Zeroizing<Vec<u8>>)> {
    plan.groups
        .iter()
        .flat_map(|g| &g.officers)
        .filter_map(|o| o.keyslot.as_ref().map(|k| (o.name.clone(), k.clone())))
        .collect()
}

/// `svault init` at the terminal (or scripted).
pub fn run_init(args: InitArgs) -> Result<Zeroizing<String>, Failure> {
    run_init_with(args, &mut quorum::terminal(), io::stdin().is_terminal())
}

/// `svault init` with a given console; `stdin_terminal` says whether the interactive
/// ceremony may run.
pub fn run_init_with(
    args: InitArgs,
    console: &mut dyn Console,
    stdin_terminal: bool,
) -> Result<Zeroizing<String>, Failure> {
    run_init_hooked(args, console, stdin_terminal, &mut |_| {})
}

/// As [`run_init_with`]; `after_write` sees the share files between writing them and
/// reading them back (tests change them there).
fn run_init_hooked(
    args: InitArgs,
    console: &mut dyn Console,
    stdin_terminal: bool,
    after_write: &mut dyn FnMut(&[PathBuf]),
) -> Result<Zeroizing<String>, Failure> {
    let vault = args.vault.clone();
    if vault.symlink_metadata().is_ok() {
        return Err(Failure::io(format!(
            "{} already exists; choose another path (a vault is never overwritten)",
            vault.display()
        )));
    }
    let mut plan = init_plan(&args)?;
    if args.issue.shares_out.is_none() && !stdin_terminal {
        return Err(Failure::usage(
            "no terminal for the ceremony: give --shares-out DIR to write and verify share files instead",
        ));
    }
    let interactive = args.issue.shares_out.is_none();
    refuse_keyslot_quorum(
        &plan,
        &args.keyslots,
        &args.passphrase_files,
        args.issue.allow_keyslot_quorum,
        &vault,
    )?;
    assign_keyslots(
        &mut plan,
        &args.keyslots,
        &args.passphrase_files,
        interactive.then_some(&mut *console),
        &vault,
    )?;
    let file_pass = file_passphrases(&plan);
    let draft = Draft::new(&plan).map_err(|e| Failure::usage(format!("{e}")))?;
    let header = draft.header().clone();
    let mut created = Created::default();
    if let Some(dir) = &args.issue.sheets {
        write_sheets(dir, &vault, &header, draft.issued(), &mut created)?;
    }
    let mut mode = mode(&args.issue, console)?;
    let method = mode.method();
    let verified = issue_and_verify(
        &mut mode,
        &vault,
        &header,
        draft.issued(),
        &mut created,
        after_write,
    )?;
    let proven = ceremony::prove_set(&header, verified).map_err(|e| ceremony_failure(&vault, e))?;
    let mut staged = ceremony::stage_new(draft, proven, &vault, method)
        .map_err(|e| ceremony_failure(&vault, e))?;
    match &mut mode {
        Mode::Interactive(console) => {
            let pending = staged.keyslots_pending();
            check_keyslots_from_memory(*console, &vault, &pending, |o, p| {
                staged.check_keyslot(o, p)
            })?;
        }
        Mode::Scripted(_) => {
            for (name, pass) in &file_pass {
                staged
                    .check_keyslot(name, pass)
                    .map_err(|e| ceremony_failure(&vault, e))?;
            }
        }
    }
    // Each officer who typed their share back at the terminal has drilled; shares
    // re-read from files this command wrote prove nothing of their holders.
    let drills = match &mode {
        Mode::Interactive(_) => Some(
            staged
                .drill_records(now())
                .map_err(|e| ceremony_failure(&vault, e))?,
        ),
        Mode::Scripted(_) => None,
    };
    staged.commit().map_err(|e| ceremony_failure(&vault, e))?;
    created.keep = true;
    let mut out = summary("created", &vault, &header, method);
    out.push_str(&match &drills {
        Some(records) => super::health::record_ceremony(&vault, records),
        None => super::health::no_ceremony_drills(&vault, None),
    });
    if let Some(dir) = &args.issue.shares_out {
        let _ = writeln!(out, "share files: {}/NAME.share (mode 0600)", dir.display());
    }
    if let Some(dir) = &args.issue.sheets {
        let _ = writeln!(out, "share sheets: {}/NAME.html (mode 0600)", dir.display());
    }
    Ok(Zeroizing::new(out))
}

fn summary(what: &str, vault: &Path, header: &Header, method: &str) -> String {
    let split = &header.split;
    let layout = if let [g] = &split.groups[..] {
        format!(
            "{} of {} officers",
            g.member_threshold,
            header.officers.len()
        )
    } else {
        let groups: Vec<String> = split
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let n = header
                    .officers
                    .iter()
                    .filter(|o| usize::from(o.group) == i)
                    .count();
                format!("{} {}-of-{n}", g.name, g.member_threshold)
            })
            .collect();
        format!("{} of {{{}}}", split.group_threshold, groups.join(", "))
    };
    let names: Vec<&str> = header.officers.iter().map(|o| o.name.as_str()).collect();
    format!(
        "{what} {}: vault {}, {layout}; every share verified ({method}): {}\n",
        vault.display(),
        to_hex(&header.vault_id.0),
        names.join(", ")
    )
}

/// Quorum shares given as files, for the proof that a new share unseals.
fn quorum_file_shares(args: &QuorumArgs) -> Vec<Slip39Share> {
    args.share_files
        .iter()
        .filter_map(|p| read_share_file(p).ok())
        .filter_map(|w| slip39::parse(&w).ok())
        .collect()
}

/// `svault add-officer`.
pub fn run_add_officer(args: AddOfficerArgs) -> Result<Zeroizing<String>, Failure> {
    run_add_officer_with(args, &mut quorum::terminal())
}

/// `svault add-officer` with a given console.
pub fn run_add_officer_with(
    args: AddOfficerArgs,
    console: &mut dyn Console,
) -> Result<Zeroizing<String>, Failure> {
    let vault_path = args.vault.clone();
    let mut vault = quorum::unseal_with(&vault_path, &args.quorum, console)?;
    let header = vault.header().clone();
    let group = match &args.group {
        None if header.split.groups.len() == 1 => 0,
        None => {
            return Err(Failure::usage(
                "this vault has several groups: give --group NAME for the new officer",
            ));
        }
        Some(g) => header
            .split
            .groups
            .iter()
            .position(|x| x.name == *g)
            .or_else(|| g.parse::<usize>().ok().and_then(|n| n.checked_sub(1)))
            .and_then(|i| u8::try_from(i).ok())
            .ok_or_else(|| Failure::usage(format!("this vault has no group '{g}'")))?,
    };
    let gets_keyslot = args.new_passphrase_file.is_some() || args.new_keyslot;
    if gets_keyslot {
        // The holders the vault would have: today's, and the new officer in `group`.
        let groups = header.split.groups.iter().enumerate().map(|(g, grp)| {
            let mut names: Vec<&str> = header
                .officers
                .iter()
                .filter(|o| usize::from(o.group) == g && o.slot.is_some())
                .map(|o| o.name.as_str())
                .collect();
            if g == usize::from(group) {
                names.push(&args.name);
            }
            (grp.member_threshold, names)
        });
        let quorum = svault::vault::format::quorum_among(header.split.group_threshold, groups);
        ceremony::check_keyslot_quorum(quorum, args.issue.allow_keyslot_quorum).map_err(|e| {
            Failure::new(format!(
                "{e}; nothing was changed at {}",
                vault_path.display()
            ))
        })?;
    }
    let context = guess_context(
        &vault_path,
        header
            .officers
            .iter()
            .map(|o| o.name.clone())
            .chain(header.split.groups.iter().map(|g| g.name.clone()))
            .chain([args.name.clone()]),
    );
    let passphrase = match (&args.new_passphrase_file, args.new_keyslot) {
        (Some(path), _) => {
            let pass = read_passphrase_file(path).map_err(|e| Failure::io(e.to_string()))?;
            check_strength(&vault_path, &args.name, &pass, &context)?;
            Some(pass)
        }
        (None, true) if console.is_interactive() && args.issue.shares_out.is_none() => Some(
            choose_passphrase(console, &vault_path, &args.name, &context)?,
        ),
        (None, true) => {
            return Err(Failure::usage(
                "--new-keyslot chooses the passphrase at the terminal; in a script give --new-passphrase-file FILE",
            ));
        }
        (None, false) => None,
    };
    let previous = header.ceremony.clone();
    let issued = vault
        .add_officer(
            group,
            &args.name,
            passphrase.as_ref().map(|p| (&p[..], SlotParams::default())),
        )
        .map_err(|e| Failure::new(format!("{e}; nothing was changed")))?;
    let new_header = vault.header().clone();
    let mut created = Created::default();
    if let Some(dir) = &args.issue.sheets {
        write_sheets(
            dir,
            &vault_path,
            &new_header,
            std::slice::from_ref(&issued),
            &mut created,
        )?;
    }
    let mut mode = mode(&args.issue, console)?;
    let method = mode.method();
    let mut verified = issue_and_verify(
        &mut mode,
        &vault_path,
        &new_header,
        std::slice::from_ref(&issued),
        &mut created,
        &mut |_| {},
    )?;
    let Some(v) = verified.pop() else {
        return Err(Failure::new("no share was verified; nothing was changed"));
    };
    ceremony::prove_added(&vault, &v, &quorum_file_shares(&args.quorum))
        .map_err(|e| ceremony_failure(&vault_path, e))?;
    if let Some(pass) = &passphrase {
        let bytes = vault
            .to_bytes()
            .map_err(|e| Failure::new("cannot encode the vault").because(e))?;
        let sealed = Sealed::from_bytes(bytes)
            .map_err(|e| Failure::new("the changed vault does not read back").because(e))?;
        let check = |o: &str, p: &[u8]| -> Result<(), CeremonyError> {
            let share = sealed
                .open_slot(o, p)
                .map_err(|source| CeremonyError::Keyslot {
                    officer: o.to_owned(),
                    source,
                })?;
            if share.to_words() == v.share().to_words() {
                Ok(())
            } else {
                Err(CeremonyError::KeyslotContents {
                    officer: o.to_owned(),
                })
            }
        };
        match &mut mode {
            Mode::Interactive(c) => check_keyslots_from_memory(
                *c,
                &vault_path,
                std::slice::from_ref(&args.name),
                check,
            )?,
            Mode::Scripted(_) => {
                check(&args.name, pass).map_err(|e| ceremony_failure(&vault_path, e))?
            }
        }
    }
    let mut verified_names = previous
        .as_ref()
        .map(|c| c.verified.clone())
        .unwrap_or_default();
    verified_names.push(args.name.clone());
    let record = match &previous {
        Some(c) => format!("{}; add-officer {} {method}", c.method, args.name),
        None => format!("add-officer {} {method}", args.name),
    };
    vault.set_ceremony(&record, verified_names);
    vault.save().map_err(|e| {
        Failure::new(format!("nothing was changed at {}", vault_path.display())).because(e)
    })?;
    created.keep = true;
    let mut out = format!(
        "added officer {} to {} ({}); their share was verified ({method}); other shares are unchanged\n",
        args.name,
        vault_path.display(),
        position(&new_header, &issued.share)
    );
    // Typed back at the terminal: the new officer's first drill (the quorum's were
    // recorded by the unseal). `v` was checked against their commitment by
    // `prove_added`, so its drill key is theirs.
    if matches!(mode, Mode::Interactive(_)) {
        let header = vault.header();
        let key = DrillKey::derive(v.share(), &header.vault_id.0, &args.name);
        let records: Vec<DrillRecord> = DrillRecord::sign(
            header.vault_id.0,
            header.split.identifier,
            &args.name,
            DrillKind::Share,
            now(),
            &key,
        )
        // Refused only for a name no header could hold, and this one is in it.
        .ok()
        .into_iter()
        .collect();
        out.push_str(&super::health::record_ceremony(&vault_path, &records));
    } else {
        out.push_str(&super::health::no_ceremony_drills(
            &vault_path,
            Some(&args.name),
        ));
    }
    Ok(Zeroizing::new(out))
}

/// `svault rekey`.
pub fn run_rekey(args: RekeyArgs) -> Result<Zeroizing<String>, Failure> {
    run_rekey_with(args, &mut quorum::terminal())
}

/// `svault rekey` with a given console.
pub fn run_rekey_with(
    args: RekeyArgs,
    console: &mut dyn Console,
) -> Result<Zeroizing<String>, Failure> {
    let vault_path = args.vault.clone();
    let mut vault = quorum::unseal_with(&vault_path, &args.quorum, console)?;
    let old = vault.header().clone();
    let mut plan = if args.officers.is_empty() {
        if args.threshold.is_some() && old.split.groups.len() != 1 {
            return Err(Failure::usage(
                "--threshold alone applies to a one-group vault; give --officer too to re-split as one group",
            ));
        }
        Plan {
            group_threshold: old.split.group_threshold,
            groups: old
                .split
                .groups
                .iter()
                .enumerate()
                .map(|(i, g)| GroupPlan {
                    name: g.name.clone(),
                    member_threshold: args.threshold.unwrap_or(g.member_threshold),
                    officers: old
                        .officers
                        .iter()
                        .filter(|o| usize::from(o.group) == i)
                        .map(|o| officer_plan(&o.name))
                        .collect(),
                })
                .collect(),
            secret_bytes: old.split.secret_bytes,
            slot_params: SlotParams::default(),
        }
    } else {
        let t = match (args.threshold, &old.split.groups[..]) {
            (Some(t), _) => t,
            (None, [g]) => g.member_threshold,
            (None, _) => return Err(Failure::usage("give --threshold T for the new officers")),
        };
        let names: Vec<&str> = args.officers.iter().map(String::as_str).collect();
        let mut p = Plan::simple(t, &names);
        p.secret_bytes = old.split.secret_bytes;
        p
    };
    let interactive = args.issue.shares_out.is_none();
    let mut keyslots = args.new_keyslot.clone();
    let lost = keyslots_lost(&old, &plan, &keyslots, &args.new_passphrase_file);
    if !lost.is_empty() && !args.drop_keyslots {
        if !interactive {
            return Err(Failure::usage(format!(
                "{} had a passphrase keyslot, which cannot survive a rekey (it seals the old share): give --new-passphrase-file NAME=FILE for each, or --drop-keyslots; nothing was changed",
                lost.join(", ")
            )));
        }
        keyslots.extend(lost);
    }
    refuse_keyslot_quorum(
        &plan,
        &keyslots,
        &args.new_passphrase_file,
        args.issue.allow_keyslot_quorum,
        &vault_path,
    )?;
    assign_keyslots(
        &mut plan,
        &keyslots,
        &args.new_passphrase_file,
        interactive.then_some(&mut *console),
        &vault_path,
    )?;
    let file_pass = file_passphrases(&plan);
    let issued = vault
        .rekey(&plan)
        .map_err(|e| Failure::usage(format!("{e}; nothing was changed")))?;
    let header = vault.header().clone();
    let mut created = Created::default();
    if let Some(dir) = &args.issue.sheets {
        write_sheets(dir, &vault_path, &header, &issued, &mut created)?;
    }
    let mut mode = mode(&args.issue, console)?;
    let method = mode.method();
    let verified = issue_and_verify(
        &mut mode,
        &vault_path,
        &header,
        &issued,
        &mut created,
        &mut |_| {},
    )?;
    let fail = |e| ceremony_failure(&vault_path, e);
    let proven = ceremony::prove_set(&header, verified).map_err(fail)?;
    let mut proof =
        ceremony::prove_unsaved(&mut vault, proven, &format!("rekey, {method}")).map_err(fail)?;
    match &mut mode {
        Mode::Interactive(c) => {
            let pending = proof.keyslots_pending();
            check_keyslots_from_memory(*c, &vault_path, &pending, |o, p| {
                proof.check_keyslot(o, p)
            })?;
        }
        Mode::Scripted(_) => {
            for (name, pass) in &file_pass {
                proof.check_keyslot(name, pass).map_err(fail)?;
            }
        }
    }
    let drills = match &mode {
        Mode::Interactive(_) => Some(proof.drill_records(now()).map_err(fail)?),
        Mode::Scripted(_) => None,
    };
    ceremony::save_proven(&mut vault, &proof).map_err(fail)?;
    created.keep = true;
    let mut out = summary("rekeyed", &vault_path, &header, method);
    out.push_str(&match &drills {
        Some(records) => super::health::record_ceremony(&vault_path, records),
        None => super::health::no_ceremony_drills(&vault_path, None),
    });
    if args.no_backup {
        let removed = vault.discard_backup().map_err(|e| {
            Failure::new(format!(
                "{} was rekeyed and the new shares are in place, but its backup, which the OLD shares still open, could not be removed: remove {} by hand",
                vault_path.display(),
                backup_path(&vault_path).display()
            ))
            .because(e)
        })?;
        let _ = writeln!(
            out,
            "the old shares no longer open {}; no backup was kept{}",
            vault_path.display(),
            if removed.is_some() {
                " (the previous file was removed)"
            } else {
                ""
            }
        );
    } else {
        // Beside the real file when the vault's path is a symbolic link.
        let backup = backup_path(&std::fs::canonicalize(&vault_path).unwrap_or(vault_path.clone()));
        super::eprint_lines(&format!(
            "warning: {} still opens with the OLD shares: destroy it once the new shares are verified (or rekey with --no-backup next time)",
            backup.display()
        ));
        let _ = writeln!(
            out,
            "the old shares no longer open {}; the previous file is kept at {}, which the old shares still open: destroy it and the old shares once the new ones are verified",
            vault_path.display(),
            backup.display()
        );
    }
    Ok(Zeroizing::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use svault::prompt::ScriptedConsole;
    use svault::vault::Vault;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        init: InitArgs,
    }

    fn init_args(extra: &[&str]) -> InitArgs {
        let mut argv = vec!["svault"];
        argv.extend_from_slice(extra);
        Wrap::try_parse_from(argv).unwrap().init
    }

    fn words_on_screen(transcript: &str) -> Vec<String> {
        // The last share shown: numbered words between "Write them down" and "Press Enter".
        let start = transcript.rfind("Write them down in order:").unwrap();
        let end = start + transcript[start..].find("Press Enter").unwrap();
        let mut numbered: Vec<(usize, String)> = Vec::new();
        let tokens: Vec<&str> = transcript[start..end]
            .lines()
            .skip(1)
            .flat_map(str::split_whitespace)
            .collect();
        for pair in tokens.chunks(2) {
            numbered.push((pair[0].parse().unwrap(), pair[1].to_owned()));
        }
        numbered.sort();
        numbered.into_iter().map(|(_, w)| w).collect()
    }

    /// A console that answers from the screen: each officer types what was shown,
    /// with `mistype` changing word 5 on bob's first try, and stops after `stop_after`
    /// answers.
    struct Officers {
        inner: ScriptedConsole,
        typed: usize,
        stop_after: usize,
        mistyped: bool,
    }

    impl Console for Officers {
        fn say(&mut self, line: &str) -> io::Result<()> {
            self.inner.say(line)
        }
        fn read_line(&mut self, prompt: &str) -> io::Result<Option<String>> {
            self.inner.say(prompt)?;
            self.typed += 1;
            Ok((self.typed <= self.stop_after).then(String::new))
        }
        fn read_hidden(&mut self, prompt: &str) -> io::Result<Option<Zeroizing<String>>> {
            self.inner.say(prompt)?;
            self.typed += 1;
            if self.typed > self.stop_after {
                return Ok(None);
            }
            if prompt.contains("passphrase") {
                return Ok(Some(Zeroizing::new("erin's passphrase".into())));
            }
            let mut words = words_on_screen(self.inner.transcript());
            if prompt.starts_with("bob,") && !self.mistyped {
                self.mistyped = true;
                words[4] = if words[4] == "academic" {
                    "acid".into()
                } else {
                    "academic".into()
                };
            }
            Ok(Some(Zeroizing::new(words.join(" "))))
        }
        fn is_interactive(&self) -> bool {
            true
        }
    }

    fn officers(stop_after: usize) -> Officers {
        Officers {
            inner: ScriptedConsole::new(Vec::<String>::new()),
            typed: 0,
            stop_after,
            mistyped: false,
        }
    }

    /// The vault's drills checked against its header, as `svault status` does.
    fn drill_health(vault: &Path) -> svault::health::Health {
        let header = Vault::open(vault).unwrap().header().clone();
        let roster = svault::health::Roster::from_header(&header);
        let drills = svault::health::files::read(&svault::health::files::drills_path(vault))
            .unwrap_or_default();
        svault::health::check(&roster, &drills, now(), &svault::health::Policy::default())
    }

    #[test]
    fn interactive_ceremony_catches_a_mistyped_word_and_checks_the_keyslot() {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v.svault");
        let v = vault.to_str().unwrap();
        let args = init_args(&[
            v,
            "--threshold",
            "2",
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--officer",
            "erin",
            "--keyslot",
            "erin",
            "--secret-bits",
            "128",
        ]);
        let mut console = officers(usize::MAX);
        let out = run_init_with(args, &mut console, true).unwrap();
        let t = console.inner.transcript();
        assert!(
            t.contains("bob: word 5 does not match the issued share; correct your copy"),
            "{t}"
        );
        assert!(
            t.contains("erin: your passphrase opens your keyslot."),
            "{t}"
        );
        assert!(out.contains("every share verified (interactive): alice, bob, erin"));
        let header = Vault::open(&vault).unwrap().header().clone();
        let record = header.ceremony.unwrap();
        assert_eq!(record.method, "interactive");
        assert_eq!(record.verified, ["alice", "bob", "erin"]);
        // Every officer typed their share back: one signed share drill each, so the
        // margin starts at n − t.
        assert!(out.contains("drills recorded in"), "{}", &out[..]);
        assert!(out.contains("for alice, bob, erin"), "{}", &out[..]);
        let health = drill_health(&vault);
        assert_eq!(health.verified_records, 3);
        assert_eq!(health.rejected + health.not_counted, 0);
        assert!(
            health
                .officers
                .iter()
                .all(|o| o.fresh && o.drills == 1 && o.last_kind == Some(DrillKind::Share))
        );
        assert_eq!((health.quorum.verified, health.quorum.margin), (3, 1));
        println!("{t}");
    }

    #[test]
    fn interrupted_interactive_ceremony_writes_nothing() {
        for stop_after in [0, 2, 3, 5, 8] {
            let dir = tempfile::tempdir().unwrap();
            let vault = dir.path().join("v.svault");
            let v = vault.to_str().unwrap();
            let args = init_args(&[
                v,
                "--threshold",
                "2",
                "--officer",
                "alice",
                "--officer",
                "bob",
                "--officer",
                "erin",
                "--keyslot",
                "erin",
                "--sheets",
                dir.path().join("sheets").to_str().unwrap(),
            ]);
            let mut console = officers(stop_after);
            let err = run_init_with(args, &mut console, true).unwrap_err();
            assert!(
                err.to_string().starts_with("the ceremony was interrupted"),
                "{err}"
            );
            assert!(err.to_string().contains("nothing was written"), "{err}");
            assert!(!vault.exists());
            let left: Vec<_> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            assert!(
                left.iter()
                    .all(|p| p.is_dir() && fs::read_dir(p).unwrap().count() == 0),
                "{left:?}"
            );
        }
    }

    #[test]
    fn a_share_file_changed_after_writing_stops_init_naming_officer_and_word() {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v.svault");
        let out = dir.path().join("shares");
        let args = init_args(&[
            vault.to_str().unwrap(),
            "--threshold",
            "3",
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--officer",
            "carol",
            "--shares-out",
            out.to_str().unwrap(),
        ]);
        let mut edit = |paths: &[PathBuf]| {
            let path = &paths[1];
            let text = fs::read_to_string(path).unwrap();
            let (first, rest) = text.split_once('\n').unwrap();
            let mut words: Vec<&str> = first.split(' ').collect();
            words[8] = if words[8] == "academic" {
                "acid"
            } else {
                "academic"
            };
            fs::write(path, format!("{}\n{rest}", words.join(" "))).unwrap();
        };
        let err = run_init_hooked(
            args,
            &mut ScriptedConsole::non_interactive(),
            false,
            &mut edit,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(
                "of officer bob does not match the share issued to bob: word 9 does not match"
            ),
            "{msg}"
        );
        assert!(msg.contains("nothing was written at"), "{msg}");
        assert!(!vault.exists());
        assert_eq!(
            fs::read_dir(&out).unwrap().count(),
            0,
            "share files removed"
        );
    }

    #[derive(Debug, Parser)]
    struct WrapRekey {
        #[command(flatten)]
        rekey: RekeyArgs,
    }

    #[test]
    fn interactive_rekey_gives_a_keyslot_officer_a_new_keyslot() {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v.svault");
        let out = dir.path().join("shares");
        let pass = dir.path().join("erin.pass");
        fs::write(&pass, "erin's passphrase").unwrap();
        let (v, o) = (vault.to_str().unwrap(), out.to_str().unwrap());
        let pf = format!("erin={}", pass.display());
        let init = init_args(&[
            v,
            "--threshold",
            "2",
            "--officer",
            "alice",
            "--officer",
            "erin",
            "--passphrase-file",
            &pf,
            "--shares-out",
            o,
        ]);
        let created = run_init_with(init, &mut officers(0), false).unwrap();
        // Shares re-read from files this command wrote: nobody has drilled.
        assert!(created.contains("no drill recorded"), "{}", &created[..]);
        assert!(!svault::health::files::drills_path(&vault).exists());

        // No keyslot option at the rekey: erin is asked to choose a new passphrase.
        let alice = out.join("alice.share");
        let rekey = WrapRekey::try_parse_from([
            "svault",
            v,
            "--share-file",
            alice.to_str().unwrap(),
            "--passphrase-file",
            &pf,
        ])
        .unwrap()
        .rekey;
        let mut console = officers(usize::MAX);
        let out = run_rekey_with(rekey, &mut console).unwrap();
        let t = console.inner.transcript();
        assert!(
            t.contains("erin, choose a passphrase for your keyslot"),
            "{t}"
        );
        assert!(
            t.contains("erin: your passphrase opens your keyslot."),
            "{t}"
        );
        let sealed = Vault::open(&vault).unwrap();
        let share = sealed.open_slot("erin", b"erin's passphrase").unwrap();
        assert_eq!(share.identifier(), sealed.header().split.identifier);
        // The unseal before the rekey drilled the old split (no longer counted); the
        // shares typed back drilled the new one.
        assert!(out.contains("drills recorded in"), "{}", &out[..]);
        let health = drill_health(&vault);
        assert_eq!((health.quorum.verified, health.quorum.margin), (2, 0));
        assert_eq!(health.verified_records, 2);
        assert_eq!(
            health.not_counted, 2,
            "the unseal's records of the old split"
        );
    }

    #[derive(Debug, Parser)]
    struct WrapAdd {
        #[command(flatten)]
        add: AddOfficerArgs,
    }

    #[test]
    fn interactive_add_officer_records_the_new_officers_drill() {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v.svault");
        let out = dir.path().join("shares");
        let (v, o) = (vault.to_str().unwrap(), out.to_str().unwrap());
        let init = init_args(&[
            v,
            "--threshold",
            "2",
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--shares-out",
            o,
        ]);
        run_init_with(init, &mut officers(0), false).unwrap();
        let quorum: Vec<String> = ["alice", "bob"]
            .iter()
            .map(|n| out.join(format!("{n}.share")).display().to_string())
            .collect();
        let add = WrapAdd::try_parse_from([
            "svault",
            v,
            "frank",
            "--share-file",
            &quorum[0],
            "--share-file",
            &quorum[1],
        ])
        .unwrap()
        .add;
        let mut console = officers(usize::MAX);
        let said = run_add_officer_with(add, &mut console).unwrap();
        assert!(said.contains("drills recorded in"), "{}", &said[..]);
        assert!(said.contains("for frank"), "{}", &said[..]);
        let health = drill_health(&vault);
        let frank = health.officers.iter().find(|o| o.name == "frank").unwrap();
        assert_eq!((frank.drills, frank.last_kind), (1, Some(DrillKind::Share)));
        // alice and bob drilled by unsealing for the addition.
        assert_eq!((health.quorum.verified, health.quorum.margin), (3, 1));
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_700_000_000), "2023-11-14");
    }

    #[test]
    fn words_in_three_numbered_columns() {
        let words: Vec<String> = (1..=20).map(|i| format!("w{i}")).collect();
        let lines = columns(&words.join(" "));
        assert_eq!(lines.len(), 7);
        assert!(lines[0].starts_with("   1 w1"), "{lines:?}");
        assert!(lines[0].contains("   8 w8"));
        assert!(lines[0].contains("  15 w15"));
    }
}
