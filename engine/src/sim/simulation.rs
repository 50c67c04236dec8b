//! The step loop.
//!
//! One step `t` (every thread `k` on its own neurons, in lock-step):
//!
//! 1. **Update** — each block of `k`'s neurons reads its input from ring slot `t % R` (summed
//!    weights of all spikes due at `t`), zeroes the slot, advances one step and appends its
//!    spikes (global ids, ascending) to `k`'s spike list. Sources emit their spikes here too.
//! 2. **Publish** — `k` swaps its list into `slots[t % 2][k]`; barrier.
//! 3. **Deliver** — `k` walks, for every spike of step `t` (all threads' lists in thread
//!    order, i.e. ascending global id), only its own part of each outgoing row, adding the
//!    weight into ring slot `(t + delay) % R` of the target. Thread 0 also records.
//!
//! Invariants: a spike of step `t` reaches its targets at step `t + delay` (delay >= 1), never
//! earlier; `R = max_delay + 1` slots, so slot `(t + d) % R` is never the one being read at `t`.
//! The publish slots are double-buffered: slot parity `t % 2` is next written at `t + 2`, after
//! the barrier of `t + 1`, which no thread passes before finishing delivery of `t`. So one
//! barrier per step suffices. Work per step: neurons (update) + spikes × fan-out (delivery).

use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Mutex, RwLock};

use super::barrier::SpinBarrier;
use super::deliver::{Routes, deliver};
use super::learning::Learning;
use super::part::{Part, Slots, lock_part};
use super::record::{SimOptions, StateProbe};
use crate::error::{Error, Result};
use crate::network::{Network, split_ids};
use crate::neuron::{Block, SpikeFeed};

/// A network being simulated: its state split over threads, the routing tables, recorders.
pub struct Simulation {
    pub(super) net: Network,
    pub(super) parts: Vec<Part>,
    pub(super) routes: Routes,
    pub(super) step: u64,
    pub(super) record_pop: Vec<bool>,
    pub(super) spikes: Vec<(u64, u32)>,
    probes: Vec<StateProbe>,
    /// For each probe, for each of its neurons: (part, column in part).
    probe_cols: Vec<Vec<(usize, usize)>>,
    /// The rule, the teacher and what they fill.
    pub(super) learn: Learning,
    /// This process's rank and the number of ranks ([`Simulation::new_rank`]; `(0, 1)`).
    pub(super) rank: (usize, usize),
}

// A simulation moves between threads (the trainer's lanes, a front end that releases its
// interpreter lock around a run): checked at compile time.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Simulation>();
};

/// Steps between two progress reports of [`Simulation::run`].
const PROGRESS_EVERY: u64 = 256;

/// What thread 0 does in every copy of the step loop besides simulating: record the spikes of
/// the recorded populations and report progress. One copy, inlined into each loop.
#[derive(Clone, Copy)]
struct StepLog<'a> {
    record_pop: &'a [bool],
    routes: &'a Routes,
    progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// The run's first step.
    t0: u64,
}

impl StepLog<'_> {
    /// Append the spikes of step `t` (`spikes`, ascending global ids) of recorded populations.
    #[inline]
    fn record(&self, t: u64, spikes: &[u32], recorded: &mut Vec<(u64, u32)>) {
        for &s in spikes {
            if self.record_pop[self.routes.population_of(s)] {
                recorded.push((t, s));
            }
        }
    }

    /// Step `t` is done: report every [`PROGRESS_EVERY`] steps of the run.
    #[inline]
    fn progress(&self, t: u64) {
        if let Some(f) = self.progress
            && (t + 1 - self.t0).is_multiple_of(PROGRESS_EVERY)
        {
            f(t + 1);
        }
    }
}

/// Counters of a simulation so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    /// Steps simulated.
    pub steps: u64,
    /// Synaptic events delivered.
    pub events: u64,
    /// Spikes per population.
    pub spikes: Vec<u64>,
}

impl Simulation {
    /// Prepare `net` for simulation on `opts.threads` threads.
    pub fn new(net: Network, opts: &SimOptions) -> Result<Self> {
        Self::new_rank(net, opts, 0, 1)
    }

