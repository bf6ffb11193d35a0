//! `spawn_app`: the real server on a free port inside the test process, reached over
//! real HTTP, with settings from a fixed map instead of the environment so tests never
//! see each other's variables or a developer's `.env`.

use std::time::Duration;

use actix_web::web::ServiceConfig;
use reqwest::Response;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use {{crate_name}}::context::AppContext;
use {{crate_name}}::settings::Settings;
use {{crate_name}}::web::{Application, routes};
{%- if database != "none" %}

use crate::test_database::TestDatabase;
{%- endif %}

/// The key namespace every test app uses, so tests can look keys up in Redis.
pub const PREFIX: &str = "test";

/// A server running in this test, stopped when the test ends.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// A client with a bound on every request, so a hung server fails the test.
    pub client: reqwest::Client,
{%- if cache %}
    /// What the server shares with every mode; its caches let a test look at or plant
    /// entries behind the server's back.
    pub context: AppContext,
{%- endif %}
{%- if database != "none" %}
    /// The test's own database, unless the test gave a `DATABASE_URL`.
    _database: Option<TestDatabase>,
{%- endif %}
    /// Resolves the server's shutdown future; `None` once [`TestApp::stop`] ran.
    stop: Option<oneshot::Sender<()>>,
    /// The task running `Application::run_until_stopped`.
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The service with its own routes and the default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The service with its own routes and `vars` on top of the test defaults.
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    spawn_app_with_routes(vars, routes::configure).await
}

/// The service with `routes` instead of its own, for tests that need a route the
/// service does not have (a slow one, one that counts its calls, …).
pub async fn spawn_app_with_routes<R>(vars: &[(&str, &str)], routes: R) -> TestApp
where
    R: Fn(&mut ServiceConfig) + Send + Clone + 'static,
{
{%- if database != "none" %}
    // A database of the test's own, migrated, unless the test brings one.
    let database = (!vars.iter().any(|(name, _)| *name == "DATABASE_URL")).then(TestDatabase::new);
    let mut vars = vars.to_vec();
    if let Some(database) = &database {
        vars.push(("DATABASE_URL", database.url()));
    }
    let context = AppContext::new(test_settings(&vars))
        .await
        .expect("build the context");
    context
        .database
        .migrate()
        .await
        .expect("migrate the test database");
{%- else %}
    let context = AppContext::new(test_settings(vars))
        .await
        .expect("build the context");
{%- endif %}
    let application = Application::build_with(&context, routes).expect("build the application");
    let address = format!("http://127.0.0.1:{}", application.port());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async {
        // A dropped sender (the test ended) also stops the server.
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("build an HTTP client");
    TestApp {
        address,
        client,
{%- if cache %}
        context,
{%- endif %}
{%- if database != "none" %}
        _database: database,
{%- endif %}
        stop: Some(stop),
        server: Some(server),
    }
}

/// Settings for a test: loopback, a free port, a fixed key prefix, then `vars`.
pub fn test_settings(vars: &[(&str, &str)]) -> Settings {
    let mut map = vec![
        ("APP_HOST", "127.0.0.1"),
        ("APP_PORT", "0"),
        ("CACHE_PREFIX", PREFIX),
    ];
    map.extend_from_slice(vars);
    Settings::from_vars(map).expect("valid test settings")
}

impl TestApp {
    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET reaches the server")
    }

    /// `PUT path` with a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("PUT reaches the server")
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("DELETE reaches the server")
    }

    /// Starts the graceful shutdown and waits (at most 30 s) until the server has stopped.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let server = self
            .server
            .take()
            .expect("the server task is there until stop");
        tokio::time::timeout(Duration::from_secs(30), server)
            .await
            .expect("the server stops within 30 s")?
    }
}

/// The `x-cache` header of a response, `None` when absent.
pub fn x_cache(response: &Response) -> Option<String> {
    response
        .headers()
        .get("x-cache")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}
