//! File uploads through the HTTP stack: multipart and raw bodies, the size limit, magic-byte
//! checks, server-made keys, downloads, presigned URLs and deletes, on memory, the local
//! filesystem and a real S3-compatible server.
//!
//! The S3 tests need the server from `scripts/test-s3.sh start`, which prints
//! `FLAGSTONE_TEST_S3_URL`; without it they print `skipped: ...` and pass.

#![cfg(feature = "files")]
#![allow(clippy::unwrap_used)]

use axum::{
    Extension, Json, Router,
    body::Body,
    extract::Path,
    response::Response,
    routing::{get, post},
};
use flagstone::{
    App,
    config::{ConfigLoader, Profile},
    files::{FileRef, FileStore, FilesConfig, Upload},
    testing::{TestApp, TestResponse},
};
use futures_util::TryStreamExt;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PNG_HEADER: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

/// A PNG signature followed by `len - header` pseudo-random bytes.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = PNG_HEADER.to_vec();
    let mut x: u32 = 0x1234_5678;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x as u8);
    }
    bytes.truncate(len);
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn upload(upload: Upload) -> Json<Value> {
    Json(json!({ "file": upload.file, "filename": upload.filename }))
}

async fn download(
    Extension(files): Extension<FileStore>,
    Path(key): Path<String>,
) -> flagstone::Result<Response> {
    files.download(&key).await
}

async fn delete(
    Extension(files): Extension<FileStore>,
    Path(key): Path<String>,
) -> flagstone::Result<StatusCode> {
    files.delete(&key).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn signed(
    Extension(files): Extension<FileStore>,
    Path(key): Path<String>,
) -> flagstone::Result<Json<Value>> {
    Ok(Json(
        json!({ "url": files.presigned_url(&key, None).await? }),
    ))
}

fn app(files: FileStore) -> TestApp {
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(std::env::temp_dir())
        .env([("FLAGSTONE_RATE_LIMIT__ENABLED", "false")])
        .load()
        .unwrap();
    let routes = Router::new()
        .route("/files", post(upload))
        .route("/files/{*key}", get(download).delete(delete))
        .route("/signed/{*key}", get(signed));
    TestApp::new(App::new(config).files(files).routes(routes))
}

fn limits(max_size: u64, types: &[&str]) -> FilesConfig {
    let mut config = FilesConfig::default();
    config.max_size = max_size;
    config.allowed_types = types.iter().map(|t| (*t).to_owned()).collect();
    config
}

async fn raw(app: &TestApp, content_type: Option<&str>, body: Body) -> TestResponse {
    let mut request = Request::post("/api/v1/files");
    if let Some(t) = content_type {
        request = request.header("content-type", t);
    }
    app.send(request.body(body).unwrap()).await
}

const BOUNDARY: &str = "flagstone-boundary-7MA4YWxkTrZu0gW";

/// One form part: name, filename, content type, bytes.
type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content_type, data) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = filename {
            disposition.push_str(&format!("; filename=\"{f}\""));
        }
        body.extend_from_slice(format!("{disposition}\r\n").as_bytes());
        if let Some(t) = content_type {
            body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_multipart(app: &TestApp, body: Vec<u8>) -> TestResponse {
    let request = Request::post("/api/v1/files")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

/// A problem+json answer with `status` and `code`.
fn assert_problem(response: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json"),
        "{}",
        response.text()
    );
    assert_eq!(response.json()["code"], code, "{}", response.text());
}

/// Every key the store holds.
async fn keys(files: &FileStore) -> Vec<String> {
    let list: Vec<_> = files.objects().list(None).try_collect().await.unwrap();
    list.into_iter().map(|m| m.location.to_string()).collect()
}

/// A body that yields `chunks` and then fails: a client that went away mid-upload.
fn cut_short(chunks: Vec<Vec<u8>>) -> Body {
    let mut items: Vec<Result<bytes::Bytes, std::io::Error>> =
        chunks.into_iter().map(|c| Ok(c.into())).collect();
    items.push(Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "connection reset",
    )));
    Body::from_stream(futures_util::stream::iter(items))
}

// --- uploads ---------------------------------------------------------------------------------

