//! The [`App`] builder: configuration in, a served router out.
//!
//! ```no_run
//! use flagstone::prelude::*;
//!
//! #[tokio::main]
//! async fn main() -> flagstone::Result<()> {
//!     App::from_config()?                                      // files + env, validated
//!         .routes(Router::new().route("/ping", get(|| async { "pong" })))  // under /api/v1
//!         .run()                                               // binds server.host:server.port
//!         .await
//! }
//! ```
//!
//! The assembled router serves, outside the API prefix, `GET /health/live`,
//! `GET /health/ready` and `GET /metrics`, and with the `openapi` feature
//! `GET /openapi.json` and `GET /docs` (see [`crate::openapi`]); everything under the
//! prefix is the app's. Unknown routes answer a 404 problem, wrong methods a 405 problem.
//!
//! Routes documented with `#[utoipa::path]` come in with [`App::api`]; [`App::routes`]
//! takes plain axum routers, which the document knows nothing about.
//!
//! The database comes in with [`App::store`] (a [`Store`] you opened) or
//! [`App::open_store`] (opened from `database.url`): handlers then take it as
//! `Extension<Store>`, and `/health/ready` reports whether it answers.
//!
//! `run` stops on SIGINT or SIGTERM: it stops accepting connections at once, lets
//! in-flight requests finish for up to `server.shutdown_grace`, then returns `Ok(())`.

use std::{future::Future, net::SocketAddr, panic::Location, sync::Arc};

use axum::{Router, http::HeaderValue, response::IntoResponse, routing::get};
use tokio::net::TcpListener;

use crate::{
    Config, Error, Result,
    auth::Auth,
    error::{JsonProblemRenderer, ProblemRenderer},
    health::{self, Readiness},
    http,
    mail::Mailer,
    store::{BackendKind, Store},
    telemetry::{self, Metrics},
};

/// Builds and serves a Flagstone app.
pub struct App {
    config: Config,
    api: Router,
    root: Router,
    readiness: Readiness,
    renderer: Arc<dyn ProblemRenderer>,
    metrics: Option<Arc<Metrics>>,
    /// Shared state added with [`App::state`], added to each request's extensions.
    extensions: axum::http::Extensions,
    /// What [`App::api`] documented, paths relative to the API prefix.
    #[cfg(feature = "openapi")]
    openapi: utoipa::openapi::OpenApi,
    /// Where [`App::routes`] added routers the document does not cover.
    undocumented: Vec<&'static Location<'static>>,
    /// The store added with [`App::store`], for modules that need it.
    store: Option<Store>,
    /// The mailer added with [`App::mailer`].
    mailer: Option<Mailer>,
    /// The largest body let through to streaming extractors ([`App::files`]).
    stream_limit: Option<u64>,
}

impl App {
    /// Loads and validates the configuration ([`Config::load`]) and installs logging.
    /// Fails with every configuration problem listed.
    pub fn from_config() -> Result<Self> {
        let config = Config::load()?;
        telemetry::init(&config.logging);
        Ok(Self::new(config))
    }

    /// Like [`App::from_config`], with the sources `loader` says: an app's embedded
    /// defaults ([`ConfigLoader::defaults`](crate::config::ConfigLoader::defaults)), another
    /// directory, or an adjusted environment.
    pub fn from_loader(loader: crate::config::ConfigLoader) -> Result<Self> {
        let config = loader.load()?;
        telemetry::init(&config.logging);
        Ok(Self::new(config))
    }

