//! The command line, in-process: every hey flag in hey's one-dash spelling and in two-dash
//! spelling, hey's defaults, loadgen's own flags, subcommands beside hey mode, and usage errors.

use std::time::Duration;

use clap::Parser;
use engine::plan::{Pacing, Plan, PlanError, Protocol, Stop};
use engine::weighted::SplitFlagError;
use loadgen::cli::{Cli, Command, HeyRun, normalize};
use loadgen::output::OutputFormat;

use super::{hey_run, parse, plan};

const URL: &str = "http://127.0.0.1:9/path?q=1";

/// Both spellings of one flag's arguments (`-c` and `--c`), each followed by the URL.
fn spellings(one_dash: &[&str]) -> [Vec<String>; 2] {
    let spell = |two: bool| {
        one_dash
            .iter()
            .map(
                |a| match two && a.starts_with('-') && !a.starts_with("--") {
                    true => format!("-{a}"),
                    false => a.to_string(),
                },
            )
            .chain(std::iter::once(URL.to_owned()))
            .collect()
    };
    [spell(false), spell(true)]
}

/// Parses both spellings of one flag and checks they give the same plan field.
fn both<T: PartialEq + std::fmt::Debug>(one_dash: &[&str], get: impl Fn(&Plan) -> T, want: T) {
    for args in spellings(one_dash) {
        let v: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(get(&plan(&v)), want, "{v:?}");
    }
}

/// As `both`, for what the runner keeps beside the plan (output, threads).
fn both_run<T: PartialEq + std::fmt::Debug>(
    one_dash: &[&str],
    get: impl Fn(&HeyRun) -> T,
    want: T,
) {
    for args in spellings(one_dash) {
        let v: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(get(&hey_run(&v)), want, "{v:?}");
    }
}

#[test]
fn hey_defaults() {
    let p = plan(&[URL]);
    assert_eq!(p.stop, Stop::Count(200));
    assert_eq!(p.concurrency, 50);
    assert_eq!(p.pacing, Pacing::Closed);
    assert_eq!(p.timeout, Some(Duration::from_secs(20)));
    assert_eq!(p.request.method, http::Method::GET);
    assert_eq!(p.targets[0].headers["content-type"], "text/html");
    assert_eq!(p.targets[0].headers["accept-encoding"], "gzip");
    assert_eq!(p.protocol, Protocol::Http1);
    assert!(p.keepalive);
    assert_eq!(p.max_redirects, 10);
    let r = hey_run(&[URL]);
    assert_eq!(r.output, OutputFormat::Text);
    assert_eq!(r.cpus, std::thread::available_parallelism().unwrap().get());
}

#[test]
fn each_hey_flag_one_dash_and_two() {
    both(&["-n", "1000"], |p| p.stop, Stop::Count(1000));
    both(&["-c", "7"], |p| p.concurrency, 7);
    both(&["-q", "2.5"], |p| p.pacing, Pacing::PerWorker { qps: 2.5 });
    both(
        &["-z", "1m30s"],
        |p| p.stop,
        Stop::Duration(Duration::from_secs(90)),
    );
    both_run(&["-o", "csv"], |p| p.output, OutputFormat::Csv);
    both(
        &["-m", "post"],
        |p| p.request.method.clone(),
        http::Method::POST,
    );
    both(
        &["-H", "X-A: 1", "-H", "X-B:2"],
        |p| {
            (
                p.targets[0].headers["x-a"].clone(),
                p.targets[0].headers["x-b"].clone(),
            )
        },
        ("1".parse().unwrap(), "2".parse().unwrap()),
    );
    both(&["-t", "3"], |p| p.timeout, Some(Duration::from_secs(3)));
    both(&["-t", "0"], |p| p.timeout, None);
    both(
        &["-A", "application/json"],
        |p| p.targets[0].headers["accept"].clone(),
        "application/json".parse().unwrap(),
    );
    both(
        &["-d", "{\"a\":1}"],
        |p| p.request.body.clone(),
        bytes::Bytes::from_static(b"{\"a\":1}"),
    );
    both(
        &["-T", "application/json"],
        |p| p.targets[0].headers["content-type"].clone(),
        "application/json".parse().unwrap(),
    );
    both(
        &["-a", "user:pass"],
        |p| p.targets[0].headers["authorization"].clone(),
        "Basic dXNlcjpwYXNz".parse().unwrap(),
    );
    both(
        &["-x", "127.0.0.1:3128"],
        |p| {
            (
                p.proxied,
                p.targets[0].host.clone(),
                p.targets[0].port,
                p.targets[0].request_uri.to_string(),
            )
        },
        (true, "127.0.0.1".to_string(), 3128, URL.to_string()),
    );
    both(&["-h2"], |p| p.protocol, Protocol::Http2);
    both(
        &["-host", "example.com"],
        |p| p.targets[0].headers["host"].clone(),
        "example.com".parse().unwrap(),
    );
    both(
        &["-disable-compression"],
        |p| p.targets[0].headers.contains_key("accept-encoding"),
        false,
    );
    both(
        &["-disable-keepalive"],
        |p| (p.keepalive, p.targets[0].headers["connection"].clone()),
        (false, "close".parse().unwrap()),
    );
    both(&["-disable-redirects"], |p| p.max_redirects, 0);
    both_run(&["-cpus", "1"], |p| p.cpus, 1);
    both_run(&["-cpus=1"], |p| p.cpus, 1);
}

