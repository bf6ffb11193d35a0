//! `#[cached]`: cache-aside for an async function, on the caches `service-cache`
//! installed at start-up (`configure_caches`).
//!
//! ```text
//! #[cached(alias = "persistent", ttl = "10m", key = "user:{id}")]
//! async fn get_user(id: u32) -> Result<User, sqlx::Error> {
//!     fetch_user_from_database(id).await
//! }
//! ```
//!
//! The function body becomes the loader of `service_cache::get_or_set_cached`: the value
//! under the key is returned when there is one; otherwise the body runs (once per key,
//! however many callers miss at once), and its `Ok` value is stored for the TTL. An `Err`
//! is returned and never stored. Use it through the engine, `service_cache::cached`
//! (feature `macros`), whose documentation has the tested examples.
//!
//! - `key` (required): text with `{name}` placeholders, each an argument of the
//!   function formatted with `Display`; `{{` and `}}` are literal braces.
//! - `alias`: `"memory"` (the default) or `"persistent"`.
//! - `ttl`: `"500ms"`, `"30s"`, `"10m"`, `"1h"`; left out, the alias's default TTL.
//!
//! Each mistake is a compile error at the token at fault: an unknown placeholder, a TTL
//! without a unit, an unknown alias or argument, a function that is not `async` or does
//! not return `Result<T, E>`.
//!
//! # Layout
//!
//! - `arguments`: the attribute's `alias`, `ttl` and `key`.
//! - `ttl`: `"10m"` to milliseconds.
//! - `key`: the key template, checked against the function's arguments.
//! - `expand`: the function rewritten as a cache-aside call.

mod arguments;
mod expand;
mod key;
mod ttl;

use proc_macro::TokenStream;

/// Caches an async function's `Ok` values under a key made of its arguments; see the
/// crate documentation, and `service_cache::cached` for tested examples.
#[proc_macro_attribute]
pub fn cached(attribute: TokenStream, item: TokenStream) -> TokenStream {
    expand::cached(attribute.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
