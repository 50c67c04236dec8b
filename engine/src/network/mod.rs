//! Networks: populations and the projections between them, built from a [`NetworkSpec`].
//!
//! Every random draw (connectivity, weights, initial potentials) comes from a stream keyed by the
//! network seed and the item's index, so a network is the same whatever the thread count and
//! whatever other items are added after it.

pub mod connect;
pub mod csr;
pub mod cuba;
pub mod estimate;
pub mod microcircuit;
pub mod projection;

pub use connect::{ConnectRule, Delay, WeightDist};
pub use estimate::Estimate;
pub use projection::{Delays, Projection, Receptor};

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::error::{Error, Result, did_you_mean};
use crate::neuron::ModelSpec;
use crate::rng::splitmix64;

/// Description of a population.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationSpec {
    /// Unique name.
    pub name: String,
    /// Number of neurons (>= 1).
    pub size: u32,
    /// Model and parameters.
    pub model: ModelSpec,
    /// Distribution of the initial membrane potential (model units), if not the model's rest.
    pub v_init: Option<WeightDist>,
}

/// Description of a projection.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionSpec {
    /// Name (default `from->to`).
    pub name: Option<String>,
    /// Presynaptic population name.
    pub from: String,
    /// Postsynaptic population name.
    pub to: String,
    /// Connection rule.
    pub rule: ConnectRule,
    /// Weight distribution.
    pub weight: WeightDist,
    /// Delay in steps (>= 1).
    pub delay_steps: u16,
    /// Per-synapse delays instead: normal `(mean, std)` in ms, redrawn below one step, rounded
    /// to the nearest step ([`connect::Delay::Normal`]); `delay_steps` is then unused.
    pub delay_normal_ms: Option<(f64, f64)>,
    /// Input channel; by default inhibitory if the mean weight is negative.
    pub receptor: Option<Receptor>,
    /// Allow `pre == post` when `from == to`.
    pub allow_autapses: bool,
}

impl ProjectionSpec {
    /// A projection `from -> to` with the defaults a config file gives an unset field: named
    /// `from->to`, delay 1 step, receptor by the sign of the mean weight, no autapses. Set more
    /// with struct update: `ProjectionSpec { delay_steps: 2, ..ProjectionSpec::new(..) }`.
    pub fn new(
        from: impl Into<String>,
        to: impl Into<String>,
        rule: ConnectRule,
        weight: WeightDist,
    ) -> Self {
        ProjectionSpec {
            name: None,
            from: from.into(),
            to: to.into(),
            rule,
            weight,
            delay_steps: 1,
            delay_normal_ms: None,
            receptor: None,
            allow_autapses: false,
        }
    }
}

/// Description of a whole network.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    /// Time step (ms).
    pub dt_ms: f64,
    /// Seed of every random draw.
    pub seed: u64,
    /// Populations, in global-id order.
    pub populations: Vec<PopulationSpec>,
    /// Projections.
    pub projections: Vec<ProjectionSpec>,
}

/// A built population.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// Name.
    pub name: String,
    /// Size.
    pub size: u32,
    /// Global id of the first neuron.
    pub start: u32,
    /// Model.
    pub model: ModelSpec,
    /// Initial potentials, if drawn.
    pub v_init: Option<Vec<f32>>,
    /// Stream key for sources.
    pub key: u64,
    /// Expected number of synapses onto each of its neurons (0 for sources): the work
    /// [`split_ids`] balances.
    pub in_degree: f64,
}

/// A built network, ready to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Time step (ms).
    pub dt_ms: f64,
    /// Seed it was built with.
    pub seed: u64,
    /// Populations.
    pub populations: Vec<Population>,
    /// Projections.
    pub projections: Vec<Projection>,
}

impl Network {
    /// Total number of neurons (sources included).
    pub fn n_neurons(&self) -> u32 {
        self.populations.last().map_or(0, |p| p.start + p.size)
    }

    /// Every projection's weights, in projection order (what an optimizer updates).
    pub fn weights_mut(&mut self) -> Vec<&mut [f32]> {
        self.projections
            .iter_mut()
            .map(|p| p.weights.as_mut_slice())
            .collect()
    }

    /// Total number of synapses.
    pub fn n_synapses(&self) -> usize {
        self.projections.iter().map(Projection::len).sum()
    }

