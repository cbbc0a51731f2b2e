// The format-1 reader exactly as released: `src/vault/format.rs` of the last commit
// before format 2 (git show <that commit>:src/vault/format.rs), kept verbatim below
// this comment so that tests/format1_reader.rs can show what that program does with a
// format-2 file. Do not edit it: it stands for a program already in the field.

//! The vault file's framing and header, as specified in `docs/FORMAT.md`.
//!
//! ```text
//! svault-vault 1\n            magic and format version (FORMAT.md §1)
//! {"vault_id":…}\n            header: one line of JSON (§2); these bytes, from offset 0
//!                             through this newline, are the payload's associated data
//! nonce (24) ‖ ciphertext ‖ tag (16)      the payload (§3)
//! ```

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The magic word that starts every vault file (FORMAT.md §1).
pub const MAGIC: &str = "svault-vault";
/// The newest format version this program reads and the one it writes.
pub const VERSION: u32 = 1;
/// Length of the payload nonce (XChaCha20-Poly1305).
pub(crate) const NONCE_LEN: usize = 24;
/// Length of the payload's authentication tag.
pub(crate) const TAG_LEN: usize = 16;

/// The bounds on a keyslot's Argon2id costs (FORMAT.md §5), checked when the header is
/// read, before any memory is set aside: the costs are read before anything is
/// authenticated, so a file could otherwise ask for any amount of memory or time.
pub mod slot_bounds {
    /// Fewest KiB per lane (Argon2's own minimum: 8 blocks of 1 KiB per lane).
    pub const MEMORY_KIB_PER_LANE_MIN: u32 = 8;
    /// Most memory: 4 GiB.
    pub const MEMORY_KIB_MAX: u32 = 4 * 1024 * 1024;
    /// Passes: 1 to 64.
    pub const ITERATIONS: core::ops::RangeInclusive<u32> = 1..=64;
    /// Lanes: 1 to 16.
    pub const PARALLELISM: core::ops::RangeInclusive<u32> = 1..=16;
}

/// Longest officer or group name, in characters (FORMAT.md §2).
pub const NAME_MAX_CHARS: usize = 64;
/// Longest ceremony `method` text, in characters (FORMAT.md §2).
pub const METHOD_MAX_CHARS: usize = 4096;
/// Most names in the ceremony's `verified` list (16 groups of 16 members).
pub const VERIFIED_MAX: usize = 256;

/// Whether a terminal would act on `c` instead of showing it: control characters
/// (C0, DEL, C1: escape sequences, bells) and bidirectional-formatting characters
/// (which make text read differently from what it holds). Header strings may not
/// contain them, and the CLI escapes them in everything it prints.
pub fn is_terminal_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Checks an officer or group name (FORMAT.md §2): 1 to 64 characters, none of them a
/// control or bidirectional-formatting character, `=` or `/`. `Err` says why.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty; a name has 1 to 64 characters");
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err("is longer than 64 characters");
    }
    if name.chars().any(is_terminal_control) {
        return Err("holds a control or bidirectional-formatting character");
    }
    if name.contains(['=', '/']) {
        return Err("holds '=' or '/'");
    }
    Ok(())
}

/// Why a file could not be read as a vault. Every variant names where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The file does not start with the vault magic.
    #[error("not an svault vault file (it does not start with \"{MAGIC} \")")]
    NotAVault,
    /// The file was written by a newer svault.
    #[error(
        "this vault uses format version {found}, but this program reads versions up to {supported}; upgrade svault (the file was not changed)"
    )]
    NewerVersion {
        /// The file's version.
        found: u32,
        /// The newest this program reads.
        supported: u32,
    },
    /// The version line is malformed or names a version that never existed.
    #[error("the format version line is damaged (byte {offset})")]
    BadVersion {
        /// Byte offset of the problem.
        offset: usize,
    },
    /// The file ends early.
    #[error("the file is truncated: it ends at byte {len} inside the {field}")]
    Truncated {
        /// The part that is cut short.
        field: &'static str,
        /// The file's length.
        len: usize,
    },
    /// The header is not valid JSON of the expected shape.
    #[error("the header is damaged at byte {offset}: {reason}")]
    Header {
        /// Byte offset (in the file) near the problem.
        offset: usize,
        /// What the parser expected.
        reason: String,
    },
    /// The header parsed but a field is inconsistent.
    #[error("the header field {field} is invalid: {reason}")]
    Field {
        /// The field, as a path (e.g. `officers[2].member`).
        field: String,
        /// Why it is refused.
        reason: String,
    },
    /// A keyslot's Argon2id costs are outside the bounds this program accepts.
    #[error(
        "{officer}'s keyslot asks for {cost}: the header is damaged or was crafted (nothing was allocated for it)"
    )]
    SlotCost {
        /// The officer whose keyslot it is.
        officer: String,
        /// What it asks for, and the accepted range ("4294967295 KiB of memory,
        /// outside the accepted …").
        cost: String,
    },
}

