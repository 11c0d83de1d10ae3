//! The exit codes of the binary, named once. Features name the code their own errors call for
//! (`PhaseError::exit_code`); the runner maps every result to one of these.

pub const OK: i32 = 0;
/// The run could not be carried out (e.g. output could not be written), or no request got
/// any answer.
pub const FAILED: i32 = 1;
/// Bad arguments (EX_USAGE).
pub const USAGE: i32 = 64;
/// A service the command needs is missing or unavailable (EX_UNAVAILABLE): no `prometheus` on
/// PATH, Prometheus unreachable or not ready, rules it rejected.
pub const UNAVAILABLE: i32 = 69;
/// `loadgen canary` rolled the canary back.
pub const ROLLED_BACK: i32 = 98;
/// An `--slo` gate broke; under `--expect-breach`, no gate broke.
pub const SLO: i32 = 99;
/// Interrupted by Ctrl-C (128 + SIGINT); a partial report was printed.
pub const INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM (128 + SIGTERM), as Kubernetes stops a pod; a partial report was printed.
pub const TERMINATED: i32 = 143;

/// A failure the binary ends with: every error type a command can end in says its code here
/// (and, for a missing service, what to install), so the runner maps them all one way.
pub trait Exit: std::fmt::Display {
    fn exit_code(&self) -> i32;

    /// A line of help printed after the error (an install hint for a missing Prometheus).
    fn hint(&self) -> Option<&'static str> {
        None
    }
}

/// A failure of the runner's own (a `--web` address that cannot be had is 69) carried through
/// `anyhow` to `runner::run`, which ends with its code rather than 1.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Coded {
    pub code: i32,
    pub message: String,
}

impl Exit for Coded {
    fn exit_code(&self) -> i32 {
        self.code
    }
}

/// A mistake found while checking the command line (a plan that cannot be made): always 64.
#[derive(Debug)]
pub struct Usage<E>(pub E);

impl<E: std::fmt::Display> std::fmt::Display for Usage<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::fmt::Display> Exit for Usage<E> {
    fn exit_code(&self) -> i32 {
        USAGE
    }
}
