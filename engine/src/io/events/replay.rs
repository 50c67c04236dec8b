//! Replay an event file into a simulation.
//!
//! - [`EventFeed`]: a [`SpikeFeed`] for an `external` population that streams the file step by
//!   step (memory: one chunk, whatever the file size). Use [`scan`] first: it reads the whole
//!   file once and reports every problem (bad bytes, time going backwards, an address outside
//!   the map or the population) before the run starts, since a feed cannot fail mid-run — if the
//!   file changes under it anyway, the feed stops and [`FeedStatus::check`] reports why.
//! - [`load_steps`]: all `(step, index)` pairs in memory, for [`Simulation::clamp`]
//!   (`--clamp-events`), which replays recorded spikes as a population's own.
//!
//! [`Simulation::clamp`]: crate::sim::Simulation::clamp

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::bin::{BinPolicy, Binner, Limit};
use super::map::{AddressMap, MapSpec, TimeMap};
use super::{Checked, ReadOptions, StreamInfo, open};
use crate::error::{Error, Result};
use crate::neuron::SpikeFeed;

/// Everything that says how a file becomes spikes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// How to open the file.
    pub read: ReadOptions,
    /// Address map.
    pub map: MapSpec,
    /// Time map.
    pub time: TimeMap,
    /// Policy for several events of one neuron in one step.
    pub policy: BinPolicy,
}

/// Open `path` and bin it to steps of `dt_us`, indices below `limit`'s size.
pub fn binner(
    path: &Path,
    opts: &ReplayOptions,
    dt_us: u64,
    limit: Option<(&str, u32)>,
) -> Result<Binner> {
    let reader = open(path, &opts.read)?;
    let map = AddressMap::new(&opts.map, reader.info()).map_err(|e| e.in_file(path))?;
    let limit = limit.map(|(name, size)| Limit {
        name: name.to_string(),
        size,
    });
    Ok(Binner::new(
        Checked::new(reader, path),
        opts.time,
        map,
        dt_us,
        opts.policy,
        limit,
    ))
}

/// What a full pass over a file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The stream's description.
    pub info: StreamInfo,
    /// The map used.
    pub map: String,
    /// Events read.
    pub events: u64,
    /// Events before the start time (skipped).
    pub skipped: u64,
    /// Spikes after binning (events minus skipped minus merged).
    pub spikes: u64,
    /// Events folded by the clip policy.
    pub merged: u64,
    /// Steps with at least one spike.
    pub steps: u64,
    /// First and last step with a spike.
    pub step_range: Option<(u64, u64)>,
    /// Largest neuron index.
    pub max_index: Option<u32>,
}

/// Read the whole file once through the replay pipeline and summarize it.
pub fn scan(
    path: &Path,
    opts: &ReplayOptions,
    dt_us: u64,
    limit: Option<(&str, u32)>,
) -> Result<Scan> {
    let mut b = binner(path, opts, dt_us, limit)?;
    let (mut spikes, mut merged, mut steps) = (0u64, 0u64, 0u64);
    let mut range: Option<(u64, u64)> = None;
    let mut max_index: Option<u32> = None;
    while let Some(s) = b.next_step()? {
        spikes += s.index.len() as u64;
        merged += s.merged;
        steps += 1;
        range = Some((range.map_or(s.step, |r| r.0), s.step));
        max_index = max_index.max(s.index.last().copied());
    }
    Ok(Scan {
        info: b.info().clone(),
        map: b.map().describe(),
        events: b.events_read(),
        skipped: b.skipped(),
        spikes,
        merged,
        steps,
        step_range: range,
        max_index,
    })
}

/// All `(step, index)` spikes of a file, for [`crate::sim::Simulation::clamp`].
pub fn load_steps(
    path: &Path,
    opts: &ReplayOptions,
    dt_us: u64,
    limit: Option<(&str, u32)>,
) -> Result<Vec<(u64, u32)>> {
    let mut opts = opts.clone();
    opts.policy = BinPolicy::Clip;
    let mut b = binner(path, &opts, dt_us, limit)?;
    let mut out = Vec::new();
    while let Some(s) = b.next_step()? {
        out.extend(s.index.iter().map(|&i| (s.step, i)));
    }
    Ok(out)
}

