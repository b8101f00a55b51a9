//! The todo app: accounts and one resource. `main.rs` runs it; the tests build the same app.

use flagstone::prelude::*;

/// A todo item, visible to and changeable by its owner only.
#[derive(Model, Resource)]
#[model(timestamps)]
#[index(fields(created_at = -1))]
#[index(fields(done = 1))]
#[index(fields(due = 1))]
#[index(fields(title = 1))]
#[resource(path = "/todos", default = owner, create = authenticated)]
pub struct Todo {
    /// The id.
    pub id: Id<Todo>,
    /// What to do.
    #[field(len(min = 1, max = 200), filter, sort, select)]
    pub title: String,
    /// Whether it is done.
    #[field(filter, select)]
    pub done: bool,
    /// When it is due, if ever.
    #[field(filter, sort, select)]
    pub due: Option<Timestamp>,
    /// Whose it is.
    #[field(owner)]
    pub owner: Id<User>,
    /// Created.
    #[field(sort)]
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// Adds the store (embedded unless `database.url` says `mongodb://`), the account routes
/// under `/api/v1/auth` and the todo routes under `/api/v1/todos` to `app`.
pub async fn build(app: App) -> flagstone::Result<App> {
    app.open_store()
        .await?
        .auth()
        .await?
        .resource::<Todo>()
        .await
}
