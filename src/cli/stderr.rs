//! Lines on stderr that never stop the program. `eprintln!` panics (exit 101) when stderr is a
//! pipe whose reader has gone (`eligo simulate NET.toml 2>&1 | head -1`, a log collector that
//! died): a warning or a note is not worth the run, so a line that cannot be written is dropped.

use std::io::Write;

/// Write `args` and a newline to stderr, ignoring a write error.
pub fn line(args: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}
