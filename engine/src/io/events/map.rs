//! From recorded events to the network: the address map and the time map.
//!
//! **Address map** ([`AddressMap`]), chosen from what the stream carries:
//!
//! | stream | map | neuron index |
//! |---|---|---|
//! | x, y, p (a 2-D sensor) | `Sensor` | `p·W'·H' + ⌊y/py⌋·W' + ⌊x/px⌋` |
//! | x, y, p with `--merge-polarity` | `Sensor` | `⌊y/py⌋·W' + ⌊x/px⌋` |
//! | x, p (audio: channel and polarity) | `Sensor` with `H = 1` | `p·W' + ⌊x/px⌋` |
//! | x (1-D addresses) | `Identity` | `⌊x/px⌋` |
//! | x with `--map-table FILE` | `Table` | `table[⌊x/px⌋]` |
//!
//! `W × H` is the sensor size from the file's header or `--width/--height`, `px × py` the pooling
//! (`--pool 2` or `--pool 2x2`), `W' = ⌈W/px⌉`, `H' = ⌈H/py⌉`. Events with `x ≥ W`, `y ≥ H`,
//! `p > 1` (unless merged), an address past the table's end, or an index past the population are
//! errors naming the event. A 1-D stream with a polarity (`t, addr, p` or tonic's `t, x, p`) is
//! mapped like a sensor of height 1 unless polarity is merged.
//!
//! **Time map** ([`TimeMap`]): `t' = (t − start) · num / den` in integer arithmetic, with `start`
//! a fixed time (`--t-start-us N`, events before it are skipped) or the first event's time
//! (`--t-start-us first`), and `num/den` the `--time-scale` (default 1). The step of an event is
//! then `⌊t' / dt_us⌋`, dt being a whole number of µs: never a float rounding.

use super::{AeEvent, StreamInfo};
use crate::error::{Error, Result};

/// Options of the address map (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSpec {
    /// Sensor width, overriding the file's.
    pub width: Option<u32>,
    /// Sensor height, overriding the file's.
    pub height: Option<u32>,
    /// Pooling factor along x (>= 1).
    pub pool_x: u32,
    /// Pooling factor along y (>= 1).
    pub pool_y: u32,
    /// Ignore polarity (both polarities drive the same neuron).
    pub merge_polarity: bool,
    /// Explicit table for 1-D addresses: neuron of address `k` is `table[k]`.
    pub table: Option<Vec<u32>>,
    /// Keep the polarity of a 1-D stream as a separate field instead of mapping it (conversion to
    /// a format that stores it).
    pub keep_polarity: bool,
}

impl Default for MapSpec {
    fn default() -> Self {
        MapSpec {
            width: None,
            height: None,
            pool_x: 1,
            pool_y: 1,
            merge_polarity: false,
            table: None,
            keep_polarity: false,
        }
    }
}

/// Maps an event to a neuron index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressMap {
    /// `⌊x / pool⌋`.
    Identity {
        /// Pooling factor.
        pool: u32,
    },
    /// `table[⌊x / pool⌋]`.
    Table {
        /// The table.
        table: Vec<u32>,
        /// Pooling factor.
        pool: u32,
    },
    /// `p·W'·H' + ⌊y/py⌋·W' + ⌊x/px⌋`.
    Sensor {
        /// Input width and height.
        w_in: u32,
        /// Input height.
        h_in: u32,
        /// Pooling.
        px: u32,
        /// Pooling.
        py: u32,
        /// Pooled width.
        w: u32,
        /// Pooled height.
        h: u32,
        /// Polarity is part of the index.
        polar: bool,
    },
}

/// Parse `--pool`: `N` or `NxM`.
pub fn parse_pool(s: &str) -> Result<(u32, u32)> {
    let bad = || {
        Error::input(
            "--pool",
            format!("'{s}'"),
            "a pooling factor N or NxM with whole numbers >= 1",
            "e.g. --pool 2 or --pool 2x1",
        )
    };
    let (a, b) = s.split_once('x').unwrap_or((s, s));
    let a: u32 = a.trim().parse().map_err(|_| bad())?;
    let b: u32 = b.trim().parse().map_err(|_| bad())?;
    if a == 0 || b == 0 {
        return Err(bad());
    }
    Ok((a, b))
}

