//! HashiCorp Vault / OpenBao unseal keys: the other text form of a Shamir share.
//!
//! `vault operator init` (and `bao operator init`) prints each unseal key twice, as
//! `unseal_keys_hex` and `unseal_keys_b64`. Both encode the same bytes, laid out by
//! Vault's `shamir` package as
//!
//! ```text
//! y_1 y_2 … y_len x
//! ```
//!
//! the value of every secret byte's polynomial at `x`, followed by the one byte `x`
//! itself ("The representation of each output is {y1, y2, .., yN, x}", Vault's
//! `shamir.Split`). The secret (Vault's root or unseal key) is the polynomials' value at
//! x = 0, over the same field as [`crate::gf256`] (the AES field, x^8+x^4+x^3+x+1;
//! Vault's tables use the generator 0xe5 of that field, which a test here checks).
//!
//! Vault has chosen the x coordinates as random distinct non-zero bytes (a shuffled
//! 1..=255), and some versions number them 1..=n; [`split`] here numbers them 1..=n.
//! Both are valid: any distinct non-zero x combine, and [`parse`] accepts any x but 0.
//!
//! What Vault cannot do — say *which* key is wrong when a set does not unseal
//! (hashicorp/vault#8278) — [`check_set`] does: given more keys than the threshold, it
//! proves them mutually consistent or names the key that is not.
//!
//! ```
//! use svault::share::unseal_key::{self, Format};
//!
//! let root = [0x5au8; 32];
//! let keys = unseal_key::split(&root, 3, 5)?;
//! let texts: Vec<_> = keys.iter().map(|k| unseal_key::encode(k, Format::Base64)).collect();
//!
//! // Later: any three keys, in either form, give the root key back.
//! let typed: Vec<_> = texts[1..4].iter().map(|t| unseal_key::parse(t)).collect::<Result<_, _>>()?;
//! assert_eq!(&unseal_key::combine(&typed)?[..], &root[..]);
//!
//! // The whole set is proven before it is handed out.
//! let all: Vec<_> = texts.iter().map(|t| unseal_key::parse(t)).collect::<Result<_, _>>()?;
//! let proof = unseal_key::check_set(&all, 3)?;
//! assert_eq!(proof.redundant(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is public
//!
//! Key text is public input to this codec, as SLIP-0039 words are: parsing branches on
//! the characters to say which one is wrong. The decoded y bytes go into a
//! [`Share`], which wipes them; the temporary buffers here are wiped too. Base64 is
//! decoded by `base64ct`, which is constant time.

use core::fmt;

use base64ct::{Base64, Encoding as _};
use zeroize::Zeroizing;

use crate::shamir::{self, Consistency, Share};

/// The two text forms Vault prints for each unseal key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Lowercase hexadecimal (`unseal_keys_hex`); upper case is accepted when parsing.
    Hex,
    /// Standard base64 with `=` padding (`unseal_keys_b64`).
    Base64,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Hex => "hex",
            Format::Base64 => "base64",
        })
    }
}

/// Why a key's text could not be read. Messages quote at most one offending
/// character (escaped), which cannot be part of the key's value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but whitespace.
    #[error("the key is empty: enter the whole unseal key on one line")]
    Empty,

    /// A character that is not a hex digit, in a key read as hex.
    #[error(
        "character {position} {} is not a hex digit (0-9, a-f); check the key against the \
         written copy",
        Quoted(*.character)
    )]
    NotHex {
        /// 1-based position of the character (after leading whitespace).
        position: usize,
        /// The character.
        character: char,
    },

    /// An odd number of hex digits: one is missing or doubled.
    #[error(
        "the key has {digits} hex digits, an odd number, so a digit is missing or doubled; \
         check the key against the written copy"
    )]
    OddLength {
        /// How many digits were found.
        digits: usize,
    },

    /// A character outside the standard base64 alphabet.
    #[error(
        "character {position} {} is not in the base64 alphabet (A-Z, a-z, 0-9, +, / and \
         = padding){}; check the key against the written copy",
        Quoted(*.character),
        url_safe_hint(*.character)
    )]
    NotBase64 {
        /// 1-based position of the character (after leading whitespace).
        position: usize,
        /// The character.
        character: char,
    },

    /// The characters are base64 but do not form a whole, correctly padded encoding.
    #[error(
        "the key is not valid padded base64 ({length} characters; a base64 key has a \
         multiple of 4, ending in at most two '='): a character is missing, extra or \
         mistyped"
    )]
    BadBase64 {
        /// Number of characters.
        length: usize,
    },

    /// Fewer than two bytes: a key holds at least one value byte and the x byte.
    #[error(
        "the key decodes to {bytes} byte(s), too short to be an unseal key (at least one \
         value byte and the x byte); enter the whole key"
    )]
    TooShort {
        /// Decoded length.
        bytes: usize,
    },

    /// The last byte, the x coordinate, is 0: that point is the secret itself, so no
    /// genuine key has it.
    #[error(
        "the key's last byte (its x coordinate) is 0, which no unseal key has (x = 0 is \
         the secret itself): the key is damaged or is not an unseal key"
    )]
    ZeroX,
}

