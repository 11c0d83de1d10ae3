//! Issue 13's loadgen items, each reproduced: what a hostile or clumsy user met (a panic, runs
//! past their bound, wrong ports, wrong exit codes) and what happens now.

use std::process::Output;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::CPU;
use loadgen::exit::Exit;

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
        engine::plan::Plan::try_from(
            super::parse(&["-n", "1", "-c", "1", "http://[::1]:99999/"]).hey
        )
        .is_err()
    );
}

/// Starts loadgen with stdout and stderr piped (read only when `wait` is called).
fn spawn(args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn signal(child: &tokio::process::Child, sig: &str) {
    let pid = child.id().unwrap().to_string();
    let kill = tokio::process::Command::new("kill")
        .args([sig, &pid])
        .status()
        .await
        .unwrap();
    assert!(kill.success());
}

/// Item 10: Kubernetes stops pods with SIGTERM; it printed nothing. Now a partial report and 143.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_prints_the_partial_report_and_exits_143() {
    let _cpu = CPU.read().await;
    let s = super::server::Server::start(super::server::Spec {
        delay: Duration::from_millis(5),
        ..Default::default()
    })
    .await;
    let child = spawn(&["-z", "60s", "-c", "2", &s.url("/")]);
    tokio::time::sleep(Duration::from_millis(700)).await;
    signal(&child, "-TERM").await;
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("exited after SIGTERM")
        .unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Interrupted: partial report"), "{text}");
    assert!(text.contains("\nSummary:"), "{text}");
}

/// Item 10: with stdout blocked (a reader that stopped reading), the first Ctrl-C cannot finish
/// the report; the second exits at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_exits_even_while_stdout_is_blocked() {
    let _cpu = CPU.read().await;
    let s = super::server::Server::start(super::server::Spec {
        fast: true,
        ..Default::default()
    })
    .await;
    // CSV rows fill the pipe (64 KiB) within moments; nobody reads it until the process ends.
    let mut child = spawn(&[
        "-z",
        "60s",
        "-c",
        "2",
        "-cpus",
        "1",
        "-o",
        "csv",
        &s.url("/"),
    ]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    signal(&child, "-INT").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C waits for the blocked output"
    );
    signal(&child, "-INT").await;
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("exited at once after the second Ctrl-C")
        .unwrap();
    assert_eq!(status.code(), Some(130));
}

/// Item 10: `-o csv` into a closed pipe exited 0 after failing every write; the summary mode
/// exits 1. Both exit 1 now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_into_a_closed_pipe_exits_1() {
    let _cpu = CPU.read().await;
    let s = super::server::Server::start(super::server::Spec {
        fast: true,
        ..Default::default()
    })
    .await;
    for output in ["csv", "summary"] {
        let mut child = spawn(&["-n", "20000", "-c", "2", "-o", output, &s.url("/")]);
        // As `| head -c 100` does: read a little (the CSV header), then close the pipe; the
        // summary comes only at the end, so its reader closes before anything arrives.
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 100];
        if output == "csv" {
            let _ = stdout.read_exact(&mut first).await;
        }
        drop(stdout);
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("ends")
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{output}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("Broken pipe"),
            "{output}: {}",
            stderr(&out)
        );
    }
}

/// Item 10: a run in which no request got an answer printed a Requests/sec figure and exited 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_any_answer_exits_1_and_says_so() {
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let out = loadgen(&["-n", "10", "-c", "2", &url]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Requests/sec:\t0"), "{text}");
    assert!(text.contains("no request got an answer"), "{text}");
    assert!(
        stderr(&out).contains("no request got an answer"),
        "{}",
        stderr(&out)
    );
}

