//! Writes that stay written: a load that began before a write (or an invalidation) of
//! its key must not store what it loaded, whichever path loaded it (cache-aside, a
//! background refresh, a tagged entry, a load joined by waiters) and, on Redis, whichever
//! instance wrote. Run on every backend by `on_each_backend!` (from `cache.rs`).
//!
//! Each test is deterministic: the loader reads the source of truth, then waits on a
//! gate; the write completes while it waits; then the gate opens.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use service_cache::{Backend, Cache, Caches, Policy};

use crate::cache::{Backing, on_each_backend};

on_each_backend!(
    a_load_overtaken_by_a_delete_is_answered_but_not_stored,
    a_load_overtaken_by_a_set_does_not_replace_it,
    a_refresh_overtaken_by_a_delete_is_not_stored,
    a_load_overtaken_by_its_tags_invalidation_is_not_stored,
    a_load_overtaken_by_a_pattern_delete_is_not_stored,
    a_caller_that_joins_a_load_after_a_write_gets_the_new_value,
);

const HOUR: Duration = Duration::from_secs(3600);

/// The source of truth behind the cache: a version number, bumped by each write.
#[derive(Clone, Default)]
struct Source(Arc<AtomicU32>);

/// Opens a gated load: tells when the loader has read the source, and lets it go on.
struct Gate {
    read: oneshot::Receiver<()>,
    go: oneshot::Sender<()>,
}

type Load = Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>;

impl Source {
    fn read(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }

    /// The write of a service: the source first, then the cache's invalidation.
    fn bump(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// A loader that reads the source and then waits for its gate to open.
    fn gated(&self) -> (impl FnOnce() -> Load + Send + 'static, Gate) {
        let (read_tx, read) = oneshot::channel();
        let (go, go_rx) = oneshot::channel::<()>();
        let source = self.clone();
        let loader = move || -> Load {
            Box::pin(async move {
                let value = source.read();
                read_tx.send(()).ok();
                go_rx.await.ok();
                Ok(value)
            })
        };
        (loader, Gate { read, go })
    }

    /// A loader that reads the source at once.
    fn plain(&self) -> impl FnOnce() -> Load + Send + 'static {
        let source = self.clone();
        move || -> Load { Box::pin(async move { Ok(source.read()) }) }
    }
}

impl Gate {
    async fn wait_for_the_read(&mut self) {
        (&mut self.read).await.expect("the loader ran");
    }

    fn open(self) {
        self.go.send(()).ok();
    }
}

/// This instance, and the one whose writes race its loads: another instance on Redis
/// (the lease must hold across instances), the same one in process (where nothing is
/// shared between instances).
fn instances(backing: &Backing) -> (Caches, Caches) {
    let here = backing.caches(&[]);
    let other = if backing.persistent == Backend::Memory {
        here.clone()
    } else {
        backing.caches(&[])
    };
    (here, other)
}

/// Starts cache-aside of `key` in `cache` with a gated loader of `source`, on a task of
/// its own, and waits until the loader has read the source.
async fn load_past_its_read(
    cache: &Cache,
    key: &str,
    source: &Source,
) -> (tokio::task::JoinHandle<Result<u32, String>>, Gate) {
    let (loader, mut gate) = source.gated();
    let (cache, key) = (cache.clone(), key.to_owned());
    let load = tokio::spawn(async move { cache.get_or_set_with(&key, Some(HOUR), loader).await });
    gate.wait_for_the_read().await;
    (load, gate)
}

/// The value `key` holds now, loading it from `source` on a miss.
async fn read(cache: &Cache, key: &str, source: &Source) -> u32 {
    cache
        .get_or_set_with(key, Some(HOUR), source.plain())
        .await
        .unwrap()
}

async fn a_load_overtaken_by_a_delete_is_answered_but_not_stored(backing: Backing) {
    let (here, other) = instances(&backing);
    let (cache, writer) = (here.persistent().clone(), other.persistent().clone());
    let source = Source::default();
    let (load, gate) = load_past_its_read(&cache, "item", &source).await;
    let written = source.bump();
    writer.delete("item").await.unwrap();
    gate.open();

    assert_eq!(
        load.await.unwrap(),
        Ok(0),
        "its caller started before the write"
    );
    assert_eq!(cache.get::<u32>("item").await.unwrap(), None, "not stored");
    assert_eq!(cache.voided_fills(), 1);
    assert_eq!(read(&cache, "item", &source).await, written);
    assert_eq!(read(&writer, "item", &source).await, written);
}

