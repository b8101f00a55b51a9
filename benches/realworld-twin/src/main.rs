//! Run with `cargo run --release -p realworld-twin` (needs a MongoDB-compatible server).
//!
//! The hand-written RealWorld backend the benchmarks compare Flagstone with. Settings come
//! from the environment:
//! - `PORT`: port on 127.0.0.1 (default 3400);
//! - `MONGODB_URL`: the database, e.g. `mongodb://127.0.0.1:27017/conduit` (the default);
//! - `JWT_SECRET`: HS256 signing key (default: a fixed development key).

use std::net::{Ipv4Addr, SocketAddr};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = match std::env::var("PORT") {
        Ok(port) => port.parse()?,
        Err(_) => 3400,
    };
    let url = std::env::var("MONGODB_URL")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017/conduit".to_owned());
    let secret = std::env::var("JWT_SECRET")
        .unwrap_or_else(|_| "realworld-twin development secret, not for production".to_owned());

    let state = realworld_twin::connect(&url, secret.as_bytes()).await?;
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    eprintln!("realworld-twin listening on http://127.0.0.1:{port}");
    axum::serve(listener, realworld_twin::app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
