//! What a `GET` request itself asks of the cache (RFC 9111, section 5.2.1):
//! `Cache-Control: no-cache` wants an answer made for it, not one from the cache, which
//! may still be stored for the requests after it; `no-store` wants nothing of its
//! exchange kept, so the cache is neither read nor written. `Pragma: no-cache` counts as
//! `Cache-Control: no-cache` only when the request has no `Cache-Control` (section 5.4).

use actix_web::http::header::{CACHE_CONTROL, HeaderMap, PRAGMA};

use super::shareable::list_items as items;

/// How a request's directives change the read-through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bypass {
    /// No directive: read through the cache as usual.
    None,
    /// `no-cache`: run the handler, store its answer.
    Read,
    /// `no-store`: run the handler, store nothing.
    ReadAndWrite,
}

/// The bypass `headers` (a request's) ask for.
pub(super) fn bypass(headers: &HeaderMap) -> Bypass {
    if headers.contains_key(CACHE_CONTROL) {
        let mut bypass = Bypass::None;
        for directive in items(headers, &CACHE_CONTROL) {
            // A directive's name ends at `=`; `no-cache="field"` is a response form, read
            // as plain no-cache.
            let name = directive
                .split(|byte| *byte == b'=')
                .next()
                .unwrap_or_default();
            if name.eq_ignore_ascii_case(b"no-store") {
                return Bypass::ReadAndWrite;
            }
            if name.eq_ignore_ascii_case(b"no-cache") {
                bypass = Bypass::Read;
            }
        }
        return bypass;
    }
    if items(headers, &PRAGMA).any(|item| item.eq_ignore_ascii_case(b"no-cache")) {
        return Bypass::Read;
    }
    Bypass::None
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{CACHE_CONTROL, HeaderMap, HeaderName, HeaderValue, PRAGMA};

    use super::{Bypass, bypass};

    fn of(lines: &[(HeaderName, &'static str)]) -> Bypass {
        let mut headers = HeaderMap::new();
        for (name, value) in lines {
            headers.append(name.clone(), HeaderValue::from_static(value));
        }
        bypass(&headers)
    }

    #[test]
    fn no_cache_skips_the_read_and_no_store_the_write_too() {
        assert_eq!(of(&[]), Bypass::None);
        assert_eq!(of(&[(CACHE_CONTROL, "max-age=60")]), Bypass::None);
        assert_eq!(of(&[(CACHE_CONTROL, "No-Cache")]), Bypass::Read);
        assert_eq!(
            of(&[(CACHE_CONTROL, "max-age=0, no-store")]),
            Bypass::ReadAndWrite
        );
        assert_eq!(
            of(&[(CACHE_CONTROL, "no-store"), (CACHE_CONTROL, "no-cache")]),
            Bypass::ReadAndWrite,
            "no-store wins over no-cache"
        );
        assert_eq!(of(&[(CACHE_CONTROL, "x-no-cache")]), Bypass::None);
    }

    #[test]
    fn pragma_counts_only_without_cache_control() {
        assert_eq!(of(&[(PRAGMA, "no-cache")]), Bypass::Read);
        assert_eq!(
            of(&[(PRAGMA, "no-cache"), (CACHE_CONTROL, "max-age=60")]),
            Bypass::None
        );
    }
}
