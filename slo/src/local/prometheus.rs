//! A real Prometheus for tests: started on a free loopback port with its own data folder, ready
//! when this returns, killed when the handle is stopped or dropped.
//!
//! The port is chosen by Prometheus itself (`--web.listen-address=127.0.0.1:0`) and read back
//! from its "Listening on" log line, so two test runs can never race for the same port.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::client::api::PrometheusClient;

/// How long Prometheus may take to listen and then to report ready (it replays its WAL first).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Log lines kept for error messages; Prometheus' start-up says everything in the first dozen.
const LOG_LINES: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum LocalPrometheusError {
    #[error("the prometheus binary is not on PATH (Debian: apt-get install prometheus)")]
    NotInstalled,
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
    #[error("prometheus did not become ready within {START_TIMEOUT:?}: {reason}\n{log}")]
    NotReady { reason: String, log: String },
}

/// A running Prometheus. Its data folder and config live in a temporary folder removed on drop.
#[derive(Debug)]
pub struct LocalPrometheus {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
    log: Arc<Mutex<Vec<String>>>,
}

impl LocalPrometheus {
    /// The `prometheus` binary on PATH, if any: tests skip, saying why, when it is `None`.
    pub fn binary() -> Option<PathBuf> {
        let paths = std::env::var_os("PATH")?;
        std::env::split_paths(&paths)
            .map(|dir| dir.join("prometheus"))
            .find(|p| p.is_file())
    }

    /// Writes `config` as `prometheus.yml` and each `(name, contents)` of `files` next to it (so
    /// `rule_files` can name them relatively), starts Prometheus and waits until it is ready.
    pub async fn start(config: &str, files: &[(&str, &str)]) -> Result<Self, LocalPrometheusError> {
        let binary = Self::binary().ok_or(LocalPrometheusError::NotInstalled)?;
        let dir = tempfile::Builder::new()
            .prefix("slo-prometheus-")
            .tempdir()
            .map_err(|source| LocalPrometheusError::Files {
                path: std::env::temp_dir(),
                source,
            })?;
        let write = |name: &str, contents: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, contents)
                .map_err(|source| LocalPrometheusError::Files { path, source })
        };
        write("prometheus.yml", config)?;
        for (name, contents) in files {
            write(name, contents)?;
        }
        let mut child = Command::new(&binary)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg("--web.listen-address=127.0.0.1:0")
            .arg("--log.level=info")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| LocalPrometheusError::Spawn {
                binary: binary.clone(),
                source,
            })?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = oneshot::channel();
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(collect_log(stderr, Arc::clone(&log), address_tx));
        }
        let mut this = Self {
            child,
            url: String::new(),
            dir,
            log,
        };
        let address = match tokio::time::timeout(START_TIMEOUT, address_rx).await {
            Ok(Ok(address)) => address,
            Ok(Err(_)) => return Err(this.not_ready("it exited before listening")),
            Err(_) => return Err(this.not_ready("it never logged its listening address")),
        };
        this.url = format!("http://{address}");
        this.wait_ready().await?;
        Ok(this)
    }

    /// Base URL of the API and web UI, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The folder with `prometheus.yml`, the extra files and the TSDB.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Prometheus' log so far (last lines), for assertion messages.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Kills Prometheus and waits for it; the data folder goes with the handle.
    pub async fn stop(mut self) {
        // A test server's data is thrown away, so there is nothing to shut down gracefully.
        let _ = self.child.kill().await;
    }

    async fn wait_ready(&mut self) -> Result<(), LocalPrometheusError> {
        let ready = format!("{}/-/ready", self.url);
        wait_ready(&mut self.child, &ready)
            .await
            .map_err(|reason| self.not_ready(&reason))
    }

    fn not_ready(&self, reason: &str) -> LocalPrometheusError {
        LocalPrometheusError::NotReady {
            reason: reason.to_owned(),
            log: self.log(),
        }
    }

    /// An API client for this server.
    pub fn client(&self) -> PrometheusClient {
        // The URL is built above from a socket address, which always parses.
        PrometheusClient::new(&self.url).expect("a loopback URL is valid")
    }
}

/// A `prometheus.yml` that scrapes each `(job, address)` every second and evaluates every
/// second, loading `rule_files` (names of files passed to [`LocalPrometheus::start`]). One second
/// suits rules compressed by [`crate::Compression::E2E`], whose evaluation interval is 1s.
pub fn fast_scrape_config(jobs: &[(&str, std::net::SocketAddr)], rule_files: &[&str]) -> String {
    let mut config =
        String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n");
    for file in rule_files {
        config.push_str(&format!("  - {}\n", crate::rules::quote(file)));
    }
    config.push_str("scrape_configs:\n");
    for (job, address) in jobs {
        config.push_str(&format!(
            "  - job_name: {}\n    static_configs:\n      - targets: [\"{address}\"]\n",
            crate::rules::quote(job)
        ));
    }
    config
}

/// Polls `ready` (Prometheus' and Alertmanager's `/-/ready`) until it answers 200, the child
/// exits, or [`START_TIMEOUT`] passes; the error is the reason, for the caller's own error.
pub(crate) async fn wait_ready(child: &mut Child, ready: &str) -> Result<(), String> {
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
pub(crate) async fn collect_log(
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
