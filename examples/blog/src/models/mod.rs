//! What the blog stores: posts (with their newest comments embedded) and comments (a
//! collection of their own). Each model states its validation, indexes and access rules;
//! its hooks keep the business rules that must hold however it is written.

mod comment;
mod post;

pub use comment::{Comment, CommentCreate, CommentHooks, CommentPatch, CommentView};
pub(crate) use post::is_editor as post_is_editor;
pub use post::{CommentPreview, Post, PostCreate, PostHooks, PostPatch, PostView, Status};
