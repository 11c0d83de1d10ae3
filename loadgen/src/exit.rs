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
