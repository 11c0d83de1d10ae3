//! `loadgen journey`'s flags and the checked plan they become (`TryFrom`), so users never meet a
//! bad value: the journey file is parsed, URLs are checked, waits and rates are bounded.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::cli::values::{JOURNEY_OUTPUT, parse_duration, parse_named_url, parse_pair};
use crate::output::OutputFormat;
use crate::web::WebOptions;
use engine::journey::plan::{
    JourneyPlanError, MAX_RUN, MAX_USERS, MIN_STATS_INTERVAL, RunPlan, TaskPacing, TaskStop,
    targets,
};
use engine::journey::spec::{Journey, Wait};
use engine::plan::out_of_range;

/// How often the live table (or, under `--web`, the status line) is printed by default.
pub const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(5);

/// Simulate users walking through a journey, as the workshop's Locust swarm did.
#[derive(Debug, Clone, Args)]
pub struct JourneyArgs {
    /// Base URL of the service (e.g. http://mockserver-service.movie-guru.svc.cluster.local).
    #[arg(long, required_unless_present_any = ["targets", "web"], value_parser = crate::cli::values::parse_base_url)]
    pub host: Option<String>,
    /// A named target, NAME=URL, repeatable, instead of --host; tasks are split by --split.
    #[arg(long = "target", value_name = "NAME=URL", value_parser = parse_named_url, conflicts_with = "host")]
    pub targets: Vec<(String, String)>,
    /// Traffic weight of a target, NAME=WEIGHT (default: equal).
    #[arg(long = "split", value_name = "NAME=WEIGHT", value_parser = parse_pair)]
    pub splits: Vec<(String, String)>,
    /// A shipped journey (workshop, challenge1) or a journey file. Default: the workshop swarm.
    #[arg(long, default_value = "workshop")]
    pub journey: String,
    /// Simulated users at peak.
    #[arg(short = 'u', long, default_value_t = 3)]
    pub users: usize,
    /// Users started per second until all run (Locust's spawn rate).
    #[arg(short = 'r', long, default_value_t = 1.0)]
    pub spawn_rate: f64,
    /// Stop after this long (e.g. 7h, 90s). Default: until Ctrl-C or --tasks.
    #[arg(short = 't', long, value_parser = parse_duration)]
    pub run_time: Option<Duration>,
    /// Stop after this many tasks have started, in total.
    #[arg(long)]
    pub tasks: Option<u64>,
    /// Think time after each task, MIN..MAX (e.g. 10ms..50ms); overrides the journey's.
    #[arg(long, value_name = "MIN..MAX")]
    pub wait: Option<String>,
    /// Instead of a think time: tasks started per second, in total, spread evenly over users
    /// (Locust's constant throughput).
    #[arg(long, conflicts_with = "wait")]
    pub rate: Option<f64>,
    /// Timeout of each request.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Print the live stats table on stderr this often (default 5s; 0s for none). With --web,
    /// a one-line status every 5 s instead, unless this is given.
    #[arg(long, value_parser = parse_duration)]
    pub stats_interval: Option<Duration>,
    /// Serve client-side Prometheus metrics on this address (e.g. 0.0.0.0:9464).
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    /// The final report's format.
    #[arg(short = 'o', long, value_parser = JOURNEY_OUTPUT, default_value = "text")]
    pub output: OutputFormat,
    /// Also write the final report as CSV to this file (Locust's --csv).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Also write the final report as JSON to this file (what `loadgen reconcile` reads).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write the report as one self-contained HTML page (charts, tables; opens offline).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Do not verify TLS certificates.
    #[arg(long)]
    pub insecure: bool,
    /// Serve Locust's swarm page (start form, live charts, users up and down, downloads) and
    /// its JSON API on this address, default 127.0.0.1:8089; runs until Ctrl-C, then prints the
    /// last run's report. Without --autostart the page waits for its form.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8089")]
    pub web: Option<SocketAddr>,
    #[command(flatten)]
    pub allowed_hosts: super::AllowedHosts,
    /// With --web: start the run at once, as the flags say, instead of waiting for the form.
    #[arg(long, requires = "web")]
    pub autostart: bool,
}

