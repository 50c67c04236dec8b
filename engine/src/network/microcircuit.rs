//! The cortical microcircuit of Potjans & Diesmann (2014), with the parameters of NEST's
//! reference implementation (`pynest/examples/Potjans_2014`, "PD14").
//!
//! Eight `lif_exp` (= NEST `iaf_psc_exp`) populations, L2/3e, L2/3i, L4e, L4i, L5e, L5i, L6e,
//! L6i, of full sizes 20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948 (77 169 neurons).
//!
//! | parameter | value | unit |
//! |---|---|---|
//! | `C_m`, `tau_m`, `tau_syn` (exc and inh) | 250, 10, 0.5 | pF, ms, ms |
//! | `E_L`, `V_th`, `V_reset`, `t_ref` | -65, -50, -65, 2 | mV, mV, mV, ms |
//! | `dt` | 0.1 | ms |
//! | initial `V`: normal per population, mean | -68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43 | mV |
//! | ... standard deviation | 5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48 | mV |
//! | mean excitatory PSP `PSP_e` | 0.15 | mV |
//! | relative inhibitory strength `g` | -4 | |
//! | L4e -> L2/3e | 2 `PSP_e` | mV |
//! | weight sd | 10 % of the mean, redrawn until of the source's sign | |
//! | delays, exc (inh) sources | normal 1.5 ± 0.75 (0.75 ± 0.375), redrawn below `dt`, rounded to steps | ms |
//! | external in-degree `K_ext` | 1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100 | |
//! | background rate per external input `bg_rate` | 8 | Hz |
//!
//! PSP to PSC: a current `J e^{-t/tau_syn}` into the membrane gives a PSP peaking at
//! `J / F`, `F = 1 / (pre (f^tau_m - f^tau_syn))`, `pre = tau_m tau_syn / (C_m (tau_syn -
//! tau_m))`, `f = (tau_m / tau_syn)^(1 / (tau_syn - tau_m))` (Hanuschkin et al. 2010, Eq. 5):
//! `F` = 585.4 pA/mV, so `PSP_e` is 87.8 pA. `lif_exp` holds currents as the membrane drive
//! they are worth, `I[mV] = I[pA] tau_m / C_m` (87.8 pA = 3.51 mV).
//!
//! Connections: from population `j` to `i`, NEST's `fixed_total_number` rule (pairs uniform,
//! autapses and multapses allowed) with `K_ij N_i` synapses, the count of the connection
//! probability table `p_ij` (targets in rows):
//! `n_ij = round(ln(1 - p_ij) / ln((N_i N_j - 1) / (N_i N_j)) * scale)`, `N` the full sizes
//! (every `round` here half to even, as the reference's `np.round`).
//!
//! Background ([`Background`]): the reference's Poisson generators (`poisson_input = True`, its
//! default): an independent train of `bg_rate K_ext` Hz (12-23 kHz) into every neuron, each
//! spike of weight `PSC_ext` = 87.8 pA, as `lif_exp`'s `poisson_rate_hz`/`poisson_weight_mv`
//! (a Poisson count per step, as NEST's `poisson_generator` delivers it); or its DC
//! alternative (`poisson_input = False`), `I_DC = bg_rate K_ext PSC_ext tau_syn` (pA, with
//! rate in 1/ms), as `i_e_mv`: the same mean input without its fluctuations.
//!
//! Scaling: `scale` multiplies every population size (rounded) and every synapse count, so
//! in-degrees stay those of the full model (the reference's `N_scaling = scale`, `K_scaling =
//! 1`): no weight or DC compensation is needed, and the mean input of every neuron is the full
//! model's. Below `scale` ~ 0.1 a neuron gets many synapses from the same source.
//!
//! References: T. C. Potjans, M. Diesmann, "The cell-type specific cortical microcircuit:
//! relating structure and activity in a full-scale spiking network model", Cereb. Cortex
//! 24:785 (2014); A. Hanuschkin et al., Front. Neuroinform. 4:113 (2010); NEST's
//! `pynest/examples/Potjans_2014` (`network_params.py`, `helpers.py`, `network.py`).

use super::{ConnectRule, NetworkSpec, PopulationSpec, ProjectionSpec, WeightDist};
use crate::error::{Error, Result};
use crate::neuron::{LifExpParams, ModelSpec};

