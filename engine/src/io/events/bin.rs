//! Binning: from a checked event stream to the neurons that spike in each step.
//!
//! Every event goes through the [`TimeMap`] (events before the start are skipped), then the
//! [`AddressMap`] (an event outside the map, or mapped past the population, is an error naming
//! it), and lands in step `⌊t' / dt_us⌋`. The neurons of one step come out ascending. When one
//! neuron has several events in one step, the policy decides:
//! - [`BinPolicy::Clip`]: one spike (the engine's contract: a neuron spikes at most once per
//!   step); [`StepEvents::merged`] counts what was folded.
//! - [`BinPolicy::Count`]: one entry per neuron with the number of events in `count`, for
//!   analyses and frame-like inputs.
//!
//! Work per event: a compare against the current step's end (a division only when the step
//! changes), the map, a push; per step: an `is_sorted` check and a sort only when the step's
//! events were not already in address order.

use super::map::{AddressMap, TimeMap};
use super::{AeEvent, Checked, EventReader};
use crate::error::{Error, Result};

/// What to do with several events of one neuron in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinPolicy {
    /// At most one spike per neuron and step.
    #[default]
    Clip,
    /// Keep the number of events.
    Count,
}

impl BinPolicy {
    /// Parse `--bin`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "clip" => Ok(BinPolicy::Clip),
            "count" => Ok(BinPolicy::Count),
            other => Err(Error::input(
                "--bin",
                format!("'{other}'"),
                "allowed: clip (one spike per neuron and step), count",
                "",
            )),
        }
    }
}

/// The events of one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepEvents {
    /// The step.
    pub step: u64,
    /// Neuron indices, ascending, without duplicates.
    pub index: Vec<u32>,
    /// With [`BinPolicy::Count`]: events per neuron (same length as `index`); empty otherwise.
    pub count: Vec<u32>,
    /// Events folded into another of the same neuron and step in this step.
    pub merged: u64,
}

/// A population bound: indices must be below `size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Population name.
    pub name: String,
    /// Population size.
    pub size: u32,
}

/// Steps out of an event stream.
pub struct Binner {
    reader: Checked,
    time: TimeMap,
    map: AddressMap,
    dt_us: u64,
    policy: BinPolicy,
    limit: Option<Limit>,
    chunk: Vec<AeEvent>,
    pos: usize,
    /// Stream index of `chunk[0]`.
    chunk_first: u64,
    /// Events before the time map's start.
    skipped: u64,
    cur: StepEvents,
    scratch: Vec<u32>,
}

impl Binner {
    /// Bin `reader` with step `dt_us`; `limit` bounds the indices (a population).
    pub fn new(
        reader: Checked,
        time: TimeMap,
        map: AddressMap,
        dt_us: u64,
        policy: BinPolicy,
        limit: Option<Limit>,
    ) -> Self {
        assert!(dt_us >= 1, "dt_us validated by the caller");
        Binner {
            reader,
            time,
            map,
            dt_us,
            policy,
            limit,
            chunk: Vec::new(),
            pos: 0,
            chunk_first: 0,
            skipped: 0,
            cur: StepEvents::default(),
            scratch: Vec::new(),
        }
    }

    /// Events skipped because they lie before the start time.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Events read so far.
    pub fn events_read(&self) -> u64 {
        self.reader.count()
    }

    /// The address map.
    pub fn map(&self) -> &AddressMap {
        &self.map
    }

    /// The stream's description.
    pub fn info(&self) -> &super::StreamInfo {
        self.reader.info()
    }

    fn outside(&self, i: u64, e: &AeEvent, index: Option<u32>) -> Error {
        let what = format!(
            "t = {} µs, x = {}, y = {}, p = {}{}",
            e.t,
            e.x,
            e.y,
            e.p,
            index.map(|i| format!(" -> neuron {i}")).unwrap_or_default()
        );
        let (allowed, hint) = match (index, &self.limit) {
            (Some(_), Some(l)) => (
                format!(
                    "the population '{}' has {} neurons; the map is: {}",
                    l.name,
                    l.size,
                    self.map.describe()
                ),
                "pool (--pool), merge polarity (--merge-polarity), or enlarge the population",
            ),
            _ => (
                format!(
                    "the event is outside the address map: {}",
                    self.map.describe()
                ),
                "check --width/--height, the sensor layout (--aedat-chip) or the table",
            ),
        };
        Error::input(format!("event {i}"), what, allowed, hint).in_file(self.reader.path())
    }

