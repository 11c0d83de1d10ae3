//! Golden files: the command-line surface and every printed format, byte for byte. Inputs are
//! canned values (a report built from fixed records, not a live run), so nothing here can flake;
//! a change in any output shows as a diff against `tests/golden/`. After an intended change, run
//! with `LOADGEN_BLESS=1` to rewrite the files, and review the diff in git.

use std::path::PathBuf;

use clap::CommandFactory;
use engine::failure::ErrorKind;
use engine::journey::report::{EndpointReport, JourneyReport, LatencyMs};
use engine::plan::Pacing;
use engine::report::gate::Gate;
use engine::report::stats::Stats;
use engine::report::{PacingReport, RateWindow, Report, TargetReport};
use loadgen::canary::{CanaryResult, Rollback, StepResult, TargetSummary};
use loadgen::cli::Cli;
use loadgen::output::{HeyReport, OutputFormat, Render};

/// Compares `actual` with the golden file `name`, or rewrites it under `LOADGEN_BLESS=1`.
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("LOADGEN_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (LOADGEN_BLESS=1 writes it)", path.display()));
    if want != actual {
        let line = want
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| want.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its golden file, first at line {}:\n  golden: {:?}\n  actual: {:?}\n\
             ---- actual ----\n{actual}",
            line + 1,
            want.lines().nth(line),
            actual.lines().nth(line),
        );
    }
}

/// Every command path: `[]`, `["canary"]`, `["slo", "rules"]`, ...
fn command_paths(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    for sub in cmd.get_subcommands() {
        let mut p = prefix.clone();
        p.push(sub.get_name().to_string());
        command_paths(sub, p, out);
    }
}

/// `loadgen [SUB...] -h` and `--help`, as the binary prints them (at a fixed width, so the
/// terminal running the test does not matter).
#[test]
fn help_of_every_command() {
    let root = Cli::command().term_width(100);
    let mut paths = Vec::new();
    command_paths(&root, Vec::new(), &mut paths);
    assert!(paths.len() >= 12, "found only {paths:?}");
    for path in paths {
        for flag in ["-h", "--help"] {
            let argv = std::iter::once("loadgen".to_string())
                .chain(path.iter().cloned())
                .chain(std::iter::once(flag.to_string()));
            let err = root
                .clone()
                .try_get_matches_from(loadgen::cli::normalize(argv))
                .expect_err("help is an early exit");
            assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{path:?}");
            let name = if path.is_empty() {
                "loadgen".to_string()
            } else {
                format!("loadgen-{}", path.join("-"))
            };
            let suffix = if flag == "-h" { "short" } else { "long" };
            golden(
                &format!("help/{name}.{suffix}.txt"),
                &err.render().to_string(),
            );
        }
    }
}

/// Records of one target: fixed latencies (microseconds), statuses, failures and phases.
fn stats(scale: u64, with_errors: bool, open: bool) -> Stats {
    let mut s = Stats::default();
    for i in 0..200u64 {
        let us = scale * (1000 + (i * 37) % 900) + i * i;
        let status = if i % 25 == 0 { 503 } else { 200 };
        // Under an open-model rate the latency from due time exceeds the service time.
        let service = open.then(|| us - us / 5);
        s.record_response(status, us, service, 120 + i % 7);
        s.stages.resp_wait.record(us - 300);
        s.stages.resp_read.record(40 + i % 9);
        s.stages.req_write.record(12 + i % 3);
        if i % 50 == 0 {
            s.stages.dns_dialup.record(900 + i);
            s.stages.dns.record(100 + i);
        }
    }
    if with_errors {
        s.record_error(ErrorKind::Timeout);
        s.record_error(ErrorKind::Timeout);
        s.record_error(ErrorKind::Reset);
        s.record_error(ErrorKind::ConnectRefused);
    }
    if open {
        s.late = 3;
    }
    s
}

