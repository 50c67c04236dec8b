//! Checkpoints: everything a training run needs to continue exactly where it stopped.
//!
//! `DIR/checkpoint/` holds `weights.npz` (the weights in the `io::weights` layout and the
//! readout biases), `optimizer.npz` (Adam moments `m/<i>`, `v/<i>` and step count; with
//! several gradient rules, their optimizers' groups one after the other, `i` counting on),
//! `rules.bin` (each lane's rule state, as the rule serialized it; with several rules, each
//! lane's rules in attach order) and `state.json` (iteration, every
//! setting that affects the results, a fingerprint of the network's structure, and a digest of
//! each of the three other files). Sampling is stateless (sample `i` is a function of the task
//! seed), so the iteration is the whole random state.
//!
//! Loading checks everything it can before anything is restored: the digests (so an edited,
//! truncated or extended file is refused), the network fingerprint, every recorded setting
//! against this run's (a difference is refused unless the user overrides that setting), the
//! optimizer's step count against the iteration, finite weights and moments, non-negative
//! second moments, and a `rules.bin` with nothing after its last state.
//!
//! Writing is atomic and never leaves the directory without a complete checkpoint (the steps
//! are [`SaveStep`], in order): the new checkpoint is written to `DIR/.checkpoint.tmp/`; then,
//! only if `checkpoint/` exists (so it is the complete one), a stale `checkpoint.old/` is removed
//! and `checkpoint/` renamed to `checkpoint.old/`; the new one is renamed to `checkpoint/`; and
//! `checkpoint.old/` is removed last. A run killed between any two steps, once or several times
//! in a row, leaves `checkpoint/` complete, or (between the two renames) only `checkpoint.old/`;
//! [`locate`] takes `checkpoint/` when it exists, else `checkpoint.old/`, and never reads the
//! `.tmp` (which is complete only once a rename has made it the checkpoint).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{TrainConfig, TrainRule, Trainer};
use crate::error::{Error, Result};
use crate::io::npz::{self, Out};
use crate::io::weights;
use crate::network::Network;
use crate::optim::{Method, Optimizer};
use crate::plugin::config::RuleValues;
use crate::plugin::{HostOptions, Plugin};
use crate::rng::splitmix64;

/// The data files of a checkpoint, each with a digest in `state.json`.
pub const FILES: [&str; 3] = ["weights.npz", "optimizer.npz", "rules.bin"];

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
    /// Every setting that affects the results (see [`settings`]).
    pub settings: Settings,
    /// Digest of each file of [`FILES`] (hex), filled in by [`save`].
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// The settings of a run that affect its results, by name; values are exact (floats in their
/// shortest round-trip form).
pub type Settings = BTreeMap<String, String>;

/// Settings that change the network, the data or the optimizer state's shape: a checkpoint
/// cannot continue under another value, so no override is accepted.
const FIXED: [&str; 6] = ["task", "scale", "seed", "batch", "rule", "optimizer"];

/// The settings of a run: the task and its options, the rule and each of its parameters, the
/// optimizer and the host options of the rule config.
pub fn settings(
    task: &str,
    scale: f64,
    plugin: &Plugin,
    rule_values: &RuleValues,
    host: &HostOptions,
    cfg: &TrainConfig,
) -> Settings {
    let mut s = Settings::new();
    let mut put = |k: &str, v: String| {
        s.insert(k.to_string(), v);
    };
    put("task", task.into());
    put("scale", format!("{scale:?}"));
    put("seed", cfg.seed.to_string());
    put("batch", cfg.batch.to_string());
    put_rule(
        &mut put,
        "rule",
        "",
        plugin,
        rule_values,
        cfg.method,
        cfg.lr,
        host,
    );
    s
}