    /// An app on an already loaded configuration (tests build one this way). Does not
    /// install logging; call [`telemetry::init`] for that.
    pub fn new(config: Config) -> Self {
        let metrics = config.metrics.enabled.then(|| Arc::new(Metrics::default()));
        Self {
            config,
            api: Router::new(),
            root: Router::new(),
            readiness: Readiness::default(),
            renderer: Arc::new(JsonProblemRenderer),
            metrics,
            extensions: axum::http::Extensions::new(),
            #[cfg(feature = "openapi")]
            openapi: utoipa::openapi::OpenApi::default(),
            undocumented: Vec::new(),
            store: None,
            mailer: None,
            stream_limit: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Adds routes under the API prefix (`api.prefix`, `/api/v1` by default). Call it as
    /// often as you like; the routers are merged.
    ///
    /// These routes are not in the OpenAPI document: prefer [`App::api`]. The app remembers
    /// where each such router was added, and
    /// [`TestApp::openapi_agreement`](crate::testing::TestApp::openapi_agreement) reports it.
    #[track_caller]
    pub fn routes(mut self, routes: Router) -> Self {
        self.api = self.api.merge(routes);
        self.undocumented.push(Location::caller());
        self
    }

    /// Adds documented routes under the API prefix: handlers with `#[utoipa::path]`,
    /// gathered with `routes!`. Their operations go into the OpenAPI document, paths
    /// prefixed. Call it as often as you like; the routers are merged.
    ///
    /// ```
    /// use flagstone::prelude::*;
    ///
    /// /// Answers `pong`.
    /// #[utoipa::path(get, path = "/ping", responses((status = 200, body = String)))]
    /// async fn ping() -> &'static str {
    ///     "pong"
    /// }
    ///
    /// let app = App::new(flagstone::Config::defaults(flagstone::config::Profile::Test))
    ///     .api(OpenApiRouter::new().routes(routes!(ping)));
    /// assert!(app.openapi().paths.paths.contains_key("/api/v1/ping"));
    /// ```
    #[cfg(feature = "openapi")]
    pub fn api(mut self, routes: utoipa_axum::router::OpenApiRouter) -> Self {
        let (router, openapi) = routes.split_for_parts();
        self.api = self.api.merge(router);
        self.openapi.merge(openapi);
        self
    }

    /// The complete OpenAPI document, as served at `openapi.json_path` (see
    /// [`crate::openapi`]).
    #[cfg(feature = "openapi")]
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        crate::openapi::build(&self.config, self.openapi.clone(), &*self.renderer)
    }

    /// Where routers that the OpenAPI document does not cover were added with
    /// [`App::routes`], as `file:line:column`.
    pub fn undocumented_routes(&self) -> Vec<String> {
        self.undocumented.iter().map(ToString::to_string).collect()
    }

    /// Adds routes at the root, outside the API prefix (a docs page, a webhook).
    pub fn root_routes(mut self, routes: Router) -> Self {
        self.root = self.root.merge(routes);
        self
    }

    /// Wraps the API routes added so far in `layer`, inside the default stack, so it sees
    /// the request id, the client IP and the rest. As with [`Router::layer`], routes added
    /// after this call are not wrapped.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service: tower::Service<axum::extract::Request> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Response: IntoResponse + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Error:
            Into<std::convert::Infallible> + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
    {
        self.api = self.api.layer(layer);
        self
    }

    /// Shares `value` with every handler — API and root routes, whenever they are added —
    /// which takes it as `Extension<T>`. A second value of the same type replaces the first.
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }

    /// Opens the store `database.url` names (see [`Store::open`]) and adds it with
    /// [`App::store`]. In production an embedded store is allowed, with a warning.
    pub async fn open_store(self) -> Result<Self> {
        let store = Store::open(&self.config.database).await?;
        if self.config.profile == crate::config::Profile::Production
            && store.kind() != BackendKind::Mongo
        {
            tracing::warn!(
                store = ?store,
                "production is running on the embedded store: fine for one small node, \
                 but it does not replicate or scale out; set database.url to mongodb://..."
            );
        }
        Ok(self.store(store))
    }

    /// Shares `store` with every handler (as `Extension<Store>`) and adds a `database`
    /// readiness check that pings it.
    pub fn store(mut self, store: Store) -> Self {
        self.store = Some(store.clone());
        let probe = store.clone();
        self.state(store).readiness_check("database", move || {
            let store = probe.clone();
            async move {
                store
                    .ping()
                    .await
                    .map_err(|e| e.detail().unwrap_or("unreachable").to_owned())
            }
        })
    }

    /// Shares `mailer` with every handler (as `Extension<Mailer>`); the account routes send
    /// through it. Without this call, [`App::auth`] builds one from `[mail]`.
    pub fn mailer(mut self, mailer: Mailer) -> Self {
        self.mailer = Some(mailer.clone());
        self.state(mailer)
    }