/// A finished split run: two targets, judged against three gates.
fn report(pacing: Pacing, interrupted: bool) -> (Report, Vec<Gate>) {
    let open = matches!(pacing, Pacing::Open { .. });
    let per_target = [
        (
            "stable",
            "http://127.0.0.1:8080/",
            90,
            stats(1, false, open),
        ),
        ("next", "http://127.0.0.1:8081/", 10, stats(3, true, open)),
    ];
    let secs = 2.5;
    let mut total = Stats::default();
    for (.., s) in &per_target {
        total.merge(s);
    }
    let targets = per_target
        .into_iter()
        .map(|(name, url, w, s)| {
            TargetReport::from_stats(name, Some(url.to_string()), Some(w), s, secs)
        })
        .collect();
    let mut r = Report {
        schema_version: engine::report::SCHEMA_VERSION,
        run_id: format!("{:032x}", 0x5eed_u128 + u128::from(interrupted)),
        duration_secs: secs,
        window: RateWindow::LastAnswer,
        window_secs: secs,
        pacing: PacingReport::new(pacing),
        interrupted,
        abandoned: u64::from(interrupted) * 2,
        not_sent: 0,
        total: TargetReport::from_stats("total", None, None, total, secs),
        targets,
        slo: Vec::new(),
        peak_rss_kib: Some(10_240),
        split_events: Vec::new(),
        series: Vec::new(),
    };
    let gates: Vec<Gate> = ["p99<2.5ms", "error_rate<1%", "next:rps>50", "mean<=4ms"]
        .iter()
        .map(|g| g.parse().unwrap())
        .collect();
    r.slo = gates.iter().map(|g| g.judge(&r)).collect();
    (r, gates)
}

/// What the runner prints for `-o summary`: the output layer's text of the report.
fn summary(r: &Report, gates: &[Gate]) -> String {
    let hey = HeyReport { report: r, gates };
    hey.to_text(OutputFormat::Text).unwrap()
}

fn json(r: &Report) -> String {
    let hey = HeyReport {
        report: r,
        gates: &[],
    };
    hey.to_text(OutputFormat::Json).unwrap()
}

#[test]
fn hey_summary_and_json() {
    let (closed, gates) = report(Pacing::Closed, false);
    golden("hey/summary-split.txt", &summary(&closed, &gates));
    golden("hey/report-split.json", &json(&closed));

    let (open, gates) = report(Pacing::Open { rate: 150.0 }, true);
    golden("hey/summary-open-interrupted.txt", &summary(&open, &gates));
    golden("hey/report-open-interrupted.json", &json(&open));

    let (mut one, _) = report(Pacing::PerWorker { qps: 5.0 }, false);
    one.targets.truncate(1);
    one.slo.clear();
    golden("hey/summary-single.txt", &summary(&one, &[]));
    golden("hey/report-single.json", &json(&one));
}

/// Every pacing's and every outcome's exit code.
#[test]
fn exit_codes() {
    use loadgen::exit;
    let mut table = String::new();
    for (name, code) in [
        ("OK", exit::OK),
        ("FAILED", exit::FAILED),
        ("USAGE", exit::USAGE),
        ("ROLLED_BACK", exit::ROLLED_BACK),
        ("SLO", exit::SLO),
        ("INTERRUPTED", exit::INTERRUPTED),
    ] {
        table.push_str(&format!("{name} {code}\n"));
    }
    let (mut r, _) = report(Pacing::Closed, false);
    let broke = r.slo.clone();
    for (case, held, interrupted) in [
        ("gates held", true, false),
        ("a gate broke", false, false),
        ("interrupted", true, true),
        ("interrupted, a gate broke", false, true),
    ] {
        r.interrupted = interrupted;
        r.slo = broke.clone();
        if held {
            r.slo.iter_mut().for_each(|o| o.held = true);
        }
        for expect_breach in [false, true] {
            let code = loadgen::exit_code(&r, expect_breach);
            table.push_str(&format!("{case}, expect_breach={expect_breach}: {code}\n"));
        }
    }
    golden("exit-codes.txt", &table);
}

fn endpoint(target: &str, name: &str, n: u64, f: u64, scale: f64) -> EndpointReport {
    let mut by_kind = std::collections::BTreeMap::new();
    if f > 0 {
        by_kind.insert("http_503".to_string(), f - 1);
        by_kind.insert("timeout".to_string(), 1);
    }
    EndpointReport {
        target: target.to_string(),
        name: name.to_string(),
        requests: n,
        failures: f,
        failures_by_kind: by_kind,
        abandoned: 0,
        rps: n as f64 / 12.5,
        failures_per_sec: f as f64 / 12.5,
        latency_ms: LatencyMs {
            count: n - f,
            mean: 12.345 * scale,
            min: 1.5 * scale,
            median: 10.0 * scale,
            p95: 30.25 * scale,
            p99: 55.5 * scale,
            max: 99.875 * scale,
        },
    }
}