/// With several rules ([`settings_of_rules`]): `rule` is their names joined by `+`, and each
/// rule `K` (1.., attach order) has `rules.K` (its name), `rules.K.version`, `rules.K.<param>`
/// and its own optimizer and host options under `rules.K.`.
pub fn settings_of_rules(
    task: &str,
    scale: f64,
    rules: &[TrainRule],
    cfg: &TrainConfig,
) -> Settings {
    let mut s = Settings::new();
    let mut put = |k: &str, v: String| {
        s.insert(k.to_string(), v);
    };
    put("task", task.into());
    put("scale", format!("{scale:?}"));
    put("seed", cfg.seed.to_string());
    put("batch", cfg.batch.to_string());
    let names: Vec<&str> = rules.iter().map(|r| r.plugin.name.as_str()).collect();
    put("rule", names.join("+"));
    for (k, r) in rules.iter().enumerate() {
        let pre = format!("rules.{}", k + 1);
        let (o, h) = (&r.host.optimizer, &r.host);
        put_rule(
            &mut put,
            &pre,
            &format!("{pre}."),
            &r.plugin,
            &r.values,
            o.method,
            o.lr,
            h,
        );
    }
    s
}

/// One rule's settings: its name under `name`, version and parameters under `name.`, its
/// optimizer and host options under `host_pre` (empty for the single rule of a run).
#[allow(clippy::too_many_arguments)]
fn put_rule(
    put: &mut impl FnMut(&str, String),
    name: &str,
    host_pre: &str,
    plugin: &Plugin,
    values: &RuleValues,
    method: Method,
    lr: f64,
    host: &HostOptions,
) {
    put(name, plugin.name.clone());
    put(&format!("{name}.version"), plugin.version.clone());
    for (i, p) in plugin.params.iter().enumerate() {
        put(&format!("{name}.{}", p.name), values.shown(plugin, i));
    }
    let key = |k: &str| format!("{host_pre}{k}");
    match method {
        Method::Sgd => put(&key("optimizer"), "sgd".into()),
        Method::Adam { beta1, beta2, eps } => {
            put(&key("optimizer"), "adam".into());
            put(&key("optimizer.beta1"), format!("{beta1:?}"));
            put(&key("optimizer.beta2"), format!("{beta2:?}"));
            put(&key("optimizer.eps"), format!("{eps:?}"));
        }
    }
    put(&key("lr"), format!("{lr:?}"));
    let o = &host.optimizer;
    put(
        &key("lr_by_projection"),
        format!("{:?}", o.lr_by_projection),
    );
    put(
        &key("decay_by_projection"),
        format!("{:?}", o.decay_by_projection),
    );
    put(&key("plastic"), format!("{:?}", host.plastic));
    put(&key("w_min"), format!("{:?}", host.w_min));
    put(&key("w_max"), format!("{:?}", host.w_max));
    put(&key("keep_sign"), host.keep_sign.to_string());
}

/// A setting that no override may change: one of [`FIXED`], or a rule's name or optimizer
/// with several rules (`rules.K`, `rules.K.optimizer`).
fn is_fixed(key: &str) -> bool {
    if FIXED.contains(&key) {
        return true;
    }
    let Some(rest) = key.strip_prefix("rules.") else {
        return false;
    };
    let (k, tail) = rest.split_once('.').unwrap_or((rest, ""));
    k.parse::<usize>().is_ok() && (tail.is_empty() || tail == "optimizer")
}

/// The command-line option that sets `key`.
fn flag(key: &str) -> String {
    match key {
        "task" | "scale" | "seed" | "batch" | "rule" | "lr" => format!("--{key}"),
        "rule.feedback" => "--feedback".into(),
        "rule.mode" => "--mode".into(),
        k => format!("--rule-config ({k})"),
    }
}

