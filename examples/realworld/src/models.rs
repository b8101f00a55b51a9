//! What is stored, with its indexes, and the shapes the API answers with.
//!
//! Five collections:
//!
//! | collection | holds | indexes |
//! | --- | --- | --- |
//! | `users` | accounts; `following` lists whom the user follows | unique `email_key`, unique `username` |
//! | `articles` | articles, with `favorites_count` kept next to them | unique `slug`; `created_at`; `author`, `tag_list` (each with `created_at`) |
//! | `favorites` | one document per (user, article) | unique `(user, article)`, `article` |
//! | `comments` | comments, numbered from the `counters` collection | `(article, created_at)`, unique `(article, number)` |
//! | `counters` | the last comment number | `_id` |
//!
//! A favorite is its own document rather than an array in the article, so favoriting is
//! idempotent through the unique index, and "articles favorited by X" is an indexed query.

use flagstone::prelude::*;
use serde::{Deserialize, Serialize};

/// A registered user, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserDoc {
    /// The id, also the token's subject.
    #[serde(rename = "_id")]
    pub id: Id<UserDoc>,
    /// Unique, exactly as registered.
    pub username: String,
    /// The address as given.
    pub email: String,
    /// The address trimmed and lowercased: what uniqueness and login compare.
    pub email_key: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// A short biography.
    pub bio: Option<String>,
    /// A picture URL.
    pub image: Option<String>,
    /// Whom this user follows.
    #[serde(default)]
    pub following: Vec<Id<UserDoc>>,
}

/// What `GET /api/user` shows of the caller, read with a projection: never the password
/// hash, nor the follow list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountDoc {
    /// The id.
    #[serde(rename = "_id")]
    pub id: Id<UserDoc>,
    /// The username.
    pub username: String,
    /// The address as given.
    pub email: String,
    /// The biography.
    #[serde(default)]
    pub bio: Option<String>,
    /// The picture.
    #[serde(default)]
    pub image: Option<String>,
}

impl From<UserDoc> for AccountDoc {
    fn from(user: UserDoc) -> Self {
        Self {
            id: user.id,
            username: user.username,
            email: user.email,
            bio: user.bio,
            image: user.image,
        }
    }
}

/// The public part of a user, read with a projection for author profiles.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthorDoc {
    /// The id.
    #[serde(rename = "_id")]
    pub id: Id<UserDoc>,
    /// The username.
    pub username: String,
    /// The biography.
    #[serde(default)]
    pub bio: Option<String>,
    /// The picture.
    #[serde(default)]
    pub image: Option<String>,
}

/// The follow list of the caller, read with a projection.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FollowingDoc {
    /// Whom the caller follows.
    #[serde(default)]
    pub following: Vec<Id<UserDoc>>,
}

/// An article, as stored. Lists read it without `body`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ArticleDoc {
    /// The id.
    #[serde(rename = "_id")]
    pub id: Id<ArticleDoc>,
    /// Unique; derived from the title.
    pub slug: String,
    /// The title.
    pub title: String,
    /// The description.
    pub description: String,
    /// The text; empty when read for a list.
    #[serde(default)]
    pub body: String,
    /// Tags, sorted and without duplicates.
    pub tag_list: Vec<String>,
    /// Who wrote it.
    pub author: Id<UserDoc>,
    /// How many users favorited it.
    pub favorites_count: i64,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// One user's favorite of one article.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FavoriteDoc {
    /// The id.
    #[serde(rename = "_id")]
    pub id: Id<FavoriteDoc>,
    /// Who favorited.
    pub user: Id<UserDoc>,
    /// What.
    pub article: Id<ArticleDoc>,
}

/// A comment on an article, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CommentDoc {
    /// The document id.
    #[serde(rename = "_id")]
    pub id: Id<CommentDoc>,
    /// The integer id the API shows, unique across comments.
    pub number: i64,
    /// The article commented on.
    pub article: Id<ArticleDoc>,
    /// Who wrote it.
    pub author: Id<UserDoc>,
    /// The text.
    pub body: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// A named counter (`_id: "comments"`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CounterDoc {
    /// The counter's name.
    #[serde(rename = "_id")]
    pub id: String,
    /// The last number handed out.
    pub seq: i64,
}

