//! The items store: **this is where a real database goes.**
//!
//! [`ItemRepository`] keeps items in process memory so the service runs with nothing
//! else installed. Its methods are `async` and shaped like database calls on purpose:
//! swap the map for a connection pool (sqlx, diesel-async, …) and the routes{% if cache %} and the
//! endpoint cache in front of them{% endif %} stay as they are. Data lives as long as the process
//! and is not shared between instances, which is fine for an example and wrong for
//! production.
{%- if cache %}
//!
//! Because it starts empty, `web` calls [`ItemRepository::forget_cached`] at start-up:
//! answers cached in Redis by an earlier run would otherwise serve items this store no
//! longer has. **Remove that call when the repository is a real database**, whose data
//! outlives the process like the cache does.
{%- endif %}

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use serde::{Deserialize, Serialize};

use super::ItemName;
{%- if cache %}
use crate::services::cache::Caches;

/// The keys under which the `items` routes cache their answers (`items:{id}`,
/// `items:list`), as a pattern.
pub const CACHED_ITEMS: &str = "items:*";
{%- endif %}

/// How many items the stand-in store accepts, so that a client looping over `PUT` cannot
/// grow the process without limit. A database has its own limits; drop this with the map.
pub const MAX_ITEMS: usize = 10_000;

/// The example resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The item's identifier, chosen by the client in `PUT /items/{id}`.
    pub id: u64,
    /// A short display name, checked by [`ItemName::parse`].
    pub name: ItemName,
    /// Optional free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// What [`ItemRepository::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// There was no item with this id.
    Created,
    /// An item with this id was overwritten.
    Replaced,
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The stand-in store holds [`MAX_ITEMS`] items already.
    #[error(
        "the example store is full ({MAX_ITEMS} items): delete some, or replace it with a database"
    )]
    Full,
}

/// Items by id, shared by every thread through the start-up context.
#[derive(Debug, Default)]
pub struct ItemRepository {
    /// The items; a `BTreeMap` so listings come out sorted by id. The lock is never held
    /// across an `.await`.
    items: RwLock<BTreeMap<u64, Item>>,
}

impl ItemRepository {
    /// The item with this id, if any.
    pub async fn get(&self, id: u64) -> Option<Item> {
        self.read().get(&id).cloned()
    }

    /// Every item, sorted by id.
    pub async fn list(&self) -> Vec<Item> {
        self.read().values().cloned().collect()
    }

    /// Creates the item, or replaces the one with the same id.
    ///
    /// # Errors
    /// [`RepositoryError::Full`] when a new id would exceed [`MAX_ITEMS`].
    pub async fn upsert(&self, item: Item) -> Result<Upserted, RepositoryError> {
        let mut items = self.write();
        if !items.contains_key(&item.id) && items.len() >= MAX_ITEMS {
            return Err(RepositoryError::Full);
        }
        Ok(match items.insert(item.id, item) {
            Some(_) => Upserted::Replaced,
            None => Upserted::Created,
        })
    }

    /// Removes the item; `false` if there was none.
    pub async fn delete(&self, id: u64) -> bool {
        self.write().remove(&id).is_some()
    }

{%- if cache %}

    /// Deletes the example's cached answers ([`CACHED_ITEMS`]) from the persistent
    /// alias, which outlives this in-process store when it is Redis. Fails open: if the
    /// cache does not answer, start-up carries on with a warning (the entries then live
    /// until their TTL). Returns how many keys were deleted.
    ///
    /// **Remove this when the repository is a real database.**
    pub async fn forget_cached(&self, caches: &Caches) -> u64 {
        match caches.persistent().delete_matching(CACHED_ITEMS).await {
            Ok(count) => {
                if count > 0 {
                    tracing::info!(
                        count,
                        "dropped cached items left by an earlier run: the example's repository starts empty"
                    );
                }
                count
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    "could not drop the cached items of an earlier run; they may be served until their TTL"
                );
                0
            }
        }
    }
{%- endif %}

    // A panic while holding the lock cannot leave the map half-written (every change is
    // one insert or remove), so a poisoned lock is still safe to use.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u64, Item>> {
        self.items.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<u64, Item>> {
        self.items.write().unwrap_or_else(PoisonError::into_inner)
    }
}
