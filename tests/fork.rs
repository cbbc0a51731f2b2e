//! A forked child never repeats its parent's split coefficients: the thread generator
//! behind `split` reseeds from the OS after a fork before it keys another split
//! (SECURITY.md, "Randomness"). Its own test binary, so that no other test's thread is
//! running when it forks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, unsafe_code)]

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, pipe, read, write};
use rand::RngCore;
use svault::shamir::CoefficientRng;

fn draw() -> [u8; 64] {
    let mut bytes = [0u8; 64];
    CoefficientRng::new().fill_bytes(&mut bytes);
    bytes
}

#[test]
fn parent_and_child_draw_different_coefficients_after_a_fork() {
    for round in 0..8 {
        // The thread's state exists before the fork, as in a server that forks workers.
        let _ = draw();
        let (reader, writer) = pipe().unwrap();
        // SAFETY: the child only draws from the generator (no allocation, no lock: a
        // thread-local key, ChaCha and AES blocks, one getrandom call), writes to a pipe
        // and leaves with `_exit`; the test binary runs no other thread that could hold
        // a lock at the fork.
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => {
                // A panic must not unwind into the test harness's copy in this process.
                let ok = std::panic::catch_unwind(|| {
                    let bytes = draw();
                    write(&writer, &bytes)
                        .map(|n| n == bytes.len())
                        .unwrap_or(false)
                })
                .unwrap_or(false);
                // SAFETY: ends the child without running the parent's exit handlers.
                unsafe { nix::libc::_exit(if ok { 0 } else { 1 }) }
            }
            ForkResult::Parent { child } => {
                drop(writer);
                let parent = draw();
                let mut from_child = [0u8; 64];
                let mut got = 0;
                while got < from_child.len() {
                    let n = read(&reader, &mut from_child[got..]).unwrap();
                    assert!(n > 0, "round {round}: the child wrote {got} bytes");
                    got += n;
                }
                assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 0));
                assert_ne!(
                    parent, from_child,
                    "round {round}: parent and child drew the same coefficients"
                );
            }
        }
    }
}
