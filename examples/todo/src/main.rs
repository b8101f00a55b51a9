//! Run with `cargo run -p todo`; the docs page is at http://127.0.0.1:3000/docs.

#[tokio::main]
async fn main() -> flagstone::Result<()> {
    todo::build(flagstone::App::from_config()?)
        .await?
        .run()
        .await
}
