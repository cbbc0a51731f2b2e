//! `svault shamir`: split, combine and check shares without a vault file.
//!
//! Input is read from stdin, output written to stdout; see [`super`] for the
//! conventions on errors and exit statuses.

use std::fmt::Write as _;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use zeroize::Zeroizing;

use super::{Failure, eprint_lines};
use svault::shamir::{self, Share};
use svault::share::slip39::{
    self, GenerateOptions, GroupSpec, MasterSecret, Passphrase, RecoverError, Slip39Share,
};
use svault::share::unseal_key::{self, CheckError, Format};

/// Most bytes read from stdin: far above any share set or secret this is meant for,
/// and the buffer is allocated once, so no copy of a secret is left behind by growth.
const STDIN_LIMIT: usize = 4 << 20;

/// Split a secret into shares, combine shares into the secret, or check a share set.
///
/// Shares are SLIP-0039 word shares or HashiCorp Vault / OpenBao unseal keys (hex or
/// base64: the value bytes followed by one x byte, the secret at x = 0). Secrets are
/// read and written as hex. Everything is read from stdin and written to stdout.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    Split(SplitArgs),
    Combine(CombineArgs),
    Check(CheckArgs),
}

/// A share format on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// SLIP-0039 word shares (20 words for a 16-byte secret, 33 for 32 bytes).
    Slip39,
    /// Vault/OpenBao unseal keys in hex (`unseal_keys_hex`).
    Hex,
    /// Vault/OpenBao unseal keys in base64 (`unseal_keys_b64`).
    Base64,
}

/// Split a secret (hex on stdin) into shares, printed one per line.
///
/// The secret is read from stdin as hex digits; surrounding whitespace is ignored. For
/// example, `openssl rand -hex 32 | svault shamir split -t 3 -n 5`.
///
/// SLIP-0039 (the default) needs a secret of at least 16 bytes and an even number of
/// bytes, and allows up to 16 shares per group; groups are printed separated by a
/// blank line. Hex and base64 keys take a secret of any length and up to 255 shares,
/// at x = 1..=N (Vault picks random x instead; both are valid).
///
/// A threshold of 1 with more than one share is refused: every share would be the
/// secret itself.
#[derive(Debug, clap::Args)]
#[command(after_long_help = super::EXIT_STATUSES)]
struct SplitArgs {
    /// Shares needed to recover the secret.
    #[arg(
        short,
        long,
        value_name = "T",
        required_unless_present = "groups",
        value_parser = clap::value_parser!(u8).range(1..)
    )]
    threshold: Option<u8>,

    /// Shares to make.
    #[arg(
        short = 'n',
        long,
        value_name = "N",
        required_unless_present = "groups",
        value_parser = clap::value_parser!(u8).range(1..)
    )]
    shares: Option<u8>,

    /// Share format.
    #[arg(short, long, value_enum, default_value_t = FormatArg::Slip39)]
    format: FormatArg,

    /// SLIP-0039 only: a group of N members of whom T are needed; repeat for more
    /// groups. Takes the place of --threshold and --shares (which are then ignored).
    #[arg(long = "group", id = "groups", value_name = "T/N", value_parser = parse_group)]
    groups: Vec<GroupSpec>,

    /// SLIP-0039 only: how many of the groups are needed [default: 1].
    #[arg(long, value_name = "G", requires = "groups", value_parser = clap::value_parser!(u8).range(1..))]
    group_threshold: Option<u8>,

    /// SLIP-0039 only: encrypt the secret with the passphrase in FILE (its bytes, with
    /// exactly one trailing newline removed; printable ASCII only). The same passphrase
    /// is needed to combine; a wrong one silently gives a different secret.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

/// Combine shares (one per line on stdin) and print the secret as hex.
///
/// Blank lines are ignored. Without --format, each line's format is recognised:
/// words are SLIP-0039, only hex digits a hex key, anything else a base64 key (hex and
/// base64 keys may be mixed).
///
/// SLIP-0039 shares carry their thresholds: give exactly the threshold number of
/// shares of each needed group. Unseal keys do not: fewer keys than the threshold give
/// a wrong secret without any error, so pass --threshold to have the count checked
/// (and, when more keys than that are given, the set checked before combining).
///
/// On success the secret is printed as lowercase hex and a newline. On any failure
/// nothing is printed on stdout.
#[derive(Debug, clap::Args)]
#[command(after_long_help = super::EXIT_STATUSES)]
struct CombineArgs {
    /// Share format [default: recognised from the input].
    #[arg(short, long, value_enum)]
    format: Option<FormatArg>,

