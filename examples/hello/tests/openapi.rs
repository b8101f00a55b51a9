//! The hello example's OpenAPI document: it agrees with the router, states the rules,
//! and is served with its docs page.
#![allow(clippy::unwrap_used)]

use flagstone::{
    App,
    config::{Config, Profile},
    prelude::*,
    testing::TestApp,
};
use serde_json::json;

fn app() -> TestApp {
    TestApp::new(App::new(Config::defaults(Profile::Test)).api(hello::routes()))
}

#[tokio::test]
async fn every_route_is_documented_and_every_operation_served() {
    let agreement = app().openapi_agreement().await;
    agreement.assert_ok();
    assert!(agreement.undocumented.is_empty());
    assert_eq!(
        agreement.checked,
        ["POST /api/v1/greetings", "GET /api/v1/hello"]
    );
}

#[tokio::test]
async fn the_document_states_the_rules_and_is_served_with_a_docs_page() {
    let app = app();
    let doc = app.get("/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let greeting = &doc["components"]["schemas"]["NewGreeting"];
    assert_eq!(greeting["properties"]["name"]["minLength"], 1);
    assert_eq!(greeting["properties"]["name"]["maxLength"], 50);
    assert_eq!(
        greeting["properties"]["language"]["enum"],
        json!(["en", "fr", "de", null])
    );
    assert_eq!(greeting["required"], json!(["name"]));
    let hello = &doc["paths"]["/api/v1/hello"]["get"];
    assert_eq!(hello["parameters"][0]["name"], "name");
    assert_eq!(hello["parameters"][0]["in"], "query");

    let docs = app.get("/docs").await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().contains(r#"data-url="/openapi.json""#));
}
