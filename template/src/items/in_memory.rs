//! The items store: **this is where a real database goes.**
//!
//! [`ItemRepository`] keeps items in process memory so the service runs with nothing
//! else installed (generate with `database=sqlite` or `database=postgres` for the sqlx
//! version). Its methods are `async` and fallible like database calls on purpose: swap
//! the map for a connection pool and the routes{% if cache %} and the endpoint cache in front of them{% endif %}
//! stay as they are. Data lives as long as the process
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
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Serialize, Serializer};

use super::{Item, Page, Upserted};
{%- if cache %}
use crate::services::cache::Caches;

/// The keys under which the `items` routes cache their answers (`items:{id}`,
/// `items:list`), as a pattern.
pub const CACHED_ITEMS: &str = "items:*";
{%- endif %}

/// How many items the stand-in store accepts, so that a client looping over `PUT` cannot
/// grow the process without limit. A database has its own limits; drop this with the map.
pub const MAX_ITEMS: usize = 10_000;

/// How many bytes of names and descriptions the stand-in store accepts, whatever the
/// count: with the field limits, 10,000 items could otherwise hold 88 MB, and every
/// `GET /items` answer is as large as the store.
pub const MAX_STORED_BYTES: usize = 16 * 1024 * 1024;

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The stand-in store holds [`MAX_ITEMS`] items already.
    #[error(
        "the example store is full ({MAX_ITEMS} items): delete some, or replace it with a database"
    )]
    Full,
    /// The write would take the store past [`MAX_STORED_BYTES`].
    #[error(
        "the example store is full ({MAX_STORED_BYTES} bytes of names and descriptions): delete some, or replace it with a database"
    )]
    FullBytes,
}

/// A listing: the items shared with the store, serialised as a JSON array.
///
/// Taking it holds the store's lock only to copy one pointer per item; turning it into
/// JSON happens after the lock is released, so a large answer never blocks writers.
#[derive(Debug, Clone, Default)]
pub struct ItemList(Vec<Arc<Item>>);

impl ItemList {
    /// The items, sorted by id.
    pub fn iter(&self) -> impl Iterator<Item = &Item> {
        self.0.iter().map(|item| &**item)
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for ItemList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// What the lock guards: the items and the bytes they hold.
#[derive(Debug, Default)]
struct Stored {
    /// The items; a `BTreeMap` so listings come out sorted by id.
    items: BTreeMap<u64, Arc<Item>>,
    /// The bytes of every stored name and description, against [`MAX_STORED_BYTES`].
    bytes: usize,
}

/// The bytes of `item` that count against [`MAX_STORED_BYTES`].
fn stored_bytes(item: &Item) -> usize {
    item.name.as_str().len() + item.description.as_ref().map_or(0, String::len)
}

/// Items by id, shared by every thread through the start-up context.
#[derive(Debug, Default)]
pub struct ItemRepository {
    /// The items and their size. The lock is never held across an `.await`, nor while
    /// anything is serialised.
    stored: RwLock<Stored>,
}

impl ItemRepository {
    /// The item with this id, if any.
    ///
    /// # Errors
    /// Never: a map does not fail. A database does, so the signature says it can.
    pub async fn get(&self, id: u64) -> Result<Option<Item>, RepositoryError> {
        Ok(self.read().items.get(&id).map(|item| Item::clone(item)))
    }

    /// The items of `page`, sorted by id (empty past the last one).
    ///
    /// # Errors
    /// Never, like [`ItemRepository::get`].
    pub async fn list_page(&self, page: Page) -> Result<ItemList, RepositoryError> {
        let stored = self.read();
        Ok(ItemList(
            stored
                .items
                .values()
                .skip(page.skip())
                .take(page.size())
                .cloned()
                .collect(),
        ))
    }

    /// Creates the item, or replaces the one with the same id.
    ///
    /// # Errors
    /// [`RepositoryError::Full`] when a new id would exceed [`MAX_ITEMS`], and
    /// [`RepositoryError::FullBytes`] when the store would exceed [`MAX_STORED_BYTES`].
    pub async fn upsert(&self, item: Item) -> Result<Upserted, RepositoryError> {
        let added = stored_bytes(&item);
        let mut stored = self.write();
        let replaced = stored.items.get(&item.id).map(|old| stored_bytes(old));
        if replaced.is_none() && stored.items.len() >= MAX_ITEMS {
            return Err(RepositoryError::Full);
        }
        let bytes = stored.bytes - replaced.unwrap_or(0) + added;
        if bytes > MAX_STORED_BYTES {
            return Err(RepositoryError::FullBytes);
        }
        stored.bytes = bytes;
        stored.items.insert(item.id, Arc::new(item));
        Ok(match replaced {
            Some(_) => Upserted::Replaced,
            None => Upserted::Created,
        })
    }

    /// Removes the item; `false` if there was none.
    ///
    /// # Errors
    /// Never, like [`ItemRepository::get`].
    pub async fn delete(&self, id: u64) -> Result<bool, RepositoryError> {
        let mut stored = self.write();
        let Some(item) = stored.items.remove(&id) else {
            return Ok(false);
        };
        stored.bytes -= stored_bytes(&item);
        Ok(true)
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

    // Nothing that can panic runs between a change to the map and the matching change
    // to the byte count, so a poisoned lock is still safe to use.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Stored> {
        self.stored.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Stored> {
        self.stored.write().unwrap_or_else(PoisonError::into_inner)
    }
}
