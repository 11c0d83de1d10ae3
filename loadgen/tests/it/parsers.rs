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
        None => loadgen::plan::Plan::try_from(cli.hey).is_ok(),
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
