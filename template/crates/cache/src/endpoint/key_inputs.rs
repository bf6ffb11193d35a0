//! What a `GET` adds to its key beyond the path: the query parameters and request
//! headers a route declares, normalised so that one answer has one key, and escaped so
//! that no client can write key syntax into a key.
//!
//! - A declared query parameter that is absent takes its declared default, so `/items`
//!   and `/items?page=1` share an entry; a typed one is parsed and printed back, so
//!   `?page=02` and `?page=2` do too. Parameters come from the decoded query string in
//!   any order; undeclared ones never reach a key.
//! - A declared header's lines are read as one comma-separated list: items trimmed,
//!   lowercased (ASCII), empty ones dropped, joined with `,`; an absent header is empty.
//! - Every value from the query or a header is escaped: each byte outside the URL
//!   unreserved set (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`. So a value never holds the
//!   `:` that separates a key's parts, nor the `*` or `?` of an invalidation pattern:
//!   `?lang=en:page:*` is the key part `en%3Apage%3A%2A`, which no other request's key
//!   or pattern can be made from.
//! - A value longer than [`MAX_PART`] once escaped skips the cache: a client sending
//!   kilobytes of header cannot make keys (and entries) of that size.

use std::fmt::Write;

use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::web;

use super::Canonicalize;
use super::key_template::KeyError;

/// The longest key part, in bytes, a query parameter or header may give (escaped); a
/// longer one is served uncached. Room for any real page size, sort field or language
/// list; far below the kilobytes a client may send.
pub(super) const MAX_PART: usize = 256;

/// A query parameter a route declared with `EndpointCache::query` or `query_param`.
#[derive(Debug, Clone)]
pub(super) struct QueryParam {
    /// Its name in the query string, and in the key template.
    pub(super) name: String,
    /// The key part of a request without it: the declared default, canonical and escaped.
    pub(super) default: String,
    /// Parses a typed parameter into its canonical text; `None` for a text parameter.
    pub(super) canonicalize: Option<Canonicalize>,
}

/// A request's query string, decoded into name–value pairs once per request.
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    /// The pairs of `query` (the text after `?`); an empty list when the route declares
    /// no query parameter, so the string is not even decoded.
    pub(super) fn parse(query: &str, declared: &[QueryParam]) -> Result<Self, KeyError> {
        if declared.is_empty() || query.is_empty() {
            return Ok(Self(Vec::new()));
        }
        web::Query::<Vec<(String, String)>>::from_query(query)
            .map(|pairs| Self(pairs.into_inner()))
            .map_err(|_| KeyError::MalformedQuery)
    }

    /// The key part of `param` in this request: its default when absent, its canonical
    /// value (escaped) when present once.
    ///
    /// # Errors
    /// When it appears more than once (which one the handler reads is its extractor's
    /// business) or a typed one does not parse: the request is served uncached.
    pub(super) fn key_part(&self, param: &QueryParam) -> Result<String, KeyError> {
        let mut given = self.0.iter().filter(|(name, _)| *name == param.name);
        let Some((_, raw)) = given.next() else {
            return Ok(param.default.clone());
        };
        if given.next().is_some() {
            return Err(KeyError::RepeatedQuery(param.name.clone()));
        }
        let part = match param.canonicalize {
            Some(canonicalize) => canonicalize(raw)
                .map(|value| escape(value.as_bytes()))
                .ok_or_else(|| KeyError::Unparsable(param.name.clone()))?,
            None => escape(raw.as_bytes()),
        };
        bounded(part, &param.name)
    }
}

/// `part`, unless it is longer than [`MAX_PART`].
fn bounded(part: String, name: &str) -> Result<String, KeyError> {
    if part.len() > MAX_PART {
        return Err(KeyError::TooLong(name.to_owned()));
    }
    Ok(part)
}

