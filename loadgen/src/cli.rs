//! The command line as typed: hey's flags (one dash or two), loadgen's additions, and the
//! subcommands. Nothing here is validated beyond syntax; `plan` turns `HeyArgs` into a `Plan`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
                  Exit codes: 0 ok, 1 run failed, 64 bad usage, 99 an --slo gate broke \
                  (or none broke under --expect-breach), 130 interrupted."
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
    Canary(crate::canary::CanaryArgs),
    /// Combine JSON reports of shards that ran side by side into one report (exact: the
    /// histograms merge bucket by bucket).
    Merge(MergeArgs),

    /// Simulate users walking through a journey (default: the workshop's Locust swarm), with
    /// live stats, a final report and client-side metrics.
    Journey(crate::journey::plan::JourneyArgs),
    /// Set, show or reset a mock-server's phase.
    Phase(crate::phase_cmd::PhaseArgs),
    /// SLO tools: print the rules a spec defines, or report SLIs and burn rates from Prometheus.
    #[command(subcommand)]
    Slo(crate::slo_cmd::SloCommand),
    /// Wait for a Prometheus alert to fire or clear (for CI: the exit code says whether it did).
    #[command(subcommand)]
    Alerts(crate::slo_cmd::AlertsCommand),
    /// Run a timeline: per step, apply a phase, hold a load, change the split.
    #[command(subcommand)]
    Scenario(crate::scenario::ScenarioCommand),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Reports written with `--output json`.
    #[arg(required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,
    /// Write the merged report as JSON instead of the summary.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputKind::Summary)]
    pub output: OutputKind,
}

/// What the run prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputKind {
    /// hey's summary (the default).
    Summary,
    /// hey's per-request rows, streamed.
    Csv,
    /// The report as JSON (schema: loadgen/schema/report.schema.json).
    Json,
}

/// hey's flags, with hey's defaults, plus loadgen's own.
#[derive(Debug, Clone, Args)]
pub struct HeyArgs {
    /// Number of requests to run.
    #[arg(short = 'n', long = "n", default_value = "200", value_parser = parse_count)]
    pub requests: u64,
    /// Number of workers to run concurrently, one connection each. Total number of requests
    /// cannot be smaller than the concurrency level.
    #[arg(short = 'c', long = "c", default_value_t = 50)]
    pub concurrency: usize,
    /// Rate limit, in queries per second (QPS) per worker. 0 is no limit.
    #[arg(short = 'q', long = "q", default_value_t = 0.0)]
    pub qps: f64,
    /// Duration of application to send requests (e.g. 10s, 3m); -n is then ignored.
    #[arg(short = 'z', long = "z", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Output type: summary (default), csv (hey's per-request rows) or json (the report).
    #[arg(short = 'o', long = "output", alias = "o", value_enum)]
    pub output: Option<OutputKind>,
    /// HTTP method.
    #[arg(short = 'm', long = "m", default_value = "GET")]
    pub method: String,
    /// Custom HTTP header, repeatable: -H "Accept: text/html".
    #[arg(
        short = 'H',
        long = "H",
        value_name = "HEADER",
        allow_hyphen_values = true
    )]
    pub headers: Vec<String>,
    /// Timeout for each request in seconds; 0 for infinite.
    #[arg(short = 't', long = "t", default_value_t = 20.0)]
    pub timeout_secs: f64,
    /// HTTP Accept header.
    #[arg(short = 'A', long = "A", allow_hyphen_values = true)]
    pub accept: Option<String>,
    /// HTTP request body.
    #[arg(short = 'd', long = "d", allow_hyphen_values = true)]
    pub body: Option<String>,
    /// HTTP request body from file.
    #[arg(short = 'D', long = "D")]
    pub body_file: Option<PathBuf>,
    /// Content-type.
    #[arg(
        short = 'T',
        long = "T",
        default_value = "text/html",
        allow_hyphen_values = true
    )]
    pub content_type: String,
    /// Basic authentication, username:password.
    #[arg(short = 'a', long = "a", allow_hyphen_values = true)]
    pub basic_auth: Option<String>,
    /// HTTP proxy address as host:port (absolute-form requests for http, CONNECT for https).
    #[arg(short = 'x', long = "x")]
    pub proxy: Option<String>,
    /// Enable HTTP/2 (cleartext, prior knowledge).
    #[arg(long = "h2")]
    pub h2: bool,
    /// HTTP Host header.
    #[arg(long = "host", allow_hyphen_values = true)]
    pub host: Option<String>,
    /// Disable compression (do not send Accept-Encoding: gzip).
    #[arg(long)]
    pub disable_compression: bool,
    /// Disable keep-alive: a new TCP connection for every request.
    #[arg(long)]
    pub disable_keepalive: bool,
    /// Disable following of HTTP redirects.
    #[arg(long)]
    pub disable_redirects: bool,
    /// Number of used cpu cores (runtime threads). Default: all.
    #[arg(long)]
    pub cpus: Option<usize>,

    /// Do not verify TLS certificates (hey never does; loadgen does unless told).
    #[arg(long)]
    pub insecure: bool,

    /// Open-model rate for the whole run, requests per second: request i is due at start + i/R
    /// and its latency counts from then (coordinated-omission correction).
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Run only shard I of N (I from 0, as a Kubernetes Indexed Job's JOB_COMPLETION_INDEX):
    /// this process takes its share of -n, -c and --rate; `loadgen merge` combines the shards'
    /// JSON reports exactly.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// A named target, NAME=URL, repeatable; use instead of URL to split traffic.
    #[arg(long = "target", value_name = "NAME=URL", value_parser = parse_pair)]
    pub targets: Vec<(String, String)>,
    /// Traffic weight of a target, NAME=WEIGHT, repeatable (default: equal weights).
    #[arg(long = "split", value_name = "NAME=WEIGHT", value_parser = parse_pair)]
    pub splits: Vec<(String, String)>,
    /// A gate, repeatable: error_rate<1%, p99<500ms, p50/p90/p95/p99.9/mean<DURATION, rps>N;
    /// prefix NAME: for one target (next:error_rate<1%).
    #[arg(long = "slo", value_name = "GATE")]
    pub slo: Vec<String>,
    /// Invert the gates' exit code: 0 when at least one breaks, 99 when all hold.
    #[arg(long)]
    pub expect_breach: bool,
    /// No progress bar (it is also off when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// The URL to load.
    pub url: Option<String>,
}

/// `I/N` with 0 <= I < N.
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("{s:?} is not I/N with 0 <= I < N (e.g. 0/4)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// A count with an optional k/m suffix: 500, 10k, 5m.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1_000),
        Some((i, 'm' | 'M')) => (&s[..i], 1_000_000),
        _ => (s, 1),
    };
    digits
        .replace('_', "")
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a count (e.g. 500, 10k, 5m)"))
}

/// A Go-style duration as hey takes it: 10s, 3m, 1m30s, 250ms.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?} is not a duration (e.g. 10s, 3m): {e}"))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let r = parse_count(s)
        .map(|n| n as f64)
        .or_else(|_| s.parse::<f64>().map_err(|_| ()));
    match r {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!(
            "{s:?} is not a positive rate in requests per second"
        )),
    }
}

pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}
