//! RealWorld's error body, `{"errors": {"body": ["..."]}}`, in place of problem+json.
//!
//! Validation failures list each field under its own name, without the envelope
//! (`user.email` becomes `email`): `{"errors": {"email": ["must be an email address"]}}`.
//! Every other error has one message under `body`. Statuses are Flagstone's: 422 for
//! validation (set in `flagstone.toml`), 401, 403, 404, 409, 429 and so on.

use flagstone::{
    axum::{
        Json,
        response::{IntoResponse, Response},
    },
    error::{Problem, ProblemRenderer},
    utoipa::openapi::{
        RefOr, Type,
        schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema},
    },
};
use serde_json::{Map, Value};

/// The envelopes RealWorld wraps request bodies in; stripped from field paths.
const ENVELOPES: [&str; 3] = ["user.", "article.", "comment."];

/// Renders every error as `{"errors": {field: [messages]}}`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealWorldErrors;

impl ProblemRenderer for RealWorldErrors {
    fn render(&self, problem: &Problem<'_>) -> Response {
        let mut errors = Map::new();
        for error in problem.errors {
            let field = ENVELOPES
                .iter()
                .find_map(|envelope| error.field.strip_prefix(envelope))
                .unwrap_or(&error.field);
            let field = if field.is_empty() { "body" } else { field };
            let messages = errors
                .entry(field)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(messages) = messages {
                messages.push(Value::from(error.message.as_ref()));
            }
        }
        if errors.is_empty() {
            let message = problem.detail.unwrap_or(problem.title());
            errors.insert("body".to_owned(), Value::from(vec![message]));
        }
        let body = Value::Object(Map::from_iter([(
            "errors".to_owned(),
            Value::Object(errors),
        )]));
        (problem.status, Json(body)).into_response()
    }

    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn schema(&self) -> Option<RefOr<Schema>> {
        let messages = ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
        let errors = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Messages by field; `body` for errors that concern no single field.",
            ))
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::Array(
                messages.build(),
            )))));
        let schema = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("errors", errors)
            .required("errors")
            .description(Some("RealWorld's error body."));
        Some(RefOr::T(Schema::Object(schema.build())))
    }
}
