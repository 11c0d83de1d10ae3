//! `--probe`: a health check of a running server, for container images without curl.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("talking to {addr}: {source}")]
    Io {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{addr} answered {status:?} to GET /healthz")]
    Unhealthy { addr: SocketAddr, status: String },
}

/// The most of the answer read: its status line is all the probe needs.
const MAX_READ: usize = 4096;

/// GETs `/healthz` on `addr` (an unspecified address means this host) and expects a 200.
/// `timeout` bounds the whole probe, not each read, and only the status line is read, so a
/// server that trickles bytes or answers without end cannot keep the probe going.
pub fn healthz(addr: SocketAddr, timeout: Duration) -> Result<(), ProbeError> {
    let addr = if addr.ip().is_unspecified() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
    } else {
        addr
    };
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|source| ProbeError::Connect { addr, source })?;
    let io = |source| ProbeError::Io { addr, source };
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {timeout:?}"),
                )
            })
    };
    stream
        .set_write_timeout(Some(left().map_err(io)?))
        .map_err(io)?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .map_err(io)?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 512];
    while !answer.contains(&b'\n') && answer.len() < MAX_READ {
        stream
            .set_read_timeout(Some(left().map_err(io)?))
            .map_err(io)?;
        match stream.read(&mut chunk).map_err(io)? {
            0 => break,
            n => answer.extend_from_slice(&chunk[..n]),
        }
    }
    let status = String::from_utf8_lossy(&answer[..answer.len().min(MAX_READ)])
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect::<String>();
    if status.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(ProbeError::Unhealthy { addr, status })
    }
}
