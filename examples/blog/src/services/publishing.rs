//! Publishing: draft → (scheduled →) published, by editors only.

use flagstone::{
    Error, ErrorKind, Id, Result, Store,
    bson::doc,
    model::Model,
    store::{Collection, Timestamp},
};

use crate::models::{Post, Status, post_is_editor};

/// Publishes and schedules posts.
#[derive(Clone, Debug)]
pub struct Publishing {
    posts: Collection<Post>,
}

impl Publishing {
    /// The service over `store`.
    pub fn new(store: &Store) -> Self {
        Self {
            posts: store.collection(<Post as Model>::COLLECTION),
        }
    }

    /// Publishes a draft or scheduled post now. Only editors (and admins) publish.
    pub async fn publish(&self, id: Id<Post>, roles: &[String]) -> Result<Post> {
        ensure_editor(roles)?;
        let now = Timestamp::now();
        let filter = doc! { "_id": id, "status": { "$ne": Status::Published.as_str() } };
        let update = doc! {
            "$set": { "status": Status::Published.as_str(), "published_at": now, "updated_at": now },
            "$unset": { "publish_at": "" },
        };
        match self.posts.find_one_and_update(filter, update).await? {
            Some(post) => Ok(post),
            None => Err(self.missing_or_published(id).await),
        }
    }

    /// Schedules a draft to go out at `at`, which must be in the future.
    pub async fn schedule(&self, id: Id<Post>, at: Timestamp, roles: &[String]) -> Result<Post> {
        ensure_editor(roles)?;
        if at <= Timestamp::now() {
            return Err(
                Error::unprocessable("the publication time must be in the future")
                    .with_code("schedule_in_past"),
            );
        }
        let filter = doc! { "_id": id, "status": { "$ne": Status::Published.as_str() } };
        let update = doc! { "$set": {
            "status": Status::Scheduled.as_str(),
            "publish_at": at,
            "updated_at": Timestamp::now(),
        } };
        match self.posts.find_one_and_update(filter, update).await? {
            Some(post) => Ok(post),
            None => Err(self.missing_or_published(id).await),
        }
    }

    /// Publishes every scheduled post whose time has come by `now`; returns how many.
    pub async fn publish_due(&self, now: Timestamp) -> Result<u64> {
        let due = doc! { "status": Status::Scheduled.as_str(), "publish_at": { "$lte": now } };
        let update = doc! {
            "$set": { "status": Status::Published.as_str(), "published_at": now, "updated_at": now },
            "$unset": { "publish_at": "" },
        };
        Ok(self.posts.update_many(due, update).await?.modified)
    }

    async fn missing_or_published(&self, id: Id<Post>) -> Error {
        match self.posts.exists(doc! { "_id": id }).await {
            Ok(true) => {
                Error::conflict("the post is already published").with_code("already_published")
            }
            Ok(false) => Error::not_found(format!("no post with id {id}")),
            Err(e) => e,
        }
    }
}

fn ensure_editor(roles: &[String]) -> Result<()> {
    match post_is_editor(roles) {
        true => Ok(()),
        false => {
            Err(Error::new(ErrorKind::Forbidden, "only editors publish").with_code("missing_role"))
        }
    }
}
