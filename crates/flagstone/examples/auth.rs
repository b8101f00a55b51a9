//! The account routes and a protected route, on the embedded store.
//!
//! ```text
//! cargo run -p flagstone --example auth
//! curl -s localhost:3000/api/v1/auth/register -H 'content-type: application/json' \
//!      -d '{"email":"ada@example.com","password":"correct horse battery"}'
//! curl -s localhost:3000/api/v1/secret -H "authorization: Bearer $ACCESS_TOKEN"
//! ```
//!
//! Mails (the verification link) are written to the log in development.

use flagstone::{auth::AuthUser, prelude::*};

/// Only for logged-in users.
#[utoipa::path(get, path = "/secret", responses((status = 200, body = String)),
               security(("bearer" = [])))]
async fn secret(user: AuthUser) -> String {
    format!("hello {}, your roles are {:?}", user.sub(), user.roles())
}

#[tokio::main]
async fn main() -> flagstone::Result<()> {
    App::from_config()?
        .open_store()
        .await?
        .auth()
        .await?
        .api(OpenApiRouter::new().routes(routes!(secret)))
        .run()
        .await
}
