//! The stored documents, their collections and indexes, and the lookups shared by
//! several handlers.

use std::collections::{HashMap, HashSet};

use bson::{DateTime, Document, doc, oid::ObjectId};
use futures_util::TryStreamExt as _;
use mongodb::{Collection, Database, IndexModel, options::IndexOptions};
use serde::{Deserialize, Serialize};

use crate::error::AppResult;

/// A user as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct User {
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    pub(crate) username: String,
    pub(crate) email: String,
    /// The argon2id PHC string; absent when projected out.
    #[serde(default)]
    pub(crate) password: String,
    pub(crate) bio: Option<String>,
    pub(crate) image: Option<String>,
}

/// The public part of a user, read with [`profile`] as projection.
#[derive(Deserialize)]
pub(crate) struct Author {
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    pub(crate) username: String,
    pub(crate) bio: Option<String>,
    pub(crate) image: Option<String>,
}

/// The projection that reads an [`Author`].
pub(crate) fn profile() -> Document {
    doc! { "username": 1, "bio": 1, "image": 1 }
}

/// An article as stored; `body` is absent when read for a list.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Article {
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    pub(crate) slug: String,
    pub(crate) title: String,
    pub(crate) description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<String>,
    pub(crate) tag_list: Vec<String>,
    pub(crate) created_at: DateTime,
    pub(crate) updated_at: DateTime,
    pub(crate) author: ObjectId,
    pub(crate) favorites_count: i64,
}

/// Who follows whom.
#[derive(Serialize, Deserialize)]
pub(crate) struct Follow {
    pub(crate) follower: ObjectId,
    pub(crate) followee: ObjectId,
}

/// Who favorited which article.
#[derive(Serialize, Deserialize)]
pub(crate) struct Favorite {
    pub(crate) user: ObjectId,
    pub(crate) article: ObjectId,
}

/// A comment as stored; `_id` is an integer from the `counters` collection.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Comment {
    #[serde(rename = "_id")]
    pub(crate) id: i64,
    pub(crate) article: ObjectId,
    pub(crate) author: ObjectId,
    pub(crate) body: String,
    pub(crate) created_at: DateTime,
    pub(crate) updated_at: DateTime,
}

/// The collections, typed.
pub(crate) struct Collections {
    pub(crate) users: Collection<User>,
    pub(crate) articles: Collection<Article>,
    pub(crate) follows: Collection<Follow>,
    pub(crate) favorites: Collection<Favorite>,
    pub(crate) comments: Collection<Comment>,
    pub(crate) counters: Collection<Document>,
}

/// An index named the way MongoDB names it (`author_1_createdAt_-1`).
fn index(keys: Document, unique: bool) -> IndexModel {
    let name = keys
        .iter()
        .map(|(field, order)| format!("{field}_{order}"))
        .collect::<Vec<_>>()
        .join("_");
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name)
                .unique(unique.then_some(true))
                .build(),
        )
        .build()
}

/// Creates the `indexes` of `collection` that it lacks.
async fn ensure_indexes(
    collection: Collection<Document>,
    indexes: impl IntoIterator<Item = IndexModel>,
) -> mongodb::error::Result<()> {
    let existing = collection.list_index_names().await.unwrap_or_default();
    let missing: Vec<IndexModel> = indexes
        .into_iter()
        .filter(|model| {
            let name = model
                .options
                .as_ref()
                .and_then(|options| options.name.as_ref());
            !name.is_some_and(|name| existing.contains(name))
        })
        .collect();
    if !missing.is_empty() {
        collection.create_indexes(missing).await?;
    }
    Ok(())
}

impl Collections {
    pub(crate) fn new(db: &Database) -> Self {
        Self {
            users: db.collection("users"),
            articles: db.collection("articles"),
            follows: db.collection("follows"),
            favorites: db.collection("favorites"),
            comments: db.collection("comments"),
            counters: db.collection("counters"),
        }
    }

