//! The one error type of the handlers and its RealWorld rendering.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

/// What a handler can fail with; each variant knows its status and body.
#[derive(Debug)]
pub(crate) enum AppError {
    /// 401: no token, or a bad one, where one is required; or wrong credentials.
    Unauthorized,
    /// 403: acting on someone else's article or comment.
    Forbidden,
    /// 404: unknown slug, username or comment.
    NotFound,
    /// 422 with `{"errors": {field: [message]}}`.
    Invalid(&'static str, &'static str),
    /// 500; the cause is logged, never shown.
    Internal(String),
}

/// The result of a handler.
pub(crate) type AppResult<T> = Result<T, AppError>;

impl From<mongodb::error::Error> for AppError {
    fn from(error: mongodb::error::Error) -> Self {
        Self::Internal(error.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, field, message) = match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "token", "is missing or invalid"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "body", "forbidden"),
            Self::NotFound => (StatusCode::NOT_FOUND, "body", "not found"),
            Self::Invalid(field, message) => (StatusCode::UNPROCESSABLE_ENTITY, field, message),
            Self::Internal(cause) => {
                eprintln!("internal error: {cause}");
                (StatusCode::INTERNAL_SERVER_ERROR, "body", "internal error")
            }
        };
        (status, Json(json!({ "errors": { field: [message] } }))).into_response()
    }
}

/// Whether `error` is a duplicate key (code 11000) on a unique index.
pub(crate) fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == 11000,
        ErrorKind::Command(e) => e.code == 11000,
        _ => false,
    }
}

/// Fails with 422 `{"errors": {field: ["can't be blank"]}}` when `value` is empty.
pub(crate) fn required(field: &'static str, value: &str) -> AppResult<()> {
    if value.trim().is_empty() {
        Err(AppError::Invalid(field, "can't be blank"))
    } else {
        Ok(())
    }
}