    /// Indices of the readout populations, in order.
    pub fn readouts(&self) -> impl Iterator<Item = usize> + '_ {
        self.populations
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.model, ModelSpec::Readout(_)))
            .map(|(i, _)| i)
    }

    /// The readout population: the first of [`Network::readouts`] (a task network has exactly
    /// one).
    pub fn readout(&self) -> Option<usize> {
        self.readouts().next()
    }

    /// Index of the population called `name`.
    pub fn population(&self, name: &str) -> Option<usize> {
        self.populations.iter().position(|p| p.name == name)
    }

    /// The largest delay in steps (at least 1).
    pub fn max_delay(&self) -> u16 {
        self.projections
            .iter()
            .map(|p| p.delays.max())
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// The smallest delay in steps of any synapse (`u16::MAX` without synapses): a spike of
    /// step `t` reaches no target before `t + min_delay`, the length of the epochs between two
    /// spike exchanges of a run over several processes.
    pub fn min_delay(&self) -> u16 {
        self.projections
            .iter()
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.delays.min())
            .min()
            .unwrap_or(u16::MAX)
            .max(1)
    }
}

/// Global-id boundaries of `k` parts of the ids `lo..hi` (`k + 1` entries, non-decreasing, from
/// `lo` to `hi`), balancing the parts' synapses, which set their memory and most of their
/// work: a neuron of population `p` counts `0.1 + in_degree_p / mean in-degree` (the 0.1 its
/// update, a tenth of an average neuron's synapses). A boundary never falls inside a spike
/// source (it moves to the source's end). Ranks split the network this way, then each rank its
/// range over its threads, so the pieces of a process are the same for any thread count.
pub fn split_ids(populations: &[Population], lo: u32, hi: u32, k: usize) -> Vec<u32> {
    let total: f64 = populations.iter().map(|p| f64::from(p.size)).sum();
    let syn: f64 = populations
        .iter()
        .map(|p| p.in_degree * f64::from(p.size))
        .sum();
    let mean_in = if syn > 0.0 { syn / total } else { 1.0 };
    let cost = |p: &Population| 0.1 + p.in_degree / mean_in;
    // the pieces of lo..hi that each population holds, with their cost per neuron
    let pieces: Vec<(u32, u32, f64)> = populations
        .iter()
        .filter_map(|p| {
            let (a, b) = (p.start.max(lo), (p.start + p.size).min(hi));
            (a < b).then(|| (a, b, cost(p)))
        })
        .collect();
    let whole: f64 = pieces.iter().map(|&(a, b, c)| f64::from(b - a) * c).sum();
    let mut b: Vec<u32> = (0..=k)
        .map(|i| {
            if i == 0 {
                return lo;
            }
            if i == k {
                return hi;
            }
            let mut left = whole * i as f64 / k as f64;
            for &(a, e, c) in &pieces {
                let here = f64::from(e - a) * c;
                if left < here {
                    return a + ((left / c) as u32).min(e - a);
                }
                left -= here;
            }
            hi
        })
        .collect();
    // move a boundary that falls inside a source population to that population's end
    for x in b.iter_mut().take(k).skip(1) {
        if let Some(p) = populations
            .iter()
            .find(|p| p.model.is_source() && p.start < *x && *x < p.start + p.size)
        {
            *x = (p.start + p.size).min(hi);
        }
    }
    for i in 1..=k {
        b[i] = b[i].max(b[i - 1]);
    }
    b
}

fn stream(seed: u64, kind: u64, index: usize) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(splitmix64(seed ^ splitmix64(kind << 32 | index as u64)))
}

impl NetworkSpec {
    /// Validate everything and draw the network (on one thread).
    pub fn build(&self) -> Result<Network> {
        self.build_part(0, 1)
    }

    /// [`NetworkSpec::build`] on `threads` threads: the projections are drawn in parallel, each
    /// from its own stream, so the network is the same for any thread count.
    pub fn build_threads(&self, threads: usize) -> Result<Network> {
        self.build_part_threads(0, 1, threads)
    }

    /// [`NetworkSpec::build`] for rank `rank` of `ranks` processes: every population, but of
    /// each projection only the synapses ending on the rank's neurons (the ids
    /// [`split_ids`]`(populations, 0, n, ranks)[rank..rank + 2]`), drawn so that they are
    /// exactly those of the whole network. Memory for synapses falls as `1 / ranks` (the split
    /// balances the synapses); every rank still makes every draw (but `fixed_indegree`'s
    /// after its last target).
    pub fn build_part(&self, rank: usize, ranks: usize) -> Result<Network> {
        self.build_part_threads(rank, ranks, 1)
    }

