//! Issue 13's loadgen items, each reproduced: what a hostile or clumsy user met (a panic, runs
//! past their bound, wrong ports, wrong exit codes) and what happens now.

use std::process::Output;
use std::time::Duration;

use super::CPU;

/// The binary, bounded in time.
async fn loadgen(args: &[&str]) -> Output {
    let _cpu = CPU.read().await;
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .expect("loadgen ends within 60 s")
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Item 1: `--step-duration 0s` panicked (exit 101) at the first step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_zero_step_is_a_usage_error_not_a_panic() {
    for d in ["0s", "1ns"] {
        let out = loadgen(&[
            "canary",
            "--stable",
            "http://127.0.0.1:1/",
            "--canary",
            "http://127.0.0.1:2/",
            "--steps",
            "5,100",
            "--step-duration",
            d,
            "--gate",
            "error_rate<1%",
        ])
        .await;
        assert_eq!(out.status.code(), Some(64), "{d}: {}", stderr(&out));
        assert!(stderr(&out).contains("--step-duration"), "{}", stderr(&out));
    }
}

/// Item 4: a port that is not a port became port 80, in the URL, `--target` and `journey --host`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_ports_are_usage_errors() {
    for port in ["99999", "65536", "8x", "0"] {
        let url = format!("http://127.0.0.1:{port}/");
        let target = format!("a={url}");
        for args in [
            vec!["-n", "3", "-c", "1", &url],
            vec!["-n", "3", "-c", "1", "--target", &target],
            vec!["journey", "--host", &url, "--tasks", "1"],
        ] {
            let out = loadgen(&args).await;
            assert_eq!(out.status.code(), Some(64), "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).contains("port"), "{args:?}: {}", stderr(&out));
        }
    }
}

/// Ports that are ports still work, and an IPv6 host's colons are not a port.
#[test]
fn valid_ports_and_ipv6_hosts_still_parse() {
    for (url, port) in [
        ("http://127.0.0.1:65535/", 65535),
        ("http://127.0.0.1/", 80),
        ("https://127.0.0.1/", 443),
        ("http://[::1]:8080/", 8080),
        ("http://[::1]/", 80),
    ] {
        assert_eq!(
            super::plan(&["-n", "1", "-c", "1", url]).targets[0].port,
            port,
            "{url}"
        );
    }
    assert!(
        loadgen::plan::Plan::try_from(
            super::parse(&["-n", "1", "-c", "1", "http://[::1]:99999/"]).hey
        )
        .is_err()
    );
}
