//! One local child (Prometheus or Alertmanager) started from PATH on a loopback port of its own
//! choice: its log's tail kept for error messages, its address read back from the "Listening on"
//! line, ready when [`start`] returns, killed when the handle is stopped or dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// How long a child may take to listen and then to report ready (Prometheus replays its WAL first).
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Log lines kept for error messages; Prometheus' start-up says everything in the first dozen.
const LOG_LINES: usize = 200;

/// Which local service a child is: it names the service in messages and the package to install.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Prometheus,
    Alertmanager,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Prometheus => "prometheus",
            Service::Alertmanager => "alertmanager",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Service::Prometheus => "prometheus",
            Service::Alertmanager => "prometheus-alertmanager",
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a local Prometheus or Alertmanager did not start: one error for both, since both start
/// the same way.
#[derive(Debug, thiserror::Error)]
pub enum LocalServiceError {
    #[error("the {0} binary is not on PATH (Debian: apt-get install {pkg})", pkg = .0.package())]
    NotInstalled(Service),
    #[error("preparing {path}: {source}")]
    Files {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("{service} did not become ready within {START_TIMEOUT:?}: {reason}\n{log}")]
    NotReady {
        service: Service,
        reason: String,
        log: String,
    },
}

impl LocalServiceError {
    /// A file or folder that could not be prepared for the service.
    pub(crate) fn files(path: PathBuf) -> impl FnOnce(std::io::Error) -> Self {
        move |source| LocalServiceError::Files { path, source }
    }
}

/// A running child listening on `address` (`host:port`).
#[derive(Debug)]
pub(crate) struct LocalChild {
    service: Service,
    child: Child,
    address: String,
    log: Arc<Mutex<Vec<String>>>,
}

/// The first of `names` found on PATH, in the order given.
pub(crate) fn binary(names: &[&str]) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Starts `binary` with `args` in `dir` and waits until it logs its address and its `/-/ready`
/// answers 200.
pub(crate) async fn start(
    service: Service,
    binary: &Path,
    args: &[String],
    dir: &Path,
) -> Result<LocalChild, LocalServiceError> {
    let mut child = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| LocalServiceError::Spawn {
            binary: binary.to_owned(),
            source,
        })?;
    let log = Arc::new(Mutex::new(Vec::new()));
    let (address_tx, address_rx) = oneshot::channel();
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(collect_log(stderr, Arc::clone(&log), address_tx));
    }
    let mut this = LocalChild {
        service,
        child,
        address: String::new(),
        log,
    };
    this.address = match tokio::time::timeout(START_TIMEOUT, address_rx).await {
        Ok(Ok(address)) => address,
        Ok(Err(_)) => return Err(this.not_ready("it exited before listening")),
        Err(_) => return Err(this.not_ready("it never logged its listening address")),
    };
    let ready = format!("http://{}/-/ready", this.address);
    if let Err(reason) = wait_ready(&mut this.child, &ready).await {
        return Err(this.not_ready(&reason));
    }
    Ok(this)
}

impl LocalChild {
    /// `host:port`, as the child logged it.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// The log so far (last lines), for error and assertion messages.
    pub(crate) fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Kills the child and waits for it: its data is thrown away, so there is nothing to shut
    /// down gracefully.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    fn not_ready(&self, reason: &str) -> LocalServiceError {
        LocalServiceError::NotReady {
            service: self.service,
            reason: reason.to_owned(),
            log: self.log(),
        }
    }
}

/// Polls `ready` (Prometheus' and Alertmanager's `/-/ready`) until it answers 200, the child
/// exits, or [`START_TIMEOUT`] passes; the error is the reason, for the caller's own error.
async fn wait_ready(child: &mut Child, ready: &str) -> Result<(), String> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let uri: http::Uri = ready
        .parse()
        .map_err(|e| format!("bad address {ready}: {e}"))?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited with {status}"));
        }
        let answer = tokio::time::timeout(Duration::from_secs(2), client.get(uri.clone())).await;
        if answer.is_ok_and(|r| r.is_ok_and(|response| response.status().is_success())) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err("/-/ready never answered 200".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Keeps the log's tail and hands over the address from `msg="Listening on" address=...`.
async fn collect_log(
    stderr: tokio::process::ChildStderr,
    log: Arc<Mutex<Vec<String>>>,
    address_tx: oneshot::Sender<String>,
) {
    let mut address_tx = Some(address_tx);
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let address = line
            .contains("msg=\"Listening on\"")
            .then(|| line.split("address=").nth(1))
            .flatten()
            .and_then(|a| a.split_whitespace().next());
        if let (Some(address), Some(tx)) = (address, address_tx.take_if(|_| address.is_some())) {
            let _ = tx.send(address.to_owned());
        }
        if let Ok(mut log) = log.lock() {
            if log.len() == LOG_LINES {
                log.remove(0);
            }
            log.push(line);
        }
    }
}
