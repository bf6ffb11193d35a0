//! HTTP validators for cached answers: an `ETag` derived from the body, so a client that
//! already holds the answer sends `If-None-Match` and gets `304 Not Modified`, with no
//! body, straight from the cache.

use std::hash::BuildHasher;

use actix_web::http::header::HeaderValue;
use foldhash::quality::FixedState;

/// The strong entity tag of `body`: 64 bits of foldhash with a fixed seed, in hex, in
/// quotes. The same body gives the same tag in every replica of one build, so a client
/// may revalidate against any of them; a different body (after a `PUT`) gives another.
/// Not a cryptographic hash: it tells versions of an answer apart, it does not
/// authenticate them.
pub(super) fn etag(body: &str) -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = FixedState::with_seed(0).hash_one(body.as_bytes());
    let mut tag = [b'"'; 18];
    for (i, digit) in tag[1..17].iter_mut().enumerate() {
        // Each digit is four bits of the hash, most significant first.
        *digit = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
    }
    // Quotes and hex digits are always a valid header value.
    HeaderValue::from_bytes(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// Whether `if_none_match` (the request header) names `etag`: `*`, or a list of tags
/// one of which equals it, compared weakly (a `W/` prefix is ignored), as RFC 9110
/// asks for `If-None-Match`.
pub(super) fn none_match_hits(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(listed) = if_none_match.to_str() else {
        return false;
    };
    let etag = etag.as_bytes();
    listed.trim() == "*"
        || listed.split(',').any(|tag| {
            let tag = tag.trim();
            tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == etag
        })
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::{etag, none_match_hits};

    #[test]
    fn the_tag_depends_on_the_body_only() {
        let tag = etag(r#"{"name":"pen"}"#);
        assert_eq!(tag, etag(r#"{"name":"pen"}"#));
        assert_ne!(tag, etag(r#"{"name":"pencil"}"#));
        let text = tag.to_str().unwrap();
        assert_eq!(text.len(), 18, "{text}");
        assert!(text.starts_with('"') && text.ends_with('"'), "{text}");
        assert!(text[1..17].bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
    }

    #[test]
    fn if_none_match_is_compared_weakly_in_a_list_or_as_a_star() {
        let tag = etag("[1]");
        let text = tag.to_str().unwrap().to_owned();
        let header = |value: &str| HeaderValue::from_str(value).unwrap();
        assert!(none_match_hits(&header(&text), &tag));
        assert!(none_match_hits(&header(&format!("W/{text}")), &tag));
        assert!(none_match_hits(&header(&format!("\"x\", {text}")), &tag));
        assert!(none_match_hits(&header("*"), &tag));
        assert!(!none_match_hits(&header("\"x\""), &tag));
        assert!(!none_match_hits(&header(&text[1..17]), &tag), "unquoted");
    }
}
