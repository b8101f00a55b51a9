//! `GET /profiles/{username}` and following.

use flagstone::prelude::*;

use super::viewer;
use crate::{models::ProfileEnvelope, services::Conduit};

/// A user's profile; `following` says whether the caller follows them.
#[utoipa::path(operation_id = "getProfile", get, path = "/profiles/{username}", tag = "profiles",
               params(("username" = String, Path, description = "The username")),
               responses((status = 200, description = "The profile", body = ProfileEnvelope)),
               security((), ("bearer" = [])))]
pub async fn get(
    Extension(conduit): Extension<Conduit>,
    user: Option<AuthUser>,
    Path(username): Path<String>,
) -> flagstone::Result<Json<ProfileEnvelope>> {
    let profile = conduit.profile(&username, viewer(user)).await?;
    Ok(Json(ProfileEnvelope { profile }))
}

/// Follows a user (idempotent).
#[utoipa::path(operation_id = "followUser", post, path = "/profiles/{username}/follow", tag = "profiles",
               params(("username" = String, Path, description = "The username")),
               responses((status = 200, description = "The profile", body = ProfileEnvelope)),
               security(("bearer" = [])))]
pub async fn follow(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Path(username): Path<String>,
) -> flagstone::Result<Json<ProfileEnvelope>> {
    let profile = conduit.follow(user.id(), &username).await?;
    Ok(Json(ProfileEnvelope { profile }))
}

/// Stops following a user (idempotent).
#[utoipa::path(operation_id = "unfollowUser", delete, path = "/profiles/{username}/follow", tag = "profiles",
               params(("username" = String, Path, description = "The username")),
               responses((status = 200, description = "The profile", body = ProfileEnvelope)),
               security(("bearer" = [])))]
pub async fn unfollow(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Path(username): Path<String>,
) -> flagstone::Result<Json<ProfileEnvelope>> {
    let profile = conduit.unfollow(user.id(), &username).await?;
    Ok(Json(ProfileEnvelope { profile }))
}
