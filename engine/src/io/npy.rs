//! NumPy `.npy` outputs.
//!
//! Spike events use Eligo's event format: a structured array with fields `t` (`<u8`,
//! microseconds) and `addr` (`<u4`, neuron index within its population), sorted by time then
//! address — `numpy.load(f)["t"]` gives the times. State traces are 2-D `<f4` arrays
//! (steps × neurons).

use std::path::Path;

use npyz::WriterBuilder;

use crate::error::Result;

/// One address event.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, npyz::Serialize, npyz::Deserialize, npyz::AutoSerialize,
)]
pub struct Event {
    /// Time in microseconds.
    pub t: u64,
    /// Address (neuron index).
    pub addr: u32,
}

/// Write events to `path` atomically, streaming (see [`super::events::npy::Writer`]).
pub fn write_events(path: &Path, events: &[Event]) -> Result<()> {
    let mut w = super::events::npy::Writer::create(path, false)?;
    for e in events {
        w.push(e.t, e.addr, 0)?;
    }
    w.finish().map(drop)
}

/// Write a 2-D `f32` array (`rows × cols`, row-major) to `path` atomically.
pub fn write_f32_2d(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<()> {
    assert_eq!(rows * cols, data.len(), "shape and data disagree");
    super::write_atomic(path, |w| {
        let mut out = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[rows as u64, cols as u64])
            .writer(w)
            .begin_nd()?;
        out.extend(data.iter().copied())?;
        out.finish()
    })
}

/// Read events written by [`write_events`].
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
    let f = npyz::NpyFile::new(&bytes[..]).map_err(|e| crate::Error::io(path, e))?;
    f.into_vec::<Event>().map_err(|e| crate::Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.npy");
        let ev = vec![Event { t: 0, addr: 3 }, Event { t: 100, addr: 1 }];
        write_events(&p, &ev).unwrap();
        assert_eq!(read_events(&p).unwrap(), ev);
        // the header says what NumPy will see
        let bytes = std::fs::read(&p).unwrap();
        let header = String::from_utf8_lossy(&bytes[..128]);
        assert!(
            header.contains("'t', '<u8'") && header.contains("'addr', '<u4'"),
            "{header}"
        );
        assert!(!super::super::tmp_name(&p).exists());
    }
}
