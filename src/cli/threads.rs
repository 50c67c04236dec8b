//! One rule for `--threads` in every command: at least 1, at most the machine's cores.
//!
//! More threads than cores never changes a result (every count gives the same bits) but makes a
//! run many times slower (spin barriers on oversubscribed cores), so a larger request is capped
//! with a warning rather than honoured.

use eligo_engine::Error;

/// The thread count to use for `requested` (`None`: all cores): 0 is bad input (exit 2); more
/// than the machine's cores is capped with a warning on stderr (unless `quiet`).
pub fn resolve(requested: Option<usize>, quiet: bool) -> Result<usize, Error> {
    let n = eligo_engine::limits::threads("--threads", requested)?;
    if let Some(r) = requested
        && r > n
        && !quiet
    {
        super::stderr::line(format_args!(
            "warning: --threads {r} is more than the {n} cores of this machine; \
             using {n} (results are the same for any thread count)"
        ));
    }
    Ok(n)
}
