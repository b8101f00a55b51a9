//! Comments, numbered from a counter so the API can show integer ids.

use flagstone::{Result, prelude::*, store::ReturnDocument};
use serde::Deserialize;

use super::Conduit;
use crate::models::{Comment, CommentDoc, CommentsEnvelope, Profile, UserDoc};

/// What `POST /articles/{slug}/comments` takes.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// The text.
    #[validate(non_empty, len(max = 10_000))]
    pub body: String,
}

fn not_found() -> Error {
    Error::not_found("comment not found")
}

impl Conduit {
    /// The comments on `slug`, newest first, as `viewer` sees them.
    pub async fn comments(
        &self,
        slug: &str,
        viewer: Option<Id<UserDoc>>,
    ) -> Result<CommentsEnvelope> {
        let article = self.by_slug(slug).await?;
        let (docs, following) = tokio::try_join!(
            self.0
                .comments
                .find(doc! { "article": article.id })
                .sort(doc! { "created_at": -1, "_id": -1 })
                .all(),
            self.following_of(viewer)
        )?;
        let mut ids: Vec<Id<UserDoc>> = docs.iter().map(|c| c.author).collect();
        ids.sort_unstable();
        ids.dedup();
        let authors = self.authors(ids).await?;
        let comments = docs
            .into_iter()
            .filter_map(|doc| {
                let author = authors.iter().find(|a| a.id == doc.author)?;
                Some(view(doc, Profile::of(author, &following)))
            })
            .collect();
        Ok(CommentsEnvelope { comments })
    }

    /// `author` comments on `slug`.
    pub async fn comment(
        &self,
        author: Id<UserDoc>,
        slug: &str,
        new: NewComment,
    ) -> Result<Comment> {
        let article = self.by_slug(slug).await?;
        let counter = self
            .0
            .counters
            .find_one_and_update(
                doc! { "_id": "comments" },
                doc! { "$inc": { "seq": 1_i64 } },
            )
            .upsert()
            .returning(ReturnDocument::After)
            .await?
            .ok_or_else(|| {
                Error::internal(std::io::Error::other("the comment counter is missing"))
            })?;
        let now = Timestamp::now();
        let doc = CommentDoc {
            id: Id::new(),
            number: counter.seq,
            article: article.id,
            author,
            body: new.body,
            created_at: now,
            updated_at: now,
        };
        self.0.comments.insert_one(&doc).await?;
        let (profile, following) =
            tokio::try_join!(self.author(author), self.following_of(Some(author)))?;
        Ok(view(doc, Profile::of(&profile, &following)))
    }

    /// Deletes comment `number` on `slug`, written by `caller` (403 otherwise).
    pub async fn delete_comment(&self, caller: Id<UserDoc>, slug: &str, number: i64) -> Result<()> {
        let article = self.by_slug(slug).await?;
        let comment = self
            .0
            .comments
            .find_one(doc! { "article": article.id, "number": number })
            .await?
            .ok_or_else(not_found)?;
        if comment.author != caller {
            return Err(Error::forbidden("only the author may delete this comment"));
        }
        self.0
            .comments
            .delete_one(doc! { "_id": comment.id })
            .await?;
        Ok(())
    }
}

fn view(doc: CommentDoc, author: Profile) -> Comment {
    Comment {
        id: doc.number,
        created_at: doc.created_at,
        updated_at: doc.updated_at,
        body: doc.body,
        author,
    }
}
