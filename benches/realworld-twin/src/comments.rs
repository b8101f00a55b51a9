//! Comments on an article.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use bson::{DateTime, doc, oid::ObjectId};
use futures_util::TryStreamExt as _;
use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    auth::{AuthUser, MaybeUser},
    db::{Comment, timestamp},
    error::{AppError, AppResult, required},
    profiles::Profile,
};

#[derive(Deserialize)]
pub(crate) struct Wrapped<T> {
    comment: T,
}

#[derive(Deserialize)]
pub(crate) struct NewComment {
    #[serde(default)]
    body: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommentView {
    id: i64,
    created_at: String,
    updated_at: String,
    body: String,
    author: Profile,
}

impl CommentView {
    fn new(comment: Comment, author: Profile) -> Self {
        Self {
            id: comment.id,
            created_at: timestamp(comment.created_at),
            updated_at: timestamp(comment.updated_at),
            body: comment.body,
            author,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct CommentBody {
    comment: CommentView,
}

#[derive(Serialize)]
pub(crate) struct CommentsBody {
    comments: Vec<CommentView>,
}

async fn article_id(state: &AppState, slug: &str) -> AppResult<ObjectId> {
    let article = state
        .db
        .articles
        .clone_with_type::<bson::Document>()
        .find_one(doc! { "slug": slug })
        .projection(doc! { "_id": 1 })
        .await?
        .ok_or(AppError::NotFound)?;
    article
        .get_object_id("_id")
        .map_err(|e| AppError::Internal(e.to_string()))
}

pub(crate) async fn list(
    State(state): State<AppState>,
    MaybeUser(reader): MaybeUser,
    Path(slug): Path<String>,
) -> AppResult<Json<CommentsBody>> {
    let article = article_id(&state, &slug).await?;
    let comments: Vec<Comment> = state
        .db
        .comments
        .find(doc! { "article": article })
        .sort(doc! { "_id": 1 })
        .await?
        .try_collect()
        .await?;
    let mut author_ids: Vec<ObjectId> = comments.iter().map(|comment| comment.author).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let (authors, followed) = tokio::try_join!(
        state.db.authors(&author_ids),
        state.db.followed(reader, &author_ids),
    )?;
    let comments = comments
        .into_iter()
        .map(|comment| {
            let author = authors
                .get(&comment.author)
                .map_or_else(Profile::unknown, |author| {
                    Profile::new(author, followed.contains(&author.id))
                });
            CommentView::new(comment, author)
        })
        .collect();
    Ok(Json(CommentsBody { comments }))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(slug): Path<String>,
    Json(Wrapped { comment: new }): Json<Wrapped<NewComment>>,
) -> AppResult<(StatusCode, Json<CommentBody>)> {
    required("body", &new.body)?;
    let author_ids = [auth.id];
    let (article, id, authors) = tokio::try_join!(
        article_id(&state, &slug),
        state.db.next_id("comments"),
        state.db.authors(&author_ids),
    )?;
    let author = authors.get(&auth.id).ok_or(AppError::Unauthorized)?;
    let now = DateTime::now();
    let comment = Comment {
        id,
        article,
        author: auth.id,
        body: new.body,
        created_at: now,
        updated_at: now,
    };
    state.db.comments.insert_one(&comment).await?;
    let view = CommentView::new(comment, Profile::new(author, false));
    Ok((StatusCode::CREATED, Json(CommentBody { comment: view })))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((slug, id)): Path<(String, i64)>,
) -> AppResult<StatusCode> {
    let article = article_id(&state, &slug).await?;
    let comment = state
        .db
        .comments
        .clone_with_type::<bson::Document>()
        .find_one(doc! { "_id": id, "article": article })
        .projection(doc! { "author": 1 })
        .await?
        .ok_or(AppError::NotFound)?;
    let author = comment
        .get_object_id("author")
        .map_err(|e| AppError::Internal(e.to_string()))?;
    if author != auth.id {
        return Err(AppError::Forbidden);
    }
    state.db.comments.delete_one(doc! { "_id": id }).await?;
    Ok(StatusCode::NO_CONTENT)
}
