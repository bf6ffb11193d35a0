//! `service-env`: from environment variables to typed settings, with errors that name the variable,
//! quote the value and say what would have been accepted.
//!
//! `envy` maps each concern's variables (`LOG_*` and the others) onto a serde struct of
//! raw text. The typed checks happen here rather than in serde because serde stops at the
//! first bad value and cannot say which form was expected; an [`EnvReader`] keeps going
//! so that [`SettingsError`] lists every invalid variable at once.
//!
//! [`read_dotenv`] reads the working directory's `.env` (and only that one); its pairs
//! go into the reader under the real environment, which wins unless a variable is empty.
//!
//! A crate of its own so that the service and the cache engine read their variables the
//! same way, into one [`EnvReader`], and a deployment learns of every bad variable at
//! once, the service's and the engine's together. [`Secret`] keeps passwords out of
//! logs and `config check` for both.

mod secret;

pub use secret::{Secret, url_without_password};

use std::collections::HashMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;

/// The longest duration a setting may hold: ten years, written as
/// `315360000` seconds or `315360000000` milliseconds.
///
/// Ten years is forever for a TTL, an interval or a timeout, and every library the
/// settings reach works there; far beyond it they do not: mini-moka panics on a
/// time-to-live past 1000 years, and `Instant + Duration` panics where the sum
/// overflows. The cache engine caps every entry's TTL at the same bound.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// A variable's name and the value in effect (`None`: unset; secrets `[redacted]`), as
/// `config check` prints it.
pub type VarValue = (&'static str, Option<String>);

/// One variable whose value could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidVar {
    /// The variable's name, e.g. `LOG_FORMAT`.
    pub name: &'static str,
    /// The offending value; `None` for secrets, which are never echoed.
    pub value: Option<String>,
    /// What would have been accepted, e.g. "a port number from 1 to 65535".
    pub expected: String,
}

impl fmt::Display for InvalidVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(
                f,
                "{}={value:?} is invalid: expected {}",
                self.name, self.expected
            ),
            None => write!(f, "{} is invalid: expected {}", self.name, self.expected),
        }
    }
}

/// Every invalid variable found while reading the settings, one line each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SettingsError {
    /// The invalid variables, in the order they were read.
    pub invalid: Vec<InvalidVar>,
}

impl SettingsError {
    /// The exit code for invalid configuration (`EX_CONFIG` from sysexits.h).
    pub const EXIT_CODE: u8 = 78;
}

impl SettingsError {
    /// One message per invalid variable, without the `error: ` the start-up adds.
    pub fn messages(&self) -> Vec<String> {
        self.invalid
            .iter()
            .map(|var| {
                format!("{var} (fix it in the environment or .env, or unset it to use the default)")
            })
            .collect()
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, message) in self.messages().iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {message}")?;
        }
        Ok(())
    }
}

/// A `.env` file that exists but cannot be used. The message never quotes the file's
/// content, which may hold a password.
#[derive(Debug, thiserror::Error)]
pub enum DotenvError {
    /// A line is not `NAME=value` (an unclosed quote, a name with a space, …).
    #[error(
        "{path} line {line} cannot be parsed: write NAME=value and close every quote \
         (the line is not shown, since it may hold a secret)"
    )]
    Syntax {
        /// The file, as given.
        path: String,
        /// The 1-based number of the line where the unreadable entry starts.
        line: usize,
    },
    /// The file exists but cannot be read (permissions, not UTF-8, …).
    #[error("{path} cannot be read: {reason}")]
    Unreadable {
        /// The file, as given.
        path: String,
        /// What the operating system or the parser said.
        reason: String,
    },
}

