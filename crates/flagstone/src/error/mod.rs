//! One error type for every layer, rendered as RFC 9457 `application/problem+json`.
//!
//! Handlers, services and middleware return [`Error`]; each [`ErrorKind`] maps to one HTTP
//! status. The body carries `type`, `title`, `status`, `detail`, `instance`, `request_id`,
//! a machine-readable `code` and, for validation failures, `errors: [{field, code, message}]`.
//!
//! ```
//! use flagstone::{Error, error::FieldError};
//!
//! fn find(id: u32) -> flagstone::Result<String> {
//!     if id == 0 {
//!         return Err(Error::validation(vec![FieldError::new("id", "range", "must be positive")]));
//!     }
//!     Err(Error::not_found(format!("no item with id {id}")))
//! }
//! # assert!(find(1).is_err());
//! ```
//!
//! Anything that implements [`std::error::Error`] converts into an [`Error`] of kind
//! [`ErrorKind::Internal`] with `?`: the client sees a generic 500 problem, and the cause is
//! logged with the request id. The body format is pluggable through [`ProblemRenderer`].

mod problem;

use std::{borrow::Cow, fmt, sync::Arc};

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

pub use problem::{FieldError, JsonProblemRenderer, PROBLEM_JSON, Problem, ProblemRenderer};

/// A boxed error, as stored in [`Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with [`Error`] as its default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, one kind per HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400: the request is malformed.
    BadRequest,
    /// 401: no credentials, or invalid ones.
    Unauthorized,
    /// 403: authenticated, but not allowed.
    Forbidden,
    /// 404: no such resource or route.
    NotFound,
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 408: the request took longer than the configured timeout.
    Timeout,
    /// 409: the request conflicts with the current state (e.g. a duplicate key).
    Conflict,
    /// 412: a precondition (`If-Match`) does not hold: the resource changed.
    PreconditionFailed,
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 415: the body's content type is not accepted.
    UnsupportedMediaType,
    /// 400 by default, 422 when `api.validation_status = 422`: fields failed validation.
    Validation,
    /// 422: well-formed, but semantically unacceptable.
    Unprocessable,
    /// 429: a rate limit was exceeded.
    TooManyRequests,
    /// 500: an unexpected failure; details are logged, never shown.
    Internal,
    /// 501: the operation is outside what this backend supports (for example a query
    /// operator the embedded store does not implement). Details are logged, never shown.
    Unsupported,
    /// 503: a dependency is down or the server is overloaded.
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status of this kind. [`ErrorKind::Validation`] answers 400 here; the app
    /// stack turns it into 422 when configured so.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest | Self::Validation => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unsupported => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable machine-readable code written to the problem's `code` member.
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Timeout => "timeout",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation => "validation_failed",
            Self::Unprocessable => "unprocessable",
            Self::TooManyRequests => "rate_limited",
            Self::Internal => "internal",
            Self::Unsupported => "unsupported",
            Self::Unavailable => "unavailable",
        }
    }

    /// The kind that a bare status (for example from a framework rejection) stands for.
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            408 => Self::Timeout,
            409 => Self::Conflict,
            412 => Self::PreconditionFailed,
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            422 => Self::Unprocessable,
            429 => Self::TooManyRequests,
            501 => Self::Unsupported,
            503 => Self::Unavailable,
            400..=499 => Self::BadRequest,
            _ => Self::Internal,
        }
    }
}

/// The error type of every Flagstone layer; renders as `application/problem+json`.
///
/// It deliberately does not implement [`std::error::Error`], so that any error converts
/// into it with `?` (as [`ErrorKind::Internal`], the cause kept for the logs).
pub struct Error(Box<Repr>);

struct Repr {
    kind: ErrorKind,
    detail: Option<Cow<'static, str>>,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
    code: Option<&'static str>,
    source: Option<BoxError>,
}

impl Error {
    /// An error of `kind` with an optional client-facing detail.
    pub fn new(kind: ErrorKind, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::bare(kind).with_detail(detail)
    }

    /// An error of `kind` with no detail.
    pub fn bare(kind: ErrorKind) -> Self {
        Self(Box::new(Repr {
            kind,
            detail: None,
            errors: Vec::new(),
            retry_after: None,
            code: None,
            source: None,
        }))
    }

