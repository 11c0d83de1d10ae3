//! Issue 22 item 1: `loadgen journey --web` answers Locust's own HTTP API as Locust 2.47 does.
//! A Locust-style script (the form `POST /swarm`, `GET /stats/requests` while spawning, running
//! and stopped, the CSVs, `/exceptions`, `/stats/report`, `/stats/reset`, `/stop`) drives a real
//! swarm page against a real mock-server, and each answer is held to what a real Locust answered
//! the same script, recorded once by `bench/record-locust-contract` in
//! `loadgen/tests/contract/locust-2.47.json`: the same status, media type and download, every
//! key Locust sent with a JSON type Locust sent there, the same CSV header lines, state words,
//! `success` and messages. Then a second run's CSV totals equal the server's own counters.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use e2e::workspace_path;
use mock_server::testing::http::{Answer, raw, request};
use mock_server::testing::{TestServer, label, parse_metrics};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(20);
const CONTRACT: &str = "loadgen/tests/contract/locust-2.47.json";

fn contract() -> Value {
    let path = workspace_path(CONTRACT);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{CONTRACT}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{CONTRACT}: {e}"))
}

/// One request as a script sends it: a form body when `form` is given, none otherwise.
async fn send(addr: SocketAddr, method: &str, path: &str, form: Option<&str>) -> Answer {
    let host = format!("host: {addr}");
    let mut headers = vec![host.as_str()];
    if form.is_some() {
        headers.push("content-type: application/x-www-form-urlencoded");
    }
    raw(addr, &request(method, path, &headers, form.unwrap_or(""))).await
}

async fn stats(addr: SocketAddr) -> Value {
    let a = send(addr, "GET", "/stats", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    serde_json::from_str(&a.body).unwrap()
}

/// Polls our own `/stats` until `f` holds, for at most `LIMIT`.
async fn wait_stats(addr: SocketAddr, what: &str, f: impl Fn(&Value) -> bool) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let s = stats(addr).await;
        if f(&s) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within {LIMIT:?}: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The swarm page with no host, as a workshop host starts it, on a free loopback port.
async fn page() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    page_with(&[]).await
}

/// [`page`] with more flags.
async fn page_with(flags: &[&str]) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let flags: Vec<&str> = ["--wait", "20ms..80ms"]
        .iter()
        .chain(flags)
        .copied()
        .collect();
    e2e::pages::swarm_page(&flags, false).await
}

/// The mock in the workshop's challenge-1 phase, recording latencies: some chats fail.
async fn mock() -> TestServer {
    e2e::pages::recording_mock(&[]).await
}

/// Every key path of a document (`stats[].name`, as the recorder writes them) with the JSON
/// types of its values.
fn paths(v: &Value, at: &str, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    if !at.is_empty() {
        out.entry(at.to_owned()).or_default().insert(kind(v));
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                paths(x, &p, out);
            }
        }
        Value::Array(items) => {
            for x in items {
                paths(x, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON pointer, with `-1` for an array's last item (the recorder's `/stats/-1/name`).
fn pointer<'a>(doc: &'a Value, p: &str) -> Option<&'a Value> {
    p.trim_matches('/')
        .split('/')
        .try_fold(doc, |v, part| match v {
            Value::Array(a) if part == "-1" => a.last(),
            Value::Array(a) => a.get(part.parse::<usize>().ok()?),
            Value::Object(m) => m.get(part),
            _ => None,
        })
}

