//! The command line: clap's flags (with environment fallbacks) and their checked conversion
//! into a [`Config`]. The top floor: nothing else in the crate imports it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use http::StatusCode;

use crate::answer::profile::Profile;
use crate::config::{Config, LatencyMode, LogFormat};
use crate::drive::timeline::{PhasePlan, StepError};
use crate::phase::{Phase, PhaseError};
use crate::state::draw::DrawMode;

/// Which release of the service this process plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileName {
    /// The Movie Guru backend, driven by the phase.
    MovieGuru,
    /// The Serverless Journey's good revision: `GET /` answers a random joke.
    Jokes,
    /// The failing canary: every route but health, readiness, metrics and phase answers an error.
    Failing,
}

/// A fault-injection mock of the Movie Guru backend, with the workshop's Prometheus metrics.
///
/// The phase (success ratios, latency ranges, chat outcomes) is set at run time with
/// `POST /phase`; `GET /metrics` exports what happened.
#[derive(Debug, Parser)]
#[command(name = "mock-server", version)]
pub struct Args {
    /// Address to listen on [default: 0.0.0.0:$PORT]
    #[arg(long, env = "MOCK_ADDR")]
    pub addr: Option<SocketAddr>,

    /// Port to listen on when --addr is not given (Cloud Run and Kubernetes set PORT)
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Start-up phase: a JSON phase document merged onto the workshop's challenge-1 phase, or a
    /// shipped preset's name (challenge1, challenge5, challenge6, challenge7, bad-change)
    #[arg(long, env = "MOCK_PHASE", value_name = "FILE|NAME")]
    pub phase: Option<PathBuf>,

    /// Whether the drawn latency is waited (sleep) or only recorded (record)
    #[arg(long, env = "MOCK_LATENCY_MODE", value_enum, default_value_t = LatencyMode::Sleep)]
    pub latency_mode: LatencyMode,

    /// Seed for the random draws: with the same seed, the n-th request makes the same draws
    #[arg(long, env = "MOCK_SEED")]
    pub seed: Option<u64>,

    /// How the endpoints draw: `random` dice, or `exact` low-discrepancy sequences (any window of
    /// n requests gets n·p successes within 1, each chat outcome and sentiment within 2 of its
    /// share, latencies spread evenly over the range); --seed sets where the sequences start
    #[arg(long, env = "MOCK_DRAWS", value_enum, default_value_t = DrawMode::Random)]
    pub draws: DrawMode,

    /// How long shutdown waits for in-flight requests before closing their connections
    #[arg(long, env = "MOCK_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Log format
    #[arg(long, env = "MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,

    /// Which release to play: the Movie Guru backend, the good `jokes` revision, or the `failing` canary
    #[arg(long, env = "MOCK_PROFILE", value_enum, default_value_t = ProfileName::MovieGuru)]
    pub profile: ProfileName,

    /// With --profile failing: the status the failing routes answer
    #[arg(long, env = "MOCK_FAILING_STATUS", default_value_t = 500)]
    pub failing_status: u16,

    /// With --profile failing: the share of requests that fail (the rest are answered normally)
    #[arg(long, env = "MOCK_FAILING_RATIO", default_value_t = 1.0)]
    pub failing_ratio: f64,

    /// Revision name: sent as `X-Revision` and as a `revision` label on the http_* metrics
    #[arg(long, env = "MOCK_REVISION")]
    pub revision: Option<String>,

    /// Require `Authorization: Bearer <token>` to change the phase (reading it stays open)
    #[arg(long, env = "MOCK_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// A host name `/phase` and `/ui` also answer (repeatable; `*` for any): they answer IP
    /// addresses and localhost only, so a page on another site cannot reach them by DNS rebinding
    #[arg(
        long = "allowed-host",
        env = "MOCK_ALLOWED_HOSTS",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Connections served at once; beyond it a connection gets a 503 and is closed
    #[arg(long, env = "MOCK_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,

