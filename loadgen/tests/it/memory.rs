//! Constant memory: peak RSS of the `loadgen` binary at a large `-n` stays within 1.2x of its
//! peak at a small `-n` against the same fast server. Each size runs in its own process, which
//! reports its own VmHWM in the JSON report (read from /proc/self/status as the run ends).
//!
//! The exact figures (5,000,000 vs 100,000) need ~3 minutes with a debug build of
//! loadgen (~30k req/s here) but ~1 minute with a release build (~90k req/s), so that test is
//! `#[ignore]`d and run with `cargo test --release -p loadgen -- --ignored`. The default suite
//! runs the same ratio (50x) at 500,000 vs 10,000.

use super::CPU;
use super::server::{Server, Spec};

/// Runs the binary for `n` requests; returns (requests completed, peak RSS KiB).
/// `LOADGEN_BIN` may point at another build of the binary (e.g. a release build).
async fn peak_rss(url: &str, n: u64) -> (u64, u64) {
    let bin = std::env::var("LOADGEN_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_loadgen").into());
    let out = tokio::process::Command::new(bin)
        .args([
            "-n",
            &n.to_string(),
            "-c",
            "8",
            "--output",
            "json",
            "--no-progress",
            url,
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let requests = report["total"]["requests"].as_u64().unwrap();
    (
        requests,
        report["peak_rss_kib"]
            .as_u64()
            .expect("Linux reports VmHWM"),
    )
}

async fn compare(small_n: u64, big_n: u64) {
    let _cpu = CPU.read().await;
    let s = Server::start(Spec {
        body: b"ok",
        fast: true,
        ..Spec::default()
    })
    .await;
    let url = s.url("/");
    let (small_done, small) = peak_rss(&url, small_n).await;
    let (big_done, big) = peak_rss(&url, big_n).await;
    assert_eq!(
        (small_done, big_done),
        (small_n, big_n),
        "every request completed"
    );
    assert_eq!(s.requests(), small_n + big_n);
    eprintln!("peak RSS: {small} KiB at -n {small_n}, {big} KiB at -n {big_n}");
    assert!(
        big as f64 <= small as f64 * 1.2,
        "peak RSS {big} KiB at -n {big_n} vs {small} KiB at -n {small_n}: more than 1.2x"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peak_rss_does_not_grow_with_n() {
    compare(10_000, 500_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "5M requests take ~3 min in a debug build; run: cargo test --release -p loadgen -- --ignored"]
async fn peak_rss_at_5m_within_1_2x_of_100k() {
    compare(100_000, 5_000_000).await;
}