/// A character in a message: printable ones quoted, others escaped.
struct Quoted(char);

impl fmt::Display for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.0.escape_debug())
    }
}

fn url_safe_hint(character: char) -> &'static str {
    match character {
        '-' | '_' => " — this looks like URL-safe base64; Vault prints standard base64",
        _ => "",
    }
}

/// Why a key set did not prove consistent ([`check_set`]). Keys are named by their
/// 1-based position in the input and their x coordinate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// Fewer keys than the threshold.
    #[error(
        "{have} key(s) were given but the threshold is {threshold}: give every key of the \
         set (at least {threshold}, and more than {threshold} for the check to prove anything)"
    )]
    TooFewKeys {
        /// Keys given.
        have: usize,
        /// The threshold.
        threshold: u8,
    },

    /// The threshold is 0.
    #[error("a threshold of 0 was given; it must be at least 1")]
    ZeroThreshold,

    /// Two keys have the same x coordinate.
    #[error(
        "keys {first} and {second} both have x = {x}: {}",
        if *.identical { "the same key was given twice; leave one out" }
        else { "they are from different splits (or one is damaged in its last byte)" }
    )]
    DuplicateX {
        /// 1-based position of the earlier key.
        first: usize,
        /// 1-based position of the later key.
        second: usize,
        /// The shared coordinate.
        x: u8,
        /// Whether the two keys are byte for byte the same.
        identical: bool,
    },

    /// A key's length differs from the first key's.
    #[error(
        "key {position} (x = {x}) holds {len} value bytes but key 1 holds {expected}: it \
         belongs to a different secret"
    )]
    UnequalLengths {
        /// 1-based position of the key.
        position: usize,
        /// Its x coordinate.
        x: u8,
        /// Its value length.
        len: usize,
        /// Key 1's value length.
        expected: usize,
    },

    /// Some keys do not lie on the polynomial the others share.
    #[error("{}", describe_deviants(.deviants, *.agreeing, *.unique))]
    Deviating {
        /// The keys off the polynomial, in input order.
        deviants: Vec<KeyRef>,
        /// How many keys agree.
        agreeing: usize,
        /// Whether the deviants are certainly the wrong ones (see
        /// [`Consistency::Deviating`]).
        unique: bool,
    },

    /// Some key is wrong, but too few keys agree to say which.
    #[error(
        "the keys are not consistent, but no {} of them agree, so the wrong one cannot be \
         named: add more keys of the set, or compare each with its written copy",
        .threshold.saturating_add(1)
    )]
    Undetermined {
        /// The threshold.
        threshold: u8,
    },

    /// The Shamir core refused the set; the checks above should make this unreachable.
    #[error("internal error: the Shamir core refused the keys; please report this")]
    Internal(#[source] shamir::Error),
}

/// A key named in a message: its 1-based position in the input and its x coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRef {
    /// 1-based position in the input.
    pub position: usize,
    /// Its x coordinate.
    pub x: u8,
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {} (x = {})", self.position, self.x)
    }
}

