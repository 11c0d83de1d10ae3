//! `ceiling --addr 127.0.0.1:8090 [--body-file F]`: serve the hello-world ceiling until Ctrl-C
//! or SIGTERM. Prints the bound address on stdout (useful with port 0), then serves.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};

/// The minimal hyper 1.x server `bench/run` compares mock-server against.
#[derive(Debug, Parser)]
#[command(name = "ceiling", version)]
struct Args {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8090")]
    addr: SocketAddr,
    /// Answer with this file's bytes instead of mock-server's 5-byte health-check body.
    #[arg(long)]
    body_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let body = match &args.body_file {
        Some(path) => Bytes::from(
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None => Bytes::from_static(ceiling::BODY),
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    println!("{}", listener.local_addr()?);
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    ceiling::run(listener, body, shutdown)
        .await
        .context("accepting connections")
}
