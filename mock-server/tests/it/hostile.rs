//! Hostile or careless clients: admin token, connection cap, header limits, idle connections.

use std::time::Duration;

use http::{Method, StatusCode};
use mock_server::testing::http::{JSON, exchange, send};
use mock_server::{Config, LatencyMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestServer;

async fn phase_request(server: &TestServer, method: Method, auth: Option<&str>) -> StatusCode {
    let auth = auth.map(|a| ("authorization", a));
    let headers: Vec<_> = auth.into_iter().chain([JSON]).collect();
    let answer = send(
        &server.client,
        method.as_str(),
        &server.url("/phase"),
        &headers,
        r#"{"ChatSuccess": 0.1}"#,
    )
    .await;
    let status = StatusCode::from_u16(answer.status).unwrap();
    if status == StatusCode::UNAUTHORIZED {
        assert_eq!(answer.headers["www-authenticate"], "Bearer");
    }
    status
}

#[tokio::test]
async fn the_admin_token_guards_phase_changes_but_not_reads() {
    let server = TestServer::with_config(Config {
        latency_mode: LatencyMode::Record,
        admin_token: Some("s3cret-token".into()),
        ..Config::default()
    })
    .await;
    let before = server.phase().await;
    for auth in [
        None,
        Some("Bearer wrong-token"),
        Some("s3cret-token"),
        Some("Bearer s3cret-tokenX"),
        Some("Basic s3cret-token"),
        Some("Bearers3cret-token"),
        Some("Bearer\ts3cret-token"),
    ] {
        assert_eq!(
            phase_request(&server, Method::POST, auth).await,
            StatusCode::UNAUTHORIZED,
            "{auth:?}"
        );
        assert_eq!(
            phase_request(&server, Method::DELETE, auth).await,
            StatusCode::UNAUTHORIZED,
            "{auth:?}"
        );
    }
    assert_eq!(
        server.phase().await,
        before,
        "refused changes left the phase alone"
    );
    // The scheme is case-insensitive (issue 24 item 9: `bearer` got a 401).
    for auth in ["bearer s3cret-token", "BEARER  s3cret-token"] {
        assert_eq!(
            phase_request(&server, Method::POST, Some(auth)).await,
            StatusCode::OK,
            "{auth}"
        );
    }
    assert_eq!(
        phase_request(&server, Method::POST, Some("Bearer s3cret-token")).await,
        StatusCode::OK
    );
    assert_eq!(
        server.phase().await["CurrentProbMetrics"]["ChatSuccess"],
        0.1
    );
    assert_eq!(
        phase_request(&server, Method::DELETE, Some("Bearer s3cret-token")).await,
        StatusCode::OK
    );
    assert_eq!(server.phase().await, before);
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_get_a_503_not_a_hang() {
    let server = TestServer::with_config(Config {
        latency_mode: LatencyMode::Record,
        max_connections: 3,
        ..Config::default()
    })
    .await;
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        assert_eq!(exchange(&mut s, &get("/healthz")).await.status, 200);
        held.push(s);
    }
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let refused = exchange(&mut extra, &get("/healthz")).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (503, r#"{"error":"too many connections"}"#)
    );
    let scrape = exchange(&mut held[0], &get("/metrics")).await;
    assert_eq!(scrape.status, 200);
    let metrics = scrape.body;
    assert!(
        metrics.contains("mockserver_connections_rejected_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mockserver_connections_open 3"),
        "{metrics}"
    );
    // A freed slot is usable again.
    drop(held.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        if exchange(&mut s, &get("/healthz")).await.status == 200 {
            again = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "the slot was never released");
    drop(held);
    server.stop().await;
}

/// Issue 24 item 9: `Transfer-Encoding: chunked` given twice was accepted (RFC 9112 forbids
/// applying chunked twice; a proxy may frame such a body another way). Now a 400 that closes.
#[tokio::test]
async fn chunked_given_twice_is_a_400_that_closes() {
    let server = TestServer::start(LatencyMode::Record).await;
    for te in [
        "transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n",
        "transfer-encoding: chunked, Chunked\r\n",
    ] {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        let request = format!("POST /login HTTP/1.1\r\nhost: x\r\n{te}\r\n2\r\n{{}}\r\n0\r\n\r\n");
        s.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
            .await
            .expect("the server closes the connection")
            .unwrap();
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 400"), "{te}: {text}");
        assert!(text.contains("chunked more than once"), "{text}");
    }
    let metrics = server.metrics().await;
    assert_eq!(metrics.count("movieguru_login_attempts_total"), 0);
    assert!(
        metrics.text.contains(r#"code="400""#),
        "the refusal is counted in http_requests_total"
    );
    // One chunked is fine.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let answer = exchange(
        &mut s,
        "POST /login HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(answer.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn oversized_headers_get_a_431() {
    let server = TestServer::start(LatencyMode::Record).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(40 * 1024)
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    // A body just under the 64 KiB limit is still fine: the head limit is not a body limit.
    let (status, _) = server.post("/chat", &"x".repeat(60 * 1024)).await;
    assert!(
        status == StatusCode::OK || status == StatusCode::INTERNAL_SERVER_ERROR,
        "{status}"
    );
    server.stop().await;
}

/// Issue 24 item 2: a connection whose first bytes are `P` or `PR` (a possible h2c preface), or
/// a whole h2 preface and then silence, had no head deadline; with `--max-connections 4` four
/// of them locked everyone out. Now each is closed like any stalled head, and the slots free.
#[tokio::test]
async fn a_stalled_h2c_preface_is_closed_at_the_head_deadline() {
    let server = TestServer::with_config(Config {
        latency_mode: LatencyMode::Record,
        header_read_timeout: Duration::from_millis(500),
        max_connections: 3,
        ..Config::default()
    })
    .await;
    let mut stalled = Vec::new();
    for start in [&b"P"[..], b"PR", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"] {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(start).await.unwrap();
        stalled.push(s);
    }
    for (s, start) in stalled.iter_mut().zip(["P", "PR", "preface"]) {
        let mut rest = Vec::new();
        // The watchdog closes a head 1 to 1.25 timeouts after its wait began (at most 625 ms
        // here); 10 s is far past that on a loaded machine, and without a deadline it is never.
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest)).await;
        assert!(
            read.is_ok(),
            "a connection that sent {start} was still open after 10 s"
        );
    }
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK, "the slots are free again");
    // A real h2c client after its preface is not cut off: its request is answered.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    // HEADERS on stream 1, END_STREAM|END_HEADERS: GET (2), http (6), :path /healthz as a
    // literal with indexed name 4, :authority x as a literal with indexed name 1.
    let mut block = vec![0x82, 0x86, 0x04, 8];
    block.extend_from_slice(b"/healthz");
    block.extend_from_slice(&[0x01, 1, b'x']);
    let mut frame = vec![0, 0, block.len() as u8, 1, 5, 0, 0, 0, 1];
    frame.extend_from_slice(&block);
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.write_all(&frame).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // Frames until a HEADERS frame (type 1) on stream 1 arrives: the answer.
    let answered = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before answering: {got:?}");
            got.extend_from_slice(&buf[..n]);
            let mut at = 0;
            while at + 9 <= got.len() {
                let len = usize::from(got[at]) << 16
                    | usize::from(got[at + 1]) << 8
                    | usize::from(got[at + 2]);
                if got[at + 3] == 1 && got[at + 8] == 1 {
                    return;
                }
                at += 9 + len;
            }
        }
    })
    .await;
    assert!(answered.is_ok(), "no answer to an h2c request: {got:?}");
    server.stop().await;
}