    /// The next step with events, or `None` at the end of the stream.
    pub fn next_step(&mut self) -> Result<Option<&StepEvents>> {
        self.scratch.clear();
        let mut step: Option<u64> = None;
        let mut end_t = 0u64; // first time of the next step
        let limit = self
            .limit
            .as_ref()
            .map_or(u32::MAX as u64 + 1, |l| u64::from(l.size));
        'outer: loop {
            if self.pos >= self.chunk.len() {
                self.pos = 0;
                if !self.reader.next_chunk(&mut self.chunk)? {
                    break;
                }
                self.chunk_first = self.reader.count() - self.chunk.len() as u64;
            }
            while self.pos < self.chunk.len() {
                let e = self.chunk[self.pos];
                let Some(t) = self.time.apply(e.t) else {
                    self.skipped += 1;
                    self.pos += 1;
                    continue;
                };
                if step.is_none() || t >= end_t {
                    let s = t / self.dt_us;
                    if step.is_some() {
                        break 'outer;
                    }
                    step = Some(s);
                    end_t = (s + 1).saturating_mul(self.dt_us);
                }
                let index = self.map.index(&e);
                match index {
                    Some(i) if u64::from(i) < limit => self.scratch.push(i),
                    _ => return Err(self.outside(self.chunk_first + self.pos as u64, &e, index)),
                }
                self.pos += 1;
            }
        }
        let Some(step) = step else {
            return Ok(None);
        };
        if !self.scratch.is_sorted() {
            self.scratch.sort_unstable();
        }
        let cur = &mut self.cur;
        cur.step = step;
        cur.index.clear();
        cur.count.clear();
        let n = self.scratch.len();
        match self.policy {
            BinPolicy::Clip => {
                let mut last = None;
                for &i in &self.scratch {
                    if last != Some(i) {
                        cur.index.push(i);
                        last = Some(i);
                    }
                }
            }
            BinPolicy::Count => {
                for &i in &self.scratch {
                    if cur.index.last() == Some(&i) {
                        *cur.count.last_mut().expect("same length") += 1;
                    } else {
                        cur.index.push(i);
                        cur.count.push(1);
                    }
                }
            }
        }
        cur.merged = (n - cur.index.len()) as u64;
        Ok(Some(&self.cur))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::events::{Format, MapSpec, StreamInfo, VecReader};

    fn binner(ev: Vec<AeEvent>, policy: BinPolicy, limit: Option<u32>) -> Binner {
        let info = StreamInfo::new(Format::EligoNpy, false, false);
        let map = AddressMap::new(&MapSpec::default(), &info).unwrap();
        let r = Checked::new(
            Box::new(VecReader::new(info, ev)),
            std::path::Path::new("mem"),
        );
        let limit = limit.map(|size| Limit {
            name: "in".into(),
            size,
        });
        Binner::new(r, TimeMap::default(), map, 1000, policy, limit)
    }

    fn all(mut b: Binner) -> Result<Vec<StepEvents>> {
        let mut v = vec![];
        while let Some(s) = b.next_step()? {
            v.push(s.clone());
        }
        Ok(v)
    }

    #[test]
    fn clip_and_count_by_hand() {
        let ev = vec![
            AeEvent::addr(0, 5),
            AeEvent::addr(999, 2),
            AeEvent::addr(999, 5),
            AeEvent::addr(1000, 1),
            AeEvent::addr(5000, 1),
            AeEvent::addr(5001, 1),
        ];
        let s = all(binner(ev.clone(), BinPolicy::Clip, None)).unwrap();
        let got: Vec<(u64, Vec<u32>, u64)> = s
            .iter()
            .map(|s| (s.step, s.index.clone(), s.merged))
            .collect();
        assert_eq!(
            got,
            vec![(0, vec![2, 5], 1), (1, vec![1], 0), (5, vec![1], 1)]
        );
        let s = all(binner(ev, BinPolicy::Count, None)).unwrap();
        assert_eq!(s[0].count, vec![1, 2]);
        assert_eq!(s[2].count, vec![2]);
    }

    #[test]
    fn index_past_population_names_the_event() {
        let ev = vec![AeEvent::addr(0, 1), AeEvent::addr(10, 9)];
        let e = all(binner(ev, BinPolicy::Clip, Some(4)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("event 1") && e.contains("4 neurons"), "{e}");
    }

    #[test]
    fn backwards_time_names_the_event() {
        let ev = vec![AeEvent::addr(10, 1), AeEvent::addr(9, 2)];
        let e = all(binner(ev, BinPolicy::Clip, None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("event 1") && e.contains("--sort"), "{e}");
    }
}
