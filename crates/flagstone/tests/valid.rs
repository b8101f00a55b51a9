//! `Valid<...>` extractors through the whole stack: deserialization errors and rule
//! violations as one problem shape, operator injection refused at the boundary.
#![allow(clippy::unwrap_used)]

use flagstone::{
    config::{ConfigLoader, Profile},
    prelude::*,
    testing::TestApp,
    validation::{FieldPath, Valid, Validate, Violation, rules},
};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    name: String,
    qty: i32,
    #[serde(default)]
    #[allow(dead_code)]
    meta: Option<Value>,
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Part {
    qty: i32,
}

impl Validate for NewItem {
    fn validate_at(&self, path: &mut FieldPath, errors: &mut Vec<FieldError>) {
        let mark = path.push_field("name");
        if let Some(v) = rules::len(&self.name, Some(1), Some(10), false) {
            errors.push(path.error(v));
        }
        path.truncate(mark);
        let mark = path.push_field("qty");
        if let Some(v) = rules::range(self.qty, Some(1.0), Some(99.0)) {
            errors.push(path.error(v));
        }
        path.truncate(mark);
        let mark = path.push_field("parts");
        self.parts.validate_at(path, errors);
        path.truncate(mark);
    }
}

impl Validate for Part {
    fn validate_at(&self, path: &mut FieldPath, errors: &mut Vec<FieldError>) {
        let mark = path.push_field("qty");
        if self.qty < 0 {
            errors.push(path.error(Violation::new("range", "must be at least 0")));
        }
        path.truncate(mark);
    }
}

#[derive(Debug, Deserialize)]
struct Paging {
    limit: u32,
}

impl Validate for Paging {
    fn validate_at(&self, path: &mut FieldPath, errors: &mut Vec<FieldError>) {
        let mark = path.push_field("limit");
        if let Some(v) = rules::range(self.limit, Some(1.0), Some(100.0)) {
            errors.push(path.error(v));
        }
        path.truncate(mark);
    }
}

#[derive(Debug, Deserialize)]
struct ById {
    id: Id<NewItem>,
}

impl Validate for ById {
    fn validate_at(&self, _: &mut FieldPath, _: &mut Vec<FieldError>) {}
}

async fn create(Valid(Json(item)): Valid<Json<NewItem>>) -> (StatusCode, String) {
    (StatusCode::CREATED, item.name)
}

async fn list(Valid(Query(paging)): Valid<Query<Paging>>) -> String {
    paging.limit.to_string()
}

async fn show(Valid(Path(by)): Valid<Path<ById>>) -> String {
    by.id.to_string()
}

async fn form(Valid(axum::Form(paging)): Valid<axum::Form<Paging>>) -> String {
    paging.limit.to_string()
}

fn app(env: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .load()
        .unwrap();
    TestApp::new(
        App::new(config).routes(
            Router::new()
                .route("/items", post(create).get(list))
                .route("/items/{id}", get(show))
                .route("/form", post(form)),
        ),
    )
}

