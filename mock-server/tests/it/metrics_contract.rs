//! `/metrics` against the workshop's contract, and through `promtool check metrics`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;

use mock_server::LatencyMode;
use tokio::io::AsyncWriteExt;

use crate::support::TestServer;

/// name -> (type, label names, bucket bounds), read off an exposition.
fn families(text: &str) -> BTreeMap<String, (String, BTreeSet<String>, Vec<String>)> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            out.insert(
                name.to_owned(),
                (kind.to_owned(), BTreeSet::new(), Vec::new()),
            );
        }
    }
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let series = line.rsplit_once(' ').unwrap().0;
        let (metric, labels) = series.split_once('{').unwrap_or((series, ""));
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| metric.strip_suffix(s).filter(|f| out.contains_key(*f)))
            .unwrap_or(metric);
        let entry = out
            .get_mut(family)
            .unwrap_or_else(|| panic!("no TYPE for {metric}"));
        for pair in labels
            .trim_end_matches('}')
            .split(',')
            .filter(|p| !p.is_empty())
        {
            let (name, value) = pair.split_once('=').unwrap();
            if name == "le" {
                let le = value.trim_matches('"').to_owned();
                if le != "+Inf" && !entry.2.contains(&le) {
                    entry.2.push(le);
                }
            } else {
                entry.1.insert(name.to_owned());
            }
        }
    }
    out
}

fn contract() -> BTreeMap<String, (String, BTreeSet<String>, Vec<String>)> {
    include_str!("metrics_contract.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let labels = f[2]
                .split(',')
                .filter(|l| *l != "-")
                .map(str::to_owned)
                .collect();
            let buckets = f
                .get(3)
                .map(|b| b.split(',').map(str::to_owned).collect())
                .unwrap_or_default();
            (f[0].to_owned(), (f[1].to_owned(), labels, buckets))
        })
        .collect()
}

#[tokio::test]
async fn workshop_metrics_match_the_reference_exactly() {
    let server = TestServer::start(LatencyMode::Record).await;
    // One request per route, so every labelled family has samples to read labels from.
    for path in ["/", "/startup", "/logout", "/preferences"] {
        server.get(path).await;
    }
    for path in ["/chat", "/login", "/preferences"] {
        server.post(path, "{}").await;
    }
    let exported = families(&server.metrics().await.text);
    let workshop: BTreeMap<_, _> = exported
        .iter()
        .filter(|(name, _)| name.starts_with("movieguru_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let expected = contract();
    for (name, want) in &expected {
        assert_eq!(workshop.get(name), Some(want), "{name}");
    }
    let extra: Vec<_> = workshop
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        extra.is_empty(),
        "exported but not in the contract: {extra:?}"
    );

    let labels = |name: &str| exported[name].1.iter().cloned().collect::<Vec<_>>();
    assert_eq!(labels("http_requests_total"), ["code", "method", "route"]);
    assert_eq!(labels("http_request_duration_seconds"), ["route"]);
    assert_eq!(exported["mockserver_phase_changes_total"].0, "counter");
    assert_eq!(labels("mockserver_phase_success_ratio"), ["endpoint"]);
    server.stop().await;
}

#[tokio::test]
async fn promtool_finds_only_the_names_compatibility_forces() {
    let Ok(mut promtool) = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!(
            "SKIPPED: promtool is not installed (apt-get install prometheus); .ci/run installs it"
        );
        return;
    };
    let server = TestServer::start(LatencyMode::Record).await;
    server.post("/chat", "{}").await;
    server.post("/phase", r#"{"ChatSuccess": 1}"#).await;
    server.post("/chat", "{}").await;
    let text = server.metrics().await.text;
    let mut stdin = promtool.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let out = promtool.wait_with_output().await.unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let contract = contract();
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        let (name, problem) = line.split_once(' ').unwrap_or((line, ""));
        let forced = contract.contains_key(name)
            && [
                r#"use base unit "seconds" instead of "milliseconds""#,
                "metric names should be written in 'snake_case' not 'camelCase'",
                "metric name should not include type 'counter'",
            ]
            .contains(&problem);
        assert!(forced, "promtool: {line}");
    }
    server.stop().await;
}

/// Issue 13, item 7: the phase gauges of one scrape come from one phase. Two phases whose
/// latency ranges do not overlap alternate as fast as the API allows while `/metrics` is read
/// over and over; a scrape that mixed them would show a minimum above its maximum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_scrape_never_mixes_two_phases() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let server = Arc::new(TestServer::start(LatencyMode::Record).await);
    let phase = |min: u32, max: u32| {
        ["Login", "Chat", "Startup", "PrefGet", "PrefUpdate"]
            .iter()
            .map(|e| format!(r#""{e}LatencyMinMS": {min}, "{e}LatencyMaxMS": {max}"#))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Each document moves both bounds, so the other phase's values are valid at every step.
    let (high, low) = (
        format!("{{{}}}", phase(791, 1000)),
        format!("{{{}}}", phase(100, 610)),
    );
    let done = Arc::new(AtomicBool::new(false));
    let churn = {
        let (server, done) = (server.clone(), done.clone());
        tokio::spawn(async move {
            let mut changes = 0u64;
            while !done.load(Ordering::Relaxed) {
                for body in [&high, &low] {
                    assert_eq!(server.post("/phase", body).await.0, 200);
                    changes += 1;
                }
            }
            changes
        })
    };
    let scrapers = (0..2).map(|_| {
        let server = server.clone();
        tokio::spawn(async move {
            let mut mixed = Vec::new();
            for _ in 0..1500 {
                let scrape = server.metrics().await;
                for endpoint in ["login", "chat", "startup", "prefGet", "prefUpdate"] {
                    let label = format!(r#"{{endpoint="{endpoint}"}}"#);
                    let min = scrape.get(&format!("mockserver_phase_latency_min_seconds{label}"));
                    let max = scrape.get(&format!("mockserver_phase_latency_max_seconds{label}"));
                    if min > max {
                        mixed.push(format!("{endpoint}: min {min} > max {max}"));
                    }
                }
            }
            mixed
        })
    });
    let mut mixed = Vec::new();
    for s in scrapers.collect::<Vec<_>>() {
        mixed.extend(s.await.unwrap());
    }
    done.store(true, Ordering::Relaxed);
    let changes = churn.await.unwrap();
    assert!(
        changes >= 20,
        "only {changes} phase changes during 3000 scrapes"
    );
    assert!(
        mixed.is_empty(),
        "{} mixed scrape values over {changes} changes, e.g. {:?}",
        mixed.len(),
        &mixed[..mixed.len().min(5)]
    );
    Arc::into_inner(server).unwrap().stop().await;
}
