//! Bounds on the agent's expensive work, so that a caller who can connect cannot use
//! it up: keyslot derivations (Argon2id, tens of MiB each) run through a bounded queue
//! on a fixed pool of workers inside a global memory budget, and keyslot guesses are
//! throttled per caller uid and per officer with exponential backoff.
//!
//! Both are checked before any derivation starts, under one short lock each, so a
//! refusal costs a map lookup.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::protocol::SecretText;
use crate::share::slip39::Slip39Share;
use crate::vault::{Sealed, SubmitError};

/// Consecutive failed guesses allowed before waits start.
pub const FREE_FAILURES: u32 = 3;
/// The first wait; each further failure doubles it.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(300);
/// What a caller is told to wait while its previous guess is still being derived.
pub const IN_FLIGHT_WAIT: Duration = Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a thread panicked while holding it; the maps stay usable.
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The wait after `failures` consecutive failed guesses.
pub fn backoff(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_FAILURES).min(16);
    FIRST_WAIT.saturating_mul(1 << doublings).min(MAX_WAIT)
}

#[derive(Default)]
struct Gate {
    failures: u32,
    in_flight: bool,
    until: Option<Instant>,
}

impl Gate {
    /// How long the caller must wait, if at all.
    fn wait(&self, now: Instant) -> Option<Duration> {
        if self.in_flight {
            return Some(IN_FLIGHT_WAIT);
        }
        self.until
            .map(|until| until.saturating_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    fn finish(&mut self, failed: Option<bool>, now: Instant) {
        self.in_flight = false;
        match failed {
            Some(true) => {
                self.failures = self.failures.saturating_add(1);
                self.until = Some(now + backoff(self.failures));
            }
            Some(false) => {
                self.failures = 0;
                self.until = None;
            }
            None => {}
        }
    }

    fn idle(&self, now: Instant) -> bool {
        self.failures == 0 && !self.in_flight && self.wait(now).is_none()
    }
}

#[derive(Default)]
struct Gates {
    uids: HashMap<u32, Gate>,
    officers: HashMap<String, Gate>,
}

/// Keyslot guesses, throttled per caller uid and per officer: one guess in flight per
/// uid and per officer, [`FREE_FAILURES`] failures free, then a wait that doubles with
/// each further failure from [`FIRST_WAIT`] up to [`MAX_WAIT`]. A success clears both.
#[derive(Default)]
pub struct Throttle {
    gates: Mutex<Gates>,
}

/// An admitted guess. Report its outcome with [`Ticket::finish`]; dropped unfinished
/// (the derivation never ran) it counts neither way.
pub struct Ticket<'a> {
    throttle: &'a Throttle,
    uid: u32,
    officer: Option<String>,
    done: bool,
}

impl Throttle {
    /// Admits a guess by `uid` for `officer` (`None` for a name the vault does not have:
    /// only the uid's gate applies, so that unknown names cannot fill the table), or
    /// says how long to wait.
    ///
    /// # Errors
    ///
    /// The wait, when the uid or the officer has a guess in flight or is backing off.
    pub fn admit(&self, uid: u32, officer: Option<&str>) -> Result<Ticket<'_>, Duration> {
        let now = Instant::now();
        let mut gates = lock(&self.gates);
        let by_uid = gates.uids.get(&uid).and_then(|g| g.wait(now));
        let by_officer = officer
            .and_then(|o| gates.officers.get(o))
            .and_then(|g| g.wait(now));
        if let Some(wait) = by_uid.max(by_officer) {
            return Err(wait);
        }
        gates.uids.entry(uid).or_default().in_flight = true;
        if let Some(o) = officer {
            gates.officers.entry(o.to_owned()).or_default().in_flight = true;
        }
        Ok(Ticket {
            throttle: self,
            uid,
            officer: officer.map(str::to_owned),
            done: false,
        })
    }

    fn release(&self, uid: u32, officer: Option<&str>, failed: Option<bool>) {
        let now = Instant::now();
        let mut gates = lock(&self.gates);
        if let Some(g) = gates.uids.get_mut(&uid) {
            g.finish(failed, now);
            if g.idle(now) {
                gates.uids.remove(&uid);
            }
        }
        if let Some((o, g)) = officer.and_then(|o| Some((o, gates.officers.get_mut(o)?))) {
            g.finish(failed, now);
            if g.idle(now) {
                gates.officers.remove(o);
            }
        }
    }
}

impl Ticket<'_> {
    /// Records the outcome: `true` when the guess failed (a wrong passphrase or an
    /// unknown officer), `false` when it opened the keyslot.
    pub fn finish(mut self, failed: bool) {
        self.done = true;
        self.throttle
            .release(self.uid, self.officer.as_deref(), Some(failed));
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.throttle
                .release(self.uid, self.officer.as_deref(), None);
        }
    }
}

/// Memory in KiB not yet promised to a derivation.
struct Budget {
    free_kib: Mutex<u64>,
    freed: Condvar,
}

struct Job {
    opener: Arc<Sealed>,
    officer: String,
    passphrase: SecretText,
    memory_kib: u64,
    reply: mpsc::SyncSender<Result<Slip39Share, SubmitError>>,
}

