//! A hand-written RealWorld ("Conduit") backend on axum and the official MongoDB driver,
//! with no Flagstone in it: the yardstick Flagstone's realworld example is measured
//! against (see `scripts/bench-realworld.sh` and the guide's performance page).
//!
//! It is written the way one would write it by hand for production: argon2id passwords on
//! the blocking pool, HS256 tokens, one collection per entity with the indexes its queries
//! need, projections of only the fields a response shows, independent queries run
//! concurrently, and serde all the way.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let state = realworld_twin::connect("mongodb://127.0.0.1:27017/conduit", b"secret").await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3400").await?;
//! axum::serve(listener, realworld_twin::app(state)).await?;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use axum::{
    Router,
    routing::{get, post},
};
use mongodb::{Client, Database};

mod articles;
mod auth;
mod comments;
mod db;
mod error;
mod profiles;
mod users;

/// What every handler shares: the collections, the token keys and the password hasher.
/// Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    db: Arc<db::Collections>,
    tokens: Arc<auth::Tokens>,
    passwords: Arc<auth::Passwords>,
}

/// Connects to the database named in `url` (`conduit` when it names none), creates the
/// indexes, and returns the state that [`app`] serves; tokens are signed with `secret`.
pub async fn connect(url: &str, secret: &[u8]) -> mongodb::error::Result<AppState> {
    let client = Client::with_uri_str(url).await?;
    let database: Database = client
        .default_database()
        .unwrap_or_else(|| client.database("conduit"));
    let db = db::Collections::new(&database);
    db.create_indexes().await?;
    Ok(AppState {
        db: Arc::new(db),
        tokens: Arc::new(auth::Tokens::new(secret)),
        passwords: Arc::new(auth::Passwords::new()),
    })
}

/// The RealWorld API under `/api`, plus `GET /health/live`.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/users", post(users::register))
        .route("/users/login", post(users::login))
        .route("/user", get(users::current).put(users::update))
        .route("/profiles/{username}", get(profiles::get))
        .route(
            "/profiles/{username}/follow",
            post(profiles::follow).delete(profiles::unfollow),
        )
        .route("/articles", get(articles::list).post(articles::create))
        .route("/articles/feed", get(articles::feed))
        .route(
            "/articles/{slug}",
            get(articles::get)
                .put(articles::update)
                .delete(articles::delete),
        )
        .route(
            "/articles/{slug}/favorite",
            post(articles::favorite).delete(articles::unfavorite),
        )
        .route(
            "/articles/{slug}/comments",
            get(comments::list).post(comments::create),
        )
        .route(
            "/articles/{slug}/comments/{id}",
            axum::routing::delete(comments::delete),
        )
        .route("/tags", get(articles::tags));
    Router::new()
        .nest("/api", api)
        .route("/health/live", get(|| async { "ok" }))
        .with_state(state)
}
