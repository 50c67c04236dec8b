//! Test fixture: a rule that changes nothing and writes down what it sees. At the end of each
//! sequence it writes, to the file named by its `out` parameter, one line per step:
//!
//! ```text
//! <step> | <value of each channel of `modulators`> | <values of `variables[0]`> | ...
//! ```
//!
//! (values of every neuron of `population`, in neuron order, printed so that they parse back to
//! the same `f32`). It reports the diagnostics `steps` and `spikes` (of `population`) per
//! sequence and `batches` per batch. Parameters exercise every kind a rule can declare.

use std::fmt::Write as _;

use eligo_plugin::{
    Diagnostics, Grads, Layout, OutputKind, Param, ParamValues, Rule, Scope, Sequence, Step, Var,
};

/// What the probe reads and what it has seen.
pub struct Probe {
    pop: usize,
    vars: Vec<Var>,
    mods: Vec<usize>,
    out: String,
    lines: String,
    steps: u64,
    spikes: u64,
    batches: u64,
}

impl Rule for Probe {
    const NAME: &'static str = "test_probe";
    const VERSION: &'static str = "0.1.0";
    const OUTPUT: OutputKind = OutputKind::Direct;

    fn params() -> Vec<Param> {
        vec![
            Param::population("population", "the population to watch", ""),
            Param::string(
                "variables",
                "state variables to write, comma-separated",
                "v",
            ),
            Param::string(
                "modulators",
                "modulator channels to write, comma-separated",
                "",
            ),
            Param::string("out", "file to write (empty: write nothing)", ""),
            Param::choice("unused", "a choice, to mix kinds", &["a", "b"], "b"),
        ]
    }

    fn create(layout: &Layout, p: &ParamValues) -> Result<Self, String> {
        let pop = p.population("population");
        let population = layout.population(pop);
        let vars = p
            .text("variables")
            .split(',')
            .filter(|v| !v.is_empty())
            .map(|v| {
                population.variable(v).ok_or_else(|| {
                    format!(
                        "population '{}' ({}) has no variable '{v}'; it has: {}",
                        population.name(),
                        population.model(),
                        population.variables().join(", ")
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mods = p
            .text("modulators")
            .split(',')
            .filter(|m| !m.is_empty())
            .map(|m| {
                layout
                    .modulator(m)
                    .ok_or_else(|| format!("no modulator channel '{m}'"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Probe {
            pop,
            vars,
            mods,
            out: p.text("out").to_string(),
            lines: String::new(),
            steps: 0,
            spikes: 0,
            batches: 0,
        })
    }

    fn on_sequence_start(&mut self) -> Result<(), String> {
        self.lines.clear();
        self.steps = 0;
        self.spikes = 0;
        Ok(())
    }

    fn on_step(&mut self, step: &Step, _: &mut Grads) -> Result<(), String> {
        self.steps += 1;
        self.spikes += step.spikes(self.pop).len() as u64;
        if self.out.is_empty() {
            return Ok(());
        }
        let _ = write!(self.lines, "{} |", step.step());
        for &k in &self.mods {
            let _ = write!(self.lines, " {:?}", step.modulator(k));
        }
        for &v in &self.vars {
            self.lines.push_str(" |");
            for x in step.state(v) {
                let _ = write!(self.lines, " {x:?}");
            }
        }
        self.lines.push('\n');
        Ok(())
    }

    fn on_sequence_end(&mut self, _: &Sequence, _: &mut Grads) -> Result<(), String> {
        if !self.out.is_empty() {
            std::fs::write(&self.out, &self.lines).map_err(|e| format!("{}: {e}", self.out))?;
        }
        Ok(())
    }

    fn diagnostics(&mut self, scope: Scope, out: &mut Diagnostics) {
        match scope {
            Scope::Sequence => {
                out.put("steps", self.steps as f64);
                out.put("spikes", self.spikes as f64);
            }
            Scope::Batch => {
                self.batches += 1;
                out.put("batches", self.batches as f64);
            }
        }
    }
}

eligo_plugin::export_rule!(Probe);
