//! Articles: lists and the feed, one by slug, writes, favorites and tags.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use bson::{Bson, DateTime, Document, doc, oid::ObjectId};
use futures_util::TryStreamExt as _;
use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    auth::{AuthUser, MaybeUser},
    db::{Article, Favorite, timestamp},
    error::{AppError, AppResult, is_duplicate_key, required},
    profiles::Profile,
};

/// The page size when a list names none, and the largest one it may ask for.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

#[derive(Deserialize)]
pub(crate) struct ListParams {
    tag: Option<String>,
    author: Option<String>,
    favorited: Option<String>,
    // Not a flattened `PageParams`: serde's flatten loses the numbers' types in a query.
    limit: Option<i64>,
    offset: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct PageParams {
    limit: Option<i64>,
    offset: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct Wrapped<T> {
    article: T,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewArticle {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    tag_list: Vec<String>,
}

#[derive(Deserialize)]
pub(crate) struct ArticleChanges {
    title: Option<String>,
    description: Option<String>,
    body: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ArticleView {
    slug: String,
    title: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    tag_list: Vec<String>,
    created_at: String,
    updated_at: String,
    favorited: bool,
    favorites_count: i64,
    author: Profile,
}

impl ArticleView {
    fn new(article: Article, favorited: bool, author: Profile) -> Self {
        Self {
            slug: article.slug,
            title: article.title,
            description: article.description,
            body: article.body,
            tag_list: article.tag_list,
            created_at: timestamp(article.created_at),
            updated_at: timestamp(article.updated_at),
            favorited,
            favorites_count: article.favorites_count,
            author,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct ArticleBody {
    article: ArticleView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ArticlesBody {
    articles: Vec<ArticleView>,
    articles_count: u64,
}

impl ArticlesBody {
    fn empty() -> Json<Self> {
        Json(Self {
            articles: Vec::new(),
            articles_count: 0,
        })
    }
}

#[derive(Serialize)]
pub(crate) struct TagsBody {
    tags: Vec<String>,
}

/// One newest-first page of the articles matching `filter`, without their bodies, with the
/// total count. `all_followed` says the reader follows every author (the feed).
async fn page(
    state: &AppState,
    filter: Document,
    page: PageParams,
    reader: Option<ObjectId>,
    all_followed: bool,
) -> AppResult<Json<ArticlesBody>> {
    let limit = page.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let articles = async {
        let cursor = state
            .db
            .articles
            .find(filter.clone())
            .sort(doc! { "createdAt": -1 })
            .skip(page.offset.unwrap_or(0))
            .limit(limit)
            .projection(doc! { "body": 0 })
            .await?;
        cursor.try_collect::<Vec<Article>>().await
    };
    let count = state.db.articles.count_documents(filter.clone());
    let (articles, articles_count) = tokio::try_join!(articles, async { count.await })?;

    let ids: Vec<ObjectId> = articles.iter().map(|article| article.id).collect();
    let mut author_ids: Vec<ObjectId> = articles.iter().map(|article| article.author).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let followed = async {
        if all_followed {
            Ok(author_ids.iter().copied().collect())
        } else {
            state.db.followed(reader, &author_ids).await
        }
    };
    let (authors, favorited, followed) = tokio::try_join!(
        state.db.authors(&author_ids),
        state.db.favorited(reader, &ids),
        followed,
    )?;
    let articles = articles
        .into_iter()
        .map(|article| {
            let author = authors
                .get(&article.author)
                .map_or_else(Profile::unknown, |author| {
                    Profile::new(author, followed.contains(&author.id))
                });
            let favorited = favorited.contains(&article.id);
            ArticleView::new(article, favorited, author)
        })
        .collect();
    Ok(Json(ArticlesBody {
        articles,
        articles_count,
    }))
}

pub(crate) async fn list(
    State(state): State<AppState>,
    MaybeUser(reader): MaybeUser,
    Query(params): Query<ListParams>,
) -> AppResult<Json<ArticlesBody>> {
    let mut filter = Document::new();
    if let Some(tag) = params.tag {
        filter.insert("tagList", tag);
    }
    if let Some(author) = params.author {
        let Some(author) = state.db.user_id(&author).await? else {
            return Ok(ArticlesBody::empty());
        };
        filter.insert("author", author);
    }
    if let Some(fan) = params.favorited {
        let Some(fan) = state.db.user_id(&fan).await? else {
            return Ok(ArticlesBody::empty());
        };
        let favorites: Vec<Favorite> = state
            .db
            .favorites
            .find(doc! { "user": fan })
            .projection(doc! { "_id": 0, "user": 1, "article": 1 })
            .await?
            .try_collect()
            .await?;
        let ids: Vec<ObjectId> = favorites
            .into_iter()
            .map(|favorite| favorite.article)
            .collect();
        filter.insert("_id", doc! { "$in": ids });
    }
    let params = PageParams {
        limit: params.limit,
        offset: params.offset,
    };
    page(&state, filter, params, reader, false).await
}

pub(crate) async fn feed(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(params): Query<PageParams>,
) -> AppResult<Json<ArticlesBody>> {
    let followees: Vec<ObjectId> = state
        .db
        .follows
        .find(doc! { "follower": auth.id })
        .projection(doc! { "_id": 0, "follower": 1, "followee": 1 })
        .await?
        .map_ok(|follow| follow.followee)
        .try_collect()
        .await?;
    if followees.is_empty() {
        return Ok(ArticlesBody::empty());
    }
    let filter = doc! { "author": { "$in": followees } };
    page(&state, filter, params, Some(auth.id), true).await
}

/// The full view of one article as `reader` sees it.
async fn full_view(
    state: &AppState,
    article: Article,
    reader: Option<ObjectId>,
) -> AppResult<ArticleView> {
    let (author_ids, article_ids) = ([article.author], [article.id]);
    let (authors, favorited, following) = tokio::try_join!(
        state.db.authors(&author_ids),
        state.db.favorited(reader, &article_ids),
        state.db.follows(reader, article.author),
    )?;
    let author = authors
        .get(&article.author)
        .map_or_else(Profile::unknown, |author| Profile::new(author, following));
    let favorited = favorited.contains(&article.id);
    Ok(ArticleView::new(article, favorited, author))
}

async fn by_slug(state: &AppState, slug: &str) -> AppResult<Article> {
    state
        .db
        .articles
        .find_one(doc! { "slug": slug })
        .await?
        .ok_or(AppError::NotFound)
}

pub(crate) async fn get(
    State(state): State<AppState>,
    MaybeUser(reader): MaybeUser,
    Path(slug): Path<String>,
) -> AppResult<Json<ArticleBody>> {
    let article = by_slug(&state, &slug).await?;
    Ok(Json(ArticleBody {
        article: full_view(&state, article, reader).await?,
    }))
}

/// `title` in lower case, runs of anything but letters and digits turned into one `-`.
fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        slug.push_str("article");
    }
    slug
}

/// `base`, or `base` with a suffix from `id` when `attempt` > 0.
fn slug_candidate(base: &str, id: ObjectId, attempt: u32) -> String {
    if attempt == 0 {
        base.to_owned()
    } else {
        let hex = id.to_hex();
        format!("{base}-{}{attempt}", &hex[16..])
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(Wrapped { article: new }): Json<Wrapped<NewArticle>>,
) -> AppResult<(StatusCode, Json<ArticleBody>)> {
    required("title", &new.title)?;
    required("description", &new.description)?;
    required("body", &new.body)?;
    let mut tag_list = new.tag_list;
    tag_list.retain(|tag| !tag.trim().is_empty());
    tag_list.sort_unstable();
    tag_list.dedup();
    let now = DateTime::now();
    let base = slugify(&new.title);
    let mut article = Article {
        id: ObjectId::new(),
        slug: base.clone(),
        title: new.title,
        description: new.description,
        body: Some(new.body),
        tag_list,
        created_at: now,
        updated_at: now,
        author: auth.id,
        favorites_count: 0,
    };
    let insert = async {
        let mut attempt = 0;
        loop {
            article.slug = slug_candidate(&base, article.id, attempt);
            match state.db.articles.insert_one(&article).await {
                Err(error) if is_duplicate_key(&error) && attempt < 3 => attempt += 1,
                outcome => return outcome.map(drop),
            }
        }
    };
    let author_ids = [auth.id];
    let (authors, ()) = tokio::try_join!(state.db.authors(&author_ids), async {
        insert.await.map_err(AppError::from)
    })?;
    let author = authors.get(&auth.id).ok_or(AppError::Unauthorized)?;
    let view = ArticleView::new(article, false, Profile::new(author, false));
    Ok((StatusCode::CREATED, Json(ArticleBody { article: view })))
}

/// The article at `slug` if `user` wrote it: 404 when there is none, 403 when it is
/// someone else's.
async fn own(state: &AppState, slug: &str, user: ObjectId) -> AppResult<Article> {
    let article = by_slug(state, slug).await?;
    if article.author == user {
        Ok(article)
    } else {
        Err(AppError::Forbidden)
    }
}

pub(crate) async fn update(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(slug): Path<String>,
    Json(Wrapped { article: changes }): Json<Wrapped<ArticleChanges>>,
) -> AppResult<Json<ArticleBody>> {
    let article = own(&state, &slug, auth.id).await?;
    let mut set = doc! { "updatedAt": DateTime::now() };
    if let Some(title) = changes.title {
        required("title", &title)?;
        if title != article.title {
            let base = slugify(&title);
            let mut attempt = 0;
            let slug = loop {
                let candidate = slug_candidate(&base, article.id, attempt);
                let taken = state
                    .db
                    .articles
                    .count_documents(doc! { "slug": &candidate, "_id": { "$ne": article.id } })
                    .await?;
                if taken == 0 {
                    break candidate;
                }
                attempt += 1;
            };
            set.insert("slug", slug);
        }
        set.insert("title", title);
    }
    for (field, value) in [("description", changes.description), ("body", changes.body)] {
        if let Some(value) = value {
            required(field, &value)?;
            set.insert(field, value);
        }
    }
    let article = state
        .db
        .articles
        .find_one_and_update(doc! { "_id": article.id }, doc! { "$set": set })
        .return_document(mongodb::options::ReturnDocument::After)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(ArticleBody {
        article: full_view(&state, article, Some(auth.id)).await?,
    }))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(slug): Path<String>,
) -> AppResult<StatusCode> {
    let article = own(&state, &slug, auth.id).await?;
    state
        .db
        .articles
        .delete_one(doc! { "_id": article.id })
        .await?;
    tokio::try_join!(
        state
            .db
            .comments
            .delete_many(doc! { "article": article.id }),
        state
            .db
            .favorites
            .delete_many(doc! { "article": article.id }),
    )?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn favorite(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(slug): Path<String>,
) -> AppResult<Json<ArticleBody>> {
    let mut article = by_slug(&state, &slug).await?;
    let favorite = Favorite {
        user: auth.id,
        article: article.id,
    };
    match state.db.favorites.insert_one(favorite).await {
        Ok(_) => {
            article = state
                .db
                .articles
                .find_one_and_update(
                    doc! { "_id": article.id },
                    doc! { "$inc": { "favoritesCount": 1_i64 } },
                )
                .return_document(mongodb::options::ReturnDocument::After)
                .await?
                .ok_or(AppError::NotFound)?;
        }
        Err(error) if is_duplicate_key(&error) => {}
        Err(error) => return Err(error.into()),
    }
    Ok(Json(ArticleBody {
        article: full_view(&state, article, Some(auth.id)).await?,
    }))
}

pub(crate) async fn unfavorite(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(slug): Path<String>,
) -> AppResult<Json<ArticleBody>> {
    let mut article = by_slug(&state, &slug).await?;
    let removed = state
        .db
        .favorites
        .delete_one(doc! { "user": auth.id, "article": article.id })
        .await?;
    if removed.deleted_count == 1 {
        let updated = state
            .db
            .articles
            .find_one_and_update(
                doc! { "_id": article.id, "favoritesCount": { "$gt": 0 } },
                doc! { "$inc": { "favoritesCount": -1_i64 } },
            )
            .return_document(mongodb::options::ReturnDocument::After)
            .await?;
        article = updated.unwrap_or(article);
    }
    Ok(Json(ArticleBody {
        article: full_view(&state, article, Some(auth.id)).await?,
    }))
}

pub(crate) async fn tags(State(state): State<AppState>) -> AppResult<Json<TagsBody>> {
    let tags = state.db.articles.distinct("tagList", doc! {}).await?;
    let mut tags: Vec<String> = tags
        .into_iter()
        .filter_map(|tag| match tag {
            Bson::String(tag) => Some(tag),
            _ => None,
        })
        .collect();
    tags.sort_unstable();
    Ok(Json(TagsBody { tags }))
}
