//! The binary as users and CI meet it: the Serverless Journey's `hey -n 50000 URL` line with
//! `loadgen` in place of `hey`, hey's summary sections in hey's order, exit codes for SLO gates
//! (pass, breach, --expect-breach), bad usage, and Ctrl-C.

use std::process::Output;
use std::time::Duration;

use super::CPU;
use super::server::{Server, Spec};

async fn loadgen(args: &[&str]) -> Output {
    let _cpu = CPU.read().await;
    tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .await
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_line_works_as_written() {
    let s = Server::start(Spec {
        fast: true,
        ..Spec::default()
    })
    .await;
    let out = loadgen(&["-n", "50000", &s.url("/")]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
    assert!(text.contains("  [200]\t50000 responses"), "{text}");
    assert_eq!(s.requests(), 50_000);
    assert_eq!(s.connections(), 50, "hey's default -c 50");
    // hey's sections, in hey's order.
    let sections = [
        "\nSummary:\n  Total:\t",
        "\n  Slowest:\t",
        "\n  Fastest:\t",
        "\n  Average:\t",
        "\n  Requests/sec:\t",
        "\n  Total data:\t250000 bytes\n  Size/request:\t5 bytes\n",
        "\nResponse time histogram:\n",
        "\nLatency distribution:\n  10% in ",
        "\n  99% in ",
        "\n  99.9% in ",
        "\n  99.99% in ",
        "\n  100% in ",
        "\nDetails (average, fastest, slowest):\n  DNS+dialup:\t",
        "\n  DNS-lookup:\t",
        "\n  req write:\t",
        "\n  resp wait:\t",
        "\n  resp read:\t",
        "\nStatus code distribution:\n  [200]\t50000 responses\n",
    ];
    let mut at = 0;
    for s in sections {
        let found = text[at..]
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} missing after byte {at} in:\n{text}"));
        at += found + s.len();
    }
    assert_eq!(
        text.lines()
            .filter(|l| l.contains(" [") && l.contains("]\t|"))
            .count(),
        11,
        "11 histogram rows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slo_exit_codes() {
    // One response in four is a 500: error_rate is exactly 25%.
    let s = Server::start(Spec {
        status: |k| if k % 4 == 0 { 500 } else { 200 },
        ..Spec::default()
    })
    .await;
    let url = s.url("/");
    let base = ["-n", "200", "-c", "4"];
    let run = |gates: &'static [&'static str]| {
        let mut args: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        for g in gates {
            args.push("--slo".into());
            args.push(g.to_string());
        }
        args.push(url.clone());
        async move {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            loadgen(&a).await
        }
    };

    let pass = run(&["error_rate<30%", "p99<5s", "rps>1"]).await;
    assert_eq!(pass.status.code(), Some(0), "{}", stdout(&pass));
    assert!(
        stdout(&pass).contains("[held ] error_rate<30%\t(actual 25.000%)"),
        "{}",
        stdout(&pass)
    );

    let breach = run(&["p99<5s", "error_rate<1%"]).await;
    assert_eq!(breach.status.code(), Some(loadgen::exit::SLO));
    assert!(
        stdout(&breach).contains("[BROKE] error_rate<1%"),
        "the summary names the gate"
    );

    let mut expect = vec!["--expect-breach", "--slo", "error_rate<1%"];
    let mut a: Vec<&str> = base.to_vec();
    a.append(&mut expect);
    a.push(&url);
    assert_eq!(
        loadgen(&a).await.status.code(),
        Some(0),
        "the expected breach happened"
    );
    let a: Vec<&str> = [
        &base[..],
        &["--expect-breach", "--slo", "error_rate<30%", &url],
    ]
    .concat();
    assert_eq!(
        loadgen(&a).await.status.code(),
        Some(loadgen::exit::SLO),
        "no breach although one was expected"
    );

    let json = loadgen(
        &[
            &base[..],
            &["--output", "json", "--slo", "error_rate<1%", &url],
        ]
        .concat(),
    )
    .await;
    assert_eq!(json.status.code(), Some(loadgen::exit::SLO));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["slo"][0]["held"], false);
    assert_eq!(report["slo"][0]["actual"], 0.25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_target_gates_judge_their_target() {
    let good = Server::start(Spec::default()).await;
    let next = Server::start(Spec {
        status: |_| 503,
        ..Spec::default()
    })
    .await;
    let (g, n) = (
        format!("good={}", good.url("/")),
        format!("next={}", next.url("/")),
    );
    let split = [
        "--target", &g, "--target", &n, "--split", "good=50", "--split", "next=50", "-n", "100",
        "-c", "2",
    ];
    let held = loadgen(&[&split[..], &["--slo", "good:error_rate<1%"]].concat()).await;
    assert_eq!(held.status.code(), Some(0), "{}", stdout(&held));
    let broke = loadgen(&[&split[..], &["--slo", "next:error_rate<1%"]].concat()).await;
    assert_eq!(broke.status.code(), Some(loadgen::exit::SLO));
    assert!(
        stdout(&broke).contains("[BROKE] next:error_rate<1%\t(actual 100.000%)"),
        "{}",
        stdout(&broke)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_usage_exits_64_with_a_message() {
    for (args, says) in [
        (
            &["-n", "1", "-c", "2", "http://127.0.0.1:1/"][..],
            "-n cannot be less than -c",
        ),
        (&["ftp://example.com/"], "the scheme must be http or https"),
        (&["--no-such-flag", "http://127.0.0.1:1/"], "--no-such-flag"),
        (&["--slo", "p99<later", "http://127.0.0.1:1/"], "p99<later"),
    ] {
        let out = loadgen(args).await;
        assert_eq!(out.status.code(), Some(loadgen::exit::USAGE), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let help = loadgen(&["-h"]).await;
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("-h2"));
}

/// Sends SIGINT to a running loadgen and returns its output.
async fn interrupt_after(args: &[&str], after: Duration) -> Output {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(after).await;
    super::interrupt(child).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_prints_the_partial_report_and_exits_130() {
    let _cpu = CPU.read().await;
    let s = Server::start(Spec {
        delay: Duration::from_millis(5),
        ..Spec::default()
    })
    .await;
    let out = interrupt_after(
        &["-z", "60s", "-c", "4", &s.url("/")],
        Duration::from_millis(700),
    )
    .await;
    assert_eq!(out.status.code(), Some(loadgen::exit::INTERRUPTED));
    let text = stdout(&out);
    assert!(
        text.contains("Interrupted: partial report (0 requests abandoned in flight)"),
        "{text}"
    );
    assert!(text.contains("\nSummary:"), "{text}");
    let sent = s.requests();
    assert!(
        text.contains(&format!("  [200]\t{sent} responses")),
        "every request sent was reported:\n{text}"
    );

    // Requests stuck in a frozen server are abandoned after the grace period, not waited for.
    let frozen = Server::start(Spec {
        delay: Duration::from_secs(120),
        ..Spec::default()
    })
    .await;
    let out = interrupt_after(
        &["-z", "60s", "-c", "3", &frozen.url("/")],
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(out.status.code(), Some(loadgen::exit::INTERRUPTED));
    assert!(
        stdout(&out).contains("(3 requests abandoned in flight)"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_bar_only_on_a_terminal() {
    // `script` (util-linux) runs the binary on a pseudo-terminal, as a user's shell would.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: no `script` command to provide a terminal");
        return;
    }
    let _cpu = CPU.read().await;
    let s = Server::start(Spec {
        delay: Duration::from_millis(2),
        ..Spec::default()
    })
    .await;
    let on_tty = |extra: &str| {
        let cmd = format!(
            "{} -z 1s -c 2 {extra} {}",
            env!("CARGO_BIN_EXE_loadgen"),
            s.url("/")
        );
        async move {
            tokio::process::Command::new("script")
                .args(["-qec", &cmd, "/dev/null"])
                .output()
                .await
                .unwrap()
        }
    };
    let with_bar = on_tty("").await;
    assert_eq!(with_bar.status.code(), Some(0));
    let text = stdout(&with_bar);
    assert!(
        text.contains(" req/s, 0 errors"),
        "a progress bar on the terminal:\n{text}"
    );
    let without = on_tty("--no-progress").await;
    assert!(
        !stdout(&without).contains(" req/s, "),
        "{}",
        stdout(&without)
    );
    assert!(stdout(&without).contains("Summary:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_combines_shard_reports() {
    let s = Server::start(Spec {
        status: |k| if k % 5 == 0 { 500 } else { 200 },
        ..Spec::default()
    })
    .await;
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let mut files = Vec::new();
    for (i, n) in ["120", "80"].iter().enumerate() {
        let out = loadgen(&["-n", n, "-c", "4", "--output", "json", &s.url("/")]).await;
        assert_eq!(out.status.code(), Some(0));
        let path = dir.join(format!("loadgen-shard-{pid}-{i}.json"));
        std::fs::write(&path, &out.stdout).unwrap();
        files.push(path.to_str().unwrap().to_string());
    }
    let merged = loadgen(&["merge", &files[0], &files[1], "--output", "json"]).await;
    assert_eq!(
        merged.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&merged.stdout).unwrap();
    assert_eq!(report["total"]["requests"], 200);
    assert_eq!(report["total"]["status_codes"]["500"], 40);
    assert_eq!(report["total"]["latency"]["count"], 200);
    assert_eq!(report["total"]["error_rate"], 0.2);

    let text = loadgen(&["merge", &files[0], &files[1]]).await;
    assert!(
        stdout(&text).contains("  [200]\t160 responses"),
        "{}",
        stdout(&text)
    );
    let missing = loadgen(&["merge", "/nonexistent/shard.json"]).await;
    // A bad input file is bad usage (issue 13), not a failed run.
    assert_eq!(missing.status.code(), Some(loadgen::exit::USAGE));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/shard.json"));
    for f in files {
        std::fs::remove_file(f).unwrap();
    }
}

/// Issue 22 item 3: with `--web` the page has the table, so the terminal gets a one-line status
/// every 5 s instead of the table, unless `--stats-interval` asks for the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_web_prints_a_status_line_unless_asked_for_the_table() {
    let _cpu = CPU.read().await;
    let mock = super::mock::Mock::start(None).await;
    let url = mock.url();
    let args = |extra: &'static [&'static str]| {
        let mut a = vec![
            "journey",
            "--web",
            "127.0.0.1:0",
            "--autostart",
            "--host",
            &url,
            "--users",
            "2",
            "--spawn-rate",
            "100",
            "--wait",
            "10ms..20ms",
        ];
        a.extend(extra);
        a
    };
    // 5 s to the first status line; 9 s leaves 4 s for the start-up of a debug build on a
    // busy machine.
    let out = interrupt_after(&args(&[]), Duration::from_secs(9)).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .any(|l| l.starts_with("loadgen journey: 2 users, ") && l.ends_with(" s in")),
        "{err}"
    );
    assert!(!err.contains("# reqs"), "the table was printed: {err}");

    let out = interrupt_after(&args(&["--stats-interval", "1s"]), Duration::from_secs(3)).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("# reqs"), "no table: {err}");
    assert!(
        !err.contains(" s in\n"),
        "a status line beside the table: {err}"
    );
    mock.stop().await;
}
