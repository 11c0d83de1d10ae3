//! A real Alertmanager (Debian's `prometheus-alertmanager`, or `alertmanager`) for rehearsals:
//! started on a free loopback port with its own data folder and clustering off, ready when this
//! returns, killed when the handle is stopped or dropped. The port is Alertmanager's own choice
//! (`127.0.0.1:0`), read back from its "Listening on" log line, as for [`crate::LocalPrometheus`].

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::oneshot;

/// How long Alertmanager may take to listen and report ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The names the binary goes by: Debian's package, then upstream's.
const BINARIES: [&str; 2] = ["prometheus-alertmanager", "alertmanager"];

#[derive(Debug, thiserror::Error)]
pub enum LocalAlertmanagerError {
    #[error(
        "the alertmanager binary is not on PATH (Debian: apt-get install prometheus-alertmanager)"
    )]
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
    #[error("alertmanager did not become ready within {START_TIMEOUT:?}: {reason}\n{log}")]
    NotReady { reason: String, log: String },
}

/// A running Alertmanager; its config and data live in a temporary folder removed on drop.
#[derive(Debug)]
pub struct LocalAlertmanager {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
    log: Arc<Mutex<Vec<String>>>,
}

impl LocalAlertmanager {
    /// The binary on PATH, if any.
    pub fn binary() -> Option<PathBuf> {
        let paths = std::env::var_os("PATH")?;
        BINARIES.iter().find_map(|name| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    }

    /// Writes `config` as `alertmanager.yml`, starts Alertmanager and waits until it is ready.
    pub async fn start(config: &str) -> Result<Self, LocalAlertmanagerError> {
        let binary = Self::binary().ok_or(LocalAlertmanagerError::NotInstalled)?;
        let files = |path: PathBuf| move |source| LocalAlertmanagerError::Files { path, source };
        let dir = tempfile::Builder::new()
            .prefix("slo-alertmanager-")
            .tempdir()
            .map_err(files(std::env::temp_dir()))?;
        let config_path = dir.path().join("alertmanager.yml");
        std::fs::write(&config_path, config).map_err(files(config_path.clone()))?;
        let mut child = Command::new(&binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg("--web.listen-address=127.0.0.1:0")
            // No gossip port: a rehearsal runs one Alertmanager, on loopback only.
            .arg("--cluster.listen-address=")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| LocalAlertmanagerError::Spawn {
                binary: binary.clone(),
                source,
            })?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = oneshot::channel();
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(crate::local::prometheus::collect_log(
                stderr,
                Arc::clone(&log),
                address_tx,
            ));
        }
        let mut this = Self {
            child,
            address: String::new(),
            _dir: dir,
            log,
        };
        this.address = match tokio::time::timeout(START_TIMEOUT, address_rx).await {
            Ok(Ok(address)) => address,
            Ok(Err(_)) => return Err(this.not_ready("it exited before listening")),
            Err(_) => return Err(this.not_ready("it never logged its listening address")),
        };
        this.wait_ready().await?;
        Ok(this)
    }

    /// `host:port`, as Prometheus' `alertmanagers` targets take it.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The log so far (last lines), for error messages.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Kills Alertmanager and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    async fn wait_ready(&mut self) -> Result<(), LocalAlertmanagerError> {
        let ready = format!("http://{}/-/ready", self.address);
        crate::local::prometheus::wait_ready(&mut self.child, &ready)
            .await
            .map_err(|reason| self.not_ready(&reason))
    }

    fn not_ready(&self, reason: &str) -> LocalAlertmanagerError {
        LocalAlertmanagerError::NotReady {
            reason: reason.to_owned(),
            log: self.log(),
        }
    }
}