/// Read a `--map-table` text file: one neuron index per line (line k for address k); blank
/// lines and `#` comments are ignored.
pub fn read_table(path: &std::path::Path) -> Result<Vec<u32>> {
    let text = std::fs::read_to_string(path).map_err(|e| super::open_error(path, e))?;
    let mut table = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let v: u32 = line.parse().map_err(|_| {
            Error::input(
                format!("line {}", n + 1),
                format!("'{line}'"),
                "one neuron index (0..2^32-1) per line",
                "",
            )
            .in_file(path)
        })?;
        table.push(v);
    }
    Ok(table)
}

impl AddressMap {
    /// Build the map for a stream.
    pub fn new(spec: &MapSpec, info: &StreamInfo) -> Result<Self> {
        if spec.pool_x == 0 || spec.pool_y == 0 {
            return Err(Error::input(
                "--pool",
                format!("{}x{}", spec.pool_x, spec.pool_y),
                "pooling factors must be >= 1",
                "",
            ));
        }
        let one_d = !info.has_y && (!info.has_p || spec.merge_polarity || spec.keep_polarity);
        if let Some(table) = &spec.table {
            if !one_d {
                return Err(Error::input(
                    "--map-table",
                    format!("a {} stream with x, y or polarity", info.format),
                    "a table maps 1-D addresses",
                    "use --width/--height (and --merge-polarity) for sensor streams",
                ));
            }
            return Ok(AddressMap::Table {
                table: table.clone(),
                pool: spec.pool_x,
            });
        }
        if one_d {
            if spec.pool_y != 1 {
                return Err(Error::input(
                    "--pool",
                    format!("{}x{}", spec.pool_x, spec.pool_y),
                    "a 1-D stream pools along its address only",
                    "use --pool N",
                ));
            }
            return Ok(AddressMap::Identity { pool: spec.pool_x });
        }
        let w_in = spec.width.or(info.width).ok_or_else(|| {
            Error::input(
                "--width",
                "missing",
                format!("{} files do not record the sensor size", info.format),
                if info.has_y {
                    "give --width and --height (N-MNIST: 34 34; DVS128: 128 128)"
                } else {
                    "give --width (the number of channels), or --merge-polarity"
                },
            )
        })?;
        let h_in = if info.has_y {
            spec.height.or(info.height).ok_or_else(|| {
                Error::input(
                    "--height",
                    "missing",
                    format!("{} files do not record the sensor size", info.format),
                    "give --width and --height",
                )
            })?
        } else {
            1
        };
        if w_in == 0 || h_in == 0 {
            return Err(Error::input(
                "--width/--height",
                format!("{w_in}x{h_in}"),
                "must be >= 1",
                "",
            ));
        }
        let polar = info.has_p && !spec.merge_polarity;
        let (w, h) = (w_in.div_ceil(spec.pool_x), h_in.div_ceil(spec.pool_y));
        let size = u64::from(w) * u64::from(h) * if polar { 2 } else { 1 };
        if size > u64::from(u32::MAX) + 1 {
            return Err(Error::input(
                "--width/--height",
                format!("{w_in}x{h_in}"),
                "the map must have at most 2^32 indices",
                "pool the sensor with --pool",
            ));
        }
        Ok(AddressMap::Sensor {
            w_in,
            h_in,
            px: spec.pool_x,
            py: spec.pool_y,
            w,
            h,
            polar,
        })
    }

    /// The neuron index of `e`, or `None` if the event lies outside the map.
    #[inline]
    pub fn index(&self, e: &AeEvent) -> Option<u32> {
        match self {
            AddressMap::Identity { pool } => Some(if *pool == 1 { e.x } else { e.x / pool }),
            AddressMap::Table { table, pool } => table.get((e.x / pool) as usize).copied(),
            AddressMap::Sensor {
                w_in,
                h_in,
                px,
                py,
                w,
                h,
                polar,
            } => {
                let y = u32::from(e.y);
                if e.x >= *w_in || y >= *h_in || (*polar && e.p > 1) {
                    return None;
                }
                let (x, y) = if *px == 1 && *py == 1 {
                    (e.x, y)
                } else {
                    (e.x / px, y / py)
                };
                let plane = if *polar { u32::from(e.p) * w * h } else { 0 };
                Some(plane + y * w + x)
            }
        }
    }

    /// Number of indices the map can produce (`None` for identity).
    pub fn size(&self) -> Option<u64> {
        match self {
            AddressMap::Identity { .. } => None,
            AddressMap::Table { table, .. } => {
                Some(table.iter().max().map_or(0, |&m| u64::from(m) + 1))
            }
            AddressMap::Sensor { w, h, polar, .. } => {
                Some(u64::from(*w) * u64::from(*h) * if *polar { 2 } else { 1 })
            }
        }
    }

