//! `svault health` (the quorum margin for monitoring), the drill lines `svault status`
//! shows, and recording drills after `verify`, after an unseal and after a ceremony at
//! the terminal. Thin: the checks live in `svault::health`.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::vault_cmds::utc;
use super::{Failure, eprint_lines, quorum, sanitize};
use svault::health::{
    self, DAY, DrillKind, DrillRecord, Health, OfficerHealth, Policy, Roster, SignDrill, files,
    prometheus,
};
use svault::vault::Header;
use svault::vault::format::to_hex;

/// Arguments of `svault health`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Reads the vault's header (no key needed) and its drill records (VAULT.drills), and
computes the margin: how many more officers could be lost while the officers with a
verified drill newer than --max-age still form a quorum. A negative margin is how many
more officers must drill before the drilled officers alone could open the vault.

Examples:
  svault health app.svault
  svault health app.svault --min-margin 2 --prometheus /var/lib/node_exporter/svault.prom

Exit status: 0 the margin is at least --min-margin; 1 it is below (every officer whose
drill is missing or too old is named, with what to do), or the vault is damaged; 2 usage
or I/O error (the drills file or the --prometheus file cannot be read or written).")]
pub struct HealthArgs {
    /// The vault file.
    vault: PathBuf,
    #[command(flatten)]
    drills: DrillArgs,
    /// The smallest margin that passes.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    min_margin: i64,
    /// Also write the figures as a node_exporter textfile (atomically: a temporary file
    /// renamed over FILE).
    #[arg(long, value_name = "FILE")]
    prometheus: Option<PathBuf>,
}

/// The drill options `status` and `health` share.
#[derive(Debug, Clone, clap::Args)]
pub struct DrillArgs {
    /// A drill older than this many days does not count.
    #[arg(long = "max-age", value_name = "DAYS", default_value_t = health::DEFAULT_MAX_AGE_DAYS)]
    pub max_age_days: u64,
}

impl DrillArgs {
    fn policy(&self) -> Policy {
        Policy {
            max_age_days: self.max_age_days,
        }
    }
}

/// The roster health needs, from a vault header.
pub fn roster(header: &Header) -> Roster {
    Roster::from_header(header)
}

pub(super) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads the drills of the vault at `path` and checks them against `header`.
///
/// # Errors
///
/// An I/O failure (status 2) when the drills file cannot be read.
pub fn evaluate(path: &Path, header: &Header, args: &DrillArgs) -> Result<Health, Failure> {
    let drills = files::drills_path(path);
    let bytes = files::read(&drills).map_err(|e| {
        Failure::io(format!(
            "cannot read the drill records {}",
            drills.display()
        ))
        .because(e)
    })?;
    Ok(health::check(
        &roster(header),
        &bytes,
        now(),
        &args.policy(),
    ))
}

/// "3 of 8 officers needed; 5 have a verified drill in the last 180 days; margin 2".
pub fn summary(health: &Health) -> String {
    let q = &health.quorum;
    let total = health.officers.len();
    let within = format!("in the last {} days", q.max_age_days);
    let mut text = if let [only] = &q.groups[..] {
        format!(
            "{} of {total} officers needed; {} have a verified drill {within}",
            only.threshold, only.verified
        )
    } else {
        let groups: Vec<String> = q
            .groups
            .iter()
            .map(|g| {
                format!(
                    "{}: {} of {} needed have drilled",
                    sanitize(&g.name),
                    g.verified,
                    g.threshold
                )
            })
            .collect();
        format!(
            "{} of {} groups needed, {} have enough officers with a verified drill {within} ({})",
            q.threshold,
            q.groups.len(),
            q.verified,
            groups.join("; ")
        )
    };
    text.push_str(&format!("; margin {}", q.margin));
    text.push_str(&match q.margin {
        m if m < 0 => format!(
            " ({} more officer{} must drill to reach a quorum)",
            -m,
            if m == -1 { "" } else { "s" }
        ),
        0 => " (exactly a quorum: losing any one of them leaves too few)".into(),
        m => format!(
            " ({m} more officer{} could be lost)",
            if m == 1 { "" } else { "s" }
        ),
    });
    text
}

/// What to tell an officer whose drill is missing or too old.
pub fn advice(o: &OfficerHealth, vault: &Path, health: &Health) -> String {
    let name = sanitize(&o.name);
    let command = format!(
        "ask {name} to run `svault verify {}`",
        sanitize(&vault.display().to_string())
    );
    let state = match o.last_drill {
        None => "has never drilled".to_owned(),
        Some(t) => format!(
            "last drilled {} ({} days ago, more than {})",
            utc(t),
            health.now.saturating_sub(t) / DAY,
            health.quorum.max_age_days
        ),
    };
    if o.drill_key {
        format!("{name} {state}: {command}")
    } else {
        format!(
            "{name} {state} and has no drill key yet: {command}, and have {name}'s share take part in the next unseal that saves the vault (e.g. `svault set`), which adds the key; drills count once it is there"
        )
    }
}

/// What `status` adds to an officer's line: their last counted drill, or none.
pub fn officer_note(o: &OfficerHealth) -> String {
    let drill = match (o.last_drill, o.last_kind) {
        (Some(t), Some(kind)) => format!("last drill {} ({kind})", utc(t)),
        (Some(t), None) => format!("last drill {}", utc(t)),
        _ => "never drilled".into(),
    };
    let stale = if o.last_drill.is_some() && !o.fresh {
        ", too old"
    } else {
        ""
    };
    format!("{drill}{stale}")
}

