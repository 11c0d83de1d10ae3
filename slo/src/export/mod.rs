//! The spec in other tools' formats: Google Cloud Monitoring's `serviceLevelObjectives` bodies
//! ([`gcp`]), as the workshop's students POST them in challenge 5, and OpenSLO YAML ([`openslo`]),
//! which is also read back, so a team's own OpenSLO files drive the rules and dashboards.
//! [`export_files`] lists what is checked in under `deploy/`, kept current by a test.

pub mod gcp;
pub mod openslo;

use crate::files::GeneratedFile;
use crate::spec::Spec;

/// Every exported file, relative to `deploy/`.
pub fn export_files(spec: &Spec) -> Result<Vec<GeneratedFile>, gcp::GcpError> {
    let mut files = Vec::new();
    for (name, body) in gcp::slo_bodies(spec)? {
        files.push(GeneratedFile {
            path: format!("gcp/{name}.json"),
            contents: body,
        });
    }
    files.push(GeneratedFile {
        path: "openslo/slos.yaml".into(),
        contents: openslo::to_openslo(spec),
    });
    Ok(files)
}