/// Reads `path` (start-up passes `.env`: the working directory's, never a parent's) as
/// `(name, value)` pairs in file order; no file gives no pairs.
///
/// ```
/// use service_env::read_dotenv;
///
/// let dir = std::env::temp_dir().join(format!("dotenv-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join(".env");
/// std::fs::write(&file, "# comment\nAPP_PORT=9000\nPASSWORD=\"hunter2\n").unwrap();
/// let error = read_dotenv(&file).unwrap_err().to_string();
/// assert!(error.contains("line 3") && !error.contains("hunter2"), "{error}");
/// std::fs::write(&file, "APP_PORT=9000\n").unwrap();
/// assert_eq!(read_dotenv(&file).unwrap(), [("APP_PORT".to_owned(), "9000".to_owned())]);
/// assert!(read_dotenv(&dir.join("absent")).unwrap().is_empty());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
///
/// # Errors
/// When the file exists but cannot be read or parsed; see [`DotenvError`].
pub fn read_dotenv(path: &Path) -> Result<Vec<(String, String)>, DotenvError> {
    let shown = path.display().to_string();
    let unreadable = |reason: String| DotenvError::Unreadable {
        path: shown.clone(),
        reason,
    };
    let entries = match dotenvy::from_path_iter(path) {
        Ok(entries) => entries,
        Err(error) if error.not_found() => return Ok(Vec::new()),
        Err(error) => return Err(unreadable(error.to_string())),
    };
    let mut pairs = Vec::new();
    for entry in entries {
        match entry {
            Ok(pair) => pairs.push(pair),
            Err(dotenvy::Error::LineParse(entry, _)) => {
                // The parser reports the entry's text, which is where it starts in the
                // file: its line number is all that is shown.
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let line = text
                    .find(entry.as_str())
                    .map_or(1, |start| text[..start].matches('\n').count() + 1);
                return Err(DotenvError::Syntax { path: shown, line });
            }
            Err(dotenvy::Error::Io(error)) => return Err(unreadable(error.to_string())),
            Err(_) => return Err(unreadable("a variable it refers to is unusable".to_owned())),
        }
    }
    Ok(pairs)
}

/// A snapshot of the environment, read concern by concern, that remembers which
/// variables were invalid.
pub struct EnvReader {
    /// Set, non-empty variables, trimmed. An empty value counts as unset everywhere.
    vars: HashMap<String, String>,
    /// What was rejected so far.
    invalid: Vec<InvalidVar>,
}