    /// Prepare rank `rank` of `ranks` processes: its share of the neurons
    /// ([`crate::network::split_ids`] over ranks, then over `opts.threads` threads) from `net`,
    /// which holds at least the synapses ending on them ([`crate::network::NetworkSpec::build_part`]).
    /// Run it with [`Simulation::run_exchanging`]; the spikes it records are every rank's.
    pub fn new_rank(net: Network, opts: &SimOptions, rank: usize, ranks: usize) -> Result<Self> {
        if ranks == 0 || rank >= ranks {
            return Err(Error::input(
                "rank",
                format!("{rank} of {ranks}"),
                "must be below the number of ranks",
                "",
            ));
        }
        if ranks > 1 && !opts.record.state.is_empty() {
            return Err(Error::input(
                "recorder",
                "kind = \"state\"",
                format!("state recorders are not supported yet over several ranks ({ranks})"),
                "record spikes only, or run the network on one rank",
            ));
        }
        if opts.threads == 0 || opts.threads > 1024 {
            return Err(Error::input(
                "threads",
                opts.threads,
                "must be between 1 and 1024",
                "use the number of cores",
            ));
        }
        // the rank's ids (all of them on one rank), then its threads' shares
        let by_rank = split_ids(&net.populations, 0, net.n_neurons(), ranks);
        let b = split_ids(
            &net.populations,
            by_rank[rank],
            by_rank[rank + 1],
            opts.threads,
        );
        let routes = Routes::new(&net, &b);
        let mut parts = new_parts(&net, &b, routes.r);
        let n_pops = net.populations.len();
        let mut record_pop = vec![false; n_pops];
        for &p in &opts.record.spikes {
            if p >= n_pops {
                return Err(Error::input("record.spikes", p, "no such population", ""));
            }
            record_pop[p] = true;
        }
        let probe_cols = opts
            .record
            .state
            .iter()
            .enumerate()
            .map(|(qi, q)| place_probe(&net, &b, &mut parts, qi, q))
            .collect::<Result<_>>()?;
        Ok(Simulation {
            net,
            parts,
            routes,
            step: 0,
            record_pop,
            spikes: Vec::new(),
            probes: opts.record.state.clone(),
            probe_cols,
            learn: Learning::new(n_pops),
            rank: (rank, ranks),
        })
    }

    /// The network (weights as currently used).
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Bytes this simulation holds for its synapses: the projections' arrays (row offsets,
    /// targets, weights, delays; [`crate::network::Projection::bytes`]) and the delivery
    /// tables built from them (each row's split over threads, runs of consecutive targets).
    pub fn synapse_bytes(&self) -> u64 {
        let arrays: usize = self.net.projections.iter().map(|p| p.bytes()).sum();
        (arrays + self.routes.bytes()) as u64
    }

    /// Steps simulated so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Attach a spike feed to an `external` population.
    pub fn set_feed(&mut self, population: usize, feed: Box<dyn SpikeFeed>) -> Result<()> {
        let name = self.net.populations.get(population).map(|p| p.name.clone());
        for part in &mut self.parts {
            for (p, _, _, b) in &mut part.blocks {
                if *p == population && matches!(b, Block::External(_)) {
                    b.set_feed(feed);
                    return Ok(());
                }
            }
        }
        let p = self.net.populations.get(population);
        if let Some(p) = p
            && self.rank.1 > 1
            && p.model.is_source()
            && !self
                .parts
                .iter()
                .any(|q| q.lo <= p.start && p.start < q.lo + q.n as u32)
        {
            // another rank's source: that rank takes the feed
            return Ok(());
        }
        Err(Error::input(
            "population",
            name.unwrap_or_else(|| population.to_string()),
            "only an `external` population takes a spike feed",
            "set its model to \"external\"",
        ))
    }

    /// Back to step 0: every neuron at its initial state, no spike in flight, recordings,
    /// counters and errors cleared, clamps dropped (sources restart). Weights, readout biases,
    /// the rule and the teacher stay.
    pub fn reset(&mut self) {
        let net = &self.net;
        for part in &mut self.parts {
            for (p, g0, len, blk) in &mut part.blocks {
                let pop = &net.populations[*p];
                let (lo, hi) = (*g0 - pop.start, *g0 - pop.start + *len);
                let v0 = pop.v_init.as_ref().map(|v| &v[lo as usize..hi as usize]);
                let bias = match blk {
                    Block::Readout(r) => Some(r.b.clone()),
                    _ => None,
                };
                *blk = pop.model.block(net.dt_ms, lo, hi, v0, pop.key);
                if let (Block::Readout(r), Some(b)) = (&mut *blk, bias) {
                    r.b = b;
                }
            }
            part.ring.fill(0.0);
            part.spikes.clear();
            part.events = 0;
            part.pop_spikes.fill(0);
            part.samples.clear();
        }
        self.step = 0;
        self.spikes.clear();
        self.learn.reset();
    }

