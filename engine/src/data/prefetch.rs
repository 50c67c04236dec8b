//! Reading ahead: a background thread reads the training samples the run will ask for next, so
//! that reading from disk overlaps the step loop instead of stalling it.
//!
//! The run asks for training samples in (nearly) ascending order of their training index `i`
//! (sequence `b` of iteration `n` is `n * B + b`; lanes ask in parallel). The thread reads
//! `i0, i0 + 1, ...` into a window of at most `capacity` records, starting where the run last
//! asked; a record asked for is taken out of the window. A request outside the window moves it
//! (the record is then read on the caller's thread). A record is the same whoever reads it, so
//! read-ahead never changes a result, only when the reading happens; memory is at most
//! `capacity` records.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use super::Record;
use crate::error::Result;

/// Reads training index `i` (after the epoch's shuffle).
pub type ReadFn = dyn Fn(u64) -> Result<Record> + Send + Sync;

#[derive(Default)]
struct State {
    /// First index of the window: the first sequence of the batch the run is in.
    base: u64,
    /// Next index the thread reads.
    next: u64,
    /// The index the thread is reading now.
    in_flight: Option<u64>,
    /// Records read ahead (index → record).
    ready: BTreeMap<u64, Result<Record>>,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when the window moves, a record is taken or a record is ready.
    changed: Condvar,
    capacity: u64,
    batch: u64,
}

/// The read-ahead thread and its window.
pub struct Prefetch {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Prefetch {
    /// Start reading ahead from index 0 for mini-batches of `batch`: a window of
    /// `max(capacity, 2 batch)` records from the first sequence of the current batch, so the
    /// next batch is read while this one runs.
    pub fn start(read: Arc<ReadFn>, capacity: usize, batch: usize) -> Prefetch {
        let batch = batch.max(1) as u64;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            capacity: (capacity as u64).max(2 * batch),
            batch,
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("eligo-prefetch".into())
            .spawn(move || run(&s, read.as_ref()))
            .ok();
        Prefetch { shared, thread }
    }

    /// Record `i`, read ahead (waiting for the thread if it has not got there yet); `None`:
    /// read it yourself (it was asked for before, or the thread is gone).
    pub fn take(&self, i: u64) -> Option<Result<Record>> {
        self.thread.as_ref()?;
        let s = &self.shared;
        let mut g = s.state.lock().unwrap_or_else(|p| p.into_inner());
        let start = i - i % s.batch;
        if i < g.base || i >= g.base + s.capacity {
            // a jump (a resumed run, a new schedule): read from here
            g.base = start;
            g.next = start;
            g.ready.clear();
            s.changed.notify_all();
        } else if start > g.base {
            // the run went on to a later batch: the earlier ones are done with
            g.base = start;
            g.ready.retain(|&k, _| k >= start);
            s.changed.notify_all();
        }
        loop {
            if let Some(r) = g.ready.remove(&i) {
                s.changed.notify_all();
                return Some(r);
            }
            if g.stop || (g.next > i && g.in_flight != Some(i)) {
                return None;
            }
            g = s.changed.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }
}

fn run(s: &Shared, read: &ReadFn) {
    loop {
        let i = {
            let mut g = s.state.lock().unwrap_or_else(|p| p.into_inner());
            while !g.stop && g.next >= g.base + s.capacity {
                g = s.changed.wait(g).unwrap_or_else(|p| p.into_inner());
            }
            if g.stop {
                return;
            }
            let i = g.next;
            g.next += 1;
            g.in_flight = Some(i);
            i
        };
        let r = read(i);
        let mut g = s.state.lock().unwrap_or_else(|p| p.into_inner());
        g.in_flight = None;
        // kept only while the window still covers it
        if i >= g.base && i < g.base + s.capacity {
            g.ready.insert(i, r);
        }
        s.changed.notify_all();
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stop = true;
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn record(i: u64) -> Record {
        Record {
            name: format!("sample {i}"),
            input: vec![(i, 0)],
            steps: i + 1,
            label: Some(i as usize),
            targets: None,
        }
    }

    #[test]
    fn every_request_gets_its_own_record_in_any_order() {
        let reads = Arc::new(AtomicU64::new(0));
        let r = Arc::clone(&reads);
        let p = Prefetch::start(
            Arc::new(move |i| {
                r.fetch_add(1, Ordering::Relaxed);
                Ok(record(i))
            }),
            8,
            4,
        );
        // batches of 4 asked lane by lane, a jump back (resume) and a repeat
        let asks = [0, 2, 1, 3, 4, 6, 5, 7, 9, 8, 11, 10, 100, 101, 3, 3];
        let mut got = Vec::new();
        for &i in &asks {
            let rec = match p.take(i) {
                Some(r) => r.unwrap(),
                None => record(i),
            };
            assert_eq!(rec, record(i), "asked {i}");
            got.push(rec.steps - 1);
        }
        assert_eq!(got, asks);
        drop(p);
        // bounded: the window never runs more than its capacity ahead of a request
        assert!(reads.load(Ordering::Relaxed) <= asks.len() as u64 + 3 * 8);
    }

    #[test]
    fn errors_reach_the_caller() {
        let p = Prefetch::start(
            Arc::new(|i| match i {
                2 => Err(crate::error::Error::input("file", "x", "bad sample", "")),
                _ => Ok(record(i)),
            }),
            4,
            2,
        );
        assert!(p.take(0).unwrap().is_ok());
        assert!(p.take(1).unwrap().is_ok());
        assert!(p.take(2).unwrap().is_err());
    }
}