    /// One index per query shape: unique names, slugs and pairs; newest-first lists, whole
    /// or by author or tag; comments by article. Only missing ones are created.
    ///
    /// Known limitation: on FerretDB 1.24 a second start on the same database fails (the
    /// server panics on one of the start-up index commands and drops the connection);
    /// MongoDB is fine, and the benchmarks use a fresh database per run.
    pub(crate) async fn create_indexes(&self) -> mongodb::error::Result<()> {
        ensure_indexes(
            self.users.clone_with_type(),
            [
                index(doc! { "username": 1 }, true),
                index(doc! { "email": 1 }, true),
            ],
        )
        .await?;
        ensure_indexes(
            self.articles.clone_with_type(),
            [
                index(doc! { "slug": 1 }, true),
                index(doc! { "createdAt": -1 }, false),
                index(doc! { "author": 1, "createdAt": -1 }, false),
                index(doc! { "tagList": 1, "createdAt": -1 }, false),
            ],
        )
        .await?;
        ensure_indexes(
            self.follows.clone_with_type(),
            [index(doc! { "follower": 1, "followee": 1 }, true)],
        )
        .await?;
        ensure_indexes(
            self.favorites.clone_with_type(),
            [
                index(doc! { "user": 1, "article": 1 }, true),
                index(doc! { "article": 1 }, false),
            ],
        )
        .await?;
        ensure_indexes(
            self.comments.clone_with_type(),
            [index(doc! { "article": 1 }, false)],
        )
        .await
    }

    /// The id of the user called `username`, if any.
    pub(crate) async fn user_id(&self, username: &str) -> AppResult<Option<ObjectId>> {
        let user = self
            .users
            .clone_with_type::<Document>()
            .find_one(doc! { "username": username })
            .projection(doc! { "_id": 1 })
            .await?;
        Ok(user.and_then(|user| user.get_object_id("_id").ok()))
    }

    /// The public part of the user called `username`, if any.
    pub(crate) async fn author_by_name(&self, username: &str) -> AppResult<Option<Author>> {
        Ok(self
            .users
            .clone_with_type::<Author>()
            .find_one(doc! { "username": username })
            .projection(profile())
            .await?)
    }

    /// The public parts of the users `ids`, by id.
    pub(crate) async fn authors(&self, ids: &[ObjectId]) -> AppResult<HashMap<ObjectId, Author>> {
        let authors: Vec<Author> = self
            .users
            .clone_with_type::<Author>()
            .find(doc! { "_id": { "$in": ids } })
            .projection(profile())
            .await?
            .try_collect()
            .await?;
        Ok(authors
            .into_iter()
            .map(|author| (author.id, author))
            .collect())
    }

    /// Which of `followees` `follower` follows (none for an anonymous reader).
    pub(crate) async fn followed(
        &self,
        follower: Option<ObjectId>,
        followees: &[ObjectId],
    ) -> AppResult<HashSet<ObjectId>> {
        let Some(follower) = follower else {
            return Ok(HashSet::new());
        };
        let follows: Vec<Follow> = self
            .follows
            .find(doc! { "follower": follower, "followee": { "$in": followees } })
            .projection(doc! { "_id": 0, "follower": 1, "followee": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(follows.into_iter().map(|follow| follow.followee).collect())
    }

    /// Whether `follower` follows `followee`.
    pub(crate) async fn follows(
        &self,
        follower: Option<ObjectId>,
        followee: ObjectId,
    ) -> AppResult<bool> {
        Ok(self
            .followed(follower, &[followee])
            .await?
            .contains(&followee))
    }

    /// Which of `articles` `user` has favorited (none for an anonymous reader).
    pub(crate) async fn favorited(
        &self,
        user: Option<ObjectId>,
        articles: &[ObjectId],
    ) -> AppResult<HashSet<ObjectId>> {
        let Some(user) = user else {
            return Ok(HashSet::new());
        };
        let favorites: Vec<Favorite> = self
            .favorites
            .find(doc! { "user": user, "article": { "$in": articles } })
            .projection(doc! { "_id": 0, "user": 1, "article": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(favorites
            .into_iter()
            .map(|favorite| favorite.article)
            .collect())
    }

    /// The next integer from the counter `name`.
    pub(crate) async fn next_id(&self, name: &str) -> AppResult<i64> {
        let counter = self
            .counters
            .find_one_and_update(doc! { "_id": name }, doc! { "$inc": { "seq": 1_i64 } })
            .upsert(true)
            .return_document(mongodb::options::ReturnDocument::After)
            .await?;
        counter
            .and_then(|counter| counter.get_i64("seq").ok())
            .ok_or_else(|| crate::error::AppError::Internal(format!("counter {name} missing")))
    }
}

/// `at` as RealWorld writes timestamps: ISO 8601 in UTC with milliseconds.
pub(crate) fn timestamp(at: DateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.timestamp_millis()) * 1_000_000)
        .ok()
        .and_then(|at| at.format(FORMAT).ok())
        .unwrap_or_default()
}
