//! The key template, as in `key = "user:{id}"`: literal text and `{name}` placeholders,
//! each naming an argument of the function, formatted with `Display`; `{{` and `}}` are
//! literal braces, as in `format!`.
//!
//! The template is checked against the function's arguments here, so an unknown or
//! misspelt placeholder is a compile error naming the arguments there are, not a key
//! that silently never changes.

/// One piece of a template, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text copied into every key.
    Text(String),
    /// An argument's name, replaced by the argument's `Display` output.
    Argument(String),
}

/// A template read and checked: what `format!` needs to build the key.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyTemplate {
    /// The template's pieces, in order.
    pub pieces: Vec<Piece>,
}

impl KeyTemplate {
    /// Reads `template`, whose placeholders must each be one of `arguments`; the error is
    /// a one-line message naming the problem and the fix.
    pub fn parse(template: &str, function: &str, arguments: &[String]) -> Result<Self, String> {
        if template.is_empty() {
            return Err("key is empty: name the value, as in key = \"user:{id}\"".to_owned());
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = template.chars();
        while let Some(c) = chars.next() {
            match c {
                '{' => {
                    let rest = chars.as_str();
                    if rest.starts_with('{') {
                        chars.next();
                        text.push('{');
                        continue;
                    }
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "key \"{template}\": a `{{` opens a placeholder that is never closed; write `{{{{` for a literal brace"
                        ));
                    };
                    let name = &rest[..end];
                    check_placeholder(name, template, function, arguments)?;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Argument(name.to_owned()));
                    chars = rest[end + 1..].chars();
                }
                '}' => {
                    if !chars.as_str().starts_with('}') {
                        return Err(format!(
                            "key \"{template}\": a `}}` closes no placeholder; write `}}}}` for a literal brace"
                        ));
                    }
                    chars.next();
                    text.push('}');
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Self { pieces })
    }

    /// The `format!` string: `{}` for each argument, literal braces doubled.
    pub fn format_string(&self) -> String {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.replace('{', "{{").replace('}', "}}"),
                Piece::Argument(_) => "{}".to_owned(),
            })
            .collect()
    }

    /// The arguments the key is made of, in the template's order.
    pub fn arguments(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Argument(name) => Some(name.as_str()),
            Piece::Text(_) => None,
        })
    }
}

/// Whether `name`, between braces, names one of `arguments`.
fn check_placeholder(
    name: &str,
    template: &str,
    function: &str,
    arguments: &[String],
) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!(
            "key \"{template}\": an empty placeholder `{{}}`; name an argument, as in `{example}`",
            example = "{id}"
        ));
    }
    if arguments.iter().any(|argument| argument == name) {
        return Ok(());
    }
    let known = if arguments.is_empty() {
        format!("`{function}` takes no named arguments, so the key can only be text")
    } else {
        format!("its arguments are: {}", arguments.join(", "))
    };
    let form = if name.contains([':', '.', ' ', '(']) {
        " (a placeholder is an argument's bare name, formatted with Display)"
    } else {
        ""
    };
    let placeholder = ["{", name, "}"].concat();
    Err(format!(
        "key \"{template}\": `{placeholder}` is not an argument of `{function}`{form}; {known}"
    ))
}

#[cfg(test)]
mod tests {
    use super::{KeyTemplate, Piece};

    fn arguments(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn text_and_placeholders_become_a_format_string_and_its_arguments() {
        let template =
            KeyTemplate::parse("user:{id}:{lang}", "user", &arguments(&["id", "lang"])).unwrap();
        assert_eq!(
            template.pieces,
            [
                Piece::Text("user:".into()),
                Piece::Argument("id".into()),
                Piece::Text(":".into()),
                Piece::Argument("lang".into()),
            ]
        );
        assert_eq!(template.format_string(), "user:{}:{}");
        assert_eq!(template.arguments().collect::<Vec<_>>(), ["id", "lang"]);
    }

    #[test]
    fn doubled_braces_are_literal_and_stay_escaped_for_format() {
        let template = KeyTemplate::parse("{{1}}:{id}", "f", &arguments(&["id"])).unwrap();
        assert_eq!(
            template.pieces,
            [Piece::Text("{1}:".into()), Piece::Argument("id".into())]
        );
        assert_eq!(template.format_string(), "{{1}}:{}");
    }

    #[test]
    fn a_key_without_placeholders_is_one_entry() {
        let template = KeyTemplate::parse("settings", "settings", &[]).unwrap();
        assert_eq!(template.format_string(), "settings");
        assert_eq!(template.arguments().count(), 0);
    }

    #[test]
    fn an_unknown_placeholder_names_the_arguments_there_are() {
        let message = KeyTemplate::parse("user:{user_id}", "get_user", &arguments(&["id", "lang"]))
            .unwrap_err();
        assert_eq!(
            message,
            "key \"user:{user_id}\": `{user_id}` is not an argument of `get_user`; its arguments are: id, lang"
        );
        let message = KeyTemplate::parse("user:{id}", "all_users", &[]).unwrap_err();
        assert!(message.contains("takes no named arguments"), "{message}");
    }

    #[test]
    fn format_specs_and_field_access_are_refused_as_not_arguments() {
        for template in ["user:{id:?}", "user:{user.id}"] {
            let message =
                KeyTemplate::parse(template, "f", &arguments(&["id", "user"])).unwrap_err();
            assert!(message.contains("argument's bare name"), "{message}");
        }
    }

    #[test]
    fn unbalanced_and_empty_braces_are_refused() {
        let names = arguments(&["id"]);
        let message = KeyTemplate::parse("user:{id", "f", &names).unwrap_err();
        assert!(message.contains("never closed"), "{message}");
        let message = KeyTemplate::parse("user:id}", "f", &names).unwrap_err();
        assert!(message.contains("closes no placeholder"), "{message}");
        let message = KeyTemplate::parse("user:{}", "f", &names).unwrap_err();
        assert!(message.contains("empty placeholder"), "{message}");
        let message = KeyTemplate::parse("", "f", &names).unwrap_err();
        assert!(message.starts_with("key is empty"), "{message}");
    }
}
