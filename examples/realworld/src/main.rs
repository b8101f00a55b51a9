//! Run with `cargo run -p realworld`: the Conduit API at http://127.0.0.1:3000/api, its
//! docs page at http://127.0.0.1:3000/docs. `PORT=8080` moves it; `FLAGSTONE_DATABASE__URL`
//! puts it on MongoDB.

#[tokio::main]
async fn main() -> flagstone::Result<()> {
    let app = flagstone::App::from_loader(realworld::config::loader())?;
    realworld::build(app).await?.run().await
}