/// Issue 24 items 2 and 3: a client that sends a whole request and then half-closes (`nc -N`)
/// got no answer, and a half-closed `POST /phase` was not applied either.
#[tokio::test]
async fn a_half_closed_request_is_answered_and_applied() {
    let server = TestServer::start(LatencyMode::Sleep).await;
    let body = r#"{"ChatSuccess": 0.25}"#;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "POST /phase HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.unwrap();
    s.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .expect("the server closes after answering")
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(
        server.phase().await["CurrentProbMetrics"]["ChatSuccess"],
        0.25
    );
    // An answer that takes its drawn latency (sleep mode) is still waited for, not dropped at
    // the client's EOF.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"POST /login HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
        .await
        .unwrap();
    s.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .expect("the server closes after answering")
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 "),
        "a half-closed login got no answer: {text:?}"
    );
    server.stop().await;
}

/// Issue 24 item 2: a client that pipelines requests and never reads the answers held its
/// connection (and its slot) for ever once the send buffer was full. Now a write that waits
/// past the header read timeout closes it.
#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_its_slot_freed() {
    let server = TestServer::with_config(Config {
        latency_mode: LatencyMode::Record,
        header_read_timeout: Duration::from_millis(500),
        max_connections: 1,
        ..Config::default()
    })
    .await;
    let mut hog = TcpStream::connect(server.addr).await.unwrap();
    // Enough answers (each ~150 bytes) to fill any loopback send and receive buffer.
    let requests = "GET /history HTTP/1.1\r\nhost: x\r\n\r\n".repeat(100_000);
    let (_r, mut w) = hog.split();
    // The server stops reading once its writes stall, so this write stalls too: it is given
    // up after 5 s, and the hog never reads a byte.
    let _ = tokio::time::timeout(Duration::from_secs(5), w.write_all(requests.as_bytes())).await;
    // While the hog holds the only slot, others get a 503; once its stalled write times out
    // (500 ms), its slot is free. Polled for 20 s: without a write deadline, never.
    let freed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let mut s = TcpStream::connect(server.addr).await.unwrap();
            let answer = exchange(&mut s, "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await;
            if answer.status == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(freed.is_ok(), "a client that never reads kept its slot");
    drop(hog);
    server.stop().await;
}

