//! A string that must never reach a log line, an error message or `Debug` output.

use std::fmt;

/// Holds a secret (a password, or a URL that may contain one). `Debug` and `Display`
/// print `[redacted]`; [`Secret::expose`] is the one, greppable way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: pass it straight to the client that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `url` with the password in its user-info replaced by `[redacted]`, for showing which
/// server a URL points to. User-info without a `:` is redacted whole, since some clients
/// read a lone value as the password. The last `@` ends the user-info, so a password
/// holding `/` or `@` is never cut in two.
pub fn url_without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[redacted]".to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:[redacted]@{host}"),
            None => format!("{scheme}://[redacted]@{host}"),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::url_without_password;

    #[test]
    fn urls_keep_everything_but_the_password() {
        let cases = [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            (
                "postgres://app:s3cret@db:5432/app",
                "postgres://app:[redacted]@db:5432/app",
            ),
            (
                "rediss://alice:pw@h:6380/1",
                "rediss://alice:[redacted]@h:6380/1",
            ),
            ("redis://lonely@h", "redis://[redacted]@h"),
            ("redis://:p@ss@h/2", "redis://:[redacted]@h/2"),
            ("redis://:pa/ss@h/0", "redis://:[redacted]@h/0"),
            ("not a url", "[redacted]"),
        ];
        for (url, expected) in cases {
            assert_eq!(url_without_password(url), expected, "{url}");
        }
    }
}
