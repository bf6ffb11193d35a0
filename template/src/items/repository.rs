//! The items store, in the database (`items` table, `migrations/0001_create_items.sql`).
//!
//! [`ItemRepository`] is built once, in the start-up context, around the
//! [`Database`]; every method is one bounded query through [`Database::run`], so a
//! database that is down or slow gives the route a [`RepositoryError`] within
//! `DATABASE_TIMEOUT_MS`. Rows are read by column name and checked with the same rules
//! as requests ([`ItemName::parse`]), so a row written by hand that breaks them is an
//! error, never an item the API could not have made.
//!
//! Copy this shape for your own tables: one method per query, each named after the
//! query for the `db_query_duration_seconds` series.

use sqlx::Row as _;

use super::{Item, ItemName, Page, Upserted};
use crate::database::{Database, DatabaseError, Db};

/// The largest id: ids are stored as `BIGINT`, which is signed.
pub const MAX_ITEM_ID: u64 = i64::MAX as u64;

/// Why a read or a write failed.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The id does not fit the table's `BIGINT`.
    #[error("item ids go from 0 to {MAX_ITEM_ID}; {0} is larger")]
    IdTooLarge(u64),
    /// The database did not answer, or refused.
    #[error(transparent)]
    Database(#[from] DatabaseError),
}

/// A page of items, sorted by id; serialised as a JSON array.
pub type ItemList = Vec<Item>;

/// Items by id, in the database.
#[derive(Debug, Clone)]
pub struct ItemRepository {
    /// The pool every query runs on.
    database: Database,
}

impl ItemRepository {
    /// The repository on `database`.
    pub fn new(database: Database) -> Self {
        Self { database }
    }

    /// The item with this id, if any.
    ///
    /// # Errors
    /// When the database does not answer, or holds a row that breaks the item rules.
    pub async fn get(&self, id: u64) -> Result<Option<Item>, RepositoryError> {
        let Ok(key) = i64::try_from(id) else {
            return Ok(None);
        };
        let row = self
            .database
            .run("items.get", |mut connection| async move {
                sqlx::query("SELECT id, name, description FROM items WHERE id = $1")
                    .bind(key)
                    .fetch_optional(&mut *connection)
                    .await?
                    .map(|row| item_from(&row))
                    .transpose()
            })
            .await?;
        Ok(row)
    }

    /// The items of `page`, sorted by id (empty past the last one).
    ///
    /// # Errors
    /// As [`ItemRepository::get`].
    pub async fn list_page(&self, page: Page) -> Result<ItemList, RepositoryError> {
        let limit = i64::try_from(page.size()).unwrap_or(i64::MAX);
        let offset = i64::try_from(page.skip()).unwrap_or(i64::MAX);
        let items = self
            .database
            .run("items.list_page", |mut connection| async move {
                sqlx::query(
                    "SELECT id, name, description FROM items ORDER BY id LIMIT $1 OFFSET $2",
                )
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut *connection)
                .await?
                .iter()
                .map(item_from)
                .collect()
            })
            .await?;
        Ok(items)
    }

    /// Creates the item, or replaces the one with the same id.
    ///
    /// # Errors
    /// [`RepositoryError::IdTooLarge`] past [`MAX_ITEM_ID`]; otherwise as
    /// [`ItemRepository::get`].
    pub async fn upsert(&self, item: Item) -> Result<Upserted, RepositoryError> {
        let key = i64::try_from(item.id).map_err(|_| RepositoryError::IdTooLarge(item.id))?;
        let upserted = self
            .database
            .run("items.upsert", |mut connection| async move {
                let name = item.name.as_str();
                let description = item.description.as_deref();
                // An update first: replacing is the common case and then one statement.
                let updated =
                    sqlx::query("UPDATE items SET name = $2, description = $3 WHERE id = $1")
                        .bind(key)
                        .bind(name)
                        .bind(description)
                        .execute(&mut *connection)
                        .await?;
                if updated.rows_affected() > 0 {
                    return Ok(Upserted::Replaced);
                }
                // Another request may insert the id in between: the conflict clause makes
                // that a replacement, still answered as created (both writes happened).
                sqlx::query(
                    "INSERT INTO items (id, name, description) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET name = $2, description = $3",
                )
                .bind(key)
                .bind(name)
                .bind(description)
                .execute(&mut *connection)
                .await?;
                Ok(Upserted::Created)
            })
            .await?;
        Ok(upserted)
    }

    /// Removes the item; `false` if there was none.
    ///
    /// # Errors
    /// As [`ItemRepository::get`].
    pub async fn delete(&self, id: u64) -> Result<bool, RepositoryError> {
        let Ok(key) = i64::try_from(id) else {
            return Ok(false);
        };
        let deleted = self
            .database
            .run("items.delete", |mut connection| async move {
                sqlx::query("DELETE FROM items WHERE id = $1")
                    .bind(key)
                    .execute(&mut *connection)
                    .await
            })
            .await?;
        Ok(deleted.rows_affected() > 0)
    }
}

/// An item from a row of `items`.
fn item_from(row: &<Db as sqlx::Database>::Row) -> Result<Item, sqlx::Error> {
    let id: i64 = row.try_get("id")?;
    let name: String = row.try_get("name")?;
    Ok(Item {
        id: u64::try_from(id).map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
        name: ItemName::parse(name).map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
        description: row.try_get("description")?,
    })
}
