//! The write side of [`EndpointCache`]: what a routed `POST`, `PUT`, `PATCH` or `DELETE`
//! removes from the cache, and the guard that makes sure it is removed.
//!
//! Only a request a route of the resource took invalidates. Routing's own answer is
//! actix's default service of the resource, `405 Method Not Allowed` (a resource never
//! inherits its scope's default), so a `405` invalidates nothing: a method the resource
//! does not route cannot be used to empty the cache. A handler that answers `405`
//! itself says it did not act, so nothing is lost. A `404` invalidates unless no
//! resource pattern matched the path at all (the middleware wraps a scope and routing
//! below it found nothing); a handler's own `404` does invalidate, since the cached
//! answer may be of an item the store no longer has. The middleware cannot see a
//! resource's custom `default_service`: its answers count as a handler's unless it
//! answers `405`.
//!
//! The removals are worked out and armed in a [`PendingInvalidation`] before the handler
//! runs. Normally they are awaited before the response leaves, so a client that hears
//! of its write never reads the old answer afterwards. If the request is dropped once
//! the handler has started, the handler may have written, so the guard's `Drop` runs
//! the removals in the background: in a task on the current runtime (a timeout or
//! another middleware around this one dropped it), or, when that runtime is stopping
//! (an actix worker drops the requests it cuts off when the shutdown grace runs out),
//! on a thread of their own. A client hanging up does not drop the request on
//! actix-web 4.17's HTTP/1: the handler runs to its end and the removals run as usual.

use std::mem;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{Error, HttpRequest};

use super::key_template::{KeyError, KeyTemplate};
use super::{EndpointCache, Values};
use crate::{Cache, CacheError};

/// Runs a write's handler, then removes what the write may have changed, unless routing
/// answered instead of a handler (see the [module](self)).
pub(super) async fn invalidate_after<S, B>(
    service: &S,
    config: &EndpointCache,
    cache: &Cache,
    request: ServiceRequest,
) -> Result<ServiceResponse<BoxBody>, Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    // Worked out before the handler runs, because the handler takes the request.
    let pending = PendingInvalidation::new(config, cache, &request);
    // From here a dropped request still gets its removals (the guard's `Drop`).
    let outcome = service.call(request).await;
    match &outcome {
        Ok(response) if answered_by_routing(response.status(), response.request()) => {
            tracing::debug!(
                status = %response.status(),
                "no route of the resource took this write, so the cache was not invalidated"
            );
            pending.cancel();
        }
        // Whatever a handler answered, even an error or a 404: dropping a key is never
        // wrong, while keeping one after a write that half-happened, or for an item
        // the store no longer has, serves a stale answer until the TTL.
        _ => pending.run().await,
    }
    outcome.map(ServiceResponse::map_into_boxed_body)
}

/// Whether a write's answer came from routing rather than from a handler: a `405`, or a
/// `404` for a path no resource pattern matches.
fn answered_by_routing(status: StatusCode, request: &HttpRequest) -> bool {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => true,
        StatusCode::NOT_FOUND => request.match_pattern().is_none(),
        _ => false,
    }
}

/// A write's removals, armed before its handler runs: removed by
/// [`PendingInvalidation::run`], or in the background when dropped before that finished.
struct PendingInvalidation {
    /// Where the removals go.
    cache: Cache,
    /// What is still to remove; empty once removed or cancelled.
    targets: Vec<Target>,
    /// Where the removals go when this is dropped with targets left.
    if_dropped: IfDropped,
}

/// Where a dropped [`PendingInvalidation`] has its removals run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IfDropped {
    /// In a task on the current runtime: the request was dropped (by a middleware
    /// around this one) while its worker's runtime goes on.
    RuntimeTask,
    /// On a thread of its own: the task above was dropped unrun, because its runtime
    /// is stopping (an actix worker cutting off requests after the shutdown grace), or
    /// there is no runtime.
    OwnThread,
}

/// One removal, rendered from the request's path.
struct Target {
    /// What kind of thing it removes.
    removal: Removal,
    /// The key, pattern or tag; or why the template could not be filled in (logged
    /// when the removal would have run).
    rendered: Result<String, (KeyTemplate, KeyError)>,
}

