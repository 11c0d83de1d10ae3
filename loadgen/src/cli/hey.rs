//! hey mode's flags: hey's, with hey's defaults, plus loadgen's own. `hey_run` checks them
//! into the engine's `Plan` and the runner's `HeyRun`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::output::OutputFormat;

use crate::cli::values::{
    HEY_OUTPUT, parse_count, parse_duration, parse_named_url, parse_pair, parse_rate, parse_shard,
};

/// hey's flags, with hey's defaults, plus loadgen's own.
#[derive(Debug, Clone, Args)]
pub struct HeyArgs {
    /// Number of requests to run.
    #[arg(short = 'n', long = "n", default_value = "200", value_parser = parse_count)]
    pub requests: u64,
    /// Number of workers to run concurrently, one connection each. Total number of requests
    /// cannot be smaller than the concurrency level.
    #[arg(short = 'c', long = "c", default_value_t = 50)]
    pub concurrency: usize,
    /// Rate limit, in queries per second (QPS) per worker. 0 is no limit.
    #[arg(short = 'q', long = "q", default_value_t = 0.0)]
    pub qps: f64,
    /// Duration of application to send requests (e.g. 10s, 3m); -n is then ignored.
    #[arg(short = 'z', long = "z", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Output type: summary (default), csv (hey's per-request rows) or json (the report).
    #[arg(short = 'o', long = "output", alias = "o", value_parser = HEY_OUTPUT)]
    pub output: Option<OutputFormat>,
    /// HTTP method.
    #[arg(short = 'm', long = "m", default_value = "GET")]
    pub method: String,
    /// Custom HTTP header, repeatable: -H "Accept: text/html".
    #[arg(
        short = 'H',
        long = "H",
        value_name = "HEADER",
        allow_hyphen_values = true
    )]
    pub headers: Vec<String>,
    /// Timeout for each request in seconds; 0 for infinite.
    #[arg(short = 't', long = "t", default_value_t = 20.0)]
    pub timeout_secs: f64,
    /// HTTP Accept header.
    #[arg(short = 'A', long = "A", allow_hyphen_values = true)]
    pub accept: Option<String>,
    /// HTTP request body.
    #[arg(short = 'd', long = "d", allow_hyphen_values = true)]
    pub body: Option<String>,
    /// HTTP request body from file.
    #[arg(short = 'D', long = "D")]
    pub body_file: Option<PathBuf>,
    /// Content-type.
    #[arg(
        short = 'T',
        long = "T",
        default_value = "text/html",
        allow_hyphen_values = true
    )]
    pub content_type: String,
    /// Basic authentication, username:password.
    #[arg(short = 'a', long = "a", allow_hyphen_values = true)]
    pub basic_auth: Option<String>,
    /// HTTP proxy address as host:port (absolute-form requests for http, CONNECT for https).
    #[arg(short = 'x', long = "x")]
    pub proxy: Option<String>,
    /// Enable HTTP/2 (cleartext, prior knowledge).
    #[arg(long = "h2")]
    pub h2: bool,
    /// HTTP Host header.
    #[arg(long = "host", allow_hyphen_values = true)]
    pub host: Option<String>,
    /// Disable compression (do not send Accept-Encoding: gzip).
    #[arg(long)]
    pub disable_compression: bool,
    /// Disable keep-alive: a new TCP connection for every request.
    #[arg(long)]
    pub disable_keepalive: bool,
    /// Disable following of HTTP redirects.
    #[arg(long)]
    pub disable_redirects: bool,
    /// Keep Authorization, Cookie and the -a/-H headers when a redirect leads to another
    /// origin (scheme, host or port). By default they are dropped there, as hey drops them.
    #[arg(long)]
    pub redirect_keep_headers: bool,
    /// Number of used cpu cores (runtime threads). Default: all.
    #[arg(long)]
    pub cpus: Option<usize>,

    /// Do not verify TLS certificates (hey never does; loadgen does unless told).
    #[arg(long)]
    pub insecure: bool,

    /// Open-model rate for the whole run, requests per second: request i is due at start + i/R
    /// and its latency counts from then (coordinated-omission correction).
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Run only shard I of N (I from 0, as a Kubernetes Indexed Job's JOB_COMPLETION_INDEX):
    /// this process takes its share of -n, -c and --rate; `loadgen merge` combines the shards'
    /// JSON reports exactly.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// A named target, NAME=URL, repeatable; use instead of URL to split traffic.
    #[arg(long = "target", value_name = "NAME=URL", value_parser = parse_named_url)]
    pub targets: Vec<(String, String)>,
    /// Traffic weight of a target, NAME=WEIGHT, repeatable (default: equal weights).
    #[arg(long = "split", value_name = "NAME=WEIGHT", value_parser = parse_pair)]
    pub splits: Vec<(String, String)>,
    /// A gate, repeatable: error_rate<1%, p99<500ms, p50/p90/p95/p99.9/mean<DURATION, rps>N;
    /// prefix NAME: for one target (next:error_rate<1%).
    #[arg(long = "slo", value_name = "GATE")]
    pub slo: Vec<String>,
    /// Invert the gates' exit code: 0 when at least one breaks, 99 when all hold.
    #[arg(long)]
    pub expect_breach: bool,
    /// No progress bar (it is also off when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// With -z: serve a page of the run (per-target table, live charts, the split's form) and
    /// its API on this address, default 127.0.0.1:8089: GET /stats, and with several --target
    /// GET and POST /split to move traffic while the run goes on (curl -H 'Content-Type:
    /// application/json' -d '{"good":100}' ADDR/split). Whoever reaches the address can move the
    /// traffic; pages on other sites cannot.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8089")]
    pub web: Option<SocketAddr>,
    #[command(flatten)]
    pub allowed_hosts: super::AllowedHosts,
    /// Also write the report as one self-contained HTML page (charts, tables; opens offline).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// The URL to load.
    pub url: Option<String>,
}

impl Default for HeyArgs {
    /// What `loadgen URL` means without flags (and no URL): the defaults above, for callers
    /// that build a load from typed values (`canary`). A test holds it equal to clap's.
    fn default() -> HeyArgs {
        HeyArgs {
            requests: 200,
            concurrency: 50,
            qps: 0.0,
            duration: None,
            output: None,
            method: "GET".to_owned(),
            headers: Vec::new(),
            timeout_secs: 20.0,
            accept: None,
            body: None,
            body_file: None,
            content_type: "text/html".to_owned(),
            basic_auth: None,
            proxy: None,
            h2: false,
            host: None,
            disable_compression: false,
            disable_keepalive: false,
            disable_redirects: false,
            redirect_keep_headers: false,
            cpus: None,
            insecure: false,
            rate: None,
            shard: None,
            targets: Vec::new(),
            splits: Vec::new(),
            slo: Vec::new(),
            expect_breach: false,
            no_progress: false,
            web: None,
            allowed_hosts: super::AllowedHosts::default(),
            html: None,
            url: None,
        }
    }
}