/// Item 8: Requests/sec was requests over the time to the last answer: `-q 1.5 -z 1s -c 5`
/// sends at 0 s and 0.67 s and reported 15 (hey: 7.4). Over the run's window (here to the end of
/// the last -q slot, 1.33 s) it is 7.5, the summary says which window, and `rps` gates judge it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_per_second_is_over_the_runs_window() {
    let s = super::server::Server::start(super::server::Spec::default()).await;
    let url = s.url("/");
    let r = super::run(&["-q", "1.5", "-z", "1s", "-c", "5", &url]).await;
    assert_eq!(
        r.total.requests, 10,
        "two -q slots per worker fall inside 1 s"
    );
    assert!(
        (r.window_secs - 4.0 / 3.0).abs() < 0.01,
        "{}",
        r.window_secs
    );
    assert!((6.5..=8.5).contains(&r.total.rps), "{}", r.total.rps);
    let text = super::text(&r);
    assert!(text.contains("  Rate window:\t1.33"), "{text}");
    assert!(text.contains("last -q/--rate slot"), "{text}");
    let gate: engine::report::gate::Gate = "rps>10".parse().unwrap();
    assert!(!gate.judge(&r).held, "the gate judges the window's figure");

    // A closed-loop -z run: the -z bound is the window (or the last answer, if later).
    let r = super::run(&["-z", "500ms", "-c", "2", &url]).await;
    assert!(r.window_secs >= 0.5, "{}", r.window_secs);
    assert!(
        (r.total.rps - r.total.requests as f64 / r.window_secs).abs() < 1e-6,
        "{} vs {}/{}",
        r.total.rps,
        r.total.requests,
        r.window_secs
    );
}

/// Item 3: `--rate` ran on past `-z` against a slow server (1 s per request), sending every
/// request due before the bound however late (30 s for a 3 s run). `-z` bounds the run: what is
/// in flight at the bound gets the grace, what was not sent is reported as "not sent, run over".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_runs_end_at_their_bound() {
    let s = super::server::Server::start(super::server::Spec {
        delay: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let started = std::time::Instant::now();
    let r = super::run(&["--rate", "100", "-z", "2s", "-c", "10", &s.url("/")]).await;
    let took = started.elapsed();
    // The bound is 2 s + the 1 s grace; the slack is for a loaded machine, far below the 20 s
    // the old behaviour took.
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(!r.interrupted);
    assert!(
        r.not_sent > 100,
        "most of the 200 due requests could not be sent: {}",
        r.not_sent
    );
    assert_eq!(
        r.total.requests + r.abandoned + r.not_sent,
        200,
        "every request due in the 2 s is answered, abandoned in flight, or not sent"
    );
    let text = super::text(&r);
    assert!(
        text.contains(&format!(
            "Run over at the -z bound: {} requests not sent",
            r.not_sent
        )),
        "{text}"
    );
}

/// Item 3 for journeys: with a slow server the run ended only when every request in flight
/// came back; now it ends at --run-time plus the grace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_end_at_their_run_time() {
    let _cpu = CPU.read().await;
    let s = super::server::Server::start(super::server::Spec {
        delay: Duration::from_secs(10),
        ..Default::default()
    })
    .await;
    let started = std::time::Instant::now();
    let out = loadgen(&[
        "journey",
        "--host",
        &s.url("/"),
        "-u",
        "3",
        "-r",
        "100",
        "--run-time",
        "1s",
        "--stats-interval",
        "0s",
        "-o",
        "json",
    ])
    .await;
    let took = started.elapsed();
    // Nothing answered within the run, so the journey fails (issue 24 item 6) but still
    // reports what it abandoned.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(took < Duration::from_secs(6), "{took:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["abandoned"], 3, "{report}");
}

