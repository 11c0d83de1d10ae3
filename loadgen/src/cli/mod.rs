//! The command line: the only clap code in the crate, and the layer that turns what was typed
//! into checked plans (`TryFrom`), as ripgrep's flags do. One file per command; `values` holds the
//! value parsers. Nothing below this layer imports it: features and the engine take the typed
//! plans, never flags. Only the runner, above, reads `Cli`.

mod canary;
mod hey;
mod hey_run;
mod journey;
mod phase;
mod rehearse;
mod scenario;
mod slo;
mod values;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::OutputFormat;

pub use canary::{CanaryArgs, CanaryRun};
pub use hey::HeyArgs;
pub use hey_run::HeyRun;
pub use journey::{DEFAULT_STATS_INTERVAL, JourneyArgs, JourneyPlan};
pub use phase::{AdminArgs, PhaseArgs, PhaseCommand};
pub use rehearse::{RehearseArgs, RehearseRun};
pub use scenario::{ScenarioArgs, ScenarioCommand};
pub use slo::{AlertsCommand, ReportArgs, RulesArgs, SloCommand, WaitArgs};
pub use values::{AllowedHosts, parse_count, parse_duration, parse_pair, parse_rate, parse_shard};

/// Parses the process arguments (hey's one-dash long flags included). On `--help`/`--version`
/// or bad usage, prints what clap says and answers the exit code (0 or 64).
pub fn parse<I, S>(args: I) -> Result<Cli, i32>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Cli::try_parse_from(normalize(args)).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            crate::exit::USAGE
        } else {
            crate::exit::OK
        }
    })
}

/// hey's flags whose names are longer than one letter. Go's flag package spells them with one
/// dash (`-disable-keepalive`); clap would read that as a cluster of short flags, so `normalize`
/// rewrites exactly these names to two dashes before parsing.
const HEY_LONG_FLAGS: [&str; 6] = [
    "h2",
    "host",
    "disable-compression",
    "disable-keepalive",
    "disable-redirects",
    "cpus",
];

/// hey's short flags that take a value: the token after one of them is a value and is left
/// alone, so `-d -host` sends the body "-host".
const HEY_VALUE_FLAGS: [&str; 14] = [
    "-n", "-c", "-q", "-z", "-o", "-m", "-H", "-t", "-A", "-d", "-D", "-T", "-a", "-x",
];

/// Rewrites hey's one-dash long flags (`-h2`, `-host x`, `-cpus=2`, ...) to clap's two-dash form.
/// Only the known names change; `-h` stays help, and values and everything after `--` are kept.
pub fn normalize<I, S>(args: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut out = Vec::new();
    let mut value_next = false;
    let mut rest_verbatim = false;
    for arg in args.into_iter().map(Into::into) {
        if rest_verbatim || value_next {
            value_next = false;
            out.push(arg);
            continue;
        }
        if arg == "--" {
            rest_verbatim = true;
            out.push(arg);
            continue;
        }
        let long = arg
            .strip_prefix('-')
            .filter(|a| !a.starts_with('-'))
            .and_then(|a| {
                let name = a.split_once('=').map_or(a, |(n, _)| n);
                HEY_LONG_FLAGS.contains(&name).then(|| format!("-{arg}"))
            });
        match long {
            Some(rewritten) => {
                value_next = (rewritten == "--host" || rewritten == "--cpus") && !arg.contains('=');
                out.push(rewritten);
            }
            None => {
                value_next = HEY_VALUE_FLAGS.contains(&arg.as_str());
                out.push(arg);
            }
        }
    }
    out
}

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    version,
    about = "A hey-compatible load generator: accurate, constant-memory, with traffic splits and SLO gates.",
    args_conflicts_with_subcommands = true,
    after_help = "hey's flags work with one dash (-disable-keepalive) or two (--disable-keepalive).\n\
                  Exit codes: 0 ok, 1 run failed, 64 bad usage, 69 a needed service (Prometheus) unavailable, \
                  98 canary rolled back, 99 an --slo gate broke \
                  (or none broke under --expect-breach), 130 interrupted (Ctrl-C), 143 stopped (SIGTERM)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub hey: HeyArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Progressive delivery: move traffic to a canary step by step, judge the canary's own
    /// traffic against gates, and roll back on the first failed gate.
    Canary(CanaryArgs),
    /// Combine JSON reports of shards that ran side by side into one report (exact: the
    /// histograms merge bucket by bucket).
    Merge(MergeArgs),

    /// Simulate users walking through a journey (default: the workshop's Locust swarm), with
    /// live stats, a final report and client-side metrics.
    Journey(JourneyArgs),
    /// Set, show or reset a mock-server's phase.
    Phase(PhaseArgs),
    /// SLO tools: the rules, dashboards and exports a spec defines, or SLIs and burn rates from
    /// Prometheus.
    #[command(subcommand)]
    Slo(SloCommand),
    /// Wait for a Prometheus alert to fire or clear (for CI: the exit code says whether it did).
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Run a timeline: per step, apply a phase, hold a load, change the split.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Rehearse an incident: play a timeline against a mock with a real Prometheus and your
    /// alert rules, and judge each step's alert expectations (for CI: exit 0/1/64/69).
    Rehearse(RehearseArgs),
    /// Put a journey's JSON report beside a mock-server's counters, per endpoint: the
    /// client's count, what it abandoned in flight, the server's (exit 1 if they disagree).
    Reconcile(ReconcileArgs),
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// A journey report written with `--json FILE` (or `-o json`).
    pub report: PathBuf,
    /// The server's `/metrics` text, saved to a file; `-` reads it from stdin (`curl ... |`).
    pub metrics: PathBuf,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Reports written with `--output json`.
    #[arg(required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,
    /// Write the merged report as JSON instead of the summary.
    #[arg(short = 'o', long = "output", value_parser = values::HEY_OUTPUT, default_value = "summary")]
    pub output: OutputFormat,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, HeyArgs};

    #[test]
    fn default_is_what_clap_makes_of_no_flags() {
        let parsed = Cli::try_parse_from(["loadgen"]).unwrap().hey;
        assert_eq!(format!("{parsed:?}"), format!("{:?}", HeyArgs::default()));
    }
}