/// What one step of ours got wrong against Locust's answer to it, and the key paths it checked.
fn check(
    step: &Value,
    types: &Value,
    ours: &Answer,
    covered: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let status = step["status"].as_u64().unwrap();
    if u64::from(ours.status) != status {
        wrong.push(format!(
            "status {} (Locust: {status}): {}",
            ours.status, ours.body
        ));
        return wrong;
    }
    let media = ours
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("");
    if (200..300).contains(&status) && media.trim() != step["media_type"] {
        wrong.push(format!(
            "media type {media:?} (Locust: {})",
            step["media_type"]
        ));
    }
    let download = ours
        .header("content-disposition")
        .is_some_and(|d| d.contains("attachment"));
    if Value::Bool(download) != step["download"] {
        wrong.push(format!(
            "download: {download} (Locust: {})",
            step["download"]
        ));
    }
    if let Some(header) = step["csv_header"].as_str() {
        let first = ours.body.lines().next().unwrap_or("");
        if first != header {
            wrong.push(format!("CSV header\n  ours:   {first}\n  Locust: {header}"));
        }
    }
    if let Some(body) = step["body"].as_str() {
        if ours.body != body {
            wrong.push(format!("body {:?} (Locust: {body:?})", ours.body));
        }
    }
    let Some(keys) = step["keys"].as_array() else {
        return wrong;
    };
    let doc: Value = match serde_json::from_str(&ours.body) {
        Ok(d) => d,
        Err(e) => return vec![format!("not JSON ({e}): {}", ours.body)],
    };
    let mut found = BTreeMap::new();
    paths(&doc, "", &mut found);
    let route = &types[format!(
        "{} {}",
        step["method"].as_str().unwrap(),
        step["path"].as_str().unwrap()
    )];
    for key in keys.iter().filter_map(Value::as_str) {
        let Some(got) = found.get(key) else {
            // An item key of an array that is empty in ours at this step is checked at another.
            let items = key.find("[]").map(|i| &key[..i + 2]);
            if items.is_none_or(|items| found.contains_key(items)) {
                wrong.push(format!("no key {key}"));
            }
            continue;
        };
        covered.insert(key.to_owned());
        let allowed: Vec<&str> = route[key]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        // A number may be sent whole; a value Locust always sent whole must be whole in ours.
        let fits =
            |t: &&str| allowed.contains(t) || (*t == "integer" && allowed.contains(&"number"));
        if !got.iter().all(fits) {
            wrong.push(format!("{key}: {got:?} (Locust: {allowed:?})"));
        }
    }
    if let Some(values) = step["values"].as_object() {
        for (p, want) in values {
            if pointer(&doc, p) != Some(want) {
                wrong.push(format!("{p}: {:?} (Locust: {want})", pointer(&doc, p)));
            }
        }
    }
    wrong
}

/// Waits, before a step, for the state Locust's recording was in at that step.
async fn before(addr: SocketAddr, step: &str) {
    match step {
        "stats_running" => {
            wait_stats(addr, "3 users running with failures counted", |s| {
                s["state"] == "running" && s["total"]["failures"].as_u64() > Some(0)
            })
            .await;
        }
        "stats_stopped" => wait_stats(addr, "the run stopped", |s| s["state"] == "stopped").await,
        _ => {}
    }
}

/// Requests the server answered, and those it answered with a status >= 400, from
/// `http_requests_total` (the scrapes of `/metrics` left out).
async fn served(srv: &TestServer) -> (u64, u64) {
    let a = e2e::http(srv.addr, "GET", "/metrics", "").await;
    let (mut all, mut failed) = (0, 0);
    for (series, value) in parse_metrics(&a.body) {
        if !series.starts_with("http_requests_total{") || series.contains("route=\"/metrics\"") {
            continue;
        }
        let code: u16 = label(&series, "code").unwrap().parse().unwrap();
        all += value as u64;
        if code >= 400 {
            failed += value as u64;
        }
    }
    (all, failed)
}