impl EnvReader {
    /// Reads the process environment. Variables whose name or value is not UTF-8 are
    /// skipped: none of the service's variables can be one.
    pub fn from_process() -> Self {
        Self::from_map(std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        }))
    }

    /// Reads the process environment over `dotenv` (the pairs of [`read_dotenv`]): a
    /// variable set in both takes the environment's value, unless that one is empty,
    /// since an empty variable counts as unset everywhere.
    pub fn from_process_with(dotenv: Vec<(String, String)>) -> Self {
        let mut reader = Self::from_map(dotenv);
        let process = Self::from_process();
        reader.vars.extend(process.vars);
        reader
    }

    /// Reads from fixed pairs instead of the process environment (for tests).
    pub fn from_map<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let vars = vars
            .into_iter()
            .map(|(name, value)| (name.into(), value.into().trim().to_owned()))
            .filter(|(_, value)| !value.is_empty())
            .collect();
        Self {
            vars,
            invalid: Vec::new(),
        }
    }

    /// The variables starting with `prefix`, as the raw-text struct `T` (through envy:
    /// `LOG_FORMAT` lands in the field `format` of `T` read with `"LOG_"`).
    pub fn prefixed<T: DeserializeOwned + Default>(&mut self, prefix: &'static str) -> T {
        let vars = self
            .vars
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(name, value)| (name.clone(), value.clone()));
        // The structs hold only `Option<String>`, which any text fits, so this fails only
        // if a field's type is changed to one that does not: a bug, reported like a value.
        envy::prefixed(prefix)
            .from_iter(vars)
            .unwrap_or_else(|error| {
                self.reject(prefix, None, &format!("text values ({error})"));
                T::default()
            })
    }

    /// Parses `raw` (the value of `name`) with `parse`; unset gives `default`, and an
    /// unusable value is recorded with its text quoted.
    pub fn parse<T>(
        &mut self,
        name: &'static str,
        raw: Option<String>,
        default: T,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> T {
        match raw {
            None => default,
            Some(raw) => parse(&raw).unwrap_or_else(|| {
                self.reject(name, Some(raw), expected);
                default
            }),
        }
    }

    /// The value of `name`, trimmed; `None` when unset or blank.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Whether `name` is set to something other than blanks.
    pub fn is_set(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// Records `name` as invalid; `value` is `None` for secrets.
    pub fn reject(&mut self, name: &'static str, value: Option<String>, expected: &str) {
        self.invalid.push(InvalidVar {
            name,
            value,
            expected: expected.to_owned(),
        });
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case).
    pub fn bool(&mut self, name: &'static str, raw: Option<String>, default: bool) -> bool {
        self.parse(name, raw, default, "true or false", |raw| {
            match raw.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(true),
                "false" | "0" | "no" | "off" => Some(false),
                _ => None,
            }
        })
    }

    /// A TCP port from 1 to 65535 (0 is allowed where `allow_zero`: "any free port").
    pub fn port(
        &mut self,
        name: &'static str,
        raw: Option<String>,
        default: u16,
        allow_zero: bool,
    ) -> u16 {
        let expected = if allow_zero {
            "a port number from 0 to 65535"
        } else {
            "a port number from 1 to 65535"
        };
        self.parse(name, raw, default, expected, |raw| {
            raw.parse::<u16>()
                .ok()
                .filter(|port| allow_zero || *port > 0)
        })
    }

    /// A whole number in `range`; the error states the range.
    pub fn number(
        &mut self,
        name: &'static str,
        raw: Option<String>,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> u64 {
        let expected = format!("a whole number from {} to {}", range.start(), range.end());
        self.parse(name, raw, default, &expected, |raw| {
            raw.parse::<u64>().ok().filter(|n| range.contains(n))
        })
    }

    /// A duration in whole seconds, from one second to [`MAX_DURATION`].
    pub fn seconds(
        &mut self,
        name: &'static str,
        raw: Option<String>,
        default: Duration,
    ) -> Duration {
        let max = MAX_DURATION.as_secs();
        let expected = format!("a whole number of seconds from 1 to {max} (ten years)");
        self.parse(name, raw, default, &expected, |raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|secs| (1..=max).contains(secs))
                .map(Duration::from_secs)
        })
    }

    /// A duration in whole milliseconds, from one millisecond to [`MAX_DURATION`].
    pub fn millis(
        &mut self,
        name: &'static str,
        raw: Option<String>,
        default: Duration,
    ) -> Duration {
        let max = u64::try_from(MAX_DURATION.as_millis()).unwrap_or(u64::MAX);
        let expected = format!("a whole number of milliseconds from 1 to {max} (ten years)");
        self.parse(name, raw, default, &expected, |raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|ms| (1..=max).contains(ms))
                .map(Duration::from_millis)
        })
    }

    /// Ends reading: `Ok` when every variable was valid.
    ///
    /// # Errors
    /// Lists every variable that was rejected.
    pub fn finish(&mut self) -> Result<(), SettingsError> {
        if self.invalid.is_empty() {
            Ok(())
        } else {
            Err(SettingsError {
                invalid: std::mem::take(&mut self.invalid),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde::Deserialize;

    use super::{EnvReader, MAX_DURATION};

    #[derive(Debug, Default, Deserialize)]
    struct DemoVars {
        port: Option<String>,
        ttl: Option<String>,
        on: Option<String>,
    }

    #[test]
    fn envy_maps_prefixed_variables_and_empty_means_unset() {
        let mut env =
            EnvReader::from_map([("DEMO_PORT", " 81 "), ("DEMO_TTL", ""), ("OTHER_ON", "1")]);
        let vars: DemoVars = env.prefixed("DEMO_");
        assert_eq!(vars.port.as_deref(), Some("81"));
        assert_eq!(vars.ttl, None);
        assert_eq!(vars.on, None);
        assert_eq!(
            env.seconds("DEMO_TTL", vars.ttl, Duration::from_secs(5)),
            Duration::from_secs(5)
        );
        assert!(env.finish().is_ok());
    }

    #[test]
    fn every_invalid_variable_is_reported_with_its_value() {
        let mut env = EnvReader::from_map([
            ("DEMO_PORT", "abc"),
            ("DEMO_TTL", "-5"),
            ("DEMO_ON", "maybe"),
        ]);
        let vars: DemoVars = env.prefixed("DEMO_");
        env.port("DEMO_PORT", vars.port, 1, false);
        env.seconds("DEMO_TTL", vars.ttl, Duration::from_secs(1));
        env.bool("DEMO_ON", vars.on, true);
        let message = env.finish().unwrap_err().to_string();
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines.len(), 3, "{message}");
        assert!(
            lines[0].contains("DEMO_PORT=\"abc\"") && lines[0].contains("port number"),
            "{message}"
        );
        assert!(
            lines[1].contains("DEMO_TTL=\"-5\"") && lines[1].contains("seconds"),
            "{message}"
        );
        assert!(
            lines[2].contains("DEMO_ON=\"maybe\"") && lines[2].contains("true or false"),
            "{message}"
        );
    }

    #[test]
    fn booleans_accept_common_spellings() {
        let mut env = EnvReader::from_map::<&str, &str>([]);
        assert!(!env.bool("A", Some("False".into()), true));
        assert!(env.bool("B", Some("1".into()), false));
        assert!(!env.bool("C", Some("off".into()), true));
        assert!(env.finish().is_ok());
    }

    #[test]
    fn numbers_and_durations_take_their_bounds_and_refuse_what_lies_beyond() {
        let max_secs = MAX_DURATION.as_secs().to_string();
        let max_millis = MAX_DURATION.as_millis().to_string();
        let mut env = EnvReader::from_map::<&str, &str>([]);
        let read = |env: &mut EnvReader, raw: &str| {
            (
                env.number("N", Some(raw.into()), 7, 2..=9),
                env.seconds("S", Some(raw.into()), Duration::ZERO),
                env.millis("M", Some(raw.into()), Duration::ZERO),
            )
        };
        assert_eq!(env.number("N", Some("2".into()), 7, 2..=9), 2);
        assert_eq!(env.number("N", Some("9".into()), 7, 2..=9), 9);
        assert_eq!(
            env.seconds("S", Some(max_secs.clone()), Duration::ZERO),
            MAX_DURATION
        );
        assert_eq!(
            env.millis("M", Some(max_millis.clone()), Duration::ZERO),
            MAX_DURATION
        );
        assert!(env.finish().is_ok());

        let beyond = |max: &str| (max.parse::<u64>().unwrap() + 1).to_string();
        for raw in [
            "0".to_owned(),
            "-1".to_owned(),
            beyond(&max_millis),
            u64::MAX.to_string(),
            "18446744073709551616".to_owned(),
        ] {
            read(&mut env, &raw);
            let message = env.finish().unwrap_err().to_string();
            let lines: Vec<&str> = message.lines().collect();
            assert_eq!(lines.len(), 3, "{raw}: {message}");
            assert!(lines[0].contains("N=") && lines[0].contains("from 2 to 9"));
            assert!(
                lines[1].contains("S=") && lines[1].contains(&format!("from 1 to {max_secs}")),
                "{message}"
            );
            assert!(
                lines[2].contains("M=") && lines[2].contains(&format!("from 1 to {max_millis}")),
                "{message}"
            );
        }
        env.seconds("S", Some(beyond(&max_secs)), Duration::ZERO);
        assert!(env.finish().is_err(), "one second beyond ten years");
    }
}
