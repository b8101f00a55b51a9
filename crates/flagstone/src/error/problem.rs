//! The problem document and its renderers.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::{Serialize, Serializer, ser::SerializeMap};

use super::{ErrorKind, ErrorParts};

/// One invalid field of a validation failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `email` or `items[2].qty`.
    pub field: String,
    /// A stable machine code, e.g. `length` or `email`.
    pub code: Cow<'static, str>,
    /// A human-readable message.
    pub message: Cow<'static, str>,
}

impl FieldError {
    /// A field error for `field`.
    pub fn new(
        field: impl Into<String>,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A problem about to be rendered: everything a [`ProblemRenderer`] may show.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Problem<'a> {
    /// The kind of error.
    pub kind: ErrorKind,
    /// The machine code: the kind's, or a more specific one set with
    /// [`Error::with_code`](super::Error::with_code).
    pub code: &'static str,
    /// The response status (for validation, the configured one).
    pub status: StatusCode,
    /// The client-facing explanation; always `None` for 5xx.
    pub detail: Option<&'a str>,
    /// The invalid fields of a validation failure.
    pub errors: &'a [FieldError],
    /// The request path.
    pub instance: &'a str,
    /// The request id, when the request-id middleware runs.
    pub request_id: Option<&'a str>,
}

impl<'a> Problem<'a> {
    pub(crate) fn from_parts(
        parts: &'a ErrorParts,
        status: StatusCode,
        instance: &'a str,
        request_id: Option<&'a str>,
    ) -> Self {
        // A 5xx never shows internals, whatever the detail says.
        let detail = if status.is_server_error() {
            None
        } else {
            parts.detail.as_deref()
        };
        Problem {
            kind: parts.kind,
            code: parts.code,
            status,
            detail,
            errors: &parts.errors,
            instance,
            request_id,
        }
    }

    /// The short, human-readable summary: the status's reason phrase.
    pub fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

/// Turns a [`Problem`] into a response body. The default is [`JsonProblemRenderer`]; an app
/// swaps it with [`App::problem_renderer`](crate::App::problem_renderer). The app stack then
/// copies back the error response's other headers (`Retry-After`, `Allow`, ...) and adds
/// the request id header.
///
/// ```
/// use flagstone::{axum::{Json, response::{IntoResponse, Response}}, error::{Problem, ProblemRenderer}};
///
/// /// `{"errors": {"body": ["..."]}}`, as some API contracts want.
/// struct ErrorsBody;
///
/// impl ProblemRenderer for ErrorsBody {
///     fn render(&self, problem: &Problem<'_>) -> Response {
///         let mut messages: Vec<String> =
///             problem.errors.iter().map(|e| format!("{} {}", e.field, e.message)).collect();
///         if messages.is_empty() {
///             messages.push(problem.detail.unwrap_or(problem.title()).to_owned());
///         }
///         let body = serde_json::json!({ "errors": { "body": messages } });
///         (problem.status, Json(body)).into_response()
///     }
/// }
/// ```
pub trait ProblemRenderer: Send + Sync + 'static {
    /// Renders `problem` as a complete response (status and body).
    fn render(&self, problem: &Problem<'_>) -> Response;

    /// The media type of the bodies [`render`](Self::render) writes, as the OpenAPI
    /// document states it for every error response (default `application/problem+json`).
    fn content_type(&self) -> &'static str {
        PROBLEM_JSON
    }

    /// The schema of those bodies: the OpenAPI document names it `Problem` and points every
    /// error response at it. `None` (the default) keeps the RFC 9457 schema.
    #[cfg(feature = "openapi")]
    fn schema(&self) -> Option<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
        None
    }
}

/// The default renderer: RFC 9457 `application/problem+json`.
///
/// ```json
/// {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no route for GET /x",
///  "instance": "/x", "request_id": "5f0c…", "code": "not_found"}
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonProblemRenderer;

/// The `Content-Type` of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl ProblemRenderer for JsonProblemRenderer {
    fn render(&self, problem: &Problem<'_>) -> Response {
        // Serializing a map of plain strings and numbers cannot fail.
        let body = serde_json::to_vec(&Body(problem)).unwrap_or_default();
        let mut response = (problem.status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

struct Body<'a, 'b>(&'a Problem<'b>);

impl Serialize for Body<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", "about:blank")?;
        map.serialize_entry("title", p.title())?;
        map.serialize_entry("status", &p.status.as_u16())?;
        if let Some(detail) = p.detail {
            map.serialize_entry("detail", detail)?;
        }
        if !p.instance.is_empty() {
            map.serialize_entry("instance", p.instance)?;
        }
        if let Some(id) = p.request_id {
            map.serialize_entry("request_id", id)?;
        }
        map.serialize_entry("code", p.code)?;
        if !p.errors.is_empty() {
            map.serialize_entry("errors", p.errors)?;
        }
        map.end()
    }
}
