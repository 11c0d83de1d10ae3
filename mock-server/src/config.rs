//! Command-line flags (with environment fallbacks) and the validated configuration they become.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::phase::{Phase, PhaseError};

/// Whether a drawn latency is felt by the client or only recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LatencyMode {
    /// Wait the drawn latency, counted from the request's arrival, before answering.
    Sleep,
    /// Answer at once and only record the latency, like the original mock (fast metric priming).
    Record,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable lines, for a terminal.
    Text,
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

    /// Start-up phase: a JSON phase document merged onto the workshop's challenge-1 phase
    #[arg(long, env = "MOCK_PHASE", value_name = "FILE")]
    pub phase: Option<PathBuf>,

    /// Whether the drawn latency is waited (sleep) or only recorded (record)
    #[arg(long, env = "MOCK_LATENCY_MODE", value_enum, default_value_t = LatencyMode::Sleep)]
    pub latency_mode: LatencyMode,

    /// Seed for the random draws: with the same seed, the n-th request makes the same draws
    #[arg(long, env = "MOCK_SEED")]
    pub seed: Option<u64>,

    /// How long shutdown waits for in-flight requests before closing their connections
    #[arg(long, env = "MOCK_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// Log format
    #[arg(long, env = "MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
}

/// A configuration that has been checked: the start-up phase is parsed and valid.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub startup_phase: Phase,
    pub latency_mode: LatencyMode,
    pub seed: u64,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading the phase file {path}: {source}")]
    ReadPhase {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the phase file {path} is not a valid phase: {source}")]
    InvalidPhase { path: PathBuf, source: PhaseError },
}

impl Default for Config {
    /// The workshop's start-up behaviour on 0.0.0.0:8080.
    fn default() -> Self {
        Config {
            addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8080)),
            startup_phase: Phase::workshop_default(),
            latency_mode: LatencyMode::Sleep,
            seed: rand::random(),
            shutdown_grace: Duration::from_secs(10),
            log_format: LogFormat::Json,
        }
    }
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, ConfigError> {
        let startup_phase = match &args.phase {
            None => Phase::workshop_default(),
            Some(path) => {
                let text = std::fs::read(path).map_err(|source| ConfigError::ReadPhase {
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
        Ok(Config {
            addr: args
                .addr
                .unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, args.port))),
            startup_phase,
            latency_mode: args.latency_mode,
            seed: args.seed.unwrap_or_else(rand::random),
            shutdown_grace: args.shutdown_grace,
            log_format: args.log_format,
        })
    }
}
