//! The endpoint cache under a write that races a load, over real HTTP: a `GET` misses
//! (or finds its answer stale) and runs the handler, which reads the source of truth and
//! then waits; a `PUT` to the same resource (on another instance, when the cache is on
//! Redis) changes the source and answers; then the handler goes on. The `GET`'s answer
//! predates the write and must not be what later requests get.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use tokio::sync::oneshot;

use service_cache::endpoint::EndpointCache;
use service_cache::{CacheSettings, Caches};

use crate::http::Instance;

/// The handler's side of an armed gate: says it has read, then waits for the word.
type HandlerGate = (oneshot::Sender<()>, oneshot::Receiver<()>);

/// The resource's data, and the gate its next `GET` handler stops at.
#[derive(Clone, Default)]
struct Resource {
    version: Arc<AtomicU32>,
    gate: Arc<Mutex<Option<HandlerGate>>>,
}

/// The test's side of an armed gate: when the handler has read, and the word to go on.
struct Gate {
    read: oneshot::Receiver<()>,
    go: oneshot::Sender<()>,
}

impl Resource {
    fn arm(&self) -> Gate {
        let (read_tx, read) = oneshot::channel();
        let (go, go_rx) = oneshot::channel();
        *self.gate.lock().unwrap() = Some((read_tx, go_rx));
        Gate { read, go }
    }
}

/// Caches of one instance of a service, on Redis when `redis_vars` say so.
fn caches(redis_vars: &[(&'static str, String)]) -> Caches {
    let mut vars = vec![("CACHE_PREFIX", "endpoint-races".to_owned())];
    vars.extend(redis_vars.iter().cloned());
    Caches::from_settings(&CacheSettings::from_vars(vars).expect("valid settings"))
}

/// `GET` and `PUT` of `/items/{id}` on `resource`, behind `cache`.
fn routes(
    resource: &Resource,
    cache: &EndpointCache,
) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    let (resource, cache) = (resource.clone(), cache.clone());
    move |config: &mut web::ServiceConfig| {
        let (get, put) = (resource.clone(), resource.clone());
        config.service(
            web::resource("/items/{id}")
                .wrap(cache.clone())
                .route(web::get().to(move || {
                    let resource = get.clone();
                    async move {
                        let version = resource.version.load(Ordering::SeqCst);
                        let gate = resource.gate.lock().unwrap().take();
                        if let Some((read, go)) = gate {
                            read.send(()).ok();
                            go.await.ok();
                        }
                        HttpResponse::Ok().json(version)
                    }
                }))
                .route(web::put().to(move || {
                    let resource = put.clone();
                    async move {
                        resource.version.fetch_add(1, Ordering::SeqCst);
                        HttpResponse::NoContent().finish()
                    }
                })),
        );
    }
}

/// Both races, with `reader` taking the `GET`s and `writer` the `PUT`s.
async fn races(reader: Caches, writer: Caches) {
    let resource = Resource::default();
    let cache = EndpointCache::new("items:{id}")
        .ttl(Duration::from_millis(300))
        .stale_while_revalidate(Duration::from_secs(3600));
    let here = Instance::start(reader, routes(&resource, &cache));
    let there = Instance::start(writer, routes(&resource, &cache));
    let get = |instance: &Instance| {
        let address = instance.address;
        async move {
            let answer = tokio::task::spawn_blocking(move || {
                Instance::request(address, "GET", "/items/1", &[])
            })
            .await
            .unwrap();
            let x_cache = answer.header("x-cache").unwrap_or("").to_owned();
            (answer.status, x_cache, answer.body)
        }
    };

    // A miss whose handler read before the write.
    let mut gate = resource.arm();
    let miss = tokio::spawn(get(&here));
    (&mut gate.read).await.unwrap();
    assert_eq!(there.send("PUT", "/items/1", &[]).await.status, 204);
    gate.go.send(()).unwrap();
    assert_eq!(miss.await.unwrap(), (200, "miss".into(), "0".into()));
    assert_eq!(get(&here).await, (200, "miss".into(), "1".into()));
    assert_eq!(get(&here).await, (200, "hit".into(), "1".into()));

    // A stale answer whose background refresh read before the write.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut gate = resource.arm();
    assert_eq!(get(&here).await, (200, "stale".into(), "1".into()));
    (&mut gate.read).await.unwrap();
    assert_eq!(there.send("PUT", "/items/1", &[]).await.status, 204);
    gate.go.send(()).unwrap();
    // The refresh has ended once a miss no longer waits for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = get(&here).await;
        if answer.1 != "stale" {
            assert_eq!(
                answer,
                (200, "miss".into(), "2".into()),
                "the refresh was not stored"
            );
            break;
        }
        assert!(Instant::now() < deadline, "still stale after 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn in_process() {
    let caches = caches(&[]);
    races(caches.clone(), caches).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread")]
async fn on_redis_across_instances() {
    let server = service_cache::test_support::RedisServer::start();
    let vars = [("CACHE_REDIS_URL", server.url())];
    races(caches(&vars), caches(&vars)).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread")]
async fn on_a_redis_cluster_across_instances() {
    let cluster = service_cache::test_support::RedisCluster::start();
    let vars = [("CACHE_REDIS_CLUSTER_NODES", cluster.nodes_var())];
    races(caches(&vars), caches(&vars)).await;
}
