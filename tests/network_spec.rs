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

/// Two `lif_exp` populations at dt 0.1 ms and one projection `a -> b` with the given fields.
fn with_projection(fields: &str) -> eligo_engine::error::Result<config::SimConfig> {
    config::parse(&format!(
        r#"
        dt_ms = 0.1
        [[population]]
        name = "a"
        model = "lif_exp"
        size = 40
        [[population]]
        name = "b"
        model = "lif_exp"
        size = 30
        [[projection]]
        from = "a"
        to = "b"
        {fields}
        "#
    ))
}

#[test]
fn fixed_total_number_normal_delays_and_bounded_weights_from_toml() {
    let cfg = with_projection(
        r#"rule = "fixed_total_number"
        n = 500
        weight = { kind = "normal", mean = 0.35, std = 0.035, min = 0.0 }
        delay_ms = { kind = "normal", mean = 1.5, std = 0.75 }"#,
    )
    .unwrap();
    let p = &cfg.network.projections[0];
    assert_eq!(p.rule, ConnectRule::FixedTotalNumber { n: 500 });
    assert_eq!(
        p.weight,
        WeightDist::BoundedNormal {
            mean: 0.35,
            std: 0.035,
            min: 0.0,
            max: f64::INFINITY
        }
    );
    assert_eq!(p.delay_normal_ms, Some((1.5, 0.75)));
    let net = cfg.network.build().unwrap();
    let pr = &net.projections[0];
    assert_eq!(pr.len(), 500);
    assert!(pr.weights.iter().all(|&w| w >= 0.0));
    let eligo_engine::network::Delays::PerSynapse(d) = &pr.delays else {
        panic!("per-synapse delays expected, got {:?}", pr.delays)
    };
    assert!(d.iter().all(|&d| d >= 1) && d.iter().any(|&x| x != d[0]));
    // a plain delay_ms still gives one delay for the projection
    let cfg = with_projection("rule = \"all_to_all\"\nweight = 1.0\ndelay_ms = 0.5").unwrap();
    assert_eq!(cfg.network.projections[0].delay_steps, 5);
    assert_eq!(cfg.network.projections[0].delay_normal_ms, None);
}

#[test]
fn bad_delay_distributions_and_totals_name_the_field() {
    let err = |fields: &str| with_projection(fields).unwrap_err().to_string();
    let e = err("rule = \"fixed_total_number\"\nweight = 1.0");
    assert!(
        e.contains("projection[0] 'a->b'.n") && e.contains("required"),
        "{e}"
    );
    let e = err("rule = \"fixed_total_number\"\nn = -3\nweight = 1.0");
    assert!(
        e.contains(".n") && e.contains("-3") && e.contains(">= 0"),
        "{e}"
    );
    let e = err(
        "rule = \"all_to_all\"\nweight = 1.0\ndelay_ms = { kind = \"uniform\", mean = 1.0, std = 0.1 }",
    );
    assert!(
        e.contains("delay_ms.kind") && e.contains("'uniform'") && e.contains("normal"),
        "{e}"
    );
    let e = err(
        "rule = \"all_to_all\"\nweight = 1.0\ndelay_ms = { kind = \"normal\", mean = 0.05, std = 0.1 }",
    );
    assert!(
        e.contains("delay_ms") && e.contains("0.05") && e.contains("at least one step"),
        "{e}"
    );
    let e = err(
        "rule = \"all_to_all\"\nweight = 1.0\ndelay_steps = 2\ndelay_ms = { kind = \"normal\", mean = 1.0, std = 0.1 }",
    );
    assert!(e.contains("not both"), "{e}");
    let e = err(
        "rule = \"all_to_all\"\nweight = 1.0\ndelay_ms = { kind = \"normal\", mean = 1.0, std = 0.1, sd = 0.1 }",
    );
    assert!(e.contains("sd") && e.contains("unknown field"), "{e}");
    let e = err(
        "rule = \"all_to_all\"\nweight = { kind = \"normal\", mean = 1.0, std = 0.1, max = -5.0 }",
    );
    assert!(e.contains("weight") && e.contains("redrawn"), "{e}");
    let e = err(
        "rule = \"all_to_all\"\nweight = { kind = \"uniform\", low = 0.0, high = 1.0, min = 0.0 }",
    );
    assert!(
        e.contains("weight.min") && e.contains("unknown field"),
        "{e}"
    );
}
