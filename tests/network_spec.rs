//! Network descriptions built in code: `ProjectionSpec::new` gives what a config file gives for
//! the fields it leaves out, and the one readout-population lookup.

use eligo_engine::io::config;
use eligo_engine::network::{ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, WeightDist};
use eligo_engine::neuron::{LifParams, ModelSpec, ReadoutParams};

#[test]
fn projection_spec_new_has_the_config_readers_defaults() {
    let cfg = config::parse(
        r#"
        [[population]]
        name = "a"
        model = "poisson"
        size = 3
        rate_hz = 10.0

        [[population]]
        name = "b"
        model = "lif"
        size = 2

        [[projection]]
        from = "a"
        to = "b"
        rule = "fixed_indegree"
        k = 2
        weight = -0.5
        "#,
    )
    .unwrap();
    let from_file = &cfg.network.projections[0];
    let in_code = ProjectionSpec::new(
        "a",
        "b",
        ConnectRule::FixedIndegree { k: 2 },
        WeightDist::Constant(-0.5),
    );
    assert_eq!(*from_file, in_code);
    assert_eq!(
        (
            in_code.name,
            in_code.delay_steps,
            in_code.receptor,
            in_code.allow_autapses
        ),
        (None, 1, None, false)
    );
}

#[test]
fn readouts_are_every_readout_population_in_order() {
    let pop = |name: &str, model| PopulationSpec {
        name: name.into(),
        size: 2,
        model,
        v_init: None,
    };
    let readout = || ModelSpec::Readout(ReadoutParams::default());
    let mut spec = NetworkSpec {
        dt_ms: 1.0,
        seed: 1,
        populations: vec![
            pop("in", ModelSpec::External),
            pop("out1", readout()),
            pop("rec", ModelSpec::Lif(LifParams::default())),
            pop("out2", readout()),
        ],
        projections: Vec::new(),
    };
    let net = spec.build().unwrap();
    assert_eq!(net.readouts().collect::<Vec<_>>(), [1, 3]);
    assert_eq!(net.readout(), Some(1));
    spec.populations.truncate(1);
    let net = spec.build().unwrap();
    assert_eq!(net.readouts().count(), 0);
    assert_eq!(net.readout(), None);
}
