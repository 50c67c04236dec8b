//! The process's peak resident memory, for `summary.json` (Linux: `VmHWM` of
//! `/proc/self/status`; other systems: unknown), and the CPU time it used (`eligo bench`: on a
//! loaded machine, wall time counts the time other processes hold the cores; CPU time does not).

/// Peak resident set size so far, in bytes, if the system says.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// CPU seconds used so far by all of the process's threads (user + system; Linux:
/// `/proc/self/stat`, in the kernel's 10 ms ticks), if the system says.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the command name (which may hold spaces) in parentheses: utime is the
    // 14th field of the line, stime the 15th
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ, 100 on every Linux architecture Eligo builds for
    Some(ticks as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_seconds_grow_with_work() {
        let Some(before) = super::cpu_seconds() else {
            return; // not Linux
        };
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed().as_secs_f64() < 0.3 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let after = super::cpu_seconds().unwrap();
        assert!(after > before, "{before} -> {after}");
    }

    #[test]
    fn peak_rss_grows_with_a_touched_allocation() {
        let Some(before) = super::peak_rss_bytes() else {
            return; // not Linux
        };
        let v = vec![1u8; 64 << 20];
        assert!(v.iter().step_by(4096).all(|&b| b == 1));
        let after = super::peak_rss_bytes().unwrap();
        assert!(after >= before.max(64 << 20), "{before} -> {after}");
    }
}
