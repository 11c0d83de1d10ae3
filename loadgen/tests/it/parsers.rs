//! loadgen's parsers on arbitrary input: durations, counts, rates, gates, shards, splits and
//! canary steps either parse or give a usage error (exit 64); none panics.

use clap::Parser;
use loadgen::cli::{Cli, Command};

/// Parses `args` the way the binary does and returns whether a plan came out of it.
fn plan(args: &[&str]) -> bool {
    let argv = ["loadgen"].iter().chain(args).map(|s| s.to_string());
    let Ok(cli) = Cli::try_parse_from(loadgen::cli::normalize(argv)) else {
        return false;
    };
    match cli.command {
        Some(Command::Canary(a)) => loadgen::canary::CanaryPlan::try_from(a).is_ok(),
        Some(_) => true,
        None => engine::plan::Plan::try_from(cli.hey).is_ok(),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

    #[test]
    fn hey_flags_never_panic(flag in proptest::sample::select(vec!["-z", "-n", "-c", "-q", "--rate", "-t", "--slo", "--shard", "--split", "-H", "-m", "-x"]), value in "\\PC{0,24}") {
        let _ = plan(&[flag, &value, "--target", "a=http://127.0.0.1:1/"]);
    }

    #[test]
    fn canary_flags_never_panic(flag in proptest::sample::select(vec!["--steps", "--step-duration", "--gate", "--gate-query", "--check-every", "--rate", "--verify"]), value in "\\PC{0,24}") {
        let _ = plan(&["canary", "--stable", "http://127.0.0.1:1/", "--canary", "http://127.0.0.1:2/", "--gate", "error_rate<1%", flag, &value]);
    }
}

/// The canary plan made from `extra` on top of a valid rollout, or the usage error.
fn canary_plan(extra: &[&str]) -> Result<loadgen::canary::CanaryPlan, String> {
    let base = [
        "loadgen",
        "canary",
        "--stable",
        "http://127.0.0.1:1/",
        "--canary",
        "http://127.0.0.1:2/",
        "--gate",
        "error_rate<1%",
    ];
    let argv = base.iter().chain(extra).map(|s| s.to_string());
    let cli = Cli::try_parse_from(loadgen::cli::normalize(argv)).map_err(|e| e.to_string())?;
    let Some(Command::Canary(a)) = cli.command else {
        unreachable!("canary parses as canary")
    };
    loadgen::canary::CanaryPlan::try_from(a).map_err(|e| e.to_string())
}

/// Issue 13 item 1: a step too short to hold one slice panicked ("a step of positive duration
/// runs at least one slice"); it is a usage error.
#[test]
fn canary_step_shorter_than_a_slice_is_a_usage_error() {
    for d in ["0s", "1ns", "99ms"] {
        let e = canary_plan(&["--step-duration", d]).expect_err(d);
        assert!(e.contains("--step-duration"), "{d}: {e}");
    }
    for d in ["0s", "1ns", "99ms"] {
        let e = canary_plan(&["--check-every", d]).expect_err(d);
        assert!(e.contains("--check-every"), "{d}: {e}");
    }
    canary_plan(&["--step-duration", "100ms", "--check-every", "100ms"]).unwrap();
}

fn duration_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        (0u64..3_000_000_000).prop_map(|ns| format!("{ns}ns")),
        (0u64..100_000).prop_map(|ms| format!("{ms}ms")),
        "\\PC{0,8}",
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// All of canary's arguments at once, arbitrary: a plan whose every step can run (so the
    /// run cannot reach the old panic) or a usage error; never a panic.
    #[test]
    fn canary_arguments_give_a_runnable_plan_or_a_usage_error(
        steps in proptest::collection::vec(0u32..130, 0..6),
        step in duration_text(),
        every in duration_text(),
        verify in duration_text(),
        rate in "-?[0-9]{0,6}(\\.[0-9]{0,3})?|nan|inf",
        c in "[0-9]{0,7}",
        min in "[0-9]{0,21}",
    ) {
        let steps = steps.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let args = ["--steps", &steps, "--step-duration", &step, "--check-every", &every, "--verify", &verify, "--rate", &rate, "-c", &c, "--min-requests", &min];
        if let Ok(p) = canary_plan(&args) {
            proptest::prop_assert!(p.step_duration >= loadgen::canary::MIN_SLICE, "{args:?}");
            proptest::prop_assert!(p.check_every >= loadgen::canary::MIN_SLICE, "{args:?}");
            proptest::prop_assert!(!p.steps.is_empty());
        }
    }
}