    /// [`NetworkSpec::build_part`] on `threads` threads (the same network for any count).
    /// Errors name the item (`population[i]`, `projection[k]`) and field; with several bad
    /// items, the first.
    pub fn build_part_threads(&self, rank: usize, ranks: usize, threads: usize) -> Result<Network> {
        crate::error::positive("dt_ms", self.dt_ms, "ms")?;
        self.check_before_allocating()?;
        let mut populations = self.build_populations()?;
        for s in &self.projections {
            let find = |n: &str| populations.iter().position(|p| p.name == n);
            // (a projection naming no population is refused by build_projection below)
            if let (Some(i), Some(j)) = (find(&s.from), find(&s.to)) {
                let (a, b) = (populations[i].size, populations[j].size);
                let no_self = i == j && !s.allow_autapses;
                populations[j].in_degree += s.rule.expected_synapses(a, b, no_self) / f64::from(b);
            }
        }
        let n = populations.last().map_or(0, |p| p.start + p.size);
        let b = split_ids(&populations, 0, n, ranks.max(1));
        let mine = b[rank]..b[rank + 1];
        let names: Vec<&str> = populations.iter().map(|p| p.name.as_str()).collect();
        let plans = self
            .projections
            .iter()
            .enumerate()
            .map(|(k, s)| self.plan_projection(k, s, &populations, &names, mine.clone()))
            .collect::<Result<Vec<_>>>()?;
        // the largest first, so that threads finish together; each lands at its own index
        let mut order: Vec<usize> = (0..plans.len()).collect();
        order.sort_by(|&a, &b| plans[b].expected.total_cmp(&plans[a].expected));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&k) = order.get(at) else {
                    return done;
                };
                done.push((k, plans[k].draw(self.seed, k)));
            }
        };
        let mut drawn: Vec<(usize, Result<Projection>)> = if threads <= 1 || plans.len() < 2 {
            work()
        } else {
            std::thread::scope(|sc| {
                let hs: Vec<_> = (0..threads.min(plans.len()))
                    .map(|_| sc.spawn(work))
                    .collect();
                hs.into_iter()
                    .flat_map(|h| h.join().expect("a drawing thread panicked"))
                    .collect()
            })
        };
        drawn.sort_by_key(|d| d.0);
        let projections = drawn.into_iter().map(|d| d.1).collect::<Result<_>>()?;
        Ok(Network {
            dt_ms: self.dt_ms,
            seed: self.seed,
            populations,
            projections,
        })
    }

    /// At least one population, names and sizes: before anything is allocated, since a name
    /// becomes a file name, and a network that does not fit is refused here rather than by an
    /// abort on allocation.
    fn check_before_allocating(&self) -> Result<()> {
        if self.populations.is_empty() {
            return Err(Error::input(
                "population",
                "none",
                "a network needs at least one population",
                "add a [[population]] table",
            ));
        }
        for (i, p) in self.populations.iter().enumerate() {
            crate::limits::check_name(&format!("population[{i}].name"), &p.name)?;
        }
        for (k, s) in self.projections.iter().enumerate() {
            if let Some(n) = &s.name {
                crate::limits::check_name(&format!("projection[{k}].name"), n)?;
            }
        }
        self.estimate(1)?.check(crate::limits::memory_limit()?)
    }

    /// Every population validated, in order, with its global ids and drawn initial potentials.
    fn build_populations(&self) -> Result<Vec<Population>> {
        let mut populations: Vec<Population> = Vec::with_capacity(self.populations.len());
        let mut start = 0u32;
        for (i, p) in self.populations.iter().enumerate() {
            let at = format!("population[{i}] '{}'", p.name);
            if populations.iter().any(|q| q.name == p.name) {
                return Err(
                    Error::input("name", &p.name, "population names must be unique", "").under(&at),
                );
            }
            if p.size == 0 {
                return Err(
                    Error::input("size", 0, "a population needs at least 1 neuron", "").under(&at),
                );
            }
            p.model
                .validate(self.dt_ms, p.size)
                .map_err(|e| e.under(&at))?;
            let v_init = match &p.v_init {
                None => None,
                Some(d) => {
                    d.validate().map_err(|e| e.under(&format!("{at}.v_init")))?;
                    let mut rng = stream(self.seed, 2, i);
                    Some((0..p.size).map(|_| d.sample(&mut rng)).collect())
                }
            };
            let size = p.size;
            populations.push(Population {
                name: p.name.clone(),
                size,
                start,
                model: p.model.clone(),
                v_init,
                key: splitmix64(self.seed ^ splitmix64(3 << 32 | i as u64)),
                in_degree: 0.0,
            });
            start = start.checked_add(size).ok_or_else(|| {
                Error::input(
                    "size",
                    size,
                    "the network has more than 2^32 - 1 neurons in all",
                    "",
                )
                .under(&at)
            })?;
        }
        Ok(populations)
    }

    /// Projection `k` (`s`) validated against the built `populations` (called `names`):
    /// everything its draw needs.
    fn plan_projection<'a>(
        &self,
        k: usize,
        s: &'a ProjectionSpec,
        populations: &[Population],
        names: &[&str],
        mine: std::ops::Range<u32>,
    ) -> Result<Plan<'a>> {
        let at = format!(
            "projection[{k}]{}",
            s.name
                .as_ref()
                .map(|n| format!(" '{n}'"))
                .unwrap_or_default()
        );
        let (pre, post) = endpoints(s, populations, names, &at)?;
        if s.delay_steps < 1 {
            return Err(Error::input(
                "delay_steps",
                s.delay_steps,
                "a delay must be at least 1 step",
                "spikes of step t reach their targets at t + delay_steps",
            )
            .under(&at));
        }
        let (n_pre, n_post) = (populations[pre].size, populations[post].size);
        s.rule.validate(n_pre, n_post).map_err(|e| e.under(&at))?;
        s.weight
            .validate()
            .map_err(|e| e.under(&format!("{at}.weight")))?;
        let receptor = s.receptor.unwrap_or(if s.weight.mean() < 0.0 {
            Receptor::Inh
        } else {
            Receptor::Exc
        });
        let delay = match s.delay_normal_ms {
            None => Delay::Fixed(s.delay_steps),
            Some((mean, std)) => Delay::normal_ms(mean, std, self.dt_ms)
                .map_err(|e| e.under(&format!("{at}.delay_ms")))?,
        };
        let no_self = pre == post && !s.allow_autapses;
        let name = s
            .name
            .clone()
            .unwrap_or_else(|| format!("{}->{}", s.from, s.to));
        Ok(Plan {
            at,
            name,
            ends: (pre, post),
            receptor,
            expected: s.rule.expected_synapses(n_pre, n_post, no_self),
            draw: csr::Draw {
                rule: &s.rule,
                sizes: (n_pre, n_post),
                no_self,
                weight: &s.weight,
                delay,
                keep: local(&mine, populations[post].start, n_post),
            },
        })
    }
}

