//! The service's integration tests, in one binary so they share one build.
//!
//! Everything here uses real parts: HTTP over a socket, the binary as a process, and
//! a `redis-server` started on a free loopback port for the test and stopped by pid.
//! The cache engine's own suites (Redis Cluster, Sentinel, TLS, the L1) live with it in
//! `crates/cache/tests` and run with `cargo test --workspace`.
{% if cli %}
mod cli;
{%- endif %}
{%- if cli and cache %}
mod cli_cache_ops;
{%- endif %}
{%- if database != "none" %}
mod database;
{%- endif %}
{%- if web and cache %}
mod endpoint_cache;
mod endpoint_freshness;
{%- endif %}
{%- if web and database == "none" %}
mod item_memory;
{%- endif %}
{%- if web %}
mod items;
mod log_stall;
mod metrics;
{%- endif %}
{%- if database == "postgres" %}
mod postgres;
{%- endif %}
mod process;
{%- if web and redis %}
mod scale_out;
{%- endif %}
{%- if web or worker %}
mod scrape;
{%- endif %}
{%- if cli %}
{%- if web or worker or cache %}
mod settings_limits;
{%- endif %}
{%- endif %}
{%- if web %}
mod slow_clients;
{%- endif %}
{%- if web %}
mod test_app;
{%- endif %}
{%- if database != "none" %}
mod test_database;
{%- endif %}
{%- if web %}
mod web;
{%- endif %}
{%- if worker %}
mod worker;
mod worker_metrics;
{%- endif %}
