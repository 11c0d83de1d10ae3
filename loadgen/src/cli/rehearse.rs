//! `loadgen rehearse`'s flags, checked into a `RehearsePlan` (the rehearsal file is read and
//! checked here, before anything starts).

use std::path::PathBuf;

use clap::Args;
use mock_server::state::draw::DrawMode;

use crate::cli::values::REHEARSE_OUTPUT;
use crate::output::OutputFormat;
use crate::rehearse::{AlertmanagerSource, Rehearsal, RehearseError, RehearsePlan, RulesSource};

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit codes: 0 every expectation held, 1 one failed, 64 bad input (the \
    file, an alert name the rules do not define, notified without --alertmanager), 69 \
    Prometheus or Alertmanager missing or failing (the prometheus binary, and \
    prometheus-alertmanager or alertmanager for --alertmanager, must be on PATH), 130 interrupted."
)]
pub struct RehearseArgs {
    /// A rehearsal: a timeline whose steps carry [[step.expect]] tables (scenarios/rehearsals/).
    pub file: PathBuf,
    /// Base URL of a running mock-server to use instead of starting one in-process.
    #[arg(long, value_parser = crate::cli::values::parse_base_url)]
    pub host: Option<String>,
    /// That mock-server's --admin-token, for posting phases.
    #[arg(long, env = "LOADGEN_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Your own Prometheus rule files, compressed by --time-scale as `loadgen slo compress`
    /// prints them.
    #[arg(long, num_args = 1.., conflicts_with = "spec")]
    pub rules: Vec<PathBuf>,
    /// Generate the rules from this SLO spec (default: the shipped scenarios/slo/slos.toml).
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Divide the steps' durations, fixed `within`s and the rules' windows and intervals by N
    /// (Prometheus then scrapes every 15 s / N, between 50 ms and 1 s).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub time_scale: u32,
    /// Also start an Alertmanager on loopback (Debian's prometheus-alertmanager), wired to
    /// Prometheus, with a generated config: every receiver a `notified = "NAME"` expectation
    /// names is a webhook into loadgen, so the check is that the notification arrived.
    #[arg(long)]
    pub alertmanager: bool,
    /// Start the Alertmanager with your own alertmanager.yml instead (implies --alertmanager);
    /// then `notified = "NAME"` checks that Alertmanager routed the alert to receiver NAME (its
    /// /api/v2/alerts), since the delivery (mail, pager) is outside loadgen's sight.
    #[arg(long, value_name = "FILE")]
    pub alertmanager_config: Option<PathBuf>,
    /// Also write the verdicts as JUnit XML (one testcase per expectation).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_parser = REHEARSE_OUTPUT, default_value = "text")]
    pub output: OutputFormat,
    /// How the mocks rehearse starts draw their answers: `exact` low-discrepancy sequences (any
    /// window of n requests holds n·p successes within 1, so a verdict does not depend on dice),
    /// or `random` dice as a live mock rolls them. A mock given with --host draws as it was started.
    #[arg(long, value_enum, default_value_t = DrawMode::Exact)]
    pub draws: DrawMode,
    /// End at the first failed expectation (exit 1; the JUnit file is still written, listing
    /// what was not played).
    #[arg(long)]
    pub fail_fast: bool,
}

/// A checked rehearse command and where its results go.
#[derive(Debug, Clone)]
pub struct RehearseRun {
    pub plan: RehearsePlan,
    /// Where to write the verdicts as JUnit (`--junit`).
    pub junit: Option<PathBuf>,
    /// What stdout gets: the verdict table or JSON.
    pub output: OutputFormat,
}

impl TryFrom<RehearseArgs> for RehearseRun {
    type Error = RehearseError;

    fn try_from(a: RehearseArgs) -> Result<Self, RehearseError> {
        if a.time_scale == 0 {
            return Err(RehearseError::TimeScale);
        }
        let rehearsal = Rehearsal::from_file(&a.file)?;
        let rules = if a.rules.is_empty() {
            RulesSource::Spec(a.spec)
        } else {
            RulesSource::Files(a.rules)
        };
        Ok(RehearseRun {
            plan: RehearsePlan {
                file: a.file,
                rehearsal,
                host: a.host,
                token: a.token,
                rules,
                time_scale: a.time_scale,
                draws: a.draws,
                fail_fast: a.fail_fast,
                alertmanager: match (a.alertmanager_config, a.alertmanager) {
                    (Some(path), _) => Some(AlertmanagerSource::File(path)),
                    (None, true) => Some(AlertmanagerSource::Generated),
                    (None, false) => None,
                },
            },
            junit: a.junit,
            output: a.output,
        })
    }
}
