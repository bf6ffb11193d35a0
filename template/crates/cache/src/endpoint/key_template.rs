//! Key templates such as `items:{id}`: parsed once when the route is built, filled in
//! on every request with path parameters, and the query parameters and request headers
//! the route declares.

use std::fmt;

/// Why a key could not be built for one request.
#[derive(Debug)]
pub(super) enum KeyError {
    /// The template names a parameter the route does not have: a bug in the route set-up.
    UnknownParam(String),
    /// A parameter declared with [`EndpointCache::param`](super::EndpointCache::param)
    /// or [`EndpointCache::query_param`](super::EndpointCache::query_param) did not parse.
    Unparsable(String),
    /// A value meant for a pattern contains glob characters.
    GlobInValue(String),
    /// A declared query parameter appears more than once.
    RepeatedQuery(String),
    /// The query string does not decode.
    MalformedQuery,
    /// A query parameter's or header's value is too long for a key.
    TooLong(String),
    /// A write's tag names a query parameter or header, which a write does not have.
    RequestDependent(String),
}

impl KeyError {
    pub(super) fn log(&self, template: &KeyTemplate) {
        match self {
            Self::UnknownParam(name) => tracing::error!(
                template = %template,
                "EndpointCache key template uses {name}, which is not a path parameter of this route; the cache is skipped"
            ),
            Self::Unparsable(name) => {
                tracing::debug!(template = %template, "parameter {name} does not parse; the cache is skipped")
            }
            Self::RepeatedQuery(name) => {
                tracing::debug!(template = %template, "query parameter {name} is given more than once; the cache is skipped")
            }
            Self::TooLong(name) => {
                tracing::debug!(template = %template, "{name} is too long for a cache key; the cache is skipped")
            }
            Self::MalformedQuery => {
                tracing::debug!(template = %template, "the query string does not decode; the cache is skipped")
            }
            Self::RequestDependent(name) => tracing::error!(
                template = %template,
                "EndpointCache tag template uses {name}, a query parameter or header, which a write does not have; this tag was not invalidated"
            ),
            Self::GlobInValue(name) => tracing::warn!(
                template = %template,
                "path parameter {name} contains glob characters, so this pattern was not used for invalidation"
            ),
        }
    }
}

/// A key with `{name}` placeholders, checked once when the route is built.
#[derive(Debug, Clone)]
pub(super) struct KeyTemplate {
    /// The template as written, for log lines.
    text: String,
    /// Literal text and placeholders, in order.
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Param(String),
}

impl KeyTemplate {
    pub(super) fn parse(text: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match (rest.find('{'), rest.find('}')) {
                (Some(open), Some(close)) if open < close => {
                    let name = &rest[open + 1..close];
                    assert!(
                        !name.is_empty() && !name.contains('{'),
                        "EndpointCache key template {text:?} has an empty or nested placeholder"
                    );
                    if open > 0 {
                        parts.push(Part::Literal(rest[..open].to_owned()));
                    }
                    parts.push(Part::Param(name.to_owned()));
                    rest = &rest[close + 1..];
                }
                (None, None) => {
                    parts.push(Part::Literal(rest.to_owned()));
                    rest = "";
                }
                _ => panic!("EndpointCache key template {text:?} has an unmatched brace"),
            }
        }
        Self {
            text: text.to_owned(),
            parts,
        }
    }

    /// Whether a placeholder names `name`.
    pub(super) fn uses(&self, name: &str) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, Part::Param(param) if param == name))
    }

    pub(super) fn render(
        &self,
        mut value_of: impl FnMut(&str) -> Result<String, KeyError>,
    ) -> Result<String, KeyError> {
        let mut key = String::with_capacity(self.text.len() + 8);
        for part in &self.parts {
            match part {
                Part::Literal(text) => key.push_str(text),
                Part::Param(name) => key.push_str(&value_of(name)?),
            }
        }
        Ok(key)
    }
}

impl fmt::Display for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyError, KeyTemplate};

    fn render(template: &str, id: &str) -> Result<String, KeyError> {
        KeyTemplate::parse(template).render(|name| match name {
            "id" => Ok(id.to_owned()),
            other => Err(KeyError::UnknownParam(other.to_owned())),
        })
    }

    #[test]
    fn placeholders_are_filled_in_and_literals_kept() {
        assert_eq!(render("items:{id}", "42").unwrap(), "items:42");
        assert_eq!(render("{id}", "7").unwrap(), "7");
        assert_eq!(
            render("items:{id}:parts:*", "1").unwrap(),
            "items:1:parts:*"
        );
        assert_eq!(render("items:list", "1").unwrap(), "items:list");
        assert!(
            matches!(render("users:{user}", "1"), Err(KeyError::UnknownParam(name)) if name == "user")
        );
    }

    #[test]
    #[should_panic(expected = "unmatched brace")]
    fn an_unclosed_placeholder_is_a_bug_caught_at_start_up() {
        KeyTemplate::parse("items:{id");
    }

    #[test]
    #[should_panic(expected = "empty or nested")]
    fn an_empty_placeholder_is_a_bug_caught_at_start_up() {
        KeyTemplate::parse("items:{}");
    }
}
