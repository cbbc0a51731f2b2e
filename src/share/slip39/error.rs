//! Errors of the SLIP-0039 codec: one enum per operation.
//!
//! A parse error knows the word that was typed, the nearest list words and the one
//! word that would make the share check, but its `Display` and `Debug` name *positions
//! only*: errors end up in logs, journals, agent replies and files, and the words of a
//! share are share material even when one of them is mistyped. The words are shown only
//! through [`ParseError::terminal_message`], which the interactive prompts call for the
//! officer's own terminal. Nothing here ever holds share values, passphrase bytes or
//! the master secret. Messages number shares, words, groups and members from 1, the way a
//! person counts them (the format itself stores group and member indices from 0).

use std::fmt::Write as _;

/// A proposed one-word correction: changing exactly one word makes the share check.
///
/// It is only a hint: SLIP-0039 says corrections must be made by a person comparing
/// with the written share, so the codec never applies it.
///
/// # Security
///
/// `typed` and `replacement` are share material. `Display` and `Debug` name the position
/// only; [`ParseError::terminal_message`] is the one place that shows the words.
#[derive(Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// 1-based position of the word in the share.
    pub position: usize,
    /// The word as typed.
    pub typed: String,
    /// The list word that would make the share's checksum (and layout) valid.
    pub replacement: &'static str,
}

impl Suggestion {
    /// The hint with its words, for the officer's terminal only.
    fn with_words(&self) -> String {
        format!(
            "word {} '{}' is not valid; '{}' would make this share check",
            self.position, self.typed, self.replacement
        )
    }
}

impl std::fmt::Display for Suggestion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "changing word {} alone would make this share check",
            self.position
        )
    }
}

impl std::fmt::Debug for Suggestion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suggestion")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

/// Why one share's text could not be read.
///
/// # Security
///
/// `Display` and `Debug` give word positions only, never a word: safe for logs, agent
/// replies, `BootError` and files. The typed word, the nearest list words and a
/// suggested correction are shown by [`ParseError::terminal_message`] alone, meant for
/// the terminal the officer is typing at.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text holds no words.
    #[error("the share is empty: enter all of its words, separated by spaces")]
    Empty,

    /// The number of words is not one a SLIP-0039 share can have.
    #[error(
        "the share has {words} words, which no SLIP-0039 share has (a 128-bit secret gives \
         20 words, a 256-bit secret 33); check for a missing, doubled or split word, and \
         enter one share at a time"
    )]
    WrongLength {
        /// How many words were found.
        words: usize,
    },

    /// A word is neither in the word list nor a 4-or-more-letter prefix of one.
    #[error(
        "word {position} is not in the SLIP-0039 word list{}{}; compare it with the written \
         share",
        describe_others(.also_unknown),
        describe_fix(.suggestion.as_deref())
    )]
    UnknownWord {
        /// 1-based position of the first unknown word.
        position: usize,
        /// The word as typed (share material: see the type's Security section).
        word: String,
        /// List words closest in spelling, nearest first (may be empty).
        nearest: Vec<&'static str>,
        /// The unique word at this position that makes the share check, if there is
        /// exactly one (only searched when this is the only unknown word).
        suggestion: Option<Box<Suggestion>>,
        /// 1-based positions of further unknown words.
        also_unknown: Vec<usize>,
    },

    /// All words are known but the checksum (the last three words) does not match.
    #[error(
        "the share's checksum does not match, so at least one word is wrong{}",
        describe_checksum_fix(.suggestion.as_deref())
    )]
    InvalidChecksum {
        /// Present when exactly one single-word change makes the share check.
        suggestion: Option<Box<Suggestion>>,
    },

    /// The checksum matches but the bits before the share value are not zero.
    #[error(
        "the share's checksum matches but its padding bits are not zero, so it was not \
         made by a SLIP-0039 tool or several words are wrong; compare every word with \
         the written share"
    )]
    InvalidPadding,

    /// The share says more groups are needed than exist.
    #[error(
        "the share says {group_threshold} groups are needed but only {group_count} exist, \
         which no valid share says; check words 3 and 4 against the written share"
    )]
    GroupThresholdExceedsCount {
        /// Group threshold read from the share.
        group_threshold: u8,
        /// Group count read from the share.
        group_count: u8,
    },
}

