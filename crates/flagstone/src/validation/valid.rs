//! `Valid<E>`: extract, then validate. Deserialization errors (wrong type, missing field,
//! unknown field) and rule violations come out as the same validation problem, each
//! with its field path.
//!
//! ```
//! use flagstone::prelude::*;
//! use flagstone::validation::Valid;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, Validate)]
//! #[serde(deny_unknown_fields)]
//! struct NewTask {
//!     #[validate(len(min = 1, max = 120))]
//!     title: String,
//! }
//!
//! async fn create(Valid(Json(task)): Valid<Json<NewTask>>) -> StatusCode {
//!     // `task` is well-formed and passed its rules.
//!     StatusCode::CREATED
//! }
//! ```
//!
//! JSON bodies are scanned before they are parsed: nesting deeper than
//! `api.max_json_depth`, a string longer than `api.max_string_length` bytes, and any object
//! key that starts with `$` or contains `.` are refused with a 400 naming the place. The
//! last rule keeps MongoDB operators (`{"$gt": ""}`, `{"$where": ...}`) out of free-form
//! fields (`serde_json::Value`, maps, BSON documents); typed fields cannot carry them at all.

use std::ops::Range;

use axum::{
    Form, Json,
    extract::{
        FromRequest, FromRequestParts, Path, Query, RawPathParams, Request,
        rejection::PathRejection,
    },
    http::{HeaderMap, header, request::Parts},
};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::{FieldPath, Validate, Violation};
use crate::{Error, FieldError};

/// An extractor (`Json`, `Query`, `Path`, `Form`) whose value passed its [`Validate`] rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct Valid<E>(pub E);

/// Bounds on JSON input, from `[api]` (`max_json_depth`, `max_string_length`); the app
/// shares them with every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputLimits {
    /// Deepest nesting of arrays and objects (default 32).
    pub max_depth: usize,
    /// Longest string, in bytes as sent (default 262 144).
    pub max_string_length: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_string_length: 256 * 1024,
        }
    }
}

impl<T, S> FromRequest<S> for Valid<Json<T>>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        if !is_json(req.headers()) {
            return Err(Error::new(
                crate::ErrorKind::UnsupportedMediaType,
                "expected a JSON body (content-type: application/json)",
            ));
        }
        let limits = req
            .extensions()
            .get::<InputLimits>()
            .copied()
            .unwrap_or_default();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| Error::new(crate::ErrorKind::from_status(e.status()), e.body_text()))?;
        scan(&body, &limits)?;
        let mut de = serde_json::Deserializer::from_slice(&body);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
        value.validate()?;
        Ok(Self(Json(value)))
    }
}

impl<T, S> FromRequest<S> for Valid<Form<T>>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(Error::new(
                crate::ErrorKind::UnsupportedMediaType,
                "expected a form body (content-type: application/x-www-form-urlencoded)",
            ));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| Error::new(crate::ErrorKind::from_status(e.status()), e.body_text()))?;
        let value: T = urlencoded(&body)?;
        value.validate()?;
        Ok(Self(Form(value)))
    }
}

impl<T, S> FromRequestParts<S> for Valid<Query<T>>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or_default();
        let value: T = urlencoded(query.as_bytes())?;
        value.validate()?;
        Ok(Self(Query(value)))
    }
}

impl<T, S> FromRequestParts<S> for Valid<Path<T>>
where
    T: DeserializeOwned + Validate + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let names: Vec<String> = match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => params.iter().map(|(name, _)| name.to_owned()).collect(),
            Err(_) => Vec::new(),
        };
        let Path(value) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| path_error(rejection, &names))?;
        value.validate()?;
        Ok(Self(Path(value)))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    mime.eq_ignore_ascii_case("application/json")
        || (mime.starts_with("application/") && mime.ends_with("+json"))
}

fn urlencoded<T: DeserializeOwned>(input: &[u8]) -> Result<T, Error> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(input));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = field_path(e.path());
        Error::validation(vec![data_error(&path, &e.inner().to_string())])
    })
}

/// Turns a path recorded by serde into `items[2].qty`.
fn field_path(path: &serde_path_to_error::Path) -> FieldPath {
    let mut out = FieldPath::default();
    for segment in path {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                out.push_index(*index);
            }
            serde_path_to_error::Segment::Map { key } => {
                out.push_field(key);
            }
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = field_path(e.path());
    let inner = e.inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            Error::validation(vec![data_error(&path, &strip_position(&inner.to_string()))])
        }
        serde_json::error::Category::Eof => Error::bad_request("the JSON body ends too early"),
        _ => Error::bad_request(format!(
            "malformed JSON at line {} column {}",
            inner.line(),
            inner.column()
        )),
    }
}

