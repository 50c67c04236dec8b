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

use super::map::{AddressMap, TimeMap, TimeStart};
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
    bits: Bits,
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
            bits: Bits::default(),
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
        let mut st = StepState {
            step: None,
            last_t: 0,
            lo: u32::MAX,
            hi: 0,
        };
        let limit = self
            .limit
            .as_ref()
            .map_or(u64::from(u32::MAX) + 1, |l| u64::from(l.size));
        loop {
            if self.pos >= self.chunk.len() {
                self.pos = 0;
                if !self.reader.next_chunk(&mut self.chunk)? {
                    break;
                }
                self.chunk_first = self.reader.count() - self.chunk.len() as u64;
            }
            let r = self.scan_chunk(limit, &mut st);
            self.pos += r.consumed;
            self.skipped += r.skipped;
            if r.overflow {
                let e = self.chunk[self.pos];
                return Err(self
                    .time
                    .overflow_error(self.chunk_first + self.pos as u64, e.t)
                    .in_file(self.reader.path()));
            }
            if let Some((_, index)) = r.bad {
                // `consumed` stopped at the bad event
                let at = self.pos;
                let e = self.chunk[at];
                return Err(self.outside(self.chunk_first + at as u64, &e, index));
            }
            if r.step_done {
                break;
            }
        }
        let Some(step) = st.step else {
            return Ok(None);
        };
        self.collect_step(step, &st);
        Ok(Some(&self.cur))
    }

    /// Scan the rest of the current chunk into `scratch` with the [`scan`] specialized for the
    /// map and time scaling (the first event of the stream fixes a `First` start time).
    #[inline]
    fn scan_chunk(&mut self, limit: u64, st: &mut StepState) -> ScanResult {
        if self.time.start == TimeStart::First {
            self.time.start = TimeStart::At(self.chunk[self.pos].t);
        }
        let TimeStart::At(start) = self.time.start else {
            unreachable!("resolved above")
        };
        let tm = (start, self.time.num, self.time.den);
        let chunk = &self.chunk[self.pos..];
        self.scratch.reserve(chunk.len());
        let scaled = self.time.num != self.time.den;
        let dt = self.dt_us;
        let out = &mut self.scratch;
        match (&self.map, scaled) {
            (AddressMap::Identity { pool: 1 }, false) => {
                scan::<_, false>(chunk, |e| Some(e.x), tm, dt, limit, st, out)
            }
            (
                &AddressMap::Sensor {
                    w_in,
                    h_in,
                    px: 1,
                    py: 1,
                    w,
                    h,
                    polar,
                },
                false,
            ) => {
                // the common sensor case, without pooling: no division per event
                let plane = if polar { w * h } else { 0 };
                let pmax = if polar { 1 } else { u8::MAX };
                let f = |e: &AeEvent| {
                    (e.x < w_in && u32::from(e.y) < h_in && e.p <= pmax)
                        .then(|| u32::from(e.p.min(1)) * plane + u32::from(e.y) * w + e.x)
                };
                scan::<_, false>(chunk, f, tm, dt, limit, st, out)
            }
            (m, false) => scan::<_, false>(chunk, |e| m.index(e), tm, dt, limit, st, out),
            (m, true) => scan::<_, true>(chunk, |e| m.index(e), tm, dt, limit, st, out),
        }
    }

    /// The indices in `scratch` (of step `step`, spanning `st.lo..=st.hi`) as `cur`: distinct
    /// and sorted, with their counts under [`BinPolicy::Count`].
    fn collect_step(&mut self, step: u64, st: &StepState) {
        let n = self.scratch.len();
        let cur = &mut self.cur;
        cur.step = step;
        cur.index.clear();
        cur.count.clear();
        let count = self.policy == BinPolicy::Count;
        let span = u64::from(st.hi - st.lo) + 1;
        if self.scratch.is_sorted() {
            dedup_sorted(&self.scratch, cur, count);
        } else if span <= MAX_BITSET && span / 64 <= 4 * n as u64 {
            self.bits.collect(&self.scratch, st.lo, span, cur, count);
        } else {
            self.scratch.sort_unstable();
            dedup_sorted(&self.scratch, cur, count);
        }
        cur.merged = (n - cur.index.len()) as u64;
    }
}

