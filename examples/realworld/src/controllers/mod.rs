//! HTTP only: each handler extracts, calls a [`Conduit`](crate::services::Conduit) service
//! and wraps the answer in RealWorld's envelope.

pub mod articles;
pub mod comments;
pub mod profiles;
pub mod users;

use flagstone::prelude::*;

use crate::models::UserDoc;

/// The caller's id, when there is one.
fn viewer(user: Option<AuthUser>) -> Option<Id<UserDoc>> {
    user.map(|user| user.id())
}
