//! Memory flat over a journey: 1,000 users with short waits for 40 s through the built binary;
//! its peak RSS (VmHWM, /proc/<pid>/status) at 40 s stays within 1.1x of that at 20 s, past the
//! warm-up of the allocator's arenas (measured on a loaded 2-core machine: 42.9 MB at 4 s,
//! 45.9 MB at 10 s, 50.4 MB at 12 s, 54.0 MB at 25 s; a quiet one: 52.2 MB at 20 s, 53.3 MB
//! at 60 s: shorter runs compare a heap still growing into its arenas),
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
            "40s",
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
    tokio::time::sleep(Duration::from_secs(20)).await;
    let at_20s = vm_hwm_kib(pid);
    let out = child.wait_with_output().await.unwrap();
    mock.stop().await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The binary reads its own VmHWM as the run ends, at 40 s.
    let at_40s = report["peak_rss_kib"]
        .as_u64()
        .expect("Linux reports VmHWM");
    let total = &report["total"];
    eprintln!(
        "1000 users, 40 s: {} requests ({:.0}/s), {} failures {}; peak RSS {at_20s} KiB at 20 s, {at_40s} KiB at 40 s",
        total["requests"], total["rps"], total["failures"], total["failures_by_kind"]
    );
    assert!(
        at_40s as f64 <= at_20s as f64 * 1.1,
        "peak RSS {at_40s} KiB at 40 s vs {at_20s} KiB at 20 s: more than 1.1x"
    );
    assert!(
        total["requests"].as_u64().unwrap() > 40_000,
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