impl PendingInvalidation {
    /// The route's key, extra keys, patterns and tags to remove, filled in from
    /// `request`'s path parameters.
    fn new(config: &EndpointCache, cache: &Cache, request: &ServiceRequest) -> Self {
        let values = Values::Write {
            path: request.match_info(),
        };
        let targets = std::iter::once(&config.key)
            .chain(&config.extra_keys)
            .map(|template| (Removal::Key, template))
            .chain(config.patterns.iter().map(|t| (Removal::Pattern, t)))
            .chain(config.invalidated_tags.iter().map(|t| (Removal::Tag, t)))
            .map(|(removal, template)| {
                let (removal, rendered) = render(config, &values, removal, template);
                let rendered = rendered.map_err(|error| (template.clone(), error));
                Target { removal, rendered }
            })
            .collect();
        Self {
            cache: cache.clone(),
            targets,
            if_dropped: IfDropped::RuntimeTask,
        }
    }

    /// Removes everything now. If this future is dropped part way, the guard, still
    /// holding the targets, runs them all again in the background (removing twice is
    /// harmless).
    async fn run(mut self) {
        remove(&self.cache, &self.targets).await;
        self.targets.clear();
    }

    /// Removes nothing: the request never reached a handler.
    fn cancel(mut self) {
        self.targets.clear();
    }
}

impl Drop for PendingInvalidation {
    fn drop(&mut self) {
        if self.targets.is_empty() {
            return;
        }
        let (cache, targets) = (self.cache.clone(), mem::take(&mut self.targets));
        let runtime = tokio::runtime::Handle::try_current();
        match (self.if_dropped, runtime) {
            // The runtime's own spawn, not a local task: it needs no `LocalSet`, and a
            // runtime that is stopping drops the task instead of panicking, which
            // brings the removals back here, bound for a thread of their own.
            (IfDropped::RuntimeTask, Ok(runtime)) => {
                tracing::debug!(
                    "a write was dropped after its handler started; invalidating in the background"
                );
                let pending = PendingInvalidation {
                    cache,
                    targets,
                    if_dropped: IfDropped::OwnThread,
                };
                runtime.spawn(pending.run());
            }
            _ => remove_on_a_thread_of_its_own(cache, targets),
        }
    }
}

/// Runs the removals on a new thread with a runtime of its own, when the current one is
/// stopping or absent. Not joined: the dropping thread (often a worker tearing down)
/// does not wait; the removals are lost only if the process exits first.
fn remove_on_a_thread_of_its_own(cache: Cache, targets: Vec<Target>) {
    tracing::debug!(
        "a write was dropped after its handler started, as its runtime stopped; invalidating on a thread of its own"
    );
    let spawned = std::thread::Builder::new()
        .name("endpoint-cache-invalidation".to_owned())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(remove(&cache, &targets)),
                Err(error) => tracing::warn!(
                    %error,
                    "no runtime for the invalidation of a dropped write; what it names lives until its TTL"
                ),
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(
            %error,
            "no thread for the invalidation of a dropped write; what it names lives until its TTL"
        );
    }
}

/// Removes every target, logging each outcome; a failure does not stop the others.
async fn remove(cache: &Cache, targets: &[Target]) {
    for Target { removal, rendered } in targets {
        let target = match rendered {
            Ok(target) => target,
            Err((template, error)) => {
                error.log(template);
                continue;
            }
        };
        let kind = removal.as_str();
        match removal.apply(cache, target).await {
            Ok(removed) => tracing::debug!(kind, target, removed, "endpoint cache invalidated"),
            // Kept by the store and sent as soon as Redis answers (the error says so).
            Err(error @ CacheError::Queued(_)) => {
                tracing::warn!(kind, target, %error, "cache invalidation deferred");
            }
            Err(error) => {
                tracing::warn!(kind, target, %error, "cache invalidation failed; what it names lives until its TTL");
            }
        }
    }
}

