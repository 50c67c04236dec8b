//! The process's peak resident memory, for `summary.json` (Linux: `VmHWM` of
//! `/proc/self/status`; other systems: unknown).

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

#[cfg(test)]
mod tests {
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
