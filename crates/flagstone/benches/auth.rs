//! Auth benchmarks: prints Markdown tables of figures, asserts nothing.
//!
//! ```text
//! cargo bench -p flagstone --bench auth
//! ```
//!
//! Passwords use the default `[auth]` cost (argon2id, 19 MiB, t=2, p=1) and the default
//! pool bound (one hash per core), through `Passwords` on a multi-thread runtime: one hash,
//! one verification, logins per second with 2 and with 50 concurrent tasks, and how late a
//! 1 ms timer fires on the same runtime while 50 verifications run (the runtime must not
//! stall). Access tokens: issue and verify per second for HS256, EdDSA and RS256, with the
//! test-only keys of `tests/fixtures/keys/`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use flagstone::{
    auth::{jwt::JwtKeys, password::Passwords},
    config::{AuthConfig, Config, JwtAlgorithm, Profile},
};

const PASSWORD: &str = "correct horse battery staple";

/// Mean, median, 99th percentile and maximum of `samples`, in milliseconds.
struct Spread {
    mean: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Spread {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let at = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
        let total: Duration = samples.iter().sum();
        Self {
            mean: ms(total) / samples.len() as f64,
            p50: at(0.5),
            p99: at(0.99),
            max: ms(*samples.last().unwrap()),
        }
    }
}

async fn hash_latency(passwords: &Passwords, count: usize) -> Spread {
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        passwords.hash(PASSWORD).await.unwrap();
        samples.push(started.elapsed());
    }
    Spread::of(samples)
}

async fn verify_latency(passwords: &Passwords, phc: &str, count: usize) -> Spread {
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        assert!(passwords.verify(PASSWORD, phc).await.unwrap().valid);
        samples.push(started.elapsed());
    }
    Spread::of(samples)
}

/// `tasks` tasks verifying `per_task` times each; returns verifications per second.
async fn logins_per_second(passwords: &Passwords, phc: &str, tasks: usize, per_task: usize) -> f64 {
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (passwords, phc) = (passwords.clone(), phc.to_owned());
            tokio::spawn(async move {
                for _ in 0..per_task {
                    passwords.verify(PASSWORD, &phc).await.unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    (tasks * per_task) as f64 / started.elapsed().as_secs_f64()
}

/// How late a task asking to wake every 1 ms wakes, while `load` runs (or for `idle`).
async fn timer_lateness<F: std::future::Future<Output = ()>>(load: F) -> Spread {
    let done = Arc::new(AtomicBool::new(false));
    let timer = tokio::spawn({
        let done = Arc::clone(&done);
        async move {
            let mut lateness = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let due = tokio::time::Instant::now() + Duration::from_millis(1);
                tokio::time::sleep_until(due).await;
                lateness.push(tokio::time::Instant::now().saturating_duration_since(due));
            }
            lateness
        }
    });
    load.await;
    done.store(true, Ordering::Relaxed);
    Spread::of(timer.await.unwrap())
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name);
    path.to_str().unwrap().to_owned()
}

fn jwt_keys(algorithm: JwtAlgorithm) -> JwtKeys {
    let mut auth: AuthConfig = Config::defaults(Profile::Test).auth;
    auth.algorithm = algorithm;
    auth.secret = Some(flagstone::config::Secret::new(
        "0123456789abcdef0123456789abcdef-bench",
    ));
    match algorithm {
        JwtAlgorithm::HS256 => {}
        JwtAlgorithm::EdDSA => {
            auth.private_key_file = Some(fixture("ed25519-private.pem"));
            auth.public_key_file = Some(fixture("ed25519-public.pem"));
        }
        JwtAlgorithm::RS256 => {
            auth.private_key_file = Some(fixture("rsa-private.pem"));
            auth.public_key_file = Some(fixture("rsa-public.pem"));
        }
    }
    JwtKeys::from_config(&auth, Profile::Test).unwrap()
}

/// Operations per second of `op` run `count` times.
fn per_second(count: usize, mut op: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..count {
        op();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn passwords_bench(cores: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let auth = Config::defaults(Profile::Test).auth;
        let passwords = Passwords::from_config(&auth).unwrap();
        let phc = passwords.hash(PASSWORD).await.unwrap();
        eprintln!("passwords: {phc:.31}..., pool bound {cores}");

        let hash = hash_latency(&passwords, 20).await;
        let verify = verify_latency(&passwords, &phc, 20).await;
        let two = logins_per_second(&passwords, &phc, 2, 20).await;
        let fifty = logins_per_second(&passwords, &phc, 50, 4).await;
        let idle = timer_lateness(tokio::time::sleep(Duration::from_millis(500))).await;
        let loaded = timer_lateness(async {
            logins_per_second(&passwords, &phc, 50, 4).await;
        })
        .await;

        println!("\nPasswords: argon2id m=19456 KiB, t=2, p=1; {cores} at once (one per core)\n");
        println!("| measure | mean | p50 | p99 | max |");
        println!("|---|---|---|---|---|");
        for (name, spread) in [
            ("hash (one at a time)", &hash),
            ("verify (one at a time)", &verify),
        ] {
            println!(
                "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
                spread.mean, spread.p50, spread.p99, spread.max
            );
        }
        for (name, spread) in [
            ("1 ms timer lateness, idle", &idle),
            ("1 ms timer lateness, 50 verifies running", &loaded),
        ] {
            println!(
                "| {name} | {:.3} ms | {:.3} ms | {:.3} ms | {:.3} ms |",
                spread.mean, spread.p50, spread.p99, spread.max
            );
        }
        println!("\n| concurrent tasks | logins (verifies) per second |");
        println!("|---|---|");
        println!("| 2 | {two:.1}/s |");
        println!("| 50 | {fifty:.1}/s |");
    });
}

fn tokens_bench() {
    println!("\nAccess tokens: operations per second (mean time per operation)\n");
    println!("| algorithm | issue | verify |");
    println!("|---|---|---|");
    for (name, algorithm, count) in [
        ("HS256", JwtAlgorithm::HS256, 50_000),
        ("EdDSA", JwtAlgorithm::EdDSA, 10_000),
        ("RS256", JwtAlgorithm::RS256, 500),
    ] {
        let keys = jwt_keys(algorithm);
        let roles = vec!["user".to_owned()];
        let issue = per_second(count, || {
            keys.issue("user-1", &roles, Some("session-1")).unwrap();
        });
        let (token, _) = keys.issue("user-1", &roles, Some("session-1")).unwrap();
        let verify = per_second(count * 4, || {
            keys.verify(&token).unwrap();
        });
        let cell = |rate: f64| format!("{rate:.0}/s ({:.1} µs)", 1e6 / rate);
        println!("| {name} | {} | {} |", cell(issue), cell(verify));
    }
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    passwords_bench(cores);
    tokens_bench();
}
