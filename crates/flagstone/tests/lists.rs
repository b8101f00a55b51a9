//! List queries and pagination through the whole stack, on the embedded store.
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeSet, sync::LazyLock};

use flagstone::{
    bson::{self, Document},
    config::{ConfigLoader, Profile},
    pagination::{Page, paginate},
    prelude::*,
    query::{FieldKind, ListField, ListQuery, ListSpec, Listable},
    testing::TestApp,
};
use serde_json::Value;

struct Product;

impl Listable for Product {
    fn list_spec() -> &'static ListSpec {
        static SPEC: LazyLock<ListSpec> = LazyLock::new(|| {
            ListSpec::new()
                .field(
                    ListField::new("name", FieldKind::String)
                        .filter()
                        .sort()
                        .select(),
                )
                .field(
                    ListField::new("price", FieldKind::Number)
                        .filter()
                        .sort()
                        .select(),
                )
                .field(ListField::new("stock", FieldKind::Integer).filter().sort())
                .field(ListField::new("active", FieldKind::Boolean).filter())
                .field(ListField::new("tags", FieldKind::String).array().filter())
                .field(ListField::new("added", FieldKind::DateTime).filter().sort())
                .field(ListField::new("maker", FieldKind::Id).filter())
                .limits(10, 25)
        });
        &SPEC
    }
}

async fn list(
    Extension(store): Extension<Store>,
    query: ListQuery<Product>,
) -> flagstone::Result<Page<Document>> {
    paginate(
        &store.collection("products"),
        &query,
        doc! { "deleted": { "$ne": true } },
    )
    .await
}

const MAKER: &str = "65f1c0ffee0000000000beef";

async fn app() -> (TestApp, Store) {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env([(
            "FLAGSTONE_AUTH__SECRET",
            "a-test-secret-that-is-long-enough-123",
        )])
        .load()
        .unwrap();
    let store = Store::memory();
    let products = store.collection::<Document>("products");
    let docs: Vec<Document> = (0..45)
        .map(|i| {
            doc! {
                "name": format!("item {i:02}"),
                "price": f64::from(i % 9) * 1.5,
                "stock": i64::from(i),
                "active": i % 2 == 0,
                "tags": if i % 3 == 0 { vec!["red", "sale"] } else { vec!["blue"] },
                "added": bson::DateTime::from_millis(1_767_225_600_000 + i64::from(i) * 86_400_000),
                "maker": bson::oid::ObjectId::parse_str(if i < 5 { MAKER } else { "65f1c0ffee0000000000cafe" }).unwrap(),
                "deleted": i == 44,
            }
        })
        .collect();
    products.insert_many(&docs).await.unwrap();
    let app = TestApp::new(
        App::new(config)
            .store(store.clone())
            .routes(Router::new().route("/products", get(list))),
    );
    (app, store)
}

fn names(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

fn link(response: &flagstone::testing::TestResponse, rel: &str) -> Option<String> {
    let header = response.header("link")?.to_owned();
    header
        .split(", ")
        .find(|l| l.ends_with(&format!("rel=\"{rel}\"")))
        .map(|l| {
            l.split_once('<')
                .unwrap()
                .1
                .split_once('>')
                .unwrap()
                .0
                .to_owned()
        })
}

#[tokio::test]
async fn offset_pages_with_meta_and_links() {
    let (app, _) = app().await;
    let first = app.get("/api/v1/products?sort=stock&limit=20").await;
    assert_eq!(first.status(), StatusCode::OK, "{}", first.text());
    let body = first.json();
    assert_eq!(
        body["meta"],
        serde_json::json!({"limit": 20, "offset": 0, "total": 44})
    );
    assert_eq!(names(&body)[0], "item 00");
    let next = link(&first, "next").unwrap();
    assert_eq!(next, "/api/v1/products?sort=stock&limit=20&offset=20");
    assert!(link(&first, "prev").is_none());

    let last = app
        .get("/api/v1/products?sort=stock&limit=20&offset=40")
        .await;
    let body = last.json();
    assert_eq!(names(&body), ["item 40", "item 41", "item 42", "item 43"]);
    assert!(
        link(&last, "next").is_none(),
        "no next link on the last page"
    );
    assert_eq!(
        link(&last, "prev").unwrap(),
        "/api/v1/products?sort=stock&limit=20&offset=20"
    );

    let untotalled = app.get("/api/v1/products?total=false").await.json();
    assert!(untotalled["meta"].get("total").is_none());
    assert_eq!(untotalled["meta"]["limit"], 10, "the model's default limit");
}

#[tokio::test]
async fn filters_by_every_type_and_operator() {
    let (app, _) = app().await;
    let cases: &[(&str, usize)] = &[
        ("name=item 07", 1),
        ("name[ne]=item 07", 43),
        ("name[in]=item 01,item 02,nope", 2),
        ("name[nin]=item 01,item 02", 42),
        ("name[prefix]=item 1", 10),
        ("name[contains]=EM 2", 10),
        ("name[prefix]=.*", 0),
        ("price[gte]=6&price[lt]=9", 10),
        ("price=0", 5),
        ("stock[gt]=40", 3),
        ("stock[lte]=2", 3),
        ("stock[in]=1,2,3", 3),
        ("active=true", 22),
        ("active[ne]=true", 22),
        ("tags=sale", 15),
        ("tags[all]=red,sale", 15),
        ("tags[nin]=red", 29),
        ("added[gte]=2026-02-01T00:00:00Z", 13),
        ("added[lt]=2026-01-03T00:00:00Z", 2),
        ("maker=65f1c0ffee0000000000beef", 5),
        ("maker[ne]=65f1c0ffee0000000000beef", 39),
    ];
    for (query, expected) in cases {
        let response = app
            .get(&format!(
                "/api/v1/products?{}&limit=25",
                query.replace(' ', "%20")
            ))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{query}: {}",
            response.text()
        );
        assert_eq!(
            response.json()["meta"]["total"],
            *expected as u64,
            "{query}"
        );
    }
}

