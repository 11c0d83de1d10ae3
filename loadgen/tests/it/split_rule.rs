//! `--split` means one thing in every mode: Cloud Run's rule (weights given to some targets are
//! percentages, the others share what is left of 100; all given are relative weights). The
//! same weights give the same shares in hey mode, in `loadgen journey` and in a timeline step.

use loadgen::scenario;

use super::journey::journey_plan;
use super::plan;
use super::timeline::scenario_args;

const TARGETS: [&str; 6] = [
    "--target",
    "a=http://127.0.0.1:1/",
    "--target",
    "next=http://127.0.0.1:2/",
    "--target",
    "c=http://127.0.0.1:3/",
];

/// Each weight as a share of the total.
fn shares(weights: impl IntoIterator<Item = u32>) -> Vec<f64> {
    let w: Vec<u32> = weights.into_iter().collect();
    let total: f64 = w.iter().map(|&x| f64::from(x)).sum();
    w.iter().map(|&x| f64::from(x) / total).collect()
}

/// (flags, the timeline's `split` table, the shares of a, next, c.)
const CASES: [(&[&str], &str, [f64; 3]); 3] = [
    (&["--split", "next=10"], "{ next = 10 }", [0.45, 0.10, 0.45]),
    (
        &["--split", "a=3", "--split", "next=1", "--split", "c=4"],
        "{ a = 3, next = 1, c = 4 }",
        [0.375, 0.125, 0.5],
    ),
    (&[], "{ }", [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]),
];

fn assert_shares(mode: &str, got: &[f64], want: [f64; 3]) {
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() < 1e-9,
            "{mode}: shares {got:?}, want {want:?}"
        );
    }
}

#[test]
fn hey_mode_splits_by_cloud_runs_rule() {
    for (flags, _, want) in CASES {
        let args: Vec<&str> = TARGETS.iter().chain(flags).copied().collect();
        let p = plan(&args);
        assert_shares("hey", &shares(p.targets.iter().map(|t| t.weight)), want);
    }
}

#[test]
fn journeys_split_by_cloud_runs_rule() {
    for (flags, _, want) in CASES {
        let args: Vec<&str> = TARGETS.iter().chain(flags).copied().collect();
        let p = journey_plan(&args);
        assert_shares(
            "journey",
            &shares(p.run.targets.iter().map(|t| t.weight)),
            want,
        );
    }
}

#[test]
fn timeline_steps_split_by_cloud_runs_rule() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (_, table, want)) in CASES.iter().enumerate() {
        let path = dir.path().join(format!("t{i}.toml"));
        std::fs::write(
            &path,
            format!("[[step]]\nname = \"s\"\nduration = \"1s\"\nsplit = {table}\n"),
        )
        .unwrap();
        let path = path.to_string_lossy().into_owned();
        let args: Vec<&str> = std::iter::once(path.as_str()).chain(TARGETS).collect();
        let steps = scenario::plan(&scenario_args(&args)).unwrap();
        assert_shares(
            "timeline",
            &shares(steps[0].targets.iter().map(|t| t.weight)),
            *want,
        );
    }
}

#[test]
fn leaving_nothing_for_an_unweighted_target_is_an_error_everywhere() {
    let args: Vec<&str> = TARGETS
        .iter()
        .copied()
        .chain(["--split", "next=100"])
        .collect();
    let hey = engine::plan::Plan::try_from(super::parse(&args).hey).unwrap_err();
    assert!(
        hey.to_string().contains("leaving nothing for \"a\""),
        "{hey}"
    );
    let argv = ["loadgen", "journey"].iter().chain(&args).copied();
    let cli = <loadgen::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
    let Some(loadgen::cli::Command::Journey(j)) = cli.command else {
        panic!("not a journey")
    };
    let journey = loadgen::cli::JourneyPlan::try_from(j).unwrap_err();
    assert!(
        journey.to_string().contains("leaving nothing for \"a\""),
        "{journey}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(
        &path,
        "[[step]]\nname = \"s\"\nduration = \"1s\"\nsplit = { next = 100 }\n",
    )
    .unwrap();
    let path = path.to_string_lossy().into_owned();
    let args: Vec<&str> = std::iter::once(path.as_str()).chain(TARGETS).collect();
    let timeline = scenario::plan(&scenario_args(&args)).unwrap_err();
    assert!(
        timeline.to_string().contains("leaving nothing for \"a\""),
        "{timeline}"
    );
}
