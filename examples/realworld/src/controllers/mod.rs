//! HTTP only: each handler extracts, calls a [`Conduit`](crate::services::Conduit) service
//! and wraps the answer in RealWorld's envelope.

pub mod articles;
pub mod comments;
pub mod profiles;
pub mod users;

use flagstone::{
    axum::http::{HeaderMap, header},
    prelude::*,
};

use crate::models::UserDoc;

/// The caller's id, when there is one.
fn viewer(user: Option<AuthUser>) -> Option<Id<UserDoc>> {
    user.map(|user| user.id())
}

/// The token the request presented (already verified by the `AuthUser` extractor), so
/// `GET /user` can hand it back.
fn presented_token(headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .map(|(_, token)| token.trim().to_owned())
        .unwrap_or_default()
}