    /// Re-read the --phase file whenever it changes (e.g. a mounted Kubernetes ConfigMap)
    #[arg(
        long,
        env = "MOCK_WATCH_PHASE",
        requires = "phase",
        conflicts_with = "timeline"
    )]
    pub watch_phase: bool,

    /// Cycle the phase through a timeline's steps: a TOML file, or a shipped timeline's name
    /// (scenarios/timelines/NAME.toml, e.g. chat-latency-breach)
    #[arg(long, env = "MOCK_TIMELINE", value_name = "FILE|NAME")]
    pub timeline: Option<PathBuf>,

    /// Play the --timeline N times faster: every step's duration is divided by N (60 plays a
    /// 7-hour workshop day in 7 minutes), as `loadgen rehearse --time-scale` does
    #[arg(long, env = "MOCK_TIME_SCALE", value_name = "N", requires = "timeline")]
    pub time_scale: Option<f64>,

    /// Instead of serving: check that the server on --addr/PORT answers GET /healthz with 200
    /// and exit 0, else 1 (a container HEALTHCHECK without curl in the image)
    #[arg(long)]
    pub probe: bool,

    /// How long a client may take to send its request headers
    #[arg(long, env = "MOCK_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// How long a client may take to send a request body, counted from the request's arrival;
    /// then the connection is closed [default: the header read timeout]
    #[arg(long, env = "MOCK_BODY_READ_TIMEOUT", value_parser = parse_duration)]
    pub body_read_timeout: Option<Duration>,
}

/// A duration flag: humantime's syntax, at most a century, so no deadline built from it
/// overflows the clock (a huge `--shutdown-grace` panicked on SIGINT).
fn parse_duration(s: &str) -> Result<Duration, String> {
    scenarios::duration::parse(s).map_err(|e| e.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--failing-status must be a 4xx or 5xx status, got {0}")]
    FailingStatus(u16),
    #[error("--failing-ratio must lie in [0, 1], got {0}")]
    FailingRatio(f64),
    #[error("--failing-status and --failing-ratio only apply to --profile failing")]
    FailingWithoutProfile,
    #[error(
        "--revision must be 1 to 63 letters, digits, '.', '_' or '-' (it becomes a header and a label), got {0:?}"
    )]
    Revision(String),
    #[error("--admin-token must be at least 8 characters with no white space")]
    AdminToken,
    #[error(transparent)]
    AllowedHost(#[from] webui::guard::BadHostName),
    #[error("--max-connections must be at least 1")]
    MaxConnections,
    #[error("--header-read-timeout must be longer than zero")]
    HeaderReadTimeout,
    #[error("--body-read-timeout must be longer than zero")]
    BodyReadTimeout,
    #[error(transparent)]
    Timeline(#[from] scenarios::TimelineError),
    #[error("the timeline {path}: {source}")]
    TimelinePhase { path: PathBuf, source: StepError },
    #[error("--time-scale must be a finite number above 0, got {0}")]
    TimeScale(f64),
    #[error(
        "--time-scale {scale} makes step {step:?} shorter than a millisecond or longer than a century"
    )]
    TimeScaleStep { scale: f64, step: String },
    #[error("--phase: {0}")]
    UnknownPhase(scenarios::UnknownName),
    #[error("--watch-phase watches a file, and {0:?} is a shipped preset, not a file")]
    WatchShipped(String),
    #[error("reading the phase file {path}: {source}")]
    ReadPhase {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the phase file {path} is not a valid phase: {source}")]
    InvalidPhase { path: PathBuf, source: PhaseError },
}

fn profile(args: &Args) -> Result<Profile, ConfigError> {
    let customised = args.failing_status != 500 || args.failing_ratio != 1.0;
    match args.profile {
        ProfileName::Failing => {
            let status = StatusCode::from_u16(args.failing_status)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .ok_or(ConfigError::FailingStatus(args.failing_status))?;
            if !(0.0..=1.0).contains(&args.failing_ratio) {
                return Err(ConfigError::FailingRatio(args.failing_ratio));
            }
            Ok(Profile::Failing {
                status,
                ratio: args.failing_ratio,
            })
        }
        _ if customised => Err(ConfigError::FailingWithoutProfile),
        ProfileName::MovieGuru => Ok(Profile::MovieGuru),
        ProfileName::Jokes => Ok(Profile::Jokes),
    }
}

