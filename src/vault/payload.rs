//! The payload's plaintext: the credentials, encoded as in FORMAT.md §3.1.
//!
//! ```text
//! count: u32 BE, then per credential, in strictly increasing name order:
//!   name_len: u16 BE ‖ name (UTF-8) ‖ created: u64 BE ‖ updated: u64 BE ‖ value_len: u32 BE ‖ value
//! ```

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::secret::SecretBytes;

/// One stored credential: its value and public metadata.
#[derive(Debug)]
pub(crate) struct Credential {
    pub(crate) value: SecretBytes,
    pub(crate) created: u64,
    pub(crate) updated: u64,
}

/// Why a decrypted payload could not be read. It authenticated, so this means a bug
/// in the writer, never damage; kept distinct so it is never mistaken for either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the decrypted credential list is malformed at byte {offset}: {reason}")]
pub struct PayloadError {
    /// Offset in the plaintext.
    pub offset: usize,
    /// What was wrong.
    pub reason: &'static str,
}

/// The credential names svault accepts: 1 to 255 bytes of UTF-8, no whitespace or
/// control characters (names become file names and environment variables later).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub(crate) fn encode(
    credentials: &BTreeMap<String, Credential>,
) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let size = 4 + credentials
        .iter()
        .map(|(n, c)| 2 + n.len() + 8 + 8 + 4 + c.value.len())
        .sum::<usize>();
    // Pre-sized so that no reallocation leaves a copy of a value behind.
    let mut out = Zeroizing::new(Vec::with_capacity(size + super::format::TAG_LEN));
    let count = u32::try_from(credentials.len()).map_err(|_| "more than 2^32 credentials")?;
    out.extend_from_slice(&count.to_be_bytes());
    for (name, credential) in credentials {
        let name_len =
            u16::try_from(name.len()).map_err(|_| "a name is longer than 65535 bytes")?;
        let value_len =
            u32::try_from(credential.value.len()).map_err(|_| "a value is 4 GiB or more")?;
        out.extend_from_slice(&name_len.to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&credential.created.to_be_bytes());
        out.extend_from_slice(&credential.updated.to_be_bytes());
        out.extend_from_slice(&value_len.to_be_bytes());
        out.extend_from_slice(credential.value.expose());
    }
    Ok(out)
}

/// A bounds-checked reader that never reads past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PayloadError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(PayloadError {
            offset: self.at,
            reason: "a field runs past the end",
        })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PayloadError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Result<BTreeMap<String, Credential>, PayloadError> {
    let mut reader = Reader { bytes, at: 0 };
    let count = u32::from_be_bytes(reader.array()?);
    let mut credentials = BTreeMap::new();
    let mut previous: Option<String> = None;
    for _ in 0..count {
        let at = reader.at;
        let name_len = u16::from_be_bytes(reader.array()?);
        let name = core::str::from_utf8(reader.take(usize::from(name_len))?)
            .map_err(|_| PayloadError {
                offset: at,
                reason: "a name is not UTF-8",
            })?
            .to_owned();
        if !valid_name(&name) {
            return Err(PayloadError {
                offset: at,
                reason: "a name is not a valid credential name",
            });
        }
        if previous.as_ref().is_some_and(|p| *p >= name) {
            return Err(PayloadError {
                offset: at,
                reason: "names are not in strictly increasing order",
            });
        }
        let created = u64::from_be_bytes(reader.array()?);
        let updated = u64::from_be_bytes(reader.array()?);
        let value_len = u32::from_be_bytes(reader.array()?);
        let value_len = usize::try_from(value_len).map_err(|_| PayloadError {
            offset: at,
            reason: "value too long",
        })?;
        let value = SecretBytes::from_slice(reader.take(value_len)?);
        previous = Some(name.clone());
        credentials.insert(
            name,
            Credential {
                value,
                created,
                updated,
            },
        );
    }
    if reader.at != bytes.len() {
        return Err(PayloadError {
            offset: reader.at,
            reason: "bytes after the last credential",
        });
    }
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let mut map = BTreeMap::new();
        for (name, value) in [
            ("db/password", &b"hunter2"[..]),
            ("api-token", b""),
            ("z", &[0u8, 255][..]),
        ] {
            map.insert(
                name.to_owned(),
                Credential {
                    value: SecretBytes::from_slice(value),
                    created: 1,
                    updated: 2,
                },
            );
        }
        let bytes = encode(&map).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back["db/password"].value.expose(), b"hunter2");
        assert_eq!(back["z"].value.expose(), &[0, 255]);
        assert_eq!(back["api-token"].updated, 2);
        // Every truncation is refused, never a panic.
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes.to_vec();
        extra.push(0);
        assert_eq!(
            decode(&extra).unwrap_err().reason,
            "bytes after the last credential"
        );
    }

    #[test]
    fn names() {
        assert!(valid_name("db/password"));
        assert!(!valid_name(""));
        assert!(!valid_name("two words"));
        assert!(!valid_name("tab\there"));
        assert!(!valid_name(&"x".repeat(256)));
    }
}
