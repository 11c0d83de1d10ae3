//! `--watch-phase`: a changed phase file reaches the running server; a broken one does not.

use std::time::Duration;

use clap::Parser;
use mock_server::Config;
use mock_server::cli::Args;

use crate::support::TestServer;

async fn wait_for_chat_success(server: &TestServer, want: f64) -> bool {
    for _ in 0..60 {
        if server.phase().await["CurrentProbMetrics"]["ChatSuccess"] == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_changed_phase_file_is_applied_and_a_broken_one_ignored() {
    let dir = std::env::temp_dir().join(format!("mock-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("phase.json");
    std::fs::write(&file, r#"{"ChatSuccess": 0.5}"#).unwrap();
    let args = Args::parse_from([
        "mock-server",
        "--latency-mode",
        "record",
        "--watch-phase",
        "--phase",
        file.to_str().unwrap(),
    ]);
    let server = TestServer::with_config(Config::try_from(args).unwrap()).await;
    assert!(wait_for_chat_success(&server, 0.5).await);

    // Kubernetes replaces a mounted ConfigMap by renaming a new file into place.
    let next = dir.join("next.json");
    std::fs::write(&next, r#"{"ChatSuccess": 0.25}"#).unwrap();
    std::fs::rename(&next, &file).unwrap();
    assert!(
        wait_for_chat_success(&server, 0.25).await,
        "the new file was not applied"
    );

    std::fs::write(&file, r#"{"ChatSuccess": 7}"#).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        server.phase().await["CurrentProbMetrics"]["ChatSuccess"],
        0.25,
        "an invalid file was applied"
    );
    server.stop().await;
}

#[test]
fn watching_needs_a_phase_file() {
    assert!(Args::try_parse_from(["mock-server", "--watch-phase"]).is_err());
}

/// Issue 24, item 8: the first snapshot used to be taken when the spawned watcher first ran,
/// after the server listened, so a change landing in between was taken for the file already
/// applied and missed for good.
#[tokio::test]
async fn a_change_made_right_after_start_up_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("phase.json");
    std::fs::write(&file, r#"{"ChatSuccess": 0.5}"#).unwrap();
    let args = Args::parse_from([
        "mock-server",
        "--latency-mode",
        "record",
        "--watch-phase",
        "--phase",
        file.to_str().unwrap(),
    ]);
    let config = Config::try_from(args).unwrap();
    // Changed after start-up read it, before the server runs.
    std::fs::write(&file, r#"{"ChatSuccess": 0.25}"#).unwrap();
    let server = TestServer::with_config(config).await;
    assert!(
        wait_for_chat_success(&server, 0.25).await,
        "a change made just after start-up was missed"
    );
    server.stop().await;
}

/// Issue 24, item 8: a phase file replaced by a FIFO used to block the watcher in `open()` for
/// ever, so later good files were never applied.
#[tokio::test]
async fn a_phase_file_replaced_by_a_fifo_does_not_stall_the_watcher() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("phase.json");
    std::fs::write(&file, r#"{"ChatSuccess": 0.5}"#).unwrap();
    let args = Args::parse_from([
        "mock-server",
        "--latency-mode",
        "record",
        "--watch-phase",
        "--phase",
        file.to_str().unwrap(),
    ]);
    let server = TestServer::with_config(Config::try_from(args).unwrap()).await;
    assert!(wait_for_chat_success(&server, 0.5).await);

    let fifo = dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::fs::rename(&fifo, &file).unwrap();
    // Two polls on the FIFO: a blocked watcher would never get past the first.
    tokio::time::sleep(2 * mock_server::drive::watch::POLL + Duration::from_millis(200)).await;

    let next = dir.path().join("next.json");
    std::fs::write(&next, r#"{"ChatSuccess": 0.25}"#).unwrap();
    std::fs::rename(&next, &file).unwrap();
    assert!(
        wait_for_chat_success(&server, 0.25).await,
        "the watcher did not recover from the FIFO"
    );
    server.stop().await;
}

#[test]
fn a_fifo_given_as_the_phase_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("phase.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let args = Args::parse_from(["mock-server", "--phase", fifo.to_str().unwrap()]);
    let e = Config::try_from(args).unwrap_err().to_string();
    assert!(e.contains("FIFO") && e.contains("phase.json"), "{e}");
}
