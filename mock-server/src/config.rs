//! The validated configuration: what the server is to do, every value already checked.
//!
//! `cli` builds it from the command line; tests build it directly (`..Config::default()`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;
use webui::guard::HostPolicy;

use crate::answer::profile::Profile;
use crate::drive::timeline::PhasePlan;
use crate::phase::Phase;
use crate::state::draw::DrawMode;

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

/// A configuration that has been checked: the start-up phase is parsed and valid.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub startup_phase: Phase,
    pub latency_mode: LatencyMode,
    pub seed: u64,
    /// Dice, or the exact sequences (`--draws exact`), both from `seed`.
    pub draws: DrawMode,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    pub profile: Profile,
    pub revision: Option<String>,
    pub admin_token: Option<String>,
    /// The names `/phase` and `/ui` answer besides IP addresses and localhost (`--allowed-host`).
    pub allowed_hosts: HostPolicy,
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    /// How long a request body may take to arrive, from the request's arrival; `None`: as long
    /// as the header read timeout.
    pub body_read_timeout: Option<Duration>,
    pub timeline: Option<PhasePlan>,
    /// The `--phase` file to follow, with `--watch-phase`.
    pub watch_phase: Option<PathBuf>,
}

impl Default for Config {
    /// The workshop's start-up behaviour on 0.0.0.0:8080.
    fn default() -> Self {
        Config {
            addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8080)),
            startup_phase: Phase::workshop_default(),
            latency_mode: LatencyMode::Sleep,
            seed: rand::random(),
            draws: DrawMode::Random,
            shutdown_grace: Duration::from_secs(10),
            log_format: LogFormat::Json,
            profile: Profile::MovieGuru,
            revision: None,
            admin_token: None,
            allowed_hosts: HostPolicy::default(),
            max_connections: 20_000,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: None,
            timeline: None,
            watch_phase: None,
        }
    }
}

/// Whether `name` can name a revision: it becomes an `X-Revision` header and a `revision`
/// label, so 1 to 63 letters, digits, '.', '_' or '-'.
pub fn valid_revision(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl Config {
    /// The body read timeout in force: its own, or else the header read timeout.
    pub fn body_read_timeout(&self) -> Duration {
        self.body_read_timeout.unwrap_or(self.header_read_timeout)
    }
}
