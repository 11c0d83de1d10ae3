//! The servers the page tests open in a browser or call over HTTP, each started one way: the
//! swarm page of `loadgen journey --web` as the runner serves it, and a recording mock.

use std::net::SocketAddr;

use clap::Parser;
use mock_server::testing::TestServer;

/// `loadgen journey --web 127.0.0.1:0 FLAGS...` on a free loopback port, as the runner serves it
/// (its host policy from the flags); `series` keeps the charts' series, as `--html` asks. Send
/// on the answer's sender (or drop it) to stop the page.
pub async fn swarm_page(
    flags: &[&str],
    series: bool,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let argv = ["loadgen", "journey", "--web", "127.0.0.1:0"]
        .iter()
        .chain(flags)
        .copied();
    let cli = loadgen::cli::Cli::try_parse_from(argv).unwrap();
    let Some(loadgen::cli::Command::Journey(a)) = cli.command else {
        panic!("not a journey command")
    };
    let plan = loadgen::cli::JourneyPlan::try_from(a).unwrap();
    let hosts = plan.web.clone().expect("--web was given").hosts;
    let web = loadgen::web::Web::new(plan.run, plan.journey_arg, None, None, series);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(loadgen::web::serve(web, listener, hosts, async {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// mock-server recording its latencies rather than sleeping them, with `extra` flags, through
/// the shared fixture (whose `stop` re-raises a server panic).
pub async fn recording_mock(extra: &[&str]) -> TestServer {
    let args = [
        "mock-server",
        "--latency-mode",
        "record",
        "--log-format",
        "text",
    ]
    .into_iter()
    .chain(extra.iter().copied());
    let config = mock_server::Config::try_from(mock_server::cli::Args::parse_from(args)).unwrap();
    TestServer::start(config).await
}
