//! The attribute's arguments: `alias = "memory" | "persistent"` (default `memory`),
//! `ttl = "10m"` (default: the alias's default TTL) and `key = "user:{id}"` (required).
//!
//! Each error points at the argument at fault and says what is accepted.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Expr, ExprLit, Lit, LitStr};

use crate::ttl;

/// Which of the engine's two caches, as `service_cache::Alias` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alias {
    /// `Alias::Memory`: always in this process.
    Memory,
    /// `Alias::Persistent`: Redis when configured, else a second in-process store.
    Persistent,
}

/// What `#[cached(...)]` was given, checked.
#[derive(Debug)]
pub struct Arguments {
    /// The cache the values live in.
    pub alias: Alias,
    /// How long a value lives, in milliseconds; `None` for the alias's default TTL.
    pub ttl_millis: Option<u64>,
    /// The key template, unchecked until the function's arguments are known.
    pub key: String,
    /// Where the key template is written, for the errors about it.
    pub key_span: Span,
}

impl Arguments {
    /// Reads the tokens between the attribute's parentheses.
    pub fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let mut alias = None;
        let mut ttl_millis = None;
        let mut key = None;
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("alias") {
                let value = string_value(&meta, "alias", "\"persistent\"")?;
                let parsed = match value.value().as_str() {
                    "memory" => Alias::Memory,
                    "persistent" => Alias::Persistent,
                    other => {
                        return Err(syn::Error::new(
                            value.span(),
                            format!(
                                "unknown alias \"{other}\": the caches are \"memory\" and \"persistent\""
                            ),
                        ));
                    }
                };
                set_once(&meta, &mut alias, parsed)
            } else if meta.path.is_ident("ttl") {
                let value = string_value(&meta, "ttl", "\"10m\"")?;
                let millis = ttl::parse_millis(&value.value())
                    .map_err(|message| syn::Error::new(value.span(), message))?;
                set_once(&meta, &mut ttl_millis, millis)
            } else if meta.path.is_ident("key") {
                let value = string_value(&meta, "key", "\"user:{id}\"")?;
                set_once(&meta, &mut key, value)
            } else {
                Err(meta.error(
                    "unknown argument: #[cached] takes alias = \"memory\"|\"persistent\", ttl = \"10m\" and key = \"user:{id}\"",
                ))
            }
        });
        parser.parse2(tokens)?;
        let Some(key) = key else {
            return Err(syn::Error::new(
                Span::call_site(),
                "#[cached] needs a key naming the value by the arguments it depends on, as in #[cached(key = \"user:{id}\")]",
            ));
        };
        Ok(Self {
            alias: alias.unwrap_or(Alias::Memory),
            ttl_millis,
            key: key.value(),
            key_span: key.span(),
        })
    }
}

/// The string after `name =`; anything else is an error showing `example`.
fn string_value(meta: &ParseNestedMeta, name: &str, example: &str) -> syn::Result<LitStr> {
    let value: Expr = meta.value()?.parse()?;
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Ok(text),
        other => Err(syn::Error::new_spanned(
            other,
            format!("{name} is a string, as in {name} = {example}"),
        )),
    }
}

/// Stores `value` in `slot`, refusing a second occurrence of the same argument.
fn set_once<T>(meta: &ParseNestedMeta, slot: &mut Option<T>, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error("this argument is given twice; keep one"));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{Alias, Arguments};

    fn error(tokens: proc_macro2::TokenStream) -> String {
        Arguments::parse(tokens).unwrap_err().to_string()
    }

    #[test]
    fn every_argument_is_read() {
        let arguments =
            Arguments::parse(quote!(alias = "persistent", ttl = "10m", key = "user:{id}")).unwrap();
        assert_eq!(arguments.alias, Alias::Persistent);
        assert_eq!(arguments.ttl_millis, Some(600_000));
        assert_eq!(arguments.key, "user:{id}");
    }

    #[test]
    fn alias_and_ttl_have_defaults() {
        let arguments = Arguments::parse(quote!(key = "settings")).unwrap();
        assert_eq!(arguments.alias, Alias::Memory);
        assert_eq!(arguments.ttl_millis, None);
    }

    #[test]
    fn the_key_is_required() {
        assert!(error(quote!(ttl = "1h")).contains("needs a key"));
        assert!(error(quote!()).contains("needs a key"));
    }

    #[test]
    fn an_unknown_alias_names_the_two_there_are() {
        assert_eq!(
            error(quote!(alias = "redis", key = "k")),
            "unknown alias \"redis\": the caches are \"memory\" and \"persistent\""
        );
    }

    #[test]
    fn a_bad_ttl_says_which_forms_are_accepted() {
        let message = error(quote!(ttl = "10 minutes", key = "k"));
        assert!(
            message.starts_with("ttl \"10 minutes\" is not a duration"),
            "{message}"
        );
        assert_eq!(
            error(quote!(ttl = 600, key = "k")),
            "ttl is a string, as in ttl = \"10m\""
        );
    }

    #[test]
    fn unknown_and_repeated_arguments_are_refused() {
        assert!(error(quote!(key_builder = "k", key = "k")).starts_with("unknown argument"));
        assert!(error(quote!(key = "a", key = "b")).contains("given twice"));
        assert!(error(quote!(alias = persistent, key = "k")).contains("alias is a string"));
    }
}
