//! What the fuzz targets share: a list spec, a small collection, a runtime, and the
//! one-input functions the targets (and the regression tests in `tests/`) call.

use std::sync::OnceLock;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use flagstone::{
    pagination::{CursorKey, paginate},
    query::{FieldKind, ListField, ListQuery, ListSpec},
    store::{Bson, Document, Store, doc},
};
use hmac::{KeyInit, Mac};

/// The secret cursors are signed with in these targets.
pub const CURSOR_SECRET: &[u8] = b"fuzzing-only-cursor-secret-0123456789";

/// A spec with a field of every kind, each filterable, sortable and selectable.
pub fn spec() -> &'static ListSpec {
    static SPEC: OnceLock<ListSpec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let all = |f: ListField| f.filter().sort().select();
        ListSpec::new()
            .field(all(ListField::new("s", FieldKind::String)))
            .field(all(ListField::new("n", FieldKind::Integer)))
            .field(all(ListField::new("x", FieldKind::Number)))
            .field(all(ListField::new("b", FieldKind::Boolean)))
            .field(all(ListField::new("d", FieldKind::DateTime)))
            .field(all(ListField::new("i", FieldKind::Id)))
            .field(all(ListField::new("tags", FieldKind::String).array()))
            .field(all(ListField::new("sub.k", FieldKind::String)))
            .default_sort(doc! { "n": -1 })
            .limits(5, 50)
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

/// A memory store with a few documents of mixed shapes in `items`.
fn store() -> Store {
    let store = Store::memory();
    let items = store.collection::<Document>("items");
    runtime().block_on(async {
        let docs = [
            doc! { "s": "a", "n": 1_i64, "x": 1.5, "b": true, "tags": ["t", "u"], "sub": { "k": "v" } },
            doc! { "s": "b", "n": 2_i64, "x": -0.0, "b": false, "tags": [], "sub": { "k": null } },
            doc! { "s": null, "n": "2", "x": f64::NAN, "tags": "t", "sub": [ { "k": "w" }, 3 ] },
            doc! { "n": 3_i32, "d": Bson::DateTime(flagstone::bson::DateTime::from_millis(0)), "arr": [[1, 2], { "a": 1 }] },
            doc! {},
        ];
        for d in docs {
            let _ = items.insert_one(&d).await;
        }
    });
    store
}

/// Parses `query` as a list query and, when it parses, pages through the collection.
pub fn list_query(query: &str) {
    let Ok(parsed) = ListQuery::<Document>::new(spec(), "/items", query) else {
        return;
    };
    let parsed = parsed.with_key(CursorKey::from_secret(CURSOR_SECRET));
    let store = store();
    let items = store.collection::<Document>("items");
    runtime().block_on(async {
        let _ = paginate(&items, &parsed, Document::new()).await;
    });
}

/// A cursor from the fuzzer: the first byte chooses a raw token (0) or a payload signed
/// with the right key (anything else), so the decoder past the signature is reached.
pub fn cursor(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(CURSOR_SECRET).expect("a key");
        mac.update(rest);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(rest),
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    let sort = match mode % 4 {
        0 | 1 => "-n",
        2 => "s,-x",
        _ => "d,i,-tags",
    };
    list_query(&format!("sort={sort}&limit=3&cursor={}", percent(&token)));
}

/// Runs a filter, sort and update (a JSON object `{"f": .., "s": .., "u": ..}`) on the
/// embedded store.
pub fn store_eval(data: &[u8]) {
    let Ok(serde_json::Value::Object(input)) = serde_json::from_slice::<serde_json::Value>(data)
    else {
        return;
    };
    let document = |key: &str| -> Document {
        input
            .get(key)
            .cloned()
            .and_then(|v| flagstone::bson::serialize_to_bson(&v).ok())
            .and_then(|b| match b {
                Bson::Document(d) => Some(d),
                _ => None,
            })
            .unwrap_or_default()
    };
    let (filter, sort, update) = (document("f"), document("s"), document("u"));
    let store = store();
    let items = store.collection::<Document>("items");
    runtime().block_on(async {
        let _ = items.find(filter.clone()).sort(sort).await;
        let _ = items.count(filter.clone()).await;
        if !update.is_empty() {
            let _ = items.update_many(filter.clone(), update.clone()).await;
            let _ = items.upsert(filter, update).await;
            let _ = items.find(Document::new()).await;
        }
    });
}

fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
