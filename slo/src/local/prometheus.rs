//! A real Prometheus for tests: started on a free loopback port with its own data folder, ready
//! when this returns, killed when the handle is stopped or dropped.
//!
//! The port is chosen by Prometheus itself (`--web.listen-address=127.0.0.1:0`) and read back
//! from its "Listening on" log line, so two test runs can never race for the same port.

use std::path::{Path, PathBuf};

use super::child::{self, LocalChild, LocalServiceError, Service};
use crate::client::api::PrometheusClient;

/// A running Prometheus. Its data folder and config live in a temporary folder removed on drop.
#[derive(Debug)]
pub struct LocalPrometheus {
    child: LocalChild,
    url: String,
    dir: tempfile::TempDir,
}

impl LocalPrometheus {
    /// The `prometheus` binary on PATH, if any: tests skip, saying why, when it is `None`.
    pub fn binary() -> Option<PathBuf> {
        child::binary(&["prometheus"])
    }

    /// Writes `config` as `prometheus.yml` and each `(name, contents)` of `files` next to it (so
    /// `rule_files` can name them relatively), starts Prometheus and waits until it is ready.
    pub async fn start(config: &str, files: &[(&str, &str)]) -> Result<Self, LocalServiceError> {
        let binary = Self::binary().ok_or(LocalServiceError::NotInstalled(Service::Prometheus))?;
        let dir = tempfile::Builder::new()
            .prefix("slo-prometheus-")
            .tempdir()
            .map_err(LocalServiceError::files(std::env::temp_dir()))?;
        let write = |name: &str, contents: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, contents).map_err(LocalServiceError::files(path))
        };
        write("prometheus.yml", config)?;
        for (name, contents) in files {
            write(name, contents)?;
        }
        let args = [
            format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            "--web.listen-address=127.0.0.1:0".to_owned(),
            "--log.level=info".to_owned(),
        ];
        let child = child::start(Service::Prometheus, &binary, &args, dir.path()).await?;
        let url = format!("http://{}", child.address());
        Ok(Self { child, url, dir })
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
        self.child.log()
    }

    /// Kills Prometheus and waits for it; the data folder goes with the handle.
    pub async fn stop(self) {
        self.child.stop().await;
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
