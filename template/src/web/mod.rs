//! STUB: replaced by the web module.
use crate::settings::Settings;
{%- if cache %}
use crate::services::cache::Caches;
{%- endif %}

/// Options of the `web` subcommand.
#[derive(Debug, clap::Args)]
pub struct Args {
{%- if worker %}
    /// Also run the background worker in this process.
    #[arg(long)]
    pub with_worker: bool,
{%- endif %}
}

/// STUB
pub async fn run(_args: Args, _settings: Settings{% if cache %}, _caches: Caches{% endif %}) -> anyhow::Result<()> {
    Ok(())
}
