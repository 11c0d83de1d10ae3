//! A real Alertmanager (Debian's `prometheus-alertmanager`, or `alertmanager`) for rehearsals:
//! started on a free loopback port with its own data folder and clustering off, ready when this
//! returns, killed when the handle is stopped or dropped. The port is Alertmanager's own choice
//! (`127.0.0.1:0`), read back from its "Listening on" log line, as for [`crate::LocalPrometheus`].

use std::path::PathBuf;

use super::child::{self, LocalChild, LocalServiceError, Service};

/// The names the binary goes by: Debian's package, then upstream's.
const BINARIES: [&str; 2] = ["prometheus-alertmanager", "alertmanager"];

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
    pub async fn start(config: &str) -> Result<Self, LocalServiceError> {
        let binary =
            Self::binary().ok_or(LocalServiceError::NotInstalled(Service::Alertmanager))?;
        let files = LocalServiceError::files;
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
        let child = child::start(Service::Alertmanager, &binary, &args, dir.path()).await?;
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
