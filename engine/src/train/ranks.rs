//! Data-parallel training over several processes (ranks): the `L` lanes of a batch are split
//! into contiguous blocks, one per rank ([`owned`]); each rank runs its own lanes, and the
//! ranks swap, through the simulation layer's [`Exchange`], what a lane produced: its losses
//! and spike counts ([`swap_lane_outs`]), then, after the batch's end, its gradients and
//! diagnostics ([`swap_lane_gradients`]). Every rank then holds every lane's results, sums
//! them in lane order and takes the same optimizer step: the weights are those of a single
//! process, bit for bit, on every rank. Before a checkpoint, the lanes' rule states are swapped
//! too ([`swap_rule_states`]), so rank 0 writes what a single process would.
//!
//! Everything travels as 4-byte words in rank (= lane) order: floats as their bits, so nothing
//! is rounded on the way.

use std::ops::Range;

use super::trainer::{Lane, LaneOut};
use crate::error::{Error, Result};
use crate::sim::{Diagnostics, Exchange};

/// The lanes rank `ex.rank()` runs: block `rank` of `n_lanes` split evenly over the ranks
/// (all of them without `ex`). A rank may own none.
pub(super) fn owned(n_lanes: usize, ex: Option<&dyn Exchange>) -> Result<Range<usize>> {
    let Some(ex) = ex else {
        return Ok(0..n_lanes);
    };
    let (r, n) = (ex.rank(), ex.ranks());
    if n == 0 || r >= n {
        return Err(Error::input(
            "rank",
            format!("{r} of {n}"),
            "must be below the number of ranks",
            "",
        ));
    }
    Ok(n_lanes * r / n..n_lanes * (r + 1) / n)
}

/// Words being written.
#[derive(Default)]
struct Pack(Vec<u32>);

impl Pack {
    fn u64(&mut self, x: u64) {
        self.0.extend([x as u32, (x >> 32) as u32]);
    }
    fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }
    fn f32s(&mut self, x: &[f32]) {
        self.u64(x.len() as u64);
        self.0.extend(x.iter().map(|v| v.to_bits()));
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend(
            b.chunks(4)
                .map(|c| c.iter().rev().fold(0u32, |a, &x| a << 8 | u32::from(x))),
        );
    }
}

/// Words being read: every read is checked, so words from a rank running something else end
/// in an error, not a panic.
struct Unpack<'a> {
    w: &'a [u32],
    at: usize,
}

impl Unpack<'_> {
    fn bad() -> Error {
        Error::input(
            "exchange",
            "malformed lane results",
            "another rank sent results that do not fit (a different eligo or arguments?)",
            "run the same eligo and the same arguments on every rank",
        )
    }
    fn take(&mut self, n: usize) -> Result<&[u32]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.w.len());
        let end = end.ok_or_else(Self::bad)?;
        let s = &self.w[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u64(&mut self) -> Result<u64> {
        let s = self.take(2)?;
        Ok(u64::from(s[0]) | u64::from(s[1]) << 32)
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn len(&mut self) -> Result<usize> {
        usize::try_from(self.u64()?).map_err(|_| Self::bad())
    }
    fn f32s(&mut self) -> Result<Vec<f32>> {
        let n = self.len()?;
        Ok(self.take(n)?.iter().map(|&b| f32::from_bits(b)).collect())
    }
    fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = self.len()?;
        let words = self.take(n.div_ceil(4))?;
        let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        b.truncate(n);
        Ok(b)
    }
    fn string(&mut self) -> Result<String> {
        String::from_utf8(self.bytes()?).map_err(|_| Self::bad())
    }
}

/// Gather every rank's `mine` (its lanes' words, in lane order): the words of all lanes.
fn gather(ex: &mut dyn Exchange, mine: &Pack) -> Result<Vec<u32>> {
    let (mut all, mut lens) = (Vec::new(), Vec::new());
    ex.all_gather(&mine.0, &mut all, &mut lens)?;
    Ok(all)
}

/// Fill the lanes other ranks ran (`None` in `outs`) with their results.
pub(super) fn swap_lane_outs(
    ex: &mut dyn Exchange,
    outs: &mut [Option<LaneOut>],
    owned: &Range<usize>,
) -> Result<()> {
    let mut p = Pack::default();
    for out in &outs[owned.clone()] {
        let (loss, wrong, counts, pop_spikes, samples) = out.as_ref().ok_or_else(Unpack::bad)?;
        p.f64(*loss);
        p.u64(*wrong as u64);
        p.u64(counts.len() as u64);
        for c in counts {
            p.u64(c.len() as u64);
            for &n in c {
                p.u64(n);
            }
        }
        p.u64(pop_spikes.len() as u64);
        for &n in pop_spikes {
            p.u64(n);
        }
        p.u64(samples.len() as u64);
        for &(b, x) in samples {
            p.u64(b as u64);
            p.f64(x);
        }
    }
    let all = gather(ex, &p)?;
    let mut u = Unpack { w: &all, at: 0 };
    for (l, out) in outs.iter_mut().enumerate() {
        let loss = u.f64()?;
        let wrong = u.len()?;
        let counts = (0..u.len()?)
            .map(|_| (0..u.len()?).map(|_| u.u64()).collect::<Result<Vec<u64>>>())
            .collect::<Result<Vec<_>>>()?;
        let pop_spikes = (0..u.len()?)
            .map(|_| u.u64())
            .collect::<Result<Vec<u64>>>()?;
        let samples = (0..u.len()?)
            .map(|_| Ok((u.len()?, u.f64()?)))
            .collect::<Result<Vec<_>>>()?;
        if !owned.contains(&l) {
            *out = Some((loss, wrong, counts, pop_spikes, samples));
        }
    }
    Ok(())
}

