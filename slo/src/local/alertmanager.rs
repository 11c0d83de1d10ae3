//! A real Alertmanager (Debian's `prometheus-alertmanager`, or `alertmanager`) for rehearsals:
//! started on a free loopback port with its own data folder and clustering off, ready when this
//! returns, killed when the handle is stopped or dropped. The port is Alertmanager's own choice
//! (`127.0.0.1:0`), read back from its "Listening on" log line, as for [`crate::LocalPrometheus`].

use std::path::PathBuf;

use super::child::{self, LocalChild, START_TIMEOUT, StartError};

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
    child: LocalChild,
    _dir: tempfile::TempDir,
}

impl LocalAlertmanager {
    /// The binary on PATH, if any.
    pub fn binary() -> Option<PathBuf> {
        child::binary(&BINARIES)
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
        let args = [
            format!("--config.file={}", config_path.display()),
            format!("--storage.path={}", dir.path().join("data").display()),
            "--web.listen-address=127.0.0.1:0".to_owned(),
            // No gossip port: a rehearsal runs one Alertmanager, on loopback only.
            "--cluster.listen-address=".to_owned(),
        ];
        let child = child::start(&binary, &args, dir.path())
            .await
            .map_err(|e| match e {
                StartError::Spawn(source) => LocalAlertmanagerError::Spawn { binary, source },
                StartError::NotReady { reason, log } => {
                    LocalAlertmanagerError::NotReady { reason, log }
                }
            })?;
        Ok(Self { child, _dir: dir })
    }

    /// `host:port`, as Prometheus' `alertmanagers` targets take it.
    pub fn address(&self) -> &str {
        self.child.address()
    }

    /// The log so far (last lines), for error messages.
    pub fn log(&self) -> String {
        self.child.log()
    }

    /// Kills Alertmanager and waits for it.
    pub async fn stop(self) {
        self.child.stop().await;
    }
}