    /// Replay recorded activity *as* population `pop`'s spikes: its dynamics are bypassed and
    /// from now on it emits exactly `events` (`(step, index within the population)`), so
    /// downstream neurons, recorders and learning rules see the recorded activity. Events of
    /// steps already simulated are ignored.
    pub fn clamp(&mut self, pop: usize, events: &[(u64, u32)]) -> Result<()> {
        let p = self
            .net
            .populations
            .get(pop)
            .ok_or_else(|| Error::input("population", pop, "no such population", ""))?;
        if let Some(&(t, i)) = events.iter().find(|(_, i)| *i >= p.size) {
            return Err(Error::input(
                "address",
                i,
                format!(
                    "event at step {t} addresses neuron {i}, but population '{}' has {} neurons",
                    p.name, p.size
                ),
                "check the address map",
            ));
        }
        let (start, step) = (p.start, self.step);
        for part in &mut self.parts {
            for (q, g0, len, b) in &mut part.blocks {
                if *q == pop {
                    let lo = *g0 - start;
                    let mine = events
                        .iter()
                        .filter(|&&(t, i)| t >= step && (lo..lo + *len).contains(&i))
                        .map(|&(t, i)| (t, i - lo))
                        .collect();
                    *b = Block::SpikeTimes(crate::neuron::SpikeTimes::new(mine));
                }
            }
        }
        Ok(())
    }

    /// Simulate `steps` more steps. `progress(step)` is called from the calling thread every
    /// few hundred steps. Fails only if an attached rule fails (weights are then restored to
    /// the start of the sequence).
    pub fn run(&mut self, steps: u64, progress: Option<&(dyn Fn(u64) + Sync)>) -> Result<()> {
        let (t0, t1) = (self.step, self.step + steps);
        let k = self.parts.len();
        let routes = &self.routes;
        let log = StepLog {
            record_pop: &self.record_pop,
            routes,
            progress,
            t0,
        };
        if k == 1 {
            let part = &mut self.parts[0];
            for t in t0..t1 {
                part.update(t, routes.r);
                let spikes = std::mem::take(&mut part.spikes);
                deliver(part, 0, &self.net, routes, &spikes, t);
                log.record(t, &spikes, &mut self.spikes);
                if self.learn.active()
                    && let Err(e) =
                        self.learn
                            .step(t, &spikes, &[&part.blocks], &routes.starts, &mut self.net)
                {
                    part.spikes = spikes;
                    self.step = t + 1;
                    return Err(e);
                }
                part.spikes = spikes;
                log.progress(t);
            }
        } else if self.learn.active() {
            return self.run_threads_with_rule(t0, t1, progress);
        } else {
            let barrier = SpinBarrier::new(k);
            let slots = Slots::new(k);
            let net = &self.net;
            let recorded = &mut self.spikes;
            let (first, rest) = self.parts.split_at_mut(1);
            let body = |kk: usize, part: &mut Part, mut rec: Option<&mut Vec<(u64, u32)>>| {
                let mut all: Vec<u32> = Vec::new();
                for t in t0..t1 {
                    part.update(t, routes.r);
                    slots.publish(t, kk, &mut part.spikes);
                    barrier.wait();
                    slots.gather(t, &mut all);
                    deliver(part, kk, net, routes, &all, t);
                    if let Some(r) = rec.as_deref_mut() {
                        log.record(t, &all, r);
                        log.progress(t);
                    }
                }
            };
            std::thread::scope(|s| {
                for (i, part) in rest.iter_mut().enumerate() {
                    let body = &body;
                    s.spawn(move || body(i + 1, part, None));
                }
                body(0, &mut first[0], Some(recorded));
            });
        }
        self.step = t1;
        Ok(())
    }

