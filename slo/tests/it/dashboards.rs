//! The Grafana dashboards and provisioning files under `deploy/grafana/` are what the generator
//! writes, and hold together: unique panel ids, one datasource whose uid the provisioning file
//! defines, a query behind every panel. (Their queries run against a real Prometheus in the e2e
//! suite, `tests/tests/prometheus/dashboards.rs`.)

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::generated::{assert_fresh, compare_or_update};
use crate::support::checked_in_spec;

fn grafana_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana")
}

#[test]
fn checked_in_dashboards_are_generated_from_the_spec() {
    let files = slo::dashboard_files(&checked_in_spec());
    assert_fresh(&compare_or_update(&grafana_dir(), &files));
    assert_eq!(
        files,
        slo::dashboard_files(&checked_in_spec()),
        "deterministic"
    );
}

/// The uid the provisioning file gives its one datasource, read from the checked-in file.
fn provisioned_uid() -> String {
    let path = grafana_dir().join(slo::dashboards::DATASOURCE_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let sources = docs[0]["datasources"].as_vec().expect("a datasources list");
    assert_eq!(sources.len(), 1, "one datasource in {}", path.display());
    sources[0]["uid"]
        .as_str()
        .expect("the datasource has a uid")
        .to_owned()
}

#[test]
fn every_panel_has_a_unique_id_queries_and_the_provisioned_datasource() {
    let uid = provisioned_uid();
    let dashboards = slo::dashboards(&checked_in_spec());
    assert_eq!(
        dashboards.len(),
        4,
        "Login, Startup, Chat and the SLO overview"
    );
    let mut dashboard_uids = BTreeSet::new();
    for d in &dashboards {
        assert!(dashboard_uids.insert(d.model["uid"].as_str().unwrap().to_owned()));
        let panels = d.model["panels"].as_array().expect("panels");
        let mut ids = BTreeSet::new();
        let mut sources = BTreeSet::new();
        for panel in panels {
            let id = panel["id"].as_u64().expect("every panel has a numeric id");
            assert!(ids.insert(id), "{}: panel id {id} used twice", d.file);
            if panel["type"] == "row" {
                continue;
            }
            sources.insert(panel["datasource"]["uid"].as_str().unwrap().to_owned());
            let targets = panel["targets"].as_array().expect("targets");
            assert!(
                !targets.is_empty(),
                "{}: {} has no query",
                d.file,
                panel["title"]
            );
            for t in targets {
                sources.insert(t["datasource"]["uid"].as_str().unwrap().to_owned());
                assert!(!t["expr"].as_str().unwrap().is_empty());
            }
        }
        assert_eq!(sources, BTreeSet::from([uid.clone()]), "{}", d.file);
    }
}

#[test]
fn endpoint_dashboards_draw_the_five_percentiles() {
    let dashboards = slo::dashboards(&checked_in_spec());
    for name in ["login", "startup", "chat"] {
        let d = dashboards
            .iter()
            .find(|d| d.model["uid"] == format!("movieguru-{name}"))
            .unwrap();
        let legends: Vec<&str> = d.model["panels"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["targets"].as_array().unwrap())
            .map(|t| t["legendFormat"].as_str().unwrap())
            .collect();
        for p in ["p10", "p50", "p90", "p95", "p99"] {
            assert!(legends.contains(&p), "{name}: {legends:?}");
        }
    }
}
