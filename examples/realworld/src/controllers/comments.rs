//! Comments on an article.

use flagstone::{prelude::*, validation::Valid};
use serde::Deserialize;

use super::viewer;
use crate::{
    models::{CommentEnvelope, CommentsEnvelope},
    services::{Conduit, NewComment},
};

/// `{"comment": {"body"}}`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Post {
    /// The comment.
    #[validate(nested)]
    pub comment: NewComment,
}

/// The comments on an article, newest first.
#[utoipa::path(operation_id = "listComments", get, path = "/articles/{slug}/comments", tag = "comments",
               params(("slug" = String, Path, description = "The article's slug")),
               responses((status = 200, description = "The comments", body = CommentsEnvelope)),
               security((), ("bearer" = [])))]
pub async fn list(
    Extension(conduit): Extension<Conduit>,
    user: Option<AuthUser>,
    Path(slug): Path<String>,
) -> flagstone::Result<Json<CommentsEnvelope>> {
    Ok(Json(conduit.comments(&slug, viewer(user)).await?))
}

/// Comments on an article.
#[utoipa::path(operation_id = "createComment", post, path = "/articles/{slug}/comments", tag = "comments", request_body = Post,
               params(("slug" = String, Path, description = "The article's slug")),
               responses((status = 201, description = "The comment", body = CommentEnvelope)),
               security(("bearer" = [])))]
pub async fn create(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Path(slug): Path<String>,
    Valid(Json(body)): Valid<Json<Post>>,
) -> flagstone::Result<(StatusCode, Json<CommentEnvelope>)> {
    let comment = conduit.comment(user.id(), &slug, body.comment).await?;
    Ok((StatusCode::CREATED, Json(CommentEnvelope { comment })))
}

/// Deletes a comment (its author only).
#[utoipa::path(operation_id = "deleteComment", delete, path = "/articles/{slug}/comments/{id}", tag = "comments",
               params(("slug" = String, Path, description = "The article's slug"),
                      ("id" = String, Path, description = "The comment's id")),
               responses((status = 204, description = "Deleted")),
               security(("bearer" = [])))]
pub async fn delete(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Path((slug, id)): Path<(String, String)>,
) -> flagstone::Result<StatusCode> {
    // A non-numeric id names no comment.
    let id: i64 = id
        .parse()
        .map_err(|_| Error::not_found("comment not found"))?;
    conduit.delete_comment(user.id(), &slug, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