fn pack_diagnostics(p: &mut Pack, d: &Diagnostics) {
    for list in [&d.sequence_sums, &d.batch] {
        p.u64(list.len() as u64);
        for (name, v) in list {
            p.bytes(name.as_bytes());
            p.f64(*v);
        }
    }
    p.u64(d.sequences);
}

fn unpack_diagnostics(u: &mut Unpack) -> Result<Diagnostics> {
    let mut lists = Vec::with_capacity(2);
    for _ in 0..2 {
        let n = u.len()?;
        lists.push(
            (0..n)
                .map(|_| Ok((u.string()?, u.f64()?)))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    let batch = lists.pop().unwrap_or_default();
    let sequence_sums = lists.pop().unwrap_or_default();
    Ok(Diagnostics {
        sequence_sums,
        sequences: u.u64()?,
        batch,
    })
}

/// Give the lanes other ranks ran their gradients, bias gradients and diagnostics of each of
/// the `n_rules` rules (after every rank ended the batch of its own lanes).
pub(super) fn swap_lane_gradients(
    ex: &mut dyn Exchange,
    lanes: &mut [Lane],
    owned: &Range<usize>,
    n_rules: usize,
) -> Result<()> {
    let mut p = Pack::default();
    for lane in &lanes[owned.clone()] {
        for k in 0..n_rules {
            for arrays in [lane.sim.rule_grads(k), lane.sim.rule_bias_grads(k)] {
                p.u64(arrays.len() as u64);
                for a in arrays {
                    p.f32s(a);
                }
            }
            pack_diagnostics(&mut p, lane.sim.rule_diagnostics(k));
        }
    }
    let all = gather(ex, &p)?;
    let mut u = Unpack { w: &all, at: 0 };
    for (l, lane) in lanes.iter_mut().enumerate() {
        for k in 0..n_rules {
            let mut two = Vec::with_capacity(2);
            for _ in 0..2 {
                let n = u.len()?;
                two.push((0..n).map(|_| u.f32s()).collect::<Result<Vec<_>>>()?);
            }
            let diagnostics = unpack_diagnostics(&mut u)?;
            if !owned.contains(&l) {
                let bias = two.pop().unwrap_or_default();
                let grads = two.pop().unwrap_or_default();
                lane.sim.set_rule_results(k, grads, bias, diagnostics)?;
            }
        }
    }
    Ok(())
}

/// Every lane's rule states as its owner has them (`states`: this rank's copy of every lane's,
/// `per_lane` per lane, in lane order), for a checkpoint.
pub(super) fn swap_rule_states(
    ex: &mut dyn Exchange,
    states: Vec<Vec<u8>>,
    per_lane: usize,
    owned: &Range<usize>,
) -> Result<Vec<Vec<u8>>> {
    let mut p = Pack::default();
    for s in &states[owned.start * per_lane..owned.end * per_lane] {
        p.bytes(s);
    }
    let all = gather(ex, &p)?;
    let mut u = Unpack { w: &all, at: 0 };
    let out = (0..states.len())
        .map(|_| u.bytes())
        .collect::<Result<Vec<_>>>()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_refuse_short_input() {
        let mut p = Pack::default();
        p.u64(u64::MAX - 5);
        p.f64(-0.1);
        p.f32s(&[1.5, f32::MIN_POSITIVE, -0.0]);
        p.bytes(b"rate_hz");
        p.bytes(b"");
        let mut u = Unpack { w: &p.0, at: 0 };
        assert_eq!(u.u64().unwrap(), u64::MAX - 5);
        assert_eq!(u.f64().unwrap().to_bits(), (-0.1f64).to_bits());
        let f = u.f32s().unwrap();
        assert_eq!(
            f.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            [1.5f32, f32::MIN_POSITIVE, -0.0].map(f32::to_bits)
        );
        assert_eq!(u.string().unwrap(), "rate_hz");
        assert_eq!(u.bytes().unwrap(), b"");
        assert!(u.u64().is_err(), "past the end");
        let mut short = Unpack {
            w: &p.0[..3],
            at: 0,
        };
        short.u64().unwrap();
        assert!(short.f64().is_err());
    }
}
