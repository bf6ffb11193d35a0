//! The example domain: items, their rules and where they are stored.
//!
//! [`ItemName`] holds the one rule for names and [`check_description`] the one for
//! descriptions, so the route, a job or a command that makes items all refuse the same
{%- if database == "none" %}
//! input. [`ItemRepository`] stands in for a database
{%- else %}
//! input. [`ItemRepository`] keeps them in the database
{%- endif %}
//! and is built once, in the start-up context. Copy this module's shape for your own
//! entities: types that parse once, and a repository with `async` methods.

mod description;
{%- if database == "none" %}
mod in_memory;
{%- endif %}
mod item;
mod name;
mod page;
{%- if database != "none" %}
mod repository;
{%- endif %}

pub use description::{DescriptionTooLong, MAX_DESCRIPTION_CHARS, check_description};
{%- if database == "none" %}
{%- if cache %}
pub use in_memory::CACHED_ITEMS;
{%- endif %}
pub use in_memory::{ItemList, ItemRepository, MAX_ITEMS, MAX_STORED_BYTES, RepositoryError};
{%- endif %}
pub use item::{Item, Upserted};
pub use name::{InvalidItemName, ItemName, MAX_NAME_CHARS};
pub use page::{DEFAULT_PER_PAGE, InvalidPage, MAX_PER_PAGE, Page};
{%- if database != "none" %}
pub use repository::{ItemList, ItemRepository, MAX_ITEM_ID, RepositoryError};
{%- endif %}
