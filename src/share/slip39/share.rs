//! One SLIP-0039 share: its fields, and its text form as words.
//!
//! SLIP-0039, "Format of the share mnemonic": identifier (15 bits), extendable flag
//! (1), iteration exponent (4), group index (4), group threshold − 1 (4), group count
//! − 1 (4), member index (4), member threshold − 1 (4), the padded share value, and a
//! 30-bit RS1024 checksum, all big-endian and cut into 10-bit words.

use std::fmt;

use zeroize::Zeroizing;

use super::bits::{BitReader, BitWriter, WORD_BITS};
use super::ct;
use super::error::{ParseError, Suggestion};
use super::rs1024::{self, CHECKSUM_WORDS, Customization};
use super::words;

/// Words before the share value: 40 bits of fields.
const HEADER_WORDS: usize = 4;
/// Shortest possible share: a 128-bit value.
const MIN_VALUE_BYTES: usize = 16;
/// How many nearest words an unknown-word error lists.
const NEAREST: usize = 3;

/// Where the value sits in a share of `word_count` words: `(padding bits, value
/// bytes)`, or `None` when no valid share has that many words.
///
/// SLIP-0039, "Combining the shares": "The length of the padding of the share value in
/// bits, which is equal to the length of the padded share value in bits modulo 16,
/// MUST NOT exceed 8 bits", and "The length of each share value MUST be at least 128
/// bits."
fn value_layout(word_count: usize) -> Option<(usize, usize)> {
    let value_words = word_count.checked_sub(HEADER_WORDS + CHECKSUM_WORDS)?;
    let bits = value_words.checked_mul(WORD_BITS)?;
    let padding = bits % 16;
    let bytes = (bits - padding) / 8;
    (padding <= 8 && bytes >= MIN_VALUE_BYTES).then_some((padding, bytes))
}

/// Words in the share of a value of `bytes` bytes.
fn word_count_for(bytes: usize) -> usize {
    HEADER_WORDS + (bytes * 8).div_ceil(WORD_BITS) + CHECKSUM_WORDS
}

/// One parsed share: the public fields that place it in a split, and its secret value.
///
/// Made by [`parse`] (from words, after the checksum and layout checks) or by
/// [`generate`](super::generate()). The value is wiped when the share is dropped;
/// `Debug` shows the public fields only; there is no `Clone` or `Display`.
pub struct Slip39Share {
    identifier: u16,
    extendable: bool,
    iteration_exponent: u8,
    group_index: u8,
    group_threshold: u8,
    group_count: u8,
    member_index: u8,
    member_threshold: u8,
    value: Zeroizing<Vec<u8>>,
}

/// Public fields of a share, as generation fills them in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    pub(crate) identifier: u16,
    pub(crate) extendable: bool,
    pub(crate) iteration_exponent: u8,
    pub(crate) group_index: u8,
    pub(crate) group_threshold: u8,
    pub(crate) group_count: u8,
    pub(crate) member_index: u8,
    pub(crate) member_threshold: u8,
}

impl Slip39Share {
    pub(crate) fn from_parts(fields: Fields, value: Zeroizing<Vec<u8>>) -> Slip39Share {
        Slip39Share {
            identifier: fields.identifier,
            extendable: fields.extendable,
            iteration_exponent: fields.iteration_exponent,
            group_index: fields.group_index,
            group_threshold: fields.group_threshold,
            group_count: fields.group_count,
            member_index: fields.member_index,
            member_threshold: fields.member_threshold,
            value,
        }
    }

    /// The 15-bit identifier shared by every share of one split.
    pub fn identifier(&self) -> u16 {
        self.identifier
    }

    /// The extendable-backup flag: when set, the identifier is not part of the
    /// passphrase encryption, so several splits can carry the same encrypted secret.
    pub fn extendable(&self) -> bool {
        self.extendable
    }

    /// The iteration exponent `e`: PBKDF2 runs `10000 × 2^e` iterations in total.
    pub fn iteration_exponent(&self) -> u8 {
        self.iteration_exponent
    }

    /// The group index, 0 to 15, as stored (messages say "group `index + 1`").
    pub fn group_index(&self) -> u8 {
        self.group_index
    }

    /// How many groups are needed to recover the secret, 1 to 16.
    pub fn group_threshold(&self) -> u8 {
        self.group_threshold
    }

    /// How many groups the split has, 1 to 16.
    pub fn group_count(&self) -> u8 {
        self.group_count
    }

    /// The member index within the group, 0 to 15, as stored (messages say "member
    /// `index + 1`").
    pub fn member_index(&self) -> u8 {
        self.member_index
    }

    /// How many members of this share's group are needed, 1 to 16.
    pub fn member_threshold(&self) -> u8 {
        self.member_threshold
    }

    /// Length of the secret this share belongs to, in bytes.
    pub fn secret_len(&self) -> usize {
        self.value.len()
    }