    /// Hex and base64 only: the threshold; fewer keys are refused, and more are checked
    /// for consistency (exit status 3 naming the bad key) before combining.
    #[arg(short, long, value_name = "T", value_parser = clap::value_parser!(u8).range(1..))]
    threshold: Option<u8>,

    /// SLIP-0039 only: the passphrase in FILE (its bytes, with exactly one trailing
    /// newline removed). A wrong passphrase is not detected: it gives another secret.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

/// Check that a full share set (one share per line on stdin) is consistent, naming
/// any share that is not.
///
/// Consistent means every threshold of the shares give the same secret. Each share
/// beyond the threshold is checked against the others; a share that does not agree is
/// named by its line and the exit status is 3.
///
/// Hex and base64 keys: --threshold is required (keys do not record it). Give all the
/// keys you have; with exactly the threshold, nothing can be compared.
///
/// SLIP-0039 shares: give the shares of one or more groups; each group is checked on
/// its own, at the member threshold the shares record (--threshold, if given, must
/// match it). Every threshold-sized subset is also checked against the share format's
/// digest, so even exactly the threshold number of shares is verified. The passphrase
/// is not needed.
#[derive(Debug, clap::Args)]
#[command(after_long_help = super::EXIT_STATUSES)]
struct CheckArgs {
    /// The threshold (required for hex and base64; for SLIP-0039, checked against the
    /// shares).
    #[arg(short, long, value_name = "T", value_parser = clap::value_parser!(u8).range(1..))]
    threshold: Option<u8>,

    /// Share format [default: recognised from the input].
    #[arg(short, long, value_enum)]
    format: Option<FormatArg>,
}

/// `T/N` → a group of N members, T needed.
fn parse_group(text: &str) -> Result<GroupSpec, String> {
    let (t, n) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is not T/N (e.g. 2/3: any 2 of 3 members)"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<u8>()
            .map_err(|_| format!("'{text}' is not T/N with T and N from 1 to 16"))
    };
    Ok(GroupSpec::new(number(t)?, number(n)?))
}

/// Runs one `svault shamir` action and returns what to print on stdout.
pub fn run(args: Args) -> Result<Zeroizing<String>, Failure> {
    match args.action {
        Action::Split(a) => split(a),
        Action::Combine(a) => combine(a),
        Action::Check(a) => check(a),
    }
}

// ---------------------------------------------------------------------------------
// Input

/// All of stdin, as text. The buffer is allocated once and wiped when dropped.
fn read_stdin(what: &str) -> Result<Zeroizing<String>, Failure> {
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        eprint_lines(&format!(
            "reading {what} from the terminal; end with Ctrl-D (or pipe it in)"
        ));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(STDIN_LIMIT + 1));
    let limit = u64::try_from(STDIN_LIMIT + 1).unwrap_or(u64::MAX);
    stdin
        .by_ref()
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::new("cannot read stdin").because(e))?;
    if bytes.len() > STDIN_LIMIT {
        return Err(Failure::new(format!(
            "stdin holds more than {} MiB, which is not {what}",
            STDIN_LIMIT >> 20
        )));
    }
    let text = String::from_utf8(core::mem::take(&mut *bytes)).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        // The rejected bytes are wiped along with the error's buffer.
        drop(Zeroizing::new(e.into_bytes()));
        Failure::new(format!(
            "stdin is not text (invalid UTF-8 at byte {}): give {what} as plain text",
            at + 1
        ))
    })?;
    Ok(Zeroizing::new(text))
}

/// One non-blank input line: its 1-based line number and its text, trimmed.
struct Line<'a> {
    number: usize,
    text: &'a str,
}

/// The non-blank lines of `input`, trimmed, with their line numbers.
fn share_lines(input: &str) -> Vec<Line<'_>> {
    input
        .lines()
        .enumerate()
        .map(|(i, text)| Line {
            number: i + 1,
            text: text.trim(),
        })
        .filter(|line| !line.text.is_empty())
        .collect()
}

