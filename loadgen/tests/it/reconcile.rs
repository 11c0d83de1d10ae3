//! Issue 22 item 2, per endpoint: a journey cut by `--run-time` with slow chats and startups in
//! flight. Each endpoint's requests plus what it abandoned equal the server's counter for it,
//! exactly; the text says how many were abandoned and where; `loadgen reconcile` shows the
//! three columns agreeing, and says which endpoints the server counts nowhere.

use engine::journey::report::JourneyReport;
use mock_server::testing::{parse_metrics, value};

use super::CPU;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_endpoint_reported_plus_abandoned_is_the_servers_count() {
    let _cpu = CPU.read().await;
    // Chats and startups take 5 s, past the run's 1 s and its 1 s grace; the rest answer at
    // once, so requests of those two endpoints (and only those) are in flight at the end.
    let phase = mock_server::Phase::workshop_default()
        .merged(
            br#"{"ChatLatencyMinMS": 5000, "ChatLatencyMaxMS": 5000,
                 "StartupLatencyMinMS": 5000, "StartupLatencyMaxMS": 5000,
                 "LoginLatencyMinMS": 0, "LoginLatencyMaxMS": 0,
                 "PrefGetLatencyMinMS": 0, "PrefGetLatencyMaxMS": 0,
                 "PrefUpdateLatencyMinMS": 0, "PrefUpdateLatencyMaxMS": 0}"#,
        )
        .unwrap();
    let mock =
        mock_server::testing::TestServer::with_phase(phase, mock_server::LatencyMode::Sleep).await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["journey", "--host", &mock.url(""), "--users", "40"])
        .args(["--spawn-rate", "1000", "--wait", "0ms..1ms"])
        .args(["--run-time", "1s", "--stats-interval", "0s", "--json"])
        .arg(&json)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metrics = mock_server::testing::http::call("GET", &mock.url("/metrics"), &[], "")
        .await
        .body;
    let m = parse_metrics(&metrics);
    let report: JourneyReport =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();

    let by_endpoint: u64 = report.endpoints.iter().map(|e| e.abandoned).sum();
    assert_eq!(by_endpoint, report.abandoned, "{text}");
    assert_eq!(report.total.abandoned, report.abandoned, "{text}");
    // 40 users, each a few tasks in when the run ends, 8 of 14 task weights slow: some of both.
    let entry = |name: &str| report.endpoints.iter().find(|e| e.name == name);
    for (name, counter) in [
        ("POST /chat", "movieguru_chat_calls_total"),
        ("GET /startup", "movieguru_startup_attempts_total"),
        ("POST /login", "movieguru_login_attempts_total"),
        ("GET /preferences", "movieguru_prefGet_attempts_total"),
        ("POST /preferences", "movieguru_prefUpdate_attempts_total"),
    ] {
        let (requests, abandoned) = entry(name).map_or((0, 0), |e| (e.requests, e.abandoned));
        assert_eq!(
            requests + abandoned,
            value(&m, counter),
            "{name}: reported {requests} + abandoned {abandoned} against the server's {counter}\n{text}"
        );
    }
    for slow in ["POST /chat", "GET /startup"] {
        assert!(
            entry(slow).is_some_and(|e| e.abandoned > 0),
            "{slow}: {text}"
        );
    }
    assert!(
        text.contains(&format!(
            "{} requests in flight at the end were abandoned; the server counted them",
            report.abandoned
        )),
        "{text}"
    );
    let chat = entry("POST /chat").unwrap().abandoned;
    assert!(text.contains(&format!("POST /chat {chat}")), "{text}");

    // The three columns, from the same two files the demo script hands over.
    let saved = dir.path().join("metrics.txt");
    std::fs::write(&saved, &metrics).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("reconcile")
        .args([&json, &saved])
        .output()
        .await
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("POST /chat "))
        .unwrap_or_else(|| panic!("no chat row: {table}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    let chats = entry("POST /chat").unwrap();
    assert_eq!(
        cols[2..6],
        [
            chats.requests.to_string().as_str(),
            chat.to_string().as_str(),
            value(&m, "movieguru_chat_calls_total").to_string().as_str(),
            "="
        ],
        "{table}"
    );
    assert!(table.contains("counted endpoints agree"), "{table}");
    if entry("POST /logout").is_some() {
        let logout = table
            .lines()
            .find(|l| l.starts_with("POST /logout "))
            .unwrap();
        assert!(logout.contains("counts these nowhere"), "{table}");
    }
    mock.stop().await;
}

/// A counter that disagrees is named and fails the command (exit 1): the demo must not show a
/// table that silently disagrees.
#[test]
fn a_disagreeing_endpoint_is_named_and_fails() {
    let report: JourneyReport =
        serde_json::from_str(include_str!("../golden/journey/one-target.json")).unwrap();
    // GET / has no counter in these metrics at all: missing, so it disagrees too.
    let rows = loadgen::reconcile::rows(&report, "movieguru_chat_calls_total 80\n");
    let chat = rows.iter().find(|r| r.name == "POST /chat").unwrap();
    // 80 reported and 1 abandoned is 81 sent: the server's 80 is one short.
    assert_eq!(chat.agrees(), Some(false));
    let mut out = Vec::new();
    loadgen::output::reconcile::text(&mut out, &rows).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("MISMATCH movieguru_chat_calls_total"), "{out}");
    assert!(out.contains("2 of 2 counted endpoints disagree"), "{out}");
}
