//! The two cache aliases, `memory` and `persistent`, and how they are spelled on the
//! command line, in logs and in JSON.

use std::fmt;
use std::str::FromStr;

/// Which of the service's two caches an operation goes to.
///
/// `memory` always lives in this process: fastest, private to one instance, gone on
/// restart. `persistent` lives in Redis when `CACHE_REDIS_HOST` or `CACHE_REDIS_URL` is
/// set (shared by every instance, survives restarts) and otherwise in a second
/// in-process store. The same key in the two aliases holds two separate values.
///
/// ```
/// use service_cache::Alias;
///
/// let alias: Alias = "persistent".parse()?;
/// assert_eq!(alias, Alias::Persistent);
/// assert_eq!(alias.to_string(), "persistent");
///
/// let error = "disk".parse::<Alias>().unwrap_err();
/// assert_eq!(error.to_string(), "unknown cache alias \"disk\": expected memory or persistent");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Alias {
    /// In-process only; default TTL from `CACHE_DEFAULT_TTL`.
    Memory,
    /// Redis when configured, else in-process; default TTL from `CACHE_PERSISTENT_TTL`.
    Persistent,
}

impl Alias {
    /// Both aliases, in the order they are shown to people.
    ///
    /// ```
    /// use service_cache::Alias;
    ///
    /// let names: Vec<&str> = Alias::ALL.iter().map(|alias| alias.as_str()).collect();
    /// assert_eq!(names, ["memory", "persistent"]);
    /// ```
    pub const ALL: [Alias; 2] = [Alias::Memory, Alias::Persistent];

    /// The alias's name: `"memory"` or `"persistent"`.
    ///
    /// ```
    /// use service_cache::Alias;
    ///
    /// assert_eq!(Alias::Memory.as_str(), "memory");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Alias::Memory => "memory",
            Alias::Persistent => "persistent",
        }
    }

    /// Position in [`Alias::ALL`], used to index per-alias arrays.
    pub(super) const fn index(self) -> usize {
        match self {
            Alias::Memory => 0,
            Alias::Persistent => 1,
        }
    }
}

impl fmt::Display for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` rather than `write_str`, so `{:<10}` lines up columns in CLI tables.
        f.pad(self.as_str())
    }
}

impl FromStr for Alias {
    type Err = UnknownAlias;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Alias::ALL
            .into_iter()
            .find(|alias| alias.as_str() == name)
            .ok_or_else(|| UnknownAlias {
                given: name.to_owned(),
            })
    }
}

impl serde::Serialize for Alias {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A name that is not a cache alias; its message lists the valid ones.
///
/// ```
/// use service_cache::{Alias, UnknownAlias};
///
/// let error: UnknownAlias = "Memory".parse::<Alias>().unwrap_err();
/// assert_eq!(error.given, "Memory");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown cache alias {given:?}: expected memory or persistent")]
pub struct UnknownAlias {
    /// The name that was given, as it was given.
    pub given: String,
}

#[cfg(test)]
mod tests {
    use super::Alias;

    #[test]
    fn every_alias_parses_back_from_its_name() {
        for alias in Alias::ALL {
            assert_eq!(alias.to_string().parse::<Alias>(), Ok(alias));
            assert_eq!(Alias::ALL[alias.index()], alias);
        }
    }

    #[test]
    fn other_names_are_rejected_with_the_valid_ones() {
        for name in ["", "MEMORY", " memory", "redis"] {
            let message = name.parse::<Alias>().unwrap_err().to_string();
            assert!(message.contains("memory or persistent"), "{message}");
        }
    }

    #[test]
    fn aliases_serialize_as_their_names() {
        assert_eq!(
            serde_json::to_string(&Alias::Persistent).unwrap(),
            "\"persistent\""
        );
    }

    #[test]
    fn display_honours_width() {
        assert_eq!(format!("[{:<8}]", Alias::Memory), "[memory  ]");
    }
}