/// Population names, in global-id order.
pub const NAMES: [&str; 8] = ["L23e", "L23i", "L4e", "L4i", "L5e", "L5i", "L6e", "L6i"];
/// Full-scale population sizes.
pub const SIZES: [u32; 8] = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948];
/// Connection probabilities, `P[target][source]`.
pub const P: [[f64; 8]; 8] = [
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0., 0.0076, 0.],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0., 0.0042, 0.],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0., 0.1057, 0.],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.],
    [
        0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252,
    ],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
];
/// External in-degrees.
pub const K_EXT: [f64; 8] = [1600., 1500., 2100., 1900., 2000., 1900., 2900., 2100.];
/// Mean of the initial membrane potential (mV).
pub const V0_MEAN: [f64; 8] = [
    -68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43,
];
/// Standard deviation of the initial membrane potential (mV).
pub const V0_STD: [f64; 8] = [5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48];
/// Rates of NEST 3.10 on the full model with Poisson background (Hz), 2 threads, measured on
/// this machine (issue 17).
pub const NEST_RATES_HZ: [f64; 8] = [0.86, 2.96, 4.41, 5.88, 7.72, 8.63, 1.13, 7.84];

/// Membrane capacitance (pF).
pub const C_M: f64 = 250.0;
/// Membrane time constant (ms).
pub const TAU_M: f64 = 10.0;
/// Synaptic time constant (ms).
pub const TAU_SYN: f64 = 0.5;
/// Mean excitatory PSP (mV).
pub const PSP_E: f64 = 0.15;
/// Relative inhibitory strength.
pub const G: f64 = -4.0;
/// Rate of one external input (Hz).
pub const BG_RATE: f64 = 8.0;

/// The current (pA) whose exponential PSC gives a PSP peaking at 1 mV.
pub fn psc_over_psp(c_m: f64, tau_m: f64, tau_syn: f64) -> f64 {
    let sub = 1.0 / (tau_syn - tau_m);
    let pre = tau_m * tau_syn / c_m * sub;
    let frac = (tau_m / tau_syn).powf(sub);
    1.0 / (pre * (frac.powf(tau_m) - frac.powf(tau_syn)))
}

/// Synapses from population `j` to `i` at full scale, before rounding (as the reference computes
/// them, with `(prod - 1) / prod` in double precision).
pub fn full_synapses(i: usize, j: usize) -> f64 {
    let prod = f64::from(SIZES[i]) * f64::from(SIZES[j]);
    (1.0 - P[i][j]).ln() / ((prod - 1.0) / prod).ln()
}

/// The external drive of every neuron.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    /// A constant current of the Poisson trains' mean.
    Dc,
    /// An independent Poisson train per neuron.
    Poisson,
}