/// Largest span of indices (bits) a step is collected through the bitset for: 2^26 bits (8 MiB).
const MAX_BITSET: u64 = 1 << 26;

/// The step being collected.
struct StepState {
    step: Option<u64>,
    /// Last (mapped) time of the current step: inclusive, so that a step ending at 2^64 µs
    /// needs no saturation (the next step's first time would not fit).
    last_t: u64,
    lo: u32,
    hi: u32,
}

struct ScanResult {
    consumed: usize,
    skipped: u64,
    step_done: bool,
    /// Offset in the chunk of an event outside the map or population, and its index if mapped.
    bad: Option<(usize, Option<u32>)>,
    /// The event at `consumed` maps past 2^64 - 1 µs under the time scale.
    overflow: bool,
}

/// The hot loop, monomorphized per map and time scaling: push the indices of the events of the
/// current step, stop at the first event of the next one.
#[inline(always)]
fn scan<F: Fn(&AeEvent) -> Option<u32>, const SCALED: bool>(
    chunk: &[AeEvent],
    index: F,
    (start, num, den): (u64, u64, u64),
    dt: u64,
    limit: u64,
    st: &mut StepState,
    out: &mut Vec<u32>,
) -> ScanResult {
    let mut skipped = 0;
    let (mut lo, mut hi) = (st.lo, st.hi);
    for (k, e) in chunk.iter().enumerate() {
        if e.t < start {
            skipped += 1;
            continue;
        }
        let t = if SCALED {
            let v = u128::from(e.t - start) * u128::from(num) / u128::from(den);
            let Ok(t) = u64::try_from(v) else {
                (st.lo, st.hi) = (lo, hi);
                return ScanResult {
                    consumed: k,
                    skipped,
                    step_done: false,
                    bad: None,
                    overflow: true,
                };
            };
            t
        } else {
            e.t - start
        };
        if t > st.last_t || st.step.is_none() {
            if st.step.is_some() {
                (st.lo, st.hi) = (lo, hi);
                return ScanResult {
                    consumed: k,
                    skipped,
                    step_done: true,
                    bad: None,
                    overflow: false,
                };
            }
            let s = t / dt;
            st.step = Some(s);
            // s * dt <= t; past u64::MAX only in the last, partial step, which ends at u64::MAX
            st.last_t = (s * dt).saturating_add(dt - 1);
        }
        match index(e) {
            Some(i) if u64::from(i) < limit => {
                lo = lo.min(i);
                hi = hi.max(i);
                out.push(i);
            }
            other => {
                (st.lo, st.hi) = (lo, hi);
                return ScanResult {
                    consumed: k,
                    skipped,
                    step_done: false,
                    bad: Some((k, other)),
                    overflow: false,
                };
            }
        }
    }
    (st.lo, st.hi) = (lo, hi);
    ScanResult {
        consumed: chunk.len(),
        skipped,
        step_done: false,
        bad: None,
        overflow: false,
    }
}

fn dedup_sorted(sorted: &[u32], cur: &mut StepEvents, count: bool) {
    if count {
        for &i in sorted {
            if cur.index.last() == Some(&i) {
                *cur.count.last_mut().expect("same length") += 1;
            } else {
                cur.index.push(i);
                cur.count.push(1);
            }
        }
    } else {
        let mut last = None;
        for &i in sorted {
            if last != Some(i) {
                cur.index.push(i);
                last = Some(i);
            }
        }
    }
}

/// Sort-free collection of a step's neurons: set bits, then read them back in order (and clear
/// them). Used when the step's index span is small next to its event count; `bench events_read`
/// showed sorting 10^4 random indices per step costing 3x the whole decode.
#[derive(Default)]
struct Bits {
    words: Vec<u64>,
    counts: Vec<u32>,
}

