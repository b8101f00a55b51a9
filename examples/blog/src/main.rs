//! `blog` serves the API; `blog seed` and `blog publish-due` run services from the command
//! line, with the same configuration and store.

use std::process::ExitCode;

use flagstone::{App, Store, auth::Auth, store::Timestamp};

const USAGE: &str = "usage: blog [serve | seed | publish-due]

  serve        serve the API (the default)
  seed         create one user per role (admin, editor, reader) and two posts
  publish-due  publish the scheduled posts whose time has come";

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args().nth(1);
    let command = command.as_deref().unwrap_or("serve");
    match command {
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "serve" | "seed" | "publish-due" => {}
        other => {
            eprintln!("unknown command {other:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:?}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: &str) -> flagstone::Result<()> {
    let app = App::from_config()?;
    let store = Store::open(&app.config().database).await?;
    let config = app.config().clone();
    let app = blog::build(app, store.clone()).await?;
    match command {
        "serve" => app.run().await,
        "seed" => {
            let created = blog::services::seed(&store, &Auth::new(&config, &store)?).await?;
            println!(
                "seeded: {created} new users (password: {})",
                blog::services::SEED_PASSWORD
            );
            Ok(())
        }
        "publish-due" => {
            let published = blog::services::Publishing::new(&store)
                .publish_due(Timestamp::now())
                .await?;
            println!("published {published} scheduled posts");
            Ok(())
        }
        _ => Ok(()),
    }
}
