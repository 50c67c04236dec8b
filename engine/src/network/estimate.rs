//! How much memory a network will take, computed from its description before anything is drawn
//! or allocated, so a network that cannot fit is refused with the numbers instead of aborting
//! half-way through an allocation.
//!
//! | item        | bytes                                                                    |
//! |-------------|--------------------------------------------------------------------------|
//! | neuron      | model state (`lif` 16, `alif` 24, `lif_exp` 16, `readout` 8, sources 0) + 8 counters, + 4 with `v_init`; `spike_times` 32 per listed spike |
//! | synapse     | 8 (target, weight), + 2 with per-synapse delays; rows: 4 (offset) + 4 (threads + 1) per presynaptic neuron |
//! | drawing     | rules drawn by target (`fixed_indegree`, `fixed_total_number`, `list`): + 14 per synapse (at most 2^26) and 4 per presynaptic neuron of each projection drawn at once (one per thread); the others draw straight into the arrays above (`network::csr`) |
//! | ring buffer | 4 * 2 receptors * (largest delay + 1) per neuron                         |
//!
//! Synapse counts are exact for `all_to_all`, `fixed_indegree`, `fixed_outdegree` and `list`,
//! and the expected count for `fixed_probability`.

use serde::Serialize;

use super::{ConnectRule, NetworkSpec, connect::DrawOrder};
use crate::error::{Error, Result};
use crate::limits::human_bytes;
use crate::neuron::ModelSpec;

/// Bytes per presynaptic neuron (its row cursor) and per kept synapse while a projection whose
/// rule draws by target is drawn, on top of the resident arrays (`network::csr`).
const DRAW_BYTES: (u64, u64) = (4, 14);

/// The estimated memory of a network, in bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Neuron state of every population.
    pub neuron_bytes: u64,
    /// Synapse arrays and row offsets of every projection.
    pub synapse_bytes: u64,
    /// Transient buffers while the largest projection is drawn.
    pub build_bytes: u64,
    /// The delay ring buffer.
    pub ring_bytes: u64,
    /// State recorders' samples held between writes (see `SimConfig::estimate`).
    pub recorder_bytes: u64,
    /// The sum of the above.
    pub total_bytes: u64,
    /// Synapses in all (expected for `fixed_probability`).
    pub synapses: u64,
    /// The item that takes the most: its field path (`population[0] 'exc'`) and bytes.
    #[serde(skip)]
    pub largest: (String, u64),
}

impl Estimate {
    /// Refuse an estimate above `limit` (see [`crate::limits::memory_limit`]).
    pub fn check(&self, limit: Option<(u64, String)>) -> Result<()> {
        let Some((limit, source)) = limit else {
            return Ok(());
        };
        if self.total_bytes <= limit {
            return Ok(());
        }
        Err(Error::input(
            &self.largest.0,
            format!("about {}", human_bytes(self.largest.1)),
            format!(
                "the network needs about {} (neurons {}, synapses {} ({} synapses), drawing {}, \
                 ring buffer {}, recorders {}), more than the {} of memory available ({source})",
                human_bytes(self.total_bytes),
                human_bytes(self.neuron_bytes),
                human_bytes(self.synapse_bytes),
                self.synapses,
                human_bytes(self.build_bytes),
                human_bytes(self.ring_bytes),
                human_bytes(self.recorder_bytes),
                human_bytes(limit),
            ),
            format!(
                "make the network smaller, or on a machine with swap set {}=off (or a size such \
                 as 64G) to run it anyway",
                crate::limits::MEMORY_ENV
            ),
        ))
    }

    /// Add `bytes` of recorder buffers.
    pub fn with_recorders(mut self, bytes: u64) -> Self {
        self.recorder_bytes = self.recorder_bytes.saturating_add(bytes);
        self.total_bytes = self.total_bytes.saturating_add(bytes);
        self
    }
}

