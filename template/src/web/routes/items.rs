//! The example resource, `items`: copy this module to add your own.
//!
//! | request | answer |
//! |---|---|
//! | `GET /items?page=1&per_page=50` | a page of the items, sorted by id (`page` from 1, `per_page` from 1 to 100; both optional) |
//! | `GET /items/{id}` | the item, or 404 |
//! | `PUT /items/{id}` with `{"name": "...", "description": "..."}` | 201 created or 200 replaced, with the item |
//! | `DELETE /items/{id}` | 204, or 404 |
//!
//! The handlers only talk to the context's [`ItemRepository`](crate::items::ItemRepository)
{%- if database == "none" %}
//! (the stand-in for a database).
{%- else %}
//! (the database: a write is committed before the answer goes out, and a database that
//! is down or slow gives `503` with `retry-after` within `DATABASE_TIMEOUT_MS`).
{%- endif %}
{%- if cache %}
//! Caching is declared next to the routes with an [`EndpointCache`]: `GET` answers are
//! read through the `persistent` alias (header `x-cache: hit` or `miss`) under
//! `items:{id}` and, one entry per page, `items:list:{page}:{per_page}` (tagged
//! `items:list`; other query parameters never reach the key), and every `PUT` or
//! `DELETE` drops the item's key and every page before it answers (even a `404`), so the
//! next `GET` sees the change.
{%- endif %}

use actix_web::http::StatusCode;
{%- if database != "none" %}
use actix_web::http::header::{HeaderValue, LOCATION, RETRY_AFTER};
{%- else %}
use actix_web::http::header::LOCATION;
{%- endif %}
use actix_web::{HttpResponse, ResponseError, web};
use serde::Deserialize;
{%- if cache %}
use service_cache::endpoint::EndpointCache;
{%- endif %}

use crate::context::AppContext;
{%- if cache %}
use crate::items::DEFAULT_PER_PAGE;
{%- endif %}
use crate::items::{
    DescriptionTooLong, InvalidItemName, InvalidPage, Item, ItemName, Page, RepositoryError,
    Upserted, check_description,
};
use crate::web::errors::json_error;
use crate::web::json::JsonObject;
{%- if cache %}

/// Mounts `/items` and `/items/{id}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource("/items")
            .wrap(
                EndpointCache::new("items:list:{page}:{per_page}")
                    .query_param::<u32>("page", 1)
                    .query_param::<u32>("per_page", DEFAULT_PER_PAGE)
                    .tag("items:list"),
            )
            .route(web::get().to(list_items)),
    )
    .service(
        super::resource("/items/{id}")
            // The TTL is the persistent alias's default (CACHE_PERSISTENT_TTL); add
            // `.ttl(Duration::from_secs(60))` to give this route its own.
            .wrap(
                EndpointCache::new("items:{id}")
                    .param::<u64>("id")
                    .invalidates_tag("items:list"),
            )
            .route(web::get().to(get_item))
            .route(web::put().to(put_item))
            .route(web::delete().to(delete_item)),
    );
}
{%- else %}

/// Mounts `/items` and `/items/{id}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/items").route(web::get().to(list_items)))
        .service(
            super::resource("/items/{id}")
                .route(web::get().to(get_item))
                .route(web::put().to(put_item))
                .route(web::delete().to(delete_item)),
        );
}
{%- endif %}

/// The body of `PUT /items/{id}`: the item without its id, which comes from the path.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    /// Optional, so that a client can send back what `GET` gave it; must match the path.
    #[serde(default)]
    pub id: Option<u64>,
    /// The item's name, checked by [`ItemName::parse`].
    pub name: String,
    /// Optional free text, checked by [`check_description`].
    #[serde(default)]
    pub description: Option<String>,
}