/// The microcircuit at `scale` (in (0, 1]) with the given background, seeded by `seed`.
pub fn microcircuit(scale: f64, seed: u64, background: Background) -> Result<NetworkSpec> {
    if !(scale > 0.0 && scale <= 1.0) {
        return Err(Error::input(
            "scale",
            scale,
            "must be in (0, 1]: the fraction of the full model's neurons",
            "try --scale 0.1",
        ));
    }
    let sizes: Vec<u32> = SIZES
        .iter()
        .map(|&n| (f64::from(n) * scale).round_ties_even().max(1.0) as u32)
        .collect();
    let psc = psc_over_psp(C_M, TAU_M, TAU_SYN);
    let mv_per_pa = TAU_M / C_M;
    let populations = (0..8)
        .map(|i| {
            // DC amplitude (pA): bg_rate (1/s) K_ext PSC_ext (pA) tau_syn (ms) 1e-3 (s/ms)
            let dc_pa = BG_RATE * K_EXT[i] * PSP_E * psc * TAU_SYN * 0.001;
            let (i_e_mv, poisson_rate_hz, poisson_weight_mv) = match background {
                Background::Dc => (dc_pa * mv_per_pa, 0.0, 0.0),
                Background::Poisson => (0.0, BG_RATE * K_EXT[i], PSP_E * psc * mv_per_pa),
            };
            PopulationSpec {
                name: NAMES[i].into(),
                size: sizes[i],
                model: ModelSpec::LifExp(LifExpParams {
                    tau_m_ms: TAU_M,
                    tau_syn_ex_ms: TAU_SYN,
                    tau_syn_in_ms: TAU_SYN,
                    e_l_mv: -65.0,
                    v_th_mv: -50.0,
                    v_reset_mv: -65.0,
                    t_ref_ms: Some(2.0),
                    n_ref: None,
                    i_e_mv,
                    poisson_rate_hz,
                    poisson_weight_mv,
                }),
                v_init: Some(WeightDist::Normal {
                    mean: V0_MEAN[i],
                    std: V0_STD[i],
                }),
            }
        })
        .collect();
    let mut projections = Vec::new();
    for i in 0..8 {
        for j in 0..8 {
            let n = (full_synapses(i, j) * scale).round_ties_even() as u64;
            if n == 0 {
                continue;
            }
            let exc = j % 2 == 0;
            let psp =
                if exc { PSP_E } else { G * PSP_E } * if (i, j) == (0, 2) { 2.0 } else { 1.0 };
            let w = psp * psc * mv_per_pa;
            let (min, max) = if exc {
                (0.0, f64::INFINITY)
            } else {
                (f64::NEG_INFINITY, 0.0)
            };
            let d = if exc { 1.5 } else { 0.75 };
            projections.push(ProjectionSpec {
                delay_normal_ms: Some((d, 0.5 * d)),
                allow_autapses: true,
                ..ProjectionSpec::new(
                    NAMES[j],
                    NAMES[i],
                    ConnectRule::FixedTotalNumber { n },
                    WeightDist::BoundedNormal {
                        mean: w,
                        std: 0.1 * w.abs(),
                        min,
                        max,
                    },
                )
            });
        }
    }
    Ok(NetworkSpec {
        dt_ms: 0.1,
        seed,
        populations,
        projections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Delays, Receptor};

    #[test]
    fn the_excitatory_weight_is_the_published_87_8_pa() {
        // Potjans & Diesmann (2014), Table 5: w = 87.8 pA for a 0.15 mV PSP
        let w = PSP_E * psc_over_psp(C_M, TAU_M, TAU_SYN);
        assert!((w - 87.8).abs() < 0.05, "{w}");
        // a 1 pA exponential current peaks the membrane at 1 / F mV: the peak of the closed
        // form v(t) = J tau_syn / (C_m (tau_syn - tau_m)) tau_m (e^{-t/tau_syn} - e^{-t/tau_m})
        // found on a fine grid
        let peak = (1..100_000)
            .map(|k| {
                let t = k as f64 * 1e-4;
                TAU_SYN * TAU_M / (C_M * (TAU_SYN - TAU_M))
                    * ((-t / TAU_SYN).exp() - (-t / TAU_M).exp())
            })
            .fold(0.0f64, f64::max);
        assert!((peak * psc_over_psp(C_M, TAU_M, TAU_SYN) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn the_full_model_has_its_published_size() {
        // 77 169 neurons; NEST's build of the same model reported 2.99e8 connections
        let spec = microcircuit(1.0, 1, Background::Dc).unwrap();
        let n: u32 = spec.populations.iter().map(|p| p.size).sum();
        assert_eq!(n, 77_169);
        let syn: u64 = spec
            .projections
            .iter()
            .map(|p| match p.rule {
                ConnectRule::FixedTotalNumber { n } => n,
                _ => panic!("fixed_total_number"),
            })
            .sum();
        assert!((syn as f64 / 2.99e8 - 1.0).abs() < 0.005, "{syn}");
        // in-degree of L2/3e from L2/3e: K = n / N_post, near p N_pre for a sparse table
        let k = full_synapses(0, 0) / f64::from(SIZES[0]);
        assert!(
            (k / (P[0][0] * f64::from(SIZES[0])) - 1.0).abs() < 0.06,
            "{k}"
        );
    }

    #[test]
    fn a_small_scale_build_has_the_model_s_structure() {
        let scale = 0.01;
        let spec = microcircuit(scale, 3, Background::Dc).unwrap();
        let net = spec.build().unwrap();
        for (p, &n) in net.populations.iter().zip(&SIZES) {
            assert_eq!(
                p.size,
                (f64::from(n) * scale).round_ties_even() as u32,
                "{}",
                p.name
            );
        }
        let w_e = PSP_E * psc_over_psp(C_M, TAU_M, TAU_SYN) * TAU_M / C_M;
        for pr in &net.projections {
            let (i, j) = (pr.post, pr.pre);
            assert_eq!(
                pr.len() as u64,
                (full_synapses(i, j) * scale).round_ties_even() as u64
            );
            let exc = j % 2 == 0;
            assert_eq!(pr.receptor, if exc { Receptor::Exc } else { Receptor::Inh });
            let mean = pr.weights.iter().map(|&w| f64::from(w)).sum::<f64>() / pr.len() as f64;
            let want = w_e * if exc { 1.0 } else { G } * if (i, j) == (0, 2) { 2.0 } else { 1.0 };
            if pr.len() > 200 {
                assert!(
                    (mean / want - 1.0).abs() < 0.02,
                    "{}: {mean} vs {want}",
                    pr.name
                );
            }
            assert!(pr.weights.iter().all(|&w| (w >= 0.0) == exc || w == 0.0));
            let Delays::PerSynapse(d) = &pr.delays else {
                panic!("{}: per-synapse delays", pr.name)
            };
            let dm = d.iter().map(|&d| f64::from(d)).sum::<f64>() / d.len() as f64;
            // the mean of the normal redrawn below one step is a little above the mean
            let want_steps = if exc { 15.0 } else { 7.5 };
            if pr.len() > 200 {
                assert!(
                    dm > want_steps - 0.3 && dm < want_steps + 1.0,
                    "{}: {dm}",
                    pr.name
                );
            }
        }
        assert!(
            microcircuit(0.0, 1, Background::Dc)
                .unwrap_err()
                .to_string()
                .contains("scale")
        );
        assert!(
            microcircuit(1.5, 1, Background::Dc)
                .unwrap_err()
                .to_string()
                .contains("(0, 1]")
        );
    }

    #[test]
    fn the_poisson_background_has_the_dc_background_s_mean() {
        // no threshold: the mean depolarization under the Poisson trains is the DC input's
        // steady state, i_e_mv (both are the reference's bg_rate K_ext PSC_ext tau_syn)
        let (dc, poisson) = (
            microcircuit(0.01, 1, Background::Dc).unwrap(),
            microcircuit(0.01, 1, Background::Poisson).unwrap(),
        );
        for k in [0, 3, 6] {
            let (ModelSpec::LifExp(d), ModelSpec::LifExp(mut p)) = (
                dc.populations[k].model.clone(),
                poisson.populations[k].model.clone(),
            ) else {
                panic!("lif_exp")
            };
            assert_eq!((p.i_e_mv, d.poisson_rate_hz), (0.0, 0.0));
            p.v_th_mv = 1e6;
            let n = 200;
            let mut b = ModelSpec::LifExp(p).block(0.1, 0, n, None, 11);
            let (mut exc, mut inh, mut spikes) =
                (vec![0.0; n as usize], vec![0.0; n as usize], vec![]);
            let (mut sum, mut count) = (0.0f64, 0u64);
            for step in 0..20_000 {
                b.update(step, &mut exc, &mut inh, 0, &mut spikes);
                if step >= 1000 {
                    for i in 0..n as usize {
                        sum += f64::from(b.var("v", i).unwrap()) + 65.0;
                        count += 1;
                    }
                }
            }
            let mean = sum / count as f64;
            assert!(spikes.is_empty());
            assert!(
                (mean / d.i_e_mv - 1.0).abs() < 0.02,
                "{}: {mean} mV vs DC {} mV",
                NAMES[k],
                d.i_e_mv
            );
        }
    }

    #[test]
    fn ranks_get_equal_shares_of_the_synapses() {
        // in-degrees differ 3x between populations: an even split of the ids gives the first
        // of 2 parts 13 % more synapses than the mean; split_ids balances the synapses
        let net = microcircuit(0.02, 5, Background::Dc)
            .unwrap()
            .build()
            .unwrap();
        let n = net.n_neurons();
        // synapses onto each neuron, counted from the built rows
        let mut onto = vec![0u64; n as usize];
        for pr in &net.projections {
            let start = net.populations[pr.post].start;
            for &t in &pr.targets {
                onto[(start + t) as usize] += 1;
            }
        }
        let total: u64 = onto.iter().sum();
        for k in [2, 3, 4] {
            let b = crate::network::split_ids(&net.populations, 0, n, k);
            for w in b.windows(2) {
                let part: u64 = onto[w[0] as usize..w[1] as usize].iter().sum();
                let share = part as f64 / (total as f64 / k as f64);
                assert!((share - 1.0).abs() < 0.03, "{k} parts, {w:?}: {share}");
            }
        }
    }
}
