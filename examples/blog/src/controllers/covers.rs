//! `PUT`, `GET` and `DELETE /posts/{id}/cover`: a post's cover image.

use flagstone::{
    axum::{extract::Request, response::Response},
    files::FileStore,
    prelude::*,
};

use crate::{
    models::{Post, PostView},
    services::Covers,
};

/// Sets the cover image (the author or an admin): the body is the image, raw or as the
/// `file` part of a multipart form. PNG, JPEG, WebP or GIF, checked by content.
#[utoipa::path(put, path = "/posts/{id}/cover", tag = "posts",
               params(("id" = String, Path, description = "The post's id")),
               request_body(content = Vec<u8>, content_type = "image/png",
                            description = "The image (or multipart/form-data with a `file` part)"),
               responses((status = 200, body = PostView),
                         (status = 413, description = "Larger than files.max_size"),
                         (status = 415, description = "Not a PNG, JPEG, WebP or GIF image")),
               security(("bearer" = []), ("cookie" = [])))]
pub async fn put_cover(
    Extension(store): Extension<Store>,
    Extension(files): Extension<FileStore>,
    user: AuthUser,
    Path(id): Path<Id<Post>>,
    request: Request,
) -> flagstone::Result<Json<PostView>> {
    let covers = Covers::new(&store, &files);
    // Permission first, so a refused request's body is never stored.
    covers.editable(id, user.id(), user.roles()).await?;
    let upload = covers.files().upload(request).await?;
    let post = covers.set(id, upload.file).await?;
    Ok(Json(post.view()))
}

/// The cover image of a post the caller may see: a redirect to a presigned URL on S3,
/// the image itself on the local filesystem.
#[utoipa::path(get, path = "/posts/{id}/cover", tag = "posts",
               params(("id" = String, Path, description = "The post's id")),
               responses((status = 200, description = "The image", content_type = "image/*"),
                         (status = 307, description = "Redirect to a presigned URL"),
                         (status = 404, description = "No such post, or no cover")))]
pub async fn get_cover(
    Extension(store): Extension<Store>,
    Extension(files): Extension<FileStore>,
    user: Option<AuthUser>,
    Path(id): Path<Id<Post>>,
) -> flagstone::Result<Response> {
    let covers = Covers::new(&store, &files);
    let roles = user.as_ref().map(AuthUser::roles).unwrap_or_default();
    let cover = covers.cover(id, roles).await?;
    covers.files().serve(&cover.key).await
}

/// Removes the cover image (the author or an admin).
#[utoipa::path(delete, path = "/posts/{id}/cover", tag = "posts",
               params(("id" = String, Path, description = "The post's id")),
               responses((status = 200, body = PostView)),
               security(("bearer" = []), ("cookie" = [])))]
pub async fn delete_cover(
    Extension(store): Extension<Store>,
    Extension(files): Extension<FileStore>,
    user: AuthUser,
    Path(id): Path<Id<Post>>,
) -> flagstone::Result<Json<PostView>> {
    let covers = Covers::new(&store, &files);
    covers.editable(id, user.id(), user.roles()).await?;
    let post = covers.remove(id).await?;
    Ok(Json(post.view()))
}