/// The passphrase from `path`: its bytes with exactly one line ending removed.
fn read_passphrase(path: Option<&Path>) -> Result<Passphrase, Failure> {
    let Some(path) = path else {
        return Ok(Passphrase::empty());
    };
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::new(format!(
            "cannot read the passphrase file '{}'",
            path.display()
        ))
        .because(e)
    })?;
    Passphrase::new(slip39::strip_one_line_ending(bytes)).map_err(|e| {
        Failure::new(format!(
            "the passphrase in '{}' cannot be used",
            path.display()
        ))
        .because(e)
    })
}

/// Hex digits (surrounding whitespace ignored) to the secret's bytes. Errors name a
/// position only, never a character of the secret.
fn decode_secret(text: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Failure::new(
            "no secret on stdin: give it as hex, e.g. `openssl rand -hex 32 | svault shamir split ...`",
        ));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 2));
    let mut high: Option<u8> = None;
    for (i, c) in text.chars().enumerate() {
        let Some(value) = c.to_digit(16).and_then(|v| u8::try_from(v).ok()) else {
            return Err(Failure::new(format!(
                "the secret on stdin is not hex: character {} is not a hex digit (0-9, a-f); \
                 give the secret as hex digits only",
                i + 1
            )));
        };
        match high.take() {
            None => high = Some(value),
            Some(h) => out.push(h << 4 | value),
        }
    }
    if high.is_some() {
        return Err(Failure::new(
            "the secret on stdin has an odd number of hex digits: give two digits per byte",
        ));
    }
    Ok(out)
}

/// Lowercase hex of secret bytes and a newline, without tables or branches on them.
fn secret_hex(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(bytes.len() * 2 + 1));
    for &b in bytes {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(b & 0x0f));
    }
    out.push('\n');
    out
}

/// `'0' + n`, plus the gap to `'a'` when `n > 9`, selected by a mask.
fn hex_digit(nibble: u8) -> char {
    let n = nibble & 0x0f;
    let above_nine = (9u8.wrapping_sub(n) >> 7).wrapping_neg();
    char::from(b'0' + n + (above_nine & 39))
}

/// What kind of share a line holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Slip39,
    Key(Format),
}

impl Kind {
    fn of(format: FormatArg) -> Kind {
        match format {
            FormatArg::Slip39 => Kind::Slip39,
            FormatArg::Hex => Kind::Key(Format::Hex),
            FormatArg::Base64 => Kind::Key(Format::Base64),
        }
    }

    /// Words (text with inner whitespace) are SLIP-0039; otherwise an unseal key.
    fn detect(text: &str) -> Kind {
        if text.split_whitespace().nth(1).is_some() {
            Kind::Slip39
        } else {
            Kind::Key(unseal_key::detect(text))
        }
    }
}

/// The shares on stdin, all SLIP-0039 or all unseal keys.
enum Shares<'a> {
    Slip39(Vec<Line<'a>>, Vec<Slip39Share>),
    Keys(Vec<Line<'a>>, Vec<Share>),
}

fn parse_shares<'a>(input: &'a str, format: Option<FormatArg>) -> Result<Shares<'a>, Failure> {
    let lines = share_lines(input);
    let Some(first) = lines.first() else {
        return Err(Failure::new(
            "no shares on stdin: give one share per line (blank lines are ignored)",
        ));
    };
    let kinds: Vec<Kind> = lines
        .iter()
        .map(|l| format.map_or_else(|| Kind::detect(l.text), Kind::of))
        .collect();
    let first_kind = kinds.first().copied().unwrap_or(Kind::Slip39);
    if let Some((line, _)) = lines
        .iter()
        .zip(&kinds)
        .find(|(_, k)| (**k == Kind::Slip39) != (first_kind == Kind::Slip39))
    {
        let (words, other) = if first_kind == Kind::Slip39 {
            (first.number, line.number)
        } else {
            (line.number, first.number)
        };
        return Err(Failure::new(format!(
            "line {words} holds words (a SLIP-0039 share) but line {other} does not (an \
             unseal key, or a share with its spaces missing): give shares of one kind, or \
             pass --format"
        )));
    }
    if first_kind == Kind::Slip39 {
        let mut shares = Vec::with_capacity(lines.len());
        // Words are quoted back only when they were typed at this terminal and the
        // message goes there too; from a pipe or a file, or into a log, positions only.
        let typed = svault::prompt::officer_at_terminal();
        for line in &lines {
            let share = slip39::parse(line.text).map_err(|e| {
                let failure = format!("line {} is not a valid SLIP-0039 share", line.number);
                if typed {
                    Failure::new(format!("{failure}: {}", e.terminal_message()))
                } else {
                    Failure::new(failure).because(e)
                }
            })?;
            shares.push(share);
        }
        Ok(Shares::Slip39(lines, shares))
    } else {
        let mut shares = Vec::with_capacity(lines.len());
        for (line, kind) in lines.iter().zip(&kinds) {
            let format = match kind {
                Kind::Key(format) => *format,
                Kind::Slip39 => Format::Hex,
            };
            let share = unseal_key::parse_as(line.text, format).map_err(|e| {
                Failure::new(format!(
                    "line {} is not a valid {format} unseal key",
                    line.number
                ))
                .because(e)
            })?;
            shares.push(share);
        }
        Ok(Shares::Keys(lines, shares))
    }
}