fn describe_deviants(deviants: &[KeyRef], agreeing: usize, unique: bool) -> String {
    let (verb, it) = if deviants.len() == 1 {
        ("does", "it")
    } else {
        ("do", "them")
    };
    let hedge = if unique {
        ""
    } else {
        " (most likely: too few keys agree to rule out a deliberately crafted set)"
    };
    format!(
        "{} {verb} not agree with the other {agreeing} keys{hedge}: a threshold of keys \
         including {it} gives a different root key. Compare {it} with the written copy, or \
         leave {it} out",
        describe_keys(deviants)
    )
}

fn describe_keys(keys: &[KeyRef]) -> String {
    let names: Vec<String> = keys.iter().map(KeyRef::to_string).collect();
    match names.as_slice() {
        [] => String::from("no key"),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Proof that a key set was checked by [`check_set`]: every `threshold` of the keys
/// give the same secret. Only [`check_set`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsistentSet {
    count: usize,
    threshold: u8,
}

impl ConsistentSet {
    /// How many keys were checked.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The threshold they were checked at.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// How many keys beyond the threshold took part. With 0 the check proves nothing
    /// (any `threshold` points fit some polynomial); with `r` it would have caught up to
    /// `r` wrong keys.
    pub fn redundant(&self) -> usize {
        self.count.saturating_sub(usize::from(self.threshold))
    }
}

/// Which form `text` is in: [`Format::Hex`] when, apart from surrounding whitespace,
/// it holds only hex digits, otherwise [`Format::Base64`].
///
/// A base64 key made only of hex-digit characters is possible but vanishingly rare for
/// real keys (for a 33-byte key, about one in 10^20); pass the format explicitly to
/// [`parse_as`] if it matters.
pub fn detect(text: &str) -> Format {
    let text = text.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Format::Hex
    } else {
        Format::Base64
    }
}

/// Reads an unseal key in either form, recognised by [`detect`].
///
/// # Errors
///
/// As [`parse_as`].
pub fn parse(text: &str) -> Result<Share, ParseError> {
    parse_as(text, detect(text))
}

/// Reads an unseal key in the given form. Surrounding whitespace is ignored.
///
/// # Errors
///
/// [`ParseError::Empty`]; for hex [`ParseError::NotHex`] naming the first bad
/// character and [`ParseError::OddLength`]; for base64 [`ParseError::NotBase64`]
/// naming the first bad character and [`ParseError::BadBase64`] for a wrong length or
/// padding; then [`ParseError::TooShort`] below two bytes and [`ParseError::ZeroX`].
pub fn parse_as(text: &str, format: Format) -> Result<Share, ParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut bytes = match format {
        Format::Hex => decode_hex(text)?,
        Format::Base64 => decode_base64(text)?,
    };
    if bytes.len() < 2 {
        return Err(ParseError::TooShort { bytes: bytes.len() });
    }
    let x = bytes.pop().ok_or(ParseError::TooShort { bytes: 0 })?;
    if x == 0 {
        return Err(ParseError::ZeroX);
    }
    // Move the buffer out without a copy; the emptied `Zeroizing` has nothing to wipe.
    Ok(Share::new(x, core::mem::take(&mut *bytes)))
}

/// Hex digits to bytes. The input is key text, public to the codec.
fn decode_hex(text: &str) -> Result<Zeroizing<Vec<u8>>, ParseError> {
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 2));
    let mut high: Option<u8> = None;
    let mut digits = 0usize;
    for (i, character) in text.chars().enumerate() {
        let value = character
            .to_digit(16)
            .and_then(|v| u8::try_from(v).ok())
            .ok_or(ParseError::NotHex {
                position: i + 1,
                character,
            })?;
        digits += 1;
        match high.take() {
            None => high = Some(value),
            Some(h) => out.push(h << 4 | value),
        }
    }
    if high.is_some() {
        return Err(ParseError::OddLength { digits });
    }
    Ok(out)
}

