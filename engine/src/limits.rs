//! Limits checked before anything big is allocated or a long run starts: the memory a network
//! needs (estimated from its description by [`crate::network::NetworkSpec::estimate`]), the
//! number of steps, the range of values stored as `f32`, and names that become file names.
//! The numbers are listed for users in `docs/limits.md`.

use crate::error::{Error, Result};

/// The most steps one run may have: 2^32 (about 5 days of simulated time at dt = 0.1 ms).
/// Longer runs are refused up front rather than running for years or wrapping a counter.
pub const MAX_STEPS: u64 = 1 << 32;

/// The longest population or projection name, in bytes: names become file names
/// (`state_<population>_<variable>.npy` plus a temporary suffix) and array keys, and file
/// names are at most 255 bytes.
pub const MAX_NAME_BYTES: usize = 200;

/// The environment variable that overrides the memory limit: a size (`64G`, `512M`, `1e10`
/// bytes) or `off` to skip the check (for machines with swap).
pub const MEMORY_ENV: &str = "ELIGO_MEMORY_LIMIT";

/// The memory a run may use, in bytes, and where that number came from; `None` when there is
/// no limit (`ELIGO_MEMORY_LIMIT=off`, or the machine does not say).
pub fn memory_limit() -> Result<Option<(u64, String)>> {
    if let Some(v) = std::env::var_os(MEMORY_ENV) {
        let s = v.to_string_lossy().trim().to_string();
        if s.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        return parse_bytes(&s)
            .map(|b| Some((b, format!("{MEMORY_ENV}={s}"))))
            .ok_or_else(|| {
                Error::input(
                    MEMORY_ENV,
                    format!("'{s}'"),
                    "must be a size in bytes with an optional K, M, G or T suffix (powers of \
                     1024), or off",
                    "e.g. ELIGO_MEMORY_LIMIT=64G",
                )
            });
    }
    Ok(available_memory().map(|b| (b, "MemAvailable in /proc/meminfo".to_string())))
}

/// `MemAvailable` of `/proc/meminfo`, lowered to the cgroup's (container's) free share if that
/// is smaller. `None` off Linux.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let mut avail = kb.saturating_mul(1024);
    let read = |f: &str| -> Option<u64> {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{f}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    if let (Some(max), Some(cur)) = (read("memory.max"), read("memory.current")) {
        avail = avail.min(max.saturating_sub(cur));
    }
    Some(avail)
}

/// `123`, `1e10`, `64G`, `512MiB`, `2kb`: bytes, suffixes in powers of 1024.
fn parse_bytes(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let t = lower
        .trim_end_matches("ib")
        .trim_end_matches('b')
        .trim_end();
    let (num, mult) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1u64 << 10),
        'm' => (&t[..t.len() - 1], 1 << 20),
        'g' => (&t[..t.len() - 1], 1 << 30),
        't' => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let x: f64 = num.trim().parse().ok()?;
    let b = x * mult as f64;
    // below 2^64 exactly: the cast cannot saturate
    (0.0..18_446_744_073_709_551_616.0)
        .contains(&b)
        .then_some(b as u64)
}

/// Refuse to write `bytes` of output under `dir` when its file system has less free space
/// (checked at the nearest existing ancestor, since `dir` may not exist yet). Does nothing
/// where the free space cannot be read, and with `ELIGO_MEMORY_LIMIT=off`.
pub fn check_disk(field: &str, dir: &std::path::Path, bytes: u64) -> Result<()> {
    if std::env::var(MEMORY_ENV).is_ok_and(|v| v.trim().eq_ignore_ascii_case("off")) {
        return Ok(());
    }
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let Some(existing) = abs.ancestors().find(|a| a.exists()) else {
        return Ok(());
    };
    let Some(free) = free_space(existing) else {
        return Ok(());
    };
    if bytes <= free {
        return Ok(());
    }
    Err(Error::input(
        field,
        dir.display(),
        format!(
            "the state recorders will write about {} and the file system of {} has {} free",
            human_bytes(bytes),
            existing.display(),
            human_bytes(free)
        ),
        "record fewer neurons or a shorter run, or write elsewhere",
    ))
}

