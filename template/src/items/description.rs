//! An item's description: free text, bounded so that every answer stays small.

{% if database == "none" -%}
/// The longest accepted description, in characters: a paragraph or two. With
/// [`MAX_ITEMS`](super::MAX_ITEMS) items, descriptions alone stay under 80 MB.
{% else -%}
/// The longest accepted description, in characters: a paragraph or two, so that a
/// page of [`MAX_PER_PAGE`](super::MAX_PER_PAGE) items stays under a megabyte.
{% endif -%}
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// Why a description was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("description must be at most {MAX_DESCRIPTION_CHARS} characters; this one has {chars}")]
pub struct DescriptionTooLong {
    /// How many characters it had.
    pub chars: usize,
}

/// Checks `description` against [`MAX_DESCRIPTION_CHARS`].
///
/// ```
/// use {{crate_name}}::items::{MAX_DESCRIPTION_CHARS, check_description};
///
/// assert!(check_description("blue ink").is_ok());
/// let error = check_description(&"x".repeat(MAX_DESCRIPTION_CHARS + 1)).unwrap_err();
/// assert!(error.to_string().starts_with("description must be at most 2000 characters"));
/// ```
///
/// # Errors
/// [`DescriptionTooLong`] when it has more characters than that.
pub fn check_description(description: &str) -> Result<(), DescriptionTooLong> {
    // Bytes are at least as many as characters: only a long text needs counting.
    if description.len() <= MAX_DESCRIPTION_CHARS {
        return Ok(());
    }
    let chars = description.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        return Err(DescriptionTooLong { chars });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{MAX_DESCRIPTION_CHARS, check_description};

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(check_description(&"é".repeat(MAX_DESCRIPTION_CHARS)).is_ok());
        assert_eq!(
            check_description(&"é".repeat(MAX_DESCRIPTION_CHARS + 1))
                .unwrap_err()
                .chars,
            MAX_DESCRIPTION_CHARS + 1
        );
    }
}
