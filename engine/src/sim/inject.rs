//! Driving a simulation from outside between steps (closed loops: the Python package's
//! `eligo.Simulation`): input currents added to the next step's input, the current state of a
//! whole population, the spikes recorded so far dropped without giving up their buffer.
//!
//! An input current is added into ring slot `t % R` — the slot the update of step `t` (the
//! next step) reads and zeroes — on the receptor channel given (`exc` or `inh`), on top of the
//! weights of the spikes due at `t`. So it is exactly a synaptic input of that size arriving at
//! step `t`, in the units of the weights onto the population: `lif`/`alif`
//! `v(t) = alpha v(t-1) + I(t) - ...` (I the sum of both channels, a.u.), `lif_exp` a jump of
//! the synaptic current `I_ex` (or `I_in`) in mV, `readout` an input to its leaky integrator.

use super::simulation::Simulation;
use crate::error::{Error, Result, did_you_mean};
use crate::network::Receptor;

impl Simulation {
    /// Add `values` (one per neuron of population `pop`, in index order) to the input of the
    /// next step ([`Simulation::step`]) on `receptor`'s channel; called again before that step,
    /// the values add up. Sources (no inputs) and values that are not finite are refused.
    pub fn add_input(&mut self, pop: usize, receptor: Receptor, values: &[f32]) -> Result<()> {
        let p = self
            .net
            .populations
            .get(pop)
            .ok_or_else(|| Error::input("population", pop, "no such population", ""))?;
        if p.model.is_source() {
            return Err(Error::input(
                "population",
                format!("'{}'", p.name),
                format!(
                    "'{}' is a {} source: sources have no input to add a current to",
                    p.name,
                    p.model.name()
                ),
                "inject spikes into a source instead, or a current into the neurons it drives",
            ));
        }
        if values.len() != p.size as usize {
            return Err(Error::input(
                "values",
                format!("{} values", values.len()),
                format!("one value per neuron of '{}' ({} neurons)", p.name, p.size),
                "",
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::input(
                format!("values[{i}]"),
                values[i],
                "an input must be a finite number",
                "",
            ));
        }
        let (start, end) = (p.start, p.start + p.size);
        let r = self.routes.r as u64;
        let slot = (self.step % r) as usize;
        for part in &mut self.parts {
            let (lo, hi) = (part.lo.max(start), (part.lo + part.n as u32).min(end));
            if lo >= hi {
                continue;
            }
            let n = part.n;
            let base = slot * 2 * n + receptor as usize * n + (lo - part.lo) as usize;
            let buf = &mut part.ring[base..base + (hi - lo) as usize];
            let src = &values[(lo - start) as usize..(hi - start) as usize];
            for (b, v) in buf.iter_mut().zip(src) {
                *b += v;
            }
        }
        Ok(())
    }

    /// The current value of state variable `var` of every neuron of population `pop`, in
    /// index order, into `out` (cleared first); see [`Simulation::state`] for one neuron.
    pub fn read_state(&self, pop: usize, var: &str, out: &mut Vec<f32>) -> Result<()> {
        let p = self
            .net
            .populations
            .get(pop)
            .ok_or_else(|| Error::input("population", pop, "no such population", ""))?;
        let vars = p.model.variables();
        let Some(k) = vars.iter().position(|v| *v == var) else {
            return Err(Error::input(
                "variable",
                format!("'{var}'"),
                if vars.is_empty() {
                    format!("a {} population has no state variables", p.model.name())
                } else {
                    format!("a {} population has: {}", p.model.name(), vars.join(", "))
                },
                did_you_mean(var, &vars),
            ));
        };
        out.clear();
        for part in &self.parts {
            for (q, _, len, b) in &part.blocks {
                if *q == pop {
                    b.extend_state(k, *len as usize, out);
                }
            }
        }
        Ok(())
    }

    /// Drop the spikes recorded so far, keeping their buffer (a closed loop reads them after
    /// every step with [`Simulation::spikes`]).
    pub fn clear_spikes(&mut self) {
        self.spikes.clear();
    }
}

#[cfg(test)]
mod tests {
    use crate::network::{NetworkSpec, PopulationSpec};
    use crate::neuron::{LifParams, ModelSpec};
    use crate::sim::{SimOptions, Simulation};

    use super::*;

    fn lif_net(n: u32, threads: usize) -> Simulation {
        let spec = NetworkSpec {
            dt_ms: 1.0,
            seed: 1,
            populations: vec![PopulationSpec {
                name: "a".into(),
                size: n,
                model: ModelSpec::Lif(LifParams {
                    v_th: 100.0,
                    ..LifParams::default()
                }),
                v_init: None,
            }],
            projections: vec![],
        };
        let opts = SimOptions {
            threads,
            ..SimOptions::default()
        };
        Simulation::new(spec.build().unwrap(), &opts).unwrap()
    }

    #[test]
    fn current_is_the_next_steps_input() {
        // lif, v_th out of reach: v(t) = alpha v(t-1) + I(t), computed here in f32
        let alpha = (-1.0f64 / 20.0).exp() as f32;
        for threads in [1, 2] {
            let mut sim = lif_net(4, threads);
            let i0 = [1.0f32, 2.0, 0.0, -0.5];
            sim.add_input(0, Receptor::Exc, &i0).unwrap();
            sim.add_input(0, Receptor::Inh, &[0.25; 4]).unwrap();
            sim.run(1, None).unwrap();
            let mut v = Vec::new();
            sim.read_state(0, "v", &mut v).unwrap();
            let want: Vec<f32> = i0.iter().map(|&c| c + 0.25).collect();
            assert_eq!(v, want);
            sim.run(1, None).unwrap(); // no input: decay only
            sim.read_state(0, "v", &mut v).unwrap();
            let want: Vec<f32> = want.iter().map(|&x| alpha * x).collect();
            assert_eq!(v, want);
        }
    }

    #[test]
    fn bad_requests_are_input_errors() {
        let mut sim = lif_net(3, 1);
        let e = sim.add_input(0, Receptor::Exc, &[1.0; 2]).unwrap_err();
        assert!(e.to_string().contains("3 neurons"), "{e}");
        let e = sim
            .add_input(0, Receptor::Exc, &[0.0, f32::NAN, 0.0])
            .unwrap_err();
        assert!(e.to_string().contains("values[1]"), "{e}");
        let e = sim.read_state(0, "vv", &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("'vv'"), "{e}");
    }
}