impl std::fmt::Debug for ParseError {
    /// The variant and its `Display` text: positions, never words.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let variant = match self {
            ParseError::Empty => "Empty",
            ParseError::WrongLength { .. } => "WrongLength",
            ParseError::UnknownWord { .. } => "UnknownWord",
            ParseError::InvalidChecksum { .. } => "InvalidChecksum",
            ParseError::InvalidPadding => "InvalidPadding",
            ParseError::GroupThresholdExceedsCount { .. } => "GroupThresholdExceedsCount",
        };
        write!(f, "ParseError::{variant}({:?})", self.to_string())
    }
}

impl ParseError {
    /// The message with the words: the word as typed, the nearest list words and the one
    /// word that makes the share check. The other variants give their usual text.
    ///
    /// # Security
    ///
    /// The words are share material. Show this only on the terminal the officer is
    /// typing at (stdin and the output both a terminal), never in a log, a file, an
    /// agent reply or an error passed on; everywhere else use `Display`, which gives
    /// positions only. The nearest-word and correction searches that fill this in run
    /// only after a parse failed, and branch on the words (they are not constant time).
    pub fn terminal_message(&self) -> String {
        match self {
            ParseError::UnknownWord {
                position,
                word,
                nearest,
                suggestion,
                also_unknown,
            } => format!(
                "word {position} '{word}' is not in the SLIP-0039 word list{}{}{}",
                describe_nearest(nearest),
                describe_suggestion(suggestion.as_deref()),
                describe_others(also_unknown)
            ),
            ParseError::InvalidChecksum { suggestion } => format!(
                "the share's checksum does not match, so at least one word is wrong{}",
                describe_checksum_hint(suggestion.as_deref())
            ),
            other => other.to_string(),
        }
    }
}

fn describe_fix(suggestion: Option<&Suggestion>) -> String {
    match suggestion {
        Some(s) => format!("; {s}"),
        None => String::new(),
    }
}

fn describe_checksum_fix(suggestion: Option<&Suggestion>) -> String {
    match suggestion {
        Some(s) => format!(": {s}. Compare that word with the written share before changing it"),
        None => ". Compare each word with the written share; no single-word change \
                  explains the error, so look for more than one wrong word or two \
                  words swapped"
            .to_string(),
    }
}

fn describe_nearest(nearest: &[&str]) -> String {
    match nearest {
        [] => String::new(),
        [one] => format!(" (did you mean '{one}'?)"),
        many => {
            let quoted: Vec<String> = many.iter().map(|w| format!("'{w}'")).collect();
            format!(" (nearest: {})", quoted.join(", "))
        }
    }
}

fn describe_suggestion(suggestion: Option<&Suggestion>) -> String {
    match suggestion {
        Some(s) => format!(
            "; '{}' is the only word there that makes this share check",
            s.replacement
        ),
        None => String::new(),
    }
}

fn describe_others(others: &[usize]) -> String {
    match others {
        [] => String::new(),
        [one] => format!("; word {one} is not in the list either"),
        many => {
            let mut s = String::from("; words ");
            for (i, p) in many.iter().enumerate() {
                let sep = if i == 0 {
                    ""
                } else if i + 1 == many.len() {
                    " and "
                } else {
                    ", "
                };
                let _ = write!(s, "{sep}{p}");
            }
            s.push_str(" are not in the list either");
            s
        }
    }
}

fn describe_checksum_hint(suggestion: Option<&Suggestion>) -> String {
    match suggestion {
        Some(s) => format!(
            ": {}. Compare that word with the written share before changing it",
            s.with_words()
        ),
        None => ". Compare each word with the written share; no single-word change \
                  explains the error, so look for more than one wrong word or two \
                  words swapped"
            .to_string(),
    }
}

/// Why a passphrase was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PassphraseError {
    /// SLIP-0039 allows only printable ASCII (space through `~`) in passphrases.
    #[error(
        "character {position} of the passphrase is {kind}; SLIP-0039 passphrases may only \
         hold printable ASCII (letters, digits, punctuation and space), so other tools \
         could not recover the secret — choose a passphrase without it"
    )]
    InvalidCharacter {
        /// 1-based byte position of the first offending byte.
        position: usize,
        /// What kind of byte it is (never the byte itself).
        kind: &'static str,
    },
}