    /// Shares `files` with every handler (as `Extension<FileStore>`), where the
    /// [`Upload`](crate::files::Upload) extractor finds it, and lets request bodies up to
    /// `files.max_size` (plus multipart framing) through to the extractors that stream them;
    /// buffering extractors such as `Json` keep `server.body_limit`.
    #[cfg(feature = "files")]
    pub fn files(mut self, files: crate::files::FileStore) -> Self {
        let limit = files.config().max_size.saturating_add(64 * 1024);
        self.stream_limit = Some(limit);
        self.state(files)
    }

    /// Adds authentication with the default [`User`](crate::auth::User): the account routes
    /// under `{api.prefix}/auth` (register, login, refresh, logout, me, password and email
    /// flows; see [`crate::auth::account`]), and the [`Auth`] that the
    /// [`AuthUser`](crate::auth::AuthUser) extractors read. Needs the store
    /// ([`App::open_store`] or [`App::store`] first); creates its indexes.
    ///
    /// ```no_run
    /// # async fn run() -> flagstone::Result<()> {
    /// flagstone::App::from_config()?.open_store().await?.auth().await?.run().await
    /// # }
    /// ```
    #[cfg(feature = "openapi")]
    pub async fn auth(self) -> Result<Self> {
        self.auth_with::<crate::auth::User>().await
    }

    /// [`App::auth`] with the app's own user type.
    #[cfg(feature = "openapi")]
    pub async fn auth_with<U: crate::auth::UserModel>(self) -> Result<Self> {
        let store = self.store.clone().ok_or_else(|| {
            Error::internal(std::io::Error::other(
                "App::auth needs the store: call open_store() or store() before it",
            ))
        })?;
        let auth = Auth::new(&self.config, &store)?;
        if self.config.profile == crate::config::Profile::Production
            && self.mailer.is_none()
            && self.config.mail.transport == crate::config::MailTransportKind::Log
        {
            return Err(Error::internal(std::io::Error::other(
                "mail.transport = \"log\" would write password reset links into the production \
                 logs: set mail.transport = \"smtp\" and mail.smtp_url (or pass App::mailer)",
            )));
        }
        let mut app = match self.mailer.clone() {
            Some(_) => self,
            None => {
                let mailer = Mailer::from_config(&self.config.mail)?;
                self.mailer(mailer)
            }
        };
        let mailer = app.mailer.clone().unwrap_or_else(|| Mailer::memory().0);
        let (router, openapi) =
            crate::auth::account::routes::<U>(auth.clone(), &store, mailer).await?;
        app.api = app.api.merge(router);
        app.openapi.merge(openapi);
        Ok(app.state(auth))
    }

    /// Serves the resource `T` (see [`crate::resource`]): prepares its collection (indexes,
    /// the `$jsonSchema` validator on MongoDB, the unindexed-field check; see
    /// [`crate::model::schema::prepare`]) and mounts its routes and OpenAPI operations under
    /// the API prefix, with `T`'s default hooks. Needs the store first.
    #[cfg(feature = "openapi")]
    pub async fn resource<T: crate::resource::Resource>(self) -> Result<Self> {
        self.resource_with::<T>(T::Hooks::default()).await
    }

    /// [`App::resource`] with a hooks value of your own (one that holds a mailer, say).
    #[cfg(feature = "openapi")]
    pub async fn resource_with<T: crate::resource::Resource>(
        mut self,
        hooks: T::Hooks,
    ) -> Result<Self> {
        let store = self.store.clone().ok_or_else(|| {
            Error::internal(std::io::Error::other(
                "App::resource needs the store: call open_store() or store() before it",
            ))
        })?;
        crate::model::schema::prepare::<T>(&store, &self.config).await?;
        let (router, openapi) = crate::resource::router::<T>(hooks);
        self.api = self.api.merge(router);
        self.openapi.merge(openapi);
        Ok(self)
    }

    /// Adds a readiness check to `/health/ready`.
    pub fn readiness_check<F, Fut>(mut self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), String>> + Send + 'static,
    {
        self.readiness.add(name, check);
        self
    }

    /// Replaces how errors are rendered (the default is RFC 9457 problem+json).
    pub fn problem_renderer(mut self, renderer: impl ProblemRenderer) -> Self {
        self.renderer = Arc::new(renderer);
        self
    }