/// The whole command: the run plus where its output goes.
#[derive(Debug, Clone)]
pub struct JourneyPlan {
    pub run: RunPlan,
    pub stats_interval: Option<Duration>,
    /// `--web` without `--stats-interval`: a one-line status on stderr every
    /// [`DEFAULT_STATS_INTERVAL`] rather than the table.
    pub status_line: bool,
    pub metrics_addr: Option<SocketAddr>,
    /// What stdout gets: text, JSON or CSV.
    pub output: OutputFormat,
    pub csv: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub html: Option<PathBuf>,
    /// `--web`: the page's address and whether it starts at once.
    pub web: Option<WebOptions>,
    /// The `--journey` as given, for the page's form.
    pub journey_arg: String,
}

impl TryFrom<JourneyArgs> for JourneyPlan {
    type Error = JourneyPlanError;

    fn try_from(a: JourneyArgs) -> Result<JourneyPlan, JourneyPlanError> {
        let journey = Journey::load(&a.journey)?;
        // With --web and no host, the page's form names it (`targets` is empty until then).
        let named = match &a.host {
            Some(h) => vec![("default".to_owned(), h.clone())],
            None => a.targets.clone(),
        };
        if a.autostart && named.is_empty() {
            return Err(out_of_range(
                "--autostart",
                "given with --host or --target (there is nothing to start)",
                "no host",
            ));
        }
        let targets = if named.is_empty() {
            Vec::new()
        } else {
            targets(&named, &a.splits)?
        };
        check_bounds(&a)?;
        let pacing = match (&a.wait, a.rate) {
            (_, Some(r)) if !(r.is_finite() && (0.001..=1e6).contains(&r)) => {
                return Err(out_of_range("--rate", "between 0.001 and 1e6 tasks/s", r));
            }
            (_, Some(r)) => TaskPacing::Rate(r),
            (Some(w), None) => TaskPacing::Wait(Wait::parse(w)?),
            (None, None) => TaskPacing::Wait(journey.wait),
        };
        // The page shows the table; the terminal beside it gets one line, unless asked for more.
        let status_line = a.web.is_some() && a.stats_interval.is_none();
        let stats_interval = match a.stats_interval {
            Some(every) => (!every.is_zero()).then_some(every),
            None if status_line => None,
            None => Some(DEFAULT_STATS_INTERVAL),
        };
        Ok(JourneyPlan {
            run: RunPlan {
                journey: Arc::new(journey),
                targets,
                users: a.users,
                spawn_rate: a.spawn_rate,
                pacing,
                stop: TaskStop {
                    run_time: a.run_time,
                    tasks: a.tasks,
                },
                timeout: a.timeout,
                insecure: a.insecure,
            },
            stats_interval,
            status_line,
            metrics_addr: a.metrics_addr,
            output: a.output,
            csv: a.csv,
            json: a.json,
            html: a.html,
            web: a.web.map(|addr| WebOptions {
                addr,
                autostart: a.autostart,
                hosts: a.allowed_hosts.policy(),
            }),
            journey_arg: a.journey,
        })
    }
}

/// Every numeric flag within what a run can do, each refusal naming the flag and its range.
fn check_bounds(a: &JourneyArgs) -> Result<(), JourneyPlanError> {
    if !(1..=MAX_USERS).contains(&a.users) {
        return Err(out_of_range("--users", "between 1 and 100000", a.users));
    }
    // Infinite starts every user at once; below 0.001/s the last start would overflow time.
    if a.spawn_rate.is_nan() || a.spawn_rate < 0.001 {
        return Err(out_of_range(
            "--spawn-rate",
            "at least 0.001 users/s",
            a.spawn_rate,
        ));
    }
    if let Some(d) = a.run_time.filter(|d| d.is_zero() || *d > MAX_RUN) {
        return Err(out_of_range(
            "--run-time",
            "above 0 and at most 365 days",
            humantime::format_duration(d),
        ));
    }
    if a.tasks == Some(0) {
        return Err(out_of_range("--tasks", "at least 1", 0));
    }
    if a.timeout.is_zero() || a.timeout > MAX_RUN {
        return Err(out_of_range(
            "--timeout",
            "above 0 and at most 365 days",
            humantime::format_duration(a.timeout),
        ));
    }
    // Below this the live table is a flood (1 ns wrote 62 MB of stderr in 2 s).
    if let Some(every) = a.stats_interval
        && !every.is_zero()
        && every < MIN_STATS_INTERVAL
    {
        return Err(out_of_range(
            "--stats-interval",
            "0s (none) or at least 100ms",
            humantime::format_duration(every),
        ));
    }
    Ok(())
}