/// A vault file cut into its three parts, each borrowed from the file's bytes.
pub(crate) struct Framed<'a> {
    /// Offset 0 through the header's newline: the payload's associated data.
    pub(crate) authenticated: &'a [u8],
    /// The header's JSON (without the newline).
    pub(crate) header_json: &'a [u8],
    /// Offset of the header JSON in the file.
    pub(crate) header_offset: usize,
}

/// Splits a file into version line, header and payload (FORMAT.md §1).
pub(crate) fn frame(bytes: &[u8]) -> Result<Framed<'_>, FormatError> {
    let magic = MAGIC.as_bytes();
    let prefix_len = magic.len() + 1;
    let prefix = bytes.get(..prefix_len.min(bytes.len())).unwrap_or_default();
    if !magic
        .iter()
        .chain(b" ")
        .take(prefix.len())
        .eq(prefix.iter())
    {
        return Err(FormatError::NotAVault);
    }
    if bytes.len() <= prefix_len {
        return Err(FormatError::Truncated {
            field: "version line",
            len: bytes.len(),
        });
    }
    // The version: 1 to 9 decimal digits, no leading zero, then a newline.
    let digits = bytes[prefix_len..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let newline_at = prefix_len + digits;
    let Some(&after) = bytes.get(newline_at) else {
        return Err(FormatError::Truncated {
            field: "version line",
            len: bytes.len(),
        });
    };
    if digits == 0 || digits > 9 || after != b'\n' || bytes[prefix_len] == b'0' {
        return Err(FormatError::BadVersion {
            offset: newline_at.min(prefix_len + 9),
        });
    }
    let version = bytes[prefix_len..newline_at]
        .iter()
        .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
    if version > VERSION {
        return Err(FormatError::NewerVersion {
            found: version,
            supported: VERSION,
        });
    }
    let header_offset = newline_at + 1;
    let header_len = bytes[header_offset..]
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(FormatError::Truncated {
            field: "header",
            len: bytes.len(),
        })?;
    let header_end = header_offset + header_len;
    let payload = &bytes[header_end + 1..];
    if payload.len() < NONCE_LEN + TAG_LEN {
        return Err(FormatError::Truncated {
            field: "payload",
            len: bytes.len(),
        });
    }
    Ok(Framed {
        authenticated: &bytes[..=header_end],
        header_json: &bytes[header_offset..header_end],
        header_offset,
    })
}

/// The version line and header line of a file, ready to be authenticated (FORMAT.md §1, §2).
pub(crate) fn authenticated_prefix(header: &Header) -> Result<Vec<u8>, FormatError> {
    let json = serde_json::to_vec(header).map_err(|e| FormatError::Field {
        field: "header".into(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(json.len() + 32);
    out.extend_from_slice(format!("{MAGIC} {VERSION}\n").as_bytes());
    out.extend_from_slice(&json);
    out.push(b'\n');
    Ok(out)
}

/// Parses and checks the header JSON (FORMAT.md §2).
pub(crate) fn parse_header(framed: &Framed<'_>) -> Result<Header, FormatError> {
    let header: Header =
        serde_json::from_slice(framed.header_json).map_err(|e| FormatError::Header {
            // serde_json counts columns from 1 on the (single) line it was given.
            offset: framed.header_offset + e.column().saturating_sub(1),
            reason: e.to_string(),
        })?;
    header.validate()?;
    Ok(header)
}

/// The readable header: everything status and share checks need, without the key.
/// Authenticated as the payload's associated data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Random identity of this vault, fixed for its life.
    pub vault_id: Hex<16>,
    /// When the vault was created (seconds since the Unix epoch).
    pub created: u64,
    /// The current split of the master secret.
    pub split: Split,
    /// The officers, each one SLIP-0039 member of one group.
    pub officers: Vec<Officer>,
    /// Splits this vault had before a rekey; their shares no longer work.
    #[serde(default)]
    pub retired_splits: Vec<RetiredSplit>,
    /// How the payload key is derived and the payload sealed.
    pub payload: PayloadParams,
    /// How the current split was verified when it was made.
    #[serde(default)]
    pub ceremony: Option<Ceremony>,
}

/// The SLIP-0039 parameters of the current split (every share carries them too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The SLIP-0039 identifier (15 bits).
    pub identifier: u16,
    /// The SLIP-0039 extendable flag.
    pub extendable: bool,
    /// The SLIP-0039 iteration exponent.
    pub iteration_exponent: u8,
    /// Master secret length in bytes (16 or 32).
    pub secret_bytes: u8,
    /// How many groups must take part.
    pub group_threshold: u8,
    /// The groups, by SLIP-0039 group index.
    pub groups: Vec<Group>,
    /// When this split was made (seconds since the Unix epoch).
    pub created: u64,
}

/// One SLIP-0039 group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// A name for people ("ops", "board").
    pub name: String,
    /// How many of its members must take part.
    pub member_threshold: u8,
}

