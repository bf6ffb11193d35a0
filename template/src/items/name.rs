//! An item's name, checked once where it enters the service.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest accepted name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A name of 1 to [`MAX_NAME_CHARS`] characters that is not only spaces. Holding one
/// proves the rule was checked, so nothing downstream checks it again.
///
/// ```
/// use {{crate_name}}::items::ItemName;
///
/// assert_eq!(ItemName::parse("pen").unwrap().as_str(), "pen");
/// assert!(ItemName::parse("   ").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ItemName(String);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("name must be 1 to {MAX_NAME_CHARS} characters and not only spaces")]
pub struct InvalidItemName;

impl ItemName {
    /// Checks `name` against the rule.
    ///
    /// # Errors
    /// [`InvalidItemName`] when it is empty, blank or too long.
    pub fn parse(name: impl Into<String>) -> Result<Self, InvalidItemName> {
        let name = name.into();
        if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(InvalidItemName);
        }
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ItemName {
    type Error = InvalidItemName;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(name)
    }
}

impl From<ItemName> for String {
    fn from(name: ItemName) -> Self {
        name.0
    }
}

impl fmt::Display for ItemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{ItemName, MAX_NAME_CHARS};

    #[test]
    fn blank_and_overlong_names_are_refused_and_length_counts_characters() {
        assert!(ItemName::parse("").is_err());
        assert!(ItemName::parse("  ").is_err());
        assert!(ItemName::parse("x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(ItemName::parse("é".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn json_goes_through_the_same_rule() {
        let name: ItemName = serde_json::from_str("\"pen\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"pen\"");
        assert!(serde_json::from_str::<ItemName>("\" \"").is_err());
    }
}
