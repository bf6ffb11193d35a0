//! Which page of the items a listing asks for: `?page=` (from 1) and `?per_page=` (from
//! 1 to [`MAX_PER_PAGE`]), each with its default, checked once here so that a bad value
//! is one `400` naming the parameter and its range.

use std::fmt;

/// Items per page when `per_page` is not given.
pub const DEFAULT_PER_PAGE: u32 = 50;
/// The most items one page may ask for.
pub const MAX_PER_PAGE: u32 = 100;

/// A page of the listing, valid by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// From 1.
    number: u32,
    /// From 1 to [`MAX_PER_PAGE`].
    per_page: u32,
}

/// A `page` or `per_page` that is not a whole number in its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be a whole number from {min} to {max}; got {got:?}")]
pub struct InvalidPage {
    name: &'static str,
    min: u32,
    max: u32,
    got: String,
}

impl Page {
    /// The page the query's raw `page` and `per_page` ask for (absent: the defaults).
    ///
    /// # Errors
    /// [`InvalidPage`] naming the first parameter out of its range.
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, InvalidPage> {
        Ok(Self {
            number: bounded("page", page, 1, 1, u32::MAX)?,
            per_page: bounded("per_page", per_page, DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)?,
        })
    }

    /// How many items come before this page.
    pub fn skip(self) -> usize {
        usize::try_from(u64::from(self.number - 1) * u64::from(self.per_page)).unwrap_or(usize::MAX)
    }

    /// How many items it holds at most.
    pub fn size(self) -> usize {
        usize::try_from(self.per_page).unwrap_or(usize::MAX)
    }
}

impl fmt::Display for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "page {} of {} items", self.number, self.per_page)
    }
}

fn bounded(
    name: &'static str,
    raw: Option<&str>,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, InvalidPage> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|value| (min..=max).contains(value))
        .ok_or_else(|| InvalidPage {
            name,
            min,
            max,
            got: raw.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_PER_PAGE, MAX_PER_PAGE, Page};

    #[test]
    fn defaults_apply_and_bounds_are_named() {
        let first = Page::parse(None, None).unwrap();
        assert_eq!((first.skip(), first.size()), (0, DEFAULT_PER_PAGE as usize));
        let third = Page::parse(Some("3"), Some("10")).unwrap();
        assert_eq!((third.skip(), third.size()), (20, 10));
        let error = Page::parse(Some("0"), None).unwrap_err().to_string();
        assert_eq!(
            error,
            "page must be a whole number from 1 to 4294967295; got \"0\""
        );
        let error = Page::parse(None, Some("101")).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "per_page must be a whole number from 1 to {MAX_PER_PAGE}"
            )),
            "{error}"
        );
        assert!(Page::parse(Some("x"), None).is_err());
        let last = Page::parse(Some(&u32::MAX.to_string()), Some("100")).unwrap();
        assert!(last.skip() > 0, "no overflow");
    }
}