/// Why a set of shares could not be combined into the master secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecoverError {
    /// One of the texts given to [`recover_text`](super::recover_text) is not a valid share.
    #[error("share {share}: {error}")]
    Parse {
        /// 1-based position of the share in the input.
        share: usize,
        /// What is wrong with it.
        #[source]
        error: ParseError,
    },

    /// No shares were given.
    #[error("no shares were given: enter the shares to combine")]
    NoShares,

    /// A share comes from a different split (its identifier differs).
    #[error(
        "share {share} is from a different set of shares than share 1 (identifier {found} \
         instead of {expected}; shares of one set begin with the same two words): leave \
         it out and use a share from the same split"
    )]
    IdentifierMismatch {
        /// 1-based position of the share.
        share: usize,
        /// Identifier of share 1.
        expected: u16,
        /// Identifier of this share.
        found: u16,
    },

    /// A share's extendable flag differs from share 1's.
    #[error(
        "share {share} {}, so they are from different splits: use shares from one split \
         only",
        extendable_pair(.found)
    )]
    ExtendableMismatch {
        /// 1-based position of the share.
        share: usize,
        /// This share's flag.
        found: bool,
    },

    /// A share's iteration exponent differs from share 1's.
    #[error(
        "share {share} has iteration exponent {found} but share 1 has {expected} (the \
         second word differs), so they are from different splits: use shares from one \
         split only"
    )]
    IterationExponentMismatch {
        /// 1-based position of the share.
        share: usize,
        /// Exponent of share 1.
        expected: u8,
        /// Exponent of this share.
        found: u8,
    },

    /// A share's group threshold differs from share 1's.
    #[error(
        "share {share} says {found} groups are needed but share 1 says {expected}, so they \
         are from different splits (or one was mistyped in word 3): use shares from one \
         split only"
    )]
    GroupThresholdMismatch {
        /// 1-based position of the share.
        share: usize,
        /// Group threshold of share 1.
        expected: u8,
        /// Group threshold of this share.
        found: u8,
    },

    /// A share's group count differs from share 1's.
    #[error(
        "share {share} says there are {found} groups but share 1 says {expected}, so they \
         are from different splits: use shares from one split only"
    )]
    GroupCountMismatch {
        /// 1-based position of the share.
        share: usize,
        /// Group count of share 1.
        expected: u8,
        /// Group count of this share.
        found: u8,
    },

    /// A share has a different length (so a different secret size) than share 1.
    #[error(
        "share {share} has {found} words but share 1 has {expected}; all shares of one \
         split have the same length: use shares from one split only"
    )]
    LengthMismatch {
        /// 1-based position of the share.
        share: usize,
        /// Word count of share 1.
        expected: usize,
        /// Word count of this share.
        found: usize,
    },

    /// Two shares of one group disagree on how many members the group needs.
    #[error(
        "share {share} says group {group} needs {found} members but share {first} of the same \
         group says {expected}: one of them is from a different split"
    )]
    MemberThresholdMismatch {
        /// 1-based position of the share.
        share: usize,
        /// 1-based position of the earlier share of this group.
        first: usize,
        /// 1-based group number.
        group: u8,
        /// Member threshold of the earlier share.
        expected: u8,
        /// Member threshold of this share.
        found: u8,
    },

    /// Two shares are the same member of the same group.
    #[error(
        "share {share} and share {first} are both member {member} of group {group}; each \
         member's share counts once: leave one out (if their words differ, one of them is \
         from a different split)"
    )]
    DuplicateMember {
        /// 1-based position of the later share.
        share: usize,
        /// 1-based position of the earlier share.
        first: usize,
        /// 1-based group number.
        group: u8,
        /// 1-based member number.
        member: u8,
    },

    /// Fewer groups than the group threshold are represented.
    #[error(
        "shares from {have} group(s) were given but {need} groups are needed: add shares \
         from {} more group(s)",
        difference(.need, .have)
    )]
    TooFewGroups {
        /// Distinct groups among the shares.
        have: u8,
        /// The group threshold.
        need: u8,
    },

    /// More groups than the group threshold are represented.
    #[error(
        "shares from {have} groups were given but exactly {need} are combined: leave out \
         the shares of {} group(s)",
        difference(.have, .need)
    )]
    TooManyGroups {
        /// Distinct groups among the shares.
        have: u8,
        /// The group threshold.
        need: u8,
    },

    /// A group has fewer member shares than its threshold.
    #[error(
        "need {} more share(s) from group {group}: {have} of the {need} it needs were given",
        difference(.need, .have)
    )]
    TooFewMembers {
        /// 1-based group number.
        group: u8,
        /// Member shares given for the group.
        have: u8,
        /// The group's member threshold.
        need: u8,
    },

    /// A group has more member shares than its threshold.
    #[error(
        "group {group} needs exactly {need} member shares but {have} were given: leave out \
         {} of them",
        difference(.have, .need)
    )]
    TooManyMembers {
        /// 1-based group number.
        group: u8,
        /// Member shares given for the group.
        have: u8,
        /// The group's member threshold.
        need: u8,
    },

    /// The shares combined, but the result failed the digest check.
    #[error(
        "the shares{} combine to a value that fails its integrity check (digest): at least \
         one of them is not genuine or was altered although its checksum matches; try \
         another combination of shares to find the bad one",
        digest_scope(.group)
    )]
    DigestMismatch {
        /// 1-based group number when the check failed inside one group; `None` when it
        /// failed when combining the groups.
        group: Option<u8>,
    },

    /// The Shamir core refused the shares; the checks above should make this unreachable.
    #[error("internal error: the Shamir core refused the shares; please report this")]
    Internal,
}