    /// One line describing the map.
    pub fn describe(&self) -> String {
        match self {
            AddressMap::Identity { pool: 1 } => "identity (index = address)".into(),
            AddressMap::Identity { pool } => format!("index = address / {pool}"),
            AddressMap::Table { table, pool } => {
                format!("table of {} addresses (pool {pool})", table.len())
            }
            AddressMap::Sensor {
                w_in,
                h_in,
                px,
                py,
                w,
                h,
                polar,
            } => format!(
                "sensor {w_in}x{h_in}, pooled {px}x{py} to {w}x{h}, {}: index = {}y*{w} + x",
                if *polar {
                    "polarity kept"
                } else {
                    "polarity merged"
                },
                if *polar {
                    format!("p*{} + ", u64::from(*w) * u64::from(*h))
                } else {
                    String::new()
                }
            ),
        }
    }
}

/// Where replayed time starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeStart {
    /// A fixed time in µs (events before it are skipped).
    At(u64),
    /// The first event's time.
    First,
}

/// `t' = (t − start) · num / den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeMap {
    /// Start.
    pub start: TimeStart,
    /// Scale numerator (>= 1).
    pub num: u64,
    /// Scale denominator (>= 1).
    pub den: u64,
}

impl Default for TimeMap {
    fn default() -> Self {
        TimeMap {
            start: TimeStart::At(0),
            num: 1,
            den: 1,
        }
    }
}

impl TimeMap {
    /// Parse `--t-start-us` (`N` or `first`) and `--time-scale` (`N` or `N/D`).
    pub fn parse(start: Option<&str>, scale: Option<&str>) -> Result<Self> {
        let start = match start {
            None => TimeStart::At(0),
            Some("first") => TimeStart::First,
            Some(s) => TimeStart::At(s.trim().parse().map_err(|_| {
                Error::input(
                    "--t-start-us",
                    format!("'{s}'"),
                    "a time in µs (whole number >= 0) or 'first'",
                    "",
                )
            })?),
        };
        let (num, den) = match scale {
            None => (1, 1),
            Some(s) => {
                let bad = || {
                    Error::input(
                        "--time-scale",
                        format!("'{s}'"),
                        "a whole number N or a fraction N/D of whole numbers >= 1",
                        "e.g. --time-scale 1000 for a file in ms, 1/10 to play 10x faster",
                    )
                };
                let (n, d) = s.split_once('/').unwrap_or((s, "1"));
                let n: u64 = n.trim().parse().map_err(|_| bad())?;
                let d: u64 = d.trim().parse().map_err(|_| bad())?;
                if n == 0 || d == 0 {
                    return Err(bad());
                }
                (n, d)
            }
        };
        Ok(TimeMap { start, num, den })
    }

    /// True if `t' = t`.
    pub fn is_identity(&self) -> bool {
        self.start == TimeStart::At(0) && self.num == self.den
    }

    /// Map `t` (event number `index`, for the message); `Ok(None)` if it lies before the start,
    /// an error if the scaled time does not fit in 64 bits. Resolves `First` on the first call.
    #[inline]
    pub fn apply(&mut self, index: u64, t: u64) -> Result<Option<u64>> {
        let start = match self.start {
            TimeStart::At(s) => s,
            TimeStart::First => {
                self.start = TimeStart::At(t);
                t
            }
        };
        let Some(d) = t.checked_sub(start) else {
            return Ok(None);
        };
        if self.num == self.den {
            return Ok(Some(d));
        }
        let v = u128::from(d) * u128::from(self.num) / u128::from(self.den);
        match u64::try_from(v) {
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(self.overflow_error(index, t)),
        }
    }

    /// The error for event `index` at `t` µs whose scaled time passes 2^64 − 1 µs.
    pub fn overflow_error(&self, index: u64, t: u64) -> Error {
        let start = match self.start {
            TimeStart::At(s) => s,
            TimeStart::First => t,
        };
        // largest d with d * num / den <= u64::MAX
        let max_d = ((u128::from(u64::MAX) + 1) * u128::from(self.den) - 1) / u128::from(self.num);
        let max_t = u128::from(start) + max_d.min(u128::from(u64::MAX));
        Error::input(
            "--time-scale",
            format!("{}/{}", self.num, self.den),
            format!(
                "event {index} at t = {t} µs becomes (t - {start}) * {}/{} µs, past 2^64 - 1 µs; \
                 with this scale, times from {start} to {} µs are allowed",
                self.num,
                self.den,
                max_t.min(u128::from(u64::MAX))
            ),
            "use a smaller --time-scale, or move the origin with --t-start-us first",
        )
    }
}

