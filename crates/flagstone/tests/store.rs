//! The store in an app, its durability across SIGKILL, and its behaviour while a live
//! MongoDB-compatible server goes away and comes back.
#![allow(clippy::unwrap_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use axum::Extension;
use flagstone::{
    ErrorKind,
    config::{ConfigLoader, DatabaseConfig, Profile},
    prelude::*,
    store::{BackendKind, Document, Id},
    testing::TestApp,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Note {
    #[serde(rename = "_id")]
    id: Id<Note>,
    text: String,
}

fn config(profile: Profile, env: &[(&str, &str)]) -> Config {
    let dir = tempfile::tempdir().unwrap();
    ConfigLoader::new()
        .profile(profile)
        .dir(dir.path())
        .env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .load()
        .unwrap()
}

async fn get_note(
    Extension(store): Extension<Store>,
    Path(id): Path<Id<Note>>,
) -> flagstone::Result<Json<Note>> {
    let note = store.collection::<Note>("notes").find_by_id(id).await?;
    note.map(Json)
        .ok_or_else(|| Error::not_found(format!("no note {id}")))
}

async fn create_note(
    Extension(store): Extension<Store>,
    Json(text): Json<String>,
) -> flagstone::Result<(StatusCode, Json<Note>)> {
    let note = Note {
        id: Id::new(),
        text,
    };
    store.collection::<Note>("notes").insert_one(&note).await?;
    Ok((StatusCode::CREATED, Json(note)))
}

fn routes() -> Router {
    Router::new()
        .route("/notes", post(create_note))
        .route("/notes/{id}", get(get_note))
}

#[tokio::test]
async fn the_test_profile_opens_a_memory_store_that_handlers_share() {
    let app = App::new(config(Profile::Test, &[]))
        .open_store()
        .await
        .unwrap()
        .routes(routes());
    let app = TestApp::new(app);

    let created = app.post_json("/api/v1/notes", &"remember the milk").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let note: serde_json::Value = created.json();
    let id = note["_id"].as_str().unwrap();
    assert_eq!(id.len(), 24, "ids are 24-hex strings in JSON: {note}");

    let found = app.get(&format!("/api/v1/notes/{id}")).await;
    assert_eq!(found.status(), StatusCode::OK);
    assert_eq!(found.json()["text"], "remember the milk");

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), StatusCode::OK, "{}", ready.text());
}

#[tokio::test]
async fn a_malformed_id_in_a_path_is_a_400_problem_and_an_unknown_one_a_404() {
    let app = TestApp::new(
        App::new(config(Profile::Test, &[]))
            .store(Store::memory())
            .routes(routes()),
    );
    for bad in [
        "not-an-id",
        "65f1c0ffee",
        "65f1c0ffee0000000000beefXX",
        "zzzzzzzzzzzzzzzzzzzzzzzz",
    ] {
        let response = app.get(&format!("/api/v1/notes/{bad}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            response.header("content-type").unwrap(),
            "application/problem+json"
        );
    }
    let missing = app.get("/api/v1/notes/65f1c0ffee0000000000beef").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn profiles_pick_their_default_store() {
    assert_eq!(
        config(Profile::Test, &[]).database.url.as_deref(),
        Some("memory://")
    );
    assert_eq!(
        config(Profile::Development, &[]).database.url.as_deref(),
        Some("file://data/flagstone.redb")
    );
    let err = ConfigLoader::new()
        .profile(Profile::Production)
        .dir(tempfile::tempdir().unwrap().path())
        .env([("FLAGSTONE_AUTH__SECRET", "0123456789abcdef0123456789abcdef")])
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("database.url"), "{err}");
    let err = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(tempfile::tempdir().unwrap().path())
        .env([("FLAGSTONE_DATABASE__URL", "postgres://localhost/x")])
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("mongodb://"), "{err}");
}

#[tokio::test]
async fn a_file_store_is_created_with_its_directory_and_keeps_data_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/nested/dir/app.redb", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.kind(), BackendKind::File);
    let notes = store.collection::<Note>("notes");
    notes
        .create_index(flagstone::store::Index::new(doc! { "text": 1 }).unique())
        .await
        .unwrap();
    let id = notes
        .insert_one(&Note {
            id: Id::new(),
            text: "kept".into(),
        })
        .await
        .unwrap();
    drop((notes, store));

    let store = Store::connect(&url).await.unwrap();
    let notes = store.collection::<Note>("notes");
    assert_eq!(notes.find_by_id(id).await.unwrap().unwrap().text, "kept");
    let duplicate = notes
        .insert_one(&Note {
            id: Id::new(),
            text: "kept".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        duplicate.kind(),
        ErrorKind::Conflict,
        "the unique index survived reopening"
    );
}

const CRASH_CHILD_ENV: &str = "FLAGSTONE_STORE_CRASH_CHILD";

