//! Record mode over many requests: draw shares within 4 sd of the phase, counters exact.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use mock_server::testing::assert_binomial;
use mock_server::{LatencyMode, Phase};

use crate::support::{Scrape, TestServer, exclusive, requests};

const N: u64 = 20_000;
const CONNECTIONS: usize = 32;

/// Sends `n` requests over `CONNECTIONS` concurrent loops and counts the status codes seen.
async fn hammer(
    server: &Arc<TestServer>,
    method: Method,
    path: &str,
    n: u64,
) -> BTreeMap<u16, u64> {
    let issued = Arc::new(AtomicU64::new(0));
    let loops = (0..CONNECTIONS).map(|_| {
        let (server, issued, method, url) = (
            server.clone(),
            issued.clone(),
            method.clone(),
            server.url(path),
        );
        tokio::spawn(async move {
            let mut seen = BTreeMap::new();
            while issued.fetch_add(1, Ordering::Relaxed) < n {
                let req = Request::builder()
                    .method(method.clone())
                    .uri(&url)
                    .body(Full::new(Bytes::from_static(
                        b"{\"content\":\"a fantasy movie\"}",
                    )))
                    .unwrap();
                let resp = server.client.request(req).await.unwrap();
                let status = resp.status().as_u16();
                resp.into_body().collect().await.unwrap();
                *seen.entry(status).or_insert(0u64) += 1;
            }
            seen
        })
    });
    let mut total = BTreeMap::new();
    for l in loops.collect::<Vec<_>>() {
        for (code, count) in l.await.unwrap() {
            *total.entry(code).or_insert(0) += count;
        }
    }
    assert_eq!(
        total.values().sum::<u64>(),
        n,
        "{path}: every request answered"
    );
    total
}

struct Timed {
    method: Method,
    path: &'static str,
    prefix: &'static str,
    ratio: f64,
    min: f64,
    max: f64,
    /// Bucket bounds of the endpoint's histogram, from the reference.
    buckets: &'static [f64],
}