/// dt in whole µs, or an error saying why event replay needs that.
pub fn dt_us(dt_ms: f64) -> Result<u64> {
    let us = dt_ms * 1000.0;
    let r = us.round();
    if !(r >= 1.0 && (us - r).abs() < 1e-6 && r < 1e15) {
        return Err(Error::input(
            "dt_ms",
            dt_ms,
            "event replay needs dt to be a whole number of µs (>= 1 µs)",
            "e.g. dt_ms = 0.1 or 1.0",
        ));
    }
    Ok(r as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::events::Format;

    fn info(has_y: bool, has_p: bool, w: Option<u32>, h: Option<u32>) -> StreamInfo {
        let mut i = StreamInfo::new(Format::TonicNpy, has_y, has_p);
        i.width = w;
        i.height = h;
        i
    }

    #[test]
    fn sensor_formula_by_hand() {
        let m = AddressMap::new(&MapSpec::default(), &info(true, true, Some(4), Some(3))).unwrap();
        // p·W·H + y·W + x with W=4, H=3
        assert_eq!(m.index(&AeEvent::xyp(0, 1, 2, 1)), Some(12 + 8 + 1));
        assert_eq!(m.index(&AeEvent::xyp(0, 4, 0, 0)), None);
        assert_eq!(m.index(&AeEvent::xyp(0, 0, 3, 0)), None);
        assert_eq!(m.index(&AeEvent::xyp(0, 0, 0, 2)), None);
        assert_eq!(m.size(), Some(24));
        let spec = MapSpec {
            pool_x: 2,
            pool_y: 2,
            merge_polarity: true,
            ..MapSpec::default()
        };
        let m = AddressMap::new(&spec, &info(true, true, Some(5), Some(3))).unwrap();
        // W' = 3, H' = 2; (4, 2) -> (2, 1) -> 1*3 + 2
        assert_eq!(m.index(&AeEvent::xyp(0, 4, 2, 1)), Some(5));
        assert_eq!(m.size(), Some(6));
    }

    #[test]
    fn one_d_and_tables() {
        let m = AddressMap::new(&MapSpec::default(), &info(false, false, None, None)).unwrap();
        assert_eq!(m.index(&AeEvent::addr(0, 77)), Some(77));
        let spec = MapSpec {
            table: Some(vec![5, 3]),
            ..MapSpec::default()
        };
        let m = AddressMap::new(&spec, &info(false, false, None, None)).unwrap();
        assert_eq!(m.index(&AeEvent::addr(0, 1)), Some(3));
        assert_eq!(m.index(&AeEvent::addr(0, 2)), None);
        // audio x, p without a width: a clear error
        let e = AddressMap::new(&MapSpec::default(), &info(false, true, None, None)).unwrap_err();
        assert!(e.to_string().contains("--width"), "{e}");
        let spec = MapSpec {
            width: Some(10),
            ..MapSpec::default()
        };
        let m = AddressMap::new(&spec, &info(false, true, None, None)).unwrap();
        assert_eq!(m.index(&AeEvent::xyp(0, 3, 0, 1)), Some(13));
    }

    #[test]
    fn time_map_integer() {
        let mut t = TimeMap::parse(Some("first"), Some("1/3")).unwrap();
        assert_eq!(t.apply(0, 100).unwrap(), Some(0));
        assert_eq!(t.apply(1, 110).unwrap(), Some(3));
        let mut t = TimeMap::parse(Some("50"), None).unwrap();
        assert_eq!(t.apply(0, 10).unwrap(), None);
        // a scaled time past 2^64 - 1 µs is an error naming the scale and the allowed times
        let mut t = TimeMap::parse(None, Some("1000")).unwrap();
        assert_eq!(
            t.apply(0, 18_446_744_073_709_551).unwrap(),
            Some(18_446_744_073_709_551_000)
        );
        let e = t.apply(7, 18_446_744_073_709_552).unwrap_err().to_string();
        assert!(
            e.contains("--time-scale = 1000/1")
                && e.contains("event 7")
                && e.contains("from 0 to 18446744073709551 µs"),
            "{e}"
        );
        assert_eq!(dt_us(0.1).unwrap(), 100);
        assert!(dt_us(0.0005).is_err());
        assert_eq!(parse_pool("2x3").unwrap(), (2, 3));
        assert!(parse_pool("0").is_err());
    }
}