/// Item 9: `merge` labelled a /login report's counts as /startup's, doubled a report given twice,
/// exited 1 on a bad file and read `/dev/zero` until memory ran out (9.3 GB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_keeps_targets_apart_and_refuses_duplicates_and_bad_files() {
    let s = super::server::Server::start(super::server::Spec::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, r: &engine::report::Report| {
        let path = dir.path().join(name);
        let mut out = Vec::new();
        loadgen::output::json(&mut out, r).unwrap();
        std::fs::write(&path, out).unwrap();
        path.display().to_string()
    };
    let startup = write(
        "startup.json",
        &super::run(&["-n", "30", "-c", "3", &s.url("/startup")]).await,
    );
    let login = write(
        "login.json",
        &super::run(&["-n", "20", "-c", "2", &s.url("/login")]).await,
    );
    let login_copy = dir.path().join("copy.json").display().to_string();
    std::fs::copy(&login, &login_copy).unwrap();

    // Different targets stay different targets; the total is both.
    let out = loadgen(&["merge", "-o", "json", &startup, &login]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["total"]["requests"], 50);
    let targets: Vec<(String, u64)> = m["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["url"].as_str().unwrap().to_owned(),
                t["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(targets, [(s.url("/startup"), 30), (s.url("/login"), 20)]);

    // The same run twice (the same file, or a copy of it) is refused.
    for (a, b) in [(&login, &login), (&login, &login_copy)] {
        let out = loadgen(&["merge", a, b]).await;
        assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
        assert!(stderr(&out).contains("twice"), "{}", stderr(&out));
    }
    // A merged report carries its parts' run ids: merging it with one of them is refused too.
    let merged = dir.path().join("merged.json").display().to_string();
    std::fs::write(
        &merged,
        &out_json(&["merge", "-o", "json", &startup, &login]).await,
    )
    .unwrap();
    let out = loadgen(&["merge", &merged, &login]).await;
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));

    // Bad input files are usage errors, and no file is read past its bound.
    let not_json = dir.path().join("x.json");
    std::fs::write(&not_json, "{ not json").unwrap();
    for (file, says) in [
        (not_json.display().to_string(), "not a loadgen JSON report"),
        ("/no/such/report.json".to_owned(), "cannot read"),
        ("/dev/zero".to_owned(), "it is a device, not a regular file"),
    ] {
        let out = loadgen(&["merge", &file]).await;
        assert_eq!(out.status.code(), Some(64), "{file}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{file}: {}", stderr(&out));
    }
    // Issue 24, item 8: a device or a FIFO is refused by its kind before any read, so a FIFO
    // with no writer cannot block start-up; a regular file past the bound by its size.
    let big = dir.path().join("big.toml");
    std::fs::write(&big, " ".repeat((1 << 20) + 1)).unwrap();
    let fifo = dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (big, fifo) = (big.display().to_string(), fifo.display().to_string());
    for (file, says) in [
        (big.as_str(), "larger than 1 MiB"),
        ("/dev/zero", "it is a device, not a regular file"),
        (
            fifo.as_str(),
            "it is a FIFO (named pipe), not a regular file",
        ),
    ] {
        for args in [
            vec![
                "journey",
                "--host",
                "http://127.0.0.1:1/",
                "--journey",
                file,
            ],
            vec!["scenario", "run", file, "--host", "http://127.0.0.1:1/"],
            vec!["phase", "apply", file, "--host", "http://127.0.0.1:1/"],
            vec!["merge", file],
        ] {
            let out = loadgen(&args).await;
            assert_eq!(out.status.code(), Some(64), "{args:?}: {}", stderr(&out));
            let merge_bound = args[0] == "merge" && file == big;
            if !merge_bound {
                assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
            }
        }
    }
}