fn errors(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_valid_body_passes() {
    let response = app(&[])
        .post_json("/api/v1/items", &json!({"name": "bolt", "qty": 3}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.text(), "bolt");
}

#[tokio::test]
async fn rule_violations_are_collected_with_their_paths() {
    let response = app(&[])
        .post_json(
            "/api/v1/items",
            &json!({"name": "", "qty": 500, "parts": [{"qty": 1}, {"qty": 2}, {"qty": -1}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.header("content-type").unwrap(),
        "application/problem+json"
    );
    let body = response.json();
    assert_eq!(body["code"], "validation_failed");
    assert_eq!(
        errors(&body),
        [
            ("name".to_owned(), "length".to_owned()),
            ("qty".to_owned(), "range".to_owned()),
            ("parts[2].qty".to_owned(), "range".to_owned()),
        ]
    );
}

#[tokio::test]
async fn deserialization_errors_use_the_same_shape() {
    let app = app(&[]);
    let cases = [
        (json!({"name": "x"}), "qty", "required"),
        (json!({"name": "x", "qty": "three"}), "qty", "type"),
        (
            json!({"name": "x", "qty": 1, "admin": true}),
            "admin",
            "unknown_field",
        ),
        (
            json!({"name": "x", "qty": 1, "parts": [{"qty": 1}, {"qty": "x"}]}),
            "parts[1].qty",
            "type",
        ),
        (
            json!({"name": "x", "qty": 1, "parts": [{"qty": 1, "extra": 1}]}),
            "parts[0].extra",
            "unknown_field",
        ),
        (json!({"name": null, "qty": 1}), "name", "type"),
    ];
    for (body, field, code) in cases {
        let response = app.post_json("/api/v1/items", &body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            errors(&response.json()),
            [(field.to_owned(), code.to_owned())],
            "{body}"
        );
    }
    let unknown = app
        .post_json(
            "/api/v1/items",
            &json!({"name": "x", "qty": 1, "admin": true}),
        )
        .await
        .json();
    let message = unknown["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("name") && message.contains("qty"),
        "lists the known fields: {message}"
    );
}

#[tokio::test]
async fn the_validation_status_can_be_422() {
    let response = app(&[("FLAGSTONE_API__VALIDATION_STATUS", "422")])
        .post_json("/api/v1/items", &json!({"name": "x"}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn malformed_json_and_wrong_content_types_are_4xx_problems() {
    let app = app(&[]);
    let request = |body: &'static str, content_type: &'static str| {
        axum::http::Request::post("/api/v1/items")
            .header("content-type", content_type)
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let broken = app
        .send(request(r#"{"name": "x", "qty": "#, "application/json"))
        .await;
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let syntax = app
        .send(request(r#"{"name" "x"}"#, "application/json"))
        .await;
    assert_eq!(syntax.status(), StatusCode::BAD_REQUEST);
    assert!(
        syntax.json()["detail"]
            .as_str()
            .unwrap()
            .contains("malformed JSON")
    );
    let text = app
        .send(request(r#"{"name": "x", "qty": 1}"#, "text/plain"))
        .await;
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let vendor = app
        .send(request(
            r#"{"name": "x", "qty": 1}"#,
            "application/vnd.api+json",
        ))
        .await;
    assert_eq!(vendor.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn operator_injection_is_refused_at_the_boundary() {
    let app = app(&[]);
    for payload in [
        json!({"name": "x", "qty": 1, "meta": {"$gt": ""}}),
        json!({"name": "x", "qty": 1, "meta": {"owner": {"$ne": null}}}),
        json!({"name": "x", "qty": 1, "meta": {"$where": "sleep(1000) || true"}}),
        json!({"name": "x", "qty": 1, "meta": [{"a.b": 1}]}),
    ] {
        let response = app.post_json("/api/v1/items", &payload).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{payload}");
        let found = errors(&response.json());
        assert_eq!(found[0].1, "forbidden_key", "{payload}");
        assert!(found[0].0.starts_with("meta"), "{found:?}");
    }
    // A typed field cannot carry an operator: the object is simply the wrong type.
    let typed = app
        .post_json("/api/v1/items", &json!({"name": {"$gt": ""}, "qty": 1}))
        .await;
    assert_eq!(typed.status(), StatusCode::BAD_REQUEST);
    // Operator-looking values are just strings.
    let value = app
        .post_json(
            "/api/v1/items",
            &json!({"name": "$gt", "qty": 1, "meta": {"note": "$ne"}}),
        )
        .await;
    assert_eq!(value.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn nesting_and_string_sizes_are_bounded() {
    let app = app(&[
        ("FLAGSTONE_API__MAX_JSON_DEPTH", "8"),
        ("FLAGSTONE_API__MAX_STRING_LENGTH", "64"),
    ]);
    let mut deep = json!(1);
    for _ in 0..20 {
        deep = json!([deep]);
    }
    let response = app
        .post_json(
            "/api/v1/items",
            &json!({"name": "x", "qty": 1, "meta": deep}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.json()["detail"]
            .as_str()
            .unwrap()
            .contains("deeper")
    );
    let long = app
        .post_json(
            "/api/v1/items",
            &json!({"name": "x", "qty": 1, "meta": {"s": "y".repeat(65)}}),
        )
        .await;
    assert_eq!(long.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        errors(&long.json()),
        [("meta.s".to_owned(), "length".to_owned())]
    );
}

#[tokio::test]
async fn query_path_and_form_extractors_validate_too() {
    let app = app(&[]);
    assert_eq!(app.get("/api/v1/items?limit=5").await.text(), "5");
    let too_big = app.get("/api/v1/items?limit=500").await;
    assert_eq!(too_big.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        errors(&too_big.json()),
        [("limit".to_owned(), "range".to_owned())]
    );
    let not_a_number = app.get("/api/v1/items?limit=many").await;
    assert_eq!(
        errors(&not_a_number.json()),
        [("limit".to_owned(), "invalid".to_owned())]
    );
    let missing = app.get("/api/v1/items").await;
    assert_eq!(
        errors(&missing.json()),
        [("limit".to_owned(), "required".to_owned())]
    );

    let ok = app.get("/api/v1/items/65f1c0ffee0000000000beef").await;
    assert_eq!(ok.text(), "65f1c0ffee0000000000beef");
    let bad = app.get("/api/v1/items/nope").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(errors(&bad.json())[0].0, "id", "{}", bad.text());

    let form = app
        .send(
            axum::http::Request::post("/api/v1/form")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from("limit=0"))
                .unwrap(),
        )
        .await;
    assert_eq!(
        errors(&form.json()),
        [("limit".to_owned(), "range".to_owned())]
    );
}
