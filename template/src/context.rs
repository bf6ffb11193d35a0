//! The start-up context: everything the modes share, built once at start-up and handed
//! to every mode: web handlers through `web::Data<AppContext>`, jobs and commands as the
//! argument of their `run`.
//!
//! Adding a shared resource (an HTTP client, a second pool) is one field below and one
//! line in [`AppContext::new`] where it is built; every mode then has it{% if database != "none" %}, as the
//! `database` field shows{% endif %}.

use std::sync::Arc;
{% if database != "none" %}
use crate::database::Database;
{%- endif %}
{%- if web %}
use crate::items::ItemRepository;
{%- endif %}
use crate::metrics::Metrics;
{%- if cache %}
use crate::services::cache::Caches;
{%- endif %}
use crate::settings::Settings;

/// The shared resources, cheap to clone (every field is a handle).
#[derive(Clone)]
pub struct AppContext {
    /// Every setting, read and checked once at start-up.
    pub settings: Arc<Settings>,
    /// This context's Prometheus series (`METRICS_*`), served on `/metrics`.
    pub metrics: Metrics,
{%- if cache %}
    /// Both cache aliases, configured from `CACHE_*`.
    pub caches: Caches,
{%- endif %}
{%- if database != "none" %}
    /// The database pool (`DATABASE_*`), connected on first use.
    pub database: Database,
{%- endif %}
{%- if web %}
{%- if database == "none" %}
    /// The items store: where the example's database goes.
{%- else %}
    /// The items store, on `database`.
{%- endif %}
    pub items: Arc<ItemRepository>,
{%- endif %}
}

impl AppContext {
    /// What every mode runs at start-up: builds the context{% if cache %} and makes its caches the
    /// ones behind `get_cached` and the other free functions{% endif %}.
    ///
    /// # Errors
    /// When a shared resource cannot be built.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let context = Self::new(settings).await?;
{%- if cache %}
        crate::services::cache::install_caches(context.caches.clone());
{%- endif %}
        Ok(context)
    }

    /// Builds every shared resource from `settings` and changes nothing process-wide, so
    /// tests can build as many contexts as they like.
    ///
    /// ```
    /// use {{crate_name}}::context::AppContext;
    /// use {{crate_name}}::settings::Settings;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// let context = AppContext::new(Settings::from_vars([("LOG_FORMAT", "json")])?).await?;
    /// assert_eq!(context.settings.log.format.as_str(), "json");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
{%- if database != "none" %}
    /// When a shared resource cannot be built (nothing here fails yet: the database pool
    /// connects on first use, so a context is built while the database is down).
{%- else %}
    /// When a shared resource cannot be built (nothing here fails yet; a database pool
    /// that connects at once would).
{%- endif %}
    pub async fn new(settings: Settings) -> anyhow::Result<Self> {
{%- if cache %}
        let caches = Caches::from_settings(&settings.cache);
{%- endif %}
        let metrics = Metrics::new(&settings.metrics);
{%- if cache %}
        metrics.watch_caches(&caches);
{%- endif %}
{%- if database != "none" %}
        let database = Database::new(&settings.database, metrics.database());
        metrics.watch_database(&database);
{%- endif %}
        Ok(Self {
            metrics,
{%- if cache %}
            caches,
{%- endif %}
{%- if database != "none" %}
            items: Arc::new(ItemRepository::new(database.clone())),
            database,
{%- elsif web %}
            items: Arc::new(ItemRepository::default()),
{%- endif %}
            settings: Arc::new(settings),
        })
    }
}