/// Run as a child by the crash test: writes from four tasks as fast as it can and prints
/// `ack <n>` after each write the store acknowledged, until it is killed.
#[tokio::test]
#[ignore = "run as a child process by the crash test"]
async fn crash_child() {
    let Ok(url) = std::env::var(CRASH_CHILD_ENV) else {
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    let writers: Vec<_> = (0..4)
        .map(|task| {
            let coll = store.collection::<Document>("burst");
            tokio::spawn(async move {
                for i in 0u64.. {
                    let n = i * 4 + task;
                    let payload = "x".repeat(200 + (n % 7) as usize * 100);
                    coll.insert_one(&doc! { "n": n as i64, "payload": payload })
                        .await
                        .unwrap();
                    coll.update_one(doc! { "_id": "counter" }, doc! { "$inc": { "value": 1 } })
                        .await
                        .unwrap();
                    println!("ack {n}");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
}

#[tokio::test]
async fn every_acknowledged_write_survives_sigkill_in_the_middle_of_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/crash.redb", dir.path().display());
    {
        let store = Store::connect(&url).await.unwrap();
        store
            .collection::<Document>("burst")
            .insert_one(&doc! { "_id": "counter", "value": 0 })
            .await
            .unwrap();
    }
    let mut total_acked = 0;
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_CHILD_ENV, &url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("ack ") {
                    let _ = tx.send(n.parse::<i64>().unwrap());
                }
            }
        });
        // Kill it mid-burst: after a varying number of acknowledged writes.
        let target = 150 + round * 70;
        let mut acked = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.len() < target && Instant::now() < deadline {
            if let Ok(n) = rx.recv_timeout(Duration::from_secs(5)) {
                acked.push(n);
            }
        }
        assert!(
            acked.len() >= target,
            "the child acknowledged only {} writes",
            acked.len()
        );
        let killed = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        child.wait().unwrap();
        // Acks printed between our last read and the kill count too.
        acked.extend(rx.try_iter());
        total_acked += acked.len();

        let store = Store::connect(&url).await.unwrap();
        let burst = store.collection::<Document>("burst");
        for n in &acked {
            assert!(
                burst.exists(doc! { "n": n }).await.unwrap(),
                "round {round}: acknowledged write {n} is missing after SIGKILL"
            );
        }
        let counter = burst.find_by_id("counter").await.unwrap().unwrap();
        let value = counter
            .get_i32("value")
            .map(i64::from)
            .or_else(|_| counter.get_i64("value"))
            .unwrap();
        assert!(
            value >= total_acked as i64,
            "round {round}: counter {value} < {total_acked} acknowledged increments"
        );
        let inserted = burst
            .count(doc! { "n": { "$exists": true } })
            .await
            .unwrap();
        assert!(inserted >= total_acked as u64);
    }
}

/// The URI of a server started by `scripts/test-mongo.sh`, which this test may pause.
fn pausable_server() -> Option<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/test-mongo.sh");
    let uri = std::env::var("FLAGSTONE_TEST_MONGODB_URI").ok()?;
    let status = Command::new("bash").args([script, "uri"]).output().ok()?;
    let started = String::from_utf8_lossy(&status.stdout);
    (status.status.success() && started.trim().ends_with(uri.trim())).then_some(uri)
}

fn server(command: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/test-mongo.sh");
    let out = Command::new("bash")
        .args([script, command])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(out.success(), "test-mongo.sh {command} failed");
}

#[tokio::test]
async fn while_the_server_is_down_requests_fail_fast_with_503_and_readiness_recovers() {
    let Some(uri) = pausable_server() else {
        eprintln!("skipped: no server started by scripts/test-mongo.sh to stop and restart");
        return;
    };
    let mut db = DatabaseConfig::default();
    db.url = Some(uri);
    db.name = Some(format!("flagstone_outage_{}", std::process::id()));
    db.server_selection_timeout = Duration::from_millis(1500);
    db.connect_timeout = Duration::from_millis(1500);
    let store = Store::open(&db).await.unwrap();
    let app = TestApp::new(
        App::new(config(Profile::Test, &[]))
            .store(store.clone())
            .routes(routes()),
    );

    let created = app.post_json("/api/v1/notes", &"before").await;
    assert_eq!(created.status(), StatusCode::CREATED, "{}", created.text());
    assert_eq!(app.get("/health/ready").await.status(), StatusCode::OK);

    server("pause");
    let result = std::panic::AssertUnwindSafe(async {
        let started = Instant::now();
        let during = app.post_json("/api/v1/notes", &"during").await;
        let took = started.elapsed();
        assert_eq!(
            during.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            during.text()
        );
        assert_eq!(during.header("retry-after").unwrap(), "5");
        assert!(took < Duration::from_secs(5), "failing took {took:?}");
        let ready = app.get("/health/ready").await;
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(ready.text().contains("database"), "{}", ready.text());
    });
    let outcome = futures_catch(result).await;
    server("resume");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }

    // The driver reconnects on its own.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = app.get("/health/ready").await;
        if ready.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "readiness did not recover: {}",
            ready.text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = app.post_json("/api/v1/notes", &"after").await;
    assert_eq!(after.status(), StatusCode::CREATED, "{}", after.text());
    let notes = store.collection::<Note>("notes");
    assert_eq!(
        notes.count(doc! {}).await.unwrap(),
        2,
        "before and after are both kept"
    );
    store.drop_all().await.unwrap();
}

/// Runs a future, catching a panic so the server is always resumed.
async fn futures_catch<F: std::future::Future<Output = ()>>(
    future: std::panic::AssertUnwindSafe<F>,
) -> std::thread::Result<()> {
    use futures_util::FutureExt;
    future.catch_unwind().await
}