fn extendable_pair(found: &bool) -> &'static str {
    if *found {
        "is extendable but share 1 is not"
    } else {
        "is not extendable but share 1 is"
    }
}

fn difference(larger: &u8, smaller: &u8) -> u8 {
    larger.saturating_sub(*smaller)
}

fn digest_scope(group: &Option<u8>) -> String {
    match group {
        Some(g) => format!(" of group {g}"),
        None => String::new(),
    }
}

/// Why a new member share could not be made by
/// [`extend_group`](super::extend_group()).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtendError {
    /// The shares given are not a consistent, complete set for their group.
    #[error(transparent)]
    Shares(#[from] RecoverError),

    /// The shares come from more than one group.
    #[error(
        "share {share} is from group {found} but share 1 is from group {expected}: give \
         shares of the one group that gets the new member"
    )]
    MixedGroups {
        /// 1-based position of the share.
        share: usize,
        /// 1-based group of share 1.
        expected: u8,
        /// 1-based group of this share.
        found: u8,
    },

    /// The group has member threshold 1, where SLIP-0039 allows a single member.
    #[error(
        "group {group} has threshold 1, where SLIP-0039 allows only one member; a new \
         member would hold the same secret, so give them that share instead or re-split"
    )]
    ThresholdOne {
        /// 1-based group number.
        group: u8,
    },

    /// The new member number is above 16 or already held by one of the shares given.
    #[error("member {member} cannot be added: it is taken or above 16, the most SLIP-0039 allows")]
    MemberIndex {
        /// 1-based member number asked for.
        member: u8,
    },
}

/// Why shares could not be generated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The master secret is shorter than 128 bits or not a multiple of 16 bits.
    #[error(
        "the master secret is {bytes} bytes; SLIP-0039 needs at least 16 bytes and an even \
         number of bytes"
    )]
    SecretLength {
        /// Length of the secret given.
        bytes: usize,
    },

    /// No groups, or more than 16.
    #[error("{groups} groups were asked for; SLIP-0039 allows 1 to 16")]
    GroupCount {
        /// Number of groups asked for.
        groups: usize,
    },

    /// The group threshold is 0 or more than the number of groups.
    #[error(
        "a group threshold of {threshold} was asked for with {groups} groups; it must be 1 to {groups}"
    )]
    GroupThreshold {
        /// Group threshold asked for.
        threshold: u8,
        /// Number of groups.
        groups: usize,
    },

    /// A group's member count is 0 or more than 16.
    #[error("group {group} was given {count} members; SLIP-0039 allows 1 to 16")]
    MemberCount {
        /// 1-based group number.
        group: usize,
        /// Members asked for.
        count: u8,
    },

    /// A group's member threshold is 0 or more than its member count.
    #[error(
        "group {group} was given a threshold of {threshold} with {count} members; it must be \
         1 to {count}"
    )]
    MemberThreshold {
        /// 1-based group number.
        group: usize,
        /// Threshold asked for.
        threshold: u8,
        /// Members asked for.
        count: u8,
    },

    /// A group with threshold 1 and more than one member: every member would hold the
    /// same share value, which SLIP-0039 forbids.
    #[error(
        "group {group} has threshold 1 but {count} members, so every member would hold the \
         same secret; SLIP-0039 forbids this: give the group 1 member, or a threshold of \
         at least 2"
    )]
    SingleThresholdGroup {
        /// 1-based group number.
        group: usize,
        /// Members asked for.
        count: u8,
    },

    /// The iteration exponent does not fit its 4-bit field.
    #[error("iteration exponent {exponent} is too large; SLIP-0039 allows 0 to 15")]
    IterationExponent {
        /// Exponent asked for.
        exponent: u8,
    },

    /// The Shamir core refused to interpolate; the checks above should make this
    /// unreachable.
    #[error("internal error: the Shamir core refused to split; please report this")]
    Internal,
}