    /// `run` on several threads with a rule or teacher attached: after every part has delivered
    /// step `t`, thread 0 shows the step to the rule (every part's state, populations split
    /// over threads gathered in id order) and applies its weight changes while the other
    /// threads wait; two more barriers per step. The rule sees exactly what a single-thread
    /// run shows it, so results do not depend on the thread count.
    fn run_threads_with_rule(
        &mut self,
        t0: u64,
        t1: u64,
        progress: Option<&(dyn Fn(u64) + Sync)>,
    ) -> Result<()> {
        let k = self.parts.len();
        let routes = &self.routes;
        let log = StepLog {
            record_pop: &self.record_pop,
            routes,
            progress,
            t0,
        };
        let barrier = SpinBarrier::new(k);
        let slots = Slots::new(k);
        // each thread locks its own part while it updates and delivers, thread 0 all of them
        // while the rule runs (never at the same time: barriers separate the phases)
        let parts: Vec<Mutex<Part>> = std::mem::take(&mut self.parts)
            .into_iter()
            .map(Mutex::new)
            .collect();
        let net = RwLock::new(&mut self.net);
        let failed: Mutex<Option<(u64, Error)>> = Mutex::new(None);
        let stop = AtomicBool::new(false);
        let body = |kk: usize, mut lead: Option<(&mut Learning, &mut Vec<(u64, u32)>)>| {
            let mut all: Vec<u32> = Vec::new();
            for t in t0..t1 {
                {
                    let mut part = lock_part(&parts[kk]);
                    part.update(t, routes.r);
                    slots.publish(t, kk, &mut part.spikes);
                }
                barrier.wait();
                slots.gather(t, &mut all);
                {
                    let mut part = lock_part(&parts[kk]);
                    let net = net.read().expect("no panics");
                    deliver(&mut part, kk, &net, routes, &all, t);
                }
                barrier.wait();
                if let Some((learn, recorded)) = lead.as_mut() {
                    log.record(t, &all, recorded);
                    let guards: Vec<_> = parts.iter().map(lock_part).collect();
                    let blocks: Vec<&[(usize, u32, u32, Block)]> =
                        guards.iter().map(|g| &g.blocks[..]).collect();
                    let mut net = net.write().expect("no panics");
                    if let Err(e) = learn.step(t, &all, &blocks, &routes.starts, &mut net) {
                        *failed.lock().expect("no panics") = Some((t, e));
                        stop.store(true, AtomicOrdering::SeqCst);
                    }
                    log.progress(t);
                }
                barrier.wait();
                if stop.load(AtomicOrdering::SeqCst) {
                    break;
                }
            }
        };
        let (learn, recorded) = (&mut self.learn, &mut self.spikes);
        std::thread::scope(|s| {
            for kk in 1..k {
                let body = &body;
                s.spawn(move || body(kk, None));
            }
            body(0, Some((learn, recorded)));
        });
        self.parts = parts
            .into_iter()
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect();
        match failed.into_inner().expect("no panics") {
            Some((t, e)) => {
                self.step = t + 1;
                Err(e)
            }
            None => {
                self.step = t1;
                Ok(())
            }
        }
    }

    /// Recorded spikes as `(step, global id)`, ordered by step then id.
    pub fn spikes(&self) -> &[(u64, u32)] {
        &self.spikes
    }

    /// Take the spikes recorded so far (`(step, global id)`, ordered by step then id) and
    /// forget them: a long run writes them out between chunks of steps instead of holding all.
    pub fn take_spikes(&mut self) -> Vec<(u64, u32)> {
        std::mem::take(&mut self.spikes)
    }

    /// Recorded spikes of population `pop` as `(step, index within the population)`.
    pub fn population_spikes(&self, pop: usize) -> Vec<(u64, u32)> {
        let p = &self.net.populations[pop];
        self.spikes
            .iter()
            .filter(|(_, g)| (p.start..p.start + p.size).contains(g))
            .map(|&(t, g)| (t, g - p.start))
            .collect()
    }

    /// Counters so far (summed over threads in a fixed order).
    pub fn counters(&self) -> Counters {
        let mut spikes = vec![0; self.net.populations.len()];
        for part in &self.parts {
            for (a, b) in spikes.iter_mut().zip(&part.pop_spikes) {
                *a += b;
            }
        }
        Counters {
            steps: self.step,
            events: self.parts.iter().map(|p| p.events).sum(),
            spikes,
        }
    }

