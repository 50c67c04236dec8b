//! Checkpoints: everything a training run needs to continue exactly where it stopped.
//!
//! `DIR/checkpoint/` holds `weights.npz` (the weights in the `io::weights` layout and the
//! readout biases), `optimizer.npz` (Adam moments `m/<i>`, `v/<i>` and step count), `rules.bin`
//! (each lane's rule state, as the rule serialized it) and `state.json` (iteration, task, seed,
//! batch, rule, and a fingerprint of the network's structure). Sampling is stateless (sample `i`
//! is a function of the task seed), so the iteration is the whole random state.
//!
//! Writing is atomic: a new checkpoint is written to `DIR/.checkpoint.tmp/`, the previous one
//! is renamed to `DIR/checkpoint.old/`, the new one renamed into place, and the old one
//! removed. A run killed at any point leaves either `checkpoint/` or `checkpoint.old/` complete;
//! [`load`] takes `checkpoint/` and falls back to `checkpoint.old/`, and never reads a `.tmp`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Trainer;
use crate::error::{Error, Result};
use crate::io::npz::{self, Out};
use crate::io::weights;
use crate::network::Network;
use crate::neuron::source::splitmix64;
use crate::optim::Optimizer;

/// `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Iterations done.
    pub iteration: u64,
    /// Task name.
    pub task: String,
    /// Seed of the task data.
    pub task_seed: u64,
    /// Seed of the initial weights.
    pub seed: u64,
    /// Batch size.
    pub batch: usize,
    /// Rule name.
    pub rule: String,
    /// Fingerprint of the network's structure.
    pub fingerprint: u64,
    /// Eligo version that wrote it.
    pub eligo_version: String,
}

