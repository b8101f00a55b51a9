//! Logins over real HTTP on loopback, with the default argon2id parameters, and how long
//! `GET /health/live` takes meanwhile: proof that hashing runs off the async runtime.
//!
//! `cargo bench -p flagstone --bench login` (set `FLAGSTONE_BENCH_SECONDS`, default 10, and
//! `FLAGSTONE_BENCH_CONCURRENCY`, default 50). Prints figures; asserts nothing.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use flagstone::{
    App,
    config::{ConfigLoader, Profile},
    mail::Mailer,
    store::Store,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const PASSWORD: &str = "correct horse battery";

/// A minimal HTTP/1.1 keep-alive client: enough for a load run on loopback.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends a request and returns the status once the whole response is read.
    async fn send(&mut self, method: &str, path: &str, body: &str) -> u16 {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(request.as_bytes()).await.unwrap();
        self.buf.clear();
        loop {
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
            let Some(end) = find(&self.buf, b"\r\n\r\n") else {
                continue;
            };
            let head = std::str::from_utf8(&self.buf[..end])
                .unwrap()
                .to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if self.buf.len() >= end + 4 + length {
                return head[9..12].parse().unwrap();
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Probes `/health/live` every 10 ms until `stop`, returning the latencies.
async fn probe(addr: SocketAddr, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut client = Client::connect(addr).await;
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        assert_eq!(client.send("GET", "/health/live", "").await, 200);
        latencies.push(start.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    latencies.sort();
    latencies
}

fn report(label: &str, latencies: &[Duration]) {
    println!(
        "| {label} | {} | {:.2} | {:.2} | {:.2} |",
        latencies.len(),
        percentile(latencies, 0.5).as_secs_f64() * 1e3,
        percentile(latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn main() {
    let seconds: u64 = std::env::var("FLAGSTONE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .clamp(1, 120);
    let concurrency: usize = std::env::var("FLAGSTONE_BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50)
        .clamp(1, 500);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(Duration::from_secs(seconds), concurrency, cores));
}

async fn run(duration: Duration, concurrency: usize, cores: usize) {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Production)
        .dir(dir.path())
        .env([
            (
                "FLAGSTONE_AUTH__SECRET",
                "a-bench-secret-that-is-long-enough-123",
            ),
            ("FLAGSTONE_DATABASE__URL", "memory://"),
            ("FLAGSTONE_RATE_LIMIT__ENABLED", "false"),
            ("FLAGSTONE_AUTH__RATE_LIMIT", "0"),
            ("FLAGSTONE_HTTP__TRACE", "false"),
            ("FLAGSTONE_LOGGING__LEVEL", "error"),
            ("FLAGSTONE_SERVER__MAX_CONCURRENCY", "10000"),
        ])
        .load()
        .unwrap();
    let argon2 = format!(
        "m={} KiB, t={}, p={}",
        config.auth.argon2_memory / 1024,
        config.auth.argon2_iterations,
        config.auth.argon2_parallelism
    );
    let app = App::new(config)
        .store(Store::memory())
        .mailer(Mailer::memory().0)
        .auth()
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async {
        let _ = stopped.await;
    }));

    let mut setup = Client::connect(addr).await;
    let body = format!(r#"{{"email":"bench@example.com","password":"{PASSWORD}"}}"#);
    assert_eq!(
        setup.send("POST", "/api/v1/auth/register", &body).await,
        201
    );

    println!(
        "login over HTTP on loopback: {cores} cores, argon2id {argon2}, {concurrency} concurrent clients, {} s",
        duration.as_secs()
    );
    println!();
    println!("| GET /health/live | probes | p50 ms | p99 ms | max ms |");
    println!("| --- | --- | --- | --- | --- |");

    // Idle baseline.
    let stop = Arc::new(AtomicBool::new(false));
    let idle = tokio::spawn(probe(addr, stop.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    report("idle", &idle.await.unwrap());

    // Under a burst of logins.
    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let prober = tokio::spawn(probe(addr, stop.clone()));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (stop, logins, failures, body) =
            (stop.clone(), logins.clone(), failures.clone(), body.clone());
        workers.push(tokio::spawn(async move {
            let mut client = Client::connect(addr).await;
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match client.send("POST", "/api/v1/auth/login", &body).await {
                    200 => logins.fetch_add(1, Ordering::Relaxed),
                    _ => failures.fetch_add(1, Ordering::Relaxed),
                };
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut login_latencies = Vec::new();
    for worker in workers {
        login_latencies.extend(worker.await.unwrap());
    }
    let elapsed = start.elapsed();
    report(
        &format!("during {concurrency} concurrent logins"),
        &prober.await.unwrap(),
    );
    login_latencies.sort();
    println!();
    println!("| logins | per second | non-200 | p50 ms | p99 ms |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| {} | {:.1} | {} | {:.0} | {:.0} |",
        logins.load(Ordering::Relaxed),
        logins.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(),
        failures.load(Ordering::Relaxed),
        percentile(&login_latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&login_latencies, 0.99).as_secs_f64() * 1e3,
    );
    let _ = stop_server.send(());
    let _ = server.await;
}
