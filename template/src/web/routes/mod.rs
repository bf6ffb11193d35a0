//! The HTTP routes. [`configure`] mounts them all; `Application::build` calls it, and
//! tests can mount it next to routes of their own with `Application::build_with`.
//!
//! Add a resource by writing a module like [`items`] (handlers, their error enum and a
//! `configure` function) and calling its `configure` here. Make resources with
//! [`resource`], which labels them for the metrics.

pub mod health;
pub mod items;

use actix_web::{Resource, web};

use super::metrics::RouteTemplate;

/// `web::resource(template)`, carrying its template as resource data, so the request
/// metrics read it after routing instead of matching the path again. A resource made
/// with `web::resource` works too, at the cost of that second match.
pub fn resource(template: &'static str) -> Resource {
    web::resource(template).app_data(RouteTemplate(template))
}

/// Mounts every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    items::configure(cfg);
}