#[tokio::test]
async fn a_thousand_idle_connections_do_not_starve_a_real_client() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let server = TestServer::with_config(Config {
        latency_mode: LatencyMode::Record,
        header_read_timeout: Duration::from_millis(500),
        ..Config::default()
    })
    .await;
    let mut idle = Vec::new();
    for i in 0..1000 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        // Half of them send a partial request head and stall, half send nothing at all.
        if i % 2 == 0 {
            s.write_all(b"GET /chat HTTP/1.1\r\nhost: x\r\n")
                .await
                .unwrap();
        }
        idle.push(s);
    }
    let answered = tokio::time::timeout(Duration::from_secs(2), server.get("/healthz")).await;
    assert_eq!(
        answered
            .expect("a real client waited behind idle connections")
            .0,
        StatusCode::OK
    );
    // The header read timeout then closes the stalled ones, silent or half-sent: each one reaches
    // end of stream (the server closes without an answer) well before 5 s, not merely "some
    // bytes arrived".
    for (i, s) in idle.iter_mut().enumerate().step_by(25) {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
        assert!(
            read.is_ok(),
            "stalled connection {i} was still open 5 s after its 500 ms header timeout"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn clients_that_vanish_mid_request_do_not_disturb_the_others() {
    let server = TestServer::start(LatencyMode::Sleep).await;
    let (status, _) = server
        .post(
            "/phase",
            r#"{"StartupSuccess": 1, "StartupLatencyMinMS": 300, "StartupLatencyMaxMS": 300}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Fifty clients send a request and hang up while the server is still waiting to answer.
    for _ in 0..50 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET /startup HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        drop(s);
    }
    // Everyone else is still served, and no vanished connection is left behind. (A vanished
    // request is counted only if hyper had dispatched it before the hang-up: its client never
    // learns either way, so the count is a range, not a number.)
    let (status, _) = server.get("/startup").await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let m = server.metrics().await;
    let attempts = m.count("movieguru_startup_attempts_total");
    assert!((1..=51).contains(&attempts), "{attempts}");
    assert_eq!(
        m.count("mockserver_connections_open"),
        1,
        "the vanished connections were closed"
    );
    server.stop().await;
}

/// Issue 13, item 2, the slow-loris test's twin for bodies: a head that promises a body which
/// never comes is closed once the body read timeout (by default the header timeout) has passed,
/// so a handful of such clients lock the `--max-connections` cap only for that long.
#[tokio::test]
async fn a_body_that_never_arrives_is_timed_out_and_the_cap_recovers() {
    let server = TestServer::with_config(Config {
        latency_mode: LatencyMode::Record,
        header_read_timeout: Duration::from_secs(1),
        max_connections: 4,
        ..Config::default()
    })
    .await;
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"POST /login HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n")
            .await
            .unwrap();
        stalled.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Locked out while the four wait for their bodies.
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let get = "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";
    assert_eq!(exchange(&mut extra, get).await.status, 503);
    // Each stalled connection is closed without an answer well before 5 s.
    for (i, s) in stalled.iter_mut().enumerate() {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
        assert!(
            read.is_ok(),
            "connection {i} still waited for its body 5 s after a 1 s timeout"
        );
        assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    }
    // The slots are free again.
    let mut served = false;
    for _ in 0..50 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        if exchange(&mut s, get).await.status == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "the cap never recovered");
    // Nothing was counted as a login; the timeouts show as 408s.
    let m = server.metrics().await;
    assert_eq!(m.count("movieguru_login_attempts_total"), 0);
    assert_eq!(
        m.count(&crate::support::requests("/login", "POST", "408")),
        4
    );
    server.stop().await;
}

/// Issue 13, item 2: `--body-read-timeout` is its own bound, shorter here than the header
/// timeout, and the CLI takes it (default: the header timeout; zero refused).
#[tokio::test]
async fn the_body_read_timeout_is_its_own_flag() {
    use clap::Parser;
    use mock_server::cli::Args;
    let config = |args: &[&str]| {
        Config::try_from(Args::try_parse_from(["mock-server"].iter().chain(args)).unwrap())
    };
    let c = config(&["--header-read-timeout", "3s"]).unwrap();
    assert_eq!(c.body_read_timeout(), Duration::from_secs(3));
    let c = config(&[
        "--header-read-timeout",
        "3s",
        "--body-read-timeout",
        "250ms",
    ])
    .unwrap();
    assert_eq!(c.body_read_timeout(), Duration::from_millis(250));
    let e = config(&["--body-read-timeout", "0s"]).unwrap_err();
    assert!(e.to_string().contains("--body-read-timeout"), "{e}");

    let server = TestServer::with_config(Config {
        latency_mode: LatencyMode::Record,
        header_read_timeout: Duration::from_secs(30),
        body_read_timeout: Some(Duration::from_millis(300)),
        ..Config::default()
    })
    .await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    // Half the body, then nothing.
    s.write_all(
        b"POST /phase HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{\"ChatSucc",
    )
        .await
        .unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    assert!(
        read.is_ok(),
        "a half-sent body held its connection past 5 s"
    );
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    let m = server.metrics().await;
    assert_eq!(
        m.count(&crate::support::requests("/phase", "POST", "408")),
        1
    );
    assert_eq!(m.count("mockserver_phase_changes_total"), 0);
    server.stop().await;
}
