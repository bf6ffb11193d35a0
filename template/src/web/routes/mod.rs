//! The HTTP routes. [`configure`] mounts them all; `Application::build` calls it, and
//! tests can mount it next to routes of their own with `Application::build_with`.
//!
//! A route module is one file here, like [`items`]: handlers, their error enum and a
//! `configure` function that mounts them on resources made with [`resource`], which
//! labels them for the metrics. Adding one is that file and one line in `routes!`
//! below, `pub mod <file>;`.

use actix_web::{Resource, web};

/// Declares the route modules and mounts them: each `pub mod <file>;` line declares
/// `src/web/routes/<file>.rs` and calls its `configure` from [`configure`], in the order
/// of the lines, so that a new module is one line instead of a declaration and a call.
macro_rules! routes {
    ($($(#[$attr:meta])* $vis:vis mod $module:ident;)*) => {
        $($(#[$attr])* $vis mod $module;)*

        /// Mounts every route of the service.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $($module::configure(cfg);)*
        }
    };
}

routes! {
    pub mod health;
    pub mod items;
}

/// A resource's route template, kept as the resource's data by [`resource`], so the
/// request metrics (`web::metrics`) can label a request with it after routing instead
/// of matching the path against every route again (for a route with parameters, a
/// regex: about 1,800 instructions a request).
#[derive(Debug, Clone, Copy)]
pub struct RouteTemplate(pub &'static str);

/// `web::resource(template)`, carrying its template as resource data, so the request
/// metrics read it after routing instead of matching the path again. A resource made
/// with `web::resource` works too, at the cost of that second match.
pub fn resource(template: &'static str) -> Resource {
    web::resource(template).app_data(RouteTemplate(template))
}