/// Issue 24, item 3: `merge` allocated what a histogram header claimed (4 GiB from a 3.6 KB
/// file), wrapped counts at 2^64, accepted an error rate of 9.9 and merged two reports with
/// an empty `run_id` as two runs; item 6: a key given twice was read as its last value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_refuses_reports_that_cannot_be_true() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    let s = super::server::Server::start(super::server::Spec::default()).await;
    let good = super::run(&["-n", "4", "-c", "1", &s.url("/")]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    let mut write = |doc: String| {
        n += 1;
        let path = dir.path().join(format!("{n}.json"));
        std::fs::write(&path, doc).unwrap();
        path.display().to_string()
    };
    let json = |r: &engine::report::Report| {
        let mut out = Vec::new();
        loadgen::output::json(&mut out, r).unwrap();
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()
    };

    // HdrHistogram's V2 header claiming a 4 GiB payload, followed by nothing.
    let mut header = Vec::new();
    for word in [0x1c84_9313u32, u32::MAX, 0, 3] {
        header.extend(word.to_be_bytes());
    }
    header.extend(1u64.to_be_bytes());
    header.extend(2_000_000u64.to_be_bytes());
    header.extend(1f64.to_be_bytes());
    let mut huge = json(&good);
    huge["total"]["latency"]["histogram"] = STANDARD.encode(&header).into();

    // Each report alone is consistent; their sum does not fit in 64 bits.
    let big = |r: &engine::report::Report| {
        let mut r = r.clone();
        let half = 1u64 << 63;
        let mut h = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        // Two buckets: V2 serialises each count as an i64.
        h.record_n(1000, half / 2).unwrap();
        h.record_n(2000, half / 2).unwrap();
        for t in std::iter::once(&mut r.total).chain(r.targets.iter_mut()) {
            (t.requests, t.responses, t.failures) = (half, half, 0);
            t.status_codes = [("200".to_owned(), half)].into();
            t.errors.clear();
            t.latency = engine::report::Latency::from_histogram(h.clone());
        }
        r.run_id = engine::report::new_run_id();
        r
    };
    let (big_a, big_b) = (json(&big(&good)), json(&big(&good)));

    let mut rate = json(&good);
    rate["total"]["error_rate"] = 9.9.into();
    let mut count = json(&good);
    count["total"]["requests"] = 5.into();
    let mut no_id = json(&good);
    no_id["run_id"] = "".into();
    let mut other = json(&good);
    other["run_id"] = engine::report::new_run_id().into();
    // A key given twice: the text is edited, as no JSON value can hold it.
    let twice = json(&good)
        .to_string()
        .replacen("\"run_id\":", "\"run_id\":\"x\",\"run_id\":", 1);

    let cases = [
        (
            vec![huge.to_string()],
            "declares a 4294967295-byte payload but carries 0 bytes",
        ),
        (
            vec![big_a.to_string(), big_b.to_string()],
            "the merged requests of total exceeds 2^64-1",
        ),
        (
            vec![rate.to_string()],
            "error_rate 9.9 is not between 0 and 1",
        ),
        (
            vec![count.to_string()],
            "requests is 5 but responses + failures is 4 + 0",
        ),
        (vec![no_id.to_string(), no_id.to_string()], "has no run_id"),
        (vec![twice], "duplicate key \"run_id\""),
    ];
    for (docs, says) in cases {
        let files: Vec<String> = docs.into_iter().map(&mut write).collect();
        let mut args = vec!["merge"];
        args.extend(files.iter().map(String::as_str));
        let out = loadgen(&args).await;
        assert_eq!(out.status.code(), Some(64), "{says}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{says:?}: {}", stderr(&out));
    }
    // The untouched report and one with another id still merge.
    let (a, b) = (write(json(&good).to_string()), write(other.to_string()));
    let out = loadgen(&["merge", "-o", "json", &a, &b]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Issue 24, item 6: `println!` to a full stdout (`> /dev/full`) panicked with exit 101 in
/// `slo rules`, `phase show` and `canary`; a failed write is exit 1 with a message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_stdout_is_exit_1_with_a_message() {
    let mock = super::mock::Mock::start(None).await;
    let s = super::server::Server::start(super::server::Spec::default()).await;
    let (host, url) = (mock.url(), s.url("/"));
    let quick = super::quick_canary(&url);
    for args in [
        vec!["slo", "rules"],
        vec!["phase", "show", "--host", &host],
        super::words(&quick),
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let _cpu = CPU.read().await;
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(&args)
            .stdout(full)
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
            .wait_with_output();
        let out = tokio::time::timeout(Duration::from_secs(60), out)
            .await
            .expect("loadgen ends within 60 s")
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot write to standard output"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// Issue 24, item 6: a journey in which nothing answered exited 0, so a CI job passed against a
/// dead service; hey mode already exited 1. A scenario step without one answer is the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_at_all_is_exit_1_in_every_mode() {
    let dead = "http://127.0.0.1:1/";
    let dir = tempfile::tempdir().unwrap();
    let timeline = dir.path().join("dead.toml");
    std::fs::write(
        &timeline,
        "[[step]]\nname = \"against nothing\"\nduration = \"300ms\"\nload = { users = 1 }\n",
    )
    .unwrap();
    let timeline = timeline.display().to_string();
    for (args, says) in [
        (vec!["-n", "3", "-c", "1", dead], "no request got an answer"),
        (
            vec!["journey", "--host", dead, "--tasks", "3"],
            "no request got an answer",
        ),
        (
            vec!["scenario", "run", &timeline, "--host", dead],
            "no request got an answer in step against nothing",
        ),
    ] {
        let out = loadgen(&args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}

/// Issue 24, item 6: a duration that parses but no clock holds panicked: `scenario run` after
/// step 1 had run (losing its result), a rehearsal's `within`, `journey --stats-interval` in
/// a worker (yet exit 0). Each is a usage error before any load, naming what was wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duration_no_clock_holds_is_a_usage_error_before_any_load() {
    let huge = "18446744073709551615s";
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let timeline = file(
        "t.toml",
        format!(
            "[[step]]\nname = \"one\"\nduration = \"1s\"\n[[step]]\nname = \"two\"\nduration = \"{huge}\"\n"
        ),
    );
    let rehearsal = file(
        "r.toml",
        format!(
            "[[step]]\nname = \"a\"\nduration = \"1m\"\n[[step.expect]]\nalert = \"ChatLatencyFastBurn5m\"\nstate = \"firing\"\nwithin = \"{huge}\"\n"
        ),
    );
    let dead = "http://127.0.0.1:1/";
    for (args, says) in [
        (
            vec!["scenario", "run", &timeline, "--host", dead],
            "step \"two\": duration",
        ),
        (vec!["rehearse", &rehearsal], "within"),
        (
            vec![
                "journey",
                "--host",
                dead,
                "--stats-interval",
                huge,
                "--tasks",
                "1",
            ],
            "--stats-interval",
        ),
        (vec!["-z", huge, dead], "-z"),
    ] {
        let out = loadgen(&args).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {err}");
        assert!(
            err.contains(says) && err.contains("longer than the longest duration supported"),
            "{args:?}: {err}"
        );
    }
}

async fn out_json(args: &[&str]) -> Vec<u8> {
    let out = loadgen(args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    out.stdout
}

/// Item 11: a user's `Transfer-Encoding: chunked` beside `-d` made a request with both framings
/// (malformed); loadgen frames bodies itself, so the header is refused.
#[test]
fn a_user_transfer_encoding_is_refused() {
    for args in [
        [
            "-H",
            "Transfer-Encoding: chunked",
            "-d",
            "x",
            "http://127.0.0.1:1/",
        ],
        [
            "-H",
            "transfer-encoding: gzip",
            "-m",
            "PUT",
            "http://127.0.0.1:1/",
        ],
    ] {
        let e = engine::plan::Plan::try_from(super::parse(&args).hey).unwrap_err();
        assert!(e.to_string().contains("Transfer-Encoding"), "{args:?}: {e}");
    }
}

/// Item 11: `--stats-interval 1ns` wrote 62 MB of stderr in 2 s; below 100 ms is a usage error
/// (0s still means none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_interval_has_a_floor() {
    for (every, code) in [("1ns", Some(64)), ("99ms", Some(64))] {
        let out = loadgen(&[
            "journey",
            "--host",
            "http://127.0.0.1:1/",
            "--tasks",
            "1",
            "--stats-interval",
            every,
        ])
        .await;
        assert_eq!(out.status.code(), code, "{every}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("--stats-interval"),
            "{}",
            stderr(&out)
        );
    }
    let plan = |every: &str| {
        super::journey::journey_plan(&["--host", "http://127.0.0.1:1/", "--stats-interval", every])
    };
    assert_eq!(plan("0s").stats_interval, None);
    assert_eq!(
        plan("100ms").stats_interval,
        Some(Duration::from_millis(100))
    );
}

/// Item 11: a repeating timeline of 1 ns steps spun; `nan`/`inf` in an inline phase became
/// `null` ("got null" from the server).
#[test]
fn timelines_refuse_tiny_repeating_steps_and_non_numbers() {
    let repeat =
        "repeat = true\n[[step]]\nname = \"a\"\nphase = \"challenge1\"\nduration = \"1ns\"\n";
    let e = scenarios::Timeline::parse(repeat, None).unwrap_err();
    assert!(e.to_string().contains("100ms"), "{e}");
    let once = repeat.replace("repeat = true", "repeat = false");
    scenarios::Timeline::parse(&once, None).unwrap();
    for v in ["nan", "inf", "-inf"] {
        let t =
            format!("[[step]]\nname = \"a\"\nphase = {{ ChatSuccess = {v} }}\nduration = \"1s\"\n");
        let e = scenarios::Timeline::parse(&t, None).unwrap_err();
        assert!(e.to_string().contains("not a number"), "{v}: {e}");
        assert!(e.to_string().contains("ChatSuccess"), "{v}: {e}");
    }
}

/// Item 11: `--split a=60 --split b=60` (over 100) and a repeated `--split` name are usage
/// errors in every mode (the last repeated one used to win silently).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splits_over_100_or_repeated_are_usage_errors_in_every_mode() {
    let targets = [
        "--target",
        "a=http://127.0.0.1:1/",
        "--target",
        "b=http://127.0.0.1:2/",
    ];
    for (splits, says) in [
        (["--split", "a=60", "--split", "b=60"], "over 100"),
        (["--split", "a=10", "--split", "a=20"], "twice"),
    ] {
        for mode in [
            &["-n", "1", "-c", "1"][..],
            &["journey", "--tasks", "1"][..],
        ] {
            let args: Vec<&str> = mode
                .iter()
                .chain(&targets)
                .chain(&splits)
                .copied()
                .collect();
            let out = loadgen(&args).await;
            assert_eq!(out.status.code(), Some(64), "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(
        &path,
        "[[step]]\nname = \"s\"\nduration = \"1s\"\nsplit = { a = 60, b = 60 }\n",
    )
    .unwrap();
    let path = path.display().to_string();
    let args = super::timeline::scenario_args(&[
        &path,
        "--target",
        "a=http://127.0.0.1:1/",
        "--target",
        "b=http://127.0.0.1:2/",
    ]);
    let e = loadgen::scenario::plan(&args).unwrap_err();
    assert_eq!(e.exit_code(), 64);
    assert!(e.to_string().contains("over 100"), "{e}");
}

/// A server that answers one request per connection and then closes it a moment later, without
/// `Connection: close`: the client's next request on that connection meets the close before
/// any byte of an answer. Returns its address and the count of answers sent.
async fn close_after_each_answer() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = answered.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let count = count.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                    .await;
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // Long enough for the client to send its next request on this connection.
                tokio::time::sleep(Duration::from_millis(20)).await;
            });
        }
    });
    (addr, answered)
}

