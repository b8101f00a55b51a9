//! Articles, the feed, favorites and tags.

use flagstone::{prelude::*, validation::Valid};
use serde::Deserialize;

use super::viewer;
use crate::{
    models::{ArticleEnvelope, ArticlesEnvelope, TagsEnvelope},
    services::{ArticleChanges, ArticleFilter, Conduit, NewArticle},
};

/// `{"article": {"title", "description", "body", "tagList"?}}`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// The article.
    #[validate(nested)]
    pub article: NewArticle,
}

/// `{"article": {...changes}}`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// What to change.
    #[validate(nested)]
    pub article: ArticleChanges,
}

/// Filters and paging of `GET /articles`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only articles with this tag.
    pub tag: Option<String>,
    /// Only articles by this username.
    pub author: Option<String>,
    /// Only articles this username favorited.
    pub favorited: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[validate(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// Articles to skip (default 0).
    #[validate(range(max = 1_000_000_000))]
    #[param(maximum = 1_000_000_000)]
    pub offset: Option<u64>,
}

/// Paging of `GET /articles/feed`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Page size, 1 to 100 (default 20).
    #[validate(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// Articles to skip (default 0).
    #[validate(range(max = 1_000_000_000))]
    #[param(maximum = 1_000_000_000)]
    pub offset: Option<u64>,
}

const DEFAULT_LIMIT: u64 = 20;

/// Articles, newest first, filtered by tag, author or favoriter; `articlesCount` is the
/// total that match.
#[utoipa::path(operation_id = "listArticles", get, path = "/articles", tag = "articles", params(ListQuery),
               responses((status = 200, description = "A page of articles and the total count", body = ArticlesEnvelope)),
               security((), ("bearer" = [])))]
pub async fn list(
    Extension(conduit): Extension<Conduit>,
    user: Option<AuthUser>,
    Valid(Query(query)): Valid<Query<ListQuery>>,
) -> flagstone::Result<Json<ArticlesEnvelope>> {
    let filter = ArticleFilter {
        tag: query.tag,
        author: query.author,
        favorited: query.favorited,
        limit: query.limit.unwrap_or(DEFAULT_LIMIT),
        offset: query.offset.unwrap_or(0),
    };
    Ok(Json(conduit.list(filter, viewer(user)).await?))
}

/// Articles by the authors the caller follows, newest first.
#[utoipa::path(operation_id = "getFeed", get, path = "/articles/feed", tag = "articles", params(FeedQuery),
               responses((status = 200, description = "A page of articles and the total count", body = ArticlesEnvelope)),
               security(("bearer" = [])))]
pub async fn feed(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Valid(Query(query)): Valid<Query<FeedQuery>>,
) -> flagstone::Result<Json<ArticlesEnvelope>> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    let offset = query.offset.unwrap_or(0);
    Ok(Json(conduit.feed(user.id(), limit, offset).await?))
}

/// Publishes an article; its slug comes from the title.
#[utoipa::path(operation_id = "createArticle", post, path = "/articles", tag = "articles", request_body = Publish,
               responses((status = 201, description = "The article", body = ArticleEnvelope)),
               security(("bearer" = [])))]
pub async fn create(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Valid(Json(body)): Valid<Json<Publish>>,
) -> flagstone::Result<(StatusCode, Json<ArticleEnvelope>)> {
    let article = conduit.create(user.id(), body.article).await?;
    Ok((StatusCode::CREATED, Json(ArticleEnvelope { article })))
}

/// One article.
#[utoipa::path(operation_id = "getArticle", get, path = "/articles/{slug}", tag = "articles",
               params(("slug" = String, Path, description = "The article's slug")),
               responses((status = 200, description = "The article", body = ArticleEnvelope)),
               security((), ("bearer" = [])))]
pub async fn get(
    Extension(conduit): Extension<Conduit>,
    user: Option<AuthUser>,
    Path(slug): Path<String>,
) -> flagstone::Result<Json<ArticleEnvelope>> {
    let article = conduit.article(&slug, viewer(user)).await?;
    Ok(Json(ArticleEnvelope { article }))
}

/// Changes an article (its author only); a new title gives a new slug.
#[utoipa::path(operation_id = "updateArticle", put, path = "/articles/{slug}", tag = "articles", request_body = Edit,
               params(("slug" = String, Path, description = "The article's slug")),
               responses((status = 200, description = "The article", body = ArticleEnvelope)),
               security(("bearer" = [])))]
pub async fn update(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Path(slug): Path<String>,
    Valid(Json(body)): Valid<Json<Edit>>,
) -> flagstone::Result<Json<ArticleEnvelope>> {
    let article = conduit.update(user.id(), &slug, body.article).await?;
    Ok(Json(ArticleEnvelope { article }))
}

/// Deletes an article (its author only), with its comments and favorites.
#[utoipa::path(operation_id = "deleteArticle", delete, path = "/articles/{slug}", tag = "articles",
               params(("slug" = String, Path, description = "The article's slug")),
               responses((status = 204, description = "Deleted")),
               security(("bearer" = [])))]
pub async fn delete(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Path(slug): Path<String>,
) -> flagstone::Result<StatusCode> {
    conduit.delete(user.id(), &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Favorites an article (idempotent).
#[utoipa::path(operation_id = "favoriteArticle", post, path = "/articles/{slug}/favorite", tag = "articles",
               params(("slug" = String, Path, description = "The article's slug")),
               responses((status = 200, description = "The article", body = ArticleEnvelope)),
               security(("bearer" = [])))]
pub async fn favorite(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Path(slug): Path<String>,
) -> flagstone::Result<Json<ArticleEnvelope>> {
    let article = conduit.favorite(user.id(), &slug).await?;
    Ok(Json(ArticleEnvelope { article }))
}

/// Takes back a favorite (idempotent).
#[utoipa::path(operation_id = "unfavoriteArticle", delete, path = "/articles/{slug}/favorite", tag = "articles",
               params(("slug" = String, Path, description = "The article's slug")),
               responses((status = 200, description = "The article", body = ArticleEnvelope)),
               security(("bearer" = [])))]
pub async fn unfavorite(
    Extension(conduit): Extension<Conduit>,
    user: AuthUser,
    Path(slug): Path<String>,
) -> flagstone::Result<Json<ArticleEnvelope>> {
    let article = conduit.unfavorite(user.id(), &slug).await?;
    Ok(Json(ArticleEnvelope { article }))
}

/// Every tag in use.
#[utoipa::path(operation_id = "listTags", get, path = "/tags", tag = "tags",
               responses((status = 200, description = "The tags", body = TagsEnvelope)))]
pub async fn tags(Extension(conduit): Extension<Conduit>) -> flagstone::Result<Json<TagsEnvelope>> {
    let tags = conduit.tags().await?;
    Ok(Json(TagsEnvelope { tags }))
}