/// A validated projection, ready to draw.
struct Plan<'a> {
    /// Where it is in the description (`projection[k] 'name'`), for messages.
    at: String,
    name: String,
    ends: (usize, usize),
    receptor: Receptor,
    /// Synapses expected, to draw the largest first.
    expected: f64,
    draw: csr::Draw<'a>,
}

impl Plan<'_> {
    /// Draw projection `k` of a network of seed `seed` from its own stream.
    fn draw(&self, seed: u64, k: usize) -> Result<Projection> {
        let rows = csr::draw_rows(&self.draw, stream(seed, 1, k)).map_err(|n| {
            Error::input(
                "rule",
                format!("{n} synapses"),
                "a projection holds at most 2^32 - 1 synapses",
                "split it in several projections",
            )
            .under(&self.at)
        })?;
        Ok(rows.into_projection(self.name.clone(), self.ends, self.receptor))
    }
}

/// The indices within a population starting at global id `start` (of `size` neurons) whose
/// global ids are in `ids`.
fn local(ids: &std::ops::Range<u32>, start: u32, size: u32) -> std::ops::Range<u32> {
    let lo = ids.start.clamp(start, start + size) - start;
    let hi = ids.end.clamp(start, start + size) - start;
    lo..hi.max(lo)
}

/// The indices of `s`'s presynaptic and postsynaptic populations, which must exist (a typo gets
/// the nearest name), the target taking input and the source spiking.
fn endpoints(
    s: &ProjectionSpec,
    populations: &[Population],
    names: &[&str],
    at: &str,
) -> Result<(usize, usize)> {
    let find = |name: &str, field: &str| -> Result<usize> {
        names.iter().position(|n| *n == name).ok_or_else(|| {
            Error::input(
                field,
                format!("'{name}'"),
                format!(
                    "no population has this name; populations: {}",
                    names.join(", ")
                ),
                did_you_mean(name, names),
            )
            .under(at)
        })
    };
    let pre = find(&s.from, "from")?;
    let post = find(&s.to, "to")?;
    if populations[post].model.is_source() {
        return Err(Error::input(
            "to",
            format!("'{}'", s.to),
            format!(
                "a {} population is a spike source and takes no input",
                populations[post].model.name()
            ),
            "connect into a neuron population",
        )
        .under(at));
    }
    if matches!(populations[pre].model, ModelSpec::Readout(_)) {
        return Err(Error::input(
            "from",
            format!("'{}'", s.from),
            "a readout population never spikes, so it cannot be a source",
            "",
        )
        .under(at));
    }
    Ok((pre, post))
}
