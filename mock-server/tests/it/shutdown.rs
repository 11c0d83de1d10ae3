//! The real binary under SIGTERM: in-flight requests finish, and injected waits cannot hold it.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use mock_server::testing::http::try_raw;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts the binary on a free port and returns it with the address it logged.
async fn spawn(
    extra: &[&str],
) -> (
    Child,
    SocketAddr,
    tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-server"))
        .args(["--addr", "127.0.0.1:0", "--log-format", "json"])
        .args(extra)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("mock-server exited before listening");
        let log: serde_json::Value = serde_json::from_str(&line).unwrap();
        if log["message"] == "mock-server listening" {
            let addr = log["addr"].as_str().unwrap().parse().unwrap();
            return (child, addr, lines);
        }
    }
}

/// A chat request on its own connection, read until the server closes it: what came back.
async fn chat_until_closed(addr: SocketAddr) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /chat HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    buf
}

/// Writes a phase document to a fresh file for `--phase`.
fn phase_file(tag: &str, json: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("phase.json");
    std::fs::write(&path, json).unwrap();
    path
}

fn sigterm(child: &Child) {
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A bare HTTP/1.1 GET on its own connection, so each request is in flight independently: the
/// status, or why there is none (refused, cut off, no status line).
async fn get(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    let answer = try_raw(addr, &request).await.map_err(|e| e.to_string())?;
    match answer.status {
        0 => Err(format!("no status line in {:?}", answer.head)),
        status => Ok(status),
    }
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_then_exits_zero() {
    let phase = phase_file(
        "mock-shutdown",
        r#"{"StartupSuccess": 1, "StartupLatencyMinMS": 700, "StartupLatencyMaxMS": 900}"#,
    );
    let (mut child, addr, _logs) =
        spawn(&["--phase", phase.to_str().unwrap(), "--shutdown-grace", "5s"]).await;
    let in_flight: Vec<_> = (0..5)
        .map(|_| tokio::spawn(get(addr, "/startup")))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    sigterm(&child);
    for r in in_flight {
        assert_eq!(
            r.await.unwrap(),
            Ok(200),
            "an in-flight request was cut off"
        );
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn an_injected_wait_longer_than_the_grace_period_does_not_hold_shutdown() {
    let phase = phase_file(
        "mock-grace",
        r#"{"ChatLatencyMinMS": 60000, "ChatLatencyMaxMS": 60000}"#,
    );
    let (mut child, addr, _logs) = spawn(&[
        "--phase",
        phase.to_str().unwrap(),
        "--shutdown-grace",
        "300ms",
    ])
    .await;
    let stuck = tokio::spawn(chat_until_closed(addr));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    sigterm(&child);
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("shutdown waited for the 60 s injected latency")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(signalled.elapsed() < Duration::from_secs(20));
    // The connection was closed without an answer rather than kept open.
    assert!(stuck.await.unwrap().is_empty());
}

#[tokio::test]
async fn readiness_fails_while_draining() {
    let (mut child, addr, _logs) = spawn(&["--shutdown-grace", "5s"]).await;
    assert_eq!(get(addr, "/readyz").await, Ok(200));
    // Hold a connection open with an in-flight request so the drain lasts a while.
    // Default chat latency is 1.6-7.7 s: long enough to observe the drain.
    let slow = tokio::spawn(chat_until_closed(addr));
    tokio::time::sleep(Duration::from_millis(100)).await;
    sigterm(&child);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The listener is closed: new connections are refused.
    assert!(get(addr, "/readyz").await.is_err());
    slow.await.unwrap();
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn a_bad_phase_file_is_a_usage_error() {
    let phase = phase_file("mock-badphase", r#"{"ChatSuccess": 2}"#);
    let out = Command::new(env!("CARGO_BIN_EXE_mock-server"))
        .args(["--addr", "127.0.0.1:0", "--phase", phase.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ChatSuccess") && err.contains("[0, 1]"),
        "{err}"
    );
}

#[tokio::test]
async fn probe_passes_against_a_live_server_and_fails_against_none() {
    let (mut child, addr, _logs) = spawn(&[]).await;
    let probe = |addr: SocketAddr| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mock-server"))
            .args(["--probe", "--addr", &addr.to_string()])
            .output()
            .unwrap()
    };
    let live = probe(addr);
    assert_eq!(
        live.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    sigterm(&child);
    child.wait().await.unwrap();
    let dead = probe(addr);
    assert_eq!(dead.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dead.stderr).contains("connecting to"));
}

/// Issue 13, item 10: a clap error is bad usage (64), not clap's own 2; help and version are 0.
#[tokio::test]
async fn bad_flags_exit_64_while_help_and_version_exit_0() {
    let run = |args: &'static [&'static str]| async move {
        Command::new(env!("CARGO_BIN_EXE_mock-server"))
            .args(args)
            .output()
            .await
            .unwrap()
    };
    for args in [
        &["--seed", "abc"][..],
        &["--no-such-flag"],
        &["--latency-mode", "later"],
    ] {
        let out = run(args).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {err}");
        assert!(err.contains("error:"), "{args:?}: {err}");
    }
    let help = run(&["--help"]).await;
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage"));
    let version = run(&["--version"]).await;
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("mock-server "));
}

/// Issue 13, item 9: a `--phase` or `--timeline` file over 1 MiB is refused (64) without being
/// read to its end, and `/dev/zero` (issue 24, item 8) is refused as a device before any read,
/// so neither can exhaust memory. The padded file is a valid phase.
#[tokio::test]
async fn a_phase_or_timeline_file_over_a_mib_is_refused_unread() {
    let padded = phase_file(
        "mock-bigphase",
        &format!(r#"{{"ChatSuccess": 0.5{}}}"#, " ".repeat(2 << 20)),
    );
    let padded = padded.to_str().unwrap().to_owned();
    for args in [
        ["--phase", padded.as_str()],
        ["--phase", "/dev/zero"],
        ["--timeline", "/dev/zero"],
    ] {
        let out = tokio::time::timeout(
            Duration::from_secs(20),
            Command::new(env!("CARGO_BIN_EXE_mock-server"))
                .args(["--addr", "127.0.0.1:0"])
                .args(args)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("{args:?}: still running after 20 s"))
        .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {err}");
        let why = if args[1] == "/dev/zero" {
            "it is a device, not a regular file"
        } else {
            "1 MiB"
        };
        assert!(
            err.contains(args[1]) && err.contains(why),
            "{args:?}: {err}"
        );
    }
}

/// Issue 13, item 6, for files: a key given twice in a `--phase` file is refused.
#[tokio::test]
async fn a_phase_file_with_a_key_twice_is_a_usage_error() {
    let phase = phase_file("mock-twice", r#"{"ChatSuccess": "x", "ChatSuccess": 0.33}"#);
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        Command::new(env!("CARGO_BIN_EXE_mock-server"))
            .args(["--addr", "127.0.0.1:0", "--phase", phase.to_str().unwrap()])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the phase was accepted: the server is still running after 20 s")
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(
        err.contains("ChatSuccess") && err.contains("twice"),
        "{err}"
    );
}

/// Issue 13, item 11: during the drain, a request on a keep-alive connection that was already
/// open is answered, and `/readyz` says 503 (with `connection: close`), as the README promises.
#[tokio::test]
async fn readiness_is_503_on_an_open_keep_alive_connection_during_the_drain() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let phase = phase_file(
        "mock-drain-ready",
        r#"{"ChatSuccess": 1, "ChatLatencyMinMS": 1500, "ChatLatencyMaxMS": 1500}"#,
    );
    let (mut child, addr, _logs) =
        spawn(&["--phase", phase.to_str().unwrap(), "--shutdown-grace", "5s"]).await;
    let mut kept = tokio::net::TcpStream::connect(addr).await.unwrap();
    let readyz = b"GET /readyz HTTP/1.1\r\nhost: x\r\n\r\n";
    let read_answer = async |s: &mut tokio::net::TcpStream| {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("no answer within 5 s")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    kept.write_all(readyz).await.unwrap();
    let first = read_answer(&mut kept).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // A slow chat keeps the drain going.
    let slow = tokio::spawn(chat_until_closed(addr));
    tokio::time::sleep(Duration::from_millis(200)).await;
    sigterm(&child);
    tokio::time::sleep(Duration::from_millis(100)).await;
    kept.write_all(readyz).await.unwrap();
    let during = read_answer(&mut kept).await;
    assert!(during.starts_with("HTTP/1.1 503"), "{during:?}");
    assert!(during.contains("connection: close"), "{during:?}");
    assert!(String::from_utf8_lossy(&slow.await.unwrap()).starts_with("HTTP/1.1 200"));
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Issue 24 item 3: `--probe` read the whole answer with a per-read timeout, so a server that
/// sends a byte every half second kept it going for ever, and an endless answer grew its memory.
/// Now its 2 s bound the whole probe, and it reads the status line only.
#[tokio::test]
async fn probe_ends_against_a_trickling_or_endless_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for trickle in [true, false] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let junk = vec![b'x'; 64 * 1024];
            loop {
                let sent = if trickle {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    s.write_all(b"x").await
                } else {
                    s.write_all(&junk).await
                };
                if sent.is_err() {
                    break;
                }
            }
        });
        let probe = Command::new(env!("CARGO_BIN_EXE_mock-server"))
            .args(["--probe", "--addr", &addr.to_string()])
            .kill_on_drop(true)
            .output();
        // The probe's own bound is 2 s; 30 s is far past it, for a loaded CI machine.
        let out = tokio::time::timeout(Duration::from_secs(30), probe)
            .await
            .unwrap_or_else(|_| panic!("the probe (trickle: {trickle}) did not end"))
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.len() < 2000, "the error quotes a bounded status: {err}");
        server.abort();
    }
}
