//! The stack under test, all on 127.0.0.1:0: mock-server driving a phase timeline by itself
//! (recording latencies rather than sleeping them, so a slow phase costs no time), loadgen at
//! constant open-model rates in-process, and a real Prometheus scraping the mock every second
//! and evaluating the rules generated from the SLO spec, compressed by [`Compression::E2E`].
//!
//! Prometheus starts first, on the mock's already bound (but not yet served) port, and the mock
//! starts only once Prometheus is scraping: its scrape manager picks targets up on a 5-second
//! tick, and the timeline must not run ahead of a history that has not begun.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use engine::report::Report;
use mock_server::drive::timeline::PhasePlan;
use mock_server::testing::TestServer;
use mock_server::{Config, LatencyMode};
use slo::{Compression, LocalPrometheus, Spec};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Prometheus' scrape and evaluation interval: the compressed rules evaluate every second.
pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);

/// Prometheus' job name for the mock.
pub const JOB: &str = "mock-server";

/// How long Prometheus may take to make its first scrape attempt after it is ready.
const FIRST_SCRAPE_TIMEOUT: Duration = Duration::from_secs(30);

pub use loadgen::rehearse::model::Traffic;

/// Enough chats that a compressed 5-minute window (5 s) holds 750 of them, so breach ratios
/// sit many standard deviations from every threshold; cheap, since the mock only records.
pub const E2E_TRAFFIC: Traffic = Traffic {
    chat: 150.0,
    login: 10.0,
    startup: 10.0,
    root: 10.0,
};

/// A running stack; `stop` ends it in order and returns loadgen's reports.
pub struct Stack {
    pub mock: SocketAddr,
    pub prometheus: LocalPrometheus,
    /// Unix seconds at which the mock applied the timeline's first step.
    pub started_unix: f64,
    pub started: tokio::time::Instant,
    stop_load: watch::Sender<bool>,
    mock_server: TestServer,
    load_tasks: Vec<JoinHandle<Result<Report, engine::Error>>>,
}

impl Stack {
    /// Starts Prometheus with the compressed rules of `spec`, then, once it scrapes, the mock
    /// with `plan` (whose clock starts then) and the load. `run_for` bounds the load, should
    /// `stop` never be called.
    pub async fn start(spec: &Spec, plan: PhasePlan, traffic: Traffic, run_for: Duration) -> Stack {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let mock = listener
            .local_addr()
            .expect("a bound listener has an address");
        let rules = slo::rules(spec, Compression::E2E).expect("the spec compresses 60x");
        let scrape = slo::local::prometheus::fast_scrape_config(&[(JOB, mock)], &["rules.yml"]);
        let prometheus = LocalPrometheus::start(&scrape, &[("rules.yml", &rules)])
            .await
            .unwrap_or_else(|e| panic!("starting Prometheus: {e}"));
        wait_for_first_scrape(&prometheus).await;

        let (stop_load, load_stopped) = watch::channel(false);
        let config = Config {
            addr: mock,
            latency_mode: LatencyMode::Record,
            startup_phase: plan
                .steps
                .first()
                .map(|s| (*s.phase).clone())
                .unwrap_or_else(mock_server::Phase::workshop_default),
            timeline: Some(plan),
            ..Config::default()
        };
        let started_unix = crate::unix_now();
        let started = tokio::time::Instant::now();
        let mock_server = TestServer::on(listener, config);

        let base = format!("http://{mock}");
        let seconds = format!("{}s", run_for.as_secs().max(1));
        let (chat, login) = split_weights(traffic.chat, traffic.login);
        let (startup, root) = split_weights(traffic.startup, traffic.root);
        let posts = load_plan(&[
            "--rate",
            &(traffic.chat + traffic.login).to_string(),
            "-c",
            "8",
            "-z",
            &seconds,
            "-m",
            "POST",
            "--target",
            &format!("chat={base}/chat"),
            "--target",
            &format!("login={base}/login"),
            "--split",
            &format!("chat={chat}"),
            "--split",
            &format!("login={login}"),
        ]);
        let gets = load_plan(&[
            "--rate",
            &(traffic.startup + traffic.root).to_string(),
            "-c",
            "4",
            "-z",
            &seconds,
            "--target",
            &format!("startup={base}/startup"),
            "--target",
            &format!("root={base}/"),
            "--split",
            &format!("startup={startup}"),
            "--split",
            &format!("root={root}"),
        ]);
        let load_tasks = [posts, gets]
            .into_iter()
            .map(|plan| {
                tokio::spawn(engine::run(
                    plan,
                    engine::Live::default(),
                    until(load_stopped.clone()),
                ))
            })
            .collect();

        Stack {
            mock,
            prometheus,
            started_unix,
            started,
            stop_load,
            mock_server,
            load_tasks,
        }
    }

    /// Sleeps until `offset` after the mock started (at once if that has passed).
    pub async fn sleep_until(&self, offset: Duration) {
        tokio::time::sleep_until(self.started + offset).await;
    }

    /// Stops the load, then (once no request is in flight) the mock, then Prometheus; returns
    /// loadgen's reports.
    pub async fn stop(self) -> Vec<Report> {
        let _ = self.stop_load.send(true);
        let mut reports = Vec::new();
        for task in self.load_tasks {
            reports.push(
                task.await
                    .expect("the load task ran to its end")
                    .expect("loadgen completed its run"),
            );
        }
        self.mock_server.stop().await;
        self.prometheus.stop().await;
        reports
    }
}

/// Waits until Prometheus has tried to scrape the mock once (it fails: nobody serves the port
/// yet), so the mock's first answer lands in Prometheus within a scrape interval.
async fn wait_for_first_scrape(prometheus: &LocalPrometheus) {
    let up = format!("up{{job={JOB:?}}}");
    crate::wait_for_series(prometheus, &up, 1, FIRST_SCRAPE_TIMEOUT).await;
}

/// Two whole-number rates as `--split` weights in the same ratio, reduced so they sum to at most
/// 100: weights given to every target are relative, and loadgen refuses sums over 100.
fn split_weights(a: f64, b: f64) -> (u64, u64) {
    let (a, b) = (a.round() as u64, b.round() as u64);
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    let (a, b) = (a / x.max(1), b / x.max(1));
    assert!(
        a + b <= 100,
        "rates {a}:{b} have no whole-number split summing to 100 or less"
    );
    (a, b)
}

/// A loadgen plan from its command line, exactly as the binary would build it.
fn load_plan(args: &[&str]) -> engine::plan::Plan {
    let line = ["loadgen", "--no-progress", "-t", "10"]
        .into_iter()
        .chain(args.iter().copied());
    let cli = loadgen::cli::Cli::parse_from(loadgen::cli::normalize(line));
    engine::plan::Plan::try_from(cli.hey).unwrap_or_else(|e| panic!("loadgen {args:?}: {e}"))
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn until(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
