//! The OpenAPI document: what it holds, that it matches what the app enforces and serves,
//! and that it is a valid OpenAPI 3.1 document.
#![cfg(feature = "openapi")]
#![allow(clippy::unwrap_used)]

use flagstone::{
    App,
    config::{Config, ConfigLoader, Profile},
    openapi::apply_constraints,
    pagination::Page,
    prelude::*,
    testing::TestApp,
    utoipa::{
        PartialSchema,
        openapi::{HttpMethod, path::Operation},
    },
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A new user: one rule of each kind.
#[derive(Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewUser {
    /// Lower case letters, digits and `_`.
    #[validate(len(min = 3, max = 20), pattern = "[a-z0-9_]+")]
    username: String,
    #[validate(email)]
    email: String,
    #[validate(url)]
    home_page: Option<String>,
    #[validate(range(min = 13, max = 130))]
    age: u32,
    #[validate(one_of("reader", "writer"))]
    role: String,
    #[validate(len(max = 3), each(len(min = 1, max = 10)))]
    tags: Vec<String>,
    #[validate(required, len(max = 200))]
    bio: Option<String>,
}

/// A user, as answered.
#[derive(Serialize, Deserialize, ToSchema)]
struct User {
    id: u64,
    username: String,
}

/// Validation without a schema: registered, never matched, harmless.
#[derive(Deserialize, Validate)]
#[allow(dead_code)]
struct NoSchema {
    #[validate(len(max = 1))]
    name: String,
}

/// A generic `Validate` type has no single schema and registers nothing.
#[derive(Deserialize, Validate)]
#[allow(dead_code)]
struct Wrapper<T> {
    #[validate(nested)]
    inner: T,
}

/// Creates a user.
#[utoipa::path(post, path = "/users", request_body = NewUser,
               responses((status = 201, description = "Created", body = User)))]
async fn create_user(Json(body): Json<NewUser>) -> flagstone::Result<(StatusCode, Json<User>)> {
    body.validate()?;
    let user = User {
        id: 1,
        username: body.username,
    };
    Ok((StatusCode::CREATED, Json(user)))
}

/// Lists users, a page at a time.
#[utoipa::path(get, path = "/users", responses((status = 200, description = "A page", body = Page<User>)))]
async fn list_users() -> Json<Value> {
    Json(json!({"items": [], "meta": {"limit": 20, "offset": 0, "total": 0}}))
}

/// One user; needs a token.
#[utoipa::path(get, path = "/users/{id}", params(("id" = u64, Path, description = "The user's id")),
               security(("bearer" = []), ("cookie" = [])),
               responses((status = 200, description = "The user", body = User)))]
async fn get_user(Path(id): Path<u64>) -> flagstone::Result<Json<User>> {
    Err(Error::not_found(format!("no user {id}")))
}

/// Deletes a user: declares its own 404, which is kept.
#[utoipa::path(delete, path = "/users/{id}", params(("id" = u64, Path)),
               responses((status = 204, description = "Deleted"), (status = 404, description = "Never existed")))]
async fn delete_user(Path(_id): Path<u64>) -> StatusCode {
    StatusCode::NO_CONTENT
}

fn api() -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(create_user, list_users))
        .routes(routes!(get_user, delete_user))
}

fn config(env: &[(&str, &str)]) -> Config {
    ConfigLoader::new()
        .dir(env!("CARGO_MANIFEST_DIR"))
        .profile(Profile::Test)
        .env(env.iter().copied())
        .load()
        .unwrap()
}

fn app() -> App {
    App::new(Config::defaults(Profile::Test)).api(api())
}

fn document() -> Value {
    serde_json::to_value(app().openapi()).unwrap()
}

/// Follows a local `$ref`.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(path) => resolve(doc, doc.pointer(path.trim_start_matches('#')).unwrap()),
        None => value,
    }
}

/// Every `(path, method, operation)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    out
}

