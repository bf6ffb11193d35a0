//! The example resource, and what storing it did: the same whichever repository keeps
//! it.

use serde::{Deserialize, Serialize};

use super::ItemName;

/// The example resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
{%- if database == "none" %}
    /// The item's identifier, chosen by the client in `PUT /items/{id}`.
{%- else %}
    /// The item's identifier, chosen by the client in `PUT /items/{id}`, up to
    /// [`MAX_ITEM_ID`](super::MAX_ITEM_ID).
{%- endif %}
    pub id: u64,
    /// A short display name, checked by [`ItemName::parse`].
    pub name: ItemName,
    /// Optional free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// What [`ItemRepository::upsert`](super::ItemRepository::upsert) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// There was no item with this id.
    Created,
    /// An item with this id was overwritten.
    Replaced,
}
