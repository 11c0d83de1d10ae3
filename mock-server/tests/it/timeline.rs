//! `--timeline`: the server cycles its own phase through a scenario's steps.

use std::time::Duration;

use mock_server::drive::timeline::PhasePlan;
use mock_server::{Config, LatencyMode, Phase};
use scenarios::Timeline;

use crate::support::TestServer;

const THREE_STEPS: &str = r#"
[[step]]
name = "healthy"
phase = { StartupSuccess = 1.0 }
duration = "1s"
[[step]]
name = "broken"
phase = { StartupSuccess = 0.0, StartupLatencyMinMS = 5, StartupLatencyMaxMS = 9 }
duration = "1s"
[[step]]
name = "fixed"
phase = "challenge5"
duration = "1s"
"#;

#[tokio::test]
async fn each_step_takes_effect_in_turn() {
    let timeline = Timeline::parse(THREE_STEPS, None).unwrap();
    let plan = PhasePlan::new(&timeline, &Phase::workshop_default()).unwrap();
    let server = TestServer::with_config(Config {
        latency_mode: LatencyMode::Record,
        timeline: Some(plan),
        ..Config::default()
    })
    .await;
    // Sample the middle of each one-second step: half a second of slack either way.
    let expected = [(1.0, 0, 456), (0.0, 1, 5), (0.95, 2, 400)];
    let start = tokio::time::Instant::now();
    for (i, (success, index, min)) in expected.into_iter().enumerate() {
        tokio::time::sleep_until(start + Duration::from_millis(500 + 1000 * i as u64)).await;
        let phase = server.phase().await;
        assert_eq!(
            phase["CurrentProbMetrics"]["StartupSuccess"], success,
            "step {i}"
        );
        assert_eq!(
            phase["CurrentProbMetrics"]["StartupLatencyMinMS"], min,
            "step {i}"
        );
        let mut ok = 0;
        for _ in 0..50 {
            ok += u32::from(server.get("/startup").await.0.is_success());
        }
        match success {
            1.0 => assert_eq!(ok, 50, "step {i}"),
            0.0 => assert_eq!(ok, 0, "step {i}"),
            _ => assert!(ok >= 40, "step {i}: {ok} of 50 at 95%"),
        }
        let m = server.metrics().await;
        assert_eq!(m.get("mockserver_timeline_step"), index as f64);
    }
    server.stop().await;
}

#[test]
fn a_step_with_an_invalid_phase_is_refused_before_start() {
    let timeline = Timeline::parse(
        "[[step]]\nname = \"typo\"\nphase = { ChatSucess = 0.5 }\nduration = \"1s\"",
        None,
    )
    .unwrap();
    let err = PhasePlan::new(&timeline, &Phase::workshop_default()).unwrap_err();
    assert_eq!(err.step, "typo");
    assert!(
        err.to_string().contains("did you mean \"ChatSuccess\""),
        "{err}"
    );
}

/// Every timeline shipped in scenarios/timelines/ is one the server accepts, step by step.
#[test]
fn every_shipped_timeline_is_a_valid_phase_plan() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/timelines");
    let mut plans = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let timeline = Timeline::from_file(&path).unwrap();
            PhasePlan::new(&timeline, &Phase::workshop_default())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            plans += 1;
        }
    }
    assert!(plans >= 6, "{plans} timelines in {}", dir.display());
}

