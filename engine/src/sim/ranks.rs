//! A run over several processes (ranks): each rank simulates its own neurons
//! ([`Simulation::new_rank`]) and the ranks swap their spikes once per *epoch* of at most
//! `min_delay` steps through an [`Exchange`] (MPI in the command-line tool).
//!
//! One epoch `e0..e1` (`e1 - e0 <= D`, the smallest delay of any synapse on any rank):
//!
//! 1. **Update** — every thread of the rank updates its neurons for all steps of the epoch,
//!    keeping each step's spikes. No input they read can come from the epoch itself: a spike
//!    of step `t >= e0` reaches no target before `t + D >= e1`.
//! 2. **Exchange** — thread 0 gathers the rank's spikes per step (threads in order: ascending
//!    ids) and swaps them with every other rank ([`Exchange::all_gather`]); per step, the ranks'
//!    lists in rank order are the step's spikes in ascending global id, exactly the list a
//!    single process makes. One barrier before, one after.
//! 3. **Deliver** — every thread delivers the epoch's steps in order, each step's spikes in
//!    ascending id, into its own ring.
//!
//! Each target receives the same additions in the same order as in a single process, which
//! delivers step by step: slot `(t + d) % R` (with `t + d >= e1`) is not read during the epoch,
//! and the additions of the epoch come in (step, id) order either way. So spikes, states and
//! every float are bit-identical for any number of ranks and threads. Cost per epoch: one
//! gather of `steps + spikes` 4-byte words from every rank.
//!
//! A rule that reads only spikes (e.g. STDP) runs on every rank on the rank's own synapses:
//! in step 3 each step is delivered by every thread, then shown to the rule, whose weight
//! changes are made before the next step is delivered — the order of one process, since the
//! updates of the epoch read no input the rule's changes could have touched.

use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use super::barrier::SpinBarrier;
use super::deliver::deliver;
use super::learning::Learning;
use super::part::{Part, lock_part};
use super::simulation::Simulation;
use crate::error::{Error, Result};
use crate::network::{Delays, Network, Projection};
use crate::neuron::Block;

/// Longest epoch in steps, when the delays allow more: bounds the buffers of one exchange.
pub const MAX_EPOCH: u64 = 256;

/// How ranks swap data: the collective operations a run over several processes needs. Every
/// rank calls the same operations in the same order.
pub trait Exchange {
    /// This process's rank, `0..ranks()`.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn ranks(&self) -> usize;
    /// Every rank's `mine`, concatenated in rank order, into `all`; `lens[r]` = the length of
    /// rank `r`'s part.
    fn all_gather(&mut self, mine: &[u32], all: &mut Vec<u32>, lens: &mut Vec<usize>)
    -> Result<()>;
}

/// An [`Exchange`] between threads of one process standing in for ranks (tests, and runs that
/// want the ranks' partition without MPI): make one [`InProcess::group`] of `n`, give each
/// thread one member.
pub struct InProcess {
    rank: usize,
    board: std::sync::Arc<Board>,
}

struct Board {
    posted: Mutex<Vec<Vec<u32>>>,
    barrier: std::sync::Barrier,
}

impl InProcess {
    /// The `n` members of a new group, rank by rank.
    pub fn group(n: usize) -> Vec<InProcess> {
        let board = std::sync::Arc::new(Board {
            posted: Mutex::new(vec![Vec::new(); n]),
            barrier: std::sync::Barrier::new(n),
        });
        (0..n)
            .map(|rank| InProcess {
                rank,
                board: board.clone(),
            })
            .collect()
    }
}

impl Exchange for InProcess {
    fn rank(&self) -> usize {
        self.rank
    }

    fn ranks(&self) -> usize {
        self.board.posted.lock().expect("no panics").len()
    }

    fn all_gather(
        &mut self,
        mine: &[u32],
        all: &mut Vec<u32>,
        lens: &mut Vec<usize>,
    ) -> Result<()> {
        self.board.posted.lock().expect("no panics")[self.rank] = mine.to_vec();
        self.board.barrier.wait();
        {
            let posted = self.board.posted.lock().expect("no panics");
            all.clear();
            lens.clear();
            for p in posted.iter() {
                lens.push(p.len());
                all.extend_from_slice(p);
            }
        }
        // nobody posts the next round before everyone has read this one
        self.board.barrier.wait();
        Ok(())
    }
}

