//! What a closed-loop run checks before it allocates its lanes: the environment's network has
//! the populations the protocol needs, and the lanes fit in memory.

use crate::env::Env;
use crate::error::{Error, Result};
use crate::network::Network;
use crate::neuron::ModelSpec;

/// The indices of the populations the loop drives: input `in`, the one readout, the recurrent
/// (LIF, ALIF) ones; the readout must have `actions + 1` outputs.
pub(super) fn find_pops(net: &Network, env: &dyn Env) -> Result<(usize, usize, Vec<usize>)> {
    let hint = "an environment's network has an input population 'in', recurrent populations and one readout of actions + 1 outputs";
    let input = net.population("in").ok_or_else(|| {
        Error::input(
            "population",
            "in",
            format!(
                "the network of environment '{}' has no input population 'in'",
                env.name()
            ),
            hint,
        )
    })?;
    let readouts: Vec<usize> = net.readouts().collect();
    let [readout] = readouts[..] else {
        return Err(Error::input(
            "population",
            readouts.len(),
            format!(
                "the network of environment '{}' needs exactly one readout population",
                env.name()
            ),
            hint,
        ));
    };
    let outs = net.populations[readout].size as usize;
    if outs != env.actions() + 1 || env.actions() == 0 {
        return Err(Error::input(
            "population",
            outs,
            format!(
                "the readout of environment '{}' has {outs} outputs; it needs {} (the policy logits of its {} actions, then the value)",
                env.name(),
                env.actions() + 1,
                env.actions()
            ),
            hint,
        ));
    }
    if net.populations[input].size as usize != env.inputs() {
        return Err(Error::input(
            "population",
            net.populations[input].size,
            format!(
                "input population 'in' has this many neurons; environment '{}' encodes into {}",
                env.name(),
                env.inputs()
            ),
            hint,
        ));
    }
    let rec = (0..net.populations.len())
        .filter(|&p| {
            matches!(
                net.populations[p].model,
                ModelSpec::Lif(_) | ModelSpec::Alif(_)
            )
        })
        .collect();
    Ok((input, readout, rec))
}

/// The lanes hold a network each, the master one more, and each lane's rule keeps about a
/// dozen values per neuron and step of the longest episode (e-prop's backward sweep): refuse a
/// run that would not fit in the memory available (`ELIGO_MEMORY_LIMIT`, docs/limits.md).
pub(super) fn check_memory(
    spec: &crate::network::NetworkSpec,
    lanes: usize,
    seq_len: u64,
) -> Result<()> {
    let Some((limit, source)) = crate::limits::memory_limit()? else {
        return Ok(());
    };
    let est = spec.estimate(1)?;
    let neurons: u64 = spec.populations.iter().map(|p| u64::from(p.size)).sum();
    let per_lane = est
        .total_bytes
        .saturating_add(neurons.saturating_mul(seq_len).saturating_mul(12 * 4));
    let all = per_lane.saturating_mul(lanes as u64 + 1);
    if all <= limit {
        return Ok(());
    }
    let human = crate::limits::human_bytes;
    Err(Error::input(
        "--agent-steps",
        seq_len,
        format!(
            "episodes of up to this many network steps in {lanes} lanes need about {}, more than the {} of memory available ({source})",
            human(all),
            human(limit)
        ),
        "use fewer --agent-steps, shorter episodes or fewer episodes per batch (at most 16 run at once)",
    ))
}
