//! STUB: replaced by the CLI module.
{%- if cache %}
pub mod cache;
{%- endif %}
pub mod config;
