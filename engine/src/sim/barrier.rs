//! A spinning barrier for the lock-step threads of the step loop.
//!
//! `std::sync::Barrier` parks threads on a condition variable: a few microseconds per wait,
//! which at 10^4 steps per simulated second costs more than the CUBA network's whole step
//! (measured with `eligo bench cuba --threads 2`). Threads here wait microseconds at most, so
//! they spin, and yield to the OS after a while in case there are more threads than cores.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Sense-reversing spin barrier for a fixed number of threads.
#[derive(Debug)]
pub struct SpinBarrier {
    n: usize,
    count: AtomicUsize,
    generation: AtomicUsize,
}

impl SpinBarrier {
    /// A barrier for `n` threads.
    pub fn new(n: usize) -> Self {
        SpinBarrier {
            n,
            count: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        }
    }

    /// Block until all `n` threads have called `wait` for this generation. Everything a thread
    /// wrote before `wait` is visible to every thread after it (AcqRel on the counter, Release
    /// on the generation bump, Acquire on its observation).
    pub fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.count.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if spins < 2000 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn no_thread_passes_early() {
        let b = SpinBarrier::new(4);
        let counter = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for round in 1..=200u64 {
                        counter.fetch_add(1, Ordering::SeqCst);
                        b.wait();
                        assert!(counter.load(Ordering::SeqCst) >= 4 * round);
                        b.wait();
                    }
                });
            }
        });
        assert_eq!(counter.load(Ordering::SeqCst), 800);
    }
}
