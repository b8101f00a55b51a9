//! Comments: their own collection, and a copy of the newest ones inside their post.

use flagstone::{
    bson::doc,
    prelude::*,
    resource::{Hooks, RequestContext},
};

use super::{CommentPreview, Post, Status};

/// A reader's comment on a published post.
#[derive(Model, Resource)]
#[model(timestamps)]
#[index(fields(post = 1, created_at = -1))]
#[index(fields(created_at = -1))]
#[resource(path = "/comments", list = public, get = public, create = authenticated,
           update = owner, delete = owner_or("admin"), hooks = CommentHooks)]
pub struct Comment {
    /// The id.
    pub id: Id<Comment>,
    /// The post it is about.
    #[field(filter)]
    pub post: Id<Post>,
    /// The text.
    #[field(len(min = 1, max = 2_000))]
    pub body: String,
    /// Who wrote it.
    #[field(owner)]
    pub author: Id<User>,
    /// Written.
    #[field(sort)]
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// Keeps each post's embedded copy of its newest comments in step with the collection.
#[derive(Clone, Copy, Debug)]
pub struct CommentHooks {
    embedded: i32,
}

impl CommentHooks {
    /// Embeds the `embedded` newest comments in each post.
    pub fn new(embedded: usize) -> Self {
        Self {
            embedded: i32::try_from(embedded).unwrap_or(i32::MAX),
        }
    }
}

impl Default for CommentHooks {
    fn default() -> Self {
        Self::new(3)
    }
}

impl Hooks<Comment> for CommentHooks {
    /// Only published posts take comments.
    async fn before_create(
        &self,
        comment: &mut Comment,
        ctx: &RequestContext,
    ) -> flagstone::Result<()> {
        let posts = ctx.store.collection::<Post>(<Post as Model>::COLLECTION);
        let published = doc! { "_id": comment.post, "status": Status::Published.as_str() };
        match posts.exists(published).await? {
            true => Ok(()),
            false => Err(Error::not_found(format!(
                "no published post with id {}",
                comment.post
            ))),
        }
    }

    async fn after_create(&self, comment: &Comment, ctx: &RequestContext) -> flagstone::Result<()> {
        let preview = CommentPreview {
            id: comment.id.to_string(),
            author: comment.author.to_string(),
            body: comment.body.clone(),
            created_at: comment.created_at,
        };
        let preview = flagstone::store::to_bson(&preview)?;
        ctx.store
            .collection::<Post>(<Post as Model>::COLLECTION)
            .update_one(
                doc! { "_id": comment.post },
                doc! {
                    "$push": { "recent_comments": { "$each": [preview], "$slice": -self.embedded } },
                    "$inc": { "comment_count": 1 },
                },
            )
            .await?;
        Ok(())
    }

    async fn after_delete(&self, comment: &Comment, ctx: &RequestContext) -> flagstone::Result<()> {
        ctx.store
            .collection::<Post>(<Post as Model>::COLLECTION)
            .update_one(
                doc! { "_id": comment.post },
                doc! {
                    "$pull": { "recent_comments": { "id": comment.id.to_string() } },
                    "$inc": { "comment_count": -1 },
                },
            )
            .await?;
        Ok(())
    }
}
