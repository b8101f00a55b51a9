//! The smallest Flagstone app: two hand-written routes on the full default stack.
//!
//! Run with `cargo run -p hello`, then:
//!
//! ```text
//! curl 'http://127.0.0.1:3000/api/v1/hello?name=Ada'
//! curl -X POST http://127.0.0.1:3000/api/v1/greetings \
//!      -H 'content-type: application/json' -d '{"name": "Ada", "language": "fr"}'
//! curl http://127.0.0.1:3000/openapi.json     # the OpenAPI 3.1 document
//! open http://127.0.0.1:3000/docs             # the API reference, in a browser
//! ```
//!
//! Both routes are documented with `#[utoipa::path]`: the document and the docs page come
//! from these declarations, and the `#[validate(...)]` rules show up in the schemas.

use flagstone::prelude::*;
use serde::{Deserialize, Serialize};

/// The app's documented routes, mounted under the API prefix (`/api/v1`).
pub fn routes() -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(hello))
        .routes(routes!(create_greeting))
}

/// The query of `GET /hello`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HelloQuery {
    /// Who to greet; `world` when left out or blank.
    name: Option<String>,
}

/// A greeting, as every route answers it.
#[derive(Serialize, Deserialize, Debug, PartialEq, ToSchema)]
pub struct Greeting {
    /// The greeting, ready to show.
    message: String,
}

/// Says hello.
///
/// `GET /hello?name=Ada` → `{"message": "Hello, Ada!"}`.
#[utoipa::path(
    get,
    path = "/hello",
    tag = "greetings",
    params(HelloQuery),
    responses((status = 200, description = "The greeting", body = Greeting))
)]
pub async fn hello(Query(query): Query<HelloQuery>) -> Json<Greeting> {
    let name = query
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("world");
    Json(Greeting {
        message: format!("Hello, {name}!"),
    })
}

/// The body of `POST /greetings`. Unknown fields are rejected; the rules are checked
/// together, so every invalid field is reported at once.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewGreeting {
    /// Who to greet.
    #[validate(non_empty, len(max = 50))]
    name: String,
    /// The language of the greeting; `en` when left out.
    #[serde(default)]
    #[validate(one_of("en", "fr", "de"))]
    language: Option<String>,
}

const LANGUAGES: [(&str, &str); 3] = [("en", "Hello"), ("fr", "Bonjour"), ("de", "Hallo")];

/// Creates a greeting in the requested language.
///
/// `POST /greetings` → 201 with the greeting. Every invalid field is reported at once.
#[utoipa::path(
    post,
    path = "/greetings",
    tag = "greetings",
    request_body = NewGreeting,
    responses((status = 201, description = "The greeting", body = Greeting))
)]
async fn create_greeting(
    Json(body): Json<NewGreeting>,
) -> Result<(StatusCode, Json<Greeting>), Error> {
    body.validate()?;
    let language = body.language.as_deref().unwrap_or("en");
    let word = LANGUAGES
        .iter()
        .find(|(code, _)| *code == language)
        .map_or("Hello", |(_, word)| word);
    let message = format!("{word}, {}!", body.name.trim());
    Ok((StatusCode::CREATED, Json(Greeting { message })))
}