fn journey_report(several_targets: bool) -> JourneyReport {
    let second = if several_targets { "next" } else { "default" };
    let mut endpoints = vec![
        endpoint("default", "GET /", 120, 0, 1.0),
        endpoint("default", "POST /chat", 80, 5, 4.0),
        endpoint(second, "GET /preferences, \"quoted\"", 40, 2, 0.5),
    ];
    // The one request abandoned in flight was a chat.
    endpoints[1].abandoned = 1;
    let mut total = endpoint("", "Aggregated", 240, 7, 2.0);
    total.failures_by_kind.clear();
    total.abandoned = 1;
    JourneyReport {
        schema_version: engine::journey::report::SCHEMA_VERSION,
        duration_secs: 12.5,
        users: 7,
        interrupted: several_targets,
        abandoned: 1,
        tasks: [("chat".to_string(), 16u64), ("browse".to_string(), 24)]
            .into_iter()
            .collect(),
        endpoints,
        total,
        peak_rss_kib: None,
        split_events: Vec::new(),
        users_story: None,
        series: Vec::new(),
        latency: None,
    }
}

#[test]
fn journey_text_json_and_locust_csv() {
    for (label, several) in [("one-target", false), ("two-targets", true)] {
        let r = journey_report(several);
        // Each format as `journey -o FORMAT` prints it, through the one output layer.
        for (format, ext) in [
            (OutputFormat::Text, "txt"),
            (OutputFormat::Csv, "csv"),
            (OutputFormat::Json, "json"),
        ] {
            golden(
                &format!("journey/{label}.{ext}"),
                &r.to_text(format).unwrap(),
            );
        }
        // The schema file still describes what is printed.
        super::assert_schema(super::JOURNEY_SCHEMA, &serde_json::to_value(&r).unwrap());
    }
}

#[test]
fn canary_text_and_json() {
    let (r, _) = report(Pacing::Open { rate: 100.0 }, false);
    let outcomes = r.slo.clone();
    let step = |step: usize, weight: u32, passed: bool| StepResult {
        step,
        weight,
        seconds: 30.0,
        canary_requests: 150 * u64::from(weight) / 100,
        stable_requests: 150 * u64::from(100 - weight) / 100,
        canary_error_rate: if passed { 0.001 } else { 0.0625 },
        canary_p99: 0.012_345,
        gates: outcomes
            .iter()
            .cloned()
            .map(|mut o| {
                o.held = passed || o.gate != "error_rate<1%";
                o
            })
            .collect(),
        passed,
    };
    let promoted = CanaryResult {
        checks: Vec::new(),
        promoted: true,
        steps: vec![step(1, 5, true), step(2, 50, true), step(3, 100, true)],
        rollback: None,
    };
    let rolled_back = CanaryResult {
        checks: Vec::new(),
        promoted: false,
        steps: vec![step(1, 5, true), step(2, 20, false)],
        rollback: Some(Rollback {
            step: 2,
            weight: 20,
            time_to_detect_secs: 5.25,
            time_to_rollback_secs: 0.012,
            verification: Some(TargetSummary {
                requests: 3000,
                error_rate: 0.0005,
                p99: 0.0081,
            }),
        }),
    };
    let mut no_traffic = step(1, 5, false);
    no_traffic.gates.iter_mut().for_each(|g| g.held = true);
    let unjudged = CanaryResult {
        checks: Vec::new(),
        promoted: false,
        steps: vec![no_traffic],
        rollback: None,
    };
    for (name, result) in [
        ("promoted", promoted),
        ("rolled-back", rolled_back),
        ("unjudged", unjudged),
    ] {
        golden(
            &format!("canary/{name}.txt"),
            &result.to_text(OutputFormat::Text).unwrap(),
        );
        golden(
            &format!("canary/{name}.json"),
            &result.to_text(OutputFormat::Json).unwrap(),
        );
    }
}

/// Usage errors of every subcommand: exit code and message, through the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_of_every_command() {
    // One command line a case, split on spaces (none of them quotes anything).
    let cases = [
        "",
        "-n 1 -c 2 http://127.0.0.1:1/",
        "-q 1 --rate 5 http://127.0.0.1:1/",
        "--split a=1 http://127.0.0.1:1/",
        "--target a=http://127.0.0.1:1/ --split a=x",
        "--no-such-flag",
        "canary --stable http://127.0.0.1:1/",
        "canary --stable http://127.0.0.1:1/ --canary http://127.0.0.1:2/ --gate p99<soon",
        "journey",
        "journey --host http://127.0.0.1:1/ -u 0",
        "journey --host ftp://x/",
        "journey --host http://127.0.0.1:1/ --wait 5..1",
        "phase show",
        "phase apply no-such-preset --host http://127.0.0.1:1/",
        "scenario run /no/such/timeline.toml --host http://127.0.0.1:1/",
        "slo rules /no/such/spec.toml",
        "alerts wait --prometheus http://127.0.0.1:1/",
        "merge",
        "merge /no/such/report.json",
    ];
    let mut table = String::new();
    for line in cases {
        let args = super::words(line);
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(&args)
            .env_remove("LOADGEN_ADMIN_TOKEN")
            .output()
            .await
            .unwrap();
        table.push_str(&format!(
            "$ loadgen {}\nexit {}\n{}{}\n",
            args.join(" "),
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        ));
    }
    golden("usage-errors.txt", &table);
}