/// Shared state between a feed (moved into the simulation) and its owner.
#[derive(Debug, Clone, Default)]
pub struct FeedStatus(Arc<Mutex<(Option<Error>, u64)>>);

impl FeedStatus {
    /// The error that stopped the feed, if any.
    pub fn check(&self) -> Result<()> {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match g.0.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Spikes the feed has emitted so far.
    pub fn spikes(&self) -> u64 {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).1
    }
}

/// Streams a file into an `external` population, one step at a time.
pub struct EventFeed {
    binner: Option<Binner>,
    /// The next non-empty step, read ahead.
    pending: Option<(u64, Vec<u32>)>,
    status: FeedStatus,
    path: PathBuf,
}

impl EventFeed {
    /// A feed over `path`; check it with [`scan`] first.
    pub fn new(
        path: &Path,
        opts: &ReplayOptions,
        dt_us: u64,
        limit: Option<(&str, u32)>,
    ) -> Result<(Self, FeedStatus)> {
        if opts.policy == BinPolicy::Count {
            return Err(Error::input(
                "--bin",
                "count",
                "a replayed neuron spikes at most once per step: only --bin clip can drive a \
                 population",
                "use --bin clip (the default); `eligo events info --dt-ms` shows how many events \
                 clip folds",
            ));
        }
        let status = FeedStatus::default();
        let feed = EventFeed {
            binner: Some(binner(path, opts, dt_us, limit)?),
            pending: None,
            status: status.clone(),
            path: path.to_path_buf(),
        };
        Ok((feed, status))
    }

    fn fail(&mut self, e: Error) {
        let mut g = self.status.0.lock().unwrap_or_else(|p| p.into_inner());
        if g.0.is_none() {
            g.0 = Some(e.in_file(&self.path));
        }
        self.binner = None;
        self.pending = None;
    }
}

impl SpikeFeed for EventFeed {
    fn spikes_at(&mut self, step: u64, out: &mut Vec<u32>) {
        loop {
            if self.pending.is_none() {
                let Some(b) = self.binner.as_mut() else {
                    return;
                };
                match b.next_step() {
                    Ok(Some(s)) => self.pending = Some((s.step, s.index.clone())),
                    Ok(None) => {
                        self.binner = None;
                        return;
                    }
                    Err(e) => {
                        self.fail(e);
                        return;
                    }
                }
            }
            let (s, _) = self.pending.as_ref().expect("just filled");
            if *s > step {
                return;
            }
            let (s, idx) = self.pending.take().expect("just checked");
            if s == step {
                out.extend_from_slice(&idx);
                self.status.0.lock().unwrap_or_else(|p| p.into_inner()).1 += idx.len() as u64;
                return;
            }
            // s < step: events before the current step (a feed attached mid-run) are dropped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::events::{AeEvent, npy};

    #[test]
    fn feed_emits_each_step_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.npy");
        let ev = [
            AeEvent::addr(0, 3),
            AeEvent::addr(10, 1),
            AeEvent::addr(2000, 0),
            AeEvent::addr(2999, 0),
            AeEvent::addr(7000, 2),
        ];
        npy::write(&p, &ev, false).unwrap();
        let opts = ReplayOptions::default();
        let sc = scan(&p, &opts, 1000, Some(("in", 4))).unwrap();
        assert_eq!((sc.events, sc.spikes, sc.merged, sc.steps), (5, 4, 1, 3));
        assert_eq!(sc.step_range, Some((0, 7)));
        let (mut f, st) = EventFeed::new(&p, &opts, 1000, Some(("in", 4))).unwrap();
        let mut got = vec![];
        for t in 0..10 {
            let mut out = vec![];
            f.spikes_at(t, &mut out);
            got.push(out);
        }
        let want: Vec<Vec<u32>> = vec![
            vec![1, 3],
            vec![],
            vec![0],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![2],
            vec![],
            vec![],
        ];
        assert_eq!(got, want);
        st.check().unwrap();
        assert_eq!(st.spikes(), 4);
        assert_eq!(
            load_steps(&p, &opts, 1000, None).unwrap(),
            vec![(0, 1), (0, 3), (2, 0), (7, 2)]
        );
    }
}