/// Compare the `stored` settings of a checkpoint with this run's `current` ones. A difference
/// is an error naming each differing setting, unless `overrides` names it (and it is not one
/// that fixes the network); the overridden differences are returned (for a warning).
pub fn check_settings(
    stored: &Settings,
    current: &Settings,
    overrides: &[String],
) -> Result<Vec<String>> {
    for o in overrides {
        if !current.contains_key(o) {
            return Err(Error::input(
                "--resume-override",
                o,
                format!(
                    "not a setting; settings: {}",
                    current.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                crate::error::did_you_mean(
                    o,
                    &current.keys().map(String::as_str).collect::<Vec<_>>(),
                ),
            ));
        }
        if is_fixed(o) {
            return Err(Error::input(
                "--resume-override",
                o,
                format!(
                    "{} cannot be overridden (it fixes the network, the data or the optimizer state: {}, and with several rules rules.K, rules.K.optimizer)",
                    o,
                    FIXED.join(", ")
                ),
                "start a new run with --out instead",
            ));
        }
    }
    let none = "(not recorded)".to_string();
    let mut refused = Vec::new();
    let mut overridden = Vec::new();
    let keys: std::collections::BTreeSet<&String> = stored.keys().chain(current.keys()).collect();
    for k in keys {
        let (a, b) = (
            stored.get(k).unwrap_or(&none),
            current.get(k).unwrap_or(&none),
        );
        if a == b {
            continue;
        }
        let line = format!("{k}: checkpoint {a}, this run {b}");
        if overrides.contains(k) {
            overridden.push(line);
        } else {
            refused.push((k.clone(), a.clone(), line));
        }
    }
    let Some((k, a, _)) = refused.first() else {
        return Ok(overridden);
    };
    let lines: Vec<&str> = refused.iter().map(|(_, _, l)| l.as_str()).collect();
    let hint = if is_fixed(k) {
        format!("resume with {} {a} ({k} cannot be overridden)", flag(k))
    } else {
        format!(
            "resume with {} = {a}, or continue with this run's value with --resume-override {k}",
            flag(k)
        )
    };
    Err(Error::input(
        flag(k),
        current.get(k).unwrap_or(&none),
        format!(
            "the checkpoint was trained with other settings ({})",
            lines.join("; ")
        ),
        hint,
    ))
}

/// The digest `state.json` records for a file's bytes (not cryptographic: it catches edits,
/// truncation and junk, not a deliberate forgery).
pub fn file_digest(bytes: &[u8]) -> String {
    let mut h = splitmix64(0xC4EC_0001 ^ bytes.len() as u64);
    for c in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        h = splitmix64(h ^ u64::from_le_bytes(w));
    }
    format!("{h:016x}")
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

/// The steps of [`save`], in order. [`save_with_faults`] calls a hook before each one, so tests
/// can stop a save between any two steps (a crash, without a kill).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveStep {
    /// Remove a `.checkpoint.tmp/` left by an earlier crash.
    RemoveStaleTmp,
    /// Write `.checkpoint.tmp/weights.npz`.
    WriteWeights,
    /// Write `.checkpoint.tmp/optimizer.npz`.
    WriteOptimizer,
    /// Write `.checkpoint.tmp/rules.bin`.
    WriteRules,
    /// Write `.checkpoint.tmp/state.json` (with the digests of the three others).
    WriteState,
    /// If `checkpoint/` exists: remove a stale `checkpoint.old/`.
    RemoveStaleOld,
    /// If `checkpoint/` exists: rename it to `checkpoint.old/`.
    MoveCurrentToOld,
    /// Rename `.checkpoint.tmp/` to `checkpoint/`.
    MoveTmpToCurrent,
    /// Remove `checkpoint.old/`.
    RemoveOld,
}

impl SaveStep {
    /// Every step, in the order [`save`] takes them.
    pub const ALL: [SaveStep; 9] = [
        SaveStep::RemoveStaleTmp,
        SaveStep::WriteWeights,
        SaveStep::WriteOptimizer,
        SaveStep::WriteRules,
        SaveStep::WriteState,
        SaveStep::RemoveStaleOld,
        SaveStep::MoveCurrentToOld,
        SaveStep::MoveTmpToCurrent,
        SaveStep::RemoveOld,
    ];
}

/// What a checkpoint saves of a trainer (the lane-parallel [`Trainer`] and the closed-loop
/// [`super::agent::AgentTrainer`]).
pub trait Checkpointed {
    /// The master network (current weights).
    fn network(&self) -> &Network;
    /// The readout biases.
    fn biases(&self) -> &[f32];
    /// Every optimizer, in attach order of the gradient rules.
    fn optimizers(&self) -> &[Optimizer];
    /// Every lane's rule states, lane by lane.
    fn rule_states(&self) -> Result<Vec<Vec<u8>>>;
}

