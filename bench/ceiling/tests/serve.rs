//! The ceiling answers real HTTP/1.1 over a socket, with mock-server's health-check body, and
//! keeps the connection open for the next request (wrk and the generators rely on keep-alive).

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test]
async fn answers_ok_twice_on_one_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ceiling::run(
        listener,
        Bytes::from_static(ceiling::BODY),
        async {
            let _ = stopped.await;
        },
    ));

    let mut stream = TcpStream::connect(addr).await.unwrap();
    for _ in 0..2 {
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 1024];
        let mut got = Vec::new();
        // Read until the whole response (head + 5-byte body) has arrived.
        while !got.ends_with(ceiling::BODY) {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "connection closed early; got {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "got {text:?}");
        assert!(text.contains("content-length: 5\r\n"), "got {text:?}");
        assert!(
            text.contains("content-type: application/json\r\n"),
            "got {text:?}"
        );
    }

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
