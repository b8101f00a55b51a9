//! The yardstick for `scripts/bench-hello.sh`: the same `GET /api/v1/hello` route on bare
//! axum, with no middleware at all. Run with `cargo run -p hello --release --example plain`.

use flagstone::axum::{Json, Router, extract::Query, routing::get};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct HelloQuery {
    name: Option<String>,
}

#[derive(Serialize)]
struct Greeting {
    message: String,
}

async fn hello(Query(query): Query<HelloQuery>) -> Json<Greeting> {
    let name = query
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("world");
    Json(Greeting {
        message: format!("Hello, {name}!"),
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3001".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("plain axum listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/api/v1/hello", get(hello));
    flagstone::axum::serve(listener, app).await
}