/// Bytes of state per neuron of a model (the structure-of-arrays vectors of its block).
fn state_bytes(m: &ModelSpec) -> u64 {
    match m {
        ModelSpec::Lif(_) | ModelSpec::LifExp(_) => 16,
        ModelSpec::Alif(_) => 24,
        ModelSpec::Readout(_) => 8,
        ModelSpec::Poisson(_) | ModelSpec::SpikeTimes(_) | ModelSpec::External => 0,
    }
}

impl ConnectRule {
    /// The number of synapses the rule makes between `n_pre` and `n_post` neurons (expected
    /// for `fixed_probability`), as a float: it may exceed every integer type.
    pub fn expected_synapses(&self, n_pre: u32, n_post: u32, no_self: bool) -> f64 {
        let (a, b) = (f64::from(n_pre), f64::from(n_post));
        let pairs = if no_self { a * b - a.min(b) } else { a * b };
        match self {
            ConnectRule::AllToAll => pairs,
            ConnectRule::FixedProbability { p } => pairs * p.clamp(0.0, 1.0),
            ConnectRule::FixedIndegree { k } => f64::from(*k) * b,
            ConnectRule::FixedOutdegree { k } => f64::from(*k) * a,
            ConnectRule::FixedTotalNumber { n } => *n as f64,
            ConnectRule::List { pairs, .. } => pairs.len() as f64,
        }
    }
}

impl NetworkSpec {
    /// Estimate the memory the network will take on `threads` threads, without drawing it.
    /// Refuses a projection of more than 2^32 - 1 synapses (the most its row offsets hold).
    pub fn estimate(&self, threads: usize) -> Result<Estimate> {
        let mut largest = (String::new(), 0u64);
        let mut note = |at: String, bytes: u64| {
            if bytes > largest.1 {
                largest = (at, bytes);
            }
        };
        let mut neuron_bytes = 0u64;
        let mut n_total = 0u64;
        for (i, p) in self.populations.iter().enumerate() {
            let per = state_bytes(&p.model) + 8 + if p.v_init.is_some() { 4 } else { 0 };
            let mut b = u64::from(p.size) * per;
            if let ModelSpec::SpikeTimes(t) = &p.model {
                b += t.times_ms.len() as u64 * 32;
            }
            note(format!("population[{i}] '{}'", p.name), b);
            neuron_bytes += b;
            n_total += u64::from(p.size);
        }
        let size_of = |name: &str| {
            self.populations
                .iter()
                .find(|p| p.name == name)
                .map_or(0, |p| p.size)
        };
        let (mut synapse_bytes, mut synapses) = (0u64, 0u64);
        let mut drawing = Vec::with_capacity(self.projections.len());
        let mut max_delay = 1u64;
        for (k, s) in self.projections.iter().enumerate() {
            let at = format!(
                "projection[{k}] '{}'",
                s.name
                    .clone()
                    .unwrap_or_else(|| format!("{}->{}", s.from, s.to))
            );
            let (n_pre, n_post) = (size_of(&s.from), size_of(&s.to));
            let n = s
                .rule
                .expected_synapses(n_pre, n_post, s.from == s.to && !s.allow_autapses);
            if n > f64::from(u32::MAX) {
                return Err(Error::input(
                    &at,
                    format!("{n:.4e} synapses"),
                    format!(
                        "a projection holds at most 2^32 - 1 = {} synapses ({} rule between {n_pre} \
                         and {n_post} neurons)",
                        u32::MAX,
                        rule_name(&s.rule)
                    ),
                    "split it into several projections or make it sparser",
                ));
            }
            let n = n.ceil() as u64;
            let per_delays = match &s.rule {
                ConnectRule::List {
                    delay_steps: Some(d),
                    ..
                } => {
                    max_delay = max_delay.max(d.iter().copied().max().map_or(1, u64::from));
                    2
                }
                _ if s.delay_normal_ms.is_some() => 2,
                _ => 0,
            };
            max_delay = max_delay.max(u64::from(s.delay_steps));
            if let Some((mean, std)) = s.delay_normal_ms {
                // the largest delay likely drawn sets the ring buffer's length
                max_delay =
                    max_delay.max(((mean + 10.0 * std) / self.dt_ms).round().max(1.0) as u64);
            }
            let rows = u64::from(n_pre) * (4 + 4 * (threads as u64 + 1));
            let b = n * (8 + per_delays) + rows;
            let draw = match s.rule.order() {
                DrawOrder::Sorted | DrawOrder::Rows => 0,
                DrawOrder::ByTarget | DrawOrder::Any => {
                    u64::from(n_pre) * DRAW_BYTES.0
                        + n.min(super::csr::PLACE_BUFFER as u64) * DRAW_BYTES.1
                }
            };
            note(at, b + draw);
            synapse_bytes += b;
            drawing.push(draw);
            synapses += n;
        }
        // as many projections are drawn at once as there are threads: the largest transients
        drawing.sort_unstable_by(|a, b| b.cmp(a));
        let build_bytes: u64 = drawing.iter().take(threads.max(1)).sum();
        let ring_bytes = n_total * 8 * (max_delay + 1);
        Ok(Estimate {
            neuron_bytes,
            synapse_bytes,
            build_bytes,
            ring_bytes,
            recorder_bytes: 0,
            total_bytes: neuron_bytes + synapse_bytes + build_bytes + ring_bytes,
            synapses,
            largest,
        })
    }
}