/// `ex` lent for one call, shortening the trait object's lifetime (which `Option::as_deref_mut`
/// alone cannot: `&mut` is invariant).
pub fn reborrow<'a>(ex: &'a mut Option<&mut dyn Exchange>) -> Option<&'a mut dyn Exchange> {
    match ex {
        Some(e) => Some(&mut **e),
        None => None,
    }
}

/// Rank 0: every rank's synapses of `net` (its part) assembled into the whole network, each
/// projection's rows in the order of a single process (`None` on the other ranks). Every rank
/// calls it. For the files of a run with a rule (`weights.npz`).
pub fn assemble(net: &Network, ex: &mut dyn Exchange) -> Result<Option<Network>> {
    let mut full = (ex.rank() == 0).then(|| net.clone());
    let (mut all, mut lens) = (Vec::new(), Vec::new());
    for (j, p) in net.projections.iter().enumerate() {
        let mut words = Vec::with_capacity(4 * p.len());
        for i in 0..p.n_pre() {
            for s in p.row(i) {
                let d = match &p.delays {
                    Delays::Uniform(d) => *d,
                    Delays::PerSynapse(v) => v[s],
                };
                words.extend([i as u32, p.targets[s], p.weights[s].to_bits(), u32::from(d)]);
            }
        }
        ex.all_gather(&words, &mut all, &mut lens)?;
        if let Some(full) = &mut full {
            // ranks in order, each in row order: a stable sort by (pre, post) gives the rows of
            // one process (repeated pairs in draw order)
            let syn = all
                .chunks_exact(4)
                .map(|w| (w[0], w[1], f32::from_bits(w[2]), w[3] as u16))
                .collect();
            full.projections[j] = Projection::from_triples(
                p.name.clone(),
                (p.pre, p.post),
                p.n_pre(),
                p.receptor,
                syn,
            );
        }
    }
    Ok(full)
}

/// Where a rank's time went in [`Simulation::run_exchanging`] (thread 0's view), seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RankTimes {
    /// Updating the neurons.
    pub update_s: f64,
    /// Delivering spikes into the ring.
    pub deliver_s: f64,
    /// In [`Exchange::all_gather`]: waiting for the slowest rank and moving the data.
    pub exchange_s: f64,
    /// Epochs run.
    pub epochs: u64,
    /// 4-byte words this rank sent.
    pub words_sent: u64,
}

/// What thread 0 holds besides its part: the exchange, the recorded spikes, its timings.
type Lead<'a> = (
    &'a mut dyn Exchange,
    &'a mut Vec<(u64, u32)>,
    &'a mut RankTimes,
);

/// One thread's spikes of an epoch: `counts[s]` spikes at step `e0 + s`, `ids` in step order.
#[derive(Default)]
struct EpochSpikes {
    counts: Vec<u32>,
    ids: Vec<u32>,
}

/// Every rank's spikes of an epoch, step by step: step `s`'s ids are `ids[at[s]..at[s + 1]]`.
#[derive(Default)]
struct Global {
    ids: Vec<u32>,
    at: Vec<usize>,
}

impl Global {
    fn step(&self, s: usize) -> &[u32] {
        &self.ids[self.at[s]..self.at[s + 1]]
    }
}

impl Simulation {
    /// Whether what is attached can run over several ranks (see [`Simulation::run_exchanging`]):
    /// an error naming what cannot.
    pub fn check_over_ranks(&self) -> Result<()> {
        if let Some(what) = self.learn.over_ranks() {
            return Err(Error::input(
                "rule",
                what,
                format!(
                    "does not run over several ranks yet ({} ranks): only rules that read \
                     spikes alone and change weights directly (e.g. stdp) do",
                    self.rank.1
                ),
                "run the network with this rule on one rank (threads give the same results)",
            ));
        }
        Ok(())
    }