#[test]
fn info_comes_from_config() {
    let config = config(&[
        ("FLAGSTONE_OPENAPI__TITLE", "Users API"),
        ("FLAGSTONE_OPENAPI__VERSION", "2.1.0"),
        (
            "FLAGSTONE_OPENAPI__DESCRIPTION",
            "People and their accounts.",
        ),
    ]);
    let doc = serde_json::to_value(App::new(config).api(api()).openapi()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["info"],
        json!({"title": "Users API", "version": "2.1.0", "description": "People and their accounts."})
    );

    let defaults = document();
    assert_eq!(
        defaults["info"],
        json!({"title": "Flagstone API", "version": "0.1.0"})
    );
}

#[test]
fn paths_are_under_the_api_prefix() {
    let doc = document();
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths, ["/api/v1/users", "/api/v1/users/{id}"]);

    let config = config(&[("FLAGSTONE_API__PREFIX", "/v2")]);
    let doc = serde_json::to_value(App::new(config).api(api()).openapi()).unwrap();
    assert!(doc["paths"]["/v2/users/{id}"]["get"].is_object(), "{doc:#}");
}

#[test]
fn security_schemes_are_bearer_jwt_and_the_cookie() {
    let doc = document();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
    assert_eq!(schemes["cookie"]["type"], "apiKey");
    assert_eq!(schemes["cookie"]["in"], "cookie");
    assert_eq!(schemes["cookie"]["name"], "access_token");
}

#[tokio::test]
async fn problem_schema_matches_the_renderer() {
    let doc = document();
    let problem = &doc["components"]["schemas"]["Problem"];
    let properties: Vec<&String> = problem["properties"].as_object().unwrap().keys().collect();
    for name in [
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "request_id",
        "code",
        "errors",
    ] {
        assert!(
            properties.contains(&&name.to_owned()),
            "{name}: {problem:#}"
        );
    }
    assert_eq!(
        problem["required"],
        json!(["type", "title", "status", "code"])
    );
    assert_eq!(
        problem["properties"]["errors"]["items"]["$ref"],
        "#/components/schemas/FieldError"
    );
    let field_error = &doc["components"]["schemas"]["FieldError"];
    assert_eq!(field_error["required"], json!(["field", "code", "message"]));

    // A real problem has exactly these members.
    let app = TestApp::new(app());
    let body = app
        .post_json(
            "/api/v1/users",
            &json!({"username": "x", "email": "x", "age": 1, "role": "x", "tags": [], "bio": "x"}),
        )
        .await
        .json();
    for (key, _) in body.as_object().unwrap() {
        assert!(properties.contains(&key), "{key} is not in the schema");
    }
    for (key, _) in body["errors"][0].as_object().unwrap() {
        assert!(field_error["properties"][key].is_object(), "{key}");
    }
}

