//! Profiles and follows.

use flagstone::{Result, prelude::*};

use super::Conduit;
use crate::models::{AuthorDoc, Profile, UserDoc};

impl Conduit {
    /// The profile of `username` as `viewer` sees it; 404 when there is no such user.
    pub async fn profile(&self, username: &str, viewer: Option<Id<UserDoc>>) -> Result<Profile> {
        let (author, following) =
            tokio::try_join!(self.by_username(username), self.following_of(viewer))?;
        Ok(Profile::of(&author, &following))
    }

    /// `viewer` follows `username` (idempotent); 422 for themselves.
    pub async fn follow(&self, viewer: Id<UserDoc>, username: &str) -> Result<Profile> {
        let author = self.by_username(username).await?;
        if author.id == viewer {
            return Err(Error::validation(vec![FieldError::new(
                "body",
                "self_follow",
                "you cannot follow yourself",
            )]));
        }
        self.set_following(viewer, "$addToSet", author.id).await?;
        Ok(Profile::of(&author, &[author.id]))
    }

    /// `viewer` stops following `username` (idempotent).
    pub async fn unfollow(&self, viewer: Id<UserDoc>, username: &str) -> Result<Profile> {
        let author = self.by_username(username).await?;
        self.set_following(viewer, "$pull", author.id).await?;
        Ok(Profile::of(&author, &[]))
    }

    async fn set_following(
        &self,
        viewer: Id<UserDoc>,
        operator: &str,
        author: Id<UserDoc>,
    ) -> Result<()> {
        let updated = self
            .0
            .users
            .update_one(
                doc! { "_id": viewer },
                doc! { operator: { "following": author } },
            )
            .await?;
        match updated.matched {
            0 => Err(Error::unauthorized("the account no longer exists")),
            _ => Ok(()),
        }
    }

    /// The public part of `username`, or 404.
    pub(super) async fn by_username(&self, username: &str) -> Result<AuthorDoc> {
        self.0
            .authors
            .find(doc! { "username": username })
            .projection(doc! { "username": 1, "bio": 1, "image": 1 })
            .limit(1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found("profile not found"))
    }
}
