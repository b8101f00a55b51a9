//! [`Upload`]: the extractor that streams a request's file into the [`FileStore`].

use axum::extract::{FromRequest, Request};
use futures_util::StreamExt;
use http::header;

use super::{FileRef, FileStore, store::too_large};
use crate::Error;

/// Room for the multipart framing and small fields around the file.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// An uploaded file, already stored: the extractor streams the body into the app's
/// [`FileStore`] (set with [`App::files`](crate::App::files)) while it checks type and
/// size, so no file is ever held in memory whole.
///
/// Two request shapes are accepted:
/// - `multipart/form-data` with the file in the part named `file` (other parts before it
///   are skipped);
/// - any other body is the file itself, its `Content-Type` the declared type and an
///   optional `Content-Disposition: attachment; filename="..."` its name.
///
/// Failures are problems: 413 past `files.max_size`, 415 for a type outside
/// `files.allowed_types` or one the bytes contradict, 400 for an empty file, a multipart
/// body without a `file` part or a body cut short.
///
/// ```no_run
/// use flagstone::{files::{FileRef, Upload}, prelude::*};
///
/// async fn upload(upload: Upload) -> Json<FileRef> {
///     Json(upload.file)
/// }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Upload {
    /// The stored file.
    pub file: FileRef,
    /// The name the client gave, without any directory part; for display only.
    pub filename: Option<String>,
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let store = req
            .extensions()
            .get::<FileStore>()
            .cloned()
            .ok_or_else(|| {
                Error::internal(std::io::Error::other(
                    "the Upload extractor needs a FileStore: call App::files",
                ))
            })?;
        extract(&store, req).await
    }
}

/// Streams the file in `req` into `store` (see [`Upload`]).
pub(crate) async fn extract(store: &FileStore, req: Request) -> Result<Upload, Error> {
    let max = store.config().max_size;
    let headers = req.headers();
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header(header::CONTENT_TYPE);
    let length = header(header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    let disposition = header(header::CONTENT_DISPOSITION);
    let multipart = content_type.as_deref().is_some_and(|t| {
        t.trim()
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
    });
    if !multipart {
        if length.is_some_and(|len| len > max) {
            return Err(too_large(max));
        }
        let filename = disposition.and_then(|d| disposition_filename(&d));
        let body = req.into_body().into_data_stream();
        let body = body.map(|chunk| chunk.map_err(|e| body_error(&*e.into_inner(), max)));
        let file = store.put_stream(body, content_type.as_deref()).await?;
        return Ok(Upload { file, filename });
    }
    if length.is_some_and(|len| len > max.saturating_add(MULTIPART_OVERHEAD)) {
        return Err(too_large(max));
    }
    let boundary = content_type
        .as_deref()
        .and_then(|t| multer::parse_boundary(t).ok())
        .ok_or_else(|| {
            Error::bad_request("the multipart Content-Type has no boundary")
                .with_code("malformed_multipart")
        })?;
    let limits = multer::SizeLimit::new().whole_stream(max.saturating_add(MULTIPART_OVERHEAD));
    let mut parts = multer::Multipart::with_constraints(
        req.into_body().into_data_stream(),
        boundary,
        multer::Constraints::new().size_limit(limits),
    );
    loop {
        let field = parts
            .next_field()
            .await
            .map_err(|e| multipart_error(e, max))?;
        let Some(field) = field else {
            return Err(
                Error::bad_request("the multipart body has no part named `file`")
                    .with_code("missing_file"),
            );
        };
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().and_then(clean_filename);
        let declared = field.content_type().map(ToString::to_string);
        let body = field.map(|chunk| chunk.map_err(|e| multipart_error(e, max)));
        let file = store.put_stream(body, declared.as_deref()).await?;
        return Ok(Upload { file, filename });
    }
}

/// 413 when the body went past a limit on the way, 400 otherwise.
fn body_error(error: &(dyn std::error::Error + 'static), max: u64) -> Error {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return too_large(max);
        }
        cause = e.source();
    }
    Error::bad_request(format!("the request body could not be read: {error}"))
        .with_code("body_read_failed")
}

fn multipart_error(error: multer::Error, max: u64) -> Error {
    match error {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            too_large(max)
        }
        multer::Error::StreamReadFailed(e) => body_error(e.as_ref(), max),
        other => Error::bad_request(format!("malformed multipart body: {other}"))
            .with_code("malformed_multipart"),
    }
}

/// `attachment; filename="a.png"` → `a.png`.
fn disposition_filename(disposition: &str) -> Option<String> {
    let value = disposition.split(';').find_map(|part| {
        let (name, value) = part.split_once('=')?;
        (name.trim().eq_ignore_ascii_case("filename")).then(|| value.trim().trim_matches('"'))
    })?;
    clean_filename(value)
}

/// The last path segment, without control characters, at most 255 bytes; `None` if
/// nothing is left.
fn clean_filename(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = base.chars().filter(|c| !c.is_control()).collect();
    while clean.len() > 255 {
        clean.pop();
    }
    let clean = clean.trim().to_owned();
    (!clean.is_empty() && clean != "." && clean != "..").then_some(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_their_directories() {
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(clean_filename("C:\\x\\cat.png").as_deref(), Some("cat.png"));
        assert_eq!(clean_filename("a\u{0}b\nc.png").as_deref(), Some("abc.png"));
        assert_eq!(clean_filename("dir/.."), None);
        assert_eq!(clean_filename(""), None);
        assert_eq!(
            disposition_filename("attachment; filename=\"../cover.png\"").as_deref(),
            Some("cover.png")
        );
        assert_eq!(disposition_filename("inline"), None);
    }
}