/// Item 5: against such a server about a third of requests were "connection reset or closed"
/// where hey reports none. A request whose reused connection was closed before any byte of the
/// answer is resent once on a fresh connection (idempotent methods), and counted as a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_connection_closed_before_the_answer_is_retried_once() {
    let (addr, answered) = close_after_each_answer().await;
    let url = format!("http://{addr}/");
    let r = super::run(&["-n", "60", "-c", "2", &url]).await;
    assert_eq!(r.total.failures, 0, "{:?}", r.total.errors);
    assert_eq!(super::status(&r.total, "200"), 60);
    assert_eq!(answered.load(std::sync::atomic::Ordering::Relaxed), 60);
    // Each connection carries one answer: all but each worker's first request met a closed
    // connection, unless the close was seen before sending.
    assert!(r.total.retries >= 30, "retries {}", r.total.retries);
    assert!(super::text(&r).contains(&format!("Retries:\t{}", r.total.retries)));

    // POST is not idempotent: it is not resent, and its failures are counted as before.
    let r = super::run(&["-n", "20", "-c", "1", "-m", "POST", "-d", "x", &url]).await;
    assert_eq!(r.total.retries, 0);
    assert!(r.total.failures > 0, "{:?}", r.total.errors);
}

/// Item 3 for canary steps: each slice runs the engine under `-z`, so a slow canary cannot
/// stretch a step (1 s per request, 100 due per second: about 10 s per 1 s step before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_steps_end_at_their_bound() {
    let slow = super::server::Server::start(super::server::Spec {
        delay: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let started = std::time::Instant::now();
    let out = loadgen(&[
        "canary",
        "--stable",
        &slow.url("/"),
        "--canary",
        &slow.url("/"),
        "--steps",
        "100",
        "--step-duration",
        "1s",
        "--check-every",
        "1s",
        "--rate",
        "100",
        "-c",
        "10",
        "--verify",
        "0s",
        "--gate",
        "error_rate<1%",
        "--output",
        "json",
    ])
    .await;
    let took = started.elapsed();
    assert!(out.status.code().is_some(), "{}", stderr(&out));
    // One 1 s step plus the 1 s grace; the slack is for a loaded machine.
    assert!(took < Duration::from_secs(6), "{took:?}");
}

/// Issue 24 item 4: a server that answers with `100 Continue` heads and never anything else
/// held a `-t 1` request for ever, spinning a core (the heads arrive faster than the timer is
/// looked at). Now `-t` bounds the whole exchange, interim heads included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeout_bounds_endless_interim_heads() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let heads = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(8192);
                while s.write_all(&heads).await.is_ok() {}
            });
        }
    });
    // The same over HTTP/2 (hyper's client): a server SETTINGS, then HEADERS frames with
    // `:status: 100` (HPACK literal, name index 8) on stream 1, without end.
    let h2_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let h2_addr = h2_listener.local_addr().unwrap();
    let h2_server = tokio::spawn(async move {
        loop {
            let (s, _) = h2_listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = s.into_split();
                // Heads on stream 1 before the client opened it would be a connection error:
                // wait for the client's HEADERS frame (after the 24-byte preface, frames of a
                // 9-byte header: length 3, type 1, flags 1, stream 4).
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                let mut at = 24;
                'opened: loop {
                    match r.read(&mut buf).await {
                        Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                    while seen.len() >= at + 9 {
                        if seen[at + 3] == 1 {
                            break 'opened;
                        }
                        let len = usize::from(seen[at]) << 16
                            | usize::from(seen[at + 1]) << 8
                            | usize::from(seen[at + 2]);
                        at += 9 + len;
                    }
                }
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while r.read(&mut buf).await.is_ok_and(|n| n > 0) {}
                });
                let mut out = vec![0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0];
                let frame = [0, 0, 5, 1, 4, 0, 0, 0, 1, 0x08, 3, b'1', b'0', b'0'];
                if w.write_all(&out).await.is_err() {
                    return;
                }
                out = frame.repeat(1024);
                while w.write_all(&out).await.is_ok() {}
            });
        }
    });
    let url = format!("http://{addr}/");
    let h2_url = format!("http://{h2_addr}/");
    for extra in [None, Some("--disable-keepalive")] {
        let mut args = vec!["-n", "2", "-c", "1", "-t", "1", "-o", "json", &url];
        args.extend(extra);
        let out = loadgen(&args).await;
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        assert_eq!(json["total"]["errors"]["timeout"], 2, "{extra:?}: {json}");
        assert_eq!(out.status.code(), Some(1), "nothing answered");
    }
    let out = loadgen(&[
        "--h2", "-n", "2", "-c", "1", "-t", "1", "-o", "json", &h2_url,
    ])
    .await;
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    // The first request times out (the server sends its heads only once stream 1 is open). The
    // fake server keeps writing stream 1's heads after the client reset it, so the second may
    // end as a protocol error instead: either way the run ended and both requests failed.
    assert_eq!(json["total"]["failures"], 2, "--h2: {json}");
    let timeouts = json["total"]["errors"]["timeout"].as_u64().unwrap_or(0);
    assert!(timeouts >= 1, "--h2: {json}");
    assert_eq!(out.status.code(), Some(1), "--h2: nothing answered");
    server.abort();
    h2_server.abort();
}