/// serde_json appends " at line 1 column 9"; the field path says it better.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Maps serde's message for a data error to a field error with a stable code.
fn data_error(path: &FieldPath, message: &str) -> FieldError {
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    let at = |name: &str| {
        let mut p = path.clone();
        if p.as_str()
            .rsplit(['.', '['])
            .next()
            .is_none_or(|last| last != name)
        {
            p.push_field(name);
        }
        p
    };
    if let Some(name) = named("missing field `") {
        return at(&name).error(Violation::new("required", "is required"));
    }
    if let Some(name) = named("unknown field `") {
        let expected = message
            .split_once(", expected ")
            .map(|(_, rest)| rest.replace('`', ""))
            .unwrap_or_default();
        let hint = match expected.as_str() {
            "" => "is not a known field".to_owned(),
            rest => format!("is not a known field (expected {rest})"),
        };
        return at(&name).error(Violation::new("unknown_field", hint));
    }
    if message.starts_with("invalid type") {
        let expected = message
            .split_once(", expected ")
            .map_or("another type", |(_, e)| e);
        return path.error(Violation::new("type", format!("must be {expected}")));
    }
    path.error(Violation::new("invalid", message.to_owned()))
}

/// A path rejection as a field error; `names` are the route's parameters, used when the
/// error does not say which one failed but there is only one.
fn path_error(rejection: PathRejection, names: &[String]) -> Error {
    use axum::extract::path::ErrorKind as PathError;
    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        return Error::internal(std::io::Error::other(rejection.body_text()));
    };
    let kind = failed.into_kind();
    let (field, message) = match &kind {
        PathError::ParseErrorAtKey {
            key, expected_type, ..
        } => (key.clone(), format!("must be {expected_type}")),
        PathError::InvalidUtf8InPathParam { key } => {
            (key.clone(), "must be valid UTF-8".to_owned())
        }
        PathError::DeserializeError { key, message, .. } => (
            key.clone(),
            match message.split_once(", expected ") {
                Some((_, expected)) => format!("must be {expected}"),
                None => message.clone(),
            },
        ),
        PathError::Message(message) => {
            let field = match names {
                [only] => only.clone(),
                _ => String::new(),
            };
            let message = match message.split_once(", expected ") {
                Some((_, expected)) => format!("must be {expected}"),
                None => message.clone(),
            };
            (field, message)
        }
        other => (String::new(), other.to_string()),
    };
    let mut path = FieldPath::default();
    if !field.is_empty() {
        path.push_field(&field);
    }
    Error::validation(vec![path.error(Violation::new("type", message))])
}