/// The line number of the share at 1-based `position` among the non-blank lines.
fn line_of(lines: &[Line<'_>], position: usize) -> usize {
    position
        .checked_sub(1)
        .and_then(|i| lines.get(i))
        .map_or(position, |l| l.number)
}

// ---------------------------------------------------------------------------------
// split

fn split(args: SplitArgs) -> Result<Zeroizing<String>, Failure> {
    if args.format != FormatArg::Slip39
        && (!args.groups.is_empty() || args.passphrase_file.is_some())
    {
        return Err(Failure::usage(
            "--group, --group-threshold and --passphrase-file apply to --format slip39 only",
        ));
    }
    let input = read_stdin("the secret (hex)")?;
    let mut secret = decode_secret(&input)?;
    drop(input);
    match args.format {
        FormatArg::Slip39 => {
            let (group_threshold, groups) = if args.groups.is_empty() {
                let spec = GroupSpec::new(args.threshold.unwrap_or(0), args.shares.unwrap_or(0));
                (1, vec![spec])
            } else {
                (args.group_threshold.unwrap_or(1), args.groups)
            };
            let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
            let len = secret.len();
            let secret = MasterSecret::new(core::mem::take(&mut *secret)).map_err(|_| {
                Failure::new(format!(
                    "the secret is {len} byte(s) long, but SLIP-0039 needs at least 16 bytes and an \
                     even number of bytes: use --format hex or --format base64, which take \
                     any length"
                ))
            })?;
            let groups = slip39::generate(
                &secret,
                &passphrase,
                group_threshold,
                &groups,
                GenerateOptions::default(),
            )
            .map_err(|e| Failure::new("cannot split the secret").because(e))?;
            let mut out = Zeroizing::new(String::new());
            for (i, group) in groups.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                for share in group {
                    out.push_str(&share.to_words());
                    out.push('\n');
                }
            }
            Ok(out)
        }
        FormatArg::Hex | FormatArg::Base64 => {
            let (Some(threshold), Some(count)) = (args.threshold, args.shares) else {
                return Err(Failure::usage("--threshold and --shares are required"));
            };
            if threshold == 1 && count > 1 {
                return Err(Failure::new(
                    "a threshold of 1 with more than one share would give every holder the \
                     secret itself: use a threshold of at least 2",
                ));
            }
            let Kind::Key(format) = Kind::of(args.format) else {
                return Err(Failure::usage("unexpected format"));
            };
            let keys = unseal_key::split(&secret, threshold, count)
                .map_err(|e| Failure::new("cannot split the secret").because(e))?;
            let mut out = Zeroizing::new(String::new());
            for key in &keys {
                out.push_str(&unseal_key::encode(key, format));
                out.push('\n');
            }
            Ok(out)
        }
    }
}

// ---------------------------------------------------------------------------------
// combine

fn combine(args: CombineArgs) -> Result<Zeroizing<String>, Failure> {
    if args.format == Some(FormatArg::Slip39) && args.threshold.is_some() {
        return Err(Failure::usage(
            "--threshold applies to hex and base64 keys only: SLIP-0039 shares carry their \
             thresholds",
        ));
    }
    if matches!(args.format, Some(FormatArg::Hex | FormatArg::Base64))
        && args.passphrase_file.is_some()
    {
        return Err(Failure::usage(
            "--passphrase-file applies to SLIP-0039 shares only",
        ));
    }
    let input = read_stdin("the shares, one per line,")?;
    match parse_shares(&input, args.format)? {
        Shares::Slip39(lines, shares) => {
            if args.threshold.is_some() {
                return Err(Failure::usage(
                    "--threshold applies to hex and base64 keys only: SLIP-0039 shares carry \
                     their thresholds",
                ));
            }
            let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
            let secret = slip39::recover(&shares, &passphrase).map_err(|e| {
                let hint = position_hint(&lines, &recover_positions(&e));
                Failure::new(format!("the shares do not combine{hint}")).because(e)
            })?;
            Ok(secret_hex(secret.as_bytes()))
        }
        Shares::Keys(lines, keys) => {
            if args.passphrase_file.is_some() {
                return Err(Failure::usage(
                    "--passphrase-file applies to SLIP-0039 shares only",
                ));
            }
            combine_keys(&lines, &keys, args.threshold)
        }
    }
}

