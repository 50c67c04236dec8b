//! Test fixture: a misbehaving direct rule. It raises every plastic weight by 1 each step,
//! panics in `on_step` at step `panic_at`, and reports a NaN change at step `nan_at`. The host
//! must report either and leave the weights as they were at the start of the sequence.

use eligo_plugin::{Change, Grads, Layout, OutputKind, Param, ParamValues, Rule, Step};

/// See the module docs.
pub struct PanicRule {
    panic_at: u64,
    nan_at: u64,
    plastic: Vec<(u32, usize)>,
    changes: Vec<Change>,
}

impl Rule for PanicRule {
    const NAME: &'static str = "test_panic";
    const VERSION: &'static str = "0.0.0";
    const OUTPUT: OutputKind = OutputKind::Direct;

    fn params() -> Vec<Param> {
        vec![
            Param::number(
                "panic_at",
                "steps",
                "step at which to panic",
                5.0,
                0.0,
                1e12,
            ),
            Param::number(
                "nan_at",
                "steps",
                "step at which to report a NaN",
                1e12,
                0.0,
                1e12,
            ),
        ]
    }

    fn create(layout: &Layout, p: &ParamValues) -> Result<Self, String> {
        let plastic = (0..layout.projections().len())
            .filter(|&j| layout.projection(j).plastic())
            .map(|j| (j as u32, layout.projection(j).len()))
            .collect();
        Ok(PanicRule {
            panic_at: p.get("panic_at") as u64,
            nan_at: p.get("nan_at") as u64,
            plastic,
            changes: Vec::new(),
        })
    }

    fn on_step(&mut self, step: &Step, _: &mut Grads) -> Result<(), String> {
        if step.step() == self.panic_at {
            panic!("deliberate test panic at step {}", step.step());
        }
        self.changes.clear();
        for &(j, n) in &self.plastic {
            self.changes.extend((0..n as u32).map(|s| Change {
                projection: j,
                synapse: s,
                delta: 1.0,
            }));
        }
        if step.step() == self.nan_at
            && let Some(c) = self.changes.last_mut()
        {
            c.delta = f32::NAN;
        }
        Ok(())
    }

    fn changes(&self) -> &[Change] {
        &self.changes
    }
}

eligo_plugin::export_rule!(PanicRule);
