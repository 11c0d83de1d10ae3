//! The test fixture every suite shares (behind the `test-util` feature): a real mock-server on
//! a free loopback port, the one HTTP client ([`http`]), the one reader of `/metrics`
//! ([`parse_metrics`] and its look-ups) and the one bound on a random count
//! ([`assert_binomial`]).
//!
//! As linkerd's test servers do, the handle stops the server gracefully and re-raises whatever
//! the server task panicked with, so a bug in the server fails the test that found it rather
//! than vanishing with a detached task.

pub mod http;

mod binomial;
mod metrics;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Config, Error, LatencyMode, Phase};

pub use binomial::assert_binomial;
pub use metrics::{label, parse_metrics, sample, value};

/// A running mock-server. `stop` ends it and re-raises its panics; dropping it aborts it.
pub struct TestServer {
    /// Where it listens (127.0.0.1 and the port the kernel chose).
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

impl TestServer {
    /// Serves `config` on a free port of 127.0.0.1 (its `addr` is replaced by the bound one).
    pub async fn start(config: Config) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("binding 127.0.0.1:0 for a test mock-server: {e}"));
        TestServer::on(listener, config)
    }

    /// The workshop's defaults with `phase`, in `mode`, on a free port.
    pub async fn with_phase(phase: Phase, mode: LatencyMode) -> TestServer {
        TestServer::start(Config {
            startup_phase: phase,
            latency_mode: mode,
            ..Config::default()
        })
        .await
    }

    /// Serves `config` on a listener the test bound itself (for a port that must be known, or
    /// scraped, before the server answers).
    pub fn on(listener: TcpListener, config: Config) -> TestServer {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("a bound listener has an address: {e}"));
        let config = Config { addr, ..config };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::run(listener, config, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Shuts the server down as a signal would (drain, then close) and waits for it; re-raises
    /// the server task's panic, and panics if `run` returned an error.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(task) = self.task.take() else {
            return;
        };
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("mock-server on {} failed: {e}", self.addr),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("mock-server on {} did not finish: {e}", self.addr),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_re_raises_nothing_from_a_healthy_server_and_frees_its_port() {
        let server = TestServer::start(Config::default()).await;
        let addr = server.addr;
        assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
        server.stop().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
