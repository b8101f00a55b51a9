//! File uploads and downloads on object storage (cargo feature `files`).
//!
//! [`FileStore`] keeps files in the object store that `[files] url` names: a local
//! directory (the default), memory (tests), S3 and S3-compatible servers (`files-s3`),
//! Google Cloud Storage (`files-gcs`) or Azure Blob Storage (`files-azure`), all through the
//! [`object_store`] crate. The [`Upload`] extractor streams a multipart or raw request body
//! into it part by part, never holding the whole file, and on the way:
//!
//! - refuses more than `files.max_size` bytes with 413 (what was written is discarded);
//! - recognises the type from the file's first bytes and refuses, with 415, types outside
//!   `files.allowed_types` and uploads whose declared type the bytes contradict;
//! - names the object itself (`{prefix}/{random}.{ext}`): nothing the client sends
//!   reaches a path;
//! - measures size and SHA-256, returned as a [`FileRef`] to keep in a model.
//!
//! Downloads stream back through the server ([`FileStore::download`]) or go straight to
//! the backend with a presigned URL ([`FileStore::presigned_url`], [`FileStore::serve`]);
//! keys coming back from clients are parsed strictly, and anything the server did not
//! generate is 404.
//!
//! ```
//! use flagstone::{App, files::{FileRef, FileStore, Upload}, prelude::*, testing::TestApp};
//!
//! async fn upload(upload: Upload) -> Json<FileRef> {
//!     Json(upload.file)
//! }
//!
//! async fn download(
//!     Extension(files): Extension<FileStore>,
//!     Path(key): Path<String>,
//! ) -> flagstone::Result<axum::response::Response> {
//!     files.download(&key).await
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let routes = axum::Router::new()
//!     .route("/files", axum::routing::post(upload))
//!     .route("/files/{*key}", axum::routing::get(download));
//! let app = App::new(flagstone::Config::defaults(flagstone::config::Profile::Test))
//!     .files(FileStore::memory())
//!     .routes(routes);
//! let app = TestApp::new(app);
//!
//! let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
//! let request = http::Request::post("/api/v1/files")
//!     .header("content-type", "image/png")
//!     .body(axum::body::Body::from(&png[..]))
//!     .unwrap();
//! let response = app.send(request).await;
//! assert_eq!(response.status(), 200);
//! let file: FileRef = serde_json::from_value(response.json()).unwrap();
//! assert_eq!((file.content_type.as_str(), file.size), ("image/png", png.len() as u64));
//!
//! let back = app.get(&format!("/api/v1/files/{}", file.key)).await;
//! assert_eq!(back.bytes(), &png[..]);
//! # }
//! ```
//!
//! The request body limit (`server.body_limit`) still holds for every other route;
//! [`App::files`](crate::App::files) lets bodies up to `files.max_size` through to the
//! extractors that stream them. Large uploads over slow links may also need a longer
//! `server.request_timeout`.

mod config;
mod file_ref;
mod key;
mod store;
mod types;
mod upload;

pub use config::FilesConfig;
pub(crate) use config::{check, read};
pub use file_ref::FileRef;
pub use store::FileStore;
pub use types::{KNOWN_TYPES, KnownType};
pub use upload::Upload;

/// The object-store crate, for backends and operations this module does not wrap.
pub use object_store;