/// One officer: who holds which share, and how to recognise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Officer {
    /// The officer's name, unique in the vault.
    pub name: String,
    /// SLIP-0039 group index.
    pub group: u8,
    /// SLIP-0039 member index within the group.
    pub member: u8,
    /// Commitment to the officer's share.
    pub commitment: Commitment,
    /// A passphrase keyslot holding the officer's share, if they chose one.
    #[serde(default)]
    pub slot: Option<Slot>,
}

/// `digest = SHA-256("svault/v1/commitment" ‖ 0 ‖ vault_id ‖ salt ‖ share words)`
/// (FORMAT.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// Random per-share salt.
    pub salt: Hex<16>,
    /// The digest.
    pub digest: Hex<32>,
}

/// A passphrase keyslot (FORMAT.md §5): the officer's share words sealed with
/// XChaCha20-Poly1305 under an Argon2id key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// Argon2id memory in KiB.
    pub memory_kib: u32,
    /// Argon2id passes.
    pub iterations: u32,
    /// Argon2id lanes.
    pub parallelism: u32,
    /// Argon2id salt.
    pub salt: Hex<16>,
    /// XChaCha20-Poly1305 nonce.
    pub nonce: Hex<24>,
    /// Sealed share words and tag.
    pub sealed: HexVec,
}

/// A split retired by a rekey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredSplit {
    /// Its SLIP-0039 identifier.
    pub identifier: u16,
    /// When it was retired (seconds since the Unix epoch).
    pub retired: u64,
}

/// Payload sealing parameters (FORMAT.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadParams {
    /// HKDF-SHA256 salt for the payload key.
    pub salt: Hex<32>,
}

/// The record of the ceremony that verified the current split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ceremony {
    /// When (seconds since the Unix epoch).
    pub date: u64,
    /// How the shares were checked ("interactive", "scripted").
    pub method: String,
    /// Officers whose shares (or passphrases) were re-entered and matched.
    pub verified: Vec<String>,
}