    /// The complete router: health, metrics, the API under its prefix and the fallback,
    /// all wrapped in the default middleware stack.
    pub fn into_router(self) -> Router {
        Router::new().fallback_service(self.into_service())
    }

    /// What [`App::into_router`] serves, without the router around it.
    fn into_service(
        self,
    ) -> impl tower::Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static {
        let prefix = self.config.api.prefix.as_str();
        let own = match prefix.is_empty() {
            true => self.root.merge(self.api),
            false => self.root.nest(prefix, self.api),
        };
        let limits = crate::validation::InputLimits {
            max_depth: usize::try_from(self.config.api.max_json_depth).unwrap_or(usize::MAX),
            max_string_length: usize::try_from(self.config.api.max_string_length)
                .unwrap_or(usize::MAX),
        };
        let cursor_key = match &self.config.auth.secret {
            Some(secret) => crate::pagination::CursorKey::from_secret(secret.expose().as_bytes()),
            None => crate::pagination::CursorKey::ephemeral(),
        };
        let mut state = self.extensions;
        state.insert(limits);
        state.insert(cursor_key);
        let own = own.fallback(
            |method: axum::http::Method, uri: axum::http::Uri| async move {
                Error::not_found(format!("no route for {method} {}", uri.path()))
            },
        );
        let mut router = health::routes(self.readiness);
        let mut probe_paths = vec!["/health/live".to_owned(), "/health/ready".to_owned()];
        #[cfg(feature = "openapi")]
        if self.config.openapi.enabled {
            probe_paths.push(self.config.openapi.json_path.clone());
            probe_paths.push(self.config.openapi.docs_path.clone());
            let document = crate::openapi::build(&self.config, self.openapi, &*self.renderer);
            // Serializing plain strings, maps and numbers cannot fail.
            let json = serde_json::to_vec(&document).unwrap_or_default();
            router = router.merge(crate::openapi::routes(&self.config.openapi, json.into()));
        }
        if let Some(metrics) = &self.metrics {
            let metrics = metrics.clone();
            probe_paths.push(self.config.metrics.path.clone());
            router = router.route(
                &self.config.metrics.path,
                get(move || async move {
                    let content_type =
                        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
                    (
                        [(axum::http::header::CONTENT_TYPE, content_type)],
                        metrics.render(),
                    )
                }),
            );
        }
        let own = http::limit(own, &self.config, self.stream_limit, state);
        http::wrap(
            router,
            probe_paths,
            own,
            &self.config,
            self.renderer,
            self.metrics,
        )
    }

    /// Binds `server.host:server.port`, prints the URL (and the docs page's), and serves
    /// until SIGINT or SIGTERM.
    pub async fn run(self) -> Result<()> {
        let address = format!("{}:{}", self.config.server.host, self.config.server.port);
        let listener = TcpListener::bind(&address).await.map_err(|e| {
            Error::internal(std::io::Error::new(
                e.kind(),
                format!("cannot listen on {address}: {e}"),
            ))
        })?;
        let local = listener.local_addr()?;
        println!(
            "listening on http://{local} ({} profile)",
            self.config.profile
        );
        #[cfg(feature = "openapi")]
        if self.config.openapi.enabled {
            println!(
                "API docs at http://{local}{}",
                self.config.openapi.docs_path
            );
        }
        self.serve(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `shutdown` completes, then drains in-flight requests for up
    /// to `server.shutdown_grace`. New connections are refused from the moment `shutdown`
    /// completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let grace = self.config.server.shutdown_grace;
        let (fired_tx, fired_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!(grace = ?grace, "shutting down: draining in-flight requests");
            let _ = fired_tx.send(());
        };
        let make_service =
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                SocketAddr,
            >(self.into_service());
        let server = axum::serve(listener, make_service)
            .with_graceful_shutdown(signal)
            .into_future();
        tokio::pin!(server);
        tokio::select! {
            result = &mut server => return result.map_err(Error::from),
            _ = fired_rx => {}
        }
        match tokio::time::timeout(grace, server).await {
            Ok(result) => result.map_err(Error::from),
            Err(_) => {
                tracing::warn!(grace = ?grace, "grace period over: closing the remaining connections");
                Ok(())
            }
        }
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.config)
            .field("readiness", &self.readiness)
            .finish_non_exhaustive()
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
