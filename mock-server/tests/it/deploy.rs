//! The images and manifests that deploy the mock: every YAML file parses, the workshop's
//! Service contract holds, and the Dockerfile builds with the release build CI runs.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn documents(path: &Path) -> Vec<Yaml> {
    let text = std::fs::read_to_string(path).unwrap();
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_deploy_manifest_parses() {
    let mut files = Vec::new();
    yaml_files(&root().join("deploy"), &mut files);
    assert!(files.len() >= 5, "{files:?}");
    for file in &files {
        let docs = documents(file);
        assert!(
            !docs.is_empty() && docs.iter().all(|d| !d.is_null()),
            "{}: empty",
            file.display()
        );
        if file.starts_with(root().join("deploy/k8s")) {
            for doc in &docs {
                for key in ["apiVersion", "kind", "metadata"] {
                    assert!(
                        !doc[key].is_badvalue(),
                        "{}: a document lacks {key}",
                        file.display()
                    );
                }
            }
        }
    }
}

#[test]
fn the_service_keeps_the_workshops_name_namespace_and_ports() {
    let docs = documents(&root().join("deploy/k8s/mockserver.yaml"));
    let service = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Service"))
        .expect("a Service");
    assert_eq!(
        service["metadata"]["name"].as_str(),
        Some("mockserver-service")
    );
    assert_eq!(
        service["metadata"]["namespace"].as_str(),
        Some("movie-guru")
    );
    let port = &service["spec"]["ports"][0];
    assert_eq!(
        (port["port"].as_i64(), port["targetPort"].as_i64()),
        (Some(80), Some(8080))
    );
    let deployment = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Deployment"))
        .unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert!(!container["resources"]["requests"]["cpu"].is_badvalue());
}

#[test]
fn the_dockerfile_builds_with_the_release_build_ci_runs() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        dockerfile.contains("RUN deploy/build-release"),
        "the image must use deploy/build-release"
    );
    assert!(
        ci.lines().any(|l| l.trim() == "deploy/build-release"),
        "CI must run deploy/build-release"
    );
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .filter_map(|l| l.split(" AS ").nth(1))
        .collect();
    for target in ["mock-server", "failing", "loadgen"] {
        assert!(stages.contains(&target), "no {target} target in {stages:?}");
    }
    assert_eq!(
        stages.last(),
        Some(&"mock-server"),
        "mock-server must be the default (last) target"
    );
    assert!(dockerfile.contains("USER 10001") && dockerfile.contains("HEALTHCHECK"));
}
