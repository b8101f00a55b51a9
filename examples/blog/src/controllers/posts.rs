//! `POST /posts/{id}/publish` and `POST /posts/{id}/schedule`.

use flagstone::{model::Model, prelude::*, validation::Valid};
use serde::Deserialize;

use crate::{
    models::{Post, PostView},
    services::Publishing,
};

/// Publishes a post now (editors only).
#[utoipa::path(post, path = "/posts/{id}/publish", tag = "posts",
               params(("id" = String, Path, description = "The post's id")),
               responses((status = 200, body = PostView)),
               security(("bearer" = []), ("cookie" = [])))]
pub async fn publish(
    Extension(store): Extension<Store>,
    user: AuthUser,
    Path(id): Path<Id<Post>>,
) -> flagstone::Result<Json<PostView>> {
    let post = Publishing::new(&store).publish(id, user.roles()).await?;
    Ok(Json(post.view()))
}

/// When to publish a post.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The time, in the future.
    pub at: Timestamp,
}

/// Schedules a draft (editors only); `blog publish-due` publishes it when its time comes.
#[utoipa::path(post, path = "/posts/{id}/schedule", tag = "posts", request_body = Schedule,
               params(("id" = String, Path, description = "The post's id")),
               responses((status = 200, body = PostView)),
               security(("bearer" = []), ("cookie" = [])))]
pub async fn schedule(
    Extension(store): Extension<Store>,
    user: AuthUser,
    Path(id): Path<Id<Post>>,
    Valid(Json(body)): Valid<Json<Schedule>>,
) -> flagstone::Result<Json<PostView>> {
    let post = Publishing::new(&store)
        .schedule(id, body.at, user.roles())
        .await?;
    Ok(Json(post.view()))
}
