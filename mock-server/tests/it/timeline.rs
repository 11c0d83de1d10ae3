//! `--timeline`: the server cycles its own phase through a scenario's steps.

use std::time::Duration;

use mock_server::timeline::PhasePlan;
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