/// The key part of the request header `name`: its items over all its lines, trimmed,
/// lowercased and joined with `,`, escaped; empty when the header is absent.
///
/// # Errors
/// When it is longer than [`MAX_PART`]: the request is served uncached.
pub(super) fn header_part(headers: &HeaderMap, name: &HeaderName) -> Result<String, KeyError> {
    let mut normalised = Vec::new();
    let items = headers
        .get_all(name)
        .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|item| !item.is_empty());
    for item in items {
        if !normalised.is_empty() {
            normalised.push(b',');
        }
        normalised.extend(item.iter().map(u8::to_ascii_lowercase));
    }
    bounded(escape(&normalised), name.as_str())
}

/// `bytes` with every byte outside the URL unreserved set written as `%XX` (see the
/// [module](self)).
pub(super) fn escape(bytes: &[u8]) -> String {
    let mut escaped = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            escaped.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(escaped, "%{byte:02X}");
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{ACCEPT_LANGUAGE, HeaderMap, HeaderValue};

    use super::{MAX_PART, Query, QueryParam, escape, header_part};
    use crate::endpoint::key_template::KeyError;

    fn page() -> QueryParam {
        QueryParam {
            name: "page".into(),
            default: "1".into(),
            canonicalize: Some(|raw| raw.parse::<u32>().ok().map(|page| page.to_string())),
        }
    }

    fn sort() -> QueryParam {
        QueryParam {
            name: "sort".into(),
            default: "name".into(),
            canonicalize: None,
        }
    }

    fn part(query: &str, param: &QueryParam) -> Result<String, KeyError> {
        Query::parse(query, &[page(), sort()])?.key_part(param)
    }

    #[test]
    fn a_query_parameter_is_canonical_whatever_its_spelling_or_place() {
        assert_eq!(part("", &page()).unwrap(), "1", "the default");
        assert_eq!(part("sort=id", &page()).unwrap(), "1");
        assert_eq!(part("page=02", &page()).unwrap(), "2");
        assert_eq!(part("x=1&page=2&sort=id", &page()).unwrap(), "2");
        assert_eq!(part("page=%32", &page()).unwrap(), "2", "decoded first");
        assert_eq!(part("sort=a+b", &sort()).unwrap(), "a%20b");
        assert!(
            matches!(part("page=two", &page()), Err(KeyError::Unparsable(name)) if name == "page")
        );
        let long = format!("sort={}", "a".repeat(MAX_PART + 1));
        assert!(matches!(part(&long, &sort()), Err(KeyError::TooLong(name)) if name == "sort"));
        assert!(part(&format!("sort={}", "a".repeat(MAX_PART)), &sort()).is_ok());
        assert!(matches!(
            part("page=1&page=2", &page()),
            Err(KeyError::RepeatedQuery(name)) if name == "page"
        ));
    }

    #[test]
    fn values_cannot_write_key_syntax() {
        assert_eq!(escape(b"en:page:*"), "en%3Apage%3A%2A");
        assert_eq!(escape(b"a?b%c d\xff"), "a%3Fb%25c%20d%FF");
        assert_eq!(escape(b"en-US.x_y~z"), "en-US.x_y~z");
        assert_eq!(part("sort=x%3A*", &sort()).unwrap(), "x%3A%2A");
    }

    #[test]
    fn a_header_is_one_normalised_list() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            header_part(&headers, &ACCEPT_LANGUAGE).unwrap(),
            "",
            "absent"
        );
        headers.append(
            ACCEPT_LANGUAGE,
            HeaderValue::from_static(" FR-ch , fr;q=0.9"),
        );
        headers.append(ACCEPT_LANGUAGE, HeaderValue::from_static("en,"));
        assert_eq!(
            header_part(&headers, &ACCEPT_LANGUAGE).unwrap(),
            "fr-ch%2Cfr%3Bq%3D0.9%2Cen"
        );
        let long = HeaderValue::from_str(&"x".repeat(super::MAX_PART + 1)).unwrap();
        headers.insert(ACCEPT_LANGUAGE, long);
        assert!(matches!(
            header_part(&headers, &ACCEPT_LANGUAGE),
            Err(KeyError::TooLong(name)) if name == "accept-language"
        ));
    }
}
