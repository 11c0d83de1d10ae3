//! Memory flat over a journey: 1,000 users with short waits for 12 s through the built binary;
//! its peak RSS (VmHWM, /proc/<pid>/status) at 12 s stays within 1.1x of that at 4 s (by then
//! every user has run a handful of tasks: connections, histograms and buffers are all in use),
//! and nothing fails but what the phase injects (HTTP 500s). The same for half an hour or more is
//! `SOAK_MODE=journey bench/soak`: a minute of the suite's budget does not make a soak.

use std::time::Duration;

use super::CPU;
use super::mock::Mock;

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_users_keep_peak_rss_flat() {
    // Alone on the machine: 1,000 users and the server share its 2 cores.
    let _cpu = CPU.write().await;
    let mock = Mock::start(None).await;
    let url = mock.url();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "journey",
            "--host",
            &url,
            "--users",
            "1000",
            "--spawn-rate",
            "1000",
            "--wait",
            "250ms..500ms",
            "--run-time",
            "12s",
            "--stats-interval",
            "0s",
            "--output",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let at_4s = vm_hwm_kib(pid);
    let out = child.wait_with_output().await.unwrap();
    mock.stop().await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The binary reads its own VmHWM as the run ends, at 12 s.
    let at_12s = report["peak_rss_kib"]
        .as_u64()
        .expect("Linux reports VmHWM");
    let total = &report["total"];
    eprintln!(
        "1000 users, 12 s: {} requests ({:.0}/s), {} failures {}; peak RSS {at_4s} KiB at 4 s, {at_12s} KiB at 12 s",
        total["requests"], total["rps"], total["failures"], total["failures_by_kind"]
    );
    assert!(
        at_12s as f64 <= at_4s as f64 * 1.1,
        "peak RSS {at_12s} KiB at 12 s vs {at_4s} KiB at 4 s: more than 1.1x"
    );
    assert!(
        total["requests"].as_u64().unwrap() > 12_000,
        "1,000 users at ~0.4 s per task send ~2,500/s"
    );
    for (kind, n) in total["failures_by_kind"].as_object().unwrap() {
        assert_eq!(
            kind, "http_500",
            "{n} failures of a kind the phase did not inject"
        );
    }
    assert_eq!(report["abandoned"], 0);
}