impl Bits {
    fn collect(&mut self, idx: &[u32], lo: u32, span: u64, cur: &mut StepEvents, count: bool) {
        let nw = span.div_ceil(64) as usize;
        if self.words.len() < nw {
            self.words.resize(nw, 0);
        }
        if count && self.counts.len() < span as usize {
            self.counts.resize(span as usize, 0);
        }
        for &i in idx {
            let o = (i - lo) as usize;
            self.words[o >> 6] |= 1 << (o & 63);
            if count {
                self.counts[o] += 1;
            }
        }
        // locals so the loop keeps lengths in registers
        let mut index = std::mem::take(&mut cur.index);
        let mut counts = std::mem::take(&mut cur.count);
        if !count {
            // branch-free extraction: every word writes 4 slots unconditionally and advances by
            // its popcount (random words mispredict a data-dependent loop about once per event)
            index.clear();
            index.resize(idx.len() + 64, 0);
            let mut pos = 0usize;
            for (w, word) in self.words[..nw].iter_mut().enumerate() {
                let mut bits = std::mem::take(word);
                let n = bits.count_ones() as usize;
                let base = lo.wrapping_add((w * 64) as u32);
                for j in 0..4 {
                    index[pos + j] = base.wrapping_add(bits.trailing_zeros());
                    bits &= bits.wrapping_sub(1);
                }
                let mut j = 4;
                while bits != 0 {
                    index[pos + j] = base + bits.trailing_zeros();
                    bits &= bits - 1;
                    j += 1;
                }
                pos += n;
            }
            index.truncate(pos);
            cur.index = index;
            cur.count = counts;
            return;
        }
        index.reserve(idx.len());
        for (w, word) in self.words[..nw].iter_mut().enumerate() {
            if *word == 0 {
                continue;
            }
            let mut bits = std::mem::take(word);
            let base = lo + (w * 64) as u32;
            while bits != 0 {
                let o = bits.trailing_zeros();
                bits &= bits - 1;
                index.push(base + o);
                if count {
                    counts.push(std::mem::take(&mut self.counts[w * 64 + o as usize]));
                }
            }
        }
        cur.index = index;
        cur.count = counts;
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

    /// Against a plain reference (a map of step -> neuron -> count), on random streams whose
    /// steps take each path: already sorted, bitset (dense span), sort (sparse span).
    #[test]
    fn matches_a_plain_reference_on_random_streams() {
        use std::collections::BTreeMap;
        let mut x = 0x1234_5678_9abc_def1u64;
        let mut rnd = || {
            x = crate::rng::splitmix64(x);
            x
        };
        for case in 0..60 {
            let range = [4u64, 3000, 1 << 30][case % 3];
            let sorted = case % 4 == 0;
            let mut t = 0u64;
            let mut ev = Vec::new();
            for _ in 0..5000 {
                t += rnd() % 40;
                ev.push(AeEvent::addr(t, (rnd() % range) as u32));
            }
            if sorted {
                ev.sort();
            }
            let mut want: BTreeMap<u64, BTreeMap<u32, u32>> = BTreeMap::new();
            for e in &ev {
                *want.entry(e.t / 1000).or_default().entry(e.x).or_default() += 1;
            }
            for policy in [BinPolicy::Clip, BinPolicy::Count] {
                let got = all(binner(ev.clone(), policy, None)).unwrap();
                assert_eq!(got.len(), want.len(), "case {case}");
                for (s, (step, m)) in got.iter().zip(&want) {
                    assert_eq!(s.step, *step);
                    assert_eq!(
                        s.index,
                        m.keys().copied().collect::<Vec<_>>(),
                        "case {case}"
                    );
                    let n: u32 = m.values().sum();
                    assert_eq!(s.merged, u64::from(n) - m.len() as u64);
                    if policy == BinPolicy::Count {
                        assert_eq!(s.count, m.values().copied().collect::<Vec<_>>());
                    } else {
                        assert!(s.count.is_empty());
                    }
                }
            }
        }
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