/// The `Aggregated` row of Locust's requests CSV: (requests, failures).
fn aggregated(csv: &str) -> (u64, u64) {
    let row = csv
        .lines()
        .find(|l| l.starts_with(",Aggregated,"))
        .unwrap_or_else(|| panic!("{csv}"));
    let cols: Vec<&str> = row.split(',').collect();
    (cols[2].parse().unwrap(), cols[3].parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locust_script_gets_what_locust_answers_and_the_csv_matches_the_server() {
    let contract = contract();
    let srv = mock().await;
    let (addr, stop_page) = page().await;
    let host = srv.url("");
    let host = host.trim_end_matches('/');
    let mut covered = BTreeSet::new();
    let mut wrong = Vec::new();
    for step in contract["steps"].as_array().unwrap() {
        let name = step["name"].as_str().unwrap();
        before(addr, name).await;
        let form = step["form"].as_str().map(|f| f.replace("{host}", host));
        let method = step["method"].as_str().unwrap();
        let ours = send(
            addr,
            method,
            step["path"].as_str().unwrap(),
            form.as_deref(),
        )
        .await;
        for w in check(step, &contract["types"], &ours, &mut covered) {
            wrong.push(format!(
                "{name} ({method} {}): {w}",
                step["path"].as_str().unwrap()
            ));
        }
    }
    // Every key Locust sent was held to ours at least once, but the items of `exceptions`: the
    // swarm runs no user code, so nothing ever raises.
    for step in contract["steps"].as_array().unwrap() {
        for key in step["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !covered.contains(key) && !key.starts_with("exceptions[]") {
                wrong.push(format!("{} never sent {key}", step["name"]));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "ours differs from Locust {}:\n{}",
        contract["locust_version"],
        wrong.join("\n")
    );

    // A second run, start to stop, counted on both sides: the CSV's totals are the server's.
    let before = served(&srv).await;
    let form = format!("user_count=3&spawn_rate=100&host={host}");
    let started = send(addr, "POST", "/swarm", Some(&form)).await;
    assert!(
        started.body.contains("\"success\":true"),
        "{}",
        started.body
    );
    wait_stats(addr, "requests and failures counted", |s| {
        s["state"] == "running"
            && s["total"]["requests"].as_u64() > Some(100)
            && s["total"]["failures"].as_u64() > Some(0)
    })
    .await;
    assert_eq!(send(addr, "POST", "/stop", None).await.status, 200);
    wait_stats(addr, "the run stopped", |s| s["state"] == "stopped").await;
    let after = served(&srv).await;
    let csv = send(addr, "GET", "/stats/requests/csv", None).await.body;
    assert_eq!(
        aggregated(&csv),
        (after.0 - before.0, after.1 - before.1),
        "{csv}"
    );
    let failures = send(addr, "GET", "/stats/failures/csv", None).await.body;
    let occurrences: u64 = failures
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(occurrences, after.1 - before.1, "{failures}");
    let doc: Value =
        serde_json::from_str(&send(addr, "GET", "/stats/requests", None).await.body).unwrap();
    let total = doc["stats"].as_array().unwrap().last().unwrap();
    assert_eq!(total["num_requests"], after.0 - before.0, "{doc}");
    let _ = stop_page.send(());
    srv.stop().await;
}

/// The routes of the reference's "Locust's API" table: (method, path).
fn documented_routes() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(workspace_path("docs/reference.md")).unwrap();
    let section = text
        .split("### Locust's API")
        .nth(1)
        .expect("docs/reference.md has a Locust's API section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut routes = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = row.split('|').nth(1).unwrap_or("");
        for span in cell.split('`').skip(1).step_by(2) {
            if let Some((method, rest)) = span.split_once(' ') {
                if method == "GET" || method == "POST" {
                    let path = rest.split([' ', '?']).next().unwrap_or(rest);
                    routes.insert((method.to_owned(), path.to_owned()));
                }
            }
        }
    }
    routes
}

#[test]
fn the_documented_locust_routes_are_the_ones_held_to_the_contract() {
    let contract = contract();
    let held: BTreeSet<(String, String)> = contract["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] != 405)
        .map(|s| {
            let field = |k: &str| s[k].as_str().unwrap().to_owned();
            (field("method"), field("path"))
        })
        .collect();
    assert_eq!(
        documented_routes(),
        held,
        "docs/reference.md's Locust's API table"
    );
}

/// A command line split as a shell splits it, single quotes kept together.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    out.extend((!word.is_empty()).then_some(word));
    out
}

/// The guide's curl commands at the swarm page (`127.0.0.1:8089`): (method, path, form).
fn documented_commands() -> Vec<(String, String, Option<String>)> {
    let text = std::fs::read_to_string(workspace_path("docs/workshop-host.md")).unwrap();
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("curl ") && l.contains(":8089/"))
    {
        let w = words(line);
        let mut method = "GET".to_owned();
        let mut form = None;
        let mut url = None;
        let mut i = 1;
        while i < w.len() {
            match w[i].as_str() {
                "-X" => method.clone_from(&w[i + 1]),
                "-d" | "--data" => {
                    form = Some(w[i + 1].clone());
                    method = "POST".into();
                }
                "-O" | "-s" => {
                    i += 1;
                    continue;
                }
                u if u.starts_with("http://") => url = Some(u.to_owned()),
                other => panic!(
                    "docs/workshop-host.md: a curl option this test does not know: {other} in {line}"
                ),
            }
            i += if w[i].starts_with("http://") { 1 } else { 2 };
        }
        let url = url.unwrap_or_else(|| panic!("no URL in {line}"));
        let path = url.split_once(":8089").unwrap().1.to_owned();
        out.push((method, path, form));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_locust_commands_work_as_written() {
    let commands = documented_commands();
    assert!(commands.len() >= 4, "{commands:?}");
    let srv = mock().await;
    let (addr, stop_page) = page().await;
    for (method, path, form) in &commands {
        // The guide's mock is on 127.0.0.1:8080; this one is on a free port.
        let form = form
            .as_ref()
            .map(|f| f.replace("http://127.0.0.1:8080", &srv.url("")));
        let a = send(addr, method, path, form.as_deref()).await;
        assert_eq!(a.status, 200, "{method} {path}: {}", a.body);
        assert!(
            !a.body.contains("\"success\":false"),
            "{method} {path}: {}",
            a.body
        );
    }
    let _ = stop_page.send(());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_targets_each_has_its_own_entries_named_by_target() {
    let (good, canary) = (mock().await, mock().await);
    let targets = [
        format!("good={}", good.url("")),
        format!("canary={}", canary.url("")),
    ];
    let (addr, stop_page) = page_with(&["--target", &targets[0], "--target", &targets[1]]).await;
    let started = send(addr, "POST", "/swarm", Some("user_count=4&spawn_rate=100")).await;
    assert!(
        started.body.contains("\"success\":true"),
        "{}",
        started.body
    );
    for url in [good.url(""), canary.url("")] {
        assert!(
            started.body.contains(&url),
            "the host names {url}: {}",
            started.body
        );
    }
    wait_stats(addr, "both targets to get requests", |s| {
        s["stats"].as_array().is_some_and(|rows| {
            ["good", "canary"]
                .iter()
                .all(|t| rows.iter().any(|r| r["target"] == *t))
        })
    })
    .await;
    assert_eq!(send(addr, "POST", "/stop", None).await.status, 200);
    wait_stats(addr, "the run stopped", |s| s["state"] == "stopped").await;
    let doc: Value =
        serde_json::from_str(&send(addr, "GET", "/stats/requests", None).await.body).unwrap();
    let (total, rows) = doc["stats"].as_array().unwrap().split_last().unwrap();
    let mut sum = 0;
    for r in rows {
        let target = r["target"].as_str().unwrap();
        let name = r["name"].as_str().unwrap();
        assert!(name.starts_with(&format!("{target}: /")), "{r}");
        sum += r["num_requests"].as_u64().unwrap();
    }
    assert!(
        rows.iter().any(|r| r["target"] == "good") && rows.iter().any(|r| r["target"] == "canary")
    );
    assert_eq!(total["num_requests"].as_u64(), Some(sum), "{doc}");
    let csv = send(addr, "GET", "/stats/requests/csv", None).await.body;
    for r in rows {
        let row = format!(
            "{},{},{},",
            r["method"].as_str().unwrap(),
            r["name"].as_str().unwrap(),
            r["num_requests"]
        );
        assert!(csv.contains(&row), "{row} in\n{csv}");
    }
    let _ = stop_page.send(());
    good.stop().await;
    canary.stop().await;
}
