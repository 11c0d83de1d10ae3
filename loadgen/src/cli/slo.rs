//! `loadgen slo ...` and `loadgen alerts wait`'s flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::cli::values::parse_duration;

#[derive(Debug, Subcommand)]
pub enum SloCommand {
    /// Print the Prometheus recording rules and burn-rate alerts a spec defines.
    Rules(RulesArgs),
    /// Write the Grafana dashboards and provisioning files a spec defines into a folder.
    Dashboards(DashboardsArgs),
    /// Print the spec as Cloud Monitoring SLO bodies (one JSON per line) or as OpenSLO YAML.
    Export(ExportArgs),
    /// Per SLO, from a live Prometheus: SLI, error budget left, burn rate per window.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct DashboardsArgs {
    /// The SLO spec (TOML, or OpenSLO .yaml); default: the workshop's.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// The folder to write `dashboards/` and `provisioning/` into (deploy/grafana's layout).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// gcp: Cloud Monitoring `serviceLevelObjectives` bodies; openslo: OpenSLO v1 YAML.
    #[arg(long)]
    pub format: ExportFormatArg,
    /// The SLO spec (TOML, or OpenSLO .yaml); default: the workshop's.
    #[arg(long)]
    pub spec: Option<PathBuf>,
}

/// `--format`'s values, as typed.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ExportFormatArg {
    Gcp,
    Openslo,
}

impl From<ExportFormatArg> for crate::slo_cmd::ExportFormat {
    fn from(f: ExportFormatArg) -> Self {
        match f {
            ExportFormatArg::Gcp => Self::Gcp,
            ExportFormatArg::Openslo => Self::OpenSlo,
        }
    }
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// The SLO spec (TOML, or OpenSLO .yaml); default: the workshop's, scenarios/slo/slos.toml.
    pub spec: Option<PathBuf>,
    /// Divide every window and `for:` by this factor (60 gives the test-speed copy).
    #[arg(long, default_value_t = 1)]
    pub compress: u32,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Prometheus base URL.
    #[arg(long)]
    pub prometheus: String,
    /// The SLO spec (TOML, or OpenSLO .yaml); default: the workshop's.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Wait until an alert reaches a state; exit 0 if it did within the time, 1 if not.
    Wait(WaitArgs),
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Prometheus base URL.
    #[arg(long)]
    pub prometheus: String,
    /// Alert name (a typo is an error, not an "inactive" alert).
    #[arg(long)]
    pub alert: String,
    /// firing, pending or inactive.
    #[arg(long)]
    pub state: slo::AlertState,
    /// How long to wait.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub within: Duration,
}
