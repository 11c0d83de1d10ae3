//! Paths and fixtures shared by the integration tests.

use std::path::PathBuf;

/// `scenarios/slo/` in the workspace.
pub fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/slo")
}

pub fn checked_in_spec() -> slo::Spec {
    let path = scenario_dir().join("slos.toml");
    slo::Spec::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
