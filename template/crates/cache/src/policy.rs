//! [`Policy`]: how long a cache-aside entry is fresh, how long after that it may still
//! be served (while it is refreshed, or when its source fails), and the tags it carries.
//!
//! Freshness is not stored next to the value: an entry is written with a TTL of its
//! fresh period plus the longer of its two stale windows, and a reader that knows the
//! policy tells its age from the TTL left. So the stored value stays the plain JSON
//! every other reader (`Cache::get`, the CLI, `redis-cli`) sees, and reading the age
//! costs nothing extra on Redis: the read already asks for the TTL left (`PTTL`).

use std::time::Duration;

/// What [`Cache::get_or_refresh_with`](super::Cache::get_or_refresh_with) and the
/// endpoint cache do with an entry as it ages.
///
/// - younger than the TTL (the *fresh* period): a hit;
/// - within [`Policy::stale_while_revalidate`] after that: answered at once, while one
///   background load per key refreshes it;
/// - within [`Policy::stale_if_error`] after the fresh period: loaded again, but if the
///   load fails this value is answered instead of the error (logged and counted);
/// - older: a miss.
///
/// ```
/// use std::time::Duration;
///
/// use service_cache::Policy;
///
/// let policy = Policy::ttl(Duration::from_secs(30))
///     .stale_while_revalidate(Duration::from_secs(300))
///     .stale_if_error(Duration::from_secs(3600))
///     .tag("owner:7");
/// assert_eq!(policy.stored_for(Duration::from_secs(30)), Duration::from_secs(3630));
/// assert_eq!(policy.tags(), ["owner:7"]);
///
/// // A bare TTL, or none (the alias's default), converts into a policy.
/// let plain: Policy = Some(Duration::from_secs(5)).into();
/// assert_eq!(plain.fresh_for(), Some(Duration::from_secs(5)));
/// assert_eq!(plain.stored_for(Duration::from_secs(5)), Duration::from_secs(5), "no stale window");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The fresh period; `None`: the alias's default TTL.
    ttl: Option<Duration>,
    /// After the fresh period: served at once while one refresh runs.
    stale_while_revalidate: Duration,
    /// After the fresh period: served when a load fails.
    stale_if_error: Duration,
    /// Tags the entry carries (see [`Cache::invalidate_tag`](super::Cache::invalidate_tag)).
    tags: Vec<String>,
}

/// Where an entry stands in its [`Policy`], from the TTL it has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Age {
    /// Within the fresh period: a hit.
    Fresh,
    /// Within the stale-while-revalidate window: answer it and refresh in the background.
    Stale,
    /// Past that but within the stale-if-error window: only an answer if loading fails.
    StaleIfError,
}

impl Policy {
    /// Fresh for `ttl`, with no stale windows and no tags.
    pub fn ttl(ttl: Duration) -> Self {
        Self {
            ttl: Some(ttl),
            ..Self::default()
        }
    }

    /// Fresh for `ttl`, or the alias's default when `None`; no stale windows, no tags.
    pub(crate) fn fresh_for_or_default(ttl: Option<Duration>) -> Self {
        Self {
            ttl,
            ..Self::default()
        }
    }

    /// After the fresh period, answers the entry for `window` more while one background
    /// load refreshes it.
    #[must_use]
    pub fn stale_while_revalidate(mut self, window: Duration) -> Self {
        self.stale_while_revalidate = window;
        self
    }

    /// After the fresh period, answers the entry for `window` more when its loader fails.
    #[must_use]
    pub fn stale_if_error(mut self, window: Duration) -> Self {
        self.stale_if_error = window;
        self
    }

    /// Adds a tag to the entries written under this policy.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// The tags entries written under this policy carry.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The fresh period; `None`: the alias's default TTL.
    pub fn fresh_for(&self) -> Option<Duration> {
        self.ttl
    }

    /// The TTL an entry is stored with when the fresh period is `fresh`: it, plus the
    /// longer stale window.
    pub fn stored_for(&self, fresh: Duration) -> Duration {
        fresh.saturating_add(self.stale_window())
    }

    /// The longer of the two stale windows; zero when the policy has none.
    pub(crate) fn stale_window(&self) -> Duration {
        self.stale_while_revalidate.max(self.stale_if_error)
    }

    /// Where an entry stands with `left` to live (`None`: it has no expiry, so it is
    /// fresh): whatever TTL it was written with, the last stretch of it, as long as the
    /// longer stale window, is stale. An entry written with a longer TTL (by another
    /// writer) is fresh until it reaches that stretch.
    pub(crate) fn age(&self, left: Option<Duration>) -> Age {
        let Some(left) = left else {
            return Age::Fresh;
        };
        let window = self.stale_window();
        if left > window {
            return Age::Fresh;
        }
        // Time since the fresh period ended.
        let stale_for = window - left;
        if stale_for < self.stale_while_revalidate {
            Age::Stale
        } else {
            Age::StaleIfError
        }
    }
}

impl From<Option<Duration>> for Policy {
    fn from(ttl: Option<Duration>) -> Self {
        Self {
            ttl,
            ..Self::default()
        }
    }
}

impl From<Duration> for Policy {
    fn from(ttl: Duration) -> Self {
        Self::ttl(ttl)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Age, Policy};

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn the_age_follows_from_the_ttl_left() {
        // Fresh 10 s, stale-while-revalidate 5 s, stale-if-error 20 s: stored for 30 s.
        let policy = Policy::ttl(SEC * 10)
            .stale_while_revalidate(SEC * 5)
            .stale_if_error(SEC * 20);
        assert_eq!(policy.stored_for(SEC * 10), SEC * 30);
        let age = |left: Duration| policy.age(Some(left));
        assert_eq!(age(SEC * 30), Age::Fresh);
        assert_eq!(age(SEC * 21), Age::Fresh);
        assert_eq!(age(SEC * 20), Age::Stale, "the fresh period just ended");
        assert_eq!(age(SEC * 16), Age::Stale);
        assert_eq!(
            age(SEC * 15),
            Age::StaleIfError,
            "past stale-while-revalidate"
        );
        assert_eq!(age(SEC), Age::StaleIfError);
        assert_eq!(policy.age(None), Age::Fresh, "no expiry");
    }

    #[test]
    fn without_windows_everything_read_is_fresh() {
        let policy = Policy::from(Some(SEC));
        assert_eq!(policy.stored_for(SEC), SEC);
        assert_eq!(policy.age(Some(Duration::from_millis(1))), Age::Fresh);
    }
}
