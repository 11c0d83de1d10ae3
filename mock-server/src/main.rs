//! The `mock-server` binary: flags in, logging set up, `mock_server::run` until a signal.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use mock_server::cli::Args;
use mock_server::config::Config;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        // clap exits 2 on bad usage; the documented code is 64. Help and version stay 0.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 64 } else { 0 });
        }
    };
    if args.probe {
        let addr = args
            .addr
            .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)));
        return match mock_server::probe::healthz(addr, Duration::from_secs(2)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mock-server --probe: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match Config::try_from(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mock-server: {e}");
            return ExitCode::from(64);
        }
    };
    mock_server::cli::init_logging(config.log_format);
    // Thousands of slow clients need thousands of descriptors; the soft limit is often 1024.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
    match serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "mock-server failed");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
            _ = term.recv() => tracing::info!("SIGTERM received"),
        }
    };
    mock_server::run(listener, config, shutdown).await?;
    Ok(())
}
