//! The smallest Flagstone app: two hand-written routes on the full default stack.
//!
//! Run with `cargo run -p hello`, then:
//!
//! ```text
//! curl 'http://127.0.0.1:3000/api/v1/hello?name=Ada'
//! curl -X POST http://127.0.0.1:3000/api/v1/greetings \
//!      -H 'content-type: application/json' -d '{"name": "Ada", "language": "fr"}'
//! ```

use flagstone::prelude::*;
use serde::{Deserialize, Serialize};

/// The app's routes, mounted under the API prefix (`/api/v1`).
pub fn routes() -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/greetings", post(create_greeting))
}

/// The query of `GET /hello`.
#[derive(Deserialize)]
pub struct HelloQuery {
    name: Option<String>,
}

/// A greeting, as every route answers it.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Greeting {
    message: String,
}

/// `GET /hello?name=Ada` → `{"message": "Hello, Ada!"}`.
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
#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
struct NewGreeting {
    #[validate(non_empty, len(max = 50))]
    name: String,
    #[serde(default)]
    #[validate(one_of("en", "fr", "de"))]
    language: Option<String>,
}

const LANGUAGES: [(&str, &str); 3] = [("en", "Hello"), ("fr", "Bonjour"), ("de", "Hallo")];

/// `POST /greetings` → 201 with the greeting in the requested language.
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