/// Issue 16, item 4: `--time-scale N` plays the timeline N times faster, as `loadgen rehearse
/// --time-scale` does: the three one-minute steps below take a second each at 60x, and each
/// takes effect in turn on a real server.
#[tokio::test]
async fn time_scale_divides_every_step_and_the_server_plays_them_in_turn() {
    use clap::Parser;
    use mock_server::cli::Args;
    let dir = std::env::temp_dir().join(format!("mock-time-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("minutes.toml");
    std::fs::write(&file, THREE_STEPS.replace("\"1s\"", "\"1m\"")).unwrap();
    let args = |extra: &[&str]| {
        let mut all = vec![
            "mock-server",
            "--latency-mode",
            "record",
            "--timeline",
            file.to_str().unwrap(),
        ];
        all.extend_from_slice(extra);
        Args::try_parse_from(all).map(Config::try_from)
    };
    let config = args(&["--time-scale", "60"]).unwrap().unwrap();
    let plan = config.timeline.clone().expect("a timeline");
    let durations: Vec<Duration> = plan.steps.iter().map(|s| s.duration).collect();
    assert_eq!(durations, [Duration::from_secs(1); 3]);
    let unscaled = args(&[]).unwrap().unwrap().timeline.unwrap();
    assert_eq!(unscaled.steps[0].duration, Duration::from_secs(60));

    let server = TestServer::with_config(config).await;
    let start = tokio::time::Instant::now();
    for (i, success) in [1.0, 0.0, 0.95].into_iter().enumerate() {
        tokio::time::sleep_until(start + Duration::from_millis(500 + 1000 * i as u64)).await;
        let phase = server.phase().await;
        assert_eq!(
            phase["CurrentProbMetrics"]["StartupSuccess"], success,
            "step {i}"
        );
        assert_eq!(
            server.metrics().await.get("mockserver_timeline_step"),
            i as f64
        );
    }
    server.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_time_scale_that_is_not_a_positive_finite_number_is_refused() {
    use clap::Parser;
    use mock_server::cli::Args;
    let refused = |scale: &str| {
        let flag = format!("--time-scale={scale}");
        let args =
            Args::try_parse_from(["mock-server", "--timeline", "chat-latency-breach", &flag])
                .unwrap();
        Config::try_from(args).unwrap_err().to_string()
    };
    for bad in ["0", "-60", "NaN", "inf"] {
        assert!(
            refused(bad).contains("--time-scale must be a finite number above 0"),
            "{bad}: {}",
            refused(bad)
        );
    }
    // A step scaled below a millisecond cannot be timed: said, naming the step.
    assert!(
        refused("1e9").contains("shorter than a millisecond"),
        "{}",
        refused("1e9")
    );
    // Issue 24, item 6: so small a scale made a step longer than any clock holds, and
    // start-up panicked in `Duration::from_secs_f64`.
    assert!(
        refused("1e-300").contains("longer than a century"),
        "{}",
        refused("1e-300")
    );
    // Meaningless without a timeline, and not a number at all: clap refuses both.
    assert!(Args::try_parse_from(["mock-server", "--time-scale", "60"]).is_err());
    assert!(
        Args::try_parse_from(["mock-server", "--timeline", "x", "--time-scale", "fast"]).is_err()
    );
}

/// Issue 24, item 6: a duration flag that parses but no deadline can hold made every POST's
/// connection panic (`--header-read-timeout`, `--body-read-timeout`) or SIGINT panic
/// (`--shutdown-grace`); each is refused at parse time, naming the flag.
#[test]
fn a_duration_flag_past_a_century_is_refused_naming_it() {
    use clap::Parser;
    use mock_server::cli::Args;
    for flag in [
        "--header-read-timeout",
        "--body-read-timeout",
        "--shutdown-grace",
    ] {
        let e = Args::try_parse_from(["mock-server", flag, "18446744073709551615s"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(flag) && e.contains("longer than the longest duration supported"),
            "{flag}: {e}"
        );
        // A century itself is accepted.
        assert!(Args::try_parse_from(["mock-server", flag, "100years"]).is_ok());
    }
}

/// The binary turns a bad `--time-scale` into exit 64 with the reason.
#[tokio::test]
async fn a_bad_time_scale_exits_64() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mock-server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--timeline",
            "chat-latency-breach",
            "--time-scale",
            "0",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--time-scale must be a finite number above 0, got 0"),
        "{err}"
    );
}