/// Issue 24 item 8: a FIFO without a writer, named as a rehearsal, its `--rules`, `--spec` or
/// `--alertmanager-config`, an OpenSLO or TOML spec, or `slo compress`'s file, blocked in
/// `open()` for ever. Each is refused now, before any work, naming what it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_named_as_any_file_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = |name: &str| {
        let p = dir.path().join(name);
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&p)
                .status()
                .unwrap()
                .success()
        );
        p.display().to_string()
    };
    let (toml, yaml) = (fifo("spec.toml"), fifo("slos.yaml"));
    let rehearsal = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/rehearsals/healthy-stays-silent.toml"
    );
    let cases: [&[&str]; 7] = [
        &["slo", "check", &toml],
        &["slo", "check", &yaml],
        &["slo", "compress", "--time-scale", "60", &toml],
        &["rehearse", &toml],
        &["rehearse", rehearsal, "--rules", &toml],
        &["rehearse", rehearsal, "--spec", &toml],
        &["rehearse", rehearsal, "--alertmanager-config", &yaml],
    ];
    for args in cases {
        let out = loadgen(args).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {err}");
        assert!(err.contains("FIFO"), "{args:?}: {err}");
    }
}

/// A server that answers every connection with `head`, then (`endless`) bytes without end.
async fn endless_answer(head: &'static str, endless: bool) -> std::net::SocketAddr {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                if s.write_all(head.as_bytes()).await.is_err() || !endless {
                    return;
                }
                let junk = vec![b'x'; 64 * 1024];
                while s.write_all(&junk).await.is_ok() {}
            });
        }
    });
    addr
}

