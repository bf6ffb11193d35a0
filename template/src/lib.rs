//! {{project-name}}: one binary, one mode per subcommand.
//!
//! `main.rs` only parses the command line and hands over to [`command`], which builds
//! the [`context::AppContext`] every mode shares; each mode lives in its own module so
//! tests can drive it without a process.
{% if cli %}
pub mod cli;
{%- endif %}
pub mod command;
pub mod context;
{%- if database != "none" %}
pub mod database;
{%- endif %}
{%- if web %}
pub mod items;
{%- endif %}
{%- if web or worker %}
pub mod listen;
{%- endif %}
pub mod metrics;
{%- if cache %}
pub mod services;
{%- endif %}
pub mod settings;
{%- if web or worker %}
pub mod shutdown;
{%- endif %}
pub mod telemetry;
{%- if web %}
pub mod web;
{%- endif %}
{%- if worker %}
pub mod worker;
{%- endif %}
