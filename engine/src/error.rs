//! Typed errors of the engine.
//!
//! Every user-facing error names *where* (file and field), *what* (the offending value), *what is
//! allowed*, and *what to try*. The CLI maps [`Error::Input`] to exit code 2.

use std::fmt;
use std::path::PathBuf;

/// A problem with something the user gave us: a config field, a data file, an argument.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    /// The file the value came from (`None` for values built in code or given on the command line).
    pub file: Option<PathBuf>,
    /// Dotted path of the field, e.g. `population[1].tau_m_ms` or `projection 'e->i'.p`.
    pub field: String,
    /// The offending value as the user wrote it.
    pub value: String,
    /// What is allowed instead.
    pub allowed: String,
    /// What to try (may be empty).
    pub hint: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        // an error about a whole file (cannot read it) has no field: no empty `: :` segment
        if !self.field.is_empty() {
            write!(f, "{}", self.field)?;
            if !self.value.is_empty() {
                write!(f, " = {}", self.value)?;
            }
            write!(f, ": ")?;
        } else if !self.value.is_empty() {
            write!(f, "{}: ", self.value)?;
        }
        write!(f, "{}", self.allowed)?;
        if !self.hint.is_empty() {
            write!(f, " ({})", self.hint)?;
        }
        Ok(())
    }
}

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad user input: config, data file, argument. Exit code 2 in the CLI.
    #[error("{0}")]
    Input(Box<InputError>),
    /// A learning rule failed (returned an error, panicked, or produced a non-finite output).
    #[error("{0}")]
    Rule(String),
    /// An I/O failure on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// Build an [`Error::Input`] without a file (see [`Error::in_file`] to attach one).
    pub fn input(
        field: impl Into<String>,
        value: impl fmt::Display,
        allowed: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Input(Box::new(InputError {
            file: None,
            field: field.into(),
            value: value.to_string(),
            allowed: allowed.into(),
            hint: hint.into(),
        }))
    }

    /// Attach the file an input error came from (keeps an existing one).
    pub fn in_file(self, file: impl Into<PathBuf>) -> Self {
        match self {
            Error::Input(mut e) => {
                if e.file.is_none() {
                    e.file = Some(file.into());
                }
                Error::Input(e)
            }
            other => other,
        }
    }

    /// Prefix the field path of an input error, e.g. `population[2]` + `.tau_m_ms`.
    pub fn under(self, prefix: &str) -> Self {
        match self {
            Error::Input(mut e) => {
                e.field = if e.field.is_empty() {
                    prefix.to_string()
                } else {
                    format!("{prefix}.{}", e.field)
                };
                Error::Input(e)
            }
            other => other,
        }
    }

    /// Wrap an I/O error with the file it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True for errors caused by user input (the CLI exits with code 2 for these).
    pub fn is_input(&self) -> bool {
        matches!(self, Error::Input(_))
    }
}

/// Result alias of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A number for messages: plain when short, `1e-300` / `1e39` otherwise; at most 12
/// significant digits, so a computed value shows as `13.43336`, not `13.433359999999999`, and
/// zero as `0`, never `-0`.
pub fn num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return x.to_string();
    }
    let r: f64 = format!("{x:.11e}").parse().unwrap_or(x);
    if (1e-4..1e15).contains(&r.abs()) {
        r.to_string()
    } else {
        format!("{r:e}")
    }
}

/// Check that a value is finite and strictly positive.
pub fn positive(field: &str, value: f64, unit: &str) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::input(
            field,
            num(value),
            format!("must be a finite number > 0 {unit}"),
            "",
        ))
    }
}

/// Check that a value is finite.
pub fn finite(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::input(
            field,
            num(value),
            "must be a finite number",
            "",
        ))
    }
}

/// The closest name in `candidates` to `name` (edit distance at most 3), for "did you mean".
pub fn nearest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1; b.len() + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev[j] + usize::from(ca != *cb);
                cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
            }
            prev = cur;
        }
        prev[b.len()]
    }
    candidates
        .iter()
        .map(|c| (distance(name, c), *c))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A hint "did you mean 'x'?" or empty.
pub fn did_you_mean(name: &str, candidates: &[&str]) -> String {
    nearest(name, candidates)
        .map(|c| format!("did you mean '{c}'?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_name() {
        assert_eq!(nearest("lfi", &["lif", "alif", "lif_exp"]), Some("lif"));
        assert_eq!(nearest("zzzzzzzz", &["lif", "alif"]), None);
    }

    #[test]
    fn message_names_everything() {
        let e = Error::input("tau_m_ms", -1.0, "must be > 0 ms", "try 20")
            .under("population[0]")
            .in_file("net.toml");
        assert_eq!(
            e.to_string(),
            "net.toml: population[0].tau_m_ms = -1: must be > 0 ms (try 20)"
        );
    }

    #[test]
    fn a_message_without_field_has_no_empty_segment() {
        let e = Error::input("", "", "cannot read the file: gone", "check the path")
            .in_file("net.toml");
        assert_eq!(
            e.to_string(),
            "net.toml: cannot read the file: gone (check the path)"
        );
        let e = Error::input("", 0.25, "must be a whole multiple of dt", "");
        assert_eq!(e.to_string(), "0.25: must be a whole multiple of dt");
        // once placed under a field, it reads as before
        let e = Error::input("", 0.25, "must be a whole multiple of dt", "").under("delay_ms");
        assert_eq!(
            e.to_string(),
            "delay_ms = 0.25: must be a whole multiple of dt"
        );
    }

    #[test]
    fn checked_floats_print_short() {
        let e = positive("dt_ms", -13.433359999999999, "ms").unwrap_err();
        assert_eq!(
            e.to_string(),
            "dt_ms = -13.43336: must be a finite number > 0 ms"
        );
        let e = positive("dt_ms", -0.0, "ms").unwrap_err();
        assert_eq!(e.to_string(), "dt_ms = 0: must be a finite number > 0 ms");
    }
}
