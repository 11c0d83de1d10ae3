//! Issue 24 item 2: loadgen's own endpoints (`--web` pages, `--metrics-addr`, the rehearsal's
//! webhook, all served by `engine::serve`) had no head deadline and no connection cap, so a
//! few silent clients held them for ever. Each case here was seen to hang before the policy.

use std::time::Duration;

use bytes::Bytes;
use engine::serve::{Access, HEAD_TIMEOUT, MAX_CONNECTIONS};
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn endpoint() -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(engine::serve::serve(
        listener,
        async {
            let _ = stopped.await;
        },
        Access::Open,
        |_req| async { http::Response::new(Full::new(Bytes::from_static(b"ok"))) },
    ));
    (addr, stop)
}

/// Everything the server sends on `s` until it closes, within `limit`.
async fn until_closed(s: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    tokio::time::timeout(limit, s.read_to_end(&mut got))
        .await
        .ok()
        .map(|_| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_stalled_clients_are_closed_and_the_cap_holds() {
    let (addr, _stop) = endpoint().await;
    let mut held = Vec::new();
    for i in 0..MAX_CONNECTIONS {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // A third say nothing, a third half a head, a third the first byte of an h2 preface.
        match i % 3 {
            0 => {}
            1 => s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").await.unwrap(),
            _ => s.write_all(b"P").await.unwrap(),
        }
        held.push(s);
    }
    // Over the cap: a 503 at once, not a wait.
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let answer = until_closed(&mut extra, Duration::from_secs(10)).await;
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("HTTP/1.1 503")),
        "{answer:?}"
    );
    // The head deadline closes every one of them: 10 s, and 20 s more for a loaded machine.
    for (i, s) in held.iter_mut().enumerate() {
        assert!(
            until_closed(s, HEAD_TIMEOUT + Duration::from_secs(20))
                .await
                .is_some(),
            "connection {i} was still open"
        );
    }
    // A keep-alive connection idle after its answer is closed too.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    assert!(idle.read(&mut buf).await.unwrap() > 0);
    assert!(
        until_closed(&mut idle, HEAD_TIMEOUT + Duration::from_secs(20))
            .await
            .is_some(),
        "an idle keep-alive connection was still open"
    );
    // The slots are free again, and a request then half-closed (`nc -N`) is answered.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    s.shutdown().await.unwrap();
    let answer = until_closed(&mut s, Duration::from_secs(10)).await;
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("HTTP/1.1 200") && a.ends_with("ok")),
        "{answer:?}"
    );
}