#[tokio::test]
async fn raw_upload_returns_metadata_and_downloads_back() {
    let files = FileStore::memory();
    let app = app(files.clone());
    let bytes = png(5000);
    let r = raw(&app, Some("image/png"), Body::from(bytes.clone())).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    let file: FileRef = serde_json::from_value(r.json()["file"].clone()).unwrap();
    assert_eq!(file.size, 5000);
    assert_eq!(file.content_type, "image/png");
    assert_eq!(file.sha256, sha256(&bytes));
    assert!(
        file.key.starts_with("uploads/") && file.key.ends_with(".png"),
        "{}",
        file.key
    );
    assert_eq!(keys(&files).await, vec![file.key.clone()]);

    let back = app.get(&format!("/api/v1/files/{}", file.key)).await;
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(back.header("content-type"), Some("image/png"));
    assert_eq!(back.header("content-length"), Some("5000"));
    assert_eq!(back.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(back.bytes().as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_when_the_header_says_nothing() {
    let app = app(FileStore::memory());
    for content_type in [None, Some("application/octet-stream")] {
        let r = raw(&app, content_type, Body::from(png(100))).await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["file"]["content_type"], "image/png");
    }
}

#[tokio::test]
async fn multipart_upload_takes_the_file_part_and_a_clean_filename() {
    let files = FileStore::memory();
    let app = app(files.clone());
    let bytes = png(3000);
    let body = multipart(&[
        ("caption", None, None, b"a cat"),
        ("file", Some("../../etc/cat.png"), Some("image/png"), &bytes),
    ]);
    let r = post_multipart(&app, body).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    let json = r.json();
    assert_eq!(json["filename"], "cat.png");
    assert_eq!(json["file"]["size"], 3000);
    assert_eq!(json["file"]["sha256"], sha256(&bytes));
    let key = json["file"]["key"].as_str().unwrap();
    assert!(!key.contains("cat") && !key.contains(".."), "{key}");
    let back = app.get(&format!("/api/v1/files/{key}")).await;
    assert_eq!(back.bytes().as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn larger_uploads_stream_through_multipart_parts_on_the_local_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = limits(16 << 20, &["image/png"]);
    config.url = format!("file://{}", dir.path().join("store").display());
    let files = FileStore::open(config).await.unwrap();
    let app = app(files.clone());
    // 3.5 MiB in 64 KiB chunks: several 1 MiB parts, no Content-Length.
    let bytes = png(3 * (1 << 20) + (1 << 19));
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = bytes
        .chunks(64 * 1024)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    let r = raw(&app, Some("image/png"), body).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    let file: FileRef = serde_json::from_value(r.json()["file"].clone()).unwrap();
    assert_eq!(file.size, bytes.len() as u64);
    assert_eq!(file.sha256, sha256(&bytes));
    let on_disk = dir.path().join("store").join(&file.key);
    assert_eq!(
        std::fs::read(&on_disk).unwrap(),
        bytes,
        "stored at {on_disk:?}"
    );

    let back = app.get(&format!("/api/v1/files/{}", file.key)).await;
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(sha256(back.bytes()), file.sha256);
    assert!(
        files
            .presigned_url(&file.key, None)
            .await
            .unwrap()
            .is_none()
    );

    let gone = app
        .request(http::Method::DELETE, &format!("/api/v1/files/{}", file.key))
        .send()
        .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert!(!on_disk.exists());
    let again = app
        .request(http::Method::DELETE, &format!("/api/v1/files/{}", file.key))
        .send()
        .await;
    assert_problem(&again, StatusCode::NOT_FOUND, "file_not_found");
}

// --- hostile input ---------------------------------------------------------------------------

#[tokio::test]
async fn lying_and_unlisted_types_get_415() {
    let files = FileStore::memory_with(limits(1 << 20, &["image/png", "image/jpeg"]));
    let app = app(files.clone());
    let lie = raw(&app, Some("image/jpeg"), Body::from(png(500))).await;
    assert_problem(&lie, StatusCode::UNSUPPORTED_MEDIA_TYPE, "type_mismatch");
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let disguised = raw(&app, Some("image/png"), Body::from(html.clone())).await;
    assert_problem(
        &disguised,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "type_not_allowed",
    );
    assert!(
        disguised.text().contains("text/html"),
        "{}",
        disguised.text()
    );
    let unknown = raw(&app, Some("image/png"), Body::from(&b"just some words"[..])).await;
    assert_problem(
        &unknown,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "type_not_recognised",
    );
    let pdf = raw(
        &app,
        Some("application/pdf"),
        Body::from(&b"%PDF-1.7\n%..."[..]),
    )
    .await;
    assert_problem(&pdf, StatusCode::UNSUPPORTED_MEDIA_TYPE, "type_not_allowed");
    let in_multipart = multipart(&[("file", Some("x.png"), Some("image/png"), &html)]);
    let r = post_multipart(&app, in_multipart).await;
    assert_problem(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "type_not_allowed");
    let empty = raw(&app, Some("image/png"), Body::empty()).await;
    assert_problem(&empty, StatusCode::BAD_REQUEST, "empty_file");
    assert!(keys(&files).await.is_empty());
}

#[tokio::test]
async fn json_bodies_keep_the_body_limit_when_uploads_may_be_larger() {
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(std::env::temp_dir())
        .env([
            ("FLAGSTONE_RATE_LIMIT__ENABLED", "false"),
            ("FLAGSTONE_SERVER__BODY_LIMIT", "1KiB"),
        ])
        .load()
        .unwrap();
    let routes = Router::new().route("/files", post(upload)).route(
        "/echo",
        post(|Json(body): Json<Value>| async { Json(body) }),
    );
    let files = FileStore::memory_with(limits(64 * 1024, &["image/png"]));
    let app = TestApp::new(App::new(config).files(files).routes(routes));

    // Uploads stream past `server.body_limit`, up to `files.max_size`.
    let picture = png(16 * 1024);
    let response = raw(&app, Some("image/png"), Body::from(picture)).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["file"]["size"], 16 * 1024);

    // `Json` buffers, so it keeps `server.body_limit` even though the stack lets 64 KiB in.
    let big = json!({ "padding": "a".repeat(4 * 1024) });
    let response = app.post_json("/api/v1/echo", &big).await;
    assert_problem(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let small = json!({ "small": true });
    let response = app.post_json("/api/v1/echo", &small).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
    assert_eq!(response.json(), small);
}

#[tokio::test]
async fn oversized_uploads_get_413_and_leave_nothing_behind() {
    let files = FileStore::memory_with(limits(64 * 1024, &["image/png"]));
    let app = app(files.clone());
    let big = png(64 * 1024 + 1);

    // Declared too large: refused before reading.
    let declared = Request::post("/api/v1/files")
        .header("content-type", "image/png")
        .header("content-length", big.len().to_string())
        .body(Body::from(big.clone()))
        .unwrap();
    assert_problem(
        &app.send(declared).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
    );

    // Streamed without a length: refused once the limit is passed.
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = big
        .chunks(4096)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let streamed = raw(
        &app,
        Some("image/png"),
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert_problem(&streamed, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large");

    // In a multipart body.
    let r = post_multipart(&app, multipart(&[("file", Some("a.png"), None, &big)])).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large");

    // Exactly the limit is fine.
    let r = raw(&app, Some("image/png"), Body::from(png(64 * 1024))).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert_eq!(keys(&files).await.len(), 1);
}

#[tokio::test]
async fn a_multi_part_upload_over_the_limit_is_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = limits(3 << 20, &["image/png"]);
    config.url = format!("file://{}", dir.path().display());
    let files = FileStore::open(config).await.unwrap();
    let app = app(files.clone());
    let big = png(4 << 20);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = big
        .chunks(256 * 1024)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let r = raw(
        &app,
        Some("image/png"),
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large");
    assert!(keys(&files).await.is_empty());
    let leftovers: Vec<_> = walk(dir.path());
    assert!(leftovers.is_empty(), "staging files left: {leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn truncated_and_malformed_bodies_get_400() {
    let files = FileStore::memory();
    let app = app(files.clone());
    let bytes = png(20_000);

    // The multipart body stops in the middle of the file.
    let whole = multipart(&[("file", Some("a.png"), Some("image/png"), &bytes)]);
    let truncated = whole[..whole.len() / 2].to_vec();
    let r = post_multipart(&app, truncated).await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "malformed_multipart");

    // The connection drops mid-file, raw and multipart.
    let r = raw(
        &app,
        Some("image/png"),
        cut_short(vec![bytes[..10_000].to_vec()]),
    )
    .await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "body_read_failed");
    let request = Request::post("/api/v1/files")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(cut_short(vec![whole[..15_000].to_vec()]))
        .unwrap();
    let r = app.send(request).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{}", r.text());

    // No `file` part, no boundary, garbage.
    let r = post_multipart(&app, multipart(&[("caption", None, None, b"hi")])).await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "missing_file");
    let r = raw(&app, Some("multipart/form-data"), Body::from("x")).await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "malformed_multipart");
    let r = post_multipart(&app, b"not multipart at all".to_vec()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(keys(&files).await.is_empty());
}

#[tokio::test]
async fn keys_from_clients_cannot_leave_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    std::fs::write(dir.path().join("secret.png"), png(100)).unwrap();
    let mut config = FilesConfig::default();
    config.url = format!("file://{}", store_dir.display());
    let app = app(FileStore::open(config).await.unwrap());
    let id = "0123456789abcdef0123456789abcdef";
    for key in [
        "../secret.png".to_owned(),
        "..%2Fsecret.png".to_owned(),
        "%2E%2E/secret.png".to_owned(),
        format!("uploads/../../{id}.png"),
        format!("uploads/%2e%2e/{id}.png"),
        format!("uploads/{id}.png"),
        format!("uploads/{id}.svg"),
        format!("uploads/{id}.PNG"),
        "etc/passwd".to_owned(),
        "uploads/".to_owned(),
    ] {
        let r = app.get(&format!("/api/v1/files/{key}")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "GET {key}: {}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{key}"
        );
        let r = app
            .request(http::Method::DELETE, &format!("/api/v1/files/{key}"))
            .send()
            .await;
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "DELETE {key}: {}",
            r.text()
        );
    }
    assert!(dir.path().join("secret.png").exists());
}

// --- configuration ---------------------------------------------------------------------------

#[test]
fn the_files_section_is_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Development)
        .dir(dir.path())
        .env([
            ("FLAGSTONE_FILES__MAX_SIZE", "25MiB"),
            ("FLAGSTONE_FILES__ALLOWED_TYPES", "image/png, text/csv"),
            ("FLAGSTONE_FILES__OPTIONS__REGION", "eu-west-1"),
        ])
        .load()
        .unwrap();
    assert_eq!(config.files.url, "file://data/uploads");
    assert_eq!(config.files.max_size, 25 << 20);
    assert_eq!(config.files.allowed_types, ["image/png", "text/csv"]);
    assert_eq!(config.files.options["region"].expose(), "eu-west-1");
    assert!(
        !format!("{config:?}").contains("eu-west-1"),
        "option values are redacted"
    );

    let error = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env([
            ("FLAGSTONE_FILES__URL", "ftp://files"),
            ("FLAGSTONE_FILES__MAX_SIZE", "0"),
            ("FLAGSTONE_FILES__ALLOWED_TYPES", "image/svg+xml"),
            ("FLAGSTONE_FILES__PREFIX", "../up"),
            ("FLAGSTONE_FILES__PRESIGN_TTL", "30d"),
            ("FLAGSTONE_FILES__MAX_SIZ", "1"),
        ])
        .load()
        .unwrap_err();
    for key in [
        "files.url",
        "files.max_size",
        "files.allowed_types",
        "files.prefix",
        "files.presign_ttl",
        "files.max_siz",
    ] {
        assert!(error.get(key).is_some(), "{key} not reported: {error}");
    }
    assert!(
        error
            .get("files.allowed_types")
            .unwrap()
            .message
            .contains("svg")
    );
}

