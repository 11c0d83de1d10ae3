//! `loadgen rehearse` and `alerts wait` where no Prometheus is needed: the exit codes a CI gate
//! relies on when Prometheus is missing (69, with the install hint) or the file is wrong (64).
//! The runs against a real Prometheus live in the e2e suite (`tests/tests/rehearse.rs`).

use std::process::Output;

use super::CPU;

async fn loadgen(args: &[&str], path: &str) -> Output {
    let _cpu = CPU.read().await;
    tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .env("PATH", path)
        .output()
        .await
        .unwrap()
}

/// `PATH`, when it holds a prometheus binary; `None` (saying SKIPPED) otherwise, which fails
/// under `REQUIRE_PROMETHEUS=1`.
fn prometheus_path() -> Option<String> {
    let path = std::env::var("PATH").ok()?;
    if std::env::split_paths(&path).any(|d| d.join("prometheus").is_file()) {
        return Some(path);
    }
    assert!(
        std::env::var_os("REQUIRE_PROMETHEUS").is_none_or(|v| v != "1"),
        "prometheus is not on PATH and REQUIRE_PROMETHEUS=1"
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: prometheus is not on PATH");
    None
}

fn shipped(name: &str) -> String {
    format!(
        "{}/../scenarios/rehearsals/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[tokio::test]
async fn no_prometheus_on_path_exits_69_with_the_hint() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().to_str().unwrap();
    let out = loadgen(
        &[
            "rehearse",
            &shipped("challenge6.toml"),
            "--time-scale",
            "60",
        ],
        empty,
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{err}");
    assert!(err.contains("prometheus binary is not on PATH"), "{err}");
    assert!(err.contains("apt-get install prometheus"), "{err}");
}

#[tokio::test]
async fn alerts_wait_on_a_dead_prometheus_exits_69_and_a_bad_url_64() {
    // A port just freed: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let args = [
        "alerts", "wait", "--alert", "X", "--state", "firing", "--within", "1s",
    ];
    let out = loadgen(&[&args[..], &["--prometheus", &url]].concat(), "").await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{err}");
    assert!(
        err.contains("cannot reach Prometheus") && err.contains("hint:"),
        "{err}"
    );

    let out = loadgen(&[&args[..], &["--prometheus", "ftp://x"]].concat(), "").await;
    assert_eq!(
        out.status.code(),
        Some(64),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn bad_rehearsal_files_exit_64_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[step]]\nname = \"a\"\nduration = \"1m\"\n",
            "could not fail",
        ),
        (
            "[[step]]\nname = \"a\"\nduration = \"1m\"\n[[step.expect]]\nalert = \"A\"\nstate = \"up\"\n",
            "use firing, inactive or resolved",
        ),
        (
            "[revision.next]\nprofile = \"broken\"\n[[step]]\nname = \"a\"\nduration = \"1m\"\n[[step.expect]]\nalert = \"A\"\nstate = \"inactive\"\n",
            "revision \"next\": profile \"broken\" is not one of movie-guru, jokes, failing",
        ),
        (
            "[[step]]\nname = \"a\"\nduration = \"soon\"\n[[step.expect]]\nalert = \"A\"\nstate = \"inactive\"\n",
            "\"soon\"",
        ),
    ];
    for (i, (text, wanted)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("r{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = loadgen(&["rehearse", path.to_str().unwrap()], "").await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{text}: {err}");
        assert!(err.contains(wanted), "{wanted:?} not in {err}");
    }
    let out = loadgen(
        &["rehearse", &shipped("challenge6.toml"), "--time-scale", "0"],
        "",
    )
    .await;
    assert_eq!(out.status.code(), Some(64));
    // The rehearsal starts its revisions itself: a running mock cannot stand in for them.
    let out = loadgen(
        &[
            "rehearse",
            &shipped("canary-rollback.toml"),
            "--host",
            "http://127.0.0.1:1",
        ],
        "",
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("names revisions"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_rehearsal_with_130_and_its_prometheus_with_it() {
    if prometheus_path().is_none() {
        return;
    }
    let _cpu = CPU.read().await;
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "rehearse",
            &shipped("challenge6.toml"),
            "--time-scale",
            "60",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().unwrap().to_string();
    // Prometheus is up within seconds; poll for it rather than guess.
    let mut prometheus = None;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let out = tokio::process::Command::new("pgrep")
            .args(["-P", &pid, "prometheus"])
            .output()
            .await
            .unwrap();
        if let Some(p) = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
        {
            prometheus = Some(p.to_owned());
            break;
        }
    }
    let prometheus = prometheus.expect("rehearse started a prometheus child");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let kill = tokio::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .unwrap();
    assert!(kill.success());
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("exited after SIGINT")
        .unwrap();
    // Interrupted before or during the timeline: the message or the partial table says so.
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{text}");
    assert!(text.contains("interrupted"), "{text}");
    assert!(
        !std::path::Path::new(&format!("/proc/{prometheus}")).exists(),
        "prometheus {prometheus} outlived the rehearsal"
    );
}

/// Issue 16, item 5: `notified` needs an Alertmanager (64, before anything starts), and
/// `--alertmanager` without the binary is 69 with the apt hint, before any load.
#[tokio::test]
async fn notified_needs_an_alertmanager_and_a_missing_binary_is_69() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.toml");
    std::fs::write(
        &file,
        "[[step]]\nname = \"a\"\nduration = \"1m\"\n[[step.expect]]\nalert = \"ChatLatencyFastBurn5m\"\nnotified = \"oncall\"\nwithin = \"1m\"\n",
    )
    .unwrap();
    let out = loadgen(&["rehearse", file.to_str().unwrap()], "").await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(
        err.contains("needs an Alertmanager: add --alertmanager"),
        "{err}"
    );

    // A PATH with prometheus but no alertmanager.
    let Some(prometheus) = slo::LocalPrometheus::binary() else {
        return;
    };
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(prometheus, bin.join("prometheus")).unwrap();
    let out = loadgen(
        &["rehearse", file.to_str().unwrap(), "--alertmanager"],
        bin.to_str().unwrap(),
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{err}");
    assert!(
        err.contains("apt-get install prometheus-alertmanager"),
        "{err}"
    );
}

/// Issue 16, item 5, with the user's own alertmanager.yml: `notified` then reads the routing
/// from a real Alertmanager's /api/v2/alerts. Two alerts go in; only the page reaches `pager`.
/// Skips without the binary unless REQUIRE_ALERTMANAGER=1.
#[tokio::test]
async fn with_the_users_alertmanager_config_notified_reads_the_routing() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if slo::LocalAlertmanager::binary().is_none() {
        assert!(
            std::env::var_os("REQUIRE_ALERTMANAGER").is_none_or(|v| v != "1"),
            "prometheus-alertmanager is not on PATH and REQUIRE_ALERTMANAGER=1"
        );
        eprintln!("skipped: prometheus-alertmanager is not on PATH");
        return;
    }
    let config = "route:\n  receiver: nobody\n  group_wait: 100ms\n  routes:\n    - receiver: pager\n      matchers: ['severity=\"page\"']\nreceivers:\n  - name: nobody\n  - name: pager\n";
    let am = slo::LocalAlertmanager::start(config).await.unwrap();
    let body = r#"[{"labels":{"alertname":"ChatLatencyFastBurn5m","severity":"page"}},{"labels":{"alertname":"ChatLatencyTicket3d","severity":"ticket"}}]"#;
    let mut stream = tokio::net::TcpStream::connect(am.address()).await.unwrap();
    let request = format!(
        "POST /api/v2/alerts HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        am.address(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let notes = loadgen::rehearse::notify::Notes::default();
    let poll = tokio::spawn(loadgen::rehearse::notify::poll_routes(
        am.address().to_owned(),
        notes.clone(),
        Duration::from_millis(100),
    ));
    let routed = |receiver: &str, alert: &str| {
        notes
            .lock()
            .unwrap()
            .iter()
            .any(|(_, r, a)| r == receiver && a == alert)
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(routed("pager", "ChatLatencyFastBurn5m") && routed("nobody", "ChatLatencyTicket3d")) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not routed within 10 s: {:?}\n{}",
            notes.lock().unwrap(),
            am.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!routed("pager", "ChatLatencyTicket3d"));
    poll.abort();
    am.stop().await;
}

/// Issue 21, items 6 and 7: with `--fail-fast` the rehearsal ends at its first failed
/// expectation, without playing the steps after it (exit 1, the JUnit file written), and
/// `resolved` fails for an alert that never fired. The long second step is never played: its
/// verdict says so, which it could not if the run had gone on to its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_ends_at_a_resolved_that_never_fired() {
    let Some(path) = prometheus_path() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fail-fast.toml");
    std::fs::write(
        &file,
        r#"description = "a resolved that cannot hold, then an hour"
[[step]]
name = "healthy"
phase = "challenge5"
duration = "2m"
load = { rate = 20 }
[[step.expect]]
alert = "LoginAvailabilityPage1h"
state = "resolved"
within = "1m"
[[step]]
name = "the hour after"
phase = "challenge5"
duration = "60m"
[[step.expect]]
alert = "ChatLatencyPage1h"
state = "inactive"
"#,
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let began = std::time::Instant::now();
    let out = loadgen(
        &[
            "rehearse",
            file.to_str().unwrap(),
            "--time-scale",
            "60",
            "--fail-fast",
            "--output",
            "json",
            "--junit",
            junit.to_str().unwrap(),
        ],
        &path,
    )
    .await;
    let took = began.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts = report["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 2, "{report}");
    let detail = |i: usize| verdicts[i]["detail"].as_str().unwrap().to_owned();
    assert_eq!(verdicts[0]["passed"], false);
    assert!(
        detail(0).starts_with("never fired in this rehearsal"),
        "{}",
        detail(0)
    );
    assert_eq!(verdicts[1]["passed"], false);
    assert!(
        detail(1).contains("not played") || detail(1).contains("did not finish"),
        "{}",
        detail(1)
    );
    assert_eq!(report["interrupted"], false, "{report}");
    // The verdict was printed as it was decided, before the table.
    assert!(
        stderr.contains("FAIL healthy: LoginAvailabilityPage1h resolves: never fired"),
        "{stderr}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    // For the closing note, not an assertion: how long the whole command took (Prometheus'
    // start-up included), against the 62 s the timeline would play.
    eprintln!("fail-fast rehearsal took {took:?}");
}
