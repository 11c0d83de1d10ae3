//! Failures are counted by kind, each provoked for real on loopback: a refused port, a peer
//! that hangs up, a peer that answers with garbage, a name that cannot resolve, a timeout.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::run;

/// A raw TCP server that reads a little of each request, then does `reply` and closes.
async fn raw(reply: &'static [u8]) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply).await;
            });
        }
    });
    (url, task)
}

fn errors(r: &engine::report::Report) -> Vec<(&str, u64)> {
    r.total
        .errors
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_has_its_kind() {
    let (hang_up, _a) = raw(b"").await;
    let r = run(&["-n", "6", "-c", "2", &hang_up]).await;
    assert_eq!(errors(&r), [("reset", 6)]);

    let (garbage, _b) = raw(b"SPEAK FRIEND AND ENTER\r\n\r\n").await;
    let r = run(&["-n", "6", "-c", "2", &garbage]).await;
    assert_eq!(errors(&r), [("protocol", 6)]);

    // Bind then drop: the port is free and nothing listens.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let r = run(&["-n", "4", "-c", "2", &format!("http://{closed}/")]).await;
    assert_eq!(errors(&r), [("connect_refused", 4)]);

    // A 64-character label is rejected by the resolver itself: no DNS packet leaves the host.
    let unresolvable = format!("http://{}.invalid/", "a".repeat(64));
    let r = run(&["-n", "2", "-c", "1", &unresolvable]).await;
    assert_eq!(errors(&r), [("dns", 2)]);

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            open.push(s); // accepted, never answered
        }
    });
    let r = run(&["-t", "0.2", "-n", "2", "-c", "2", &url]).await;
    assert_eq!(errors(&r), [("timeout", 2)]);
    assert!(r.total.latency.count == 0 && r.total.error_rate == 1.0);
}