    /// Simulate `steps` more steps as this rank of a run over several processes: every rank
    /// calls it with the same `steps` ([`Simulation::run`] otherwise). The recorded spikes are
    /// every rank's. An attached rule runs on every rank on that rank's synapses if it reads
    /// spikes alone and changes weights directly (each step's hook after every part has
    /// delivered the step, as in one process); other rules are refused.
    pub fn run_exchanging(
        &mut self,
        steps: u64,
        progress: Option<&(dyn Fn(u64) + Sync)>,
        ex: &mut dyn Exchange,
        times: &mut RankTimes,
    ) -> Result<()> {
        if (ex.rank(), ex.ranks()) != self.rank {
            return Err(Error::input(
                "rank",
                format!("{} of {}", ex.rank(), ex.ranks()),
                format!(
                    "the simulation was made for rank {} of {}",
                    self.rank.0, self.rank.1
                ),
                "",
            ));
        }
        self.check_over_ranks()?;
        let rules = self.learn.active();
        // every rank's smallest delay: the epoch length all ranks agree on
        let (mut all, mut lens) = (Vec::new(), Vec::new());
        ex.all_gather(&[u32::from(self.net.min_delay())], &mut all, &mut lens)?;
        let d = all
            .iter()
            .copied()
            .min()
            .map_or(1, u64::from)
            .clamp(1, MAX_EPOCH);
        let (t0, t1) = (self.step, self.step + steps);
        let k = self.parts.len();
        let routes = &self.routes;
        let net = RwLock::new(&mut self.net);
        let record_pop = &self.record_pop;
        let barrier = SpinBarrier::new(k);
        let slots: Vec<Mutex<EpochSpikes>> = (0..k).map(|_| Mutex::default()).collect();
        let global = RwLock::new(Global::default());
        let parts: Vec<Mutex<Part>> = std::mem::take(&mut self.parts)
            .into_iter()
            .map(Mutex::new)
            .collect();
        let failed: Mutex<Option<Error>> = Mutex::new(None);
        let stop = AtomicBool::new(false);
        let body = |kk: usize, mut lead: Option<Lead<'_>>, mut learn: Option<&mut Learning>| {
            let mut e0 = t0;
            let mut mine = EpochSpikes::default();
            let (mut rank_words, mut gathered, mut lens) = (Vec::new(), Vec::new(), Vec::new());
            while e0 < t1 {
                let e1 = (e0 + d).min(t1);
                let clock = Instant::now();
                {
                    let mut part = lock_part(&parts[kk]);
                    mine.counts.clear();
                    mine.ids.clear();
                    for t in e0..e1 {
                        part.update(t, routes.r);
                        mine.counts.push(part.spikes.len() as u32);
                        mine.ids.extend_from_slice(&part.spikes);
                    }
                    std::mem::swap(&mut *slots[kk].lock().expect("no panics"), &mut mine);
                }
                let updated = clock.elapsed().as_secs_f64();
                barrier.wait();
                if let Some((ex, recorded, times)) = lead.as_mut() {
                    times.update_s += updated;
                    let clock = Instant::now();
                    let n = (e1 - e0) as usize;
                    merge_threads(&slots, n, &mut rank_words);
                    let result = ex.all_gather(&rank_words, &mut gathered, &mut lens);
                    times.exchange_s += clock.elapsed().as_secs_f64();
                    times.epochs += 1;
                    times.words_sent += rank_words.len() as u64;
                    match result.and_then(|()| {
                        let mut g = global.write().expect("no panics");
                        split_ranks(&gathered, &lens, n, &mut g)?;
                        for s in 0..n {
                            let t = e0 + s as u64;
                            for &id in g.step(s) {
                                if record_pop[routes.population_of(id)] {
                                    recorded.push((t, id));
                                }
                            }
                        }
                        Ok(())
                    }) {
                        Ok(()) => {
                            if let Some(f) = progress {
                                f(e1);
                            }
                        }
                        Err(e) => {
                            *failed.lock().expect("no panics") = Some(e);
                            stop.store(true, AtomicOrdering::SeqCst);
                        }
                    }
                }
                barrier.wait();
                if stop.load(AtomicOrdering::SeqCst) {
                    break;
                }
                let clock = Instant::now();
                let g = global.read().expect("no panics");
                if !rules {
                    let mut part = lock_part(&parts[kk]);
                    let net = net.read().expect("no panics");
                    for (s, t) in (e0..e1).enumerate() {
                        deliver(&mut part, kk, &net, routes, g.step(s), t);
                    }
                } else {
                    // a rule sees step t once every part has delivered it, and changes weights
                    // before any part delivers t + 1: as in one process
                    for (s, t) in (e0..e1).enumerate() {
                        {
                            let mut part = lock_part(&parts[kk]);
                            let net = net.read().expect("no panics");
                            deliver(&mut part, kk, &net, routes, g.step(s), t);
                        }
                        barrier.wait();
                        if let Some(learn) = learn.as_deref_mut() {
                            let guards: Vec<_> = parts.iter().map(lock_part).collect();
                            let blocks: Vec<&[(usize, u32, u32, Block)]> =
                                guards.iter().map(|g| &g.blocks[..]).collect();
                            let mut net = net.write().expect("no panics");
                            if let Err(e) =
                                learn.step(t, g.step(s), &blocks, &routes.starts, &mut net)
                            {
                                failed.lock().expect("no panics").get_or_insert(e);
                                stop.store(true, AtomicOrdering::SeqCst);
                            }
                        }
                        barrier.wait();
                        if stop.load(AtomicOrdering::SeqCst) {
                            break;
                        }
                    }
                }
                drop(g);
                if let Some((_, _, times)) = lead.as_mut() {
                    times.deliver_s += clock.elapsed().as_secs_f64();
                }
                if stop.load(AtomicOrdering::SeqCst) {
                    break;
                }
                e0 = e1;
            }
        };
        let recorded = &mut self.spikes;
        let learn = &mut self.learn;
        std::thread::scope(|s| {
            for kk in 1..k {
                let body = &body;
                s.spawn(move || body(kk, None, None));
            }
            body(0, Some((ex, recorded, times)), Some(learn));
        });
        self.parts = parts
            .into_iter()
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect();
        match failed.into_inner().expect("no panics") {
            Some(e) => Err(e),
            None => {
                self.step = t1;
                Ok(())
            }
        }
    }
}