/// A hash of the populations and connectivity (not the weights) of `net`.
pub fn fingerprint(net: &Network) -> u64 {
    let mut h = 0x5EED_u64;
    let mut mix = |x: u64| h = splitmix64(h ^ x);
    for p in &net.populations {
        mix(u64::from(p.size));
        p.model.name().bytes().for_each(|b| mix(u64::from(b)));
    }
    for p in &net.projections {
        mix(p.pre as u64);
        mix(p.post as u64);
        p.indptr.iter().for_each(|&x| mix(u64::from(x)));
        p.targets.iter().for_each(|&x| mix(u64::from(x)));
    }
    h
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

/// Write a checkpoint of `tr` into `dir` (see the module docs). `crash_before_rename` is for
/// tests: stop (return an error) after the temporary copy is complete and before any rename.
pub fn save(dir: &Path, tr: &Trainer, state: &State, crash_before_rename: bool) -> Result<()> {
    let tmp = dir.join(".checkpoint.tmp");
    let (cur, old) = (dir.join("checkpoint"), dir.join("checkpoint.old"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    let net = tr.network();
    let readout = net
        .populations
        .iter()
        .position(|p| matches!(p.model, crate::neuron::ModelSpec::Readout(_)))
        .expect("trainer networks have a readout");
    let mut biases = vec![Vec::new(); net.populations.len()];
    biases[readout] = tr.biases().to_vec();
    weights::save(&tmp.join("weights.npz"), net, &biases)?;
    let (m, v, k) = tr.optimizer().state();
    let mut o: BTreeMap<String, Out> = BTreeMap::new();
    for (i, (m, v)) in m.iter().zip(v).enumerate() {
        o.insert(format!("m/{i}"), Out::F32(vec![m.len() as u64], m.clone()));
        o.insert(format!("v/{i}"), Out::F32(vec![v.len() as u64], v.clone()));
    }
    o.insert("steps".into(), Out::U64(vec![], vec![k]));
    npz::write(&tmp.join("optimizer.npz"), &o)?;
    let rules = tr.rule_states()?;
    crate::io::write_atomic(&tmp.join("rules.bin"), |w| {
        use std::io::Write;
        w.write_all(&(rules.len() as u64).to_le_bytes())?;
        for r in &rules {
            w.write_all(&(r.len() as u64).to_le_bytes())?;
            w.write_all(r)?;
        }
        Ok(())
    })?;
    let text = serde_json::to_string_pretty(state).expect("state serializes");
    crate::io::write_atomic(&tmp.join("state.json"), |w| {
        use std::io::Write;
        w.write_all(text.as_bytes())
    })?;
    if crash_before_rename {
        return Err(Error::Rule(
            "test crash between the temporary write and the rename".into(),
        ));
    }
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    if cur.exists() {
        std::fs::rename(&cur, &old).map_err(io_err(&cur))?;
    }
    std::fs::rename(&tmp, &cur).map_err(io_err(&tmp))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    Ok(())
}

/// The checkpoint directory to read in `dir`: `checkpoint/`, else `checkpoint.old/`.
pub fn locate(dir: &Path) -> Result<PathBuf> {
    for name in ["checkpoint", "checkpoint.old"] {
        let p = dir.join(name);
        if p.join("state.json").is_file() {
            return Ok(p);
        }
    }
    Err(Error::input(
        "--resume",
        dir.display(),
        "no checkpoint in this directory (expected checkpoint/state.json)",
        "give the --out directory of an earlier `eligo train` run",
    ))
}

/// Read the state of the checkpoint in `dir`.
pub fn read_state(dir: &Path) -> Result<(PathBuf, State)> {
    let c = locate(dir)?;
    let p = c.join("state.json");
    let text = std::fs::read_to_string(&p).map_err(io_err(&p))?;
    let s: State = serde_json::from_str(&text).map_err(|e| {
        Error::input("", "", format!("not a valid checkpoint state: {e}"), "").in_file(&p)
    })?;
    Ok((c, s))
}

/// Restore `tr` from the checkpoint in `dir` (written for the same network, batch and rule).
pub fn load(dir: &Path, tr: &mut Trainer, rule: &str) -> Result<State> {
    let (c, s) = read_state(dir)?;
    let fp = fingerprint(tr.network());
    if s.fingerprint != fp || s.task != tr.task().name() {
        return Err(Error::input(
            "--resume",
            c.display(),
            format!(
                "the checkpoint is of another network (task '{}', fingerprint {:016x}; this run: task '{}', {:016x})",
                s.task,
                s.fingerprint,
                tr.task().name(),
                fp
            ),
            "resume with the same task, seed and network options",
        ));
    }
    if s.rule != rule {
        return Err(Error::input(
            "--rule",
            rule,
            format!("the checkpoint was trained with rule '{}'", s.rule),
            format!("resume with --rule {}", s.rule),
        ));
    }
    let mut net = tr.network().clone();
    let mut biases = weights::default_biases(&net);
    weights::load(&c.join("weights.npz"), &mut net, &mut biases)?;
    let readout = biases.iter().position(|b| !b.is_empty()).unwrap_or(0);
    let mut o = npz::Archive::open(&c.join("optimizer.npz"))?;
    let (m0, v0, _) = tr.optimizer().state();
    let mut m = Vec::new();
    let mut v = Vec::new();
    for i in 0..m0.len() {
        let mut get = |name: String, want: usize| -> Result<Vec<f32>> {
            match o.get(&name, want as u64)? {
                Some(a) if a.data.len() == want => Ok(a.data.iter().map(|&x| x as f32).collect()),
                _ => Err(Error::input(
                    name,
                    "missing or wrong length",
                    format!("optimizer state must hold {want} values"),
                    "",
                )
                .in_file(c.join("optimizer.npz"))),
            }
        };
        m.push(get(format!("m/{i}"), m0[i].len())?);
        v.push(get(format!("v/{i}"), v0[i].len())?);
    }
    let k = o
        .get("steps", 1)?
        .and_then(|a| a.data.first().copied())
        .unwrap_or(0.0) as u64;
    let mut opt: Optimizer = tr.optimizer().clone();
    opt.set_state(m, v, k);
    let bytes_path = c.join("rules.bin");
    let bytes = std::fs::read(&bytes_path).map_err(io_err(&bytes_path))?;
    let bad = || Error::input("", "", "truncated rule states", "").in_file(&bytes_path);
    let take = |at: &mut usize, n: usize| -> Result<Vec<u8>> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(bad)?;
        let v = bytes[*at..end].to_vec();
        *at = end;
        Ok(v)
    };
    let mut at = 0usize;
    let n = u64::from_le_bytes(take(&mut at, 8)?.try_into().expect("8 bytes"));
    let mut states = Vec::new();
    for _ in 0..n.min(1 << 20) {
        let len = u64::from_le_bytes(take(&mut at, 8)?.try_into().expect("8 bytes"));
        states.push(take(&mut at, usize::try_from(len).map_err(|_| bad())?)?);
    }
    tr.restore(&net, &biases[readout], opt, s.iteration);
    tr.load_rule_states(&states)?;
    Ok(s)
}
