//! Cover images: one per post, stored with `flagstone::files`, replaced and removed by the
//! post's author or an admin.

use flagstone::{
    Error, ErrorKind, Id, Result, Store,
    bson::doc,
    files::{FileRef, FileStore},
    model::Model,
    store::{Collection, ReturnDocument, Timestamp, to_bson},
};

use crate::models::{Post, Status, post_is_editor};

/// The image types a cover may be (also limited by `files.allowed_types`).
pub const COVER_TYPES: &[&str] = &["image/png", "image/jpeg", "image/webp", "image/gif"];

/// Sets, finds and removes post covers.
#[derive(Clone, Debug)]
pub struct Covers {
    posts: Collection<Post>,
    files: FileStore,
}

impl Covers {
    /// The service over `store`, keeping images in `files`.
    pub fn new(store: &Store, files: &FileStore) -> Self {
        Self {
            posts: store.collection(<Post as Model>::COLLECTION),
            files: files.only(COVER_TYPES),
        }
    }

    /// Where cover images are stored: the app's file store, images only.
    pub fn files(&self) -> &FileStore {
        &self.files
    }

    /// The post `id` if `user` (with `roles`) may change its cover: its author or an admin.
    pub async fn editable(
        &self,
        id: Id<Post>,
        user: Id<flagstone::auth::User>,
        roles: &[String],
    ) -> Result<Post> {
        let post = self
            .posts
            .find_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no post with id {id}")))?;
        if post.author != user && !roles.iter().any(|r| r == "admin") {
            return Err(Error::new(
                ErrorKind::Forbidden,
                "only the author or an admin changes the cover",
            )
            .with_code("not_owner"));
        }
        Ok(post)
    }

    /// Makes `file` the cover of post `id` and deletes the one it replaces.
    pub async fn set(&self, id: Id<Post>, file: FileRef) -> Result<Post> {
        let cover = to_bson(&file)?;
        let update = doc! { "$set": { "cover": cover, "updated_at": Timestamp::now() } };
        let Some(before) = self
            .posts
            .find_one_and_update(doc! { "_id": id }, update)
            .returning(ReturnDocument::Before)
            .await?
        else {
            // The post went away meanwhile: do not keep an orphan.
            self.discard(&file.key).await;
            return Err(Error::not_found(format!("no post with id {id}")));
        };
        if let Some(old) = &before.cover {
            self.discard(&old.key).await;
        }
        self.posts
            .find_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no post with id {id}")))
    }

    /// Removes the cover of post `id`; 404 when it has none.
    pub async fn remove(&self, id: Id<Post>) -> Result<Post> {
        let update = doc! { "$unset": { "cover": "" }, "$set": { "updated_at": Timestamp::now() } };
        let filter = doc! { "_id": id, "cover": { "$exists": true, "$ne": null } };
        let Some(before) = self
            .posts
            .find_one_and_update(filter, update)
            .returning(ReturnDocument::Before)
            .await?
        else {
            return Err(Error::not_found("the post has no cover").with_code("no_cover"));
        };
        if let Some(old) = &before.cover {
            self.discard(&old.key).await;
        }
        self.posts
            .find_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no post with id {id}")))
    }

    /// The cover of post `id`, if the caller may see the post: drafts only for editors.
    pub async fn cover(&self, id: Id<Post>, roles: &[String]) -> Result<FileRef> {
        let mut filter = doc! { "_id": id };
        if !post_is_editor(roles) {
            filter.insert("status", Status::Published.as_str());
        }
        let post = self
            .posts
            .find_one(filter)
            .await?
            .ok_or_else(|| Error::not_found(format!("no post with id {id}")))?;
        post.cover
            .ok_or_else(|| Error::not_found("the post has no cover").with_code("no_cover"))
    }

    /// Deletes a file no post points to any more; a failure is logged, not returned (the
    /// post is already right).
    async fn discard(&self, key: &str) {
        if let Err(error) = self.files.delete(key).await {
            tracing::warn!(key, error = ?error, "could not delete a replaced cover");
        }
    }
}
