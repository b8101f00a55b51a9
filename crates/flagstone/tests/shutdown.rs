//! Graceful shutdown on a real socket: in-flight requests complete, new connections are
//! refused, and the server returns cleanly — triggered in-process and by a real SIGTERM.
#![allow(clippy::unwrap_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use flagstone::{
    App,
    config::{ConfigLoader, Profile},
    prelude::*,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const CHILD_ENV: &str = "FLAGSTONE_SHUTDOWN_TEST_CHILD";

/// An app with `/api/v1/slow` (700 ms) and `/api/v1/forever`, and the given grace period.
fn app(grace: &str) -> App {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigLoader::new()
        .profile(Profile::Test)
        .dir(dir.path())
        .env([("FLAGSTONE_SERVER__SHUTDOWN_GRACE", grace)])
        .load()
        .unwrap();
    let slow = || async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        "finished"
    };
    let forever = || async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        "never"
    };
    App::new(config).routes(
        Router::new()
            .route("/slow", get(slow))
            .route("/forever", get(forever)),
    )
}

/// Serves `app` on an ephemeral port until the returned sender fires.
async fn serve(
    app: App,
) -> (
    u16,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<flagstone::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async move {
        let _ = stopped.await;
    }));
    (port, stop, server)
}

/// Opens a connection, sends a GET and reads the whole response.
async fn request(port: u16, path: &str) -> tokio::task::JoinHandle<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    tokio::spawn(async move {
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    })
}

async fn assert_refused(port: u16) {
    // The listener is dropped as soon as shutdown starts; allow the runtime a moment.
    for _ in 0..50 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("new connections are still accepted after shutdown began");
}

#[tokio::test]
async fn in_flight_requests_finish_and_new_connections_are_refused() {
    let (port, stop, server) = serve(app("5s")).await;
    let in_flight = request(port, "/api/v1/slow").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();

    assert_refused(port).await;
    let response = in_flight.await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("finished"), "{response}");
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    assert!(result.is_ok());
}

#[tokio::test]
async fn requests_still_running_after_the_grace_period_are_cut_off() {
    let (port, stop, server) = serve(app("100ms")).await;
    let _in_flight = request(port, "/api/v1/forever").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(
        result.unwrap().unwrap().is_ok(),
        "serve returns Ok once the grace period is over"
    );
}

/// Runs in a child process started by [`sigterm_drains_and_exits_cleanly`]: serves on an
/// ephemeral port, prints it, and stops on SIGTERM as `App::run` does.
#[tokio::test]
#[ignore = "started as a child process by sigterm_drains_and_exits_cleanly"]
async fn child_server_until_sigterm() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("PORT={}", listener.local_addr().unwrap().port());
    app("5s")
        .serve(listener, flagstone::app::shutdown_signal())
        .await
        .unwrap();
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_server_until_sigterm",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("PORT=")
                .map(|p| p.trim().parse().unwrap())
        })
        .expect("the child prints its port");
    // Keep reading, so the child never writes into a closed pipe.
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());

    let in_flight = request(port, "/api/v1/slow").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    assert_refused(port).await;
    let response = in_flight.await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "the server exits 0 after SIGTERM, got {status}"
    );
    drain.join().unwrap();
}