fn rule_name(r: &ConnectRule) -> &'static str {
    match r {
        ConnectRule::AllToAll => "all_to_all",
        ConnectRule::FixedProbability { .. } => "fixed_probability",
        ConnectRule::FixedIndegree { .. } => "fixed_indegree",
        ConnectRule::FixedOutdegree { .. } => "fixed_outdegree",
        ConnectRule::FixedTotalNumber { .. } => "fixed_total_number",
        ConnectRule::List { .. } => "list",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuba_estimate_matches_the_built_network() {
        let spec = crate::network::cuba::cuba(4000, 1);
        let e = spec.estimate(1).unwrap();
        let net = spec.build().unwrap();
        // expected vs drawn synapse count: within 1 % for 320 000 synapses
        let drawn = net.n_synapses() as f64;
        assert!(
            (e.synapses as f64 - drawn).abs() < 0.01 * drawn,
            "{e:?} vs {drawn}"
        );
        // the resident arrays as `Projection::bytes` counts them (targets and weights, row
        // offsets), plus the row splits of one thread (2 offsets a row)
        let resident: usize = net
            .projections
            .iter()
            .map(|p| p.bytes() + 8 * p.n_pre())
            .sum();
        let rel = (e.synapse_bytes as f64 - resident as f64).abs() / resident as f64;
        assert!(rel < 0.01, "{} vs {resident}", e.synapse_bytes);
        // 4000 neurons, 2 receptors, delay 1 -> 2 slots of 4 bytes
        assert_eq!(e.ring_bytes, 4000 * 8 * 2);
        assert_eq!(e.neuron_bytes, 4000 * (16 + 8 + 4));
    }

    #[test]
    fn too_many_synapses_and_too_little_memory() {
        let mut spec = crate::network::cuba::cuba(100, 1);
        spec.projections[0].rule = ConnectRule::AllToAll;
        spec.populations[0].size = 100_000;
        let e = spec.estimate(1).unwrap_err().to_string();
        assert!(
            e.contains("projection[0] 'exc->exc'") && e.contains("2^32 - 1"),
            "{e}"
        );
        let spec = crate::network::cuba::cuba(1000, 1);
        let e = spec.estimate(1).unwrap();
        assert!(e.check(Some((e.total_bytes, "test".into()))).is_ok());
        let msg = e
            .check(Some((e.total_bytes - 1, "test".into())))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("projection[0] 'exc->exc'") && msg.contains("(test)"),
            "{msg}"
        );
        assert!(e.check(None).is_ok());
    }
}