#[test]
fn body_from_file() {
    let path = std::env::temp_dir().join(format!("loadgen-body-{}.txt", std::process::id()));
    std::fs::write(&path, b"from a file").unwrap();
    let p = path.to_str().unwrap();
    both(
        &["-D", p],
        |p| p.request.body.clone(),
        bytes::Bytes::from_static(b"from a file"),
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn loadgen_flags() {
    assert_eq!(
        plan(&["--rate", "1k", URL]).pacing,
        Pacing::Open { rate: 1000.0 }
    );
    assert_eq!(plan(&["-n", "10k", URL]).stop, Stop::Count(10_000));
    assert_eq!(
        hey_run(&["--output", "json", URL]).output,
        OutputFormat::Json
    );
    assert!(!hey_run(&["--no-progress", URL]).progress);
    let p = plan(&[
        "--target",
        "good=http://a:1/",
        "--target",
        "next=http://b:2/x",
        "--split",
        "good=90",
        "--split",
        "next=10",
    ]);
    let t: Vec<(&str, u32, &str)> = p
        .targets
        .iter()
        .map(|t| (t.name.as_str(), t.weight, t.host.as_str()))
        .collect();
    assert_eq!(t, [("good", 90, "a"), ("next", 10, "b")]);
    let p = hey_run(&[
        "--slo",
        "error_rate<1%",
        "--slo",
        "p99<500ms",
        "--expect-breach",
        URL,
    ]);
    assert_eq!((p.gates.len(), p.expect_breach), (2, true));
}

#[test]
fn values_that_look_like_flags_stay_values() {
    let p = plan(&["-d", "-host", "-H", "X-Note: -h2", URL]);
    assert_eq!(p.request.body, bytes::Bytes::from_static(b"-host"));
    assert_eq!(p.protocol, Protocol::Http1);
    assert_eq!(
        normalize(["loadgen", "-h"]),
        ["loadgen", "-h"],
        "-h stays help"
    );
}

#[test]
fn subcommands_coexist_with_hey_mode() {
    let cli = parse(&["-n", "10", "http://x/"]);
    assert!(cli.command.is_none());
    assert_eq!(cli.hey.url.as_deref(), Some("http://x/"));
    let cli = parse(&["merge", "a.json", "b.json"]);
    match cli.command {
        Some(Command::Merge(m)) => assert_eq!(m.reports.len(), 2),
        other => panic!("expected merge, got {other:?}"),
    }
    let help = Cli::try_parse_from(["loadgen", "-h"]).unwrap_err();
    assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
    assert!(
        help.to_string().contains("-disable-keepalive"),
        "help mentions hey's spelling"
    );
}

#[test]
fn bad_input_is_a_clear_usage_error() {
    let err = |args: &[&str]| Plan::try_from(parse(args).hey).unwrap_err();
    assert!(matches!(
        err(&["-n", "10", "-c", "20", URL]),
        PlanError::FewerRequestsThanWorkers { .. }
    ));
    assert!(matches!(
        err(&["ftp://example.com/"]),
        PlanError::BadUrl { .. }
    ));
    assert!(matches!(err(&[]), PlanError::NoUrl));
    assert!(matches!(err(&["not a url"]), PlanError::BadUrl { .. }));
    assert!(matches!(
        err(&["-q", "1", "--rate", "5", URL]),
        PlanError::QpsAndRate
    ));
    assert!(matches!(
        err(&["-H", "no colon", URL]),
        PlanError::BadHeader(_)
    ));
    assert!(matches!(
        err(&["-m", "G E T", URL]),
        PlanError::BadMethod(_)
    ));
    assert!(matches!(
        err(&["-c", "0", URL]),
        PlanError::OutOfRange { .. }
    ));
    assert!(matches!(
        err(&["-x", "nohost", URL]),
        PlanError::BadProxy(_)
    ));
    assert!(matches!(
        err(&["--slo", "p99<soon", URL]),
        PlanError::BadGate(_)
    ));
    assert!(matches!(
        err(&["--slo", "canary:p99<1s", URL]),
        PlanError::UnknownTarget { .. }
    ));
    assert!(matches!(
        err(&["--expect-breach", URL]),
        PlanError::ExpectBreachWithoutGates
    ));
    assert!(matches!(
        err(&["--target", "a=http://a/", "--split", "b=1"]),
        PlanError::Split(SplitFlagError::Unknown(_))
    ));
    assert!(matches!(
        err(&[
            "--target",
            "a=http://a/",
            "--target",
            "b=http://b/",
            "--split",
            "a=100"
        ]),
        PlanError::Split(SplitFlagError::MissingWeight(_))
    ));
    assert!(matches!(
        err(&["-d", "x", "-D", "/nonexistent", URL]),
        PlanError::TwoBodies
    ));
    assert!(matches!(
        err(&["-D", "/nonexistent/body", URL]),
        PlanError::BodyFile { .. }
    ));
    // --web shows a run that lasts: hey mode needs -z with it; the address defaults to 8089.
    let run_err = |args: &[&str]| HeyRun::try_from(parse(args).hey).unwrap_err();
    let e = run_err(&["--web", "127.0.0.1:8090", URL]);
    assert!(matches!(e, PlanError::WebWithoutDuration), "{e}");
    assert!(e.to_string().contains("give it a duration with -z"), "{e}");
    let run = HeyRun::try_from(parse(&["-z", "1m", URL, "--web"]).hey).unwrap();
    let web = run.web.unwrap();
    assert_eq!(web.addr, "127.0.0.1:8089".parse().unwrap());
    assert_eq!(web.hosts, webui::guard::HostPolicy::default());
    let run = HeyRun::try_from(
        parse(&[
            "-z",
            "1m",
            "--web",
            "0.0.0.0:8090",
            "--allowed-host",
            "loadgen.example",
            URL,
        ])
        .hey,
    )
    .unwrap();
    let web = run.web.unwrap();
    assert_eq!(web.addr, "0.0.0.0:8090".parse().unwrap());
    assert!(web.hosts.allows_host(b"loadgen.example:8090"));
    assert!(!web.hosts.allows_host(b"other.example"));
    // A name with a scheme or port is bad usage, named by its flag.
    for bad in ["http://loadgen", "loadgen:8089"] {
        let e = Cli::try_parse_from(["loadgen", "-z", "1m", "--web", "--allowed-host", bad, URL])
            .unwrap_err();
        assert!(e.to_string().contains("--allowed-host"), "{e}");
    }
    let scenario = [
        "loadgen", "scenario", "run", "t.toml", "--host", URL, "--web",
    ];
    let e = Cli::try_parse_from(scenario.iter().copied().chain(["nope"])).unwrap_err();
    assert!(e.to_string().contains("--web"), "{e}");
    assert!(Cli::try_parse_from(scenario.iter().copied().chain(["127.0.0.1:8090"])).is_ok());
    assert!(Cli::try_parse_from(scenario).is_ok());
    for (args, flag) in [
        (&["-c", "100001", URL][..], "-c"),
        (&["--rate", "1e-300", URL], "--rate"),
        (&["-q", "1e300", URL], "-q"),
        (&["-t", "1e300", URL], "-t"),
        (&["-z", "400days", URL], "-z"),
        (&["-cpus", "100000", URL], "-cpus"),
    ] {
        match err(args) {
            PlanError::OutOfRange { flag: f, .. } => assert_eq!(f, flag, "{args:?}"),
            other => panic!("{args:?}: {other}"),
        }
    }
    for bad in [
        &["-n", "lots", URL][..],
        &["-z", "soon", URL],
        &["--rate", "0", URL],
        &["--target", "novalue"],
    ] {
        let argv = std::iter::once("loadgen").chain(bad.iter().copied());
        assert!(Cli::try_parse_from(normalize(argv)).is_err(), "{bad:?}");
    }
}

/// `--split next=10` alone, as the Serverless Journey's `--to-tags next=10`: the targets without
/// a weight share what is left of 100.
#[test]
fn weights_given_to_some_targets_are_percentages() {
    use clap::Parser;
    let weights = |args: &[&str]| {
        let argv = [
            "loadgen",
            "--target",
            "good=http://a/",
            "--target",
            "next=http://b/",
            "--target",
            "old=http://c/",
        ];
        let cli = loadgen::cli::Cli::try_parse_from(argv.iter().chain(args)).unwrap();
        engine::plan::Plan::try_from(cli.hey)
            .map(|p| p.targets.iter().map(|t| t.weight).collect::<Vec<_>>())
            .map_err(|e| e.to_string())
    };
    assert_eq!(weights(&["--split", "next=10"]), Ok(vec![45, 10, 45]));
    assert_eq!(weights(&["--split", "next=11"]), Ok(vec![45, 11, 44]));
    assert_eq!(
        weights(&["--split", "next=10", "--split", "old=0"]),
        Ok(vec![90, 10, 0])
    );
    assert_eq!(weights(&[]), Ok(vec![1, 1, 1]));
    // Every target weighted: relative weights, as long as they could be percentages; over 100
    // they cannot (issue 13: `a=60 b=60` is a mistake, not 50/50).
    assert_eq!(
        weights(&["--split", "good=3", "--split", "next=1", "--split", "old=4"]),
        Ok(vec![3, 1, 4])
    );
    let err = weights(&[
        "--split",
        "good=150",
        "--split",
        "next=10",
        "--split",
        "old=4000000000",
    ])
    .unwrap_err();
    assert!(err.contains("over 100"), "{err}");
    let err = weights(&["--split", "next=60", "--split", "old=40"]).unwrap_err();
    assert!(err.contains("leaving nothing for \"good\""), "{err}");
}

/// Every command's format flag, as it has always been spelled, lands on the one `OutputFormat`;
/// a value another command takes is still refused, with this command's own list.
#[test]
fn every_format_flag_is_one_output_format() {
    use OutputFormat::{Csv, Json, Text};
    use loadgen::cli::{CanaryRun, JourneyPlan, RehearseRun, ScenarioCommand, SloCommand};
    let cli = |args: &[&str]| {
        let argv = std::iter::once("loadgen").chain(args.iter().copied());
        Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    for (value, want) in [("summary", Text), ("csv", Csv), ("json", Json)] {
        assert_eq!(hey_run(&["-o", value, URL]).output, want);
        match cli(&["merge", "-o", value, "r.json"]).command {
            Some(Command::Merge(m)) => assert_eq!(m.output, want),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(hey_run(&[URL]).output, Text);
    let host = ["journey", "--host", "http://127.0.0.1:1"];
    for (value, want) in [("text", Text), ("json", Json), ("csv", Csv)] {
        let args: Vec<&str> = host.iter().copied().chain(["-o", value]).collect();
        let Some(Command::Journey(a)) = cli(&args).command else {
            panic!("journey")
        };
        assert_eq!(JourneyPlan::try_from(a).unwrap().output, want);
    }
    let canary = [
        "canary",
        "--stable",
        "http://127.0.0.1:1",
        "--canary",
        "http://127.0.0.1:2",
        "--gate",
        "p99<1s",
    ];
    for (value, want) in [("text", Text), ("json", Json)] {
        let args: Vec<&str> = canary.iter().copied().chain(["--output", value]).collect();
        let Some(Command::Canary(a)) = cli(&args).command else {
            panic!("canary")
        };
        assert_eq!(CanaryRun::try_from(a).unwrap().output, want);
    }
    let rehearsal = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/rehearsals");
    let file = std::fs::read_dir(rehearsal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "toml"))
        .unwrap();
    let file = file.to_str().unwrap();
    for (value, want) in [("text", Text), ("json", Json)] {
        let Some(Command::Rehearse(a)) = cli(&["rehearse", file, "--output", value]).command else {
            panic!("rehearse")
        };
        assert_eq!(RehearseRun::try_from(a).unwrap().output, want);
    }
    for (json, want) in [(true, Json), (false, Text)] {
        let mut args = vec!["scenario", "run", "t.toml", "--host", "http://127.0.0.1:1"];
        let mut report = vec!["slo", "report", "--prometheus", "http://127.0.0.1:1"];
        if json {
            args.push("--json");
            report.push("--json");
        }
        let Some(Command::Scenario(ScenarioCommand::Run(a))) = cli(&args).command else {
            panic!("scenario")
        };
        assert_eq!(a.output(), want);
        let Some(Command::Slo(SloCommand::Report(a))) = cli(&report).command else {
            panic!("slo report")
        };
        assert_eq!(a.output(), want);
    }
    // Each flag offers its own values, named as before.
    for (args, listed) in [
        (
            vec!["-o", "text", URL],
            "[possible values: summary, csv, json]",
        ),
        (
            host.iter().copied().chain(["-o", "junit"]).collect(),
            "[possible values: text, json, csv]",
        ),
        (
            canary.iter().copied().chain(["--output", "csv"]).collect(),
            "[possible values: text, json]",
        ),
        (
            vec!["slo", "export", "--format", "html"],
            "[possible values: gcp, openslo]",
        ),
    ] {
        let argv = std::iter::once("loadgen").chain(args.iter().copied());
        let e = Cli::try_parse_from(argv).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue, "{args:?}");
        assert!(e.to_string().contains(listed), "{args:?}: {e}");
    }
}