/// The indexes of each collection, by collection name.
pub fn indexes() -> [(&'static str, Vec<Index>); 4] {
    [
        (
            "users",
            vec![
                Index::new(doc! { "email_key": 1 }).unique(),
                Index::new(doc! { "username": 1 }).unique(),
            ],
        ),
        (
            "articles",
            vec![
                Index::new(doc! { "slug": 1 }).unique(),
                Index::new(doc! { "created_at": -1, "_id": -1 }),
                Index::new(doc! { "author": 1, "created_at": -1 }),
                Index::new(doc! { "tag_list": 1, "created_at": -1 }),
            ],
        ),
        (
            "favorites",
            vec![
                Index::new(doc! { "user": 1, "article": 1 }).unique(),
                Index::new(doc! { "article": 1 }),
            ],
        ),
        (
            "comments",
            vec![
                Index::new(doc! { "article": 1, "created_at": -1 }),
                Index::new(doc! { "article": 1, "number": 1 }).unique(),
            ],
        ),
    ]
}

/// `{"user": {...}}`: the caller's account with their token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserEnvelope {
    /// The user.
    pub user: User,
}

/// The caller's account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct User {
    /// The email address.
    pub email: String,
    /// A JWT for `Authorization: Token <jwt>`.
    pub token: String,
    /// The username.
    pub username: String,
    /// The biography.
    pub bio: Option<String>,
    /// The picture URL.
    pub image: Option<String>,
}

/// `{"profile": {...}}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProfileEnvelope {
    /// The profile.
    pub profile: Profile,
}

/// A user as others see them.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    /// The username.
    pub username: String,
    /// The biography.
    pub bio: Option<String>,
    /// The picture URL.
    pub image: Option<String>,
    /// Whether the caller follows them (false when anonymous).
    pub following: bool,
}

impl Profile {
    /// `author` as seen by someone who follows `following`.
    pub fn of(author: &AuthorDoc, following: &[Id<UserDoc>]) -> Self {
        Self {
            username: author.username.clone(),
            bio: author.bio.clone(),
            image: author.image.clone(),
            following: following.contains(&author.id),
        }
    }
}

/// `{"article": {...}}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArticleEnvelope {
    /// The article.
    pub article: Article,
}

/// `{"articles": [...], "articlesCount": N}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArticlesEnvelope {
    /// One page, newest first, without bodies.
    pub articles: Vec<Article>,
    /// How many articles match in total.
    pub articles_count: u64,
}

/// An article as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    /// The URL name.
    pub slug: String,
    /// The title.
    pub title: String,
    /// The description.
    pub description: String,
    /// The text; left out in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Tags, sorted alphabetically.
    pub tag_list: Vec<String>,
    /// Created (UTC, milliseconds).
    pub created_at: Timestamp,
    /// Last changed (UTC, milliseconds).
    pub updated_at: Timestamp,
    /// Whether the caller favorited it.
    pub favorited: bool,
    /// How many users favorited it.
    pub favorites_count: i64,
    /// Who wrote it.
    pub author: Profile,
}

impl Article {
    /// The view of `doc`, with or without its body.
    pub fn of(doc: ArticleDoc, author: Profile, favorited: bool, with_body: bool) -> Self {
        Self {
            slug: doc.slug,
            title: doc.title,
            description: doc.description,
            body: with_body.then_some(doc.body),
            tag_list: doc.tag_list,
            created_at: doc.created_at,
            updated_at: doc.updated_at,
            favorited,
            favorites_count: doc.favorites_count,
            author,
        }
    }
}

/// `{"comment": {...}}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommentEnvelope {
    /// The comment.
    pub comment: Comment,
}

/// `{"comments": [...]}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommentsEnvelope {
    /// Newest first.
    pub comments: Vec<Comment>,
}

/// A comment as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// The comment's number.
    pub id: i64,
    /// Created (UTC, milliseconds).
    pub created_at: Timestamp,
    /// Last changed (UTC, milliseconds).
    pub updated_at: Timestamp,
    /// The text.
    pub body: String,
    /// Who wrote it.
    pub author: Profile,
}

/// `{"tags": [...]}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TagsEnvelope {
    /// Every tag in use, sorted.
    pub tags: Vec<String>,
}
