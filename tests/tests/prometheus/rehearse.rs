//! Issue 16: `loadgen rehearse` and `loadgen alerts wait` against a real Prometheus, through the
//! same `runner::run` the binary calls. (The shipped challenge-6 rehearsal at 60x runs once, in
//! loadgen's `readme_ci`, as the README's CI job.) A rules file
//! written here (not generated from the spec) firing in its breach step and quiet in its healthy
//! one, and failing with exit 1 once its threshold is unreachable; the JUnit file parsed; a
//! misspelt alert refused (64) before any load reaches the mock; and `alerts wait`'s 0/1/64/69.
//! Skipped, saying why, when the prometheus binary is absent (failed under REQUIRE_PROMETHEUS=1).

use std::path::{Path, PathBuf};

use mock_server::LatencyMode;
use mock_server::testing::{TestServer, parse_metrics};

/// Runs a loadgen command line in-process, as the binary would, to its exit code.
fn loadgen(args: &[&str]) -> i32 {
    let line = std::iter::once("loadgen").chain(args.iter().copied());
    match loadgen::cli::parse(line.map(String::from)) {
        Ok(cli) => loadgen::runner::run(cli),
        Err(code) => code,
    }
}

/// A fresh folder for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("e2e-rehearse-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The testcases of a JUnit file: (name, failed).
fn junit_cases(path: &Path) -> Vec<(String, bool)> {
    let xml = std::fs::read_to_string(path).unwrap();
    assert!(
        xml.starts_with("<?xml") && xml.trim_end().ends_with("</testsuites>"),
        "{xml}"
    );
    xml.split("<testcase ")
        .skip(1)
        .map(|case| {
            let name = case
                .split(" name=\"")
                .nth(1)
                .and_then(|n| n.split('"').next())
                .unwrap_or_default()
                .to_owned();
            let body = case.split("<testcase").next().unwrap_or_default();
            (name, body.contains("<failure "))
        })
        .collect()
}

/// Whether Alertmanager is on PATH; without it the test skips, saying why, unless
/// `REQUIRE_ALERTMANAGER=1` (CI, which installs it) makes that a failure.
fn have_alertmanager() -> bool {
    if slo::LocalAlertmanager::binary().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("REQUIRE_ALERTMANAGER").is_none_or(|v| v != "1"),
        "prometheus-alertmanager is not on PATH and REQUIRE_ALERTMANAGER=1 \
         (Debian: apt-get install prometheus-alertmanager)"
    );
    eprintln!(
        "skipped: prometheus-alertmanager is not on PATH (apt-get install prometheus-alertmanager)"
    );
    false
}