    /// The state probes as configured.
    pub fn probes(&self) -> &[StateProbe] {
        &self.probes
    }

    /// Samples of probe `q`: `steps × neurons`, row-major, for the steps since the start (or
    /// since the last [`Simulation::take_probe_samples`]).
    pub fn probe_samples(&self, q: usize) -> Vec<f32> {
        let cols = &self.probe_cols[q];
        // every part holding a column of the probe has one row of samples per step
        let steps = cols.first().map_or(0, |&(p, _)| {
            let part = &self.parts[p];
            part.samples.len() / part.columns.len()
        });
        let mut out = Vec::with_capacity(cols.len() * steps);
        for t in 0..steps {
            for &(p, c) in cols {
                let part = &self.parts[p];
                out.push(part.samples[t * part.columns.len() + c]);
            }
        }
        out
    }

    /// Take the samples of every probe ([`Simulation::probe_samples`]) and forget them: a long
    /// run writes them out between chunks of steps instead of holding all.
    pub fn take_probe_samples(&mut self) -> Vec<Vec<f32>> {
        let out = (0..self.probe_cols.len())
            .map(|q| self.probe_samples(q))
            .collect();
        for part in &mut self.parts {
            part.samples.clear();
        }
        out
    }

    /// Current value of a state variable of neuron `i` of population `pop`.
    pub fn state(&self, pop: usize, var: &str, i: u32) -> Option<f32> {
        let gid = self.net.populations.get(pop)?.start + i;
        for part in &self.parts {
            for (p, g0, len, b) in &part.blocks {
                if *p == pop && *g0 <= gid && gid < *g0 + *len {
                    return b.var(var, (gid - g0) as usize);
                }
            }
        }
        None
    }
}

/// One part per thread (`bounds[t]..bounds[t + 1]`), each with the blocks of the populations
/// (or pieces of them) it holds, in gid order.
fn new_parts(net: &Network, b: &[u32], r: usize) -> Vec<Part> {
    let n_pops = net.populations.len();
    let mut parts: Vec<Part> = (0..b.len() - 1)
        .map(|t| Part::new(b[t], (b[t + 1] - b[t]) as usize, r, n_pops))
        .collect();
    for (pi, p) in net.populations.iter().enumerate() {
        let (p_lo, p_hi) = (p.start, p.start + p.size);
        for (t, part) in parts.iter_mut().enumerate() {
            let (lo, hi) = (p_lo.max(b[t]), p_hi.min(b[t + 1]));
            if lo < hi {
                let v0 = p
                    .v_init
                    .as_ref()
                    .map(|v| &v[(lo - p_lo) as usize..(hi - p_lo) as usize]);
                let block = p.model.block(net.dt_ms, lo - p_lo, hi - p_lo, v0, p.key);
                part.blocks.push((pi, lo, hi - lo, block));
            }
        }
    }
    parts
}

/// Check probe `qi` (`q`) and give each of its neurons a column in the part holding it: the
/// `(part, column)` of each.
fn place_probe(
    net: &Network,
    b: &[u32],
    parts: &mut [Part],
    qi: usize,
    q: &StateProbe,
) -> Result<Vec<(usize, usize)>> {
    let at = format!("recorder[{qi}]");
    let pop = net
        .populations
        .get(q.population)
        .ok_or_else(|| Error::input("population", q.population, "no such population", ""))?;
    if !pop.model.variables().contains(&q.var.as_str()) {
        return Err(Error::input(
            "variable",
            format!("'{}'", q.var),
            format!(
                "a {} population records: {}",
                pop.model.name(),
                pop.model.variables().join(", ")
            ),
            crate::error::did_you_mean(&q.var, &pop.model.variables()),
        )
        .under(&at));
    }
    let mut cols = Vec::new();
    for &i in &q.neurons {
        if i >= pop.size {
            return Err(Error::input(
                "neurons",
                i,
                format!("must be below the population size {}", pop.size),
                "",
            )
            .under(&at));
        }
        let gid = pop.start + i;
        let t = b.partition_point(|&x| x <= gid) - 1;
        cols.push((t, parts[t].add_column(gid, &q.var)));
    }
    Ok(cols)
}