/// The render calls the golden files below are made with (kept apart so the same cases can be
/// rendered by other code, to compare).
mod render {
    use loadgen::output::{HeyReport, OutputFormat, Render};

    pub fn hey_html(r: &engine::report::Report) -> String {
        HeyReport {
            report: r,
            gates: &[],
        }
        .to_text(OutputFormat::Html)
        .unwrap()
    }
    pub fn journey_html(r: &engine::journey::report::JourneyReport) -> String {
        r.to_text(OutputFormat::Html).unwrap()
    }
    pub fn canary_html(r: &loadgen::canary::CanaryResult) -> String {
        r.to_text(OutputFormat::Html).unwrap()
    }
    /// What `scenario run` prints: each step's table as it ends, then the summary.
    pub fn timeline_text(steps: &[loadgen::scenario::StepReport]) -> String {
        let mut out = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            loadgen::output::timeline::step(&mut out, i, steps.len(), s).unwrap();
        }
        steps.render(OutputFormat::Text, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }
    pub fn timeline_json(steps: &[loadgen::scenario::StepReport]) -> String {
        steps.to_text(OutputFormat::Json).unwrap()
    }
    pub fn timeline_html(steps: &[loadgen::scenario::StepReport]) -> String {
        steps.to_text(OutputFormat::Html).unwrap()
    }
    pub fn rehearsal(r: &loadgen::rehearse::RehearsalReport, format: &str) -> String {
        let format = match format {
            "txt" => OutputFormat::Text,
            "json" => OutputFormat::Json,
            _ => OutputFormat::Junit,
        };
        r.to_text(format).unwrap()
    }
}

/// An HTML page without the scripts and stylesheets every report inlines alike (`webui`'s
/// shared helper and stylesheet, the report's own chart script and CSS), so its golden file
/// holds what is this page's: its markup and data. Each must be there, once.
fn page(html: String) -> String {
    use loadgen::output::html::{PAGE_CSS, PAGE_JS};
    let shared = [
        (
            webui::inline_script(webui::CHART_JS),
            "<script>/* webui::CHART_JS */</script>",
        ),
        (
            webui::inline_style(webui::BASE_CSS),
            "<style>/* webui::BASE_CSS */</style>",
        ),
        (
            webui::inline_style(PAGE_CSS),
            "<style>/* html::PAGE_CSS */</style>",
        ),
        (PAGE_JS.to_owned(), "/* html::PAGE_JS */"),
    ];
    shared.iter().fold(html, |html, (text, marker)| {
        assert_eq!(
            html.matches(text.as_str()).count(),
            1,
            "{marker} once in {html}"
        );
        html.replace(text.as_str(), marker)
    })
}

/// A timeline of three steps: a load under a phase, a pause without load, a load whose split
/// changed while it ran.
fn timeline_steps() -> Vec<loadgen::scenario::StepReport> {
    let timeline = scenarios::Timeline::parse(
        r#"
[[step]]
name = "warm up"
duration = "10s"
phase = "challenge1"
[step.load]
users = 7

[[step]]
name = "pause"
duration = "5s"
[step.load]
users = 0

[[step]]
name = "canary at half"
duration = "12s"
split = { default = 50, next = 50 }
[step.load]
users = 7
rate = 3
"#,
        None,
    )
    .unwrap();
    let options = loadgen::scenario::ScenarioOptions {
        file: "t.toml".into(),
        host: None,
        targets: vec![
            ("default".into(), "http://127.0.0.1:8080".into()),
            ("next".into(), "http://127.0.0.1:8081".into()),
        ],
        token: None,
        users: 1,
        wait: None,
        journey: "workshop".into(),
        timeout: std::time::Duration::from_secs(20),
        stats_interval: std::time::Duration::ZERO,
        insecure: false,
    };
    let planned = loadgen::scenario::plan_timeline(timeline, &options).unwrap();
    let change = engine::report::SplitEvent {
        at_secs: 21.5,
        weights_before: [("default".to_string(), 50), ("next".to_string(), 50)].into(),
        weights_after: [("default".to_string(), 100), ("next".to_string(), 0)].into(),
        requests_before: [("default".to_string(), 30), ("next".to_string(), 29)].into(),
        requests_after: [("default".to_string(), 12), ("next".to_string(), 0)].into(),
    };
    planned
        .into_iter()
        .enumerate()
        .map(|(i, s)| loadgen::scenario::StepReport {
            name: s.name,
            duration_secs: s.duration.as_secs_f64(),
            phase_in_force: s.phase.as_ref().map(|p| serde_json::json!({ "name": p })),
            report: (s.load.users > 0).then(|| journey_report(i == 2)),
            load: s.load,
            phase: s.phase,
            split_events: if i == 2 {
                vec![change.clone()]
            } else {
                Vec::new()
            },
        })
        .collect()
}