    /// Number of words in the share's text form.
    pub fn word_count(&self) -> usize {
        word_count_for(self.value.len())
    }

    /// The share value (secret).
    pub(crate) fn value(&self) -> &[u8] {
        &self.value
    }

    /// The share as SLIP-0039 words, lower case, separated by single spaces.
    ///
    /// # Security
    ///
    /// Built without branching on or indexing by the share's bits: each word is found
    /// by scanning the whole list with masks and the words are laid out by visiting
    /// every byte; only the text's length is public. The
    /// last step, the check that the bytes are UTF-8, branches on each byte's top bit,
    /// which is zero for every letter and space, so it always goes the same way. The
    /// returned string is wiped when dropped.
    pub fn to_words(&self) -> Zeroizing<String> {
        let mut bytes = self.canonical_text();
        match String::from_utf8(std::mem::take(&mut *bytes)) {
            Ok(text) => Zeroizing::new(text),
            // Unreachable: the bytes are list letters and spaces.
            Err(e) => {
                drop(Zeroizing::new(e.into_bytes()));
                Zeroizing::new(String::new())
            }
        }
    }

    /// The share's words as bytes, lower case, single spaces: the text the vault's
    /// commitment hashes (FORMAT.md §4). Constant time in the share's bits: the word
    /// values come from shifts and masks, each word is found by scanning the whole list,
    /// and the words are laid out by visiting every byte; only the total length is made
    /// public.
    pub(crate) fn canonical_text(&self) -> Zeroizing<Vec<u8>> {
        words::text_of(&self.word_values())
    }

    /// The share's 10-bit word values, checksum included.
    fn word_values(&self) -> Zeroizing<Vec<u16>> {
        let total = self.word_count();
        let value_bits = self.value.len() * 8;
        let padding = (total - HEADER_WORDS - CHECKSUM_WORDS) * WORD_BITS - value_bits;
        let mut w = BitWriter::with_capacity(total);
        w.write(self.identifier, 15);
        w.write(u16::from(self.extendable), 1);
        w.write(u16::from(self.iteration_exponent), 4);
        w.write(u16::from(self.group_index), 4);
        w.write(u16::from(self.group_threshold.saturating_sub(1)), 4);
        w.write(u16::from(self.group_count.saturating_sub(1)), 4);
        w.write(u16::from(self.member_index), 4);
        w.write(u16::from(self.member_threshold.saturating_sub(1)), 4);
        w.write(0, padding);
        for &b in self.value.iter() {
            w.write(u16::from(b), 8);
        }
        let mut values = Zeroizing::new(w.finish());
        let checksum = rs1024::create(Customization::for_extendable(self.extendable), &values);
        values.extend_from_slice(&checksum);
        values
    }
}

impl fmt::Debug for Slip39Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slip39Share")
            .field("identifier", &self.identifier)
            .field("extendable", &self.extendable)
            .field("iteration_exponent", &self.iteration_exponent)
            .field("group_index", &self.group_index)
            .field("group_threshold", &self.group_threshold)
            .field("group_count", &self.group_count)
            .field("member_index", &self.member_index)
            .field("member_threshold", &self.member_threshold)
            .field(
                "value",
                &format_args!("<{} secret bytes>", self.value.len()),
            )
            .finish()
    }
}

/// The customization string a share's header words ask for: the extendable flag is
/// bit 15 of the share, the sixth bit of the second word.
fn customization_of(header: &[u16]) -> Customization {
    let ext = header.get(1).is_some_and(|w| (w >> 4) & 1 == 1);
    Customization::for_extendable(ext)
}

