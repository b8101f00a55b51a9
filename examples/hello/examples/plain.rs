//! The yardstick for `scripts/bench-hello.sh`: the hello example's own `GET /api/v1/hello`
//! handler on bare axum, with no middleware at all, so the difference measured is the
//! default stack. Run with `cargo run -p hello --release --example plain`.

use flagstone::axum::{Router, routing::get};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3001".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("plain axum listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/api/v1/hello", get(hello::hello));
    flagstone::axum::serve(listener, app).await
}