impl Checkpointed for Trainer {
    fn network(&self) -> &Network {
        Trainer::network(self)
    }
    fn biases(&self) -> &[f32] {
        Trainer::biases(self)
    }
    fn optimizers(&self) -> &[Optimizer] {
        Trainer::optimizers(self)
    }
    fn rule_states(&self) -> Result<Vec<Vec<u8>>> {
        Trainer::rule_states(self)
    }
}

/// Write a checkpoint of `tr` into `dir` (see the module docs). `state.files` is filled in.
pub fn save(dir: &Path, tr: &dyn Checkpointed, state: &State) -> Result<()> {
    save_with_faults(dir, tr, state, &mut |_| Ok(()))
}

/// [`save`], calling `before(step)` before each [`SaveStep`]; an error from it stops the save
/// there, as a crash would (fault injection for tests).
pub fn save_with_faults(
    dir: &Path,
    tr: &dyn Checkpointed,
    state: &State,
    before: &mut dyn FnMut(SaveStep) -> Result<()>,
) -> Result<()> {
    let tmp = dir.join(".checkpoint.tmp");
    let (cur, old) = (dir.join("checkpoint"), dir.join("checkpoint.old"));
    before(SaveStep::RemoveStaleTmp)?;
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    before(SaveStep::WriteWeights)?;
    let net = tr.network();
    let readout = net.readout().expect("trainer networks have a readout");
    let mut biases = vec![Vec::new(); net.populations.len()];
    biases[readout] = tr.biases().to_vec();
    weights::save(&tmp.join("weights.npz"), net, &biases)?;
    before(SaveStep::WriteOptimizer)?;
    let mut o: BTreeMap<String, Out> = BTreeMap::new();
    let mut i = 0usize;
    // every optimizer steps once per iteration (or none ever does): one count
    let (_, _, k) = tr.optimizers()[0].state();
    for opt in tr.optimizers() {
        let (m, v, _) = opt.state();
        for (m, v) in m.iter().zip(v) {
            o.insert(format!("m/{i}"), Out::F32(vec![m.len() as u64], m.clone()));
            o.insert(format!("v/{i}"), Out::F32(vec![v.len() as u64], v.clone()));
            i += 1;
        }
    }
    o.insert("steps".into(), Out::U64(vec![], vec![k]));
    npz::write(&tmp.join("optimizer.npz"), &o)?;
    before(SaveStep::WriteRules)?;
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
    before(SaveStep::WriteState)?;
    let mut state = state.clone();
    state.files.clear();
    for f in FILES {
        let p = tmp.join(f);
        let bytes = std::fs::read(&p).map_err(io_err(&p))?;
        state.files.insert(f.to_string(), file_digest(&bytes));
    }
    let text = serde_json::to_string_pretty(&state).expect("state serializes");
    crate::io::write_atomic(&tmp.join("state.json"), |w| {
        use std::io::Write;
        w.write_all(text.as_bytes())
    })?;
    // rename first, delete after: `checkpoint.old/` is removed only while `checkpoint/` exists
    // (a complete checkpoint, since it only ever appears by a rename of a complete .tmp)
    before(SaveStep::RemoveStaleOld)?;
    if cur.exists() && old.exists() {
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    before(SaveStep::MoveCurrentToOld)?;
    if cur.exists() {
        std::fs::rename(&cur, &old).map_err(io_err(&cur))?;
    }
    before(SaveStep::MoveTmpToCurrent)?;
    std::fs::rename(&tmp, &cur).map_err(io_err(&tmp))?;
    before(SaveStep::RemoveOld)?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    Ok(())
}

/// Read and verify the checkpoint directory `c`: `state.json` parses and every file of
/// [`FILES`] has the digest it records.
fn verify(c: &Path) -> Result<State> {
    let p = c.join("state.json");
    let text = std::fs::read_to_string(&p).map_err(|e| {
        Error::input(
            "state.json",
            "",
            format!("the checkpoint is incomplete (cannot read it: {e})"),
            "",
        )
        .in_file(&p)
    })?;
    let s: State = serde_json::from_str(&text).map_err(|e| {
        Error::input(
            "",
            "",
            format!("not a valid checkpoint state: {e}"),
            "it was edited, or written by an eligo without checked checkpoints; start a new run",
        )
        .in_file(&p)
    })?;
    for f in FILES {
        let fp = c.join(f);
        let want = s.files.get(f).map_or("(none)", String::as_str);
        let got = match std::fs::read(&fp) {
            Ok(b) => file_digest(&b),
            Err(_) => "(missing)".to_string(),
        };
        if got != want {
            return Err(Error::input(
                f,
                format!("digest {got}"),
                format!("state.json records digest {want}: the file was changed, truncated or extended after the checkpoint was written"),
                "resume from an intact copy of the checkpoint, or start a new run",
            )
            .in_file(&fp));
        }
    }
    Ok(s)
}

/// The checkpoint to read in `dir` and its verified state: `checkpoint/` when it exists (it is
/// complete unless damaged, and then refused), else `checkpoint.old/` (only it exists after a
/// crash between the two renames of [`save`]).
pub fn locate(dir: &Path) -> Result<(PathBuf, State)> {
    let (cur, old) = (dir.join("checkpoint"), dir.join("checkpoint.old"));
    if cur.is_dir() {
        return verify(&cur).map_err(|e| match (e, verify(&old)) {
            (Error::Input(mut e), Ok(s)) => {
                e.hint = format!(
                    "{}checkpoint.old/ (iteration {}) is intact: rename it to checkpoint/ to resume from it",
                    if e.hint.is_empty() { String::new() } else { format!("{}; ", e.hint) },
                    s.iteration
                );
                Error::Input(e)
            }
            (e, _) => e,
        }).map(|s| (cur, s));
    }
    if old.is_dir() {
        return verify(&old).map(|s| (old, s));
    }
    Err(Error::input(
        "--resume",
        dir.display(),
        "no checkpoint in this directory (expected checkpoint/state.json)",
        "give the --out directory of an earlier `eligo train` run",
    ))
}

/// Read the verified state of the checkpoint in `dir` (see [`locate`]).
pub fn read_state(dir: &Path) -> Result<(PathBuf, State)> {
    locate(dir)
}

/// Restore `tr` from the checkpoint in `dir`, after checking that it was written for this
/// network and rule and with the `settings` of this run (differences named in `overrides` are
/// accepted and returned, for a warning). Returns the checkpoint's state.
pub fn load(
    dir: &Path,
    tr: &mut Trainer,
    rule: &str,
    settings: &Settings,
    overrides: &[String],
) -> Result<(State, Vec<String>)> {
    let (c, s) = locate(dir)?;
    check_identity(&c, &s, tr, rule)?;
    let overridden = check_settings(&s.settings, settings, overrides)?;
    let (net, biases, readout) = load_weights(&c, tr.network())?;
    let opts = load_optimizers(&c, &s, tr.optimizers(), tr.has_gradient_rule())?;
    let states = load_rule_states(
        &c.join("rules.bin"),
        tr.lanes() as u64,
        tr.rule_count().max(1) as u64,
    )?;
    tr.restore_all(&net, &biases[readout], opts, s.iteration);
    tr.load_rule_states(&states)?;
    Ok((s, overridden))
}

/// What [`load_parts`] read: the master weights, the readout biases, the optimizers and the
/// lanes' rule states.
pub struct Parts {
    /// A copy of the network with the checkpoint's weights.
    pub net: Network,
    /// The readout biases.
    pub biases: Vec<f32>,
    /// The optimizers, with the checkpoint's moments and step count.
    pub optimizers: Vec<Optimizer>,
    /// The rule states, lane by lane.
    pub rule_states: Vec<Vec<u8>>,
}

/// Read the checkpoint in `dir` for a trainer of `net` with `opts` (whose step count must be
/// the iteration if `stepping`) and `lanes` lanes of one rule, after checking its network
/// fingerprint, task and rule (`task`, `rule`) and its settings against `settings` (those
/// named in `overrides` may differ; they are returned). Nothing is restored: the caller does.
pub fn load_parts(
    dir: &Path,
    (net, task, rule): (&Network, &str, &str),
    (opts, stepping, lanes): (&[Optimizer], bool, u64),
    settings: &Settings,
    overrides: &[String],
) -> Result<(State, Parts, Vec<String>)> {
    let (c, s) = locate(dir)?;
    check_identity_of(&c, &s, net, task, rule)?;
    let overridden = check_settings(&s.settings, settings, overrides)?;
    let (net, mut biases, readout) = load_weights(&c, net)?;
    let optimizers = load_optimizers(&c, &s, opts, stepping)?;
    let rule_states = load_rule_states(&c.join("rules.bin"), lanes, 1)?;
    let parts = Parts {
        net,
        biases: std::mem::take(&mut biases[readout]),
        optimizers,
        rule_states,
    };
    Ok((s, parts, overridden))
}

/// The checkpoint `c` (state `s`) must be of this network and task and of `rule`.
fn check_identity(c: &Path, s: &State, tr: &Trainer, rule: &str) -> Result<()> {
    check_identity_of(c, s, tr.network(), tr.task().name(), rule)
}

/// [`check_identity`] of a network `net` trained on `task`.
fn check_identity_of(c: &Path, s: &State, net: &Network, task: &str, rule: &str) -> Result<()> {
    let fp = fingerprint(net);
    if s.fingerprint != fp || s.task != task {
        return Err(Error::input(
            "--resume",
            c.display(),
            format!(
                "the checkpoint is of another network (task '{}', fingerprint {:016x}; this run: task '{}', {:016x})",
                s.task, s.fingerprint, task, fp
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
    Ok(())
}

/// A copy of `net` with the weights of `c/weights.npz`, the biases, and the index of the
/// readout's bias vector; every weight and bias must be finite.
fn load_weights(c: &Path, net: &Network) -> Result<(Network, Vec<Vec<f32>>, usize)> {
    let mut net = net.clone();
    let mut biases = weights::default_biases(&net);
    let wpath = c.join("weights.npz");
    weights::load(&wpath, &mut net, &mut biases)?;
    let readout = biases.iter().position(|b| !b.is_empty()).unwrap_or(0);
    for (p, w) in net
        .projections
        .iter()
        .map(|p| (p.name.as_str(), &p.weights))
        .chain(std::iter::once(("readout bias", &biases[readout])))
    {
        if let Some(j) = w.iter().position(|x| !x.is_finite()) {
            return Err(Error::input(
                format!("{p}[{j}]"),
                w[j],
                "checkpoint weights must be finite",
                "resume from an intact copy of the checkpoint",
            )
            .in_file(&wpath));
        }
    }
    Ok((net, biases, readout))
}

/// Copies of `opts` with the moments (their groups one after the other) and step count of
/// `c/optimizer.npz`, whose step count must equal the state's iteration (`stepping`: some rule
/// is a gradient rule), or 0 (only direct rules: no optimizer ever steps).
fn load_optimizers(
    c: &Path,
    s: &State,
    opts: &[Optimizer],
    stepping: bool,
) -> Result<Vec<Optimizer>> {
    let opath = c.join("optimizer.npz");
    let mut o = npz::Archive::open(&opath)?;
    let (mut m0, mut v0) = (Vec::new(), Vec::new());
    for opt in opts {
        let (m, v, _) = opt.state();
        m0.extend(m.iter().cloned());
        v0.extend(v.iter().cloned());
    }
    let (mut m, mut v) = read_moments(&mut o, &opath, &m0, &v0)?;
    let k = read_steps(&mut o, &opath)?;
    let want = if stepping { s.iteration } else { 0 };
    if k != want {
        let per = if stepping {
            "one per iteration"
        } else {
            "none with only direct rules"
        };
        return Err(Error::input(
            "iteration",
            s.iteration,
            format!("the optimizer has done {k} updates, {per}: the checkpoint is inconsistent"),
            "resume from an intact copy of the checkpoint",
        )
        .in_file(c.join("state.json")));
    }
    let mut out = Vec::with_capacity(opts.len());
    for opt in opts {
        let n = opt.state().0.len();
        let rest_m = m.split_off(n);
        let rest_v = v.split_off(n);
        let mut opt: Optimizer = opt.clone();
        opt.set_state(m, v, k).map_err(|e| e.in_file(&opath))?;
        out.push(opt);
        (m, v) = (rest_m, rest_v);
    }
    Ok(out)
}

/// One Adam moment vector per optimized array.
type Moments = Vec<Vec<f32>>;

/// The moments `m/<i>`, `v/<i>` of `o`, each as long as this run's (`m0`, `v0`); no other
/// array than these and `steps` may be present.
fn read_moments(
    o: &mut npz::Archive,
    opath: &Path,
    m0: &[Vec<f32>],
    v0: &[Vec<f32>],
) -> Result<(Moments, Moments)> {
    let mut get = |name: String, want: usize| -> Result<Vec<f32>> {
        match o.get(&name, want as u64)? {
            Some(a) if a.data.len() == want => Ok(a.data.iter().map(|&x| x as f32).collect()),
            _ => Err(Error::input(
                name,
                "missing or wrong length",
                format!("optimizer state must hold {want} values"),
                "",
            )
            .in_file(opath)),
        }
    };
    let mut m = Vec::new();
    let mut v = Vec::new();
    let mut expected = vec!["steps".to_string()];
    for i in 0..m0.len() {
        m.push(get(format!("m/{i}"), m0[i].len())?);
        v.push(get(format!("v/{i}"), v0[i].len())?);
        expected.extend([format!("m/{i}"), format!("v/{i}")]);
    }
    if let Some(k) = o.names().into_iter().find(|k| !expected.contains(k)) {
        return Err(Error::input(
            k,
            "present",
            format!(
                "not an array of this run's optimizer (expected: {})",
                expected.join(", ")
            ),
            "",
        )
        .in_file(opath));
    }
    Ok((m, v))
}

/// The optimizer's step count `steps` of `o`: one non-negative integer below 2^53.
fn read_steps(o: &mut npz::Archive, opath: &Path) -> Result<u64> {
    let steps = o.get("steps", 1)?;
    match steps.as_ref().map(|a| a.data.as_slice()) {
        Some(&[k]) if k >= 0.0 && k.fract() == 0.0 && k < 2f64.powi(53) => Ok(k as u64),
        other => Err(Error::input(
            "steps",
            other.map_or("missing".to_string(), |d| format!("{d:?}")),
            "one non-negative integer: the optimizer updates done",
            "",
        )
        .in_file(opath)),
    }
}

/// The rule states of `rules.bin` at `bytes_path`: a u64 count of states (which must be
/// `lanes` × `per_lane`, the rules per lane), then per state a u64 length and that many bytes,
/// and nothing after.
fn load_rule_states(bytes_path: &Path, lanes: u64, per_lane: u64) -> Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(bytes_path).map_err(io_err(bytes_path))?;
    let bad = |what: String| Error::input("", "", what, "").in_file(bytes_path);
    let take = |at: &mut usize, n: u64| -> Result<Vec<u8>> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| at.checked_add(n))
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| bad(format!("truncated rule states ({} bytes)", bytes.len())))?;
        let v = bytes[*at..end].to_vec();
        *at = end;
        Ok(v)
    };
    let word = |at: &mut usize| -> Result<u64> {
        Ok(u64::from_le_bytes(
            take(at, 8)?.try_into().expect("8 bytes"),
        ))
    };
    let mut at = 0usize;
    let n = word(&mut at)?;
    if n != lanes * per_lane {
        let why = match per_lane {
            1 => format!("the checkpoint has rule states for {n} lanes, this run has {lanes}"),
            r => format!(
                "the checkpoint has {n} rule states, this run has {lanes} lanes of {r} rules"
            ),
        };
        return Err(
            Error::input("rules", n, why, "resume with the same batch size").in_file(bytes_path),
        );
    }
    let mut states = Vec::new();
    for _ in 0..n {
        let len = word(&mut at)?;
        states.push(take(&mut at, len)?);
    }
    if at != bytes.len() {
        return Err(bad(format!(
            "{} bytes after the last rule state (the file is {} bytes, its states end at {at})",
            bytes.len() - at,
            bytes.len()
        )));
    }
    Ok(states)
}