/// Decodes word values into a share: checksum, then layout.
///
/// Constant time in the share value: the checksum is branch-free and only its outcome
/// is made public; the four header words (public fields) are made public before they
/// are read; the padding bits are tested with a mask and only "zero or not" is made
/// public; the value bytes are read with shifts.
fn decode(values: &[u16]) -> Result<Slip39Share, ParseError> {
    let (padding, bytes) = value_layout(values.len()).ok_or(ParseError::WrongLength {
        words: values.len(),
    })?;
    let short = || ParseError::WrongLength {
        words: values.len(),
    };
    // value_layout guarantees more than four words.
    let (head, rest) = values.split_at_checked(HEADER_WORDS).ok_or_else(short)?;
    let mut header = [0u16; HEADER_WORDS];
    for (public, &secret) in header.iter_mut().zip(head) {
        *public = (ct::public(u64::from(secret)) & 0x3ff) as u16;
    }
    let checks = rs1024::verify(customization_of(&header), values);
    if !ct::public_bool(u64::from(checks)) {
        return Err(ParseError::InvalidChecksum { suggestion: None });
    }
    let mut r = BitReader::new(&header);
    let mut read = |bits: usize| r.read(bits).ok_or_else(short);
    let identifier = read(15)?;
    let extendable = read(1)? == 1;
    let field4 = |v: u16| u8::try_from(v).unwrap_or(u8::MAX);
    let iteration_exponent = field4(read(4)?);
    let group_index = field4(read(4)?);
    let group_threshold = field4(read(4)?).saturating_add(1);
    let group_count = field4(read(4)?).saturating_add(1);
    let member_index = field4(read(4)?);
    let member_threshold = field4(read(4)?).saturating_add(1);
    let mut r = BitReader::new(rest);
    let mut read = |bits: usize| r.read(bits).ok_or_else(short);
    // SLIP-0039: "All padding bits MUST be "0"."
    if ct::public_bool(ct::nonzero(u64::from(read(padding)?))) {
        return Err(ParseError::InvalidPadding);
    }
    let mut value = Zeroizing::new(Vec::with_capacity(bytes));
    for _ in 0..bytes {
        value.push((read(8)? & 0xff) as u8);
    }
    // SLIP-0039: "The value of G MUST be greater than or equal to GT."
    if group_threshold > group_count {
        return Err(ParseError::GroupThresholdExceedsCount {
            group_threshold,
            group_count,
        });
    }
    Ok(Slip39Share {
        identifier,
        extendable,
        iteration_exponent,
        group_index,
        group_threshold,
        group_count,
        member_index,
        member_threshold,
        value,
    })
}

/// Every `(position, value)` such that putting `value` at `position` gives a share
/// that decodes (checksum and layout). With `only` set, just that position is tried,
/// and the current value there counts as a candidate too.
fn single_word_fixes(values: &[u16], only: Option<usize>) -> Vec<(usize, u16)> {
    let mut fixes = Vec::new();
    let mut candidate = Zeroizing::new(values.to_vec());
    for cs in [Customization::Original, Customization::Extendable] {
        for (pos, v) in rs1024::repairs(cs, values) {
            let wanted = match only {
                Some(p) => p == pos,
                None => values.get(pos) != Some(&v),
            };
            if !wanted || fixes.contains(&(pos, v)) {
                continue;
            }
            let Some(slot) = candidate.get_mut(pos) else {
                continue;
            };
            let old = std::mem::replace(slot, v);
            if decode(&candidate).is_ok() {
                fixes.push((pos, v));
            }
            if let Some(slot) = candidate.get_mut(pos) {
                *slot = old;
            }
        }
    }
    fixes
}

/// Reads one share from its words.
///
/// Words are separated by any whitespace (extra spaces, tabs and line breaks are
/// fine) and compared ignoring ASCII case; a prefix of four or more letters stands for
/// the one word it begins (the list's words are unique in their first four letters).
/// The checksum and the layout (length, padding, group threshold ≤ group count) are
/// checked; whether the share fits with others is checked by
/// [`recover`](super::recover()).
///
/// # Errors
///
/// - [`ParseError::Empty`]: no words.
/// - [`ParseError::WrongLength`]: a word count no share has.
/// - [`ParseError::UnknownWord`]: a word not in the list, with its position, the
///   nearest words by spelling and, when that is the only unknown word and exactly one
///   list word there makes the share valid, that word as a [`Suggestion`].
/// - [`ParseError::InvalidChecksum`]: all words known but the checksum fails; when
///   exactly one single-word change anywhere makes the share valid, it is offered as a
///   [`Suggestion`] (never applied).
/// - [`ParseError::InvalidPadding`], [`ParseError::GroupThresholdExceedsCount`]: the
///   checksum matches but the fields are not a valid share.
///
/// # Security
///
/// A share that reads correctly is read in constant time: the text is split into words
/// and each word compared with every word of the list by masks, and the words are
/// decoded with shifts. What is made public on the way: the number of words, whether
/// every word is known, whether the checksum matches, the header words (public fields)
/// and whether the padding is zero (see `ct::public`, checked by
/// `tests/constant_time.rs`). Text with ASCII letters and whitespace only takes this
/// path; anything else (non-ASCII whitespace between words, say) is read by the
/// detailed path below.
///
/// When that finds a problem (an unknown word, a checksum failure), the text is read
/// again by the detailed path, which is *not* constant time: it looks words up by
/// binary search, locates every unknown word, and searches every position for a
/// one-word correction and the nearest words by spelling. That only happens for a share
/// that is already known to be wrong, and the words it finds appear only in
/// [`ParseError::terminal_message`]. The decoded share value is held in wiped memory.
pub fn parse(text: &str) -> Result<Slip39Share, ParseError> {
    match parse_constant_time(text.as_bytes()) {
        Some(result) => result,
        None => parse_detailed(text),
    }
}