#[cfg(unix)]
fn free_space(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statvfs` is plain data, for which all zeroes is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a valid, writable `statvfs`.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

#[cfg(not(unix))]
fn free_space(_dir: &std::path::Path) -> Option<u64> {
    None
}

// lives in `error` (below every module that writes messages), named here as well
pub use crate::error::num;

/// A byte count for messages: `1.5 GB` (powers of 1000, three digits).
pub fn human_bytes(b: u64) -> String {
    let x = b as f64;
    for (unit, div) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)] {
        if x >= div {
            return format!("{:.3} {unit}", x / div).replace(".000 ", " ");
        }
    }
    format!("{b} B")
}

/// Check that a value stored as `f32` is finite there: `|v| <= f32::MAX` (3.4e38).
pub fn fits_f32(field: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v.abs() <= f64::from(f32::MAX) {
        Ok(v)
    } else {
        Err(Error::input(
            field,
            num(v),
            "must be a finite number of magnitude at most 3.4e38 (it is stored as a 32-bit float)",
            "",
        ))
    }
}

/// Check a population or projection name that becomes part of file names and array keys: not
/// empty, at most [`MAX_NAME_BYTES`] bytes, no `/`, `\` or control character (NUL included).
pub fn check_name(field: &str, name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::input(
            field,
            format!("{name:?}"),
            format!(
                "{why}; names become file names (spikes_<name>.npy) and array keys, so they \
                 must be 1 to {MAX_NAME_BYTES} bytes without '/', '\\' or control characters"
            ),
            "use letters, digits, '_', '-', '.'",
        ))
    };
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return bad(&format!("is {} bytes long", name.len()));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| c == '/' || c == '\\' || c.is_control())
    {
        return bad(&format!("contains {c:?}"));
    }
    Ok(())
}

/// The cores this process may use (1 if the OS cannot tell).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The worker threads for a request of `requested` (`None`: every core), the one rule of every
/// front end: 0 is bad input (named `field`); more than [`cores`] is capped to the cores, since
/// more threads than cores never change a result (every count gives the same bits) but make a
/// run many times slower (spin barriers on oversubscribed cores). A front end that wants to warn
/// about the cap compares the result with its request.
pub fn threads(field: &str, requested: Option<usize>) -> Result<usize> {
    let cores = cores();
    match requested {
        None => Ok(cores),
        Some(0) => Err(Error::input(
            field,
            0,
            format!("must be between 1 and the {cores} cores of this machine"),
            "leave it out to use every core",
        )),
        Some(n) => Ok(n.min(cores)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("123"), Some(123));
        assert_eq!(parse_bytes("64G"), Some(64 << 30));
        assert_eq!(parse_bytes("512MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("2kb"), Some(2048));
        assert_eq!(parse_bytes("1e10"), Some(10_000_000_000));
        assert_eq!(parse_bytes("-1"), None);
        assert_eq!(parse_bytes("1e30"), None);
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(human_bytes(1_500_000_000), "1.500 GB");
        assert_eq!(human_bytes(2_000_000), "2 MB");
        assert_eq!(human_bytes(12), "12 B");
    }

    #[test]
    fn names_and_floats() {
        assert!(check_name("n", "exc_1.a-b").is_ok());
        for bad in ["", "a/b", "a\0b", "a\\b", &"x".repeat(201)] {
            assert!(check_name("n", bad).is_err(), "{bad:?}");
        }
        assert!(fits_f32("w", 3.0e38).is_ok());
        assert!(fits_f32("w", -1e39).is_err());
        assert!(fits_f32("w", f64::NAN).is_err());
    }

    #[test]
    fn numbers_for_messages() {
        // the binary-rounding tail of a computed value is dropped (`{}` prints it in full)
        assert_eq!(format!("{}", 13.433359999999999_f64), "13.433359999999999");
        assert_eq!(num(13.433359999999999), "13.43336");
        assert_eq!(num(0.1 + 0.2), "0.3");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-2.5), "-2.5");
        assert_eq!(num(20.0), "20");
        assert_eq!(num(1e-300), "1e-300");
        assert_eq!(num(-1e39), "-1e39");
        assert_eq!(num(123456789.125), "123456789.125");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::INFINITY), "inf");
    }

    #[test]
    fn threads_refuse_zero_and_cap_at_the_cores() {
        let e = threads("threads", Some(0)).unwrap_err().to_string();
        assert!(
            e.starts_with("threads = 0: must be between 1 and the "),
            "{e}"
        );
        assert_eq!(threads("--threads", None).unwrap(), cores());
        assert_eq!(threads("--threads", Some(1)).unwrap(), 1);
        assert_eq!(threads("--threads", Some(usize::MAX)).unwrap(), cores());
    }
}