    /// 400 Bad Request.
    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::BadRequest, detail)
    }
    /// 401 Unauthorized.
    pub fn unauthorized(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unauthorized, detail)
    }
    /// 403 Forbidden.
    pub fn forbidden(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Forbidden, detail)
    }
    /// 404 Not Found.
    pub fn not_found(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NotFound, detail)
    }
    /// 409 Conflict.
    pub fn conflict(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Conflict, detail)
    }
    /// 422 Unprocessable Content.
    pub fn unprocessable(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unprocessable, detail)
    }
    /// A validation failure listing every offending field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut error = Self::new(ErrorKind::Validation, "the request has invalid fields");
        error.0.errors = errors;
        error
    }
    /// 501: an operation outside what the backend supports; `what` names it.
    pub fn unsupported(what: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, what)
    }
    /// Attaches per-field errors (a conflict naming its unique fields, for example).
    pub fn with_field_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.0.errors = errors;
        self
    }
    /// 429 Too Many Requests, retryable after `seconds`.
    pub fn too_many_requests(seconds: u64) -> Self {
        Self::new(ErrorKind::TooManyRequests, "too many requests, slow down")
            .with_retry_after(seconds)
    }
    /// 503 Service Unavailable, retryable after `seconds`.
    pub fn unavailable(detail: impl Into<Cow<'static, str>>, seconds: u64) -> Self {
        Self::new(ErrorKind::Unavailable, detail).with_retry_after(seconds)
    }
    /// 500 Internal Server Error caused by `source`, which is logged and never shown.
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self::bare(ErrorKind::Internal).with_source(source)
    }

    /// Replaces the client-facing detail. Ignored in the body of 5xx errors.
    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }
    /// Attaches the underlying cause, for logs only.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.0.source = Some(source.into());
        self
    }
    /// Sets the `Retry-After` header, in seconds.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after = Some(seconds);
        self
    }

    /// Replaces the body's machine `code` (by default the kind's, such as `unauthorized`)
    /// with a more specific one, such as `token_expired`.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.0.code = Some(code);
        self
    }

    /// The machine code the body carries.
    pub fn code(&self) -> &'static str {
        self.0.code.unwrap_or_else(|| self.0.kind.code())
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }
    /// The client-facing detail, if any.
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
    /// The field errors of a validation failure.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.0.errors
    }
    /// The underlying cause, if any.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.0.source.as_deref()
    }
    /// Seconds after which the client may retry, if any.
    pub fn retry_after(&self) -> Option<u64> {
        self.0.retry_after
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(source: E) -> Self {
        Self::internal(source)
    }
}

impl fmt::Debug for Error {
    /// Human-readable, since `main` prints a returned error with `Debug`: the kind, the
    /// detail and the chain of causes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Error {
    /// An internal error shows its cause chain (what `main` should print for, say, a bad
    /// configuration); the others show status, detail and field errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cause = self.source().map(|s| s as &dyn std::error::Error);
        if let (ErrorKind::Internal, Some(source)) = (self.0.kind, cause) {
            write!(f, "{source}")?;
            cause = source.source();
        } else {
            let status = self.0.kind.status();
            write!(
                f,
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )?;
            if let Some(detail) = &self.0.detail {
                write!(f, ": {detail}")?;
            }
            for error in &self.0.errors {
                write!(f, "\n  - {}: {}", error.field, error.message)?;
            }
        }
        while let Some(error) = cause {
            write!(f, "\ncaused by: {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// What the app stack needs to re-render an [`Error`] response with the request's id and
/// path: attached to every response built from an [`Error`].
#[derive(Clone, Debug)]
pub(crate) struct ErrorParts {
    pub(crate) kind: ErrorKind,
    pub(crate) code: &'static str,
    pub(crate) detail: Option<Cow<'static, str>>,
    pub(crate) errors: Arc<[FieldError]>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let Repr {
            kind,
            detail,
            errors,
            retry_after,
            code,
            source,
        } = *self.0;
        if kind == ErrorKind::Internal || kind.status().is_server_error() {
            match &source {
                Some(source) => {
                    tracing::error!(error = %source, kind = kind.code(), "request failed")
                }
                None => tracing::error!(
                    kind = kind.code(),
                    detail = detail.as_deref(),
                    "request failed"
                ),
            }
        }
        let parts = ErrorParts {
            kind,
            code: code.unwrap_or_else(|| kind.code()),
            detail,
            errors: errors.into(),
        };
        let problem = Problem::from_parts(&parts, kind.status(), "", None);
        let mut response = JsonProblemRenderer.render(&problem);
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(parts);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_std_error_converts_to_internal_and_keeps_its_cause() {
        let io = std::io::Error::other("disk on fire");
        let error: Error = io.into();
        assert_eq!(error.kind(), ErrorKind::Internal);
        assert_eq!(error.kind().status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(format!("{error:?}"), "disk on fire");
        let wrapped = Error::internal(error_chain());
        assert_eq!(format!("{wrapped}"), "outer\ncaused by: inner");
    }

    fn error_chain() -> Box<dyn std::error::Error + Send + Sync> {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("outer")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        Box::new(Outer(std::io::Error::other("inner")))
    }

    #[test]
    fn client_errors_show_status_detail_and_fields() {
        let error = Error::validation(vec![FieldError::new("email", "email", "is not an email")]);
        assert_eq!(
            error.to_string(),
            "400 Bad Request: the request has invalid fields\n  - email: is not an email"
        );
    }

    #[test]
    fn every_status_maps_back_to_its_kind() {
        for kind in [
            ErrorKind::Unauthorized,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::MethodNotAllowed,
            ErrorKind::Timeout,
            ErrorKind::Conflict,
            ErrorKind::PayloadTooLarge,
            ErrorKind::UnsupportedMediaType,
            ErrorKind::Unprocessable,
            ErrorKind::TooManyRequests,
            ErrorKind::Internal,
            ErrorKind::Unavailable,
        ] {
            assert_eq!(ErrorKind::from_status(kind.status()), kind);
        }
        assert_eq!(
            ErrorKind::from_status(StatusCode::IM_A_TEAPOT),
            ErrorKind::BadRequest
        );
    }
}