impl Header {
    /// Checks what JSON cannot: ranges, references and uniqueness (FORMAT.md §2).
    pub(crate) fn validate(&self) -> Result<(), FormatError> {
        let bad = |field: String, reason: &str| {
            Err(FormatError::Field {
                field,
                reason: reason.into(),
            })
        };
        let split = &self.split;
        if split.identifier >= 1 << 15 {
            return bad("split.identifier".into(), "must be below 32768 (15 bits)");
        }
        if split.iteration_exponent > 15 {
            return bad("split.iteration_exponent".into(), "must be at most 15");
        }
        if split.secret_bytes != 16 && split.secret_bytes != 32 {
            return bad("split.secret_bytes".into(), "must be 16 or 32");
        }
        let group_count = split.groups.len();
        if group_count == 0 || group_count > 16 {
            return bad("split.groups".into(), "there must be 1 to 16 groups");
        }
        if split.group_threshold == 0 || usize::from(split.group_threshold) > group_count {
            return bad(
                "split.group_threshold".into(),
                "must be between 1 and the number of groups",
            );
        }
        for (g, group) in split.groups.iter().enumerate() {
            if group.member_threshold == 0 || group.member_threshold > 16 {
                return bad(
                    format!("split.groups[{g}].member_threshold"),
                    "must be between 1 and 16",
                );
            }
        }
        for (g, group) in split.groups.iter().enumerate() {
            check_name(&group.name).or_else(|why| bad(format!("split.groups[{g}].name"), why))?;
        }
        for (i, officer) in self.officers.iter().enumerate() {
            if usize::from(officer.group) >= group_count {
                return bad(format!("officers[{i}].group"), "names no group");
            }
            if officer.member >= 16 {
                return bad(format!("officers[{i}].member"), "must be below 16");
            }
            check_name(&officer.name).or_else(|why| bad(format!("officers[{i}].name"), why))?;
            if let Some(slot) = &officer.slot {
                slot.check_costs(&officer.name)?;
            }
            let earlier = &self.officers[..i];
            if earlier.iter().any(|o| o.name == officer.name) {
                return bad(format!("officers[{i}].name"), "is used twice");
            }
            if earlier
                .iter()
                .any(|o| o.group == officer.group && o.member == officer.member)
            {
                return bad(
                    format!("officers[{i}].member"),
                    "two officers hold the same member index",
                );
            }
        }
        if let Some(ceremony) = &self.ceremony {
            let method = &ceremony.method;
            if method.is_empty()
                || method.chars().count() > METHOD_MAX_CHARS
                || method.chars().any(is_terminal_control)
            {
                return bad(
                    "ceremony.method".into(),
                    "must be 1 to 4096 characters without control or bidirectional-formatting characters",
                );
            }
            if ceremony.verified.len() > VERIFIED_MAX {
                return bad("ceremony.verified".into(), "names more than 256 officers");
            }
            for (v, name) in ceremony.verified.iter().enumerate() {
                check_name(name).or_else(|why| bad(format!("ceremony.verified[{v}]"), why))?;
            }
        }
        for (g, group) in split.groups.iter().enumerate() {
            let members = self
                .officers
                .iter()
                .filter(|o| usize::from(o.group) == g)
                .count();
            if members < usize::from(group.member_threshold) {
                return bad(
                    format!("split.groups[{g}]"),
                    "has fewer officers than its threshold",
                );
            }
        }
        Ok(())
    }

    /// Keyslot holders who could unseal by themselves: with the file, guessing their
    /// passphrases would open the vault (and its backups) without any share on paper.
    /// Returns the first such set found (the first complete groups, in each the first
    /// holders), or `None` when keyslot holders alone never meet the threshold.
    pub fn keyslot_quorum(&self) -> Option<Vec<&str>> {
        let groups = self.split.groups.iter().enumerate().map(|(g, group)| {
            let holders = self
                .officers
                .iter()
                .filter(|o| usize::from(o.group) == g && o.slot.is_some())
                .map(|o| o.name.as_str())
                .collect();
            (group.member_threshold, holders)
        });
        quorum_among(self.split.group_threshold, groups)
    }

    /// The officer holding member `member` of group `group`, with their index.
    pub fn officer_at(&self, group: u8, member: u8) -> Option<(usize, &Officer)> {
        self.officers
            .iter()
            .enumerate()
            .find(|(_, o)| o.group == group && o.member == member)
    }

    /// The officer named `name`, with their index.
    pub fn officer_named(&self, name: &str) -> Option<(usize, &Officer)> {
        self.officers
            .iter()
            .enumerate()
            .find(|(_, o)| o.name == name)
    }
}

/// Whether some of the named officers meet the threshold by themselves. `groups` gives,
/// per group in order, its member threshold and the names in it that count. Returns the
/// first complete groups' first names, enough for `group_threshold` groups.
pub fn quorum_among<'a>(
    group_threshold: u8,
    groups: impl IntoIterator<Item = (u8, Vec<&'a str>)>,
) -> Option<Vec<&'a str>> {
    let mut chosen = Vec::new();
    let mut complete = 0u8;
    for (threshold, names) in groups {
        if complete == group_threshold {
            break;
        }
        if names.len() >= usize::from(threshold) {
            chosen.extend(names.into_iter().take(usize::from(threshold)));
            complete += 1;
        }
    }
    (complete >= group_threshold && group_threshold > 0).then_some(chosen)
}

impl Slot {
    /// Checks the Argon2id costs against [`slot_bounds`] (FORMAT.md §5), naming the
    /// officer whose keyslot it is.
    pub(crate) fn check_costs(&self, officer: &str) -> Result<(), FormatError> {
        check_slot_costs(officer, self.memory_kib, self.iterations, self.parallelism)
    }
}

