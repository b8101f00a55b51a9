//! A complete resource — model, validation, auth rules, pagination, OpenAPI — in a
//! couple of dozen lines, on the embedded store.
//!
//! ```text
//! cargo run -p flagstone --example notes
//! # register at /api/v1/auth/register, then with the access token:
//! curl -s localhost:3000/api/v1/notes -H "authorization: Bearer $TOKEN" \
//!      -H 'content-type: application/json' -d '{"title":"Buy milk","done":false}'
//! curl -s 'localhost:3000/api/v1/notes?done=false&sort=-created_at' -H "authorization: Bearer $TOKEN"
//! ```

use flagstone::{auth::User, prelude::*};

/// A note, visible to its owner only.
#[derive(Model, Resource)]
#[model(timestamps)]
#[index(fields(created_at = -1))]
#[index(fields(done = 1))]
#[index(fields(title = 1))]
#[resource(path = "/notes", default = owner, create = authenticated)]
pub struct Note {
    /// The id.
    pub id: Id<Note>,
    /// What to remember.
    #[field(len(min = 1, max = 200), filter, sort, select)]
    pub title: String,
    /// Whether it is done.
    #[field(filter)]
    pub done: bool,
    /// Whose note it is.
    #[field(owner)]
    pub owner: Id<User>,
    /// Created.
    #[field(sort)]
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

#[tokio::main]
async fn main() -> flagstone::Result<()> {
    App::from_config()?
        .open_store()
        .await?
        .auth()
        .await?
        .resource::<Note>()
        .await?
        .run()
        .await
}
