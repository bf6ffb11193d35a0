//! Typed reads of environment variables whose errors name the variable, the value and
//! the expected form.
//!
//! An [`EnvReader`] keeps going after a bad value so that [`SettingsError`] can list
//! every invalid variable, not only the first.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

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

/// Every invalid variable found while reading the settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SettingsError {
    /// The invalid variables, in the order they were read.
    pub invalid: Vec<InvalidVar>,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, var) in self.invalid.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "error: {var} (fix it in the environment or .env, or unset it to use the default)"
            )?;
        }
        Ok(())
    }
}

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send>;

/// Reads variables one by one and remembers which ones were invalid.
pub struct EnvReader {
    lookup: Lookup,
    invalid: Vec<InvalidVar>,
}

impl EnvReader {
    /// Reads from the process environment.
    pub fn from_process() -> Self {
        Self::new(Box::new(|name| std::env::var(name).ok()))
    }

    /// Reads from a fixed map instead of the process environment (for tests).
    pub fn from_map<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self::new(Box::new(move |name| vars.get(name).cloned()))
    }

    fn new(lookup: Lookup) -> Self {
        Self {
            lookup,
            invalid: Vec::new(),
        }
    }

    /// The variable's value; unset and empty are the same (`RUST_LOG=` unsets it).
    pub fn string(&mut self, name: &'static str) -> Option<String> {
        (self.lookup)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// Parses the variable with `parse`, recording an error that quotes the value.
    pub fn parse<T>(
        &mut self,
        name: &'static str,
        default: T,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> T {
        match self.string(name) {
            None => default,
            Some(raw) => parse(&raw).unwrap_or_else(|| {
                self.reject(name, Some(raw), expected);
                default
            }),
        }
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
    pub fn bool(&mut self, name: &'static str, default: bool) -> bool {
        self.parse(name, default, "true or false", |raw| {
            match raw.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(true),
                "false" | "0" | "no" | "off" => Some(false),
                _ => None,
            }
        })
    }

    /// A TCP port from 1 to 65535 (0 is allowed where `allow_zero`: "any free port").
    pub fn port(&mut self, name: &'static str, default: u16, allow_zero: bool) -> u16 {
        let expected = if allow_zero {
            "a port number from 0 to 65535"
        } else {
            "a port number from 1 to 65535"
        };
        self.parse(name, default, expected, |raw| {
            raw.parse::<u16>()
                .ok()
                .filter(|port| allow_zero || *port > 0)
        })
    }

    /// A whole number at least `min`.
    pub fn number(&mut self, name: &'static str, default: u64, min: u64) -> u64 {
        let expected = format!("a whole number of at least {min}");
        self.parse(name, default, &expected, |raw| {
            raw.parse::<u64>().ok().filter(|n| *n >= min)
        })
    }

    /// A duration in whole seconds, at least one.
    pub fn seconds(&mut self, name: &'static str, default: Duration) -> Duration {
        self.parse(
            name,
            default,
            "a whole number of seconds greater than 0",
            |raw| {
                raw.parse::<u64>()
                    .ok()
                    .filter(|secs| *secs > 0)
                    .map(Duration::from_secs)
            },
        )
    }

    /// A duration in whole milliseconds, at least one.
    pub fn millis(&mut self, name: &'static str, default: Duration) -> Duration {
        self.parse(
            name,
            default,
            "a whole number of milliseconds greater than 0",
            |raw| {
                raw.parse::<u64>()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .map(Duration::from_millis)
            },
        )
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

    use super::EnvReader;

    #[test]
    fn unset_and_empty_variables_take_the_default() {
        let mut env = EnvReader::from_map([("A", "")]);
        assert_eq!(env.port("A", 6379, false), 6379);
        assert_eq!(
            env.seconds("B", Duration::from_secs(5)),
            Duration::from_secs(5)
        );
        assert!(env.finish().is_ok());
    }

    #[test]
    fn every_invalid_variable_is_reported_with_its_value() {
        let mut env = EnvReader::from_map([("PORT", "abc"), ("TTL", "-5"), ("ON", "maybe")]);
        env.port("PORT", 1, false);
        env.seconds("TTL", Duration::from_secs(1));
        env.bool("ON", true);
        let message = env.finish().unwrap_err().to_string();
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines.len(), 3, "{message}");
        assert!(
            lines[0].contains("PORT=\"abc\"") && lines[0].contains("port number"),
            "{message}"
        );
        assert!(
            lines[1].contains("TTL=\"-5\"") && lines[1].contains("seconds"),
            "{message}"
        );
        assert!(
            lines[2].contains("ON=\"maybe\"") && lines[2].contains("true or false"),
            "{message}"
        );
    }

    #[test]
    fn booleans_accept_common_spellings() {
        let mut env = EnvReader::from_map([("A", "False"), ("B", "1"), ("C", "off")]);
        assert!(!env.bool("A", true));
        assert!(env.bool("B", false));
        assert!(!env.bool("C", true));
        assert!(env.finish().is_ok());
    }
}
