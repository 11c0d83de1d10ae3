//! The shared vocabulary of failure, at the bottom of the crate: why a request got no response
//! ([`ErrorKind`], a `Copy` kind counted in arrays, so failures cost no allocation), how I/O and
//! hyper errors sort into those kinds, and what counts as a failed request in a journey
//! ([`Failure`]: a kind, or a status of 400 or more). Everything that counts failures (the load's
//! `Stats`, the journeys' recorder, the client metrics, the reports) names them from here.

use std::io;

use serde::{Deserialize, Serialize};

/// Why a request produced no response. A `Copy` kind counted in an array: failures cost no
/// allocation, unlike counting them by error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The peer refused the TCP connection.
    ConnectRefused,
    /// Any other failure to open a TCP connection (unreachable, address in use, ...).
    Connect,
    /// The request did not complete within `-t`.
    Timeout,
    /// The connection was reset or closed before the response completed.
    Reset,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (or an https target had no TLS set-up).
    Tls,
    /// The peer spoke something that is not valid HTTP.
    Protocol,
    /// A redirect could not be followed: more than 10 hops, or a Location loadgen cannot load.
    Redirect,
}

impl ErrorKind {
    /// Every kind, in report order.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::ConnectRefused,
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Dns,
        ErrorKind::Tls,
        ErrorKind::Protocol,
        ErrorKind::Redirect,
    ];

    /// Index into a per-kind counter array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in the JSON report (and its schema).
    pub fn key(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Dns => "dns",
            ErrorKind::Tls => "tls",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Redirect => "redirect",
        }
    }

    pub fn from_key(key: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// The human label used in the summary's error distribution.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connection refused",
            ErrorKind::Connect => "connect failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "connection reset or closed",
            ErrorKind::Dns => "dns lookup failed",
            ErrorKind::Tls => "tls failed",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::Redirect => "redirect not followed",
        }
    }
}

/// Why a request failed, counted in an array: a status of 400 or more, or no response at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Status(u16),
    Transport(ErrorKind),
}

impl Failure {
    /// The name used in reports and in the `kind` label: `http_500`, `reset`, ...
    pub fn key(self) -> String {
        match self {
            Failure::Status(code) => format!("http_{code}"),
            Failure::Transport(kind) => kind.key().to_owned(),
        }
    }
}

/// Sorts an I/O error; `otherwise` is the kind for errors that say nothing more specific.
pub fn classify_io(e: &io::Error, otherwise: ErrorKind) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => ErrorKind::Reset,
        _ => otherwise,
    }
}

/// Sorts a hyper error by what it says and, failing that, by the I/O error beneath it.
pub fn classify_hyper(e: &hyper::Error) -> ErrorKind {
    if e.is_timeout() {
        return ErrorKind::Timeout;
    }
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() || e.is_user() {
        return ErrorKind::Protocol;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return classify_io(io, ErrorKind::Reset);
        }
        source = s.source();
    }
    if e.is_canceled() || e.is_closed() || e.is_incomplete_message() || e.is_body_write_aborted() {
        return ErrorKind::Reset;
    }
    ErrorKind::Protocol
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_index_their_own_slot_and_keys_round_trip() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i, "{k:?}");
            assert_eq!(ErrorKind::from_key(k.key()), Some(*k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                k.key(),
                "serde and key() agree"
            );
        }
    }
}
