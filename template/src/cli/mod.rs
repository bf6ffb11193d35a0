//! Management commands: one-shot modes that do their job and exit with a code a script
//! can rely on.
//!
//! Each submodule owns one clap subcommand and its `run`. Results go to stdout;
//! messages and logs go to stderr.
{%- if cache %}

pub mod cache;
{%- endif %}
pub mod config;
