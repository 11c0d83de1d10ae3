//! Issue 24 item 1: a page on another origin cannot take the wheel. In a real headless Chromium,
//! a page served from another loopback origin (127.0.0.2) sends what any site can send without
//! a preflight, `fetch(url, {method: 'POST', mode: 'no-cors', body: '...'})`, at a real
//! mock-server's `POST /phase`, `journey --web`'s `POST /swarm` and a hey `-z --web` run's
//! `POST /split`; each server's own state says nothing changed; the same page posting Locust's
//! form (`application/x-www-form-urlencoded`, which needs no preflight either) to `POST /swarm`
//! starts nothing. Without a browser: a form `POST /swarm`, `/stop` or `/stats/reset` naming
//! another origin is refused while the same form from the page's own origin works; a request
//! naming another host (the shape of DNS rebinding) gets 403 from every guarded route, while the
//! mock's API and `/metrics` still answer it. Browser tests are skipped with `SKIPPED` when
//! chromium/chromedriver are missing, unless `REQUIRE_CHROMIUM=1`.

use std::net::SocketAddr;

use clap::Parser;
use e2e::browser::Browser;
use engine::load::live_split::LiveSplit;
use engine::load::run_view::RunView;
use mock_server::testing::TestServer;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request over a fresh connection with a `Host` of the caller's choice: (status, body).
async fn raw(addr: SocketAddr, host: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let answer = e2e::http_as(addr, host, method, path, body).await;
    (answer.status, answer.body)
}

async fn get(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = raw(addr, &addr.to_string(), "GET", path, "").await;
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// A page on `http://127.0.0.2:PORT/`: another origin, and another site, than 127.0.0.1.
async fn elsewhere() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let page = "<!doctype html><title>elsewhere</title><p>any site on the web";
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\n\
                         content-length: {}\r\n\r\n{page}",
                        page.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    addr
}

/// From the page on another origin, the no-cors POST any site may send; resolves once the
/// server has answered (an opaque response: the page cannot read it, but it was sent).
async fn post_from_elsewhere(b: &Browser, url: &str, body: &str) {
    b.open(elsewhere().await, "/").await;
    let sent = b
        .client
        .execute_async(
            "const [url, body, done] = arguments; \
             fetch(url, {method: 'POST', mode: 'no-cors', body: body}) \
               .then(r => done('answered ' + r.type), e => done('failed ' + e));",
            vec![url.into(), body.into()],
        )
        .await
        .unwrap();
    assert_eq!(sent, "answered opaque", "the request did not reach {url}");
}

/// From the page on another origin, an HTML form's post (what Locust's page sends) built from
/// `fields` (`a=1&b=2`); resolves once the server has answered.
async fn form_from_elsewhere(b: &Browser, url: &str, fields: &str) {
    b.open(elsewhere().await, "/").await;
    let sent = b
        .client
        .execute_async(
            "const [url, fields, done] = arguments; \
             fetch(url, {method: 'POST', mode: 'no-cors', body: new URLSearchParams(fields)}) \
               .then(r => done('answered ' + r.type), e => done('failed ' + e));",
            vec![url.into(), fields.into()],
        )
        .await
        .unwrap();
    assert_eq!(sent, "answered opaque", "the form did not reach {url}");
}