/// Checks each cumulative bucket of a uniform [min, max) histogram against its expected share.
fn assert_uniform_buckets(scrape: &Scrape, t: &Timed, n: u64) {
    for &le in t.buckets {
        let p = ((le - t.min) / (t.max - t.min)).clamp(0.0, 1.0);
        let series = format!("{}_latency_milliseconds_bucket{{le=\"{le}\"}}", t.prefix);
        assert_binomial(&series, scrape.count(&series), n, p, 4.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draws_match_the_phase_and_counters_match_the_client() {
    let _alone = exclusive().await;
    // Challenge 1, with chat weights whose outcome remainder (0.25) must land in Unclassified.
    let phase = Phase::workshop_default()
        .merged(
            br#"{"ChatSuccess": 0.8, "ChatSafetyIssue": 0.1, "ChatEngaged": 0.5,
                "ChatAcknowledged": 0.1, "ChatRejected": 0.05, "ChatUnclassified": 0.1}"#,
        )
        .unwrap();
    let server = Arc::new(TestServer::with_phase(LatencyMode::Record, phase).await);
    let endpoints = [
        Timed {
            method: Method::POST,
            path: "/login",
            prefix: "movieguru_login",
            ratio: 0.99,
            min: 10.0,
            max: 200.0,
            buckets: &[
                0.05, 0.1, 0.5, 1.0, 10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
            ],
        },
        Timed {
            method: Method::GET,
            path: "/startup",
            prefix: "movieguru_startup",
            ratio: 0.75,
            min: 456.0,
            max: 1634.0,
            buckets: &[
                1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 3000.0,
                10000.0,
            ],
        },
        Timed {
            method: Method::GET,
            path: "/preferences",
            prefix: "movieguru_prefGet",
            ratio: 0.99,
            min: 153.0,
            max: 348.0,
            buckets: &[0.1, 1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 2000.0],
        },
        Timed {
            method: Method::POST,
            path: "/preferences",
            prefix: "movieguru_prefUpdate",
            ratio: 0.84,
            min: 463.0,
            max: 745.0,
            buckets: &[0.1, 1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 2000.0],
        },
        Timed {
            method: Method::POST,
            path: "/chat",
            prefix: "movieguru_chat",
            ratio: 0.8,
            min: 1607.0,
            max: 7683.0,
            buckets: &[
                100.0, 250.0, 500.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 10000.0, 12000.0,
            ],
        },
    ];
    let mut seen = Vec::new();
    for t in &endpoints {
        seen.push(hammer(&server, t.method.clone(), t.path, N).await);
    }
    let logouts = hammer(&server, Method::GET, "/logout", 2_000).await;
    let health = hammer(&server, Method::GET, "/", 2_000).await;
    let m = server.metrics().await;

    for (t, codes) in endpoints.iter().zip(&seen) {
        let ok = codes.get(&200).copied().unwrap_or(0);
        let failed = codes.get(&500).copied().unwrap_or(0);
        assert_eq!(
            ok + failed,
            N,
            "{}: only 200 and 500 expected, got {codes:?}",
            t.path
        );
        let (attempts, success) = if t.prefix == "movieguru_chat" {
            (
                "movieguru_chat_calls_total".to_owned(),
                "movieguru_chat_calls_success_total".to_owned(),
            )
        } else {
            (
                format!("{}_attempts_total", t.prefix),
                format!("{}_success_total", t.prefix),
            )
        };
        assert_eq!(m.count(&attempts), N, "{attempts}");
        assert_eq!(m.count(&success), ok, "{success} equals the client's 200s");
        assert_eq!(
            m.count(&format!("{}_latency_milliseconds_count", t.prefix)),
            N
        );
        assert_binomial(&success, ok, N, t.ratio, 4.0);
        let method = t.method.as_str();
        let route = t.path;
        assert_eq!(m.count(&requests(route, method, "200")), ok);
        assert_eq!(m.count(&requests(route, method, "500")), failed);
        assert_uniform_buckets(&m, t, N);
    }
    assert_eq!(m.count("movieguru_Logout_attempts_total"), logouts[&200]);
    assert_eq!(m.count("movieguru_Logout_success_total"), 2_000);
    assert_eq!(
        m.count("movieguru_healthcheck_attempts_total"),
        health[&200]
    );
    assert_eq!(
        m.count("movieguru_healthcheck_latency_milliseconds_count"),
        2_000
    );

    // Chat: safety, sentiment and outcome are drawn on successes only, independently.
    let chats = seen[4][&200];
    assert_binomial(
        "safety issues",
        m.count("movieguru_chat_safetyissue_counter_total"),
        chats,
        0.1,
        4.0,
    );
    let outcome = |o: &str| {
        m.count(&format!(
            r#"movieguru_chat_outcome_counter_total{{Outcome="{o}"}}"#
        ))
    };
    let sentiment = |s: &str| {
        m.count(&format!(
            r#"movieguru_chat_sentiment_counter_total{{Sentiment="{s}"}}"#
        ))
    };
    let outcomes = [
        ("Engaged", 0.5),
        ("Acknowledged", 0.1),
        ("Rejected", 0.05),
        ("Unclassified", 0.35),
    ];
    let sentiments = [
        ("Positive", 0.4),
        ("Negative", 0.3),
        ("Neutral", 0.1),
        ("Unclassified", 0.2),
    ];
    assert_eq!(outcomes.iter().map(|(o, _)| outcome(o)).sum::<u64>(), chats);
    assert_eq!(
        sentiments.iter().map(|(s, _)| sentiment(s)).sum::<u64>(),
        chats
    );
    for (o, p) in outcomes {
        assert_binomial(o, outcome(o), chats, p, 4.0);
    }
    for (s, p) in sentiments {
        assert_binomial(s, sentiment(s), chats, p, 4.0);
    }
}

#[tokio::test]
async fn ratios_of_zero_and_one_are_absolute() {
    let server = Arc::new(TestServer::start(LatencyMode::Record).await);
    server
        .post("/phase", r#"{"LoginSuccess": 1, "StartupSuccess": 0}"#)
        .await;
    assert_eq!(
        hammer(&server, Method::POST, "/login", 2_000)
            .await
            .get(&200),
        Some(&2_000)
    );
    assert_eq!(
        hammer(&server, Method::GET, "/startup", 2_000)
            .await
            .get(&500),
        Some(&2_000)
    );
}