/// Issue 24 item 3: `phase show` against an endless body reached 19 GB in 45 s; the
/// Prometheus client (`slo report`, `alerts wait`) read as much as came; a 200 MB non-2xx body
/// was printed whole. Now each read stops at its bound, which the error names; an error quotes
/// at most a few KB of what it was told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_read_up_to_a_bound_that_the_error_names() {
    let big_ok = endless_answer(
        "HTTP/1.1 200 OK\r\ncontent-length: 100000000000\r\n\r\n",
        true,
    )
    .await;
    let url = format!("http://{big_ok}");
    let out = loadgen(&["phase", "show", "--host", &url]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("over 1048576 bytes"), "{err}");
    let out = loadgen(&["slo", "report", "--prometheus", &url]).await;
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("more than 64 MiB"), "{err}");
    // A refusal with a long body is quoted, cut.
    let long = endless_answer(
        Box::leak(
            format!(
                "HTTP/1.1 503 No\r\ncontent-length: 500000\r\nconnection: close\r\n\r\n{}",
                "y".repeat(500_000)
            )
            .into_boxed_str(),
        ),
        false,
    )
    .await;
    let out = loadgen(&["phase", "show", "--host", &format!("http://{long}")]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("503") && err.contains("more bytes)"), "{err}");
    assert!(err.len() < 5000, "{} bytes of error", err.len());
}
