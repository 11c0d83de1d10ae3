//! `loadgen slo check|rules|dashboards|export|report|compress` and `loadgen alerts wait`: the SLO tools
//! for users' own CI, thin commands over the `slo` crate (spec -> checked summary, Prometheus
//! rules, Grafana dashboards, Cloud Monitoring and OpenSLO exports, live report, alert waits).
//! Every spec path takes the TOML spec or an OpenSLO file (`.yaml`/`.yml`). Alerts a spec asks
//! for that can never fire come back as warnings with every command that reads the spec.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The spec shipped in `scenarios/slo/`, embedded so the commands work anywhere.
pub const SHIPPED_SPEC: &str = include_str!("../../scenarios/slo/slos.toml");

#[derive(Debug, thiserror::Error)]
pub enum SloCmdError {
    #[error(transparent)]
    Spec(#[from] slo::SpecError),
    #[error(transparent)]
    OpenSlo(#[from] slo::OpenSloError),
    #[error(transparent)]
    Gcp(#[from] slo::export::gcp::GcpError),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--compress and --time-scale must be at least 1")]
    Compress,
    #[error(transparent)]
    Compression(#[from] slo::CompressionError),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    RuleFile {
        path: PathBuf,
        source: slo::CompressError,
    },
    #[error(transparent)]
    Api(#[from] slo::ApiError),
    #[error(transparent)]
    Wait(#[from] slo::WaitError),
    #[error("cannot render the report: {0}")]
    Render(std::io::Error),
}

impl crate::exit::Exit for SloCmdError {
    /// Bad input (a spec, a URL, an alert name Prometheus does not know) is a usage error (64);
    /// a Prometheus that cannot answer is an unavailable service (69), never "the alert did
    /// not fire" (1), so a CI gate such as `! loadgen alerts wait ...` cannot pass by accident.
    fn exit_code(&self) -> i32 {
        use crate::exit::{UNAVAILABLE, USAGE};
        match self {
            SloCmdError::Spec(_)
            | SloCmdError::OpenSlo(_)
            | SloCmdError::Gcp(_)
            | SloCmdError::Compress
            | SloCmdError::Compression(_)
            | SloCmdError::Read { .. }
            | SloCmdError::RuleFile { .. } => USAGE,
            SloCmdError::Write { .. } | SloCmdError::Render(_) => crate::exit::FAILED,
            SloCmdError::Wait(slo::WaitError::UnknownAlert { .. }) => USAGE,
            SloCmdError::Api(e) | SloCmdError::Wait(slo::WaitError::Api(e)) if e.is_bad_url() => {
                USAGE
            }
            SloCmdError::Api(_) | SloCmdError::Wait(_) => UNAVAILABLE,
        }
    }

    /// What to do about it, for errors a user can fix by installing or starting something.
    fn hint(&self) -> Option<&'static str> {
        (self.exit_code() == crate::exit::UNAVAILABLE).then_some(PROMETHEUS_HINT)
    }
}

/// What a command produced: the text for stdout, the exit code, and warnings for stderr.
#[derive(Debug)]
pub struct CommandOutput {
    pub text: String,
    pub code: i32,
    pub warnings: Vec<String>,
}

impl CommandOutput {
    fn ok(text: String) -> Self {
        Self::with_code(text, crate::exit::OK)
    }

    fn with_code(text: String, code: i32) -> Self {
        Self {
            text,
            code,
            warnings: Vec::new(),
        }
    }

    /// Adds the spec's skipped alerts as warnings.
    fn warn(mut self, spec: &slo::Spec) -> Self {
        self.warnings = warnings(spec);
        self
    }
}

/// One line per alert the spec asks for and the generator leaves out, saying why.
pub fn warnings(spec: &slo::Spec) -> Vec<String> {
    spec.skipped
        .iter()
        .map(|s| format!("warning: {s}"))
        .collect()
}

/// The spec: OpenSLO when the file ends in `.yaml` or `.yml`, the TOML spec otherwise.
fn spec(path: Option<&Path>) -> Result<slo::Spec, SloCmdError> {
    Ok(match path {
        Some(p) if p.extension().is_some_and(|e| e == "yaml" || e == "yml") => {
            slo::load_openslo(p)?
        }
        Some(p) => slo::Spec::load(p)?,
        None => slo::Spec::from_toml(SHIPPED_SPEC)?,
    })
}

/// `loadgen slo rules`: the recording rules and alerts of `spec` (default: the shipped one),
/// windows divided by `compress`.
pub fn rules(spec_path: Option<&Path>, compress: u32) -> Result<CommandOutput, SloCmdError> {
    let by = slo::Compression::new(compress).ok_or(SloCmdError::Compress)?;
    let spec = spec(spec_path)?;
    Ok(CommandOutput::ok(slo::rules(&spec, by)?).warn(&spec))
}

/// `loadgen slo compress`: the rule file at `path` with every duration divided by `time_scale`.
/// An unreadable file is bad input (64), as an unreadable spec is.
pub fn compress(path: &Path, time_scale: u32) -> Result<CommandOutput, SloCmdError> {
    let by = slo::Compression::new(time_scale).ok_or(SloCmdError::Compress)?;
    let text =
        scenarios::read_text(path, scenarios::RULES_LIMIT).map_err(|source| SloCmdError::Read {
            path: path.to_owned(),
            source,
        })?;
    let out = slo::compress_rules(&text, by).map_err(|source| SloCmdError::RuleFile {
        path: path.to_owned(),
        source,
    })?;
    Ok(CommandOutput::ok(out))
}

/// `loadgen slo check`: whether the spec is valid, and what it generates: every SLO with its
/// objective, period and alerts, then the alerts left out and why. Exit 0 for a valid spec
/// (skipped alerts included: they are a warning, not an error), 64 otherwise.
pub fn check(spec_path: Option<&Path>) -> Result<CommandOutput, SloCmdError> {
    use std::fmt::Write;
    let spec = spec(spec_path)?;
    let mut text = String::new();
    let alerts: usize = spec.slos.iter().map(|s| s.alerts.len()).sum();
    let _ = writeln!(
        text,
        "spec OK: {} SLOs, {alerts} alerts, {} skipped",
        spec.slos.len(),
        spec.skipped.len()
    );
    for slo in &spec.slos {
        let names: Vec<String> = slo
            .alerts
            .iter()
            .map(|&p| slo.alert_name(&spec.policies[p]))
            .collect();
        let names = if names.is_empty() {
            "(no alerts)".to_owned()
        } else {
            names.join(", ")
        };
        let _ = writeln!(
            text,
            "  {}: {}% over {}: {names}",
            slo.name, slo.objective, slo.period
        );
    }
    // In the output itself, not on stderr: here they are the answer.
    for line in warnings(&spec) {
        let _ = writeln!(text, "{line}");
    }
    Ok(CommandOutput::ok(text))
}

/// What `loadgen slo export` writes.
#[derive(Clone, Copy, Debug)]
pub enum ExportFormat {
    /// Cloud Monitoring `serviceLevelObjectives` bodies, one JSON document per line.
    Gcp,
    /// OpenSLO v1 YAML.
    OpenSlo,
}

/// `loadgen slo dashboards`: writes the Grafana dashboards and provisioning files of `spec`
/// under `out` (deploy/grafana's layout) and lists the files written.
pub fn dashboards(spec_path: Option<&Path>, out: &Path) -> Result<CommandOutput, SloCmdError> {
    let spec = spec(spec_path)?;
    let mut written = Vec::new();
    for file in slo::dashboard_files(&spec) {
        let path = out.join(&file.path);
        let write = |path: &Path| {
            std::fs::create_dir_all(path.parent().unwrap_or(out))?;
            std::fs::write(path, &file.contents)
        };
        write(&path).map_err(|source| SloCmdError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path.display().to_string());
    }
    Ok(CommandOutput::ok(written.join("\n")).warn(&spec))
}

/// `loadgen slo export`: the spec as Cloud Monitoring bodies or as OpenSLO.
pub fn export(
    spec_path: Option<&Path>,
    format: ExportFormat,
) -> Result<CommandOutput, SloCmdError> {
    let spec = spec(spec_path)?;
    let text = match format {
        ExportFormat::OpenSlo => slo::to_openslo(&spec),
        ExportFormat::Gcp => {
            let mut lines = String::new();
            for slo in &spec.slos {
                lines.push_str(&slo::export::gcp::body(slo)?.to_string());
                lines.push('\n');
            }
            lines
        }
    };
    Ok(CommandOutput::ok(text).warn(&spec))
}

/// `loadgen slo report`: SLIs and burn rates from a live Prometheus, written by `render` (the
/// output layer's table or JSON: this command computes the report, it does not format it).
pub async fn report(
    prometheus: &str,
    spec_path: Option<&Path>,
    render: impl FnOnce(&slo::Report) -> std::io::Result<String>,
) -> Result<CommandOutput, SloCmdError> {
    let spec = spec(spec_path)?;
    let report = slo::slo_report(prometheus, &spec).await?;
    let text = render(&report).map_err(SloCmdError::Render)?;
    Ok(CommandOutput::ok(text).warn(&spec))
}

/// Said with every "Prometheus is unavailable" error (exit 69).
pub const PROMETHEUS_HINT: &str = "hint: is Prometheus running and ready at that URL? To run one \
    locally: apt-get install prometheus (Debian/Ubuntu), or https://prometheus.io/download/";

/// `loadgen alerts wait`: exit 0 when the alert reached `state` within `within` (and held it for
/// `hold`), 1 when not. Times count from `since_reference` before the wait began.
pub async fn alerts_wait(
    prometheus: &str,
    alert: &str,
    wait: slo::WaitFor,
) -> Result<CommandOutput, SloCmdError> {
    let secs = |d: Duration| d.as_secs_f64();
    let held = if wait.hold.is_zero() {
        String::new()
    } else {
        format!(" and held it for {:.1} s", secs(wait.hold))
    };
    match slo::alerts_wait_for(prometheus, alert, wait).await? {
        slo::WaitOutcome::Reached { after } => Ok(CommandOutput::with_code(
            format!(
                "{alert} reached {} at {:.1} s{held}",
                wait.state,
                secs(after)
            ),
            crate::exit::OK,
        )),
        slo::WaitOutcome::TimedOut { last } => Ok(CommandOutput::with_code(
            format!(
                "{alert} did not reach {} within {:.1} s (by {:.1} s); last seen {last}",
                wait.state,
                secs(wait.within),
                secs(wait.since_reference + wait.within)
            ),
            crate::exit::FAILED,
        )),
        slo::WaitOutcome::NotHeld { after, left, now } => Ok(CommandOutput::with_code(
            format!(
                "{alert} reached {} at {:.1} s but was {now} {:.1} s later, before the {:.1} s hold ended",
                wait.state,
                secs(after),
                secs(left),
                secs(wait.hold)
            ),
            crate::exit::FAILED,
        )),
    }
}