/// Standard padded base64 to bytes, after naming any character outside the alphabet.
fn decode_base64(text: &str) -> Result<Zeroizing<Vec<u8>>, ParseError> {
    if let Some((i, character)) = text
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
    {
        return Err(ParseError::NotBase64 {
            position: i + 1,
            character,
        });
    }
    let length = text.len();
    if !length.is_multiple_of(4) {
        return Err(ParseError::BadBase64 { length });
    }
    let mut out = Zeroizing::new(vec![0u8; length / 4 * 3]);
    let decoded = Base64::decode(text, &mut out)
        .map_err(|_| ParseError::BadBase64 { length })?
        .len();
    out.truncate(decoded);
    Ok(out)
}

/// The key's text: its y bytes then its x byte, in the given form (hex in lower case,
/// base64 standard with padding), exactly as Vault prints it. The string is wiped when
/// dropped.
///
/// # Security
///
/// The text carries the share value: it is the form in which the key is shown to its
/// holder. Hex digits are chosen without tables or branches on the value; base64 is
/// encoded by `base64ct`, which is constant time.
pub fn encode(share: &Share, format: Format) -> Zeroizing<String> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(share.y().len() + 1));
    bytes.extend_from_slice(share.y());
    bytes.push(share.x());
    match format {
        Format::Hex => {
            let mut text = Zeroizing::new(String::with_capacity(bytes.len() * 2));
            for &b in bytes.iter() {
                text.push(hex_digit(b >> 4));
                text.push(hex_digit(b & 0x0f));
            }
            text
        }
        Format::Base64 => Zeroizing::new(Base64::encode_string(&bytes)),
    }
}

/// The lowercase hex digit for a nibble, branch-free: `'0' + n`, plus the gap up to
/// `'a'` (39) when `n > 9`, selected by a mask.
fn hex_digit(nibble: u8) -> char {
    let n = nibble & 0x0f;
    // (9 - n) underflows (its top bit set) exactly when n > 9.
    let above_nine = (9u8.wrapping_sub(n) >> 7).wrapping_neg();
    char::from(b'0' + n + (above_nine & 39))
}

/// Splits `secret` into `count` keys at x = 1..=count, any `threshold` of which give it
/// back; [`encode`] turns each into Vault's text. (Vault itself picks random distinct
/// x; both are valid and combine the same way.)
///
/// # Errors
///
/// As [`shamir::split`]: an empty secret, a count of 0, a threshold of 0 or above the
/// count.
pub fn split(secret: &[u8], threshold: u8, count: u8) -> Result<Vec<Share>, shamir::Error> {
    shamir::split(secret, threshold, count)
}

/// The secret (the value at x = 0) from exactly the keys given.
///
/// Unseal keys do not record the threshold: give at least that many, since fewer give
/// a wrong secret without any error. To check more than the threshold, use
/// [`check_set`] first.
///
/// # Errors
///
/// As [`shamir::combine`]: no keys, two keys with the same x
/// ([`shamir::Error::DuplicateX`]), keys of different lengths
/// ([`shamir::Error::UnequalLengths`]).
pub fn combine(shares: &[Share]) -> Result<Zeroizing<Vec<u8>>, shamir::Error> {
    shamir::combine(shares)
}

