//! Latency includes connection set-up in both the load and journeys: a slow TLS handshake on a
//! fresh connection shows in that request's latency, and reused connections do not pay it.

use std::time::Duration;

use engine::Live;
use engine::journey;

use super::journey::journey_plan;
use super::server::{Server, Spec};
use super::{CPU, run};

const HANDSHAKE: Duration = Duration::from_millis(300);

const JOURNEY: &str =
    "wait = \"1ms..2ms\"\n[[task]]\nname = \"root\"\nweight = 1\n[[task.request]]\npath = \"/\"\n";

async fn slow_handshake() -> Server {
    Server::start_tls(Spec {
        tls_delay: HANDSHAKE,
        ..Spec::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loads_latency_includes_the_handshake() {
    let s = slow_handshake().await;
    let r = run(&["--insecure", "-n", "4", "-c", "1", &s.url("/")]).await;
    assert_eq!(s.connections(), 1);
    let lat = &r.total.latency;
    assert!(lat.max >= HANDSHAKE.as_secs_f64(), "max {} s", lat.max);
    assert!(lat.min < HANDSHAKE.as_secs_f64(), "min {} s", lat.min);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journeys_latency_includes_the_handshake() {
    let _cpu = CPU.read().await;
    let s = slow_handshake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.toml");
    std::fs::write(&path, JOURNEY).unwrap();
    let plan = journey_plan(&[
        "--host",
        &s.url(""),
        "--journey",
        path.to_str().unwrap(),
        "-u",
        "1",
        "--tasks",
        "4",
        "--insecure",
    ]);
    let r = journey::run(plan.run, Live::default(), std::future::pending())
        .await
        .unwrap();
    assert_eq!(s.connections(), 1);
    let lat = &r.total.latency_ms;
    assert_eq!(lat.count, 4);
    let ms = HANDSHAKE.as_secs_f64() * 1000.0;
    assert!(lat.max >= ms, "max {} ms", lat.max);
    assert!(lat.min < ms, "min {} ms", lat.min);
}