/// Everything the item handlers can refuse, each with its status code.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    /// No item has this id.
    #[error("item {0} does not exist")]
    NotFound(u64),
    /// The body's `id` contradicts the path.
    #[error(
        "the body has id {body} but the path has {path}: make them match or leave id out of the body"
    )]
    IdMismatch {
        /// The id in the URL.
        path: u64,
        /// The id in the JSON body.
        body: u64,
    },
    /// The name is empty, blank or too long.
    #[error(transparent)]
    InvalidName(#[from] InvalidItemName),
    /// The description is too long.
    #[error(transparent)]
    DescriptionTooLong(#[from] DescriptionTooLong),
    /// `page` or `per_page` is out of its range.
    #[error(transparent)]
    InvalidPage(#[from] InvalidPage),
    /// The store refused the write.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl ResponseError for ItemError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::IdMismatch { .. }
            | Self::InvalidName(_)
            | Self::DescriptionTooLong(_)
            | Self::InvalidPage(_) => StatusCode::BAD_REQUEST,
{%- if database == "none" %}
            Self::Repository(RepositoryError::Full | RepositoryError::FullBytes) => {
                StatusCode::INSUFFICIENT_STORAGE
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        json_error(self.status_code(), &self.to_string())
    }
{%- else %}
            Self::Repository(RepositoryError::IdTooLarge(_)) => StatusCode::BAD_REQUEST,
            Self::Repository(RepositoryError::Database(error)) if error.is_unavailable() => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Repository(RepositoryError::Database(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let Self::Repository(RepositoryError::Database(error)) = self else {
            return json_error(self.status_code(), &self.to_string());
        };
        // The cause names hosts and files: it goes to the log, not to the client.
        tracing::error!(%error, "items: the database failed");
        if !error.is_unavailable() {
            return json_error(self.status_code(), "the database could not answer this request");
        }
        let mut response = json_error(
            self.status_code(),
            "the database is unavailable; try again shortly",
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }
{%- endif %}
}

impl ItemInput {
    /// Checks the input and makes it the item stored under `id`.
    fn into_item(self, id: u64) -> Result<Item, ItemError> {
        if let Some(body) = self.id
            && body != id
        {
            return Err(ItemError::IdMismatch { path: id, body });
        }
        if let Some(description) = &self.description {
            check_description(description)?;
        }
        Ok(Item {
            id,
            name: ItemName::parse(self.name)?,
            description: self.description,
        })
    }
}

/// The query of `GET /items`: other parameters are ignored.
#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<String>,
    per_page: Option<String>,
}

async fn list_items(
    query: web::Query<PageQuery>,
    context: web::Data<AppContext>,
) -> Result<HttpResponse, ItemError> {
    let page = Page::parse(query.page.as_deref(), query.per_page.as_deref())?;
{%- if database == "none" %}
    // The page shares the stored items; it is serialised here, with no lock held.
{%- endif %}
    Ok(HttpResponse::Ok().json(context.items.list_page(page).await?))
}

async fn get_item(
    id: web::Path<u64>,
    context: web::Data<AppContext>,
) -> Result<HttpResponse, ItemError> {
    let id = id.into_inner();
    let item = context.items.get(id).await?.ok_or(ItemError::NotFound(id))?;
    Ok(HttpResponse::Ok().json(item))
}

async fn put_item(
    id: web::Path<u64>,
    input: web::Json<JsonObject<ItemInput>>,
    context: web::Data<AppContext>,
) -> Result<HttpResponse, ItemError> {
    let id = id.into_inner();
    let item = input.into_inner().0.into_item(id)?;
    let response = match context.items.upsert(item.clone()).await? {
        Upserted::Created => HttpResponse::Created()
            .insert_header((LOCATION, format!("/items/{id}")))
            .json(item),
        Upserted::Replaced => HttpResponse::Ok().json(item),
    };
    Ok(response)
}

async fn delete_item(
    id: web::Path<u64>,
    context: web::Data<AppContext>,
) -> Result<HttpResponse, ItemError> {
    let id = id.into_inner();
    if context.items.delete(id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ItemError::NotFound(id))
    }
}

#[cfg(test)]
mod tests {
    use super::{ItemError, ItemInput};
    use crate::web::json::JsonObject;

    fn input(id: Option<u64>, name: &str) -> ItemInput {
        ItemInput {
            id,
            name: name.to_owned(),
            description: None,
        }
    }

    #[test]
    fn the_id_comes_from_the_path_and_a_matching_body_id_is_accepted() {
        assert_eq!(input(None, "pen").into_item(3).unwrap().id, 3);
        assert_eq!(input(Some(3), "pen").into_item(3).unwrap().id, 3);
        assert!(matches!(
            input(Some(4), "pen").into_item(3),
            Err(ItemError::IdMismatch { path: 3, body: 4 })
        ));
    }

    #[test]
    fn only_a_json_object_is_an_item() {
        let parse = |json| serde_json::from_str::<JsonObject<ItemInput>>(json);
        assert_eq!(parse(r#"{"name":"pen"}"#).unwrap().0.name, "pen");
        for not_an_object in [r#"[null,"pen"]"#, r#""pen""#, "null", "7"] {
            assert!(
                parse(not_an_object).is_err(),
                "{not_an_object} was accepted"
            );
        }
        assert!(parse(r#"{"name":"pen","colour":"red"}"#).is_err());
    }

    #[test]
    fn an_overlong_description_is_refused_naming_the_field_and_the_limit() {
        let mut long = input(None, "pen");
        long.description = Some("x".repeat(crate::items::MAX_DESCRIPTION_CHARS + 1));
        let error = long.into_item(1).unwrap_err();
        assert!(matches!(error, ItemError::DescriptionTooLong(_)));
        assert!(error.to_string().contains("description must be at most 2000 characters"));
    }

    #[test]
    fn the_name_rule_of_the_items_module_applies() {
        assert!(matches!(
            input(None, "  ").into_item(1),
            Err(ItemError::InvalidName(_))
        ));
    }
}