/// Why a derivation was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueRefusal {
    /// The queue is full.
    Full,
    /// The keyslot needs more memory than the whole budget.
    TooBig {
        /// What the keyslot needs, in KiB.
        need_kib: u64,
        /// The budget, in KiB.
        budget_kib: u64,
    },
}

/// The keyslot derivation queue: at most `capacity` waiting, `workers` threads, and
/// never more than the memory budget in use by derivations at once.
pub struct Deriver {
    sender: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    budget_kib: u64,
}

impl Deriver {
    /// Starts `workers` threads (at least one) sharing `budget_bytes` of memory, with a
    /// queue of `capacity` jobs.
    ///
    /// # Errors
    ///
    /// The system's error when a thread cannot be started.
    pub fn start(workers: usize, capacity: usize, budget_bytes: u64) -> std::io::Result<Deriver> {
        let budget_kib = budget_bytes / 1024;
        let (sender, receiver) = mpsc::sync_channel::<Job>(capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        let budget = Arc::new(Budget {
            free_kib: Mutex::new(budget_kib),
            freed: Condvar::new(),
        });
        let mut deriver = Deriver {
            sender: Some(sender),
            workers: Vec::new(),
            budget_kib,
        };
        for _ in 0..workers.max(1) {
            let (receiver, budget) = (Arc::clone(&receiver), Arc::clone(&budget));
            let handle = thread::Builder::new()
                .name("svault-derive".into())
                .spawn(move || work(&receiver, &budget))?;
            deriver.workers.push(handle);
        }
        Ok(deriver)
    }

    /// Queues the opening of `officer`'s keyslot (which needs `memory_kib` of memory);
    /// the answer arrives on the returned channel.
    ///
    /// # Errors
    ///
    /// [`QueueRefusal`]: the queue is full, or the keyslot needs more than the budget.
    pub fn submit(
        &self,
        opener: Arc<Sealed>,
        officer: &str,
        passphrase: SecretText,
        memory_kib: u64,
    ) -> Result<Receiver<Result<Slip39Share, SubmitError>>, QueueRefusal> {
        if memory_kib > self.budget_kib {
            return Err(QueueRefusal::TooBig {
                need_kib: memory_kib,
                budget_kib: self.budget_kib,
            });
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            opener,
            officer: officer.to_owned(),
            passphrase,
            memory_kib,
            reply,
        };
        let Some(sender) = &self.sender else {
            return Err(QueueRefusal::Full);
        };
        match sender.try_send(job) {
            Ok(()) => Ok(answer),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(QueueRefusal::Full),
        }
    }
}

fn work(receiver: &Mutex<Receiver<Job>>, budget: &Budget) {
    loop {
        let job = match lock(receiver).recv() {
            Ok(job) => job,
            Err(_) => return, // the Deriver was dropped
        };
        {
            let mut free = lock(&budget.free_kib);
            while *free < job.memory_kib {
                free = match budget.freed.wait(free) {
                    Ok(g) => g,
                    Err(poisoned) => poisoned.into_inner(),
                };
            }
            *free -= job.memory_kib;
        }
        let result = job
            .opener
            .open_slot(&job.officer, job.passphrase.expose().as_bytes());
        *lock(&budget.free_kib) += job.memory_kib;
        budget.freed.notify_all();
        // The caller may have gone; then the share is simply dropped (and wiped).
        let _ = job.reply.send(result);
    }
}

impl Drop for Deriver {
    fn drop(&mut self) {
        // Closing the queue ends each worker after its current job.
        self.sender = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_the_free_failures_up_to_the_cap() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(FREE_FAILURES - 1), Duration::ZERO);
        assert_eq!(backoff(FREE_FAILURES), FIRST_WAIT);
        assert_eq!(backoff(FREE_FAILURES + 1), FIRST_WAIT * 2);
        assert_eq!(backoff(FREE_FAILURES + 3), FIRST_WAIT * 8);
        assert_eq!(backoff(u32::MAX), MAX_WAIT);
    }

    #[test]
    fn one_guess_in_flight_per_uid_and_officer_then_backoff() {
        let t = Throttle::default();
        let first = t.admit(1, Some("erin")).unwrap();
        // Same uid, or same officer from another uid: wait.
        assert_eq!(t.admit(1, Some("alice")).err(), Some(IN_FLIGHT_WAIT));
        assert_eq!(t.admit(2, Some("erin")).err(), Some(IN_FLIGHT_WAIT));
        assert_eq!(t.admit(1, None).err(), Some(IN_FLIGHT_WAIT));
        // Another uid and officer: admitted.
        t.admit(2, Some("alice")).unwrap().finish(false);
        first.finish(true);
        for _ in 1..FREE_FAILURES {
            t.admit(1, Some("erin")).unwrap().finish(true);
        }
        let wait = t.admit(1, Some("erin")).err().unwrap();
        assert!(wait > Duration::ZERO && wait <= FIRST_WAIT, "{wait:?}");
        // The officer backs off for every uid; an unknown name only for this uid.
        assert!(t.admit(3, Some("erin")).is_err());
        assert!(t.admit(1, None).is_err());
        assert!(t.admit(3, None).is_ok());
    }

    #[test]
    fn an_unfinished_ticket_counts_neither_way() {
        let t = Throttle::default();
        for _ in 0..10 {
            drop(t.admit(1, Some("erin")).unwrap());
        }
        assert!(t.admit(1, Some("erin")).is_ok());
    }
}
