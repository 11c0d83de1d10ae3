//! A run test for each hey flag: the flag's effect is checked where it shows, on the server's
//! side of the socket (what arrived, how many connections) or in the report.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Version;

use super::server::{Server, Spec};
use super::{plan, run, status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_and_c_send_exactly_n_over_c_connections() {
    // Workers share one ticket counter; a 5 ms answer keeps any worker from finishing the run
    // alone before the others are first polled, so all 7 connect.
    let s = Server::start(Spec {
        delay: Duration::from_millis(5),
        ..Spec::default()
    })
    .await;
    let r = run(&["-n", "137", "-c", "7", &s.url("/")]).await;
    assert_eq!((r.total.requests, status(&r.total, "200")), (137, 137));
    assert_eq!(s.requests(), 137);
    assert_eq!(s.connections(), 7, "one connection per worker, kept alive");
    assert_eq!(r.total.bytes, 137 * 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn q_limits_each_worker() {
    let s = Server::start(Spec::default()).await;
    // 2 workers at 20 req/s each for 0.5 s: due times 0, 50, ..., 450 ms -> at most 10 each.
    let r = run(&["-q", "20", "-c", "2", "-z", "500ms", &s.url("/")]).await;
    assert!(
        r.total.requests > 0 && r.total.requests <= 20,
        "{} requests",
        r.total.requests
    );
    assert_eq!(r.pacing.mode, engine::report::PacingMode::PerWorker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn z_runs_for_a_duration_and_ignores_n() {
    let s = Server::start(Spec {
        delay: Duration::from_millis(5),
        ..Spec::default()
    })
    .await;
    let r = run(&["-z", "300ms", "-n", "1", "-c", "2", &s.url("/")]).await;
    assert!(r.total.requests > 1, "-n 1 is ignored under -z");
    assert!(r.duration_secs >= 0.3, "ran {} s", r.duration_secs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn o_csv_streams_one_row_per_response() {
    #[derive(Clone)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let s = Server::start(Spec {
        status: |k| if k % 2 == 0 { 200 } else { 404 },
        ..Spec::default()
    })
    .await;
    let buf = Shared(Arc::new(Mutex::new(Vec::new())));
    let live = engine::Live {
        csv: Some(Box::new(buf.clone())),
        progress: false,
        ..Default::default()
    };
    let p = plan(&["-o", "csv", "-n", "40", "-c", "4", &s.url("/")]);
    engine::run(p, live, std::future::pending()).await.unwrap();
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 40);
    assert!(
        rows.iter()
            .all(|r| r.len() == 8 && r[0].parse::<f64>().is_ok())
    );
    let not_found = rows.iter().filter(|r| r[6] == "404").count();
    assert_eq!(not_found, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_shape_flags_reach_the_server() {
    let s = Server::start(Spec::default()).await;
    let body_file = std::env::temp_dir().join(format!("loadgen-run-body-{}", std::process::id()));
    std::fs::write(&body_file, b"file body").unwrap();
    let url = s.url("/shape?x=1");
    let r = run(&[
        "-m",
        "put",
        "-H",
        "X-Trace: abc",
        "-A",
        "application/json",
        "-T",
        "text/plain",
        "-a",
        "u:p",
        "-host",
        "svc.example",
        "-D",
        body_file.to_str().unwrap(),
        "-n",
        "1",
        "-c",
        "1",
        &url,
    ])
    .await;
    std::fs::remove_file(&body_file).unwrap();
    assert_eq!(status(&r.total, "200"), 1);
    let seen = s.first_seen();
    assert_eq!(seen.method, http::Method::PUT);
    assert_eq!(seen.uri, "/shape?x=1");
    assert_eq!(seen.headers["x-trace"], "abc");
    assert_eq!(seen.headers["accept"], "application/json");
    assert_eq!(seen.headers["content-type"], "text/plain");
    assert_eq!(seen.headers["authorization"], "Basic dTpw");
    assert_eq!(seen.headers["host"], "svc.example");
    assert_eq!(seen.headers["accept-encoding"], "gzip");
    assert_eq!(&seen.body[..], b"file body");

    let s = Server::start(Spec::default()).await;
    run(&[
        "-m",
        "POST",
        "-d",
        "inline",
        "-disable-compression",
        "-n",
        "1",
        "-c",
        "1",
        &s.url("/"),
    ])
    .await;
    let seen = s.first_seen();
    assert_eq!(
        (seen.method, &seen.body[..]),
        (http::Method::POST, &b"inline"[..])
    );
    assert!(!seen.headers.contains_key("accept-encoding"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t_times_out_slow_requests() {
    let s = Server::start(Spec {
        delay: Duration::from_millis(1500),
        ..Spec::default()
    })
    .await;
    let r = run(&["-t", "0.2", "-n", "2", "-c", "2", &s.url("/")]).await;
    assert_eq!(
        (r.total.responses, r.total.errors.get("timeout").copied()),
        (0, Some(2))
    );
    let text = super::text(&r);
    assert!(
        text.contains("Error distribution:\n  [2]\ttimeout"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_sends_absolute_form_to_the_proxy() {
    let proxy = Server::start(Spec::default()).await;
    let proxy_addr = proxy.addr.to_string();
    // The target host never resolves: only the proxy is dialled.
    let r = run(&[
        "-x",
        &proxy_addr,
        "-n",
        "3",
        "-c",
        "1",
        "http://upstream.invalid:8080/p?q=1",
    ])
    .await;
    assert_eq!(status(&r.total, "200"), 3);
    let seen = proxy.first_seen();
    assert_eq!(seen.uri, "http://upstream.invalid:8080/p?q=1");
    assert_eq!(seen.headers["host"], "upstream.invalid:8080");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_speaks_http2() {
    let s = Server::start(Spec {
        delay: Duration::from_millis(10),
        ..Spec::default()
    })
    .await;
    let r = run(&[
        "-h2",
        "-n",
        "20",
        "-c",
        "2",
        "-host",
        "h2.example",
        &s.url("/two"),
    ])
    .await;
    assert_eq!(status(&r.total, "200"), 20);
    let seen = s.first_seen();
    assert_eq!(seen.version, Version::HTTP_2);
    assert_eq!(seen.uri, "http://h2.example/two");
    assert_eq!(s.connections(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_keepalive_opens_a_connection_per_request() {
    let s = Server::start(Spec::default()).await;
    let r = run(&["-disable-keepalive", "-n", "30", "-c", "3", &s.url("/")]).await;
    assert_eq!(status(&r.total, "200"), 30);
    assert_eq!(s.connections(), 30);
    assert!(
        r.total.stages.dns_dialup.min_us > 0,
        "every request dialled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_unless_disabled() {
    let s = Server::start(Spec::default()).await;
    let r = run(&["-n", "4", "-c", "2", &s.url("/redirect")]).await;
    assert_eq!(status(&r.total, "200"), 4, "followed to /landed");
    assert_eq!(s.requests(), 8);
    let r = run(&[
        "-disable-redirects",
        "-n",
        "4",
        "-c",
        "2",
        &s.url("/redirect"),
    ])
    .await;
    assert_eq!(status(&r.total, "302"), 4);
    // To another origin: followed on a connection of its own, as Go's client does.
    let other = Server::start(Spec::default()).await;
    let away = s.url(&format!("/redirect-to?{}", other.url("/landed")));
    let r = run(&["-n", "6", "-c", "2", &away]).await;
    assert_eq!(status(&r.total, "200"), 6);
    assert_eq!(other.requests(), 6);
    assert_eq!(other.first_seen().headers["host"], other.addr.to_string());
    assert_eq!(other.first_seen().uri, "/landed");
    let r = run(&["-n", "2", "-c", "1", &s.url("/redirect-loop")]).await;
    assert_eq!(
        r.total.errors.get("redirect").copied(),
        Some(2),
        "stops after 10 hops, as Go does"
    );
}

/// Issue 24, item 5: a redirect to another origin carried every `-H` header and `-a`'s
/// credentials there (Authorization, Cookie, X-Api-Key); hey drops them. The body's type goes
/// on, and `--redirect-keep-headers` keeps everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_stay_behind_on_a_redirect_to_another_origin() {
    let secret = ["authorization", "cookie", "x-api-key"];
    for keep in [false, true] {
        let (s, other) = (
            Server::start(Spec::default()).await,
            Server::start(Spec::default()).await,
        );
        let away = s.url(&format!("/redirect-to?{}", other.url("/landed")));
        let mut args = vec![
            "-n",
            "1",
            "-c",
            "1",
            "-a",
            "user:pw",
            "-H",
            "Cookie: c=1",
            "-H",
            "X-Api-Key: k",
            "-H",
            "Content-Type: application/json",
        ];
        if keep {
            args.push("--redirect-keep-headers");
        }
        args.push(&away);
        let r = run(&args).await;
        assert_eq!(status(&r.total, "200"), 1, "{keep}");
        let (first, landed) = (s.first_seen().headers, other.first_seen().headers);
        for name in secret {
            assert!(first.contains_key(name), "{name} sent to the URL given");
            assert_eq!(
                landed.contains_key(name),
                keep,
                "{name} on the other origin"
            );
        }
        assert_eq!(landed["content-type"], "application/json");
        assert!(landed.contains_key("user-agent"));
    }
    // The same origin is the same party: a redirect there keeps them.
    let s = Server::start(Spec::default()).await;
    let back = s.url(&format!("/redirect-to?{}", s.url("/landed")));
    let r = run(&["-n", "1", "-c", "1", "-H", "X-Api-Key: k", &back]).await;
    assert_eq!(status(&r.total, "200"), 1);
    let seen: Vec<_> = s
        .state
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|h| h.headers.clone())
        .collect();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|h| h["x-api-key"] == "k"), "{seen:?}");
}

#[test]
fn cpus_sets_the_runtime_threads() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(Server::start(Spec::default()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["-cpus", "1", "-n", "10", "-c", "2", &s.url("/")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("[200]\t10 responses"));
    // The thread count itself is the HeyRun's (checked in cli.rs); the runner builds the runtime from it.
    assert_eq!(super::hey_run(&["-cpus", "1", &s.url("/")]).cpus, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_and_without_verification() {
    let s = Server::start_tls(Spec {
        delay: Duration::from_millis(10),
        ..Spec::default()
    })
    .await;
    let url = s.url("/secure");
    // hey never verifies certificates; loadgen does unless --insecure.
    let r = run(&["--insecure", "-n", "20", "-c", "2", &url]).await;
    assert_eq!(status(&r.total, "200"), 20);
    assert_eq!(s.first_seen().version, Version::HTTP_11);
    assert_eq!(s.connections(), 2);

    let r = run(&["--insecure", "-h2", "-n", "10", "-c", "1", &url]).await;
    assert_eq!(status(&r.total, "200"), 10);
    let last = s.state.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.version, Version::HTTP_2, "ALPN chose h2");

    let r = run(&["-n", "4", "-c", "2", &url]).await;
    assert_eq!(
        r.total.errors.get("tls").copied(),
        Some(4),
        "a self-signed certificate is refused"
    );
    assert_eq!(r.total.responses, 0);
}

/// A CONNECT-only proxy on loopback: records each tunnel's target, then relays bytes.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let authority = head
                    .strip_prefix("CONNECT ")
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string();
                log.lock().unwrap().push(authority.clone());
                let port = authority.rsplit(':').next().unwrap();
                let mut upstream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
                    .await
                    .unwrap();
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_tunnels_https_through_connect() {
    let s = Server::start_tls(Spec {
        delay: Duration::from_millis(20),
        ..Spec::default()
    })
    .await;
    let (proxy, tunnels) = connect_proxy().await;
    let url = s.url("/tunnelled?x=1");
    let r = run(&["--insecure", "-x", &proxy, "-n", "6", "-c", "2", &url]).await;
    assert_eq!(status(&r.total, "200"), 6);
    let want = format!("localhost:{}", s.addr.port());
    assert_eq!(
        *tunnels.lock().unwrap(),
        [want.clone(), want],
        "one tunnel per worker"
    );
    let seen = s.first_seen();
    assert_eq!(seen.uri, "/tunnelled?x=1", "origin form inside the tunnel");
    assert_eq!(seen.headers["host"], format!("localhost:{}", s.addr.port()));
}