fn revision(name: &Option<String>) -> Result<Option<String>, ConfigError> {
    match name {
        Some(r) if !crate::config::valid_revision(r) => Err(ConfigError::Revision(r.clone())),
        _ => Ok(name.clone()),
    }
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, ConfigError> {
        let phase_source = args
            .phase
            .as_deref()
            .map(|given| {
                scenarios::resolve(scenarios::Kind::Phase, given, None)
                    .map_err(ConfigError::UnknownPhase)
            })
            .transpose()?;
        let startup_phase = match &phase_source {
            None => Phase::workshop_default(),
            Some(scenarios::Source::Shipped(text)) => Phase::workshop_default()
                .merged(text.as_bytes())
                .map_err(|source| ConfigError::InvalidPhase {
                    path: args.phase.clone().unwrap_or_default(),
                    source,
                })?,
            Some(scenarios::Source::File(path)) => {
                let text =
                    scenarios::read_bounded(path).map_err(|source| ConfigError::ReadPhase {
                        path: path.clone(),
                        source,
                    })?;
                Phase::workshop_default().merged(&text).map_err(|source| {
                    ConfigError::InvalidPhase {
                        path: path.clone(),
                        source,
                    }
                })?
            }
        };
        let watch_phase = match &phase_source {
            Some(scenarios::Source::File(path)) if args.watch_phase => Some(path.clone()),
            Some(scenarios::Source::Shipped(_)) if args.watch_phase => {
                return Err(ConfigError::WatchShipped(
                    args.phase.unwrap_or_default().display().to_string(),
                ));
            }
            _ => None,
        };
        Ok(Config {
            addr: args
                .addr
                .unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, args.port))),
            latency_mode: args.latency_mode,
            seed: args.seed.unwrap_or_else(rand::random),
            draws: args.draws,
            shutdown_grace: args.shutdown_grace,
            log_format: args.log_format,
            profile: profile(&args)?,
            revision: revision(&args.revision)?,
            admin_token: match args.admin_token {
                Some(t) if t.len() < 8 || t.chars().any(char::is_whitespace) => {
                    return Err(ConfigError::AdminToken);
                }
                t => t,
            },
            allowed_hosts: webui::guard::HostPolicy::new(&args.allowed_hosts)?,
            max_connections: match args.max_connections {
                0 => return Err(ConfigError::MaxConnections),
                n => n,
            },
            header_read_timeout: match args.header_read_timeout {
                d if d.is_zero() => return Err(ConfigError::HeaderReadTimeout),
                d => d,
            },
            body_read_timeout: match args.body_read_timeout {
                Some(d) if d.is_zero() => return Err(ConfigError::BodyReadTimeout),
                d => d,
            },
            timeline: match &args.timeline {
                None => None,
                Some(path) => {
                    let timeline = scenarios::Timeline::load(path)?;
                    let plan = PhasePlan::new(&timeline, &startup_phase).map_err(|source| {
                        ConfigError::TimelinePhase {
                            path: path.clone(),
                            source,
                        }
                    })?;
                    match args.time_scale {
                        None => Some(plan),
                        Some(n) if !(n.is_finite() && n > 0.0) => {
                            return Err(ConfigError::TimeScale(n));
                        }
                        Some(n) => Some(
                            plan.time_scaled(n)
                                .map_err(|step| ConfigError::TimeScaleStep { scale: n, step })?,
                        ),
                    }
                }
            },
            watch_phase,
            startup_phase,
        })
    }
}

/// Logs to stderr in `format`, at the level `RUST_LOG` sets (info by default).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log line that cannot be written (stderr closed: `| head`, a log collector gone) is
        // dropped. By default the subscriber reports it with eprintln!, which panics on the same
        // closed stderr and takes the server down.
        .log_internal_errors(false);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        // Colour codes only for a person at a terminal: piped into a file or a log collector
        // they are noise (`ESC[2m...`).
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::ProfileName;
    use crate::answer::profile::Profile;

    /// A rehearsal's `profile =` and `--profile` must mean the same names.
    #[test]
    fn profile_names_match_the_flag() {
        let flag: Vec<String> = ProfileName::value_variants()
            .iter()
            .map(|v| v.to_possible_value().unwrap().get_name().to_owned())
            .collect();
        assert_eq!(flag, Profile::NAMES);
        for name in Profile::NAMES {
            assert_eq!(Profile::named(name).unwrap().name(), name);
        }
        assert!(Profile::named("broken").is_none());
    }
}
