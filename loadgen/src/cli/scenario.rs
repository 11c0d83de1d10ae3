//! `loadgen scenario run`'s flags, and the options the timeline runner takes from them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::cli::values::{json_or_text, parse_duration, parse_named_url};
use crate::output::OutputFormat;
use crate::scenario::ScenarioOptions;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ScenarioCommand {
    /// Execute a timeline's steps against a service and report each step.
    Run(ScenarioArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ScenarioArgs {
    /// A timeline file, or a shipped timeline's name (chat-latency-breach, workshop-day, ...;
    /// see scenarios/timelines/).
    #[arg(value_name = "FILE|NAME")]
    pub file: PathBuf,
    /// Base URL of the service; phases are posted to its /phase.
    #[arg(long, required_unless_present = "targets", value_parser = crate::cli::values::parse_base_url)]
    pub host: Option<String>,
    /// Named targets, NAME=URL, instead of --host; a step's `split` weighs them, and phases go
    /// to every one.
    #[arg(long = "target", value_name = "NAME=URL", value_parser = parse_named_url, conflicts_with = "host")]
    pub targets: Vec<(String, String)>,
    /// The mock-server's --admin-token, for posting phases.
    #[arg(long, env = "LOADGEN_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Load until a step sets one: simulated users.
    #[arg(short = 'u', long, default_value_t = 10)]
    pub users: usize,
    /// Load until a step sets one: think time MIN..MAX (default: the journey's).
    #[arg(long, value_name = "MIN..MAX")]
    pub wait: Option<String>,
    /// Load until a step sets one: a shipped journey or a journey file.
    #[arg(long, default_value = "workshop")]
    pub journey: String,
    /// Timeout of each request.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Serve client-side Prometheus metrics on this address for the whole timeline.
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    /// Print live stats on stderr this often; 0s for none.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub stats_interval: Duration,
    /// Print the result as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Do not verify TLS certificates.
    #[arg(long)]
    pub insecure: bool,
    /// Serve a page of the run (the step and its phase, per-target table, live charts, the
    /// split's form) and its API on this address, default 127.0.0.1:8089: GET /stats, and with
    /// several --target GET and POST /split to move traffic while the timeline runs (curl -H
    /// 'Content-Type: application/json' -d '{"good":100}' ADDR/split). Whoever reaches the
    /// address can move the traffic; pages on other sites cannot.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8089")]
    pub web: Option<SocketAddr>,
    #[command(flatten)]
    pub allowed_hosts: super::AllowedHosts,
    /// Also write the report as one self-contained HTML page (charts, tables; opens offline).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

impl ScenarioArgs {
    /// What `--json` asks for: the steps as JSON, or their tables and the summary per step.
    pub fn output(&self) -> OutputFormat {
        json_or_text(self.json)
    }
}

impl From<&ScenarioArgs> for ScenarioOptions {
    fn from(a: &ScenarioArgs) -> ScenarioOptions {
        ScenarioOptions {
            file: a.file.clone(),
            host: a.host.clone(),
            targets: a.targets.clone(),
            token: a.token.clone(),
            users: a.users,
            wait: a.wait.clone(),
            journey: a.journey.clone(),
            timeout: a.timeout,
            stats_interval: a.stats_interval,
            insecure: a.insecure,
        }
    }
}
