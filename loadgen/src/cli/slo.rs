//! `loadgen slo ...` and `loadgen alerts wait`'s flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::cli::values::{Choices, json_or_text, parse_duration};
use crate::output::OutputFormat;
use crate::slo_cmd::ExportFormat;

#[derive(Debug, Subcommand)]
pub enum SloCommand {
    /// Check a spec and list its SLOs and alerts, and the alerts it asks for that can never
    /// fire (skipped, with why); exit 64 for an invalid spec.
    Check(CheckArgs),
    /// Print the Prometheus recording rules and burn-rate alerts a spec defines.
    Rules(RulesArgs),
    /// Write the Grafana dashboards and provisioning files a spec defines into a folder.
    Dashboards(DashboardsArgs),
    /// Print the spec as Cloud Monitoring SLO bodies (one JSON per line) or as OpenSLO YAML.
    Export(ExportArgs),
    /// Per SLO, from a live Prometheus: SLI, error budget left, burn rate per window.
    Report(ReportArgs),
    /// Print any Prometheus rule file with every range, subquery, offset, for, keep_firing_for
    /// and group interval divided by --time-scale, as `rehearse --rules` loads it; exit 64 for
    /// a file that cannot be compressed, naming the rule.
    Compress(CompressArgs),
}

#[derive(Debug, Args)]
pub struct CompressArgs {
    /// A Prometheus rule file (groups of recording and alerting rules).
    pub file: PathBuf,
    /// Divide every duration by N (60: an hour of rules' time takes a minute).
    #[arg(long, value_name = "N")]
    pub time_scale: u32,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The SLO spec (TOML, or OpenSLO .yaml); default: the workshop's, scenarios/slo/slos.toml.
    pub spec: Option<PathBuf>,
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
    #[arg(long, value_parser = EXPORT_FORMAT)]
    pub format: ExportFormat,
    /// The SLO spec (TOML, or OpenSLO .yaml); default: the workshop's.
    #[arg(long)]
    pub spec: Option<PathBuf>,
}

/// `slo export --format`'s values. Not an [`OutputFormat`]: an export translates the spec into
/// another system's configuration (as `slo rules` and `slo dashboards` do), it renders no report.
const EXPORT_FORMAT: Choices<ExportFormat> = Choices(&[
    ("gcp", ExportFormat::Gcp, None),
    ("openslo", ExportFormat::OpenSlo, None),
]);

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

impl ReportArgs {
    /// What `--json` asks for.
    pub fn output(&self) -> OutputFormat {
        json_or_text(self.json)
    }
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Wait until an alert reaches a state; exit 0 if it did within the time (and held it for
    /// --hold), 1 if not, 64 for an alert name Prometheus has not loaded, 69 when Prometheus
    /// is unreachable or not ready.
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
    /// Once reached, the state must last this long ("stays quiet for 5m": --state inactive
    /// --hold 5m).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub hold: Duration,
    /// Report times from this reference start, in Unix seconds (e.g. `$(date +%s)` taken when
    /// the breach began), so sequential waits share one clock. Default: when this wait begins.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub since: Option<f64>,
}

impl WaitArgs {
    /// The wait to run; `now_unix` is the current time in Unix seconds.
    pub fn wait_for(&self, now_unix: f64) -> Result<slo::WaitFor, String> {
        let since_reference = match self.since {
            None => Duration::ZERO,
            Some(at) if at.is_finite() && at <= now_unix + 1.0 => {
                Duration::from_secs_f64((now_unix - at).max(0.0))
            }
            Some(at) => {
                return Err(format!(
                    "--since {at} is not a past time in Unix seconds (now is {now_unix:.0})"
                ));
            }
        };
        Ok(slo::WaitFor {
            state: self.state,
            within: self.within,
            hold: self.hold,
            since_reference,
        })
    }
}