async fn mock() -> TestServer {
    e2e::pages::recording_mock(&[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_cannot_change_the_phase() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let srv = mock().await;
    let before = get(srv.addr, "/phase").await;
    post_from_elsewhere(&b, &srv.url("/phase"), r#"{"StartupSuccess": 0}"#).await;
    assert_eq!(get(srv.addr, "/phase").await, before, "the phase changed");
    b.close().await;
    srv.stop().await;
}

/// `journey --web` as the runner serves it, with no host: the page waits for its form.
async fn swarm_page() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    e2e::pages::swarm_page(&[], false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_cannot_start_a_swarm() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let srv = mock().await;
    let (page, stop_page) = swarm_page().await;
    let form = format!(r#"{{"host":"{}","users":2,"spawn_rate":10}}"#, srv.url(""));
    post_from_elsewhere(&b, &format!("http://{page}/swarm"), &form).await;
    let stats = get(page, "/stats").await;
    assert_eq!(stats["state"], "ready", "a swarm started: {stats}");
    b.close().await;
    let _ = stop_page.send(());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_cannot_start_a_swarm_with_locusts_form() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let srv = mock().await;
    let (page, stop_page) = swarm_page().await;
    let form = format!("user_count=2&spawn_rate=10&host={}", srv.url(""));
    form_from_elsewhere(&b, &format!("http://{page}/swarm"), &form).await;
    let stats = get(page, "/stats").await;
    assert_eq!(stats["state"], "ready", "a swarm started: {stats}");
    b.close().await;
    let _ = stop_page.send(());
    srv.stop().await;
}

/// A form post to the swarm page with `extra` headers (an Origin, a Sec-Fetch-Site).
async fn form_post(addr: SocketAddr, path: &str, extra: &[&str], body: &str) -> (u16, String) {
    let host = format!("host: {addr}");
    let mut headers = vec![
        host.as_str(),
        "content-type: application/x-www-form-urlencoded",
    ];
    headers.extend(extra);
    let req = mock_server::testing::http::request("POST", path, &headers, body);
    let answer = mock_server::testing::http::raw(addr, &req).await;
    (answer.status, answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_origin_form_cannot_start_stop_or_reset_a_swarm() {
    let srv = mock().await;
    let (page, stop_page) = swarm_page().await;
    let form = format!("user_count=2&spawn_rate=100&host={}", srv.url(""));
    let own = format!("origin: http://{page}");
    let cross: [&[&str]; 3] = [
        &["origin: http://evil.example"],
        &["origin: null"],
        &["sec-fetch-site: cross-site", own.as_str()],
    ];
    for extra in cross {
        let (status, body) = form_post(page, "/swarm", extra, &form).await;
        assert_eq!(status, 403, "{extra:?}: {body}");
        assert!(body.contains("cross-origin"), "{extra:?}: {body}");
    }
    assert_eq!(get(page, "/stats").await["state"], "ready");

    // From the page's own origin the same form starts the run.
    let (status, body) = form_post(page, "/swarm", &[own.as_str()], &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"success\":true"), "{body}");
    for path in ["/stop", "/stats/reset"] {
        for extra in cross {
            let (status, body) = form_post(page, path, extra, "").await;
            assert_eq!(status, 403, "{path} {extra:?}: {body}");
        }
    }
    let state = get(page, "/stats").await["state"].clone();
    assert!(state == "spawning" || state == "running", "{state}");
    let (status, body) = form_post(page, "/stop", &[own.as_str()], "").await;
    assert_eq!(status, 200, "{body}");
    let _ = stop_page.send(());
    srv.stop().await;
}

/// A hey `-z --web` run's page with two targets, as the runner serves it (no load is needed
/// for the split to be live: only a finished run's split is fixed).
async fn run_page() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let cli = loadgen::cli::Cli::try_parse_from([
        "loadgen",
        "-z",
        "1m",
        "--target",
        "good=http://127.0.0.1:9/",
        "--target",
        "next=http://127.0.0.1:9/",
        "--split",
        "next=10",
        "--web",
        "127.0.0.1:0",
    ])
    .unwrap();
    let run = loadgen::cli::HeyRun::try_from(cli.hey).unwrap();
    let hosts = run.web.unwrap().hosts;
    let split = LiveSplit::new(&[("good".into(), 90), ("next".into(), 10)]);
    let view = RunView::new(
        "hey".into(),
        vec!["good".into(), "next".into()],
        Some(split),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(loadgen::web::serve(view, listener, hosts, async {
        let _ = rx.await;
    }));
    (addr, tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_cannot_move_a_live_split() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let (page, stop_page) = run_page().await;
    post_from_elsewhere(&b, &format!("http://{page}/split"), r#"{"next":100}"#).await;
    let split = get(page, "/split").await;
    assert_eq!(split["weights"]["next"], 10, "the split moved: {split}");
    assert_eq!(split["events"].as_array().map(Vec::len), Some(0), "{split}");
    b.close().await;
    let _ = stop_page.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebinding_host_gets_403_from_every_guarded_route() {
    let evil = "evil.example:8089";
    let refused = |what: &str, (status, body): (u16, String)| {
        assert_eq!(status, 403, "{what}: {body}");
        assert!(
            body.contains("evil.example") && body.contains("--allowed-host"),
            "{what}: {body}"
        );
    };
    let srv = mock().await;
    for (method, path, body) in [
        ("GET", "/phase", ""),
        ("POST", "/phase", r#"{"StartupSuccess": 0}"#),
        ("GET", "/ui", ""),
    ] {
        refused(
            &format!("mock {method} {path}"),
            raw(srv.addr, evil, method, path, body).await,
        );
    }
    // The mocked API and the metrics answer any name: deployments pick them.
    let (status, body) = raw(srv.addr, evil, "POST", "/chat", r#"{"content":"hi"}"#).await;
    assert!(
        status != 403 && !body.contains("--allowed-host"),
        "/chat: {status} {body}"
    );
    let (status, body) = raw(srv.addr, evil, "GET", "/metrics", "").await;
    assert_eq!(status, 200, "/metrics: {body}");

    let (swarm, stop_swarm) = swarm_page().await;
    let form = format!(r#"{{"host":"{}","users":1}}"#, srv.url(""));
    for (method, path, body) in [
        ("GET", "/", ""),
        ("GET", "/stats", ""),
        ("POST", "/swarm", form.as_str()),
        ("POST", "/stop", ""),
    ] {
        refused(
            &format!("swarm page {method} {path}"),
            raw(swarm, evil, method, path, body).await,
        );
    }
    assert_eq!(get(swarm, "/stats").await["state"], "ready");
    let (run, stop_run) = run_page().await;
    for (method, path, body) in [
        ("GET", "/", ""),
        ("GET", "/stats", ""),
        ("GET", "/split", ""),
        ("POST", "/split", r#"{"next":100}"#),
    ] {
        refused(
            &format!("run page {method} {path}"),
            raw(run, evil, method, path, body).await,
        );
    }
    assert_eq!(get(run, "/split").await["weights"]["next"], 10);
    let _ = stop_swarm.send(());
    let _ = stop_run.send(());
    srv.stop().await;
}