fn rehearsal_report() -> loadgen::rehearse::RehearsalReport {
    use loadgen::rehearse::{Expected, Verdict};
    let verdict = |expectation: &str, state, observed, passed, detail: &str| Verdict {
        expectation: expectation.into(),
        step: "breach".into(),
        alert: "ChatLatencyFastBurn".into(),
        labels: Default::default(),
        state,
        predicted_secs: Some(62.0),
        deadline_secs: (state == Expected::Firing).then_some(90.0),
        observed_secs: observed,
        passed,
        detail: detail.into(),
    };
    loadgen::rehearse::RehearsalReport {
        file: "scenarios/rehearsals/chat-latency.toml".into(),
        time_scale: 60,
        steps: vec![("calm".into(), 60.0), ("breach".into(), 180.0)],
        verdicts: vec![
            verdict(
                "calm: ChatLatencyFastBurn stays quiet",
                Expected::Inactive,
                None,
                true,
                "quiet through the step",
            ),
            verdict(
                "breach: ChatLatencyFastBurn fires",
                Expected::Firing,
                Some(71.5),
                true,
                "fired at 71.5 s; deadline 90.0 s",
            ),
            verdict(
                "breach: ChatLatencySlowBurn fires",
                Expected::Firing,
                None,
                false,
                "never fired by the 90.0 s deadline <p99 & \"slow\">",
            ),
            verdict(
                "recovery: ChatLatencyFastBurn resolves",
                Expected::Resolved,
                None,
                false,
                "never fired in this rehearsal",
            ),
        ],
        interrupted: false,
    }
}

/// The outputs no golden file held before the output layer: the timeline's, rehearse's, and
/// every HTML page (without the shared assets).
#[test]
fn timeline_rehearsal_and_html_pages() {
    let steps = timeline_steps();
    golden("timeline/steps.txt", &render::timeline_text(&steps));
    golden("timeline/steps.json", &render::timeline_json(&steps));
    golden("html/timeline.html", &page(render::timeline_html(&steps)));
    let rehearsal = rehearsal_report();
    for ext in ["txt", "json", "xml"] {
        golden(
            &format!("rehearse/verdicts.{ext}"),
            &render::rehearsal(&rehearsal, ext),
        );
    }
    let (mut hey, _) = report(Pacing::Open { rate: 150.0 }, true);
    hey.split_events = steps[2].split_events.clone();
    golden("html/hey.html", &page(render::hey_html(&hey)));
    golden(
        "html/journey.html",
        &page(render::journey_html(&journey_report(true))),
    );
    let (r, _) = report(Pacing::Closed, false);
    let canary = loadgen::canary::CanaryResult {
        promoted: false,
        steps: vec![StepResult {
            step: 2,
            weight: 20,
            seconds: 10.0,
            canary_requests: 160,
            stable_requests: 640,
            canary_error_rate: 0.0625,
            canary_p99: 0.25,
            gates: r.slo.clone(),
            passed: false,
        }],
        rollback: Some(Rollback {
            step: 2,
            weight: 20,
            time_to_detect_secs: 10.0,
            time_to_rollback_secs: 0.004,
            verification: None,
        }),
        checks: vec![
            loadgen::canary::Check {
                at_secs: 5.0,
                step: 1,
                weight: 5,
                canary_requests: 40,
                canary_error_rate: 0.0,
                canary_p99: 0.012,
                passed: true,
            },
            loadgen::canary::Check {
                at_secs: 10.0,
                step: 2,
                weight: 20,
                canary_requests: 160,
                canary_error_rate: 0.0625,
                canary_p99: 0.25,
                passed: false,
            },
        ],
    };
    golden("html/canary.html", &page(render::canary_html(&canary)));
}