/// Issue 16, items 7 and 5: the Serverless Journey's canary, rehearsed with the two revisions
/// the rehearsal starts itself: the fast burn fires under the 10% split and the rollback
/// resolves it. With Alertmanager (when installed) the same run also checks the alert reached
/// the receiver `oncall` through Alertmanager's webhook into loadgen. About 30 s of timeline at
/// 60x. The test's directory is `tests/`, where the journey the shipped file names
/// (`../journeys/jokes.toml`, beside the file) does not exist: found all the same.
#[test]
fn the_canary_rollback_rehearsal_fires_and_resolves_the_fast_burn() {
    if !e2e::have_prometheus() {
        return;
    }
    let dir = scratch("canary");
    let junit = dir.join("junit.xml");
    let shipped = e2e::workspace_path("scenarios/rehearsals/canary-rollback.toml");
    let mut args = vec!["rehearse".to_owned()];
    let notified = have_alertmanager();
    if notified {
        // The shipped file, plus a notification expected in the canary step.
        let journey = e2e::workspace_path("scenarios/journeys/jokes.toml");
        let text = std::fs::read_to_string(&shipped)
            .unwrap()
            .replace("../journeys/jokes.toml", journey.to_str().unwrap())
            .replace(
                "[[step]]\nname = \"rollback\"",
                "[[step.expect]]\nalert = \"CanaryAvailabilityFastBurn5m\"\nnotified = \"oncall\"\n\
                 within = \"9m\"\n\n[[step]]\nname = \"rollback\"",
            );
        let file = dir.join("canary-notified.toml");
        std::fs::write(&file, text).unwrap();
        args.extend([file.display().to_string(), "--alertmanager".into()]);
    } else {
        args.push(shipped.display().to_string());
    }
    args.extend(["--time-scale", "60", "--junit"].map(String::from));
    args.push(junit.display().to_string());
    let code = loadgen(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let cases = junit_cases(&junit);
    assert_eq!(code, 0, "{cases:?}");
    let mut expected = vec![
        (
            "good revision: CanaryAvailabilityFastBurn5m stays quiet".to_owned(),
            false,
        ),
        (
            "canary at 10%: CanaryAvailabilityFastBurn5m fires".to_owned(),
            false,
        ),
    ];
    if notified {
        expected.push((
            "canary at 10%: CanaryAvailabilityFastBurn5m reaches oncall".to_owned(),
            false,
        ));
    }
    expected.push((
        "rollback: CanaryAvailabilityFastBurn5m resolves".to_owned(),
        false,
    ));
    assert_eq!(cases, expected);
}

/// Issue 16, item 7: challenge 7's blind spot. Half the startups are lost before the app: the
/// server-side startup alerts stay quiet while the client-side SLO of the same spec, over
/// loadgen's client metrics, pages and then resolves after the fix. 20 s of timeline at 60x.
#[test]
fn the_blind_spot_rehearsal_pages_client_side_only() {
    if !e2e::have_prometheus() {
        return;
    }
    let dir = scratch("blind-spot");
    let junit = dir.join("junit.xml");
    let file = e2e::workspace_path("scenarios/rehearsals/blind-spot.toml");
    let code = loadgen(&[
        "rehearse",
        file.to_str().unwrap(),
        "--time-scale",
        "60",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let cases = junit_cases(&junit);
    assert_eq!(code, 0, "{cases:?}");
    assert_eq!(cases.len(), 7, "{cases:?}");
    assert!(cases.iter().all(|(_, failed)| !failed), "{cases:?}");
    let step = "requests lost before the backend";
    for wanted in [
        format!("{step}: StartupLatencyClientPage1h fires"),
        format!("{step}: StartupLatencyPage1h stays quiet"),
        "fixed: StartupLatencyClientFastBurn5m resolves".to_owned(),
    ] {
        assert!(
            cases.iter().any(|(n, _)| *n == wanted),
            "{wanted}: {cases:?}"
        );
    }
}

/// Rules of the user's own, on the mock's chat counters: more than `threshold` of chats failing
/// over 10 s.
fn own_rules(threshold: f64) -> String {
    format!(
        r#"groups:
  - name: mine
    rules:
      - alert: ChatFailing
        expr: |
          sum(rate(movieguru_chat_latency_milliseconds_count{{job="mock-server"}}[10s])) > 0
          and
          (1 - sum(rate(movieguru_chat_latency_milliseconds_bucket{{job="mock-server",le="5000"}}[10s]))
             / sum(rate(movieguru_chat_latency_milliseconds_count{{job="mock-server"}}[10s]))) > {threshold}
"#
    )
}

/// Healthy (every chat within 5 s) for 20 s, then all chats slower than 5 s for 25 s.
const OWN_REHEARSAL: &str = r#"
[[step]]
name = "healthy"
phase = { ChatLatencyMinMS = 100, ChatLatencyMaxMS = 400 }
duration = "20s"
load = { rate = 20 }
[[step.expect]]
alert = "ChatFailing"
state = "inactive"

[[step]]
name = "breach"
phase = { ChatLatencyMinMS = 6000, ChatLatencyMaxMS = 7000 }
duration = "25s"
[[step.expect]]
alert = "ChatFailing"
state = "firing"
within = "20s"
"#;

#[test]
fn a_rules_file_of_the_users_own_fires_in_the_breach_and_fails_when_unreachable() {
    if !e2e::have_prometheus() {
        return;
    }
    let dir = scratch("own");
    let rehearsal = dir.join("rehearsal.toml");
    std::fs::write(&rehearsal, OWN_REHEARSAL).unwrap();
    // The two runs are independent (each starts its own mock and Prometheus) and mostly wait on
    // the timeline: they run at once.
    let run = |threshold: f64| {
        let rules = dir.join(format!("rules-{threshold}.yml"));
        let junit = dir.join(format!("junit-{threshold}.xml"));
        std::fs::write(&rules, own_rules(threshold)).unwrap();
        let code = loadgen(&[
            "rehearse",
            rehearsal.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ]);
        (code, junit_cases(&junit))
    };
    let ((code, cases), unreachable) = std::thread::scope(|s| {
        let unreachable = s.spawn(|| run(1.5));
        (run(0.5), unreachable.join().unwrap())
    });
    assert_eq!(code, 0, "{cases:?}");
    assert_eq!(
        cases,
        [
            ("healthy: ChatFailing stays quiet".to_owned(), false),
            ("breach: ChatFailing fires".to_owned(), false)
        ]
    );

    // A ratio cannot exceed 1: the alert can never fire, and the rehearsal says so.
    let (code, cases) = unreachable;
    assert_eq!(code, 1, "{cases:?}");
    assert_eq!(
        cases,
        [
            ("healthy: ChatFailing stays quiet".to_owned(), false),
            ("breach: ChatFailing fires".to_owned(), true)
        ]
    );
}

#[test]
fn a_misspelt_alert_exits_64_before_any_load() {
    if !e2e::have_prometheus() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(TestServer::with_phase(
        mock_server::Phase::workshop_default(),
        LatencyMode::Record,
    ));
    let dir = scratch("typo");
    let rehearsal = dir.join("rehearsal.toml");
    std::fs::write(
        &rehearsal,
        OWN_REHEARSAL.replace(
            "\"inactive\"",
            "\"inactive\"\n[[step.expect]]\nalert = \"ChatLatencyFastBurn5\"\nstate = \"inactive\"",
        ),
    )
    .unwrap();
    let host = mock.url("");
    let code = loadgen(&[
        "rehearse",
        rehearsal.to_str().unwrap(),
        "--host",
        host.trim_end_matches('/'),
    ]);
    assert_eq!(code, 64);
    // The mock was scraped, but never sent a chat: the check came before the load.
    let metrics = parse_metrics(&get_metrics(mock.addr));
    let chats: f64 = metrics
        .iter()
        .filter(|(k, _)| k.starts_with("movieguru_chat_latency_milliseconds_count"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(chats, 0.0, "{metrics:?}");
    rt.block_on(mock.stop());
}

#[test]
fn alerts_wait_gives_0_1_64_and_69() {
    if !e2e::have_prometheus() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rules = "groups:\n  - name: t\n    rules:\n      - alert: NeverFires\n        expr: vector(1) == 0\n      - alert: AlwaysFires\n        expr: vector(1)\n";
    let config = "global:\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\n";
    let prometheus = rt
        .block_on(slo::LocalPrometheus::start(config, &[("rules.yml", rules)]))
        .unwrap();
    let url = prometheus.url().to_owned();
    let wait = |alert: &str, state: &str, extra: &[&str]| {
        let args = [
            &[
                "alerts",
                "wait",
                "--prometheus",
                &url,
                "--alert",
                alert,
                "--state",
                state,
            ][..],
            extra,
        ]
        .concat();
        loadgen(&args)
    };
    assert_eq!(wait("AlwaysFires", "firing", &["--within", "20s"]), 0);
    assert_eq!(wait("NeverFires", "inactive", &["--hold", "2s"]), 0);
    assert_eq!(wait("NeverFires", "firing", &["--within", "2s"]), 1);
    assert_eq!(wait("AlwaysFires", "inactive", &["--within", "1s"]), 1);
    assert_eq!(wait("NeverFire", "inactive", &[]), 64);
    let since = (e2e::unix_now() - 30.0).to_string();
    assert_eq!(wait("AlwaysFires", "firing", &["--since", &since]), 0);
    rt.block_on(prometheus.stop());
    // The same URL with nobody behind it.
    assert_eq!(wait("AlwaysFires", "firing", &["--within", "1s"]), 69);
}

/// The mock's `/metrics` text, over a plain HTTP/1.0 request.
fn get_metrics(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// Chat latency's bad share (answers slower than 5 s), as generated rules write an SLI.
const CHAT_SLOW: &str = "(sum(rate(movieguru_chat_latency_milliseconds_count{job=\"mock-server\"}[W])) \
    - sum(rate(movieguru_chat_latency_milliseconds_bucket{job=\"mock-server\",le=\"5000\"}[W]))) \
    / sum(rate(movieguru_chat_latency_milliseconds_count{job=\"mock-server\"}[W]))";

fn sli(window: &str) -> String {
    CHAT_SLOW.replace("[W]", &format!("[{window}]"))
}

/// Sloth's shape: one SLI recording per window labelled `sloth_id`/`sloth_window`, and two
/// alerts of ONE name told apart by `sloth_severity` (page: 14.4x over 5m and 1h, or 6x over
/// 30m and 6h; ticket: 3x over 2h and 1d, or 1x over 6h and 3d), for a 95% objective.
fn sloth_rules() -> String {
    let ids = r#"sloth_id: movieguru-chat-latency
          sloth_service: movieguru
          sloth_slo: chat-latency"#;
    let mut out = String::from(
        "groups:\n  - name: sloth-slo-sli-recordings-movieguru-chat-latency\n    rules:\n",
    );
    for w in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] {
        out.push_str(&format!(
            "      - record: slo:sli_error:ratio_rate{w}\n        expr: {}\n        labels:\n          {ids}\n          sloth_window: {w}\n",
            serde_json::to_string(&sli(w)).unwrap()
        ));
    }
    let sel = r#"{sloth_id="movieguru-chat-latency", sloth_service="movieguru", sloth_slo="chat-latency"}"#;
    let burn = |short: &str, long: &str, factor: &str| {
        format!(
            "(max(slo:sli_error:ratio_rate{short}{sel} > ({factor} * 0.05)) without (sloth_window) \
             and max(slo:sli_error:ratio_rate{long}{sel} > ({factor} * 0.05)) without (sloth_window))"
        )
    };
    out.push_str("  - name: sloth-slo-alerts-movieguru-chat-latency\n    rules:\n");
    for (severity, a, b) in [
        ("page", burn("5m", "1h", "14.4"), burn("30m", "6h", "6")),
        ("ticket", burn("2h", "1d", "3"), burn("6h", "3d", "1")),
    ] {
        out.push_str(&format!(
            "      - alert: MovieguruChatLatencyHighErrorRate\n        expr: {}\n        labels:\n          sloth_severity: {severity}\n",
            serde_json::to_string(&format!("{a} or {b}")).unwrap()
        ));
    }
    out
}

/// Pyrra's shape: burn-rate recordings labelled `slo`, and every alert named `ErrorBudgetBurn`,
/// told apart by `slo`, `severity`, `long` and `short`, each with a `for`, in a group with an
/// `interval`.
fn pyrra_rules() -> String {
    let mut out =
        String::from("groups:\n  - name: movieguru-chat-latency\n    interval: 30s\n    rules:\n");
    for w in ["5m", "30m", "1h", "6h"] {
        out.push_str(&format!(
            "      - record: movieguru_chat_latency:burnrate{w}\n        expr: {}\n        labels:\n          slo: movieguru-chat-latency\n",
            serde_json::to_string(&sli(w)).unwrap()
        ));
    }
    for (short, long, factor, r#for, severity) in [
        ("5m", "1h", "14", "2m", "critical"),
        ("30m", "6h", "7", "15m", "critical"),
    ] {
        let sel = r#"{slo="movieguru-chat-latency"}"#;
        let expr = format!(
            "movieguru_chat_latency:burnrate{short}{sel} > ({factor} * (1-0.95)) and \
             movieguru_chat_latency:burnrate{long}{sel} > ({factor} * (1-0.95))"
        );
        out.push_str(&format!(
            "      - alert: ErrorBudgetBurn\n        expr: {}\n        for: {for}\n        labels:\n          long: {long}\n          severity: {severity}\n          short: {short}\n          slo: movieguru-chat-latency\n",
            serde_json::to_string(&expr).unwrap()
        ));
    }
    out
}

/// Written by hand: a group `interval`, `for`, `keep_firing_for`, a subquery and an `offset`;
/// two alerts of one name told apart by `severity`.
fn hand_rules() -> String {
    format!(
        r#"groups:
  - name: by-hand
    interval: 30s
    rules:
      - record: job:chat_slow:ratio_rate5m
        expr: {}
      - alert: ChatSlow
        expr: max_over_time(job:chat_slow:ratio_rate5m[2m:30s]) > 0.5
        for: 1m
        keep_firing_for: 1m
        labels:
          severity: page
      - alert: ChatSlow
        expr: job:chat_slow:ratio_rate5m > 0.5 unless (job:chat_slow:ratio_rate5m offset 10m > 0.5)
        labels:
          severity: ticket
"#,
        serde_json::to_string(&sli("5m")).unwrap()
    )
}

/// Healthy for 5 minutes (every chat under 5 s), a breach (every chat slower) for
/// `breach_for`, the fix for `fixed_for`; the expectations
/// (`[[step.expect]]` tables, by step name) added per rules file.
fn generated_rehearsal(
    healthy: &str,
    breach: &str,
    fixed: &str,
    (breach_for, fixed_for): (&str, &str),
) -> String {
    format!(
        r#"[[step]]
name = "healthy"
phase = {{ ChatLatencyMinMS = 100, ChatLatencyMaxMS = 400 }}
duration = "5m"
load = {{ rate = 20 }}
{healthy}
[[step]]
name = "breach"
phase = {{ ChatLatencyMinMS = 6000, ChatLatencyMaxMS = 7000 }}
duration = "{breach_for}"
{breach}
[[step]]
name = "fixed"
phase = {{ ChatLatencyMinMS = 100, ChatLatencyMaxMS = 400 }}
duration = "{fixed_for}"
{fixed}"#
    )
}

/// One team's rules to rehearse: its name, the rules file, the alert and labels expected, other
/// alerts expected to fire with it, and (breach for, fires within, fixed for, resolves within).
type Shape = (
    &'static str,
    String,
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    (&'static str, &'static str, &'static str, &'static str),
);

fn expect(alert: &str, labels: &str, state: &str, within: Option<&str>) -> String {
    let within = within.map_or(String::new(), |w| format!("within = \"{w}\"\n"));
    format!(
        "[[step.expect]]\nalert = \"{alert}\"\nlabels = {{ {labels} }}\nstate = \"{state}\"\n{within}"
    )
}

/// Issue 21: a team's own rules in Sloth's, Pyrra's and a hand-written shape, compressed by
/// `--time-scale 60` (windows, `for`, `keep_firing_for`, `interval`, subquery, `offset`) and
/// targeted with label matchers: quiet when healthy, firing on the breach, resolved after the
/// fix. A matcher no rule of the name carries exits 64 before any load, listing what they carry.
#[test]
fn sloth_pyrra_and_hand_written_rules_rehearse_at_60x_by_label() {
    if !e2e::have_prometheus() {
        return;
    }
    let dir = scratch("shapes");
    let sloth_page = r#"sloth_severity = "page""#;
    let pyrra_fast = r#"slo = "movieguru-chat-latency", short = "5m""#;
    // Each case's (breach, fires within, fix, resolves within) follow from its windows, at a
    // 95% objective, after 5 healthy minutes:
    // - Sloth's page alert also watches 30m and 6h windows at 6x the budget (0.3 of chats
    //   slow): after 12 slow minutes both stay above 0.3 until about 23 minutes into the fix.
    // - Pyrra's fast alert needs 14x (0.7) over 1h as well as 5m: t/(5+t) > 0.7 takes 11.7
    //   slow minutes, then its `for: 2m`; it clears within 5 minutes of the fix.
    // - The hand-written page clears after its 5m window, subquery and `keep_firing_for`.
    let cases = [
        (
            "sloth",
            sloth_rules(),
            "MovieguruChatLatencyHighErrorRate",
            sloth_page,
            vec![(
                "MovieguruChatLatencyHighErrorRate",
                r#"sloth_severity = "ticket""#,
            )],
            ("12m", "10m", "30m", "28m"),
        ),
        (
            "pyrra",
            pyrra_rules(),
            "ErrorBudgetBurn",
            pyrra_fast,
            Vec::new(),
            ("25m", "24m", "15m", "12m"),
        ),
        (
            "hand",
            hand_rules(),
            "ChatSlow",
            r#"severity = "page""#,
            vec![("ChatSlow", r#"severity = "ticket""#)],
            ("12m", "10m", "15m", "12m"),
        ),
    ];
    // The three rehearsals are independent and mostly wait on their timelines: they run at once.
    let rehearse = |(
        shape,
        rules,
        alert,
        labels,
        also_firing,
        (breach_for, fire_within, fixed_for, resolve_within),
    ): Shape| {
        let rules_file = dir.join(format!("{shape}.yml"));
        std::fs::write(&rules_file, &rules).unwrap();
        let mut breach = expect(alert, labels, "firing", Some(fire_within));
        for (a, l) in &also_firing {
            breach.push_str(&expect(a, l, "firing", Some(fire_within)));
        }
        let rehearsal = dir.join(format!("{shape}.toml"));
        std::fs::write(
            &rehearsal,
            generated_rehearsal(
                &expect(alert, labels, "inactive", None),
                &breach,
                &expect(alert, labels, "resolved", Some(resolve_within)),
                (breach_for, fixed_for),
            ),
        )
        .unwrap();
        let junit = dir.join(format!("{shape}.xml"));
        let args = [
            "rehearse",
            rehearsal.to_str().unwrap(),
            "--rules",
            rules_file.to_str().unwrap(),
            "--time-scale",
            "60",
            "--junit",
            junit.to_str().unwrap(),
        ];
        let code = loadgen(&args);
        let cases = junit_cases(&junit);
        assert_eq!(code, 0, "{shape}: {cases:?}");
        assert_eq!(cases.len(), 3 + also_firing.len(), "{shape}: {cases:?}");
        assert!(
            cases.iter().all(|(_, failed)| !failed),
            "{shape}: {cases:?}"
        );
        assert!(
            cases[0].0.contains("{"),
            "{shape}: the title names the labels: {cases:?}"
        );
    };
    std::thread::scope(|s| {
        let runs: Vec<_> = cases
            .into_iter()
            .map(|case| s.spawn(|| rehearse(case)))
            .collect();
        for run in runs {
            if let Err(panic) = run.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });

    // A matcher no rule of the name can carry: 64 before any load, naming what they carry.
    let rehearsal = dir.join("bad-labels.toml");
    std::fs::write(
        &rehearsal,
        generated_rehearsal(
            &expect(
                "MovieguruChatLatencyHighErrorRate",
                r#"sloth_severity = "critical""#,
                "inactive",
                None,
            ),
            "",
            "",
            ("12m", "15m"),
        ),
    )
    .unwrap();
    let code = loadgen(&[
        "rehearse",
        rehearsal.to_str().unwrap(),
        "--rules",
        dir.join("sloth.yml").to_str().unwrap(),
        "--time-scale",
        "60",
    ]);
    assert_eq!(code, 64);
}