/// `template` rendered for a write as `removal`: a key with a placeholder for a query
/// parameter or header (which stands for every value) is removed as a pattern, every
/// page and header value of it; a tag cannot stand for many, so it is an error.
fn render(
    config: &EndpointCache,
    values: &Values<'_>,
    removal: Removal,
    template: &KeyTemplate,
) -> (Removal, Result<String, KeyError>) {
    let for_pattern = matches!(removal, Removal::Pattern);
    match (config.render(template, values, for_pattern), removal) {
        (Ok((rendered, false)), _) | (Ok((rendered, true)), Removal::Pattern) => {
            (removal, Ok(rendered))
        }
        // Rendered again as a pattern, so a path value holding `*` cannot widen it.
        (Ok((_, true)), Removal::Key) => (
            Removal::Pattern,
            config
                .render(template, values, true)
                .map(|(pattern, _)| pattern),
        ),
        (Ok((_, true)), Removal::Tag) => (
            removal,
            Err(KeyError::RequestDependent(template.to_string())),
        ),
        (Err(error), _) => (removal, Err(error)),
    }
}

/// What a write removes from the cache, each rendered from the request's path.
#[derive(Debug, Clone, Copy)]
enum Removal {
    /// One key: the route's own, or one of [`EndpointCache::invalidates`].
    Key,
    /// Every key matching a glob of [`EndpointCache::invalidates_matching`].
    Pattern,
    /// Every entry carrying a tag of [`EndpointCache::invalidates_tag`].
    Tag,
}

impl Removal {
    /// Removes what `target` names; how many values went.
    async fn apply(self, cache: &Cache, target: &str) -> Result<u64, CacheError> {
        match self {
            Removal::Key => cache.delete(target).await.map(u64::from),
            Removal::Pattern => cache.delete_matching(target).await,
            Removal::Tag => cache.invalidate_tag(target).await,
        }
    }