fn combine_keys(
    lines: &[Line<'_>],
    keys: &[Share],
    threshold: Option<u8>,
) -> Result<Zeroizing<String>, Failure> {
    let have = keys.len();
    // The shape checks of a set check (duplicate keys, lengths), naming lines; at a
    // threshold equal to the count, nothing else is compared.
    unseal_key::check_set(keys, u8::try_from(have).unwrap_or(u8::MAX))
        .map_err(|e| check_failure(lines, &e))?;
    match threshold {
        None if have == 1 => {
            return Err(Failure::new(
                "only one key was given: one key alone is the secret only at threshold 1; give \
                 at least the threshold number of keys (or --threshold 1)",
            ));
        }
        Some(t) if have < usize::from(t) => {
            return Err(Failure::new(format!(
                "need {} more key(s): {have} of the {t} needed were given",
                usize::from(t) - have
            )));
        }
        Some(t) if have > usize::from(t) => {
            unseal_key::check_set(keys, t).map_err(|e| check_failure(lines, &e))?;
        }
        _ => {}
    }
    let secret = unseal_key::combine(keys).map_err(|e| {
        let at = match &e {
            shamir::Error::DuplicateX { x } | shamir::Error::UnequalLengths { x, .. } => {
                let on: Vec<String> = keys
                    .iter()
                    .zip(lines)
                    .filter(|(k, _)| k.x() == *x)
                    .map(|(_, l)| l.number.to_string())
                    .collect();
                format!(" (see line {})", on.join(" and line "))
            }
            _ => String::new(),
        };
        Failure::new(format!("the keys do not combine{at}")).because(e)
    })?;
    Ok(secret_hex(&secret))
}

/// The 1-based share positions a SLIP-0039 recovery error names.
fn recover_positions(error: &RecoverError) -> Vec<usize> {
    match error {
        RecoverError::Parse { share, .. }
        | RecoverError::IdentifierMismatch { share, .. }
        | RecoverError::ExtendableMismatch { share, .. }
        | RecoverError::IterationExponentMismatch { share, .. }
        | RecoverError::GroupThresholdMismatch { share, .. }
        | RecoverError::GroupCountMismatch { share, .. }
        | RecoverError::LengthMismatch { share, .. } => vec![1, *share],
        RecoverError::MemberThresholdMismatch { share, first, .. }
        | RecoverError::DuplicateMember { share, first, .. } => vec![*first, *share],
        _ => Vec::new(),
    }
}

/// " (share 2 is on line 4, …)" when blank lines make share numbers differ from line
/// numbers; otherwise empty.
fn position_hint(lines: &[Line<'_>], positions: &[usize]) -> String {
    let differing: Vec<String> = positions
        .iter()
        .filter(|&&p| line_of(lines, p) != p)
        .map(|&p| format!("share {p} is on line {}", line_of(lines, p)))
        .collect();
    if differing.is_empty() {
        String::new()
    } else {
        format!(" ({})", differing.join(", "))
    }
}

// ---------------------------------------------------------------------------------
// check

fn check(args: CheckArgs) -> Result<Zeroizing<String>, Failure> {
    if matches!(args.format, Some(FormatArg::Hex | FormatArg::Base64)) && args.threshold.is_none() {
        return Err(Failure::usage(
            "--threshold is required for hex and base64 keys: they do not record it",
        ));
    }
    let input = read_stdin("the shares, one per line,")?;
    match parse_shares(&input, args.format)? {
        Shares::Keys(lines, keys) => {
            let Some(threshold) = args.threshold else {
                return Err(Failure::usage(
                    "--threshold is required for hex and base64 keys: they do not record it",
                ));
            };
            let proof =
                unseal_key::check_set(&keys, threshold).map_err(|e| check_failure(&lines, &e))?;
            let mut out = Zeroizing::new(String::new());
            let _ = if proof.redundant() == 0 {
                writeln!(
                    out,
                    "not checked: exactly {} keys, the threshold; any {} points fit, so this \
                     proves nothing about them; give more keys of the set to check them",
                    proof.count(),
                    proof.threshold()
                )
            } else {
                writeln!(
                    out,
                    "consistent: all {} keys lie on one polynomial, so any {} of them give the \
                     same secret",
                    proof.count(),
                    proof.threshold()
                )
            };
            Ok(out)
        }
        Shares::Slip39(lines, shares) => check_slip39(&lines, &shares, args.threshold),
    }
}

/// A CLI failure for a key-set check error, with keys named by their line.
fn check_failure(lines: &[Line<'_>], error: &CheckError) -> Failure {
    let line = |p: usize| line_of(lines, p);
    match error {
        CheckError::Deviating {
            deviants,
            agreeing,
            unique,
            ..
        } => {
            let named: Vec<String> = deviants
                .iter()
                .map(|d| format!("line {} (x = {})", line(d.position), d.x))
                .collect();
            let (verb, it) = if deviants.len() == 1 {
                ("does", "it")
            } else {
                ("do", "them")
            };
            let hedge = if *unique {
                ""
            } else {
                " (most likely: too few keys agree to rule out a deliberately crafted set)"
            };
            Failure::inconsistent(format!(
                "inconsistent key set: the key on {} {verb} not agree with the other {agreeing} \
                 keys{hedge}; a threshold of keys including {it} gives a different secret. \
                 Compare {it} with the written copy, or leave {it} out",
                named.join(", ")
            ))
        }
        CheckError::Undetermined { .. } => {
            Failure::inconsistent("inconsistent key set").because(error.clone())
        }
        CheckError::DuplicateX {
            first,
            second,
            x,
            identical,
        } => Failure::new(if *identical {
            format!(
                "line {} repeats the key on line {}: each key counts once; leave one out",
                line(*second),
                line(*first)
            )
        } else {
            format!(
                "the keys on lines {} and {} both have x = {x}: they are from different splits \
                 (or one is damaged in its last byte)",
                line(*first),
                line(*second)
            )
        }),
        CheckError::UnequalLengths {
            position,
            len,
            expected,
            ..
        } => Failure::new(format!(
            "the key on line {} holds {len} value bytes but the key on line {} holds \
             {expected}: it belongs to a different secret",
            line(*position),
            line(1)
        )),
        other => Failure::new("cannot check the keys").because(other.clone()),
    }
}

/// What the SLIP-0039 check found for one group.
enum GroupCheck {
    /// Every share matches; `verified` when a digest or a comparison verified them.
    Consistent { count: usize, verified: bool },
    /// A threshold of shares passed the digest; these share positions do not match it.
    Deviating {
        deviants: Vec<usize>,
        agreeing: usize,
    },
    /// No threshold of the shares passed the digest together.
    Undetermined,
}

/// Checks SLIP-0039 shares group by group: finds `T` shares of the group that pass the
/// digest (so are genuine), computes from them the share every other member should
/// hold ([`slip39::extend_group`]) and compares.
fn check_slip39(
    lines: &[Line<'_>],
    shares: &[Slip39Share],
    threshold: Option<u8>,
) -> Result<Zeroizing<String>, Failure> {
    let line = |i: usize| lines.get(i).map_or(i + 1, |l| l.number);
    let Some(first) = shares.first() else {
        return Err(Failure::new("no shares on stdin"));
    };
    for (i, s) in shares.iter().enumerate().skip(1) {
        let differs = if s.identifier() != first.identifier() {
            Some("identifier (first two words)")
        } else if s.extendable() != first.extendable()
            || s.iteration_exponent() != first.iteration_exponent()
        {
            Some("second word")
        } else if s.group_threshold() != first.group_threshold()
            || s.group_count() != first.group_count()
        {
            Some("group layout (third word)")
        } else if s.secret_len() != first.secret_len() {
            Some("length")
        } else {
            None
        };
        if let Some(what) = differs {
            return Err(Failure::new(format!(
                "the share on line {} is from a different split than the share on line {} \
                 (its {what} differs): check the shares of one split at a time",
                line(i),
                line(0)
            )));
        }
    }
    // Groups in order of first appearance: (group index, positions).
    let mut groups: Vec<(u8, Vec<usize>)> = Vec::new();
    for (i, s) in shares.iter().enumerate() {
        match groups.iter_mut().find(|(g, _)| *g == s.group_index()) {
            Some((_, members)) => {
                if let Some(&j) = members.first()
                    && let Some(other) = shares.get(j)
                    && other.member_threshold() != s.member_threshold()
                {
                    return Err(Failure::new(format!(
                        "the shares on lines {} and {} are both in group {} but say it needs {} \
                         and {} members: one of them is from a different split",
                        line(j),
                        line(i),
                        u16::from(s.group_index()) + 1,
                        other.member_threshold(),
                        s.member_threshold()
                    )));
                }
                if let Some(&j) = members.iter().find(|&&j| {
                    shares
                        .get(j)
                        .is_some_and(|o| o.member_index() == s.member_index())
                }) {
                    let same = lines.get(j).map(|l| l.text) == lines.get(i).map(|l| l.text);
                    return Err(Failure::new(if same {
                        format!(
                            "line {} repeats the share on line {}: each share counts once; \
                             leave one out",
                            line(i),
                            line(j)
                        )
                    } else {
                        format!(
                            "the shares on lines {} and {} are both member {} of group {}: one \
                             of them is from a different split, or mistyped in its third word",
                            line(j),
                            line(i),
                            u16::from(s.member_index()) + 1,
                            u16::from(s.group_index()) + 1
                        )
                    }));
                }
                members.push(i);
            }
            None => groups.push((s.group_index(), vec![i])),
        }
    }

    let mut report = Zeroizing::new(String::new());
    let mut problems = Vec::new();
    for (group, members) in &groups {
        let number = u16::from(*group) + 1;
        let Some(t) = members
            .first()
            .and_then(|&i| shares.get(i))
            .map(Slip39Share::member_threshold)
        else {
            continue;
        };
        if let Some(asked) = threshold
            && asked != t
        {
            return Err(Failure::new(format!(
                "the shares say group {number} needs {t} members, not {asked} (--threshold): \
                 SLIP-0039 shares record their threshold, so --threshold can be left out"
            )));
        }
        if members.len() < usize::from(t) {
            return Err(Failure::new(format!(
                "group {number}: {} share(s) were given but the group needs {t}: give all the \
                 shares of the group you have (at least {t})",
                members.len()
            )));
        }
        match check_group(lines, members, usize::from(t))? {
            GroupCheck::Consistent { count, verified } => {
                let _ = if verified {
                    writeln!(
                        report,
                        "group {number}: consistent: all {count} shares give the same group \
                         secret (any {t} of them; digest checked)"
                    )
                } else {
                    writeln!(
                        report,
                        "group {number}: not checked: {count} share(s) at threshold {t}, nothing \
                         to compare"
                    )
                };
            }
            GroupCheck::Deviating { deviants, agreeing } => {
                let named: Vec<String> = deviants
                    .iter()
                    .map(|&i| {
                        let member = shares.get(i).map_or(0, |s| u16::from(s.member_index()) + 1);
                        format!("line {} (member {member})", line(i))
                    })
                    .collect();
                problems.push(format!(
                    "group {number}: the share on {} does not agree with the other {agreeing} \
                     shares, which pass the digest check: compare it with the written copy",
                    named.join(", ")
                ));
            }
            GroupCheck::Undetermined => problems.push(format!(
                "group {number}: no {t} of the shares pass the digest check together, so at \
                 least {} of them are wrong and the wrong ones cannot be named: compare each \
                 with its written copy",
                members.len() + 1 - usize::from(t)
            )),
        }
    }
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(Failure::inconsistent(format!(
            "inconsistent share set: {}",
            problems.join("\n")
        )))
    }
}

/// The consistency of one group's shares (`members`: positions into `lines`), at
/// member threshold `t` (at least as many members as `t`).
fn check_group(lines: &[Line<'_>], members: &[usize], t: usize) -> Result<GroupCheck, Failure> {
    let text = |i: usize| lines.get(i).map_or("", |l| l.text);
    let reparse = |i: usize| {
        slip39::parse(text(i))
            .map_err(|e| Failure::new("internal error: a share no longer parses").because(e))
    };
    if t <= 1 {
        return Ok(GroupCheck::Consistent {
            count: members.len(),
            verified: false,
        });
    }
    let member_index = |i: usize| reparse(i).map(|s| s.member_index());
    let mut used = [false; 16];
    for &i in members {
        if let Some(slot) = used.get_mut(usize::from(member_index(i)?)) {
            *slot = true;
        }
    }
    let free = (0u8..16).find(|&m| !used.get(usize::from(m)).copied().unwrap_or(true));

    for base in Combinations::new(members.len(), t) {
        let base_positions: Vec<usize> = base
            .iter()
            .filter_map(|&k| members.get(k).copied())
            .collect();
        let base_shares = base_positions
            .iter()
            .map(|&i| reparse(i))
            .collect::<Result<Vec<_>, _>>()?;
        let others: Vec<usize> = members
            .iter()
            .copied()
            .filter(|i| !base_positions.contains(i))
            .collect();
        // The digest check: extend to some member index not in the base.
        let probe = match (others.first(), free) {
            (Some(&i), _) => Some(member_index(i)?),
            (None, Some(m)) => Some(m),
            (None, None) => None,
        };
        let Some(probe) = probe else {
            // All 16 members given at threshold 16: nothing to compare against.
            return Ok(GroupCheck::Consistent {
                count: members.len(),
                verified: false,
            });
        };
        match slip39::extend_group(&base_shares, probe) {
            Ok(_) => {}
            Err(slip39::ExtendError::Shares(RecoverError::DigestMismatch { .. })) => continue,
            Err(e) => {
                return Err(Failure::new("internal error: cannot check the group").because(e));
            }
        }
        let mut deviants = Vec::new();
        for &i in &others {
            let share = reparse(i)?;
            let expected = slip39::extend_group(&base_shares, share.member_index())
                .map_err(|e| Failure::new("internal error: cannot check the group").because(e))?;
            if *expected.to_words() != *share.to_words() {
                deviants.push(i);
            }
        }
        if deviants.is_empty() {
            return Ok(GroupCheck::Consistent {
                count: members.len(),
                verified: true,
            });
        }
        let agreeing = members.len() - deviants.len();
        return Ok(GroupCheck::Deviating { deviants, agreeing });
    }
    Ok(GroupCheck::Undetermined)
}

/// The `k`-element subsets of `0..n` in lexicographic order.
struct Combinations {
    n: usize,
    current: Option<Vec<usize>>,
}

impl Combinations {
    fn new(n: usize, k: usize) -> Combinations {
        Combinations {
            n,
            current: (k <= n).then(|| (0..k).collect()),
        }
    }
}

impl Iterator for Combinations {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        let out = self.current.clone()?;
        let k = out.len();
        let mut next = out.clone();
        // The rightmost position that can still move right.
        let movable = (0..k)
            .rev()
            .find(|&i| next.get(i).is_some_and(|&v| v < self.n - k + i));
        self.current = movable.map(|i| {
            let start = next.get(i).copied().unwrap_or(0) + 1;
            for (offset, slot) in next.iter_mut().skip(i).enumerate() {
                *slot = start + offset;
            }
            next
        });
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn combinations_in_order() {
        let all: Vec<Vec<usize>> = Combinations::new(4, 2).collect();
        assert_eq!(
            all,
            vec![
                vec![0, 1],
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3]
            ]
        );
        assert_eq!(Combinations::new(3, 3).count(), 1);
        assert_eq!(Combinations::new(2, 3).count(), 0);
        assert_eq!(Combinations::new(16, 8).count(), 12870);
    }

    #[test]
    fn secret_hex_and_decode() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = secret_hex(&bytes);
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&*text, &format!("{expected}\n"));
        assert_eq!(
            &decode_secret(&text.to_uppercase()).unwrap()[..],
            &bytes[..]
        );
        let err = decode_secret("00zz").unwrap_err().to_string();
        assert!(err.contains("character 3") && !err.contains('z'), "{err}");
        assert!(decode_secret("abc").is_err());
        assert!(decode_secret(" \n").is_err());
    }

    #[test]
    fn groups_and_detection() {
        assert_eq!(parse_group("2/3").unwrap(), GroupSpec::new(2, 3));
        assert!(parse_group("2-3").is_err());
        assert!(parse_group("2/300").is_err());
        assert_eq!(Kind::detect("4101"), Kind::Key(Format::Hex));
        assert_eq!(Kind::detect("QQE="), Kind::Key(Format::Base64));
        assert_eq!(Kind::detect("academic acid"), Kind::Slip39);
    }
}
