//! The service's integration tests, in one binary so they share one build.
//!
//! Everything here uses real parts: HTTP over a socket, the binary as a process, and
//! a `redis-server` started on a free loopback port for the test and stopped by pid.
{% if cache %}
mod cache;
{%- endif %}
{%- if redis %}
mod cache_faults;
{%- endif %}
{%- if cache %}
mod cache_ops;
{%- endif %}
{%- if cli %}
mod cli;
{%- endif %}
{%- if cli and cache %}
mod cli_cache_ops;
{%- endif %}
{%- if web and cache %}
mod endpoint_cache;
mod endpoint_freshness;
{%- endif %}
{%- if cache %}
mod freshness;
{%- endif %}
{%- if web %}
mod items;
{%- endif %}
{%- if redis %}
mod l1;
{%- endif %}
{%- if web %}
mod metrics;
{%- endif %}
mod process;
{%- if redis %}
mod redis_connections;
mod redis_server;
{%- endif %}
{%- if web and redis %}
mod scale_out;
{%- endif %}
{%- if web or worker %}
mod scrape;
{%- endif %}
{%- if web %}
mod test_app;
mod web;
{%- endif %}
{%- if worker %}
mod worker;
mod worker_metrics;
{%- endif %}