    /// The name logged with it.
    fn as_str(self) -> &'static str {
        match self {
            Removal::Key => "key",
            Removal::Pattern => "pattern",
            Removal::Tag => "tag",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use actix_web::body::BoxBody;
    use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
    use actix_web::http::StatusCode;
    use actix_web::{App, Error, HttpResponse, test, web};
    use serde_json::json;
    use tokio::sync::Notify;

    use crate::endpoint::{EndpointCache, X_CACHE};
    use crate::{CacheSettings, Caches};

    /// The `x-cache` of a `GET` of `$path` from `$app`.
    macro_rules! x_cache {
        ($app:expr, $path:expr) => {
            test::call_service($app, test::TestRequest::get().uri($path).to_request())
                .await
                .headers()
                .get(X_CACHE)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
    }

    /// The status of a `$method` of `$path` to `$app`.
    macro_rules! status {
        ($app:expr, $method:ident, $path:expr) => {
            test::call_service($app, test::TestRequest::$method().uri($path).to_request())
                .await
                .status()
        };
    }

    fn caches() -> Caches {
        Caches::from_settings(&CacheSettings::default())
    }

    async fn get_item() -> HttpResponse {
        HttpResponse::Ok().json(json!({ "id": 1 }))
    }

    #[actix_web::test]
    async fn a_method_the_resource_does_not_route_invalidates_nothing() {
        let caches = caches();
        let app = test::init_service(
            App::new().app_data(web::Data::new(caches.clone())).service(
                web::resource("/items/{id}")
                    .wrap(EndpointCache::new("items:{id}"))
                    .route(web::get().to(get_item)),
            ),
        )
        .await;
        assert_eq!(x_cache!(&app, "/items/1"), "miss");
        assert_eq!(
            status!(&app, post, "/items/1"),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status!(&app, delete, "/items/1"),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            x_cache!(&app, "/items/1"),
            "hit",
            "routing's 405 left the entry"
        );
    }

    #[actix_web::test]
    async fn a_write_drops_the_answers_for_every_header_value_and_path_value_stays_literal() {
        let caches = caches();
        let app = test::init_service(
            App::new().app_data(web::Data::new(caches.clone())).service(
                web::resource("/greetings/{id}")
                    .wrap(
                        EndpointCache::new("greetings:{id}:{accept-language}")
                            .vary_on("accept-language")
                            .tag("lang:{accept-language}")
                            .invalidates_tag("lang:{accept-language}"),
                    )
                    .route(web::get().to(get_item))
                    .route(web::put().to(HttpResponse::NoContent)),
            ),
        )
        .await;
        let get = |id: &str, language: &str| {
            let request = test::TestRequest::get()
                .uri(&format!("/greetings/{id}"))
                .insert_header(("accept-language", language))
                .to_request();
            let app = &app;
            async move {
                let response = test::call_service(app, request).await;
                response
                    .headers()
                    .get(X_CACHE)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned()
            }
        };
        for (id, language) in [("1", "fr"), ("1", "en"), ("2", "fr")] {
            assert_eq!(get(id, language).await, "miss");
            assert_eq!(get(id, language).await, "hit");
        }
        // Item 1's answers in every language go, item 2's stay; the tag, which a write
        // cannot fill in, is skipped (logged) without stopping the rest.
        assert_eq!(status!(&app, put, "/greetings/1"), StatusCode::NO_CONTENT);
        assert_eq!(get("1", "fr").await, "miss");
        assert_eq!(get("1", "en").await, "miss");
        assert_eq!(get("2", "fr").await, "hit");
        // A path value with a glob does not widen the pattern the key became.
        assert_eq!(status!(&app, put, "/greetings/*"), StatusCode::NO_CONTENT);
        assert_eq!(get("2", "fr").await, "hit");
    }

    #[actix_web::test]
    async fn a_handlers_own_404_still_invalidates() {
        let caches = caches();
        let app = test::init_service(
            App::new().app_data(web::Data::new(caches.clone())).service(
                web::resource("/items/{id}")
                    .wrap(EndpointCache::new("items:{id}"))
                    .route(web::get().to(get_item))
                    .route(web::put().to(HttpResponse::NotFound))
                    .route(web::delete().to(HttpResponse::NotFound)),
            ),
        )
        .await;
        assert_eq!(x_cache!(&app, "/items/1"), "miss");
        assert_eq!(status!(&app, delete, "/items/1"), StatusCode::NOT_FOUND);
        assert_eq!(x_cache!(&app, "/items/1"), "miss");
        assert_eq!(x_cache!(&app, "/items/1"), "hit");
        assert_eq!(status!(&app, put, "/items/1"), StatusCode::NOT_FOUND);
        assert_eq!(x_cache!(&app, "/items/1"), "miss");
    }

    #[actix_web::test]
    async fn on_a_scope_a_path_no_resource_matches_invalidates_nothing() {
        let caches = caches();
        let app = test::init_service(
            App::new().app_data(web::Data::new(caches.clone())).service(
                web::scope("/shop")
                    .wrap(EndpointCache::new("shop:list"))
                    .service(
                        web::resource("/items/{id}").route(web::put().to(HttpResponse::NotFound)),
                    ),
            ),
        )
        .await;
        let cache = caches.persistent();
        cache.set_raw("shop:list", "[1]", None).await.unwrap();
        assert_eq!(status!(&app, put, "/shop/nowhere"), StatusCode::NOT_FOUND);
        assert_eq!(
            cache.get_raw("shop:list").await.unwrap().as_deref(),
            Some("[1]"),
            "routing's 404 left the entry"
        );
        assert_eq!(status!(&app, put, "/shop/items/1"), StatusCode::NOT_FOUND);
        assert_eq!(
            cache.get_raw("shop:list").await.unwrap(),
            None,
            "a handler's 404 invalidates"
        );
    }

    /// `GET /items/{id}` and a `PUT` that writes (sets `stored`, notifies `written`),
    /// then takes an hour, behind a cache that also invalidates `items:list`.
    fn slow_writes(
        caches: &Caches,
        written: &Rc<Notify>,
        stored: &Rc<Cell<bool>>,
    ) -> App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<BoxBody>,
            Error = Error,
            InitError = (),
        > + use<>,
    > {
        let (written, stored) = (Rc::clone(written), Rc::clone(stored));
        let put = move || {
            let (written, stored) = (Rc::clone(&written), Rc::clone(&stored));
            async move {
                stored.set(true);
                written.notify_one();
                tokio::time::sleep(Duration::from_secs(3600)).await;
                HttpResponse::NoContent().finish()
            }
        };
        App::new().app_data(web::Data::new(caches.clone())).service(
            web::resource("/items/{id}")
                .wrap(EndpointCache::new("items:{id}").invalidates("items:list"))
                .route(web::get().to(get_item))
                .route(web::put().to(put)),
        )
    }

    /// Waits (at most ten seconds) until neither `items:1` nor `items:list` is cached.
    async fn until_invalidated(caches: &Caches) {
        let cache = caches.persistent();
        let gone = async {
            while cache.get_raw("items:1").await.unwrap().is_some()
                || cache.get_raw("items:list").await.unwrap().is_some()
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), gone)
            .await
            .expect("the dropped write's keys were removed in the background");
    }

    #[actix_web::test]
    async fn a_write_dropped_after_its_handler_started_is_still_invalidated() {
        let caches = caches();
        let (written, stored) = (Rc::new(Notify::new()), Rc::new(Cell::new(false)));
        let app = test::init_service(slow_writes(&caches, &written, &stored)).await;
        assert_eq!(x_cache!(&app, "/items/1"), "miss");
        let cache = caches.persistent();
        cache.set_raw("items:list", "[1]", None).await.unwrap();

        let request = test::TestRequest::put().uri("/items/1").to_request();
        tokio::select! {
            _ = app.call(request) => panic!("the handler sleeps for an hour"),
            () = written.notified() => {}
        }
        // The request's future is gone (the client went away) after the write.
        assert!(stored.get());
        until_invalidated(&caches).await;
        assert_eq!(x_cache!(&app, "/items/1"), "miss");
    }

    // The standard test attribute: `test` here is actix's test module.
    #[::core::prelude::v1::test]
    fn a_write_in_flight_when_its_runtime_stops_is_still_invalidated() {
        let caches = caches();
        let (written, stored) = (Rc::new(Notify::new()), Rc::new(Cell::new(false)));
        // A runtime like an actix worker's, with the write running as one of its tasks.
        let worker = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build_local(tokio::runtime::LocalOptions::default())
            .unwrap();
        worker.block_on(async {
            let app = test::init_service(slow_writes(&caches, &written, &stored)).await;
            assert_eq!(x_cache!(&app, "/items/1"), "miss");
            let cache = caches.persistent();
            cache.set_raw("items:list", "[1]", None).await.unwrap();
            let request = test::TestRequest::put().uri("/items/1").to_request();
            tokio::task::spawn_local(async move { app.call(request).await });
            written.notified().await;
        });
        // The worker stops (its shutdown grace ran out) and drops the write with it.
        drop(worker);
        assert!(stored.get());
        let checker = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        checker.block_on(until_invalidated(&caches));
    }

    #[cfg(all(feature = "redis", feature = "test-support"))]
    #[::core::prelude::v1::test]
    fn on_redis_a_write_in_flight_when_its_runtime_stops_is_still_invalidated() {
        use crate::test_support::RedisServer;
        use crate::{RedisSettings, Secret};

        let server = RedisServer::start();
        // The service's own runtime: the Redis connection is made and lives there, as
        // at a service's start-up.
        let main = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let caches = main.block_on(async {
            let caches = Caches::from_settings(&CacheSettings {
                prefix: "endpoint".to_owned(),
                redis: RedisSettings {
                    url: Some(Secret::new(server.url())),
                    timeout: Duration::from_secs(2),
                    ..RedisSettings::default()
                },
                ..CacheSettings::default()
            });
            let cache = caches.persistent();
            cache.set_raw("items:list", "[1]", None).await.unwrap();
            caches
        });
        let (written, stored) = (Rc::new(Notify::new()), Rc::new(Cell::new(false)));
        let worker = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build_local(tokio::runtime::LocalOptions::default())
            .unwrap();
        // Read on Redis itself, past any in-process copy.
        let mut redis = server.client();
        let mut cached = || -> u32 {
            redis::cmd("EXISTS")
                .arg("endpoint:v1:items:1")
                .arg("endpoint:v1:items:list")
                .query(&mut redis)
                .unwrap()
        };
        worker.block_on(async {
            let app = test::init_service(slow_writes(&caches, &written, &stored)).await;
            assert_eq!(x_cache!(&app, "/items/1"), "miss");
            assert_eq!(cached(), 2);
            let request = test::TestRequest::put().uri("/items/1").to_request();
            tokio::task::spawn_local(async move { app.call(request).await });
            written.notified().await;
        });
        drop(worker);
        assert!(stored.get());

        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while cached() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the dropped write's keys are still in Redis"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(main);
    }
}
