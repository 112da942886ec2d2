//! Connection limits: slow request heads, idle keep-alive connections, the connection cap. Raw
//! TCP, since an HTTP client library would hide what the server does to the connection.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app_with, TestApp};

async fn app_with(header_ms: u64, idle_ms: u64, max_connections: usize) -> TestApp {
    spawn_app_with(|settings| {
        settings.server.header_read_timeout_ms = header_ms;
        settings.server.idle_timeout_ms = idle_ms;
        settings.server.max_connections = max_connections;
    })
    .await
}

/// Reads until the server closes the connection; how long that took, or `None` if it stayed
/// open for `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

/// Sends one `GET /healthz` and reads its whole answer.
async fn healthz(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).contains("\"ok\"") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("answer in time")
            .expect("read");
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// A client dripping a request head one header line at a time is cut off once the head has
/// taken longer than `server.header_read_timeout_ms`.
#[tokio::test]
async fn a_slowloris_client_is_disconnected_after_the_header_read_timeout() {
    let app = app_with(500, 60_000, 100).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(b"PUT /mutex/lock/drip HTTP/1.1\r\nHost: test\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let mut closed = None;
    for i in 0..50 {
        if stream
            .write_all(format!("X-Drip-{i}: x\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = Some(started.elapsed());
            break;
        }
        if let Some(after) = closed_within(&mut stream, Duration::from_millis(100)).await {
            closed = Some(started.elapsed().max(after));
            break;
        }
    }
    let closed = closed.expect("a dripping client must be disconnected");
    assert!(
        closed >= Duration::from_millis(400) && closed < Duration::from_secs(4),
        "closed after {closed:?}"
    );
    assert!(
        !app.is_locked("drip").await,
        "the half-sent request did nothing"
    );
}

/// A connection that never sends a byte is closed after the header-read timeout too.
#[tokio::test]
async fn a_silent_new_connection_is_closed_after_the_header_read_timeout() {
    let app = app_with(300, 60_000, 100).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    let closed = closed_within(&mut stream, Duration::from_secs(4)).await;
    assert!(closed.is_some(), "a silent connection must be closed");
}

/// A keep-alive connection with no request in flight closes after `server.idle_timeout_ms`,
/// not after the (shorter) header-read timeout: between requests it may rest that long.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = app_with(200, 1500, 100).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    assert!(healthz(&mut stream).await.starts_with("HTTP/1.1 200"));
    // Longer than the header-read timeout, shorter than the idle timeout: still open.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(healthz(&mut stream).await.starts_with("HTTP/1.1 200"));
    let closed = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("an idle connection must be closed");
    assert!(
        closed >= Duration::from_millis(1200),
        "closed after {closed:?}"
    );
}

/// A request waiting for a lock is never cut off by the idle or header-read timeouts, however
/// long it waits.
#[tokio::test]
async fn a_waiting_lock_request_outlives_the_idle_and_header_timeouts() {
    let app = app_with(200, 300, 100).await;
    let held = app.lock_ok("patient").await;
    let waiter = {
        let client = app.client.clone();
        let url = app.url("/mutex/lock/patient?timeout=10");
        tokio::spawn(async move {
            let started = Instant::now();
            let response = client.put(url).send().await.expect("waiter answered");
            (response.status(), started.elapsed())
        })
    };
    app.wait_for_waiters("patient", 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let id = held["mutex_id"].as_str().expect("mutex_id");
    assert_eq!(app.unlock("patient", id).await.status(), 200);
    let (status, waited) = waiter.await.expect("waiter");
    assert_eq!(status, 200, "the waiter got the lock");
    assert!(waited >= Duration::from_millis(1500), "waited {waited:?}");
}

/// Past `server.max_connections` a new connection is closed at once; when one closes, there is
/// room again.
#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once() {
    let app = app_with(10_000, 60_000, 2).await;
    let mut first = TcpStream::connect(app.addr).await.expect("connect");
    let mut second = TcpStream::connect(app.addr).await.expect("connect");
    healthz(&mut first).await;
    healthz(&mut second).await;

    let mut third = TcpStream::connect(app.addr).await.expect("connect");
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await;
    let closed = closed_within(&mut third, Duration::from_secs(2)).await;
    assert!(
        closed.is_some(),
        "the connection over the cap must be closed"
    );

    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = TcpStream::connect(app.addr).await.expect("connect");
        let _ = again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .await;
        let mut buf = [0u8; 12];
        if let Ok(Ok(12)) =
            tokio::time::timeout(Duration::from_secs(1), again.read_exact(&mut buf)).await
        {
            assert_eq!(&buf, b"HTTP/1.1 200");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no room after a connection closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