/// Checks Argon2id costs against [`slot_bounds`] (FORMAT.md §5), before anything is
/// allocated for them; the error names `officer`.
pub(crate) fn check_slot_costs(
    officer: &str,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
) -> Result<(), FormatError> {
    use slot_bounds::*;
    let refuse = |cost: String, bounds: String| {
        Err(FormatError::SlotCost {
            officer: officer.to_owned(),
            cost: format!("{cost}, outside the accepted {bounds}"),
        })
    };
    if !PARALLELISM.contains(&parallelism) {
        return refuse(
            format!("{parallelism} lanes"),
            format!("{} to {} lanes", PARALLELISM.start(), PARALLELISM.end()),
        );
    }
    if !ITERATIONS.contains(&iterations) {
        return refuse(
            format!("{iterations} passes"),
            format!("{} to {} passes", ITERATIONS.start(), ITERATIONS.end()),
        );
    }
    // At most 16 lanes, so this cannot overflow.
    let least = MEMORY_KIB_PER_LANE_MIN * parallelism;
    if memory_kib < least || memory_kib > MEMORY_KIB_MAX {
        return refuse(
            format!("{memory_kib} KiB of memory"),
            format!(
                "{least} KiB ({MEMORY_KIB_PER_LANE_MIN} per lane) to {MEMORY_KIB_MAX} KiB (4 GiB) of memory"
            ),
        );
    }
    Ok(())
}

/// Fixed-length bytes written as lowercase hex in the header.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Hex<const N: usize>(pub [u8; N]);

/// Variable-length bytes written as lowercase hex in the header.
#[derive(Clone, PartialEq, Eq)]
pub struct HexVec(pub Vec<u8>);

impl<const N: usize> fmt::Debug for Hex<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for HexVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

/// Lowercase hex of public bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

impl<const N: usize> Serialize for Hex<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&to_hex(&self.0))
    }
}

impl<'de, const N: usize> Deserialize<'de> for Hex<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes =
            from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected lowercase hex"))?;
        let array: [u8; N] = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom(format_args!("expected {} hex digits", 2 * N)))?;
        Ok(Hex(array))
    }
}

impl Serialize for HexVec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&to_hex(&self.0))
    }
}

impl<'de> Deserialize<'de> for HexVec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        from_hex(&text)
            .map(HexVec)
            .ok_or_else(|| serde::de::Error::custom("expected lowercase hex"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The cost check accepts exactly the documented box (FORMAT.md §5), and its
        /// refusal names the officer.
        #[test]
        fn slot_costs_accepted_exactly_within_bounds(
            memory in prop_oneof![any::<u32>(), 0u32..256, (4u32 << 20) - 8..(4u32 << 20) + 8],
            iterations in prop_oneof![any::<u32>(), 0u32..70],
            parallelism in prop_oneof![any::<u32>(), 0u32..20],
        ) {
            let inside = (1..=16).contains(&parallelism)
                && (1..=64).contains(&iterations)
                && u64::from(memory) >= 8 * u64::from(parallelism)
                && memory <= 4 * 1024 * 1024;
            match check_slot_costs("erin", memory, iterations, parallelism) {
                Ok(()) => prop_assert!(inside),
                Err(e) => {
                    prop_assert!(!inside);
                    prop_assert!(e.to_string().starts_with("erin's keyslot asks for "));
                }
            }
        }

        /// Names: 1 to 64 characters, no '=', '/', control or bidirectional-formatting
        /// character; written from the rule, not from the code.
        #[test]
        fn names_accepted_exactly_under_the_rule(name in prop_oneof![
            "[a-z]{0,70}",
            "\\PC{0,3}[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}=/\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}]\\PC{0,3}",
            any::<String>(),
        ]) {
            let count = name.chars().count();
            let forbidden = name.chars().any(|c| {
                c == '=' || c == '/' || c.is_control()
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)
            });
            prop_assert_eq!(check_name(&name).is_ok(), (1..=64).contains(&count) && !forbidden);
        }
    }

    #[test]
    fn terminal_controls_are_never_a_name() {
        for bad in [
            "a\u{1b}[2Jb",
            "bell\u{7}",
            "csi\u{9b}31m",
            "rlo\u{202e}x",
            "",
            "a=b",
            "a/b",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"é".repeat(64)).is_ok());
        assert!(check_name(&"é".repeat(65)).is_err());
    }

    #[test]
    fn quorum_among_takes_complete_groups_only() {
        assert_eq!(
            quorum_among(1, [(2, vec!["a", "b", "c"])]),
            Some(vec!["a", "b"])
        );
        assert_eq!(quorum_among(1, [(3, vec!["a", "b"])]), None);
        assert_eq!(
            quorum_among(2, [(2, vec!["a"]), (1, vec!["x"]), (2, vec!["p", "q"])]),
            Some(vec!["x", "p", "q"])
        );
        assert_eq!(quorum_among(2, [(1, vec!["x"]), (2, vec!["p"])]), None);
    }
}
