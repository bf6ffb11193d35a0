//! The example domain: items, their rules and where they are stored.
//!
//! [`ItemName`] holds the one rule for names and [`check_description`] the one for
//! descriptions, so the route, a job or a command that makes items all refuse the same
//! input. [`ItemRepository`] stands in for a database
//! and is built once, in the start-up context. Copy this module's shape for your own
//! entities: types that parse once, and a repository with `async` methods.

mod description;
mod name;
mod page;
mod repository;

pub use description::{DescriptionTooLong, MAX_DESCRIPTION_CHARS, check_description};
pub use name::{InvalidItemName, ItemName, MAX_NAME_CHARS};
pub use page::{DEFAULT_PER_PAGE, InvalidPage, MAX_PER_PAGE, Page};
{%- if cache %}
pub use repository::CACHED_ITEMS;
{%- endif %}
pub use repository::{
    Item, ItemList, ItemRepository, MAX_ITEMS, MAX_STORED_BYTES, RepositoryError, Upserted,
};
