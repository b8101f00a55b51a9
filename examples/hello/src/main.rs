//! Run with `cargo run -p hello`.

use flagstone::App;

#[tokio::main]
async fn main() -> flagstone::Result<()> {
    App::from_config()?.api(hello::routes()).run().await
}
