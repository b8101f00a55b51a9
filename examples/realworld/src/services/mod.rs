//! The rules of the contract, over the store: no HTTP types, so a seeding command or a job
//! could call them as they are.

mod articles;
mod comments;
mod profiles;
mod users;

pub use articles::{ArticleChanges, ArticleFilter, NewArticle, slugify};
pub use comments::NewComment;
pub use users::{Login, NewUser, UserChanges};

use std::sync::Arc;

use flagstone::{Result, auth::Auth, prelude::*, store::Document};

use crate::models::{
    AccountDoc, ArticleDoc, AuthorDoc, CommentDoc, CounterDoc, FavoriteDoc, FollowingDoc, UserDoc,
    indexes,
};

/// The services' shared handle: the collections and the auth keys. Cheap to clone.
#[derive(Clone)]
pub struct Conduit(Arc<Inner>);

struct Inner {
    auth: Auth,
    users: Collection<UserDoc>,
    accounts: Collection<AccountDoc>,
    authors: Collection<AuthorDoc>,
    following: Collection<FollowingDoc>,
    articles: Collection<ArticleDoc>,
    favorites: Collection<FavoriteDoc>,
    comments: Collection<CommentDoc>,
    counters: Collection<CounterDoc>,
}

impl Conduit {
    /// The services over `store`, signing tokens with `auth`.
    pub fn new(store: &Store, auth: Auth) -> Self {
        let users = store.collection::<UserDoc>("users");
        Self(Arc::new(Inner {
            auth,
            accounts: users.typed(),
            authors: users.typed(),
            following: users.typed(),
            users,
            articles: store.collection("articles"),
            favorites: store.collection("favorites"),
            comments: store.collection("comments"),
            counters: store.collection("counters"),
        }))
    }

    /// Creates the indexes every query here relies on (idempotent).
    pub async fn sync_indexes(&self) -> Result<()> {
        let store = self.0.users.store();
        for (name, list) in indexes() {
            store
                .collection::<Document>(name)
                .sync_indexes(list)
                .await?;
        }
        Ok(())
    }

    /// Whom `viewer` follows; nobody when anonymous.
    async fn following_of(&self, viewer: Option<Id<UserDoc>>) -> Result<Vec<Id<UserDoc>>> {
        let Some(viewer) = viewer else {
            return Ok(Vec::new());
        };
        let found = self
            .0
            .following
            .find(doc! { "_id": viewer })
            .projection(doc! { "following": 1 })
            .limit(1)
            .await?;
        Ok(found.into_iter().next().unwrap_or_default().following)
    }

    /// The public part of each user in `ids`.
    async fn authors(&self, ids: Vec<Id<UserDoc>>) -> Result<Vec<AuthorDoc>> {
        self.0
            .authors
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "username": 1, "bio": 1, "image": 1 })
            .await
    }

    /// The public part of one user.
    async fn author(&self, id: Id<UserDoc>) -> Result<AuthorDoc> {
        self.authors(vec![id])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found("author not found"))
    }
}
