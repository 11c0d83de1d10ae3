//! `loadgen phase apply|show|reset`'s flags, and the action and admin client they become.

use clap::{Args, Subcommand};

use crate::phase_cmd::{Action, Admin, PhaseError};

#[derive(Debug, Clone, Subcommand)]
pub enum PhaseCommand {
    /// Merge a phase into the server's: a preset (challenge1, challenge5, challenge6,
    /// challenge7, bad-change) or a JSON file.
    Apply {
        /// Preset name or path to a phase document.
        phase: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Print the server's phase in force.
    Show {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Return the server to its start-up phase.
    Reset {
        #[command(flatten)]
        admin: AdminArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct PhaseArgs {
    #[command(subcommand)]
    pub command: PhaseCommand,
}

/// Where the mock-server is and how to be allowed to change it.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// Base URL of the mock-server (a bare host:port means http://host:port).
    #[arg(long, value_parser = crate::cli::values::parse_base_url)]
    pub host: String,
    /// The server's --admin-token, sent as `Authorization: Bearer`.
    #[arg(long, env = "LOADGEN_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Do not verify TLS certificates.
    #[arg(long)]
    pub insecure: bool,
}

impl PhaseCommand {
    /// The action (a preset or file resolved to its document), and a client for the server it
    /// names; a bad preset, URL or token is a usage error.
    pub fn plan(&self) -> Result<(Admin, Action), PhaseError> {
        let (admin, action) = match self {
            PhaseCommand::Apply { phase, admin } => {
                (admin, Action::Apply(scenarios::resolve_phase(phase, None)?))
            }
            PhaseCommand::Show { admin } => (admin, Action::Show),
            PhaseCommand::Reset { admin } => (admin, Action::Reset),
        };
        Ok((
            Admin::new(&admin.host, admin.token.as_deref(), admin.insecure)?,
            action,
        ))
    }
}