#[tokio::test]
async fn refuses_unlisted_fields_operators_and_bad_values() {
    let (app, _) = app().await;
    let cases: &[(&str, &str, &str)] = &[
        ("deleted=true", "deleted", "not_allowed"),
        ("name[regex]=.*", "name[regex]", "operator"),
        ("name[$gt]=", "name[$gt]", "operator"),
        ("active[gt]=true", "active[gt]", "operator"),
        ("stock=many", "stock", "type"),
        ("stock=1.5", "stock", "type"),
        ("added[gt]=yesterday", "added[gt]", "type"),
        ("maker=123", "maker", "type"),
        ("sort=deleted", "sort", "not_allowed"),
        ("fields=deleted", "fields", "not_allowed"),
        ("limit=0", "limit", "range"),
        ("limit=26", "limit", "range"),
        ("offset=-1", "offset", "type"),
    ];
    for (query, field, code) in cases {
        let response = app.get(&format!("/api/v1/products?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body = response.json();
        assert_eq!(body["errors"][0]["field"], *field, "{query}: {body}");
        assert_eq!(body["errors"][0]["code"], *code, "{query}: {body}");
    }
    let body = app.get("/api/v1/products?deleted=true").await.json();
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("name, price, stock, active, tags, added, maker"),
        "{message}"
    );
}

#[tokio::test]
async fn fields_select_and_sort_orders() {
    let (app, _) = app().await;
    let body = app
        .get("/api/v1/products?fields=name&sort=-price,-name&limit=3")
        .await
        .json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(names(&body), ["item 35", "item 26", "item 17"]);
    for item in items {
        let keys: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["_id", "name"]), "{item}");
    }
    let prices: Vec<f64> = app
        .get("/api/v1/products?sort=-price,name&limit=25&fields=price")
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["price"].as_f64().unwrap())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] >= w[1]), "{prices:?}");
}

#[tokio::test]
async fn cursor_pages_stay_correct_while_documents_are_inserted() {
    let (app, store) = app().await;
    let products = store.collection::<Document>("products");
    let mut seen = Vec::new();
    let mut url = "/api/v1/products?sort=-stock&limit=7&cursor=".to_owned();
    let mut pages = 0;
    loop {
        let response = app.get(&url).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
        let body = response.json();
        assert!(body["meta"].get("offset").is_none());
        seen.extend(names(&body));
        pages += 1;
        // Between pages, insert items that sort before the cursor (higher stock) and
        // after it (lower stock): neither shifts what the next page holds.
        products
            .insert_one(&doc! { "name": format!("new high {pages}"), "stock": 1000 + pages })
            .await
            .unwrap();
        match link(&response, "next") {
            Some(next) => url = next,
            None => {
                assert!(body["meta"].get("next_cursor").is_none());
                break;
            }
        }
        assert!(pages < 20, "too many pages");
    }
    let expected: Vec<String> = (0..44).rev().map(|i| format!("item {i:02}")).collect();
    assert_eq!(seen, expected, "every original item exactly once, in order");
}

#[tokio::test]
async fn tampered_forged_and_foreign_cursors_are_400() {
    let (app, _) = app().await;
    let first = app
        .get("/api/v1/products?sort=name&limit=5&cursor=")
        .await
        .json();
    let cursor = first["meta"]["next_cursor"].as_str().unwrap().to_owned();
    let ok = app
        .get(&format!(
            "/api/v1/products?sort=name&limit=5&cursor={cursor}"
        ))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(names(&ok.json())[0], "item 05");

    let (body, tag) = cursor.split_once('.').unwrap();
    let mut flipped = body.as_bytes().to_vec();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{}.{tag}", String::from_utf8(flipped).unwrap());
    for bad in [tampered.as_str(), "garbage", "a.b", &format!("{body}.AAAA")] {
        let response = app
            .get(&format!("/api/v1/products?sort=name&limit=5&cursor={bad}"))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(response.json()["errors"][0]["field"], "cursor");
    }
    let other_sort = app
        .get(&format!(
            "/api/v1/products?sort=-name&limit=5&cursor={cursor}"
        ))
        .await;
    assert_eq!(other_sort.status(), StatusCode::BAD_REQUEST);
}
