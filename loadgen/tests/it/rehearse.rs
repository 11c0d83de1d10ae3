//! `loadgen rehearse` and `alerts wait` where no Prometheus is needed: the exit codes a CI gate
//! relies on when Prometheus is missing (69, with the install hint) or the file is wrong (64).
//! The runs against a real Prometheus live in the e2e suite (`tests/tests/prometheus/rehearse.rs`).

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

/// The CI page, whose examples of what a rehearsal prints must be what it prints.
fn docs_ci() -> String {
    std::fs::read_to_string(format!("{}/../docs/ci.md", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The shipped challenge 6 at 200x with no Prometheus on PATH: it prints what it derives before
/// the stack starts, then exits 69.
async fn challenge6_without_prometheus(draws: &str) -> Output {
    let file = shipped("challenge6.toml");
    let args = ["rehearse", &file, "--time-scale", "200", "--draws", draws];
    loadgen(&args, "").await
}

/// The deadline lines printed before the load: (title, parts in order, deadline), in seconds.
fn deadline_lines(err: &str) -> Vec<(String, Vec<f64>, f64)> {
    err.lines()
        .filter_map(|l| {
            let l = l.strip_prefix("loadgen rehearse: ")?;
            let (title, rest) = l.split_once(": predicted ")?;
            let (parts, total) = rest.split_once(" = deadline ")?;
            let secs = |t: &str| t.trim().trim_end_matches(" s").parse::<f64>().unwrap();
            // "0.04 s + band 0.20 s + 2 scrapes 0.15 s + ...": the number ends each part.
            let parts = parts
                .split(" + ")
                .map(|p| {
                    secs(
                        p.rsplit_once(' ')
                            .map_or(p, |(a, _)| a)
                            .rsplit(' ')
                            .next()
                            .unwrap(),
                    )
                })
                .collect();
            Some((title.to_owned(), parts, secs(total)))
        })
        .collect()
}

#[tokio::test]
async fn each_predicted_deadline_is_printed_as_the_sum_of_its_parts_before_any_load() {
    // No Prometheus on PATH: what is derived before the stack starts is printed, then exit 69.
    for draws in ["exact", "random"] {
        let out = challenge6_without_prometheus(draws).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(69), "{err}");
        let lines = deadline_lines(&err);
        let titles: Vec<&str> = lines.iter().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(
            titles,
            [
                "challenge 6: ChatLatencyFastBurn5m fires",
                "challenge 6: ChatLatencySlowBurn5m fires",
                "challenge 6: ChatEngagementSlowBurn5m fires",
                "challenge 6: ChatLatencyPage1h fires",
            ],
            "{err}"
        );
        for (title, parts, total) in &lines {
            // predicted, band, 2 scrapes (75 ms each at 200x), evaluation (60 s / 200), for, poll.
            assert_eq!(parts.len(), 6, "{title}: {parts:?}");
            assert_eq!(&parts[2..], [0.15, 0.3, 0.0, 0.25], "{title}: {parts:?}");
            let sum: f64 = parts.iter().sum();
            assert!(
                (sum - total).abs() <= 0.035,
                "{title}: {parts:?} vs {total}"
            );
        }
        if draws == "exact" {
            let shown = err
                .lines()
                .find(|l| l.contains("ChatLatencySlowBurn5m fires: predicted"));
            assert!(
                docs_ci().contains(shown.unwrap()),
                "docs/ci.md shows a deadline line the rehearsal no longer prints: {shown:?}"
            );
        }
        // The shipped file carries a load at which the model promises every verdict under exact
        // draws; under random draws it says which verdicts it leaves to chance.
        assert_eq!(
            draws == "random",
            err.contains("warning:"),
            "{draws}: {err}"
        );
        // The user gave no URL: the hint speaks of what rehearse starts, not of "that URL".
        assert!(!err.contains("that URL"), "{err}");
    }
}

#[tokio::test]
async fn random_draws_widen_the_band_and_a_thin_load_is_warned_with_the_load_that_settles_it() {
    let band = |draws: &'static str| async move {
        let out = challenge6_without_prometheus(draws).await;
        deadline_lines(&String::from_utf8_lossy(&out.stderr))[0].1[1]
    };
    let (exact, random) = (band("exact").await, band("random").await);
    assert!(random > exact, "random band {random} s, exact {exact} s");

    // Logins fail one in a thousand: at a thin load a few logins fill a window, and one failure
    // can page. Chat latency under challenge 5 never passes 5 s, so no draw can page on it.
    let warnings = |rate: u64| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thin.toml");
        std::fs::write(
            &path,
            format!(
                "[[step]]\nname = \"healthy\"\nphase = \"challenge5\"\nduration = \"30m\"\n\
                 load = {{ rate = {rate} }}\n[[step.expect]]\nalert = \"LoginAvailabilityPage1h\"\n\
                 state = \"inactive\"\n[[step.expect]]\nalert = \"ChatLatencyPage1h\"\n\
                 state = \"inactive\"\n"
            ),
        )
        .unwrap();
        let out = loadgen(
            &["rehearse", path.to_str().unwrap(), "--time-scale", "60"],
            "",
        )
        .await;
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(69), "{err}");
        err.lines()
            .filter(|l| l.contains("warning:"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let thin = warnings(40).await;
    assert_eq!(thin.len(), 1, "{thin:?}");
    assert!(
        thin[0].contains("healthy: LoginAvailabilityPage1h stays quiet")
            && thin[0].contains("under exact draws"),
        "{thin:?}"
    );
    // The load it names settles it: played at that rate, nothing is left to chance.
    let named: u64 = thin[0]
        .split_once("(load = { rate = ")
        .and_then(|(_, r)| r.split_once(' '))
        .map(|(r, _)| r.parse().unwrap())
        .unwrap_or_else(|| panic!("no load named: {thin:?}"));
    assert!(named > 40, "{thin:?}");
    assert!(
        docs_ci().contains(&thin[0]),
        "docs/ci.md shows a warning the rehearsal no longer prints: {thin:?}"
    );
    assert_eq!(
        warnings(named).await,
        Vec::<String>::new(),
        "at rate {named}"
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
    let out = super::interrupt(child).await;
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
