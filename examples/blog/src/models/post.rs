//! Posts.

use flagstone::{
    bson::{Document, doc},
    files::FileRef,
    prelude::*,
    resource::{Hooks, RequestContext},
};
use serde::{Deserialize, Serialize};

use crate::utils::slugify;

/// Where a post is in its life: `draft` → `scheduled` (optional) → `published`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Being written; only editors see it.
    Draft,
    /// To be published at `publish_at`.
    Scheduled,
    /// Public.
    Published,
}

impl Status {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::Published => "published",
        }
    }
}

/// A comment as a post embeds it: enough to show under the post without a second query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct CommentPreview {
    /// The comment's id.
    pub id: String,
    /// Its author's id.
    pub author: String,
    /// The text.
    pub body: String,
    /// When it was written.
    pub created_at: Timestamp,
}

/// A blog post. Editors write them; everybody reads the published ones.
#[derive(Model, Resource)]
#[model(timestamps)]
#[index(fields(status = 1, published_at = -1))]
#[index(fields(published_at = -1))]
#[index(fields(publish_at = 1))]
#[index(fields(title = 1))]
#[resource(path = "/posts", list = public, get = public, create = role("editor"),
           update = owner_or("admin"), delete = owner_or("admin"), hooks = PostHooks)]
pub struct Post {
    /// The id.
    pub id: Id<Post>,
    /// The title.
    #[field(len(min = 3, max = 120), filter, sort, select)]
    pub title: String,
    /// The text, in Markdown.
    #[field(len(max = 20_000))]
    pub body: String,
    /// The URL name, made from the title when the post is created.
    #[field(unique, read_only, filter)]
    pub slug: String,
    /// `draft`, `scheduled` or `published`; changed by the publishing service only.
    #[field(read_only, filter, select)]
    pub status: String,
    /// When a scheduled post goes out.
    #[field(read_only, filter, sort)]
    pub publish_at: Option<Timestamp>,
    /// When it went out.
    #[field(read_only, sort)]
    pub published_at: Option<Timestamp>,
    /// The author.
    #[field(owner)]
    pub author: Id<User>,
    /// The newest comments, embedded (see the README for why).
    #[field(read_only)]
    pub recent_comments: Vec<CommentPreview>,
    /// How many comments it has.
    #[field(read_only)]
    pub comment_count: i64,
    /// The cover image, set with `PUT /posts/{id}/cover`.
    #[field(read_only)]
    pub cover: Option<FileRef>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// Whether the caller may see drafts.
pub(crate) fn is_editor(roles: &[String]) -> bool {
    roles.iter().any(|r| r == "editor" || r == "admin")
}

/// The post rules that hold however a post is written.
#[derive(Clone, Copy, Debug, Default)]
pub struct PostHooks;

impl Hooks<Post> for PostHooks {
    /// Readers and anonymous callers see published posts only.
    async fn scope(&self, ctx: &RequestContext) -> flagstone::Result<Document> {
        let editor = ctx.user.as_ref().is_some_and(|u| is_editor(u.roles()));
        Ok(match editor {
            true => Document::new(),
            false => doc! { "status": Status::Published.as_str() },
        })
    }

    /// New posts are drafts, with a slug from their title (and their id, to stay unique).
    async fn before_create(&self, post: &mut Post, _: &RequestContext) -> flagstone::Result<()> {
        let id = post.id.to_string();
        post.slug = format!("{}-{}", slugify(&post.title), &id[id.len() - 6..]);
        post.status = Status::Draft.as_str().to_owned();
        Ok(())
    }
}