#[test]
fn every_operation_has_the_standard_responses() {
    let doc = document();
    let ops = operations(&doc);
    assert_eq!(ops.len(), 4);
    for (path, method, operation) in &ops {
        let responses = operation["responses"].as_object().unwrap();
        let mut expected = vec!["400", "429", "500"];
        if path.contains('{') {
            expected.push("404");
        }
        if operation["security"].is_array() {
            expected.extend(["401", "403"]);
        }
        if operation["requestBody"].is_object() {
            // A body in another media type gets 415 (found by schemathesis).
            expected.extend(["422", "415"]);
        }
        if ["post", "put", "patch", "delete"].contains(&method.as_str()) {
            // Any write may conflict: a unique index, a state (found by schemathesis).
            expected.push("409");
        }
        for status in expected {
            let response = resolve(&doc, &responses[status]);
            assert!(
                response["description"].is_string(),
                "{method} {path} {status}: {response:#}"
            );
            if (status == "404" && method == "delete") || response["content"].is_null() {
                continue;
            }
            assert_eq!(
                response["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{method} {path} {status}"
            );
        }
        if !operation["security"].is_array() {
            assert!(responses.get("401").is_none(), "{method} {path}");
        }
    }
    // What an operation declares itself is kept.
    let delete = &doc["paths"]["/api/v1/users/{id}"]["delete"]["responses"]["404"];
    assert_eq!(delete["description"], "Never existed");
    // 429 says when to come back.
    let too_many = &doc["components"]["responses"]["TooManyRequests"];
    assert!(too_many["headers"]["Retry-After"].is_object());
    // The body-less list has no 422; the create has.
    assert!(doc["paths"]["/api/v1/users"]["get"]["responses"]["422"].is_null());
    assert!(doc["paths"]["/api/v1/users"]["get"]["responses"]["415"].is_null());
    assert!(doc["paths"]["/api/v1/users"]["get"]["responses"]["409"].is_null());
    assert!(doc["paths"]["/api/v1/users"]["post"]["responses"]["422"].is_object());
}

#[test]
fn pagination_parameters_and_the_page_envelope() {
    let doc = document();
    let parameters = &doc["components"]["parameters"];
    for (name, ty) in [
        ("limit", "integer"),
        ("offset", "integer"),
        ("cursor", "string"),
        ("sort", "string"),
        ("fields", "string"),
        ("total", "boolean"),
    ] {
        assert_eq!(parameters[name]["name"], name);
        assert_eq!(parameters[name]["in"], "query");
        assert_eq!(parameters[name]["schema"]["type"], ty, "{name}");
    }
    assert_eq!(parameters["limit"]["schema"]["minimum"], 1);

    // The list operation returns a page, so it takes the parameters.
    let list = &doc["paths"]["/api/v1/users"]["get"];
    let refs: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["$ref"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs,
        [
            "#/components/parameters/limit",
            "#/components/parameters/offset",
            "#/components/parameters/cursor",
            "#/components/parameters/sort",
            "#/components/parameters/fields",
            "#/components/parameters/total",
        ]
    );
    assert!(doc["paths"]["/api/v1/users"]["post"]["parameters"].is_null());

    let content = &list["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(content["$ref"], "#/components/schemas/Page_User");
    let page = resolve(&doc, content);
    assert_eq!(page["description"], "One page of items, and where it is.");
    assert_eq!(
        page["properties"]["items"]["items"]["$ref"], "#/components/schemas/User",
        "{page:#}"
    );
    assert_eq!(
        page["properties"]["meta"]["$ref"],
        "#/components/schemas/PageMeta"
    );
    let meta = &doc["components"]["schemas"]["PageMeta"];
    for name in ["limit", "offset", "next_cursor", "total"] {
        assert!(meta["properties"][name].is_object(), "{name}: {meta:#}");
    }
    assert_eq!(meta["required"], json!(["limit"]));
}

#[test]
fn validate_rules_are_in_the_schema() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["NewUser"];
    let p = &schema["properties"];
    assert_eq!(p["username"]["minLength"], 3);
    assert_eq!(p["username"]["maxLength"], 20);
    assert_eq!(p["username"]["pattern"], "^(?:[a-z0-9_]+)$");
    assert_eq!(
        p["username"]["description"],
        "Lower case letters, digits and `_`."
    );
    assert_eq!(p["email"]["format"], "email");
    assert_eq!(p["homePage"]["format"], "uri");
    assert_eq!(p["age"]["minimum"], 13);
    assert_eq!(p["age"]["maximum"], 130);
    assert_eq!(p["role"]["enum"], json!(["reader", "writer"]));
    assert_eq!(p["tags"]["maxItems"], 3);
    assert_eq!(p["tags"]["items"]["minLength"], 1);
    assert_eq!(p["tags"]["items"]["maxLength"], 10);
    // `required` on an Option: listed, and no longer nullable.
    assert_eq!(p["bio"]["type"], "string", "{schema:#}");
    assert_eq!(p["bio"]["maxLength"], 200);
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        ["age", "bio", "email", "role", "tags", "username"]
    );
}

