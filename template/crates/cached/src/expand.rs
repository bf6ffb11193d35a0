//! What `#[cached]` turns a function into: the same signature, and a body that builds
//! the key, then calls `service_cache::get_or_set_cached` with the original body as the
//! loader. So a decorated function is exactly a hand-written cache-aside call: one load
//! per key however many callers miss at once, errors returned and never stored, and the
//! installed caches' fail-open behaviour.
//!
//! ```text
//! #[cached(alias = "persistent", ttl = "10m", key = "user:{id}")]
//! async fn get_user(id: u32) -> Result<User, Error> { body }
//! // becomes
//! async fn get_user(id: u32) -> Result<User, Error> {
//!     let key = format!("user:{}", id);
//!     ::service_cache::get_or_set_cached(&key, Some(Duration::from_millis(600000)),
//!         Alias::Persistent, move || async move { body }).await
//! }
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{AttrStyle, FnArg, Ident, ItemFn, Pat, ReturnType, Signature, Type};

use crate::arguments::{Alias, Arguments};
use crate::key::KeyTemplate;

/// The decorated function, or the first problem found, pointing at its tokens.
pub fn cached(attribute: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let arguments = Arguments::parse(attribute)?;
    let function: ItemFn = syn::parse2(item)?;
    check_signature(&function.sig)?;
    let names = argument_names(&function.sig);
    let template = KeyTemplate::parse(&arguments.key, &function.sig.ident.to_string(), &names)
        .map_err(|message| syn::Error::new(arguments.key_span, message))?;

    // A free function has no modifiers (`default` is for specialising trait methods).
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
        modifiers: _,
    } = function;
    // Outer attributes (docs, #[instrument], ...) stay on the function; inner ones
    // (`#![allow(...)]` in the body) stay at the top of its body.
    let (outer, inner): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|attribute| matches!(attribute.style, AttrStyle::Outer));
    // Mixed-site hygiene: the key's variable cannot shadow or be shadowed by the body's.
    let key = Ident::new("key", Span::mixed_site());
    let format = template.format_string();
    let key_arguments = template.arguments().map(|name| format_ident!("{name}"));
    let ttl = match arguments.ttl_millis {
        Some(millis) => {
            quote!(::core::option::Option::Some(::core::time::Duration::from_millis(#millis)))
        }
        None => quote!(::core::option::Option::None),
    };
    let alias = match arguments.alias {
        Alias::Memory => quote!(::service_cache::Alias::Memory),
        Alias::Persistent => quote!(::service_cache::Alias::Persistent),
    };
    Ok(quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            let #key = ::std::format!(#format #(, #key_arguments)*);
            ::service_cache::get_or_set_cached(&#key, #ttl, #alias, move || async move #block).await
        }
    })
}

/// Refuses what cache-aside cannot wrap: a function that is not `async`, or whose
/// return type is not a `Result` (only successes are stored, so the loader must be able
/// to say which results are not).
fn check_signature(signature: &Signature) -> syn::Result<()> {
    if signature.asyncness.is_none() {
        return Err(syn::Error::new(
            signature.fn_token.span(),
            "#[cached] works on async fns only: the cached value is read and loaded with .await; write `async fn`",
        ));
    }
    let returns_result = match &signature.output {
        ReturnType::Type(_, ty) => is_result(ty),
        ReturnType::Default => false,
    };
    if !returns_result {
        let span = match &signature.output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => signature.paren_token.span.close(),
        };
        return Err(syn::Error::new(
            span,
            "#[cached] needs a function returning Result<T, E>: the Ok value is cached, an Err is returned and never stored; for a load that cannot fail, return Result<T, std::convert::Infallible>",
        ));
    }
    Ok(())
}

/// Whether `ty` is spelt `Result<...>` (also `io::Result<T>`, `anyhow::Result<T>`).
fn is_result(ty: &Type) -> bool {
    let Type::Path(path) = ty else {
        return false;
    };
    path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Result" && !segment.arguments.is_empty())
}

/// The names a key template may use: the arguments bound to a plain identifier.
fn argument_names(signature: &Signature) -> Vec<String> {
    signature
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(binding) => Some(binding.ident.to_string()),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::cached;

    fn error(attribute: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
        cached(attribute, item).unwrap_err().to_string()
    }

    /// Token streams print with spaces between tokens; compare without them.
    fn squeeze(tokens: &proc_macro2::TokenStream) -> String {
        tokens.to_string().split_whitespace().collect()
    }

    #[test]
    fn the_body_becomes_the_loader_of_a_cache_aside_call() {
        let expanded = cached(
            quote!(alias = "persistent", ttl = "10m", key = "user:{id}:{lang}"),
            quote! {
                /// Kept.
                pub async fn get_user(id: u32, mut lang: String) -> Result<User, Error> {
                    load(id, &lang).await
                }
            },
        )
        .unwrap();
        let expected = quote! {
            #[doc = r" Kept."]
            pub async fn get_user(id: u32, mut lang: String) -> Result<User, Error> {
                let key = ::std::format!("user:{}:{}", id, lang);
                ::service_cache::get_or_set_cached(
                    &key,
                    ::core::option::Option::Some(::core::time::Duration::from_millis(600000u64)),
                    ::service_cache::Alias::Persistent,
                    move || async move { load(id, &lang).await }
                ).await
            }
        };
        assert_eq!(squeeze(&expanded), squeeze(&expected));
    }

    #[test]
    fn without_ttl_the_alias_default_applies() {
        let expanded = cached(
            quote!(key = "all"),
            quote!(
                async fn all() -> anyhow::Result<Vec<u32>> {
                    Ok(vec![])
                }
            ),
        )
        .unwrap();
        let text = squeeze(&expanded);
        assert!(
            text.contains("&key,::core::option::Option::None,::service_cache::Alias::Memory"),
            "{text}"
        );
    }

    #[test]
    fn a_function_that_is_not_async_is_refused() {
        let message = error(
            quote!(key = "user:{id}"),
            quote!(
                fn get_user(id: u32) -> Result<u32, Error> {
                    Ok(id)
                }
            ),
        );
        assert!(
            message.starts_with("#[cached] works on async fns only"),
            "{message}"
        );
    }

    #[test]
    fn a_return_type_that_is_not_a_result_is_refused() {
        for item in [
            quote!(
                async fn get_user(id: u32) -> u32 {
                    id
                }
            ),
            quote!(
                async fn get_user(id: u32) {}
            ),
            quote!(
                async fn get_user(id: u32) -> Option<u32> {
                    Some(id)
                }
            ),
            quote!(
                async fn get_user(id: u32) -> Result {
                    Ok(id)
                }
            ),
        ] {
            let message = error(quote!(key = "user:{id}"), item);
            assert!(
                message.starts_with("#[cached] needs a function returning Result<T, E>"),
                "{message}"
            );
        }
    }

    #[test]
    fn an_unknown_placeholder_names_the_function_and_its_arguments() {
        let message = error(
            quote!(key = "user:{user_id}"),
            quote!(
                async fn get_user(&self, id: u32, (a, b): (u8, u8)) -> Result<u32, Error> {
                    Ok(id)
                }
            ),
        );
        assert_eq!(
            message,
            "key \"user:{user_id}\": `{user_id}` is not an argument of `get_user`; its arguments are: id"
        );
    }

    #[test]
    fn attribute_errors_come_before_the_function_is_read() {
        assert!(
            error(
                quote!(alias = "disk", key = "k"),
                quote!(
                    fn not_even_async() {}
                )
            )
            .starts_with("unknown alias")
        );
    }
}
