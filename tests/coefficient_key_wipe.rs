//! The split generator's key does not outlive it: after a `CoefficientRng` is dropped,
//! the memory it occupied holds neither half of its AES-256 key (with AES-NI the first
//! two round keys are the key itself, so an unwiped key schedule gives the split's
//! coefficients, and with one share the secret, to anyone who reads freed memory).
#![allow(clippy::unwrap_used, unsafe_code)]

use std::mem::{MaybeUninit, size_of};

use rand::RngCore;
use svault::shamir::CoefficientRng;

#[test]
fn a_dropped_generator_leaves_no_copy_of_its_key() {
    let key: [u8; 32] = core::array::from_fn(|i| 0xa5 ^ (i as u8).wrapping_mul(37));
    let mut slot = MaybeUninit::<CoefficientRng>::uninit();
    // SAFETY: the slot is `size_of::<CoefficientRng>()` writable bytes; filling them
    // first makes every byte (padding included) initialised for the read below.
    unsafe {
        slot.as_mut_ptr()
            .cast::<u8>()
            .write_bytes(0x5a, size_of::<CoefficientRng>())
    };
    let generator = slot.write(CoefficientRng::from_key(key));
    let mut drawn = [0u8; 40];
    generator.fill_bytes(&mut drawn);
    // SAFETY: the slot holds a live generator, dropped exactly once here and never used
    // again; its bytes stay allocated (on this stack frame) for the read below.
    unsafe { slot.as_mut_ptr().drop_in_place() };
    // SAFETY: the slot's bytes are allocated and were all initialised (above); a
    // dropped value's bytes are plain memory, which is what an attacker reads.
    let left = unsafe {
        std::slice::from_raw_parts(slot.as_ptr().cast::<u8>(), size_of::<CoefficientRng>())
    };
    for half in key.chunks(16) {
        assert!(
            !left.windows(16).any(|w| w == half),
            "the dropped generator's memory still holds its key"
        );
    }
}
