//! The `loadgen` binary: parse, run, exit with a code that says how it went.
//! Exit codes: see `loadgen::exit` (0 ok, 1 failed, 64 usage, 98 rolled back, 99 SLO,
//! 130 interrupted). Everything else is `loadgen::runner`'s.

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = match loadgen::cli::parse(std::env::args()) {
        Ok(cli) => loadgen::runner::run(cli),
        Err(code) => code,
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
