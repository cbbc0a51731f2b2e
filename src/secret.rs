//! Secret byte strings that leave no copies behind: wiped on drop, never shown.

use core::fmt;

use zeroize::Zeroizing;

/// A secret value (a credential, a passphrase): wiped when dropped; `Debug` shows only
/// its length; no `Display`, no `Clone`, no serde.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes over `bytes` (wiped on drop).
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a new secret.
    pub fn from_slice(bytes: &[u8]) -> SecretBytes {
        SecretBytes::new(bytes.to_vec())
    }

    /// The secret bytes. Named so that every use is visible in review.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes (public).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_only_the_length() {
        let s = SecretBytes::from_slice(b"hunter2");
        assert_eq!(format!("{s:?}"), "SecretBytes(<7 bytes>)");
        assert_eq!(s.expose(), b"hunter2");
    }
}
