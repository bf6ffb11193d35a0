//! STUB: replaced by the worker module.
use crate::settings::Settings;
{%- if cache %}
use crate::services::cache::Caches;
{%- endif %}

/// STUB
pub async fn run(_settings: &Settings{% if cache %}, _caches: Caches{% endif %}, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    shutdown.await;
    Ok(())
}

/// STUB
pub async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
