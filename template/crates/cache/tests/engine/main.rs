//! The engine's integration tests, in one binary so they share one build.
//!
//! Everything here uses real parts: the caches through their public API, and
//! `redis-server` processes (one server, a six-node Cluster, a Sentinel-watched primary,
//! a TLS-only server) started on free loopback ports for the test and stopped by pid
//! (`service_cache::test_support`).

mod cache;
mod cache_api;
#[cfg(feature = "redis")]
mod cache_faults;
mod cache_ops;
mod coherent_writes;
#[cfg(feature = "actix")]
mod endpoint_keys;
#[cfg(feature = "actix")]
mod endpoint_races;
mod freshness;
#[cfg(feature = "actix")]
mod http;
#[cfg(feature = "redis")]
mod l1;
#[cfg(feature = "redis")]
mod l1_tracking;
#[cfg(feature = "redis")]
mod randomized_writes;
#[cfg(all(feature = "actix", feature = "redis"))]
mod rate_limit;
#[cfg(feature = "redis")]
mod redis_connections;
