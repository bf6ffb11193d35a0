//! Which handler answers may be stored and replayed to other clients: the endpoint cache
//! is a shared cache, so an answer meant for one client (it sets a cookie, says
//! `Cache-Control: private` or `no-store`) or one that depends on request headers the
//! key does not hold (`Vary`) is served to its own client and never stored.
//!
//! `Vary: Accept-Encoding` is the one exception: the cache stores the decoded JSON text
//! and builds every hit from it uncompressed, so an answer that varies only by content
//! coding is the same stored value for every client (a compression middleware outside
//! the cache encodes each answer for its own client and sets its own `Vary`).

use std::fmt;

use actix_web::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, HeaderMap, HeaderName, SET_COOKIE, VARY,
};

/// Why an answer is kept from the shared cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// It sets a cookie: the cookie belongs to the client that got the answer.
    SetsCookie,
    /// `Cache-Control` names this directive (`private` or `no-store`).
    CacheControl(&'static str),
    /// `Vary` names a request header the key does not hold (or `*`).
    Varies(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::SetsCookie => f.write_str("it sets a cookie (Set-Cookie)"),
            Refusal::CacheControl(directive) => write!(f, "Cache-Control says {directive}"),
            Refusal::Varies(header) => write!(
                f,
                "it varies by {header} (Vary), which the cache key does not hold"
            ),
        }
    }
}

/// Why the answer with `headers` must not be shared, or `None` when it may be. `keyed`
/// lists the request headers that are part of the cache key: a `Vary` on those (and on
/// `Accept-Encoding`, see the [module](self)) does not stop an answer from being stored.
pub(super) fn refusal(headers: &HeaderMap, keyed: &[HeaderName]) -> Option<Refusal> {
    if headers.contains_key(SET_COOKIE) {
        return Some(Refusal::SetsCookie);
    }
    for directive in list_items(headers, &CACHE_CONTROL) {
        // `private="field"` limits the directive to fields, but a shared cache that
        // drops fields would still replay the rest: any `private` refuses.
        let name = directive
            .split(|byte| *byte == b'=')
            .next()
            .unwrap_or_default();
        for refused in ["private", "no-store"] {
            if name.trim_ascii().eq_ignore_ascii_case(refused.as_bytes()) {
                return Some(Refusal::CacheControl(refused));
            }
        }
    }
    list_items(headers, &VARY)
        .find(|header| {
            let allowed = |name: &HeaderName| header.eq_ignore_ascii_case(name.as_str().as_bytes());
            // `*` varies by anything, which no key holds.
            !(allowed(&ACCEPT_ENCODING) || keyed.iter().any(allowed))
        })
        .map(|header| Refusal::Varies(String::from_utf8_lossy(header).into_owned()))
}

/// The items of a comma-separated header over all its lines, trimmed, empty ones
/// skipped. Bytes, not text: a value with a non-ASCII byte is still read, so it cannot
/// hide a `private` from the check.
pub(super) fn list_items<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> impl Iterator<Item = &'a [u8]> {
    headers
        .get_all(name)
        .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{
        CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, SET_COOKIE, VARY,
    };

    use super::{Refusal, refusal};

    fn headers(lines: &[(HeaderName, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in lines {
            headers.append(name.clone(), HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_plain_json_answer_may_be_shared() {
        let plain = headers(&[
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "public, max-age=60"),
            (VARY, "Accept-Encoding"),
        ]);
        assert_eq!(refusal(&plain, &[]), None);
    }

    #[test]
    fn a_cookie_private_or_no_store_keeps_an_answer_to_its_client() {
        assert_eq!(
            refusal(&headers(&[(SET_COOKIE, "session=1; HttpOnly")]), &[]),
            Some(Refusal::SetsCookie)
        );
        for (value, directive) in [
            ("private", "private"),
            ("max-age=60, Private", "private"),
            ("private=\"set-cookie\"", "private"),
            ("no-store", "no-store"),
            ("NO-STORE", "no-store"),
        ] {
            assert_eq!(
                refusal(&headers(&[(CACHE_CONTROL, value)]), &[]),
                Some(Refusal::CacheControl(directive)),
                "{value}"
            );
        }
        // A byte that is not ASCII does not hide the directive.
        let mut odd = HeaderMap::new();
        odd.insert(
            CACHE_CONTROL,
            HeaderValue::from_bytes(b"x-note=\"caf\xe9\", private").unwrap(),
        );
        assert_eq!(refusal(&odd, &[]), Some(Refusal::CacheControl("private")));
        // Two header lines count as one list.
        let split = headers(&[(CACHE_CONTROL, "max-age=60"), (CACHE_CONTROL, "no-store")]);
        assert_eq!(
            refusal(&split, &[]),
            Some(Refusal::CacheControl("no-store"))
        );
    }

    #[test]
    fn vary_refuses_unless_on_accept_encoding_or_a_keyed_header() {
        assert_eq!(
            refusal(&headers(&[(VARY, "Accept-Encoding, Cookie")]), &[]),
            Some(Refusal::Varies("Cookie".into()))
        );
        assert_eq!(
            refusal(&headers(&[(VARY, "*")]), &[]),
            Some(Refusal::Varies("*".into()))
        );
        let accept_language = HeaderName::from_static("accept-language");
        let varies = headers(&[(VARY, "accept-encoding"), (VARY, "Accept-Language")]);
        assert_eq!(
            refusal(&varies, &[]),
            Some(Refusal::Varies("Accept-Language".into()))
        );
        assert_eq!(refusal(&varies, &[accept_language]), None);
        assert_eq!(
            refusal(
                &headers(&[(VARY, "*")]),
                &[HeaderName::from_static("x-anything")]
            ),
            Some(Refusal::Varies("*".into())),
            "no key holds every header"
        );
    }
}