// --- S3 (a real S3-compatible server on loopback) --------------------------------------------

/// A store on the bucket of `FLAGSTONE_TEST_S3_URL` (`http://host:port/bucket`).
#[cfg(feature = "files-s3")]
async fn s3(max_size: u64, prefix: &str) -> Option<FileStore> {
    let Ok(url) = std::env::var("FLAGSTONE_TEST_S3_URL") else {
        println!("skipped: FLAGSTONE_TEST_S3_URL is not set (scripts/test-s3.sh start sets it)");
        return None;
    };
    let (endpoint, bucket) = url.trim_end_matches('/').rsplit_once('/').unwrap();
    let mut config = limits(max_size, &["image/png", "text/csv"]);
    config.url = format!("s3://{bucket}");
    config.prefix = format!("tests/{prefix}");
    for (key, value) in [
        ("endpoint", endpoint),
        ("allow_http", "true"),
        ("region", "us-east-1"),
        ("access_key_id", "flagstone-test"),
        ("secret_access_key", "flagstone-test-secret"),
    ] {
        config
            .options
            .insert(key.to_owned(), flagstone::config::Secret::new(value));
    }
    Some(FileStore::open(config).await.unwrap())
}

#[cfg(feature = "files-s3")]
#[tokio::test]
async fn s3_small_and_multipart_uploads_round_trip() {
    let Some(files) = s3(32 << 20, "round-trip").await else {
        return;
    };
    let app = app(files.clone());

    let small = png(10_000);
    let r = raw(&app, Some("image/png"), Body::from(small.clone())).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    let small_ref: FileRef = serde_json::from_value(r.json()["file"].clone()).unwrap();
    assert_eq!(small_ref.sha256, sha256(&small));

    // 12 MiB: three 5 MiB-or-less parts of a real S3 multipart upload.
    let large = png(12 << 20);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = large
        .chunks(256 * 1024)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let r = raw(
        &app,
        Some("image/png"),
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    let large_ref: FileRef = serde_json::from_value(r.json()["file"].clone()).unwrap();
    assert_eq!(large_ref.size, 12 << 20);
    assert_eq!(files.size(&large_ref.key).await.unwrap(), 12 << 20);

    let back = app.get(&format!("/api/v1/files/{}", large_ref.key)).await;
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(back.header("content-type"), Some("image/png"));
    assert_eq!(sha256(back.bytes()), large_ref.sha256);

    let csv = b"name,size\ncover.png,10000\n".to_vec();
    let r = raw(&app, Some("text/csv"), Body::from(csv)).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    assert!(r.json()["file"]["key"].as_str().unwrap().ends_with(".csv"));

    for key in [&small_ref.key, &large_ref.key] {
        let r = app
            .request(http::Method::DELETE, &format!("/api/v1/files/{key}"))
            .send()
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = app.get(&format!("/api/v1/files/{key}")).await;
        assert_problem(&r, StatusCode::NOT_FOUND, "file_not_found");
    }
}

#[cfg(feature = "files-s3")]
#[tokio::test]
async fn s3_presigned_urls_work_without_credentials() {
    let Some(files) = s3(1 << 20, "presigned").await else {
        return;
    };
    let app = app(files.clone());
    let bytes = png(4_000);
    let r = raw(&app, Some("image/png"), Body::from(bytes.clone())).await;
    let key = r.json()["file"]["key"].as_str().unwrap().to_owned();

    let r = app.get(&format!("/api/v1/signed/{key}")).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text());
    let url = r.json()["url"].as_str().unwrap().to_owned();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let fetched = plain_get(&url).await;
    assert_eq!(fetched.0, 200);
    assert_eq!(fetched.1, bytes);
    assert!(
        url.contains("X-Amz-Expires=900"),
        "files.presign_ttl: {url}"
    );
    // (moto does not verify signatures, so tampered URLs are not tested here.)

    let missing = app
        .get("/api/v1/signed/tests/presigned/00000000000000000000000000000000.png")
        .await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "file_not_found");
    files.delete(&key).await.unwrap();
}

#[cfg(feature = "files-s3")]
#[tokio::test]
async fn s3_uploads_refused_midway_leave_no_object() {
    let Some(files) = s3(6 << 20, "refused").await else {
        return;
    };
    let app = app(files.clone());
    let mine = || async {
        let all = keys(&files).await;
        all.into_iter()
            .filter(|k| k.starts_with("tests/refused/"))
            .count()
    };
    let before = mine().await;
    // Past 6 MiB after one 5 MiB part has gone out: the multipart upload is aborted.
    let big = png(8 << 20);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = big
        .chunks(256 * 1024)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let r = raw(
        &app,
        Some("image/png"),
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large");
    let r = raw(
        &app,
        Some("image/png"),
        cut_short(vec![png(5 << 20), png(1 << 20)]),
    )
    .await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "body_read_failed");
    assert_eq!(mine().await, before);
}

/// `GET url` over a plain TCP connection (HTTP/1.0): status and body.
#[cfg(feature = "files-s3")]
async fn plain_get(url: &str) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, response[split + 4..].to_vec())
}
