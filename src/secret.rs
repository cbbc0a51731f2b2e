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

/// A secret buffer that is allocated once and never grows: it refuses to be filled
/// past the capacity it was made with, so no reallocation can leave a copy of its
/// contents in freed memory. Wiped on drop.
///
/// Size it first (with a counting pass over whatever produces the bytes), then fill it.
pub(crate) struct FixedBuffer(Zeroizing<Vec<u8>>);

/// [`FixedBuffer::extend`] was asked to go past the buffer's capacity; nothing was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WouldGrow;

impl FixedBuffer {
    /// An empty buffer with room for exactly `capacity` bytes (`Vec::with_capacity`
    /// gives exactly the requested capacity for bytes).
    pub(crate) fn with_capacity(capacity: usize) -> FixedBuffer {
        FixedBuffer(Zeroizing::new(Vec::with_capacity(capacity)))
    }

    /// A buffer of `room` spare bytes after a copy of `bytes`.
    pub(crate) fn copy_of(bytes: &[u8], room: usize) -> FixedBuffer {
        let mut buffer = FixedBuffer::with_capacity(bytes.len().saturating_add(room));
        buffer.0.extend_from_slice(bytes);
        buffer
    }

    /// Appends `bytes`, or refuses (adding nothing) when they do not fit.
    pub(crate) fn extend(&mut self, bytes: &[u8]) -> Result<(), WouldGrow> {
        if self.0.capacity() - self.0.len() < bytes.len() {
            return Err(WouldGrow);
        }
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    /// The bytes, as a vector that is still wiped on drop.
    pub(crate) fn into_inner(self) -> Zeroizing<Vec<u8>> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_buffer_refuses_to_grow_and_keeps_its_allocation() {
        let mut b = FixedBuffer::with_capacity(8);
        let start = b.0.as_ptr();
        assert_eq!(b.0.capacity(), 8);
        b.extend(b"abcde").unwrap();
        assert_eq!(b.extend(b"fghi"), Err(WouldGrow), "5 + 4 > 8");
        assert_eq!(&b.0[..], b"abcde", "nothing of the refused bytes was added");
        b.extend(b"fgh").unwrap();
        let v = b.into_inner();
        assert_eq!(&v[..], b"abcdefgh");
        assert_eq!((v.capacity(), v.as_ptr()), (8, start), "never reallocated");

        let c = FixedBuffer::copy_of(b"words", 16);
        assert_eq!((&c.0[..], c.0.capacity()), (&b"words"[..], 21));
    }

    #[test]
    fn debug_shows_only_the_length() {
        let s = SecretBytes::from_slice(b"hunter2");
        assert_eq!(format!("{s:?}"), "SecretBytes(<7 bytes>)");
        assert_eq!(s.expose(), b"hunter2");
    }
}
