//! What a simulated user puts on the wire (a `user` header each, bodies from the journey, the
//! URL's path as a prefix), the report's JSON against its schema and its CSV, and usage errors.

use std::collections::BTreeSet;

use engine::Live;
use engine::journey;

use super::CPU;
use super::journey::journey_plan;
use super::server::{Server, Spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_send_their_header_and_the_journeys_bodies() {
    let _cpu = CPU.read().await;
    let s = Server::start(Spec::default()).await;
    let base = s.url("/api/");
    let plan = journey_plan(&[
        "--host",
        &base,
        "--users",
        "2",
        "--spawn-rate",
        "1000",
        "--wait",
        "0ms",
        "--tasks",
        "30",
    ]);
    let r = journey::run(plan.run, Live::default(), std::future::pending())
        .await
        .unwrap();
    assert_eq!(r.tasks.values().sum::<u64>(), 30);

    let chats: BTreeSet<String> = toml::from_str::<toml::Table>(
        engine::journey::spec::DEFAULT_JOURNEY,
    )
    .unwrap()["task"][0]["request"][0]["json"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["content"].as_str().unwrap().to_owned())
        .collect();
    let seen = s.state.seen.lock().unwrap().clone();
    assert!(seen.len() >= 30, "{} requests seen", seen.len());
    let mut users = BTreeSet::new();
    for req in &seen {
        let path = req.uri.as_str();
        assert!(
            path.starts_with("/api/"),
            "{path}: the URL's path prefixes the journey's"
        );
        users.insert(req.headers["user"].to_str().unwrap().to_owned());
        let json = || serde_json::from_slice::<serde_json::Value>(&req.body).unwrap();
        match (req.method.as_str(), path) {
            ("POST", "/api/chat") => {
                assert_eq!(req.headers["content-type"], "application/json");
                assert!(
                    chats.contains(json()["content"].as_str().unwrap()),
                    "{:?}",
                    req.body
                );
            }
            ("POST", "/api/preferences") => {
                assert!(
                    json()["content"]["likes"]["genres"].is_array(),
                    "{:?}",
                    req.body
                );
            }
            _ => assert!(req.body.is_empty(), "{} {path} has a body", req.method),
        }
    }
    assert!(
        users
            .iter()
            .all(|u| u == "user0@loadgen.example" || u == "user1@loadgen.example"),
        "{users:?}"
    );

    super::assert_schema(super::JOURNEY_SCHEMA, &serde_json::to_value(&r).unwrap());
    let mut csv = Vec::new();
    loadgen::output::journey::csv(&mut csv, &r).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), r.endpoints.len() + 2, "{csv}");
    assert!(rows[0].starts_with("Target,Name,Request Count,Failure Count,Median Response Time"));
    assert!(rows.last().unwrap().starts_with(",Aggregated,"), "{csv}");
    let mut text = Vec::new();
    loadgen::output::journey::text(&mut text, &r).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("POST /chat") && text.contains("Aggregated"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_journey_flags_exit_64_and_say_why() {
    for (args, words) in [
        (vec!["--users", "0"], "--users must be"),
        (vec!["--wait", "2s..1s"], "MIN..MAX"),
        (vec!["--journey", "nope"], "no journey named"),
        (vec!["--rate", "0"], "--rate must be"),
        (vec!["--spawn-rate", "0"], "--spawn-rate must be"),
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(["journey", "--host", "http://127.0.0.1:9/"])
            .args(&args)
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
    }
}
