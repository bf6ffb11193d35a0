//! {{project-name}}: one binary, one mode per subcommand.
//!
//! `main.rs` only parses the command line and hands over to [`command`]; every mode
//! lives in its own module so tests can drive it without a process.
{% if cli %}
pub mod cli;
{%- endif %}
pub mod command;
{%- if cache %}
pub mod services;
{%- endif %}
pub mod settings;
pub mod telemetry;
{%- if web %}
pub mod web;
{%- endif %}
{%- if worker %}
pub mod worker;
{%- endif %}
