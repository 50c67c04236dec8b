//! `template` — coincidence Hebbian rule: a synapse grows by `eta` whenever its presynaptic and
//! its postsynaptic neuron spike in the same step.
//!
//! ```text
//! z_i(t) = 1 and z_j(t) = 1  =>  w_ji += eta
//! ```
//!
//! | parameter | default | unit | meaning                       |
//! |-----------|---------|------|-------------------------------|
//! | `eta`     | 0.01    | w    | increase per coincident pair  |
//!
//! This file is the starting point of a new rule: rename it, change the equations, keep the
//! shape (parameters, `create` copying what the rule needs from the layout, hooks working on
//! the step's spikes, never looping over all synapses every step).

use eligo_plugin::{Change, Grads, Layout, OutputKind, Param, ParamValues, Rule, Step};

/// What the rule keeps per plastic projection.
struct Plastic {
    index: u32,
    pre: usize,
    post: usize,
    indptr: Vec<u32>,
    targets: Vec<u32>,
}

/// The rule's state.
pub struct Template {
    eta: f32,
    projections: Vec<Plastic>,
    /// Scratch: which post neurons spiked this step.
    fired: Vec<bool>,
    changes: Vec<Change>,
}

impl Rule for Template {
    const NAME: &'static str = "template";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const OUTPUT: OutputKind = OutputKind::Direct;

    fn params() -> Vec<Param> {
        vec![Param::number("eta", "w", "increase per coincident pair", 0.01, 0.0, 1e3)]
    }

    fn create(layout: &Layout, p: &ParamValues) -> Result<Self, String> {
        let mut projections = Vec::new();
        let mut largest = 0;
        for j in 0..layout.projections().len() {
            let pr = layout.projection(j);
            if pr.plastic() {
                largest = largest.max(layout.population(pr.post()).size());
                projections.push(Plastic {
                    index: j as u32,
                    pre: pr.pre(),
                    post: pr.post(),
                    indptr: pr.indptr().to_vec(),
                    targets: pr.targets().to_vec(),
                });
            }
        }
        Ok(Template {
            eta: p.get("eta") as f32,
            projections,
            fired: vec![false; largest],
            changes: Vec::new(),
        })
    }

    fn on_step(&mut self, step: &Step, _grads: &mut Grads) -> Result<(), String> {
        self.changes.clear();
        for pr in &self.projections {
            let post = step.spikes(pr.post);
            if post.is_empty() {
                continue;
            }
            for &j in post {
                self.fired[j as usize] = true;
            }
            for &i in step.spikes(pr.pre) {
                let row = pr.indptr[i as usize] as usize..pr.indptr[i as usize + 1] as usize;
                for s in row {
                    if self.fired[pr.targets[s] as usize] {
                        self.changes.push(Change {
                            projection: pr.index,
                            synapse: s as u32,
                            delta: self.eta,
                        });
                    }
                }
            }
            for &j in post {
                self.fired[j as usize] = false;
            }
        }
        Ok(())
    }

    fn changes(&self) -> &[Change] {
        &self.changes
    }
}

eligo_plugin::export_rule!(Template);