/// The rank's words of an epoch of `n` steps: `n` counts (every thread's spikes at that step),
/// then the ids, step by step, threads in order (ascending ids within a step).
fn merge_threads(slots: &[Mutex<EpochSpikes>], n: usize, out: &mut Vec<u32>) {
    let held: Vec<_> = slots.iter().map(|s| s.lock().expect("no panics")).collect();
    out.clear();
    for s in 0..n {
        out.push(held.iter().map(|h| h.counts[s]).sum());
    }
    let mut at = vec![0usize; held.len()];
    for s in 0..n {
        for (h, a) in held.iter().zip(at.iter_mut()) {
            let c = h.counts[s] as usize;
            out.extend_from_slice(&h.ids[*a..*a + c]);
            *a += c;
        }
    }
}

/// Every rank's words of an epoch of `n` steps (`gathered`, rank `r`'s `lens[r]` words, each
/// as [`merge_threads`] makes them) into `g`: per step, the ranks' ids in rank order.
fn split_ranks(gathered: &[u32], lens: &[usize], n: usize, g: &mut Global) -> Result<()> {
    let bad = |what: &str| {
        Error::input(
            "exchange",
            what,
            "a rank sent a malformed epoch (ranks running different programs or inputs?)",
            "run the same eligo and the same arguments on every rank",
        )
    };
    // (start of counts, cursor into ids) of each rank
    let mut cursors = Vec::with_capacity(lens.len());
    let mut off = 0usize;
    for &len in lens {
        if len < n {
            return Err(bad("short"));
        }
        let counts = &gathered[off..off + n];
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        if total != len - n {
            return Err(bad("counts"));
        }
        cursors.push((off, off + n));
        off += len;
    }
    g.ids.clear();
    g.at.clear();
    g.at.push(0);
    for s in 0..n {
        for (start, cur) in cursors.iter_mut() {
            let c = gathered[*start + s] as usize;
            g.ids.extend_from_slice(&gathered[*cur..*cur + c]);
            *cur += c;
        }
        g.at.push(g.ids.len());
    }
    Ok(())
}
