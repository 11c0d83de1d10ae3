//! `loadgen canary`: promotion through every step, rollback at the first failed gate, and the
//! step weights as the servers saw them.

use clap::Parser;
use loadgen::canary::{CanaryError, CanaryPlan};
use loadgen::cli::{Cli, Command};

use crate::server::{Server, Spec};
use crate::words;

/// A canary command line (without `loadgen canary`) made into its checked plan.
pub fn plan(args: &[&str]) -> Result<CanaryPlan, CanaryError> {
    let cli = Cli::try_parse_from(["loadgen", "canary"].iter().chain(args)).unwrap();
    let Some(Command::Canary(args)) = cli.command else {
        panic!("not the canary command");
    };
    CanaryPlan::try_from(args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_canary_is_promoted_and_each_step_gets_its_weight() {
    let stable = Server::start(Spec::default()).await;
    let canary = Server::start(Spec::default()).await;
    let (s, c) = (stable.url("/"), canary.url("/"));
    let plan = plan(&words(&format!(
        "--stable {s} --canary {c} --steps 5,20,50,100 --step-duration 1500ms --check-every 1500ms \
         --gate error_rate<1% --gate p99<500ms --rate 400 -c 8 --min-requests 10 --verify 0s"
    )))
    .unwrap();
    let result = plan.run().await.unwrap();
    assert!(
        result.promoted,
        "{}",
        loadgen::output::canary::text(&result)
    );
    assert_eq!(result.steps.len(), 4);
    for step in &result.steps {
        let n = step.canary_requests + step.stable_requests;
        let p = f64::from(step.weight) / 100.0;
        let expected = n as f64 * p;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        assert!(
            (step.canary_requests as f64 - expected).abs() <= (4.0 * sd).max(1.0),
            "step {}: {} of {n} to the canary at {}%",
            step.step,
            step.canary_requests,
            step.weight
        );
    }
    // What the servers counted is what loadgen says it sent them, request for request.
    let sent_canary: u64 = result.steps.iter().map(|s| s.canary_requests).sum();
    let sent_stable: u64 = result.steps.iter().map(|s| s.stable_requests).sum();
    assert_eq!(canary.requests(), sent_canary);
    assert_eq!(stable.requests(), sent_stable);
    assert_eq!(
        result.steps[3].stable_requests, 0,
        "at 100% the stable gets nothing"
    );
}

#[test]
fn a_failing_canary_is_rolled_back_at_the_first_step_with_its_own_exit_code() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (stable, canary) = rt.block_on(async {
        let failing = Spec {
            status: |_| 500,
            ..Spec::default()
        };
        (
            Server::start(Spec::default()).await,
            Server::start(failing).await,
        )
    });
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "canary",
            "--stable",
            &stable.url("/"),
            "--canary",
            &canary.url("/"),
        ])
        .args([
            "--step-duration",
            "5s",
            "--check-every",
            "500ms",
            "--min-requests",
            "10",
        ])
        .args([
            "--gate",
            "error_rate<1%",
            "--gate",
            "p99<500ms",
            "--rate",
            "400",
            "--verify",
            "1s",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(98),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("ROLLED BACK at step 1 (5%)"), "{text}");
    assert!(text.contains("FAIL: error_rate<1%"), "{text}");
    assert!(text.contains("Verification on stable"), "{text}");
    // Detection came from the checks inside the step, not from its end.
    assert!(!text.contains("step 2"), "{text}");
    drop(rt);
}

#[test]
fn bad_rollouts_are_refused_before_any_traffic() {
    for (args, words) in [
        (&["--steps", "20,5"][..], "increasing"),
        (&["--steps", "0,50"][..], "from 1 to 100"),
        (&["--gate", "p99<fast"][..], "--gate"),
        (&["--gate-query", "up"][..], "PROMQL < THRESHOLD"),
        (&["--gate-query", "up < 1"][..], "--prometheus"),
    ] {
        let mut full = vec![
            "--stable",
            "http://127.0.0.1:1/",
            "--canary",
            "http://127.0.0.1:2/",
        ];
        if !args.contains(&"--gate") {
            full.extend(["--gate", "error_rate<1%"]);
        }
        full.extend(args);
        let err = plan(&full).unwrap_err().to_string();
        assert!(err.contains(words), "{args:?}: {err}");
    }
}

/// Records each line written with when it was written.
#[derive(Default)]
struct Timed(Vec<(tokio::time::Instant, String)>);

impl std::io::Write for Timed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Each write must be a whole line (the canary writes a line at once).
        let text = String::from_utf8_lossy(buf).into_owned();
        assert!(text.ends_with('\n'), "a partial line: {text:?}");
        self.0.push((tokio::time::Instant::now(), text));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `loadgen canary` says how each check went as it goes: one line per check, in order, the last
/// of each step with the step's final figures, written while the rollout still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_check_is_reported_as_it_happens() {
    let stable = Server::start(Spec::default()).await;
    let canary = Server::start(Spec::default()).await;
    let (s, c) = (stable.url("/"), canary.url("/"));
    let plan = plan(&words(&format!(
        "--stable {s} --canary {c} --steps 20,50 --step-duration 1200ms --check-every 400ms \
         --gate error_rate<1% --rate 200 -c 4 --min-requests 5 --verify 0s"
    )))
    .unwrap();
    let mut out = Timed::default();
    let result = plan.run_reporting(&mut out).await.unwrap();
    let ended = tokio::time::Instant::now();
    let lines: Vec<&str> = out.0.iter().map(|(_, l)| l.trim_end()).collect();
    assert!(result.promoted, "{lines:#?}");
    // At least one check per step, steps in order, every line a check.
    let steps: Vec<usize> = lines
        .iter()
        .map(|l| {
            assert!(l.starts_with("check "), "{l}");
            let after = l.split("step ").nth(1).unwrap();
            after.split(' ').next().unwrap().parse().unwrap()
        })
        .collect();
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{lines:#?}");
    assert_eq!(steps.first(), Some(&1));
    assert_eq!(steps.last(), Some(&2));
    assert!(
        lines.len() >= 4,
        "checks every 400ms of two 1200ms steps: {lines:#?}"
    );
    // The last check of each step is the step's result, figure for figure.
    for s in &result.steps {
        let last = steps.iter().rposition(|&n| n == s.step).unwrap();
        assert_eq!(lines[last], loadgen::canary::check_line(s, 5));
        assert!(lines[last].contains(&format!("at {}%", s.weight)));
        assert!(lines[last].ends_with(": held"), "{}", lines[last]);
    }
    // The first line came out while the rollout was still going, not at its end.
    assert!(
        ended - out.0[0].0 >= std::time::Duration::from_millis(1000),
        "the first check line was written {:?} before the end",
        ended - out.0[0].0
    );
}
