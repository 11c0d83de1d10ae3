//! The real binary given shipped names where a file also works (`--phase challenge6`,
//! `--timeline chat-latency-breach`), and `--log-format text` into a pipe (issue 15, item 5).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use mock_server::testing::http::raw;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts the binary on a free port in `cwd`, and returns it with its address and every stderr
/// byte up to and including the "listening" line.
async fn spawn(cwd: &Path, format: &str, extra: &[&str]) -> (Child, SocketAddr, Vec<u8>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-server"))
        .current_dir(cwd)
        .args(["--addr", "127.0.0.1:0", "--log-format", format])
        .args(extra)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(10), stderr.read_until(b'\n', &mut line))
            .await
            .expect("mock-server logged nothing for 10 s")
            .unwrap();
        assert!(
            n > 0,
            "mock-server exited before listening: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line);
        if text.contains("mock-server listening") {
            // JSON logs carry `"addr":"..."`; text logs `addr=...` (without colour codes).
            let addr = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(log) => log["addr"].as_str().map(str::to_owned),
                Err(_) => text
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("addr="))
                    .map(str::to_owned),
            }
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {text}"));
            return (child, addr, seen);
        }
    }
}

/// `GET /phase`'s fields in force.
async fn phase(addr: SocketAddr) -> serde_json::Value {
    let answer = raw(
        addr,
        "GET /phase HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.head.starts_with("HTTP/1.1 200"), "{answer:?}");
    answer.json()["CurrentProbMetrics"].clone()
}

/// True when every field of the shipped preset `name` is in force.
fn matches_preset(phase: &serde_json::Value, name: &str) -> bool {
    let preset: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(scenarios::preset(name).unwrap()).unwrap();
    preset.iter().all(|(k, v)| phase[k].as_f64() == v.as_f64())
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mock-names-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn phase_takes_a_shipped_preset_name() {
    let dir = temp_dir("preset");
    let (_child, addr, _) = spawn(&dir, "json", &["--phase", "challenge6"]).await;
    let p = phase(addr).await;
    assert!(matches_preset(&p, "challenge6"), "{p}");
    // Not the default it would have fallen back to: challenge 1's chat success is 0.7.
    assert!(!matches_preset(&p, "challenge1"), "{p}");
}

#[tokio::test]
async fn a_phase_file_that_exists_wins_over_the_preset_of_the_same_name() {
    let dir = temp_dir("file-wins");
    std::fs::write(dir.join("challenge6"), r#"{"ChatSuccess": 0.42}"#).unwrap();
    let (_child, addr, _) = spawn(&dir, "json", &["--phase", "challenge6"]).await;
    assert_eq!(phase(addr).await["ChatSuccess"].as_f64(), Some(0.42));
}

#[tokio::test]
async fn timeline_takes_a_shipped_timeline_name() {
    let dir = temp_dir("timeline");
    // chat-latency-breach's first step applies challenge5 and holds it for 2 minutes.
    let (_child, addr, _) = spawn(&dir, "json", &["--timeline", "chat-latency-breach"]).await;
    let p = phase(addr).await;
    assert!(matches_preset(&p, "challenge5"), "{p}");
}

#[tokio::test]
async fn unknown_names_are_usage_errors_that_list_the_shipped_names() {
    let dir = temp_dir("unknown");
    for (flag, given, shipped) in [
        ("--phase", "challenge9", ["challenge6", "bad-change"]),
        (
            "--timeline",
            "chat-breach",
            ["chat-latency-breach", "workshop-day"],
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mock-server"))
            .current_dir(&dir)
            .args(["--addr", "127.0.0.1:0", flag, given])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "{flag} {given}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(given), "{err}");
        for name in shipped {
            assert!(err.contains(name), "{err}");
        }
    }
}

#[tokio::test]
async fn watch_phase_refuses_a_shipped_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_mock-server"))
        .current_dir(temp_dir("watch"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--phase",
            "challenge6",
            "--watch-phase",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--watch-phase") && err.contains("challenge6"),
        "{err}"
    );
}

#[tokio::test]
async fn text_logs_into_a_pipe_carry_no_colour_codes() {
    let (_child, _, seen) = spawn(&temp_dir("ansi"), "text", &[]).await;
    assert!(String::from_utf8_lossy(&seen).contains("mock-server listening"));
    assert!(
        !seen.contains(&0x1b),
        "ESC in piped text logs: {:?}",
        String::from_utf8_lossy(&seen)
    );
}