#[test]
fn apply_constraints_works_on_a_schema_by_hand() {
    let schema = serde_json::to_value(apply_constraints::<NewUser>(NewUser::schema())).unwrap();
    assert_eq!(schema["properties"]["username"]["maxLength"], 20);
    assert_eq!(
        schema["properties"]["role"]["enum"],
        json!(["reader", "writer"])
    );
}

fn valid_user() -> Value {
    json!({
        "username": "ada_l",
        "email": "ada@example.com",
        "homePage": "https://ada.example.com",
        "age": 36,
        "role": "writer",
        "tags": ["math"],
        "bio": "Countess."
    })
}

/// A body breaking one documented rule, and the field the validator must name.
struct Case {
    rule: String,
    body: Value,
    field: String,
}

/// Reads the rules off the schema and breaks each of them in turn.
fn cases(schema: &Value) -> Vec<Case> {
    let mut cases = Vec::new();
    let valid = valid_user();
    for (name, property) in schema["properties"].as_object().unwrap() {
        for (rule, broken, field) in breakers(name, property) {
            let mut body = valid.clone();
            body[name.as_str()] = broken;
            cases.push(Case {
                rule: format!("{name}: {rule}"),
                body,
                field,
            });
        }
    }
    for name in schema["required"].as_array().unwrap() {
        let name = name.as_str().unwrap();
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(name);
        // A missing non-Option field is refused by serde, before validation (422).
        cases.push(Case {
            rule: format!("{name}: required"),
            body,
            field: name.to_owned(),
        });
    }
    cases
}

/// `(rule, a value breaking it, the reported field)` for each rule of one property.
fn breakers(name: &str, p: &Value) -> Vec<(String, Value, String)> {
    let mut out = Vec::new();
    let field = name.to_owned();
    let n = |key: &str| p[key].as_u64().map(|n| n as usize);
    if let Some(min) = n("minLength") {
        out.push((
            format!("minLength {min}"),
            json!("a".repeat(min - 1)),
            field.clone(),
        ));
    }
    if let Some(max) = n("maxLength") {
        out.push((
            format!("maxLength {max}"),
            json!("a".repeat(max + 1)),
            field.clone(),
        ));
    }
    if p["pattern"].is_string() {
        out.push(("pattern".into(), json!("NOT-lower!"), field.clone()));
    }
    match p["format"].as_str() {
        Some("email") => out.push(("format email".into(), json!("nobody"), field.clone())),
        Some("uri") => out.push(("format uri".into(), json!("not a url"), field.clone())),
        _ => {}
    }
    if let Some(min) = p["minimum"].as_i64() {
        out.push((format!("minimum {min}"), json!(min - 1), field.clone()));
    }
    if let Some(max) = p["maximum"].as_i64() {
        // Bounds a type gives itself (u32) are enforced by serde, not by a rule.
        if max < i64::from(u32::MAX) {
            out.push((format!("maximum {max}"), json!(max + 1), field.clone()));
        }
    }
    if p["enum"].is_array() {
        out.push(("enum".into(), json!("not-listed"), field.clone()));
    }
    if let Some(max) = n("maxItems") {
        out.push((
            format!("maxItems {max}"),
            json!(vec!["a"; max + 1]),
            field.clone(),
        ));
    }
    if p["items"].is_object() {
        for (rule, broken, _) in breakers(name, &p["items"]) {
            out.push((
                format!("items {rule}"),
                json!([broken]),
                format!("{name}[0]"),
            ));
        }
    }
    out
}

