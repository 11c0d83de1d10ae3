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