/// The ignored records, one line each, for people.
pub fn ignored_lines(health: &Health) -> Vec<String> {
    let mut lines: Vec<String> = health
        .ignored
        .iter()
        .map(|i| {
            let kind = if i.reason.is_rejection() {
                "rejected"
            } else {
                "not counted"
            };
            format!("{kind}: {}", sanitize(&i.to_string()))
        })
        .collect();
    let described = health.ignored.len();
    let all = health.rejected + health.not_counted;
    if all > described {
        lines.push(format!(
            "… and {} more ignored records not shown",
            all - described
        ));
    }
    lines
}

/// The status JSON's drill parts: per officer `last_drill` and `drill_key`, and the
/// `quorum` and `drills` objects.
pub fn json_parts(health: &Health, drills: &Path) -> (Vec<serde_json::Value>, serde_json::Value) {
    let officers = health
        .officers
        .iter()
        .map(|o| {
            serde_json::json!({
                "last_drill": o.last_drill,
                "last_drill_kind": o.last_kind,
                "drill_key": o.drill_key,
                "drill_fresh": o.fresh,
            })
        })
        .collect();
    let q = &health.quorum;
    let extra = serde_json::json!({
        "quorum": {
            "threshold": q.threshold,
            "verified": q.verified,
            "margin": q.margin,
            "max_age_days": q.max_age_days,
            "groups": q.groups,
        },
        "drills": {
            "path": drills.display().to_string(),
            "verified": health.verified_records,
            "rejected": health.rejected,
            "not_counted": health.not_counted,
            "ignored": health.ignored,
        },
    });
    (officers, extra)
}

/// `svault health`.
pub fn run_health(args: HealthArgs) -> Result<Zeroizing<String>, Failure> {
    let sealed = quorum::open(&args.vault)?;
    let header = sealed.header();
    let health = evaluate(&args.vault, header, &args.drills)?;
    if let Some(file) = &args.prometheus {
        let text = prometheus::render(&health, &to_hex(&header.vault_id.0));
        prometheus::write_atomic(file, &text)
            .map_err(|e| Failure::io(format!("cannot write {}", file.display())).because(e))?;
    }
    let mut lines = Vec::new();
    for o in health.stale() {
        lines.push(advice(o, &args.vault, &health));
    }
    lines.extend(ignored_lines(&health));
    if health.quorum.margin < args.min_margin {
        let mut message = format!(
            "quorum margin {} is below the minimum {}: {}",
            health.quorum.margin,
            args.min_margin,
            summary(&health)
        );
        for line in lines {
            message.push('\n');
            message.push_str(&line);
        }
        return Err(Failure::new(message));
    }
    let mut out = format!(
        "ok: quorum margin {} (minimum {}): {}\n",
        health.quorum.margin,
        args.min_margin,
        summary(&health)
    );
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    Ok(Zeroizing::new(out))
}

/// Appends a drill record for `officer`, signed with `key`; the path written, or a
/// failure (status 2) saying the drill was not recorded.
pub fn record(
    vault: &Path,
    header: &Header,
    officer: &str,
    kind: DrillKind,
    key: &impl SignDrill,
) -> Result<PathBuf, Failure> {
    health::record(vault, header, officer, kind, now(), key)
        .map_err(|e| Failure::io("the drill was not recorded").because(e))
}

/// Records a drill for every officer who took part in an unseal (a warning on stderr
/// for any that could not be recorded: the unseal itself succeeded).
pub fn record_unseal(vault: &Path, unsealed: &svault::vault::Unsealed) {
    for (officer, key) in unsealed.drill_keys() {
        if let Err(e) = health::record(
            vault,
            unsealed.header(),
            &officer,
            DrillKind::Unseal,
            now(),
            &key,
        ) {
            eprint_lines(&format!("warning: {e}"));
        }
    }
}

/// Appends the drill records of a ceremony in which every officer typed their share
/// back ([`svault::ceremony::Proof::drill_records`]); returns the summary line naming
/// who was recorded. The vault is already in place, so a record that cannot be written
/// is a warning on stderr, not a failure.
pub fn record_ceremony(vault: &Path, records: &[DrillRecord]) -> String {
    let path = files::drills_path(vault);
    let mut recorded = Vec::new();
    for record in records {
        match files::append(&path, record) {
            Ok(()) => recorded.push(record.officer.as_str()),
            Err(e) => eprint_lines(&format!(
                "warning: {}'s drill was not recorded in {}: {e}; they can record one with `svault verify {}`",
                record.officer,
                path.display(),
                vault.display()
            )),
        }
    }
    if recorded.is_empty() {
        return String::new();
    }
    format!(
        "drills recorded in {} for {} (each typed their share back)\n",
        path.display(),
        recorded.join(", ")
    )
}

/// The summary line of a ceremony whose shares went to files: nobody (or not the new
/// `officer`) has drilled yet.
pub fn no_ceremony_drills(vault: &Path, officer: Option<&str>) -> String {
    format!(
        "no drill recorded: the shares were written to files; {} records one with `svault verify {} --share-file THEIR.share` once they hold their share\n",
        officer.unwrap_or("each officer"),
        vault.display()
    )
}