#[tokio::test]
async fn every_documented_rule_is_enforced() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["NewUser"];
    let app = TestApp::new(app());
    let accepted = app.post_json("/api/v1/users", &valid_user()).await;
    assert_eq!(
        accepted.status(),
        StatusCode::CREATED,
        "{}",
        accepted.text()
    );

    let cases = cases(schema);
    assert!(cases.len() >= 14, "{} cases", cases.len());
    for case in cases {
        let response = app.post_json("/api/v1/users", &case.body).await;
        let body = response.json();
        match response.status() {
            StatusCode::BAD_REQUEST => {
                let fields: Vec<&str> = body["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["field"].as_str().unwrap())
                    .collect();
                assert!(
                    fields.contains(&case.field.as_str()),
                    "{}: expected an error on {}, got {body}",
                    case.rule,
                    case.field
                );
            }
            // serde refuses a missing required field before the rules run.
            StatusCode::UNPROCESSABLE_ENTITY if case.rule.ends_with(": required") => {
                assert!(
                    body["detail"].as_str().unwrap().contains(&case.field),
                    "{}: {body}",
                    case.rule
                );
            }
            other => panic!("{}: expected 400, got {other}: {body}", case.rule),
        }
    }
}

#[tokio::test]
async fn the_document_and_the_docs_page_are_served_outside_rate_limiting() {
    let app = TestApp::new(app());
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert!(response.header("ratelimit").is_none());
    assert_eq!(response.json(), document());

    let docs = app.get("/docs").await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(
        docs.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let page = docs.text();
    assert!(
        page.contains(r#"<script id="api-reference" data-url="/openapi.json"></script>"#),
        "{page}"
    );
    assert!(
        page.contains(
            r#"<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>"#
        )
    );
    let csp = docs.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self' https://cdn.jsdelivr.net;"),
        "{csp}"
    );
    assert!(docs.header("ratelimit").is_none());
    // The API itself is rate limited.
    assert!(app.get("/api/v1/users").await.header("ratelimit").is_some());
}

#[tokio::test]
async fn paths_and_the_script_are_configurable() {
    let config = config(&[
        ("FLAGSTONE_OPENAPI__JSON_PATH", "/spec.json"),
        ("FLAGSTONE_OPENAPI__DOCS_PATH", "/reference"),
        (
            "FLAGSTONE_OPENAPI__DOCS_SCRIPT_URL",
            "/assets/api-reference.js",
        ),
    ]);
    let app = TestApp::new(App::new(config).api(api()));
    assert_eq!(app.get("/spec.json").await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/openapi.json").await.status(),
        StatusCode::NOT_FOUND
    );
    let docs = app.get("/reference").await;
    assert!(docs.text().contains(r#"data-url="/spec.json""#));
    assert!(
        docs.text()
            .contains(r#"<script src="/assets/api-reference.js"></script>"#)
    );
    let csp = docs.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
}

#[tokio::test]
async fn disabled_serves_neither() {
    let config = config(&[("FLAGSTONE_OPENAPI__ENABLED", "false")]);
    let app = TestApp::new(App::new(config).api(api()));
    assert_eq!(
        app.get("/openapi.json").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/docs").await.status(), StatusCode::NOT_FOUND);
    // The API still is.
    assert_eq!(app.get("/api/v1/users").await.status(), StatusCode::OK);
}

#[test]
fn bad_openapi_settings_are_reported() {
    let error = ConfigLoader::new()
        .dir(env!("CARGO_MANIFEST_DIR"))
        .profile(Profile::Test)
        .env([
            ("FLAGSTONE_OPENAPI__JSON_PATH", "openapi.json"),
            ("FLAGSTONE_OPENAPI__DOCS_PATH", "/openapi.json"),
            ("FLAGSTONE_OPENAPI__DOCS_SCRIPT_URL", "\"><script>"),
            ("FLAGSTONE_OPENAPI__TITEL", "typo"),
        ])
        .load()
        .unwrap_err();
    for key in [
        "openapi.json_path",
        "openapi.docs_script_url",
        "openapi.titel",
    ] {
        assert!(error.get(key).is_some(), "{key}: {error}");
    }
    let error = ConfigLoader::new()
        .dir(env!("CARGO_MANIFEST_DIR"))
        .profile(Profile::Test)
        .env([("FLAGSTONE_OPENAPI__DOCS_PATH", "/openapi.json")])
        .load()
        .unwrap_err();
    assert!(error.get("openapi.docs_path").is_some(), "{error}");
}

#[tokio::test]
async fn spec_and_router_agree() {
    let agreement = TestApp::new(app()).openapi_agreement().await;
    agreement.assert_ok();
    assert_eq!(
        agreement.checked,
        [
            "GET /api/v1/users",
            "POST /api/v1/users",
            "DELETE /api/v1/users/{id}",
            "GET /api/v1/users/{id}",
        ]
    );
}

#[tokio::test]
async fn disagreements_are_reported() {
    let mut api = api();
    let paths = &mut api.get_openapi_mut().paths;
    // Documented, never routed.
    paths.add_path_operation("/ghosts", vec![HttpMethod::Get], Operation::new());
    // Routed for GET and DELETE, documented for PUT too.
    paths.add_path_operation("/users/{id}", vec![HttpMethod::Put], Operation::new());
    let app = App::new(Config::defaults(Profile::Test))
        .api(api)
        .routes(Router::new().route("/hidden", get(|| async { "not in the document" })));
    let agreement = TestApp::new(app).openapi_agreement().await;
    assert!(!agreement.is_ok());
    assert_eq!(
        agreement.missing,
        [
            "GET /api/v1/ghosts (404, no route)",
            "PUT /api/v1/users/{id} (405, allowed: GET,HEAD,DELETE)",
        ]
    );
    assert_eq!(agreement.undocumented.len(), 1);
    assert!(
        agreement.undocumented[0].starts_with("crates/flagstone/tests/openapi.rs:"),
        "{:?}",
        agreement.undocumented
    );
    let report = agreement.to_string();
    assert!(
        report.contains("documented but not served: GET /api/v1/ghosts"),
        "{report}"
    );
    assert!(report.contains("served but not documented"), "{report}");
}

/// The document passes a real OpenAPI 3.1 validator: `openapi-spec-validator`, when
/// `python3` can import it (CI installs it; see `.ci/run`).
#[test]
fn the_document_is_valid_openapi_3_1() {
    flagstone::testing::openapi_spec_validator(&document());
}

/// Two types of the same name: utoipa names both schemas `Dup`, and the rules of the one
/// in the document are the ones stated.
mod first {
    use flagstone::prelude::*;

    #[derive(serde::Deserialize, Validate, ToSchema)]
    pub(crate) struct Dup {
        #[validate(len(max = 5))]
        pub(crate) name: String,
    }

    /// Uses the first `Dup`.
    #[utoipa::path(post, path = "/dups", request_body = Dup, responses((status = 204, description = "Done")))]
    pub(crate) async fn create(Json(body): Json<Dup>) -> flagstone::Result<StatusCode> {
        body.validate()?;
        Ok(StatusCode::NO_CONTENT)
    }
}

mod second {
    use flagstone::prelude::*;

    #[derive(serde::Deserialize, Validate, ToSchema)]
    #[allow(dead_code)]
    pub(crate) struct Dup {
        #[validate(len(max = 9))]
        pub(crate) name: String,
        pub(crate) extra: u8,
    }
}

#[test]
fn same_named_types_are_told_apart_by_their_schema() {
    let _ = std::mem::size_of::<second::Dup>();
    let app = App::new(Config::defaults(Profile::Test))
        .api(OpenApiRouter::new().routes(routes!(first::create)));
    let doc = serde_json::to_value(app.openapi()).unwrap();
    assert_eq!(
        doc["components"]["schemas"]["Dup"]["properties"]["name"]["maxLength"], 5,
        "{doc:#}"
    );
}