async fn a_load_overtaken_by_a_set_does_not_replace_it(backing: Backing) {
    let (here, other) = instances(&backing);
    let (cache, writer) = (here.persistent().clone(), other.persistent().clone());
    let source = Source::default();
    let (load, gate) = load_past_its_read(&cache, "item", &source).await;
    let written = source.bump();
    writer.set("item", &written, Some(HOUR)).await.unwrap();
    gate.open();

    assert_eq!(load.await.unwrap(), Ok(0));
    assert_eq!(cache.get::<u32>("item").await.unwrap(), Some(written));
}

async fn a_refresh_overtaken_by_a_delete_is_not_stored(backing: Backing) {
    let (here, other) = instances(&backing);
    let (cache, writer) = (here.persistent().clone(), other.persistent().clone());
    let source = Source::default();
    let policy = Policy::ttl(Duration::from_millis(200)).stale_while_revalidate(HOUR);
    let first = cache
        .get_or_refresh_with("report", &policy, source.plain())
        .await;
    assert_eq!(first, Ok(0));
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Stale: answered at once, refreshed in the background by the gated loader.
    let (loader, mut gate) = source.gated();
    let stale = cache.get_or_refresh_with("report", &policy, loader).await;
    assert_eq!(stale, Ok(0));
    gate.wait_for_the_read().await;
    source.bump();
    writer.delete("report").await.unwrap();
    gate.open();
    let deadline = Instant::now() + Duration::from_secs(10);
    while cache.stale_stats().refreshes == 0 {
        assert!(Instant::now() < deadline, "the refresh never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        cache.get::<u32>("report").await.unwrap(),
        None,
        "the refresh read the source before the write"
    );
}

async fn a_load_overtaken_by_its_tags_invalidation_is_not_stored(backing: Backing) {
    let (here, other) = instances(&backing);
    let (cache, writer) = (here.persistent().clone(), other.persistent().clone());
    let source = Source::default();
    let policy = Policy::ttl(HOUR).tag("owner:7");
    let (loader, mut gate) = source.gated();
    let load = {
        let (cache, policy) = (cache.clone(), policy.clone());
        tokio::spawn(async move { cache.get_or_refresh_with("pet:1", &policy, loader).await })
    };
    gate.wait_for_the_read().await;
    source.bump();
    writer.invalidate_tag("owner:7").await.unwrap();
    gate.open();

    assert_eq!(load.await.unwrap(), Ok(0));
    assert_eq!(cache.get::<u32>("pet:1").await.unwrap(), None);
}

async fn a_load_overtaken_by_a_pattern_delete_is_not_stored(backing: Backing) {
    let (here, other) = instances(&backing);
    let (cache, writer) = (here.persistent().clone(), other.persistent().clone());
    let source = Source::default();
    let (load, gate) = load_past_its_read(&cache, "items:page:1", &source).await;
    source.bump();
    writer.delete_matching("items:*").await.unwrap();
    gate.open();

    assert_eq!(load.await.unwrap(), Ok(0));
    assert_eq!(cache.get::<u32>("items:page:1").await.unwrap(), None);
}

async fn a_caller_that_joins_a_load_after_a_write_gets_the_new_value(backing: Backing) {
    let (here, other) = instances(&backing);
    let (cache, writer) = (here.persistent().clone(), other.persistent().clone());
    let source = Source::default();
    let (first, gate) = load_past_its_read(&cache, "item", &source).await;
    let written = source.bump();
    writer.delete("item").await.unwrap();
    // Asked after the write was acknowledged: it queues behind the load in flight.
    let late = {
        let (cache, source) = (cache.clone(), source.clone());
        tokio::spawn(async move { read(&cache, "item", &source).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.open();

    assert_eq!(first.await.unwrap(), Ok(0));
    assert_eq!(
        late.await.unwrap(),
        written,
        "not the load that began before the write"
    );
    assert_eq!(cache.get::<u32>("item").await.unwrap(), Some(written));
}

#[cfg(feature = "redis")]
pub(crate) mod on_redis {
    //! Invalidations that Redis did not take (it was paused, or the breaker was failing
    //! fast) are kept and delivered, and no instance serves the old value once they are.

    use std::time::{Duration, Instant};

    use service_cache::test_support::RedisServer;
    use service_cache::{CacheError, CacheSettings, Caches};

    use super::{HOUR, Source, read};

    /// An instance of a service on `server`, with a short Redis timeout so a pause is
    /// noticed quickly.
    pub(crate) fn instance(server: &RedisServer, prefix: &str) -> Caches {
        let settings = CacheSettings::from_vars([
            ("CACHE_PREFIX", prefix.to_owned()),
            ("CACHE_REDIS_URL", server.url()),
            ("CACHE_REDIS_TIMEOUT_MS", "150".to_owned()),
        ])
        .expect("valid settings");
        Caches::from_settings(&settings)
    }

    /// Waits (at most 10 s) until `caches` has delivered every pending invalidation.
    pub(crate) async fn delivered(caches: &Caches) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while caches.persistent().pending_invalidations() > 0 {
            assert!(
                Instant::now() < deadline,
                "invalidations still pending after 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_invalidation_refused_by_the_breaker_is_delivered_when_redis_answers() {
        let server = RedisServer::start();
        let (a, b) = (instance(&server, "breaker"), instance(&server, "breaker"));
        let source = Source::default();
        assert_eq!(read(a.persistent(), "item", &source).await, 0);
        assert_eq!(read(b.persistent(), "item", &source).await, 0);

        // Redis stops answering; a read on `a` times out and opens its breaker.
        let mut admin = server.client();
        redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(1_500)
            .arg("ALL")
            .query::<()>(&mut admin)
            .unwrap();
        let paused = Instant::now();
        assert!(a.persistent().get::<u32>("other").await.is_err());

        // The write: the source, then the invalidation, which Redis cannot take now.
        let written = source.bump();
        let invalidation = a.persistent().delete("item").await;
        assert!(
            matches!(invalidation, Err(CacheError::Queued(_))),
            "{invalidation:?}"
        );
        assert_eq!(a.persistent().pending_invalidations(), 1);
        // While it is pending, `a` reads nothing from Redis: a miss, loaded from the source.
        assert_eq!(read(a.persistent(), "item", &source).await, written);

        tokio::time::sleep(Duration::from_millis(1_600).saturating_sub(paused.elapsed())).await;
        delivered(&a).await;
        assert_eq!(read(b.persistent(), "item", &source).await, written);
        assert_eq!(read(a.persistent(), "item", &source).await, written);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_clear_refused_while_redis_is_paused_clears_the_version_when_it_answers() {
        let server = RedisServer::start();
        let caches = instance(&server, "kept-clear");
        let cache = caches.persistent();
        cache.set("a", &1, Some(HOUR)).await.unwrap();
        let mut client = server.client();
        redis::cmd("SET")
            .arg("other-service:v1:x")
            .arg("1")
            .query::<()>(&mut client)
            .unwrap();
        redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(1_000)
            .arg("ALL")
            .query::<()>(&mut client)
            .unwrap();
        let cleared = cache.clear().await;
        assert!(matches!(cleared, Err(CacheError::Queued(_))), "{cleared:?}");
        assert_eq!(cache.pending_invalidations(), 1);
        delivered(&caches).await;
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut client).unwrap();
        assert_eq!(
            keys,
            ["other-service:v1:x"],
            "this version was cleared, and only it"
        );
    }

    /// Round trips to Redis so far: the store times each one.
    fn round_trips(caches: &Caches) -> u64 {
        caches
            .persistent()
            .backend_metrics()
            .iter()
            .find(|family| family.name() == "redis_command_duration_seconds")
            .map(|family| family.get_metric()[0].get_histogram().get_sample_count())
            .expect("the store reports its commands")
    }

    #[tokio::test]
    async fn a_miss_costs_one_round_trip_more_than_before_and_a_hit_none() {
        let server = RedisServer::start();
        let settings = CacheSettings::from_vars([
            ("CACHE_PREFIX", "round-trips".to_owned()),
            ("CACHE_REDIS_URL", server.url()),
            ("CACHE_PERSISTENT_L1_CAPACITY", "0".to_owned()),
        ])
        .unwrap();
        let caches = Caches::from_settings(&settings);
        let source = Source::default();
        read(caches.persistent(), "warm-up", &source).await;

        let before = round_trips(&caches);
        read(caches.persistent(), "item", &source).await;
        assert_eq!(
            round_trips(&caches) - before,
            3,
            "the read, the lease, and the store with its check"
        );
        let before = round_trips(&caches);
        read(caches.persistent(), "item", &source).await;
        assert_eq!(round_trips(&caches) - before, 1, "a hit is one read");
    }
}