/// Proves that every `threshold` of `shares` give the same secret (all lie on one
/// polynomial of degree `threshold − 1`), or names the keys that do not, by their
/// 1-based position in `shares` and their x.
///
/// With exactly `threshold` keys the check passes but proves nothing
/// ([`ConsistentSet::redundant`] is 0); every extra key is checked against the others.
///
/// # Errors
///
/// [`CheckError::ZeroThreshold`], [`CheckError::TooFewKeys`],
/// [`CheckError::DuplicateX`], [`CheckError::UnequalLengths`] for a set that cannot
/// be checked; [`CheckError::Deviating`] and [`CheckError::Undetermined`] when it is
/// not consistent.
///
/// # Security
///
/// As [`shamir::check_consistency`]: the y bytes are secret; which keys agree is the
/// public result.
pub fn check_set(shares: &[Share], threshold: u8) -> Result<ConsistentSet, CheckError> {
    if threshold == 0 {
        return Err(CheckError::ZeroThreshold);
    }
    if shares.len() < usize::from(threshold) {
        return Err(CheckError::TooFewKeys {
            have: shares.len(),
            threshold,
        });
    }
    let position_of = |x: u8| shares.iter().position(|s| s.x() == x).map_or(0, |i| i + 1);
    for (i, share) in shares.iter().enumerate() {
        if let Some(first) = shares[..i].iter().position(|s| s.x() == share.x()) {
            let identical = shares[first].y() == share.y();
            return Err(CheckError::DuplicateX {
                first: first + 1,
                second: i + 1,
                x: share.x(),
                identical,
            });
        }
    }
    let expected = shares.first().map_or(0, |s| s.y().len());
    if let Some((i, share)) = shares
        .iter()
        .enumerate()
        .find(|(_, s)| s.y().len() != expected)
    {
        return Err(CheckError::UnequalLengths {
            position: i + 1,
            x: share.x(),
            len: share.y().len(),
            expected,
        });
    }
    match shamir::check_consistency(shares, threshold).map_err(CheckError::Internal)? {
        Consistency::Consistent => Ok(ConsistentSet {
            count: shares.len(),
            threshold,
        }),
        Consistency::Deviating {
            deviants,
            agreeing,
            unique,
        } => Err(CheckError::Deviating {
            deviants: deviants
                .into_iter()
                .map(|x| KeyRef {
                    position: position_of(x),
                    x,
                })
                .collect(),
            agreeing,
            unique,
        }),
        Consistency::Undetermined => Err(CheckError::Undetermined { threshold }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::gf256;

    fn key(text: &str) -> Share {
        parse(text).unwrap()
    }

    fn keys(texts: &[&str]) -> Vec<Share> {
        texts.iter().map(|t| key(t)).collect()
    }

    /// Secret 0x42, threshold 2, the one coefficient a₁ = 0x03, x = 1 and 2:
    ///
    /// f(x) = 0x42 + 0x03·x (addition is XOR)
    /// f(1) = 0x42 ^ 0x03 = 0x41                        → key bytes 41 01
    /// f(2) = 0x42 ^ 0x03·0x02 = 0x42 ^ 0x06 = 0x44     → key bytes 44 02
    ///
    /// Base64: 0x41 0x01 = 010000 010000 0001(00) = "QQE="; 0x44 0x02 = 010001 000000
    /// 0010(00) = "RAI=".
    ///
    /// Back: ℓ₁(0) = x₂/(x₁+x₂) = 2/3, ℓ₂(0) = 1/3, so the secret is
    /// (0x02·0x41 ^ 0x44) / 0x03 = (0x82 ^ 0x44) / 0x03 = 0xc6 / 0x03 = 0x42, since
    /// 0x03·0x42 = 0x42 ^ 0x84 = 0xc6.
    #[test]
    fn known_answer_one_byte_two_of_two() {
        let one = Share::new(1, vec![0x41]);
        let two = Share::new(2, vec![0x44]);
        assert_eq!(&*encode(&one, Format::Hex), "4101");
        assert_eq!(&*encode(&two, Format::Hex), "4402");
        assert_eq!(&*encode(&one, Format::Base64), "QQE=");
        assert_eq!(&*encode(&two, Format::Base64), "RAI=");
        assert_eq!(gf256::mul(0x03, 0x42), 0xc6);
        for pair in [["4101", "4402"], ["RAI=", "QQE="], ["4101", "RAI="]] {
            assert_eq!(&combine(&keys(&pair)).unwrap()[..], &[0x42]);
        }
    }

    /// Vault-style x (not 1..n): x = 0x10 and 0x20, secret 0x42, a₁ = 0x01, so
    /// f(x) = 0x42 ^ x: f(0x10) = 0x52, f(0x20) = 0x62 → keys "5210", "6220".
    #[test]
    fn known_answer_vault_style_x() {
        assert_eq!(&combine(&keys(&["5210", "6220"])).unwrap()[..], &[0x42]);
        assert_eq!(&combine(&keys(&["6220", "5210"])).unwrap()[..], &[0x42]);
    }

    /// Two bytes [0x00, 0xff], coefficients [0x02, 0x01], x = 0x80 and 0x03:
    ///
    /// byte 0: f(0x80) = 0x02·0x80 = 0x100 → reduced by 0x11b → 0x1b; f(0x03) = 0x06
    /// byte 1: f(0x80) = 0xff ^ 0x80 = 0x7f;                         f(0x03) = 0xfc
    ///
    /// → keys "1b7f80" and "06fc03"; the product exercises the field's reduction.
    #[test]
    fn known_answer_two_bytes_with_reduction() {
        assert_eq!(gf256::mul(0x02, 0x80), 0x1b);
        let back = combine(&keys(&["1b7f80", "06FC03"])).unwrap();
        assert_eq!(&back[..], &[0x00, 0xff]);
        let set = keys(&["1b7f80", "06fc03"]);
        assert_eq!(&*encode(&set[0], Format::Hex), "1b7f80");
        assert_eq!(&*encode(&set[1], Format::Base64), "BvwD");
    }

    /// Vault's `shamir/tables.go` multiplies through log/exp tables built from the
    /// generator 0xe5 of the AES field; its exp table begins 01 e5 4c b5 fb and
    /// 0xe5^255 = 1. The same products here mean the same field.
    #[test]
    fn same_field_as_vault() {
        let mut power = 1u8;
        let mut seen = [false; 256];
        for (k, expected) in [0x01, 0xe5, 0x4c, 0xb5, 0xfb, 0x9f].into_iter().enumerate() {
            assert_eq!(power, expected, "0xe5^{k}");
            power = gf256::mul(power, 0xe5);
        }
        power = 1;
        for _ in 0..255 {
            assert!(!seen[usize::from(power)], "0xe5 generates the whole group");
            seen[usize::from(power)] = true;
            power = gf256::mul(power, 0xe5);
        }
        assert_eq!(power, 1);
    }

    #[test]
    fn round_trips() {
        for len in [1usize, 16, 32, 33, 100] {
            let secret: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            for (t, n) in [(1u8, 1u8), (2, 3), (3, 5), (5, 5)] {
                let shares = split(&secret, t, n).unwrap();
                for format in [Format::Hex, Format::Base64] {
                    let texts: Vec<_> = shares.iter().map(|s| encode(s, format)).collect();
                    for text in &texts {
                        assert_eq!(detect(text), format);
                        let back = parse_as(text, format).unwrap();
                        assert_eq!(&*encode(&back, format), &**text);
                    }
                    let chosen: Vec<Share> = texts
                        .iter()
                        .rev()
                        .take(usize::from(t))
                        .map(|t| parse(t).unwrap())
                        .collect();
                    assert_eq!(&combine(&chosen).unwrap()[..], &secret[..]);
                    let all: Vec<Share> = texts.iter().map(|t| parse(t).unwrap()).collect();
                    let proof = check_set(&all, t).unwrap();
                    assert_eq!(proof.count(), usize::from(n));
                    assert_eq!(proof.threshold(), t);
                    assert_eq!(proof.redundant(), usize::from(n - t));
                }
            }
        }
    }

    #[test]
    fn surrounding_whitespace_and_case() {
        assert_eq!(key("  4101\n").x(), 1);
        assert_eq!(key("\tQQE=\r\n").y(), &[0x41]);
        assert_eq!(key("ABCD02").y(), &[0xab, 0xcd]);
    }

    #[test]
    fn parse_refusals() {
        assert_eq!(parse("").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(" \n ").unwrap_err(), ParseError::Empty);
        assert_eq!(
            parse_as("41g1", Format::Hex).unwrap_err(),
            ParseError::NotHex {
                position: 3,
                character: 'g'
            }
        );
        assert_eq!(
            parse("41012").unwrap_err(),
            ParseError::OddLength { digits: 5 }
        );
        assert_eq!(parse("41").unwrap_err(), ParseError::TooShort { bytes: 1 });
        assert_eq!(
            parse("QQ==").unwrap_err(),
            ParseError::TooShort { bytes: 1 }
        );
        assert_eq!(parse("4100").unwrap_err(), ParseError::ZeroX);
        assert_eq!(parse("QQA=").unwrap_err(), ParseError::ZeroX);
        assert_eq!(
            parse("QQE").unwrap_err(),
            ParseError::BadBase64 { length: 3 }
        );
        assert_eq!(
            parse("Q===").unwrap_err(),
            ParseError::BadBase64 { length: 4 }
        );
        assert_eq!(
            parse("QQ=E").unwrap_err(),
            ParseError::BadBase64 { length: 4 }
        );
        let url = parse("QQ-_").unwrap_err();
        assert_eq!(
            url,
            ParseError::NotBase64 {
                position: 3,
                character: '-'
            }
        );
        assert!(url.to_string().contains("URL-safe"), "{url}");
        let space = parse("QQE= QQE=").unwrap_err();
        assert_eq!(
            space,
            ParseError::NotBase64 {
                position: 5,
                character: ' '
            }
        );
        let control = parse("QQ\u{1b}[2J").unwrap_err();
        assert!(
            control.to_string().contains(r"'\u{1b}'"),
            "control characters are escaped: {control}"
        );
    }

    /// Secret 0x42, threshold 2, a₁ = 1: the key at x is 0x42 ^ x.
    fn line_keys(xs: &[u8]) -> Vec<Share> {
        xs.iter().map(|&x| Share::new(x, vec![0x42 ^ x])).collect()
    }

    #[test]
    fn check_names_the_bad_key() {
        let mut set = line_keys(&[0x9c, 0x2f, 0x01, 0xe0, 0x77]);
        assert_eq!(check_set(&set, 2).unwrap().redundant(), 3);
        set[3] = Share::new(0xe0, vec![0x00]);
        let err = check_set(&set, 2).unwrap_err();
        assert_eq!(
            err,
            CheckError::Deviating {
                deviants: vec![KeyRef {
                    position: 4,
                    x: 0xe0
                }],
                agreeing: 4,
                unique: true,
            }
        );
        let message = err.to_string();
        assert!(
            message.starts_with("key 4 (x = 224) does not agree with the other 4 keys"),
            "{message}"
        );
        assert!(
            !message.contains("0x42") && !message.contains("66"),
            "{message}"
        );
    }

    #[test]
    fn check_undetermined_and_shape_refusals() {
        let mut set = line_keys(&[1, 2, 3]);
        set[1] = Share::new(2, vec![0]);
        assert_eq!(
            check_set(&set, 2).unwrap_err(),
            CheckError::Undetermined { threshold: 2 }
        );
        assert_eq!(
            check_set(&line_keys(&[1]), 2).unwrap_err(),
            CheckError::TooFewKeys {
                have: 1,
                threshold: 2
            }
        );
        assert_eq!(
            check_set(&line_keys(&[1, 2]), 0).unwrap_err(),
            CheckError::ZeroThreshold
        );
        let twice = keys(&["4101", "4402", "4101"]);
        assert_eq!(
            check_set(&twice, 2).unwrap_err(),
            CheckError::DuplicateX {
                first: 1,
                second: 3,
                x: 1,
                identical: true
            }
        );
        let clash = keys(&["4101", "4402", "4001"]);
        let err = check_set(&clash, 2).unwrap_err();
        assert!(err.to_string().contains("different splits"), "{err}");
        let lengths = keys(&["4101", "4402", "414103"]);
        assert_eq!(
            check_set(&lengths, 2).unwrap_err(),
            CheckError::UnequalLengths {
                position: 3,
                x: 3,
                len: 2,
                expected: 1
            }
        );
        // Exactly the threshold: passes, proves nothing.
        assert_eq!(check_set(&line_keys(&[5, 6]), 2).unwrap().redundant(), 0);
    }

    #[test]
    fn combine_refusals_come_from_the_core() {
        assert_eq!(
            combine(&keys(&["4101", "4101"])).unwrap_err(),
            shamir::Error::DuplicateX { x: 1 }
        );
        assert_eq!(
            combine(&keys(&["4101", "414102"])).unwrap_err(),
            shamir::Error::UnequalLengths {
                x: 2,
                len: 2,
                expected: 1
            }
        );
        assert_eq!(combine(&[]).unwrap_err(), shamir::Error::NoShares);
    }

    #[test]
    fn hex_digits_are_branch_free_and_right() {
        for n in 0..16u8 {
            assert_eq!(hex_digit(n), char::from_digit(u32::from(n), 16).unwrap());
        }
    }
}
