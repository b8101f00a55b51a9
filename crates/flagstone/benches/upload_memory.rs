//! Memory of a large upload: streams a 200 MiB file through the full HTTP stack into the
//! file store and prints the server process's resident memory before, at its peak during,
//! and after each upload. Prints figures, asserts nothing.
//!
//! ```text
//! cargo bench -p flagstone --bench upload_memory                     # local filesystem
//! FLAGSTONE_TEST_S3_URL=http://127.0.0.1:27042/flagstone-test \
//!     cargo bench -p flagstone --bench upload_memory                 # ... and S3 (moto)
//! FLAGSTONE_BENCH_UPLOAD_MIB=50 cargo bench -p flagstone --bench upload_memory
//! ```
//!
//! The client runs in the same process but writes from one reused 64 KiB buffer, so the
//! growth measured is the server's. RSS is sampled from `/proc/self/status` every 2 ms.
#![allow(clippy::unwrap_used, missing_docs)]

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Json, Router, routing::post};
use flagstone::{
    App,
    config::{ConfigLoader, Profile},
    files::{FileRef, FileStore, FilesConfig, Upload},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const CHUNK: usize = 64 * 1024;
const BOUNDARY: &str = "flagstone-bench-boundary";

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Samples RSS until stopped; returns the peak in KiB.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib()));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        Self { stop, peak, thread }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        self.peak.load(Ordering::Relaxed)
    }
}

async fn upload(upload: Upload) -> Json<FileRef> {
    Json(upload.file)
}

async fn server(files: FileStore) -> SocketAddr {
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(std::env::temp_dir())
        .env([
            ("FLAGSTONE_RATE_LIMIT__ENABLED", "false"),
            ("FLAGSTONE_SERVER__REQUEST_TIMEOUT", "0"),
            ("FLAGSTONE_HTTP__TRACE", "false"),
        ])
        .load()
        .unwrap();
    let app = App::new(config)
        .files(files)
        .routes(Router::new().route("/files", post(upload)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(app.serve(listener, std::future::pending()));
    address
}

/// POSTs `size` bytes (a PNG signature, then filler) as a raw body or in a multipart form,
/// writing from one reused buffer; returns the status line and body.
async fn send(address: SocketAddr, size: usize, multipart: bool) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let (preamble, epilogue) = match multipart {
        true => (
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n"
            ),
            format!("\r\n--{BOUNDARY}--\r\n"),
        ),
        false => (String::new(), String::new()),
    };
    let content_type = match multipart {
        true => format!("multipart/form-data; boundary={BOUNDARY}"),
        false => "image/png".to_owned(),
    };
    let length = preamble.len() + size + epilogue.len();
    let head = format!(
        "POST /api/v1/files HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{preamble}"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buffer = vec![0x5au8; CHUNK];
    buffer[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut sent = 0;
    while sent < size {
        let n = CHUNK.min(size - sent);
        stream.write_all(&buffer[..n]).await.unwrap();
        if sent == 0 {
            buffer[..8].fill(0x5a);
        }
        sent += n;
    }
    stream.write_all(epilogue.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    format!("{status} {body}")
}

struct Row {
    name: String,
    seconds: f64,
    before: u64,
    peak: u64,
    after: u64,
    answer: String,
}

async fn measure(name: &str, address: SocketAddr, size: usize, multipart: bool) -> Row {
    let before = rss_kib();
    let sampler = Sampler::start();
    let started = Instant::now();
    let answer = send(address, size, multipart).await;
    let seconds = started.elapsed().as_secs_f64();
    let peak = sampler.finish();
    Row {
        name: name.to_owned(),
        seconds,
        before,
        peak,
        after: rss_kib(),
        answer,
    }
}

fn main() {
    let mib: usize = std::env::var("FLAGSTONE_BENCH_UPLOAD_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let size = mib << 20;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = FilesConfig::default();
        config.url = format!("file://{}", dir.path().display());
        config.max_size = (size as u64) + (1 << 20);
        config.allowed_types = vec!["image/png".to_owned()];
        let mut targets = vec![(
            "local filesystem",
            server(FileStore::open(config.clone()).await.unwrap()).await,
        )];
        if let Ok(url) = std::env::var("FLAGSTONE_TEST_S3_URL") {
            let (endpoint, bucket) = url.trim_end_matches('/').rsplit_once('/').unwrap();
            let mut s3 = config.clone();
            s3.url = format!("s3://{bucket}");
            s3.prefix = "bench".to_owned();
            for (k, v) in [
                ("endpoint", endpoint),
                ("allow_http", "true"),
                ("region", "us-east-1"),
                ("access_key_id", "bench"),
                ("secret_access_key", "bench"),
            ] {
                s3.options
                    .insert(k.to_owned(), flagstone::config::Secret::new(v));
            }
            targets.push((
                "S3 (moto)",
                server(FileStore::open(s3).await.unwrap()).await,
            ));
        }
        let at_start = rss_kib();
        // Warm up each server (allocator arenas, connection handling) with a 6 MiB upload.
        for (_, address) in &targets {
            let _ = send(*address, 6 << 20, false).await;
            let _ = send(*address, 6 << 20, true).await;
        }
        let mut rows = Vec::new();
        for (backend, address) in &targets {
            for multipart in [false, true] {
                let shape = if multipart { "multipart" } else { "raw body" };
                let name = format!("{backend}, {shape}");
                rows.push(measure(&name, *address, size, multipart).await);
            }
        }
        println!("\nUpload of {mib} MiB through the full stack (RSS of the whole process, MiB)");
        println!(
            "RSS with the servers up, before the 6 MiB warm-up uploads: {:.1} MiB\n",
            at_start as f64 / 1024.0
        );
        println!(
            "| backend, body | time | throughput | RSS before | RSS peak | growth | RSS after |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        for r in &rows {
            let mb = |kib: u64| kib as f64 / 1024.0;
            println!(
                "| {} | {:.2} s | {:.0} MiB/s | {:.1} | {:.1} | **{:.1}** | {:.1} |",
                r.name,
                r.seconds,
                mib as f64 / r.seconds,
                mb(r.before),
                mb(r.peak),
                mb(r.peak.saturating_sub(r.before)),
                mb(r.after),
            );
        }
        println!();
        for r in &rows {
            let answer: String = r.answer.chars().take(220).collect();
            println!("{}: {answer}", r.name);
        }
    });
}