/// The constant-time reading of a well-formed share; `None` sends the text to
/// [`parse_detailed`] (a word count no share has, an unknown or malformed word, a
/// checksum that fails).
fn parse_constant_time(text: &[u8]) -> Option<Result<Slip39Share, ParseError>> {
    let count = usize::try_from(ct::public(words::count_words(text))).ok()?;
    value_layout(count)?;
    let (values, known) = words::values_of(text, count);
    if !ct::public_bool(known) {
        return None;
    }
    match decode(&values) {
        Err(ParseError::InvalidChecksum { .. }) => None,
        other => Some(other),
    }
}

/// The word values of a share text by the old route (split on whitespace, binary
/// search per word), when every word is known: kept to measure against in
/// `benches/slip39.rs`. Not constant time.
pub(crate) fn values_by_binary_search(text: &str) -> Option<Vec<u16>> {
    text.split_whitespace().map(words::lookup).collect()
}

/// The word values of a share text by the constant-time route, when every word is
/// known.
pub(crate) fn values_constant_time(text: &str) -> Option<Zeroizing<Vec<u16>>> {
    let count = usize::try_from(ct::public(words::count_words(text.as_bytes()))).ok()?;
    let (values, known) = words::values_of(text.as_bytes(), count);
    ct::public_bool(known).then_some(values)
}

/// Reads a share that failed the constant-time path, to say precisely what is wrong
/// (see [`parse`]). Not constant time.
fn parse_detailed(text: &str) -> Result<Slip39Share, ParseError> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.is_empty() {
        return Err(ParseError::Empty);
    }
    if value_layout(tokens.len()).is_none() {
        return Err(ParseError::WrongLength {
            words: tokens.len(),
        });
    }
    let mut values = Zeroizing::new(Vec::with_capacity(tokens.len()));
    let mut unknown = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match words::lookup(token) {
            Some(v) => values.push(v),
            None => {
                values.push(0);
                unknown.push(i);
            }
        }
    }

    if let Some((&first, rest)) = unknown.split_first() {
        let typed = tokens.get(first).copied().unwrap_or_default();
        let suggestion = if rest.is_empty() {
            match single_word_fixes(&values, Some(first)).as_slice() {
                [(pos, v)] => Some(Box::new(Suggestion {
                    position: pos + 1,
                    typed: typed.to_string(),
                    replacement: words::word(*v),
                })),
                _ => None,
            }
        } else {
            None
        };
        return Err(ParseError::UnknownWord {
            position: first + 1,
            word: typed.to_string(),
            nearest: words::nearest(typed, NEAREST),
            suggestion,
            also_unknown: rest.iter().map(|p| p + 1).collect(),
        });
    }

    match decode(&values) {
        Err(ParseError::InvalidChecksum { .. }) => {
            let suggestion = match single_word_fixes(&values, None).as_slice() {
                [(pos, v)] => Some(Box::new(Suggestion {
                    position: pos + 1,
                    typed: tokens.get(*pos).copied().unwrap_or_default().to_string(),
                    replacement: words::word(*v),
                })),
                _ => None,
            };
            Err(ParseError::InvalidChecksum { suggestion })
        }
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const V1: &str = "duckling enlarge academic academic agency result length solution fridge kidney coal piece deal husband erode duke ajar critical decision keyboard";

    #[test]
    fn layouts() {
        assert_eq!(value_layout(20), Some((2, 16)));
        assert_eq!(value_layout(33), Some((4, 32)));
        assert_eq!(value_layout(19), None);
        assert_eq!(value_layout(21), None);
        assert_eq!(value_layout(0), None);
        for bytes in (16..=64).step_by(2) {
            let n = word_count_for(bytes);
            assert_eq!(value_layout(n).map(|l| l.1), Some(bytes), "{bytes}");
        }
        assert_eq!(word_count_for(16), 20);
        assert_eq!(word_count_for(32), 33);
    }

    #[test]
    fn parse_fields_and_write_back() {
        let share = parse(V1).unwrap();
        assert_eq!(share.group_threshold(), 1);
        assert_eq!(share.group_count(), 1);
        assert_eq!(share.member_threshold(), 1);
        assert_eq!(share.group_index(), 0);
        assert_eq!(share.member_index(), 0);
        assert!(!share.extendable());
        assert_eq!(share.secret_len(), 16);
        assert_eq!(&share.to_words()[..], V1);
        let dbg = format!("{share:?}");
        assert!(dbg.contains("<16 secret bytes>"), "{dbg}");
    }

    #[test]
    fn tolerant_input() {
        let messy = format!("  {}\n", V1.to_uppercase().replace(' ', " \t "));
        assert_eq!(&parse(&messy).unwrap().to_words()[..], V1);
        let prefixes: Vec<String> = V1.split(' ').map(|w| w[..4].to_string()).collect();
        assert_eq!(&parse(&prefixes.join(" ")).unwrap().to_words()[..], V1);
    }
}
