//! One rule for `--threads` in every command: at least 1, at most the machine's cores.
//!
//! More threads than cores never changes a result (every count gives the same bits) but makes a
//! run many times slower (spin barriers on oversubscribed cores), so a larger request is capped
//! with a warning rather than honoured.

use eligo_engine::Error;

/// The cores this process may use (1 if the OS cannot tell).
pub fn available() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The thread count to use for `requested` (`None`: all cores): 0 is bad input (exit 2); more
/// than [`available`] is capped with a warning on stderr (unless `quiet`).
pub fn resolve(requested: Option<usize>, quiet: bool) -> Result<usize, Error> {
    let cores = available();
    match requested {
        None => Ok(cores),
        Some(0) => Err(Error::input(
            "--threads",
            0,
            format!("must be between 1 and the {cores} cores of this machine"),
            "leave it out to use every core",
        )),
        Some(n) if n > cores => {
            if !quiet {
                super::stderr::line(format_args!(
                    "warning: --threads {n} is more than the {cores} cores of this machine; \
                     using {cores} (results are the same for any thread count)"
                ));
            }
            Ok(cores)
        }
        Some(n) => Ok(n),
    }
}
