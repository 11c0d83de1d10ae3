//! Every Prometheus and Alertmanager URL the docs show answers on the versions CI installs
//! (Debian's Prometheus 2.42 serves its pages under `/classic/`, not the React UI's `/alerts`):
//! each `http://localhost:9090/...` / `127.0.0.1:9090` (and `:9093`) URL in the README, the
//! guide's pages and the crates' READMEs is fetched from a real Prometheus and Alertmanager
//! started on free ports, and must answer 200 (a base URL: after its one redirect).

use e2e::{have_prometheus, http, workspace_path};

/// The documented URLs of a service on `port`: (page, path with query).
fn documented(port: u16) -> Vec<(String, String)> {
    let root = workspace_path("");
    let pages = e2e::doc_pages();
    let mut found = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        for host in ["localhost", "127.0.0.1"] {
            let prefix = format!("http://{host}:{port}");
            let mut rest = text.as_str();
            while let Some(at) = rest.find(&prefix) {
                let tail = &rest[at + prefix.len()..];
                let end = tail
                    .find(|c: char| c.is_whitespace() || "`)>\"'|*".contains(c))
                    .unwrap_or(tail.len());
                let path = match &tail[..end] {
                    "" => "/".to_owned(),
                    p => p.trim_end_matches(['.', ',', ':', ';']).to_owned(),
                };
                let name = page
                    .strip_prefix(&root)
                    .unwrap_or(&page)
                    .display()
                    .to_string();
                found.push((name, path));
                rest = &tail[end..];
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

async fn all_answer(service: &str, addr: &str, urls: &[(String, String)]) {
    let addr = addr.parse().unwrap();
    let mut failed = Vec::new();
    for (page, path) in urls {
        let mut answer = http(addr, "GET", path, "").await;
        // A base URL (`--prometheus http://127.0.0.1:9090`) redirects to a page, as a browser
        // follows: the page it lands on must answer.
        if let (300..=399, Some(to)) = (answer.status, answer.header("location")) {
            let to = to.trim().to_owned();
            answer = http(addr, "GET", &to, "").await;
        }
        let (status, body) = (answer.status, answer.body);
        if status != 200 {
            failed.push(format!(
                "{page}: {path} -> {status} {}",
                body.chars().take(80).collect::<String>()
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{service} URLs the docs show that do not answer:\n{}",
        failed.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_prometheus_and_alertmanager_url_answers() {
    let prometheus_urls = documented(9090);
    let alertmanager_urls = documented(9093);
    // The docs do show both: a checker that finds nothing checks nothing.
    assert!(
        prometheus_urls
            .iter()
            .any(|(_, p)| p.starts_with("/classic/")),
        "{prometheus_urls:?}"
    );
    assert!(!alertmanager_urls.is_empty());
    if !have_prometheus() {
        return;
    }
    let prometheus = slo::LocalPrometheus::start("global:\n  scrape_interval: 1s\n", &[])
        .await
        .unwrap();
    let base = prometheus.url().trim_start_matches("http://").to_owned();
    all_answer("Prometheus", &base, &prometheus_urls).await;
    prometheus.stop().await;

    if slo::LocalAlertmanager::binary().is_none() {
        assert!(
            std::env::var_os("REQUIRE_ALERTMANAGER").is_none_or(|v| v != "1"),
            "prometheus-alertmanager is not on PATH and REQUIRE_ALERTMANAGER=1"
        );
        return;
    }
    let config = "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n";
    let alertmanager = slo::LocalAlertmanager::start(config).await.unwrap();
    all_answer("Alertmanager", alertmanager.address(), &alertmanager_urls).await;
    alertmanager.stop().await;
}
