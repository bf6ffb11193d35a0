//! The HTTP routes. [`configure`] mounts them all; `Application::build` calls it, and
//! tests can mount it next to routes of their own with `Application::build_with`.
//!
//! Add a resource by writing a module like [`items`] (handlers, their error enum and a
//! `configure` function) and calling its `configure` here.

pub mod health;
pub mod items;

use actix_web::web;

/// Mounts every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    items::configure(cfg);
}