/// One pass over a JSON body: nesting depth, string sizes, and object keys that could
/// smuggle MongoDB operators. Syntax errors are left to the parser. Nothing is allocated
/// unless the body is refused: keys are kept as ranges of `body`, and decoded only to name
/// the refused field.
fn scan(body: &[u8], limits: &InputLimits) -> Result<(), Error> {
    /// An open object, with the range of its current key in `body` (quotes excluded), or an
    /// open array, with the index of its current element.
    enum Frame {
        Object { key: Option<Range<usize>> },
        Array { index: usize },
    }
    let key = |range: &Range<usize>| -> String {
        let raw = &body[range.clone()];
        match raw.contains(&b'\\') {
            true => {
                serde_json::from_slice(&body[range.start - 1..range.end + 1]).unwrap_or_default()
            }
            false => String::from_utf8_lossy(raw).into_owned(),
        }
    };
    let path_of = |stack: &[Frame]| {
        let mut path = FieldPath::default();
        for frame in stack {
            match frame {
                Frame::Object { key: Some(range) } => {
                    path.push_field(&key(range));
                }
                Frame::Array { index } => {
                    path.push_index(*index);
                }
                Frame::Object { key: None } => {}
            }
        }
        path
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while let Some(offset) = body.get(i..).and_then(|rest| {
        rest.iter()
            .position(|b| matches!(b, b'{' | b'[' | b'}' | b']' | b',' | b'"'))
    }) {
        i += offset;
        match body[i] {
            b'{' | b'[' => {
                if stack.len() >= limits.max_depth {
                    return Err(Error::bad_request(format!(
                        "the JSON body nests deeper than {} levels",
                        limits.max_depth
                    )));
                }
                stack.push(match body[i] {
                    b'{' => Frame::Object { key: None },
                    _ => Frame::Array { index: 0 },
                });
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                if let Some(Frame::Array { index }) = stack.last_mut() {
                    *index += 1;
                }
            }
            _ => {
                // A string: its end is the next quote that no backslash escapes.
                let start = i + 1;
                let mut end = start;
                let mut escaped = false;
                while end < body.len() {
                    match memchr::memchr2(b'"', b'\\', &body[end..]) {
                        Some(at) if body[end + at] == b'\\' => {
                            escaped = true;
                            end += at + 2;
                        }
                        Some(at) => {
                            end += at;
                            break;
                        }
                        None => end = body.len(),
                    }
                }
                let end = end.min(body.len());
                if end - start > limits.max_string_length {
                    let path = path_of(&stack);
                    return Err(Error::validation(vec![path.error(Violation::new(
                        "length",
                        format!("is longer than {} bytes", limits.max_string_length),
                    ))]));
                }
                i = end;
                let next = body[(i + 1).min(body.len())..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace());
                if next == Some(&b':') && matches!(stack.last(), Some(Frame::Object { .. })) {
                    let range = start..end;
                    let forbidden = match escaped {
                        true => {
                            let name = key(&range);
                            name.starts_with('$') || name.contains('.')
                        }
                        false => {
                            body[start..end].first() == Some(&b'$')
                                || memchr::memchr(b'.', &body[start..end]).is_some()
                        }
                    };
                    if forbidden {
                        let mut path = path_of(&stack[..stack.len() - 1]);
                        path.push_field(&key(&range));
                        return Err(Error::validation(vec![path.error(Violation::new(
                            "forbidden_key",
                            "keys may not start with '$' or contain '.'",
                        ))]));
                    }
                    if let Some(Frame::Object { key }) = stack.last_mut() {
                        *key = Some(range);
                    }
                }
            }
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(body: &str) -> Result<(), Error> {
        scan(
            body.as_bytes(),
            &InputLimits {
                max_depth: 4,
                max_string_length: 10,
            },
        )
    }

    #[test]
    fn operator_keys_are_refused_with_their_path() {
        for body in [
            r#"{"email": {"$gt": ""}}"#,
            r#"{"a": [1, {"$ne": null}]}"#,
            r#"{"$where": "sleep(1000)"}"#,
            r#"{"x": {"\u0024gt": 1}}"#,
            r#"{"a.b": 1}"#,
        ] {
            let err = scanned(body).expect_err(body);
            assert_eq!(err.field_errors()[0].code, "forbidden_key", "{body}");
        }
        let err = scanned(r#"{"a": [1, {"$ne": null}]}"#).expect_err("refused");
        assert_eq!(err.field_errors()[0].field, "a[1].$ne");
        assert!(
            scanned(r#"{"a": "$gt", "b": "x.y", "c": ["$"]}"#).is_ok(),
            "values may hold anything"
        );
    }

    #[test]
    fn depth_and_string_length_are_bounded() {
        assert!(scanned("[[[[1]]]]").is_ok());
        assert!(scanned("[[[[[1]]]]]").is_err());
        assert!(scanned(r#"{"a": "0123456789"}"#).is_ok());
        let err = scanned(r#"{"a": ["01234567890"]}"#).expect_err("too long");
        assert_eq!(err.field_errors()[0].field, "a[0]");
    }

    #[test]
    fn escapes_are_followed_and_decoded_in_paths() {
        let field = |body: &str| {
            scanned(body).expect_err(body).field_errors()[0]
                .field
                .clone()
        };
        assert_eq!(field(r#"{"k\"y": {"$gt": 1}}"#), r#"k"y.$gt"#);
        assert_eq!(field(r#"{"\u0061": ["01234567890"]}"#), "a[0]");
        // An escaped backslash ends the string; the key after it is still seen.
        assert_eq!(field(r#"{"a": "x\\", "$b": 1}"#), "$b");
        // A quote inside a value is not the start of a key.
        assert!(scanned(r#"{"a": "\"$gt\": 1"}"#).is_ok());
        // Unterminated strings and stray escapes are the parser's to refuse, not a panic.
        for body in [
            r#"{"a": "abc\"#,
            r#"""#,
            r#"{""#,
            "\\",
            r#"{"a\"#,
            r#"["\u"#,
        ] {
            assert!(scanned(body).is_ok(), "{body}");
        }
    }
}
